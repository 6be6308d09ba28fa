"""A scenario withdrawn after publication leaves a public trace: its own page stays reachable, for everyone,
with the 已撤回 banner (date and public reason) and no action; it stays out of every list, search and
count, the API's record is a 404, and no firm can apply. Never-published withdrawals stay invisible."""

from __future__ import annotations

import pytest

from marketplace import clock
from marketplace.extensions import db
from marketplace.models import ScenarioStatus
from marketplace.scenarios import services
from tests import test_scenario_documents
from tests.conftest import PASSWORD
from tests.test_scenario_documents import _status

add_document = test_scenario_documents.add_document  # the fixture, shared

REASON = "上级部门统筹建设同类平台，本场景不再单独实施。"
TITLE = "已撤回的交通信号场景"


def withdraw(make_user, scenario, reason=REASON):
    owner = make_user("owner", organisation=scenario.owner)
    services.transition(db.session, owner, scenario, "withdraw", reason=reason)
    db.session.commit()
    return owner


def signed_in(app, user):
    """A client of its own, signed in as ``user`` through the real form."""
    client = app.test_client()
    assert client.post("/auth/login", data={"email": user.email, "password": PASSWORD}).status_code == 302
    return client


@pytest.mark.parametrize("viewer", ["anonymous", "enterprise", "other_owner", "expert"])
def test_the_page_of_a_scenario_withdrawn_after_publication_shows_the_withdrawal(
        client, login, make_scenario, make_user, viewer):
    scenario = make_scenario("published", title=TITLE)
    withdraw(make_user, scenario)
    if viewer == "other_owner":
        login(make_user("owner"))
    elif viewer != "anonymous":
        login(make_user(viewer))
    response = client.get(f"/scenarios/{scenario.id}")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert 'id="withdrawn-banner"' in html and REASON in html and "已撤回" in html
    when = services.withdrawal_of(db.session, scenario).at
    assert clock.to_local(when).strftime("%Y-%m-%d") in html
    assert "申请材料密封至揭榜截止时间" not in html  # sealed for good now, not "until the deadline"
    for action in ("我要揭榜", "/apply", "后软件企业可以揭榜", 'name="text"', "后企业可以提问", "撤回场景", "编辑",
                   'id="print-link"'):
        assert action not in html, action


def test_a_firm_that_applied_still_finds_its_application_but_cannot_apply(app, make_scenario, make_user):
    from marketplace.applications import services as application_services
    from marketplace.models import Application, ApplicationStatus

    scenario = make_scenario("published", title=TITLE)
    firm = make_user("enterprise")
    db.session.add(Application(scenario=scenario, organisation=firm.organisation, status=ApplicationStatus.SUBMITTED,
                               summary="方案", submitted_at=clock.now(), confirmed_revision=scenario.revision,
                               declares_meets_requirements=True, declares_no_conflict=True))
    db.session.commit()
    withdraw(make_user, scenario)
    other = make_user("enterprise")
    for user in (firm, other):
        client = signed_in(app, user)
        html = client.get(f"/scenarios/{scenario.id}").get_data(as_text=True)
        assert REASON in html and "修改申请" not in html and "我要揭榜" not in html
        assert ("查看申请" in html) == (user is firm)
        assert not application_services.can_apply(user, scenario, clock.now())
        assert client.get(f"/scenarios/{scenario.id}/apply").status_code == 404
        assert client.post(f"/scenarios/{scenario.id}/apply", data={"summary": "再试", "save_draft": "1"}
                           ).status_code == 404
        assert client.post(f"/scenarios/{scenario.id}/questions", data={"text": "还征集吗？"}).status_code in (404, 403)
    assert db.session.query(Application).filter_by(scenario_id=scenario.id).count() == 1


def test_it_stays_out_of_lists_search_batches_and_the_api(client, make_scenario, make_user):
    scenario = make_scenario("published", title=TITLE)
    batch = services.create_batch(db.session, make_user("district_staff"), "2026年第9批应用场景清单", "collect", None)
    scenario.batches.append(batch)
    db.session.commit()
    assert TITLE in client.get(f"/batches/{batch.id}").get_data(as_text=True)
    withdraw(make_user, scenario)
    for url in ("/scenarios", f"/scenarios?q={TITLE}", f"/search?q={TITLE}", f"/batches/{batch.id}", "/"):
        assert f"/scenarios/{scenario.id}\"" not in client.get(url).get_data(as_text=True), url
    assert client.get("/api/v1/scenarios").get_json()["total"] == 0
    assert client.get(f"/api/v1/search?q={TITLE}").get_json()["total"] == 0
    body = client.get(f"/api/v1/scenarios/{scenario.id}")
    assert body.status_code == 404 and body.get_json()["error"]["status"] == 404
    assert client.get(f"/scenarios/{scenario.id}/print").status_code == 404


@pytest.mark.parametrize("status", ["draft", "submitted", "returned"])
def test_a_scenario_withdrawn_before_publication_stays_invisible(client, make_scenario, make_user, status):
    scenario = make_scenario(status, title=TITLE)
    withdraw(make_user, scenario)
    assert scenario.published_at is None and services.withdrawal_of(db.session, scenario) is None
    assert client.get(f"/scenarios/{scenario.id}").status_code == 404


def test_the_withdraw_form_says_the_reason_is_public_and_requires_it(client, login, make_scenario, make_user):
    scenario = make_scenario("published", title=TITLE)
    login(make_user("owner", organisation=scenario.owner))
    html = client.get(f"/scenarios/{scenario.id}").get_data(as_text=True)
    assert "撤回原因（将公开）" in html and 'id="withdraw-reason-help"' in html
    response = client.post(f"/scenarios/{scenario.id}/withdraw", data={"reason": "  "})
    assert response.status_code == 303
    assert "撤回已发布的场景时请说明原因" in client.get(response.headers["Location"]).get_data(as_text=True)
    db.session.refresh(scenario)
    assert scenario.status == ScenarioStatus.PUBLISHED
    draft = make_scenario("draft", owner=scenario.owner)
    html = client.get(f"/scenarios/{draft.id}").get_data(as_text=True)
    assert "撤回原因" in html and "撤回原因（将公开）" not in html


def test_a_scenario_in_re_review_needs_the_public_reason_too(make_scenario, make_user):
    """Back in review after a substantive change it is not public, but it was: its withdrawal will be."""
    from marketplace.errors import ValidationFailed

    scenario = make_scenario("published", title=TITLE)
    scenario.status = ScenarioStatus.SUBMITTED
    db.session.commit()
    with pytest.raises(ValidationFailed) as refused:
        withdraw(make_user, scenario, reason="")
    assert "reason" in refused.value.field_errors
    db.session.rollback()
    withdraw(make_user, scenario)
    assert services.withdrawal_of(db.session, scenario).reason == REASON


def test_only_the_owner_organisation_may_withdraw(client, make_scenario, make_user):
    scenario = make_scenario("published", title=TITLE)
    for user in (make_user("owner"), make_user("enterprise"), make_user("city_staff")):
        signed_in(client.application, user).post(f"/scenarios/{scenario.id}/withdraw", data={"reason": REASON})
        db.session.refresh(scenario)
        assert scenario.status == ScenarioStatus.PUBLISHED


def test_the_public_documents_of_a_scenario_withdrawn_after_publication_stay_downloadable(
        client, make_scenario, make_user, add_document):
    """Its page and its OCDS releases (``technicalSpecifications``) keep listing them: no dead links. Internal
    documents stay internal, and a never-published withdrawal publishes none."""
    scenario = make_scenario("published", title=TITLE)
    public = add_document(scenario, public=True, filename="公开需求说明书.pdf")
    internal = add_document(scenario, public=False, filename="内部测算表.pdf")
    withdraw(make_user, scenario)
    html = client.get(f"/scenarios/{scenario.id}").get_data(as_text=True)
    assert "公开需求说明书.pdf" in html and "内部测算表.pdf" not in html
    assert _status(client, f"/scenarios/{scenario.id}/documents/{public.id}") == 200
    assert _status(client, f"/scenarios/{scenario.id}/documents/{internal.id}") == 404
    assert _status(client, f"/files/{public.attachment_id}") == 200

    draft = make_scenario("submitted", title="从未发布的场景")
    never = add_document(draft, public=True, filename="未发布附件.pdf")
    withdraw(make_user, draft, reason="")
    assert _status(client, f"/scenarios/{draft.id}/documents/{never.id}") == 404
    assert _status(client, f"/files/{never.attachment_id}") == 404
