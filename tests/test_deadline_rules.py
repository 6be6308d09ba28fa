"""Deadline rules (issue 11.1): a minimum application window, deadlines that only move later once firms have
applied, room after a substantive change, and the sealing rule that keeps every bid closed until the latest
deadline it was submitted or re-confirmed under — on every read path.

The attack of the issue: the owner shortens a published scenario's deadline to three minutes ahead after
applications exist, district staff re-publish it, the clock passes the new deadline, the owner reads the bids.
Each step is refused through the real pages; and even when the deadline is shortened behind the rules' back
(directly in the database), nothing opens before the deadline the firms were promised.
"""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
import sqlalchemy as sa

from marketplace import clock
from marketplace.errors import InvalidTransition, PermissionDenied, ValidationFailed
from marketplace.extensions import db
from marketplace.models import Application, ExpertAssignment, Notification, ScenarioStatus
from marketplace.scenarios import services as scenario_services
from tests.test_applications import attach_pdf, fetch, submit

SECRETS = ("SEALTOKEN", "312.34", "甲公司技术方案.pdf")


@pytest.fixture
def travel(monkeypatch):
    """``travel(when)``: from now on ``clock.now()`` returns ``when``."""

    def go(when):
        monkeypatch.setattr(clock, "now", lambda: when)

    return go


@pytest.fixture
def bid(make_scenario, make_user, make_org):
    """A scenario published five weeks ahead with one submitted application (with a PDF), its owner, staff."""
    scenario = make_scenario("published", deadline=(clock.now() + timedelta(days=35)).replace(second=0, microsecond=0))
    firm = make_user("enterprise", organisation=make_org("software_enterprise", name="甲软件股份有限公司"))
    application = submit(firm, scenario, summary="密封测试方案SEALTOKEN，高峰通行时间下降15%。", price_wan="312.34")
    document = attach_pdf(application, "甲公司技术方案.pdf")
    users = {"firm": firm, "owner": make_user("owner", organisation=scenario.owner),
             "district": make_user("district_staff", district="yuzhong"),
             "city": make_user("city_staff", district=None), "expert": make_user("expert", district=None)}
    db.session.add(ExpertAssignment(scenario_id=scenario.id, expert_id=users["expert"].id, declared_at=clock.now()))
    db.session.commit()
    return scenario, application, document, users


def local_form_value(when):
    return clock.to_local(when).strftime("%Y-%m-%dT%H:%M")


def edit_form(scenario, **overrides):
    """The owner's edit form as the browser posts it (every field of the current scenario)."""
    data = {
        "title": scenario.title, "summary": scenario.summary, "description": scenario.description,
        "boundary": scenario.boundary, "requirements": scenario.requirements, "acceptance": scenario.acceptance,
        "outcomes": scenario.outcomes, "domain": scenario.domain.code, "theme": scenario.theme.code,
        "contact_name": scenario.contact_name, "contact_phone": scenario.contact_phone,
        "contact_email": scenario.contact_email, "funding_source": scenario.funding_source.value,
        "budget_wan": str(scenario.budget_wan), "deadline": local_form_value(scenario.deadline),
        "delivery_months": str(scenario.delivery_months), "mode": scenario.mode.value,
    }
    data.update(overrides)
    return data


def read_paths(client, scenario, application, document):
    """Every read path of an application's content, as (name, response)."""
    s, a = scenario.id, application.id
    return [
        ("application page", client.get(f"/applications/{a}")),
        ("attachment", fetch(client, f"/files/{document.id}")),
        ("owner list", client.get(f"/scenarios/{s}/applications")),
        ("applications csv", client.get(f"/scenarios/{s}/applications.csv")),
        ("api", client.get(f"/api/v1/scenarios/{s}/applications")),
        ("evaluation", client.get(f"/scenarios/{s}/evaluation")),
    ]


def assert_sealed_for(client, scenario, application, document):
    for name, response in read_paths(client, scenario, application, document):
        body = response.get_data(as_text=True)
        assert not any(secret in body for secret in SECRETS), name
        if name in ("application page", "attachment"):
            assert response.status_code == 404, name
        if name == "api":
            assert response.status_code == 403


# ------------------------------------------------------------------ the minimum application window

@pytest.mark.parametrize("role", ["district_staff", "city_staff"])
def test_publishing_refuses_a_three_minute_window_and_says_to_return_it(make_scenario, make_user, role):
    scenario = make_scenario("submitted", deadline=clock.now() + timedelta(minutes=3))
    staff = make_user(role, district="yuzhong" if role == "district_staff" else None)
    with pytest.raises(InvalidTransition) as refused:
        scenario_services.transition(db.session, staff, scenario, "publish",
                                     batch=scenario_services.create_batch(db.session, staff, "第一批", "collect", None))
    assert "退回业主单位" in refused.value.message and "10 天" in refused.value.message
    db.session.rollback()
    assert scenario.status == ScenarioStatus.SUBMITTED and scenario.published_at is None


def test_publishing_window_is_measured_from_publication_to_the_second(make_scenario, make_user, travel):
    now = clock.now()
    travel(now)
    short = make_scenario("submitted", deadline=now + timedelta(days=10) - timedelta(seconds=1))
    enough = make_scenario("submitted", deadline=now + timedelta(days=10))
    staff = make_user("district_staff")
    batch = scenario_services.create_batch(db.session, staff, "第一批", "collect", None)
    with pytest.raises(InvalidTransition):
        scenario_services.transition(db.session, staff, short, "publish", batch=batch)
    scenario_services.transition(db.session, staff, enough, "publish", batch=batch)
    assert enough.status == ScenarioStatus.PUBLISHED and enough.published_at == now


def test_the_window_is_a_setting(app, make_scenario, make_user, monkeypatch):
    monkeypatch.setitem(app.config, "MIN_APPLICATION_DAYS", 2)
    scenario = make_scenario("submitted", deadline=clock.now() + timedelta(days=3))
    staff = make_user("city_staff", district=None)
    batch = scenario_services.create_batch(db.session, staff, "市级第一批", "collect", None)
    scenario_services.transition(db.session, staff, scenario, "publish", batch=batch)
    assert scenario.status == ScenarioStatus.PUBLISHED


def test_refused_publish_through_the_page_flashes_the_rule(make_scenario, make_user, client, login):
    scenario = make_scenario("submitted", deadline=clock.now() + timedelta(days=2))
    login(make_user("district_staff"))
    page = f"/scenarios/{scenario.id}"
    response = client.post(f"/scenarios/{scenario.id}/publish", headers={"Referer": page},
                           data={"batch_id": "0", "new_batch_name": "第九批", "new_batch_stage": "collect"})
    assert response.status_code == 303
    html = client.get(page).get_data(as_text=True)
    assert "请将场景退回业主单位" in html
    db.session.expire_all()
    assert scenario.status == ScenarioStatus.SUBMITTED and not scenario.batches


def test_new_scenario_form_states_the_window(make_user, client, login):
    login(make_user("owner"))
    assert "发布时须距发布至少 10 天" in client.get("/scenarios/new").get_data(as_text=True)


# ------------------------------------------------------------------ the attack, step by step through the pages

def test_owner_cannot_shorten_the_deadline_once_firms_have_applied(bid, client, login):
    scenario, application, _document, users = bid
    login(users["owner"])
    shortened = local_form_value(clock.now() + timedelta(minutes=3))
    response = client.post(f"/scenarios/{scenario.id}/edit", data=edit_form(scenario, deadline=shortened))
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert "截止时间只能延后" in html
    # The form proposes a deadline the rules allow (here: the current one, five weeks away), not the 3 minutes.
    assert f'value="{local_form_value(scenario.deadline)}"' in html and f'value="{shortened}"' not in html
    db.session.expire_all()
    assert scenario.status == ScenarioStatus.PUBLISHED and scenario.revision == 1
    assert scenario.deadline > clock.now() + timedelta(days=34)


def test_earlier_but_still_distant_deadline_is_refused_with_applications_allowed_without(bid, make_scenario,
                                                                                          make_user):
    scenario, _application, _document, users = bid
    earlier = scenario.deadline - timedelta(days=1)
    with pytest.raises(ValidationFailed) as refused:
        scenario_services.update(db.session, users["owner"], scenario, {"deadline": clock.to_local(earlier)
                                                                         .replace(tzinfo=None)})
    assert "deadline" in refused.value.field_errors
    db.session.rollback()
    # Without applications the owner may move it earlier (within the window rules): it reopens review.
    empty = make_scenario("published", deadline=clock.now() + timedelta(days=30))
    owner = make_user("owner", organisation=empty.owner)
    target = clock.to_local(clock.now() + timedelta(days=20)).replace(tzinfo=None, second=0, microsecond=0)
    assert scenario_services.update(db.session, owner, empty, {"deadline": target}) is True
    assert empty.status == ScenarioStatus.SUBMITTED


def test_owner_cannot_shorten_it_while_the_scenario_is_back_in_review(bid):
    """A substantive edit sends the scenario to re-review; a second edit there cannot shorten the deadline."""
    scenario, _application, _document, users = bid
    assert scenario_services.update(db.session, users["owner"], scenario, {"title": "智慧交通信号协同优化平台（二期）"})
    db.session.commit()
    assert scenario.status == ScenarioStatus.SUBMITTED
    shortened = clock.to_local(clock.now() + timedelta(minutes=3)).replace(tzinfo=None)
    with pytest.raises(ValidationFailed):
        scenario_services.update(db.session, users["owner"], scenario, {"deadline": shortened})


def test_district_cannot_republish_a_deadline_earlier_than_promised(bid):
    """Even if the deadline were shortened behind the rules' back, re-publication refuses it."""
    scenario, _application, _document, users = bid
    scenario_services.update(db.session, users["owner"], scenario, {"title": "智慧交通信号协同优化平台（二期）"})
    scenario.deadline = clock.now() + timedelta(minutes=3)  # bypassing the edit rules
    db.session.commit()
    with pytest.raises(InvalidTransition) as refused:
        scenario_services.transition(db.session, users["district"], scenario, "publish")
    assert "退回业主单位" in refused.value.message


@pytest.mark.parametrize("role", ["owner", "district", "city", "expert"])
def test_shortened_deadline_never_opens_the_bids_before_the_promised_one(bid, client, login, travel, role):
    """The whole attack with the rules bypassed: shortened in the database, re-published, clock past it."""
    scenario, application, document, users = bid
    promised = scenario.deadline
    assert application.sealed_until == promised
    scenario.deadline = clock.now() + timedelta(minutes=3)
    scenario.status = ScenarioStatus.PUBLISHED
    db.session.commit()
    travel(clock.now() + timedelta(minutes=4))
    login(users[role])
    assert_sealed_for(client, scenario, application, document)

    from marketplace.applications import policy, services

    assert policy.is_sealed(scenario) and not policy.can_read(users[role], application)
    assert services.readable_applications(db.session, users[role], scenario) == []
    # One second after the promised deadline everything opens for those entitled to read.
    travel(promised + timedelta(seconds=1))
    assert not policy.is_sealed(scenario)
    page = client.get(f"/applications/{application.id}").get_data(as_text=True)
    assert "SEALTOKEN" in page and fetch(client, f"/files/{document.id}").status_code == 200


def test_open_data_names_no_tenderer_before_the_promised_deadline(bid, client, travel):
    from marketplace.opendata import ocds

    scenario, _application, _document, _users = bid
    promised = scenario.deadline
    scenario.deadline = clock.now() + timedelta(minutes=3)
    db.session.commit()
    travel(clock.now() + timedelta(minutes=4))
    ocid = ocds.ocid_for(scenario.id)
    text = json.dumps(client.get(f"/api/v1/ocds/records/{ocid}").get_json(), ensure_ascii=False)
    assert "甲软件股份有限公司" not in text and "numberOfTenderers" not in text
    travel(promised + timedelta(seconds=1))
    text = json.dumps(client.get(f"/api/v1/ocds/records/{ocid}").get_json(), ensure_ascii=False)
    assert "甲软件股份有限公司" in text and '"numberOfTenderers": 1' in text


def test_sealed_until_never_moves_earlier(bid, travel):
    """Re-confirming or revising under a (hypothetically) earlier deadline keeps the later promise."""
    from marketplace.applications import submission

    scenario, application, _document, users = bid
    promised = application.sealed_until
    scenario.deadline = promised - timedelta(days=2)
    scenario.revision += 1
    db.session.commit()
    submission.reconfirm(db.session, users["firm"], application)
    db.session.commit()
    assert application.sealed_until == promised


# ------------------------------------------------------------------ a substantive change leaves room and re-confirms

def test_change_close_to_the_deadline_proposes_the_extension(make_scenario, make_user, make_org, client, login,
                                                             travel):
    scenario = make_scenario("published", deadline=clock.now() + timedelta(days=12),
                             published_at=clock.now() - timedelta(days=10))
    firm = make_user("enterprise", organisation=make_org("software_enterprise"))
    application = submit(firm, scenario)
    owner = make_user("owner", organisation=scenario.owner)
    # Nine days later only three remain: a change must leave five.
    now = clock.now() + timedelta(days=9)
    travel(now)
    login(owner)
    form_page = client.get(f"/scenarios/{scenario.id}/edit").get_data(as_text=True)
    floor = scenario_services.deadline_floor_text(now + timedelta(days=5))
    assert f"截止时间不得早于 {floor}" in form_page
    response = client.post(f"/scenarios/{scenario.id}/edit",
                           data=edit_form(scenario, requirements="支持国产化环境部署；提供开放接口；新增等保三级。"))
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    proposed = floor.replace(" ", "T")
    assert f'value="{proposed}"' in html and "建议将截止时间延至" in html
    db.session.expire_all()
    assert scenario.status == ScenarioStatus.PUBLISHED and scenario.revision == 1
    # Accepting the proposal reopens review; the firm is told and must re-confirm.
    response = client.post(f"/scenarios/{scenario.id}/edit", data=edit_form(
        scenario, requirements="支持国产化环境部署；提供开放接口；新增等保三级。", deadline=proposed))
    assert response.status_code == 302
    db.session.expire_all()
    assert scenario.status == ScenarioStatus.SUBMITTED and scenario.revision == 2
    assert application.needs_reconfirmation
    notices = db.session.execute(sa.select(Notification).where(Notification.user_id == firm.id,
                                                               Notification.kind == "application.reconfirm")).scalars()
    assert any(floor in n.body for n in notices)
    # Re-published, the firm re-confirms under the new deadline, which becomes its promise.
    scenario_services.transition(db.session, make_user("district_staff"), scenario, "publish")
    db.session.commit()
    from marketplace.applications import submission

    submission.reconfirm(db.session, firm, application)
    db.session.commit()
    assert application.sealed_until == scenario.deadline and not application.needs_reconfirmation


def test_minor_edit_close_to_the_deadline_needs_no_extension(make_scenario, make_user):
    scenario = make_scenario("published", deadline=clock.now() + timedelta(days=2),
                             published_at=clock.now() - timedelta(days=20))
    owner = make_user("owner", organisation=scenario.owner)
    assert scenario_services.update(db.session, owner, scenario, {"contact_phone": "023-11112222"}) is False


# ------------------------------------------------------------------ who may not

@pytest.mark.parametrize("role", ["owner", "enterprise", "expert"])
def test_only_reviewers_publish(make_scenario, make_user, role):
    scenario = make_scenario("submitted")
    with pytest.raises(PermissionDenied):
        scenario_services.transition(db.session, make_user(role), scenario, "publish")


def test_other_district_staff_cannot_publish(make_scenario, make_user):
    scenario = make_scenario("submitted")
    staff = make_user("district_staff", district="jiangbei")
    with pytest.raises(PermissionDenied):
        scenario_services.transition(db.session, staff, scenario, "publish")


@pytest.mark.parametrize("role", ["other_owner", "enterprise", "district_staff"])
def test_only_the_owner_moves_the_deadline(bid, make_user, role):
    scenario, _application, _document, _users = bid
    user = make_user("owner") if role == "other_owner" else make_user(role)
    later = clock.to_local(scenario.deadline + timedelta(days=5)).replace(tzinfo=None)
    with pytest.raises(PermissionDenied):
        scenario_services.update(db.session, user, scenario, {"deadline": later})


def test_the_firm_cannot_reconfirm_while_the_scenario_is_in_review(bid):
    from marketplace.applications import submission

    scenario, application, _document, users = bid
    scenario_services.update(db.session, users["owner"], scenario, {"title": "智慧交通信号协同优化平台（二期）"})
    db.session.commit()
    with pytest.raises(InvalidTransition):
        submission.reconfirm(db.session, users["firm"], application)


def test_migration_backfill_rule_matches_the_model(bid):
    """Rows created before the column existed (``sealed_until`` NULL) are sealed until the scenario's deadline."""
    from marketplace.applications import policy

    scenario, application, _document, _users = bid
    application.sealed_until = None
    db.session.commit()
    assert policy.seal_ends(scenario) == scenario.deadline
    assert db.session.execute(sa.select(Application.sealed_until)
                              .where(Application.id == application.id)).scalar_one() is None
