"""公示 and 异议: the notice an award opens, objections, answers, decisions, the finality rule and its
gates (contract phase, statistics, appraisal, nominations), the public pages, the API and who may NOT
do each step; plus the server-side confirmation of irreversible actions."""

import io
import re
from datetime import date, timedelta

import pytest
import sqlalchemy as sa

from marketplace import clock
from marketplace.applications import decisions, delivery, publicity
from marketplace.errors import BadParameters, InvalidTransition, PermissionDenied
from marketplace.extensions import db
from marketplace.models import (
    ApplicationStatus,
    AuditEvent,
    Batch,
    BatchLevel,
    BatchStage,
    Objection,
    ObjectionDecision,
    PublicityNotice,
    Scenario,
    ScenarioStatus,
    final_award_clause,
)
from marketplace.statistics.facts import load_facts
from marketplace.statistics.scope import Scope
from tests.confirm_support import post_confirmed, token_of
from tests.conftest import ON_POSTGRES
from tests.races import second_waits_for_first
from tests.scenario_factory import PDF
from tests.test_evaluation import (
    CRITERIA,
    closed_scenario,
    declared_expert,
    make_application,
    notifications_for,
    score_all,
    set_criteria,
    sign_in,
    travel,
)

#: Fixtures shared with the evaluation tests (pytest finds them as names of this module).
SHARED_FIXTURES = (closed_scenario, make_application, sign_in, travel)
GROUNDS = "中标单位报价明显低于成本价，且其团队成员与另一投标单位存在重叠，请核查评审过程。"


@pytest.fixture
def in_publicity(closed_scenario, make_user):
    """``in_publicity(n=3)`` → (scenario, owner, winner, others, notice): scored by one expert, awarded to the first."""

    def make(n=3):
        scenario, owner, applications = closed_scenario(n=n)
        criteria = set_criteria(scenario, owner, CRITERIA)
        expert, assignment = declared_expert(make_user, scenario, owner)
        for application, value in zip(applications, ("90", "80", "70", "60", "50"), strict=False):
            score_all(expert, assignment, application, criteria, [value] * len(criteria))
        decisions.award(db.session, owner, scenario, applications[0].id)
        db.session.commit()
        notice = publicity.notice_of(db.session, scenario)
        return scenario, owner, applications[0], applications[1:], notice

    return make


def _status(response) -> int:
    """The status of a (possibly streamed file) response, closed."""
    response.close()
    return response.status_code


def _objector(make_user):
    return make_user("enterprise", name="异议企业联系人")


# ------------------------------------------------------------------ the notice and the finality rule

def test_award_opens_a_notice_final_only_after_the_period(in_publicity, travel, app):
    scenario, owner, winner, others, notice = in_publicity()
    assert notice.ends_at - notice.starts_at == timedelta(days=app.config["PUBLICITY_DAYS"]) == timedelta(days=5)
    assert [w["firm"] for w in notice.winners] == [winner.organisation.name]
    assert notice.winners[0]["amount_wan"] == "300.00" and notice.winners[0]["score"] == "90.00"
    assert [(r["rank"], r["score"]) for r in notice.ranking] == [(1, "90.00"), (2, "80.00"), (3, "70.00")]
    assert len(notice.panel) == 1 and notice.prior_statuses == {str(a.id): "submitted" for a in (winner, *others)}
    assert "approach" not in str(notice.ranking) and "自研平台" not in str(notice.winners)  # no application content
    assert publicity.award_state(db.session, scenario) == "publicity"
    # Not final: no contract, not counted as awarded.
    with pytest.raises(InvalidTransition, match="公示"):
        delivery.record_contract(db.session, owner, scenario, winner.id, "300", clock.local_today())
    db.session.rollback()
    assert not db.session.scalar(sa.select(Scenario.id).where(Scenario.id == scenario.id,
                                                              final_award_clause(clock.now())))
    facts = [f for f in load_facts(db.session, Scope(), public_only=True) if f.id == scenario.id]
    assert not facts[0].in_stage("awarded")
    # One second before the end it is still in 公示; at the end it is final.
    travel(notice.ends_at - timedelta(seconds=1))
    assert publicity.award_state(db.session, scenario) == "publicity"
    travel(notice.ends_at)
    assert publicity.award_state(db.session, scenario) == "final"
    facts = [f for f in load_facts(db.session, Scope(), public_only=True) if f.id == scenario.id]
    assert facts[0].in_stage("awarded")
    contract = delivery.record_contract(db.session, owner, scenario, winner.id, "300", clock.local_today())
    assert contract.id and scenario.status == ScenarioStatus.IN_DELIVERY
    # Told: the winner (proposed), the other applicants (the notice), with the notice period.
    assert notifications_for(winner.created_by, "application.selected")
    assert notifications_for(others[0].created_by, "publicity.applicant")
    actions = db.session.execute(sa.select(AuditEvent.action).order_by(AuditEvent.id)).scalars().all()
    assert "publicity.open" in actions


def test_publicity_days_is_a_setting(in_publicity, app):
    app.config["PUBLICITY_DAYS"] = 3
    try:
        _scenario, _owner, _winner, _others, notice = in_publicity(n=2)
    finally:
        app.config["PUBLICITY_DAYS"] = 5
    assert notice.ends_at - notice.starts_at == timedelta(days=3)


def test_followers_are_told_when_the_notice_opens(closed_scenario, make_user):
    from marketplace.notifications import services as notification_services

    scenario, owner, applications = closed_scenario(n=2)
    fan = make_user("enterprise")
    notification_services.follow(db.session, fan, scenario.id)
    decisions.award(db.session, owner, scenario, applications[0].id)
    db.session.commit()
    assert notifications_for(fan, "publicity.opened")


# ------------------------------------------------------------------ objections

def test_anonymous_visitors_are_sent_to_sign_in_before_objecting(in_publicity, client):
    scenario, *_rest = in_publicity(n=2)
    page = client.get(f"/scenarios/{scenario.id}/publicity")
    assert page.status_code == 200 and "data-object-login" in page.get_data(as_text=True)
    response = client.get(f"/scenarios/{scenario.id}/publicity/objections")
    assert response.status_code == 302 and "/auth/login" in response.headers["Location"]
    response = client.post(f"/scenarios/{scenario.id}/publicity/objections", data={"grounds": GROUNDS})
    assert response.status_code == 302 and "/auth/login" in response.headers["Location"]
    assert db.session.scalar(sa.select(sa.func.count(Objection.id))) == 0


def test_only_enterprise_users_object_with_grounds_during_the_notice(in_publicity, make_user, client, sign_in,
                                                                     travel):
    scenario, owner, _winner, _others, notice = in_publicity(n=2)
    url = f"/scenarios/{scenario.id}/publicity/objections"
    for role in ("owner", "district_staff", "city_staff", "expert"):
        sign_in(make_user(role))
        assert client.post(url, data={"grounds": GROUNDS}).status_code == 403
    with pytest.raises(PermissionDenied):
        publicity.file_objection(db.session, owner, notice, GROUNDS)
    objector = _objector(make_user)
    sign_in(objector)
    short = client.post(url, data={"grounds": "价格太低"})
    assert short.status_code == 422 and "不少于 20 个字" in short.get_data(as_text=True)
    response = client.post(url, data={"grounds": GROUNDS, "evidence": [(io.BytesIO(PDF), "报价分析.pdf")]},
                           content_type="multipart/form-data")
    assert response.status_code == 302
    objection = db.session.execute(sa.select(Objection)).scalar_one()
    assert objection.objector_id == objector.id and objection.documents[0].attachment.filename == "报价分析.pdf"
    # Owner and the district's staff are told; the evidence is the objector's, the owner's and staff's only.
    assert notifications_for(owner, "objection.filed")
    file_url = f"/files/{objection.documents[0].attachment_id}"
    assert _status(client.get(file_url)) == 200
    sign_in(make_user("enterprise"))
    assert _status(client.get(file_url)) in (403, 404)
    sign_in(owner)
    assert _status(client.get(file_url)) == 200
    # After the end nobody may object any more.
    travel(notice.ends_at)
    with pytest.raises(InvalidTransition):
        publicity.file_objection(db.session, objector, notice, GROUNDS)


def test_the_objector_is_never_public(in_publicity, make_user, client, sign_in):
    scenario, owner, _winner, _others, notice = in_publicity(n=2)
    objector = _objector(make_user)
    publicity.file_objection(db.session, objector, notice, GROUNDS)
    db.session.commit()
    client.post("/auth/logout")
    for page in (client.get(f"/scenarios/{scenario.id}/publicity"), client.get("/publicity"),
                 client.get(f"/scenarios/{scenario.id}"), client.get("/api/v1/publicity")):
        text = page.get_data(as_text=True)
        assert page.status_code == 200
        assert objector.name not in text and objector.organisation.name not in text and GROUNDS not in text
    sign_in(make_user("enterprise"))  # another firm
    assert objector.organisation.name not in client.get(f"/scenarios/{scenario.id}/publicity").get_data(as_text=True)
    sign_in(owner)
    assert objector.organisation.name in client.get(f"/scenarios/{scenario.id}/publicity").get_data(as_text=True)
    sign_in(make_user("district_staff", district=scenario.district.code))
    assert objector.organisation.name in client.get(f"/scenarios/{scenario.id}/publicity").get_data(as_text=True)


def test_an_undecided_objection_keeps_the_award_from_being_final(in_publicity, make_user, travel):
    scenario, owner, winner, _others, notice = in_publicity(n=2)
    objection = publicity.file_objection(db.session, _objector(make_user), notice, GROUNDS)
    db.session.commit()
    travel(notice.ends_at + timedelta(days=10))
    assert publicity.award_state(db.session, scenario) == "publicity"
    with pytest.raises(InvalidTransition):
        delivery.record_contract(db.session, owner, scenario, winner.id, "300", clock.local_today())
    db.session.rollback()
    staff = make_user("district_staff", district=scenario.district.code)
    publicity.decide_objection(db.session, staff, objection, "dismissed", "经核查，报价合理，团队无重叠。")
    db.session.commit()
    assert publicity.award_state(db.session, scenario) == "final"
    assert notifications_for(objection.objector, "objection.dismissed")


def test_answer_is_the_owners_and_decision_the_district_staffs(in_publicity, make_user, client, sign_in):
    scenario, owner, _winner, _others, notice = in_publicity(n=2)
    objection = publicity.file_objection(db.session, _objector(make_user), notice, GROUNDS)
    db.session.commit()
    answer_url, decide_url = f"/objections/{objection.id}/answer", f"/objections/{objection.id}/decide"
    other_owner = make_user("owner")
    with pytest.raises(PermissionDenied):
        publicity.answer_objection(db.session, other_owner, objection, "不是本单位的场景")
    for role in ("enterprise", "district_staff", "city_staff", "expert"):
        sign_in(make_user(role, district="yubei" if role == "district_staff" else "yuzhong"))
        assert client.post(answer_url, data={f"an{objection.id}-answer": "答复内容"}).status_code == 403
    for user in (owner, make_user("enterprise"), make_user("district_staff", district="yubei"),
                 make_user("city_staff")):  # city staff decide only for city lists
        with pytest.raises(PermissionDenied):
            publicity.decide_objection(db.session, user, objection, "upheld", "理由充分")
    sign_in(owner)
    assert client.post(answer_url, data={f"an{objection.id}-answer": "评审严格按评分标准进行，报价经成本测算合理。"}
                       ).status_code == 302
    assert notifications_for(objection.objector, "objection.answered")
    sign_in(make_user("district_staff", district=scenario.district.code))
    missing = client.post(decide_url, data={f"de{objection.id}-decision": "dismissed"})
    assert missing.status_code == 422 and "处理理由" in missing.get_data(as_text=True)
    assert client.post(decide_url, data={f"de{objection.id}-decision": "dismissed",
                                         f"de{objection.id}-reason": "异议理由不成立"}).status_code == 302
    db.session.expire_all()
    assert objection.decision == ObjectionDecision.DISMISSED and objection.decided_at is not None
    with pytest.raises(InvalidTransition):  # decided once
        publicity.decide_objection(db.session, make_user("district_staff", district=scenario.district.code),
                                   objection, "upheld", "再次处理")
    actions = set(db.session.execute(sa.select(AuditEvent.action).order_by(AuditEvent.id)).scalars())
    assert {"objection.file", "objection.answer", "objection.dismissed"} <= actions


def test_city_staff_decide_for_city_lists(in_publicity, make_user):
    scenario, _owner, _winner, _others, notice = in_publicity(n=2)
    batch = Batch(name="2025年市级第1批", level=BatchLevel.CITY, stage=BatchStage.COLLECT, published_on=date(2025, 1, 1))
    db.session.add(batch)
    scenario.batches.append(batch)
    notice.level = "city"  # as an award of a city-listed scenario records it
    db.session.commit()
    assert publicity.level_of(scenario) == "city"
    objection = publicity.file_objection(db.session, _objector(make_user), notice, GROUNDS)
    with pytest.raises(PermissionDenied):
        publicity.decide_objection(db.session, make_user("district_staff", district=scenario.district.code),
                                   objection, "dismissed", "理由不成立")
    publicity.decide_objection(db.session, make_user("city_staff"), objection, "dismissed", "理由不成立")
    assert objection.decision == ObjectionDecision.DISMISSED


def test_upheld_objection_withdraws_the_notice_and_reopens_the_evaluation(in_publicity, make_user, client,
                                                                         sign_in):
    scenario, owner, winner, others, notice = in_publicity(n=3)
    objector = _objector(make_user)
    objection = publicity.file_objection(db.session, objector, notice, GROUNDS)
    db.session.commit()
    staff = make_user("district_staff", district=scenario.district.code)
    sign_in(staff)
    response = client.post(f"/objections/{objection.id}/decide",
                           data={f"de{objection.id}-decision": "upheld",
                                 f"de{objection.id}-reason": "经核查，第一名报价低于成本且未作说明，公示撤销。"})
    assert response.status_code == 302
    db.session.expire_all()
    assert notice.withdrawn_at is not None and "低于成本" in notice.withdrawn_reason
    assert scenario.status == ScenarioStatus.PUBLISHED
    assert publicity.award_state(db.session, scenario) == "withdrawn"
    assert {a.status for a in (winner, *others)} == {ApplicationStatus.SUBMITTED}
    assert winner.decided_at is None
    for application in (winner, *others):
        assert notifications_for(application.created_by, "publicity.withdrawn")
    assert notifications_for(objector, "publicity.withdrawn")
    page = client.get(f"/scenarios/{scenario.id}").get_data(as_text=True)
    assert "低于成本" in page and 'data-award-state="withdrawn"' in page
    # The owner evaluates again and awards anew: a second notice opens.
    decisions.award(db.session, owner, scenario, others[0].id)
    db.session.commit()
    assert publicity.notice_of(db.session, scenario).id != notice.id
    assert publicity.award_state(db.session, scenario) == "publicity"
    assert db.session.scalar(sa.select(sa.func.count(PublicityNotice.id))) == 2


def test_upholding_one_objection_closes_the_notices_other_open_objections(in_publicity, make_user, client,
                                                                          sign_in):
    scenario, _owner, _winner, _others, notice = in_publicity(n=2)
    first, second, third = (_objector(make_user) for _ in range(3))
    upheld = publicity.file_objection(db.session, first, notice, GROUNDS)
    pending = publicity.file_objection(db.session, second, notice, GROUNDS + "另附证据。")
    dismissed = publicity.file_objection(db.session, third, notice, GROUNDS + "补充说明。")
    staff = make_user("district_staff", district=scenario.district.code)
    publicity.decide_objection(db.session, staff, dismissed, "dismissed", "理由不成立")
    db.session.commit()
    publicity.decide_objection(db.session, staff, upheld, "upheld", "经核查，评审过程存在错误，公示撤销。")
    db.session.commit()
    db.session.expire_all()
    # Closed in the same transaction, with the recorded reason; the dismissed one keeps its decision.
    assert pending.decision == ObjectionDecision.CLOSED and pending.decided_at is not None
    assert pending.decision_reason == publicity.CLOSED_REASON and pending.decided_by_id == staff.id
    assert dismissed.decision == ObjectionDecision.DISMISSED and dismissed.decision_reason == "理由不成立"
    assert publicity.undecided(notice) == []
    assert notifications_for(second, "objection.closed") and not notifications_for(third, "objection.closed")
    assert notifications_for(first, "publicity.withdrawn")
    closes = db.session.execute(sa.select(AuditEvent).where(AuditEvent.action == "objection.close").order_by(AuditEvent.id)).scalars().all()
    assert [(e.object_id, e.actor_id) for e in closes] == [(str(pending.id), staff.id)]
    # Nothing is left to decide, and staff cannot pick "closed" themselves.
    with pytest.raises(InvalidTransition):
        publicity.decide_objection(db.session, staff, pending, "dismissed", "再次处理")
    page = client.get(f"/scenarios/{scenario.id}/publicity").get_data(as_text=True)
    assert 'data-objection-decision="closed"' not in page  # the public sees no objection, only the count
    sign_in(staff)
    page = client.get(f"/scenarios/{scenario.id}/publicity").get_data(as_text=True)
    assert f'data-objection="{pending.id}" data-objection-decision="closed"' in page
    assert 'value="closed"' not in page


def test_staff_cannot_choose_closed_as_a_decision(in_publicity, make_user):
    from marketplace.errors import ValidationFailed

    scenario, _owner, _winner, _others, notice = in_publicity(n=2)
    objection = publicity.file_objection(db.session, _objector(make_user), notice, GROUNDS)
    staff = make_user("district_staff", district=scenario.district.code)
    with pytest.raises(ValidationFailed):
        publicity.decide_objection(db.session, staff, objection, "closed", "不再处理")
    assert objection.decision is None


# ------------------------------------------------------------------ public list and API

def test_public_list_and_api(in_publicity, make_user, client, travel):
    open_one, _o, _w, _x, open_notice = in_publicity(n=2)
    publicity.file_objection(db.session, _objector(make_user), open_notice, GROUNDS)
    db.session.commit()
    html = client.get("/publicity").get_data(as_text=True)
    assert open_one.title in html and 'data-notice-status="open"' in html
    body = client.get("/api/v1/publicity").get_json()
    assert body["total"] == 1 and body["page"] == 1 and body["per_page"] == 20
    item = body["items"][0]
    assert item["scenario_id"] == open_one.id and item["status"] == "open" and item["objections"] == 1
    assert item["winners"][0]["amount_wan"] == "300.00" and item["winners"][0]["score"] == "90.00"
    assert item["district"] == open_one.district.code and item["ends_at"].endswith("+08:00")
    assert client.get("/api/v1/publicity?status=ended").get_json()["total"] == 0
    assert client.get(f"/api/v1/publicity?district={open_one.district.code}").get_json()["total"] == 1
    assert client.get("/api/v1/publicity?district=yubei").get_json()["total"] == 0
    for bad in ("status=closed", "district=atlantis", "page=0", "per_page=1000", "page=x"):
        response = client.get(f"/api/v1/publicity?{bad}")
        assert response.status_code == 400 and "error" in response.get_json()
    with pytest.raises(BadParameters):
        publicity.list_notices(db.session, status="nonsense")
    award = client.get(f"/api/v1/scenarios/{open_one.id}").get_json()["award"]
    assert award["status"] == "publicity" and award["publicity_ends_at"].endswith("+08:00")
    travel(open_notice.ends_at + timedelta(days=1))
    assert client.get("/api/v1/publicity?status=ended").get_json()["total"] == 1
    assert client.get(f"/api/v1/scenarios/{open_one.id}").get_json()["award"]["status"] == "publicity"  # undecided
    assert "award" not in client.get("/api/v1/scenarios/999999").get_json()


def test_api_exports_ocds_and_pages_agree_while_the_award_is_in_publicity(in_publicity, client, travel, app):
    """During 公示 the award is pending everywhere: the scenario page's badge, the API (list and record),
    the exports and OCDS (award ``pending``, tender not yet ``complete``); after the period all say final."""
    from marketplace.opendata import ocds

    scenario, _owner, _winner, _others, notice = in_publicity(n=2)

    def views():
        page = client.get(f"/scenarios/{scenario.id}").get_data(as_text=True)
        record = client.get(f"/api/v1/scenarios/{scenario.id}").get_json()
        listed = [i for i in client.get("/api/v1/scenarios?per_page=100").get_json()["items"]
                  if i["id"] == scenario.id]
        exported = [i for i in client.get("/scenarios/export.json").get_json()["items"] if i["id"] == scenario.id]
        with app.test_request_context("/"):
            compiled = ocds.compiled_release(ocds.process_for(db.session, scenario.id), clock.now())
        return page, record, listed[0], exported[0], compiled

    page, record, listed, exported, compiled = views()
    assert "公示中" in page
    assert record["status"] == listed["status"] == exported["status"] == "publicity"
    assert record["status_label"] == listed["status_label"] == "公示中" and record["award"]["status"] == "publicity"
    assert {a["status"] for a in compiled["awards"]} == {"pending"} and compiled["tender"]["status"] == "active"
    travel(notice.ends_at + timedelta(seconds=1))
    page, record, listed, exported, compiled = views()
    assert record["status"] == listed["status"] == exported["status"] == "awarded"
    assert record["award"]["status"] == "final"
    assert {a["status"] for a in compiled["awards"]} == {"active"} and compiled["tender"]["status"] == "complete"


def test_statistics_count_an_award_in_publicity_as_publicity_not_awarded(in_publicity, client, travel):
    """揭榜成功 (statistics' 已揭榜 and funnel, the appraisal's 揭榜成功数) counts final awards only; during
    公示 the public and staff statistics show the scenario under its own 公示中 figure."""
    from marketplace.appraisal.computation import Period, measure
    from marketplace.models import AppraisalPeriod
    from marketplace.statistics.figures import dashboard, public_statistics

    scenario, _owner, _winner, _others, notice = in_publicity(n=2)
    year = clock.local_today().year

    def counts():
        public = public_statistics(db.session, Scope())
        status = {r.key: r.cells["count"].value for r in public.table("status").rows}
        staff = {r.key: r.cells["count"].value for r in dashboard(db.session, Scope()).table("status").rows}
        awarded = measure(db.session, Period(year, AppraisalPeriod.ANNUAL), [scenario.district_id])["awarded"]
        return status, staff, int(awarded[scenario.district_id].raw)

    status, staff, appraised = counts()
    assert (status["publicity"], status["awarded"]) == (1, 0) == (staff["publicity"], staff["awarded"])
    assert appraised == 0
    body = client.get("/api/v1/statistics").get_json()
    by_status = {row["status"]: row for row in body["by_status"]}
    assert by_status["publicity"]["count"] == 1 and by_status["awarded"]["count"] == 0
    listed = client.get(by_status["publicity"]["url"].split("localhost", 1)[-1]).get_data(as_text=True)
    assert scenario.title in listed
    travel(notice.ends_at)
    status, staff, appraised = counts()
    assert (status["publicity"], status["awarded"]) == (0, 1) == (staff["publicity"], staff["awarded"])
    assert appraised == 1


def test_a_withdrawn_award_stays_in_ocds_as_cancelled(in_publicity, make_user, app):
    from marketplace.opendata import ocds
    from tests import ocds_schema

    scenario, _owner, winner, _others, notice = in_publicity(n=2)
    objection = publicity.file_objection(db.session, _objector(make_user), notice, GROUNDS)
    staff = make_user("district_staff", district=scenario.district.code)
    publicity.decide_objection(db.session, staff, objection, "upheld", "经核查，报价低于成本，公示撤销。")
    db.session.commit()
    with app.test_request_context("/"):
        process = ocds.process_for(db.session, scenario.id)
        compiled = ocds.compiled_release(process, clock.now())
        found = ocds.releases_of(process, clock.now())
    [award] = compiled["awards"]
    assert award["id"] == f"award-{winner.id}" and award["status"] == "cancelled"
    assert "报价低于成本" in award["description"] and compiled["tender"]["status"] == "active"
    assert [r["tag"] for r in found[-2:]] == [["award"], ["awardUpdate"]]
    for release in (compiled, *found):
        assert ocds_schema.release_errors(release) == []


def test_the_list_tells_an_award_in_publicity_from_a_final_one(in_publicity, client, travel):
    scenario, _owner, _winner, _others, notice = in_publicity(n=2)

    def listed(status):
        html = client.get(f"/scenarios?status={status}").get_data(as_text=True)
        api = client.get(f"/api/v1/scenarios?status={status}").get_json()
        tab = re.search(r'data-status-filter="publicity"[^>]*>[^<]*<span class="badge[^"]*">(\d+)<', html)
        return scenario.title in html, [i["id"] for i in api["items"]], int(tab.group(1))

    assert listed("publicity") == (True, [scenario.id], 1)
    assert listed("awarded") == (False, [], 1)
    travel(notice.ends_at)  # the remembered counts end with the notice, as with a deadline
    assert listed("publicity") == (False, [], 0)
    assert listed("awarded") == (True, [scenario.id], 0)


# ------------------------------------------------------------------ the confirmation step

def test_award_needs_a_second_post_with_a_valid_token(closed_scenario, make_user, client, sign_in):
    scenario, owner, applications = closed_scenario(n=2)
    other_scenario, other_owner, other_apps = closed_scenario(n=2)
    url = f"/scenarios/{scenario.id}/evaluation/award"
    data = {"award-application_id": str(applications[0].id)}
    sign_in(owner)
    first = client.post(url, data=data)
    html = first.get_data(as_text=True)
    assert first.status_code == 200 and "不可撤销" in html and "拟揭榜单位" in html and "公示期" in html
    token = token_of(html)
    db.session.expire_all()
    assert scenario.status == ScenarioStatus.PUBLISHED and publicity.notice_of(db.session, scenario) is None
    # A token for another object, another choice or a forged one is refused; nothing happens.
    sign_in(other_owner)
    other_token = token_of(client.post(f"/scenarios/{other_scenario.id}/evaluation/award",
                                       data={"award-application_id": str(other_apps[0].id)}).get_data(as_text=True))
    sign_in(owner)
    for bad in (other_token, token + "x", "nonsense"):
        refused = client.post(url, data={**data, "confirm_token": bad})
        assert refused.status_code == 400 and "重新确认" in refused.get_data(as_text=True)
    changed = client.post(url, data={"award-application_id": str(applications[1].id), "confirm_token": token})
    assert changed.status_code == 400
    # Another user of the same owner organisation cannot use this user's token.
    colleague = make_user("owner", organisation=scenario.owner)
    sign_in(colleague)
    assert client.post(url, data={**data, "confirm_token": token}).status_code == 400
    db.session.expire_all()
    assert scenario.status == ScenarioStatus.PUBLISHED
    sign_in(owner)
    assert client.post(url, data={**data, "confirm_token": token}).status_code == 302
    db.session.expire_all()
    assert scenario.status == ScenarioStatus.AWARDED and publicity.notice_of(db.session, scenario) is not None


def test_expired_tokens_are_refused(closed_scenario, client, sign_in, app, monkeypatch):
    scenario, owner, applications = closed_scenario(n=2)
    url = f"/scenarios/{scenario.id}/evaluation/unsuccessful"
    data = {"unsuccessful-reason": "没有满足国产化要求的申请"}
    sign_in(owner)
    token = token_of(client.post(url, data=data).get_data(as_text=True))
    monkeypatch.setitem(app.config, "CONFIRMATION_MAX_AGE", -1)
    assert client.post(url, data={**data, "confirm_token": token}).status_code == 400
    db.session.expire_all()
    assert scenario.status == ScenarioStatus.PUBLISHED


def test_scenario_publication_is_confirmed(make_scenario, make_user, client, login):
    scenario = make_scenario("submitted")
    login(make_user("district_staff"))
    data = {"batch_id": "0", "new_batch_name": "2025年渝中区第9批", "new_batch_stage": "collect"}
    first = client.post(f"/scenarios/{scenario.id}/publish", data=data)
    assert first.status_code == 200 and "不可撤销" in first.get_data(as_text=True)
    db.session.expire_all()
    assert scenario.status == ScenarioStatus.SUBMITTED
    assert db.session.scalar(sa.select(sa.func.count(Batch.id))) == 0  # nothing written by the first POST
    assert post_confirmed(client, f"/scenarios/{scenario.id}/publish", data=data).status_code == 302
    db.session.expire_all()
    assert scenario.status == ScenarioStatus.PUBLISHED


def test_delivery_page_offers_no_contract_during_the_notice(in_publicity, client, sign_in, travel):
    scenario, owner, _winner, _others, notice = in_publicity(n=2)
    sign_in(owner)
    html = client.get(f"/scenarios/{scenario.id}/delivery").get_data(as_text=True)
    assert "data-publicity-pending" in html and "contract-amount_wan" not in html
    travel(notice.ends_at)
    html = client.get(f"/scenarios/{scenario.id}/delivery").get_data(as_text=True)
    assert "data-publicity-pending" not in html and "contract-amount_wan" in html


def test_search_shows_an_award_in_publicity_as_publicity(in_publicity, client, travel):
    """The site search (page and API) says 公示中 while the notice runs, 已揭榜 after it, as the list does."""
    from urllib.parse import quote

    scenario, _owner, _winner, _others, notice = in_publicity(n=2)

    def found():
        items = client.get(f"/api/v1/search?type=scenario&q={quote(scenario.title)}").get_json()["items"]
        return [i["status"] for i in items if i["id"] == scenario.id]

    assert found() == ["publicity"]
    page = client.get(f"/search?type=scenario&q={quote(scenario.title)}").get_data(as_text=True)
    assert "公示中" in page
    travel(notice.ends_at + timedelta(seconds=1))
    assert found() == ["awarded"]


def test_the_publication_confirmation_names_the_batch(make_scenario, make_user, client, login):
    """The confirmation listed "所在清单批次" among what becomes public, but not which batch had been chosen."""
    scenario = make_scenario("submitted")
    login(make_user("district_staff"))
    page = client.post(f"/scenarios/{scenario.id}/publish", data={
        "batch_id": "0", "new_batch_name": "2025年渝中区第9批", "new_batch_stage": "collect"}).get_data(as_text=True)
    summary = page.split("data-confirm-summary", 1)[1].split("</dl>", 1)[0]
    assert "发布到批次" in summary and "2025年渝中区第9批（新建批次）" in summary


def test_strangers_get_not_found_for_an_existing_objection_as_for_a_missing_one(in_publicity, make_user, client,
                                                                                sign_in):
    """Another owner or another district's staff cannot see the objection (private to the owner, the deciding and
    reviewing staff and the objecting firm): 404 for it as for a missing one, with or without a form (was 403,
    which told a stranger that the objection exists). Staff who see it but may not decide still get 403."""
    scenario, _owner, _winner, _others, notice = in_publicity(n=2)
    objection = publicity.file_objection(db.session, _objector(make_user), notice, GROUNDS)
    db.session.commit()
    missing = objection.id + 1000
    sign_in(make_user("owner"))
    for data in ({}, {f"an{objection.id}-answer": "评审严格按评分标准进行。"}):
        assert client.post(f"/objections/{objection.id}/answer", data=data).status_code == 404
    assert client.post(f"/objections/{missing}/answer", data={}).status_code == 404
    sign_in(make_user("district_staff", district="yubei"))
    for data in ({}, {f"de{objection.id}-decision": "upheld", f"de{objection.id}-reason": "经核查异议成立"}):
        assert client.post(f"/objections/{objection.id}/decide", data=data).status_code == 404
    assert client.post(f"/objections/{missing}/decide", data={}).status_code == 404
    sign_in(make_user("city_staff"))  # reviews the scenario, sees the objection, decides only city lists
    response = client.post(f"/objections/{objection.id}/decide", data={})
    assert response.status_code == 403 and "可以处理异议" in response.get_data(as_text=True)
    db.session.expire_all()
    assert objection.answer is None and objection.decision is None


def test_deciding_an_objection_twice_is_refused_cleanly(in_publicity, make_user, client, sign_in):
    scenario, _owner, _winner, _others, notice = in_publicity(n=2)
    objection = publicity.file_objection(db.session, _objector(make_user), notice, GROUNDS)
    db.session.commit()
    sign_in(make_user("district_staff", district=scenario.district.code))
    data = {f"de{objection.id}-decision": "dismissed", f"de{objection.id}-reason": "异议理由不成立"}
    assert client.post(f"/objections/{objection.id}/decide", data=data).status_code == 302
    again = client.post(f"/objections/{objection.id}/decide", data=data | {f"de{objection.id}-decision": "upheld"})
    assert again.status_code in (303, 409), again.status_code
    page = client.get(again.headers["Location"]).get_data(as_text=True) if again.status_code == 303 \
        else again.get_data(as_text=True)
    assert "该异议已处理" in page
    db.session.expire_all()
    assert objection.decision == ObjectionDecision.DISMISSED and notice.withdrawn_at is None
    assert db.session.scalar(sa.select(sa.func.count(AuditEvent.id)).where(
        AuditEvent.action.like("objection.%"), AuditEvent.action != "objection.file")) == 1


@pytest.mark.postgres
@pytest.mark.skipif(not ON_POSTGRES, reason="row locks: PostgreSQL only (SQLite writes are serial)")
def test_a_decision_waits_for_a_concurrent_one_on_the_same_notice_and_is_refused(in_publicity, make_user, client,
                                                                                 sign_in):
    """Two staff members decide one objection at the same moment: the second waits for the first and is refused
    (without the lock it overwrote the first decision: dismissed on record while its upheld twin withdrew the
    notice, or the notice withdrawn twice)."""

    from sqlalchemy.orm import Session

    scenario, _owner, _winner, _others, notice = in_publicity(n=2)
    objection = publicity.file_objection(db.session, _objector(make_user), notice, GROUNDS)
    db.session.commit()
    first, second = (make_user("district_staff", district=scenario.district.code) for _ in range(2))
    sign_in(second)
    with Session(db.engine) as other:
        publicity.decide_objection(other, other.get(type(first), first.id), other.get(Objection, objection.id),
                                   "dismissed", "异议理由不成立")  # decided, locked, not yet committed
        answer = second_waits_for_first(other, lambda: client.post(
            f"/objections/{objection.id}/decide",
            data={f"de{objection.id}-decision": "upheld", f"de{objection.id}-reason": "经核查异议成立"}), "the second decision")
    assert answer.status_code in (303, 409), answer.status_code
    db.session.expire_all()
    assert objection.decision == ObjectionDecision.DISMISSED and objection.decided_by_id == first.id
    assert notice.withdrawn_at is None and scenario.status != ScenarioStatus.PUBLISHED


def test_a_second_award_post_is_refused_cleanly(closed_scenario, client, sign_in):
    """A double-clicked confirmation (the same token twice) or a second award: a clear refusal, one decision."""
    scenario, owner, applications = closed_scenario(n=2)
    url = f"/scenarios/{scenario.id}/evaluation/award"
    data = {"award-application_id": str(applications[0].id)}
    sign_in(owner)
    token = token_of(client.post(url, data=data).get_data(as_text=True))
    assert client.post(url, data={**data, "confirm_token": token}).status_code == 302
    for again in (client.post(url, data={**data, "confirm_token": token}),
                  post_confirmed(client, url, {"award-application_id": str(applications[1].id)})):
        page = client.get(again.headers["Location"]).get_data(as_text=True) if again.status_code == 303 else ""
        assert again.status_code == 303 and "揭榜结果已确定" in page
    db.session.expire_all()
    assert [a.status for a in applications] == [ApplicationStatus.SELECTED, ApplicationStatus.NOT_SELECTED]
    assert db.session.scalar(sa.select(sa.func.count(PublicityNotice.id))) == 1
    assert db.session.scalar(sa.select(sa.func.count(AuditEvent.id)).where(AuditEvent.action == "publicity.open")) <= 1


@pytest.mark.postgres
@pytest.mark.skipif(not ON_POSTGRES, reason="row locks: PostgreSQL only (SQLite writes are serial)")
def test_a_shortlist_waits_for_an_award_being_decided_and_is_refused(closed_scenario, make_user, client, sign_in):
    """The owner's colleague shortlists a firm while the award is being recorded: the shortlist waits and is
    refused (without the lock it put a firm the award had just marked 未入选 back on the shortlist)."""

    from sqlalchemy.orm import Session

    from marketplace.models import Application, User

    scenario, owner, applications = closed_scenario(n=2)
    criteria = set_criteria(scenario, owner, CRITERIA)
    expert, assignment = declared_expert(make_user, scenario, owner)
    for application, value in zip(applications, ("90", "80"), strict=True):
        score_all(expert, assignment, application, criteria, [value] * len(criteria))
    db.session.commit()
    colleague = make_user("owner", organisation=scenario.owner)
    sign_in(colleague)
    url = f"/scenarios/{scenario.id}/evaluation/applications/{applications[1].id}/shortlist"
    ids = (owner.id, scenario.id, applications[0].id, applications[1].id)
    with Session(db.engine) as other:
        decisions.award(other, other.get(User, ids[0]), other.get(Scenario, ids[1]), ids[2])
        answer = second_waits_for_first(other, lambda: client.post(url, data={}), "the shortlist", "the award")
    assert answer.status_code in (303, 409), answer.status_code
    db.session.expire_all()
    assert db.session.get(Application, ids[3]).status == ApplicationStatus.NOT_SELECTED


def test_an_objection_or_an_answer_posted_twice_is_refused_and_a_revised_answer_is_audited(
        in_publicity, make_user, client, sign_in):
    """A double-clicked objection form made two objections to answer and decide; a double-clicked answer was
    recorded (and the objector told) twice. A revised answer before the decision is an audited edit, and the
    objector is told that it changed."""
    scenario, owner, _winner, _others, notice = in_publicity(n=2)
    objector = _objector(make_user)
    sign_in(objector)
    url = f"/scenarios/{scenario.id}/publicity/objections"
    assert client.post(url, data={"grounds": GROUNDS}).status_code == 302
    again = client.post(url, data={"grounds": GROUNDS})
    assert again.status_code == 422 and "请勿重复提交" in again.get_data(as_text=True)
    objection = db.session.execute(sa.select(Objection)).scalar_one()
    sign_in(owner)
    answer_url = f"/objections/{objection.id}/answer"
    first = {f"an{objection.id}-answer": "评审严格按评分标准进行，报价经成本测算合理。"}
    assert client.post(answer_url, data=first).status_code == 302
    again = client.post(answer_url, data=first)
    assert again.status_code == 422 and "该答复已提交" in again.get_data(as_text=True)
    revised = {f"an{objection.id}-answer": "评审严格按评分标准进行；团队成员无重叠，附人员名单。"}
    assert client.post(answer_url, data=revised).status_code == 302
    db.session.expire_all()
    assert objection.answer.endswith("附人员名单。")
    events = db.session.execute(sa.select(AuditEvent).where(AuditEvent.action == "objection.answer")
                                .order_by(AuditEvent.id)).scalars().all()
    assert len(events) == 2 and events[1].before == {"answer": first[f"an{objection.id}-answer"]}
    told = notifications_for(objector, "objection.answered")
    assert len(told) == 2 and sum("已修改" in n.title for n in told) == 1
