"""Delivery and acceptance: contract → in delivery, milestones, progress, acceptance with its report,
read-only views for the winning firm and staff, report downloads, and the permission matrix."""

import io
import re
import zipfile
from datetime import timedelta
from decimal import Decimal

import pytest
import sqlalchemy as sa
from werkzeug.datastructures import FileStorage

from marketplace import clock
from marketplace.applications import decisions, delivery
from marketplace.errors import InvalidTransition, NotFound, PermissionDenied, ValidationFailed
from marketplace.extensions import db
from marketplace.models import (
    Acceptance,
    AcceptanceResult,
    ApplicationStatus,
    AuditEvent,
    Contract,
    Milestone,
    MilestoneStatus,
    ProgressNote,
    PublicityNotice,
    Scenario,
    ScenarioStatus,
)
from tests.confirm_support import post_confirmed
from tests.conftest import ON_POSTGRES
from tests.races import second_waits_for_first
from tests.scenario_factory import PDF
from tests.test_evaluation import (
    closed_scenario,
    make_application,
    notifications_for,
    sign_in,
    travel,
)

#: Fixtures shared with the evaluation tests (pytest finds them as names of this module).
SHARED_FIXTURES = (closed_scenario, make_application, sign_in, travel)


def docx_bytes() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("word/document.xml", "<w:document/>")
    return buffer.getvalue()


def upload(data: bytes = PDF, name: str = "验收报告.pdf") -> FileStorage:
    return FileStorage(stream=io.BytesIO(data), filename=name)


def end_publicity(scenario) -> None:
    """The 公示 has run its course with no objection: the award is final (the contract phase opens)."""
    notice = db.session.execute(sa.select(PublicityNotice).where(PublicityNotice.scenario_id == scenario.id)
                                ).scalar_one()
    notice.ends_at = clock.now() - timedelta(seconds=1)
    db.session.flush()


@pytest.fixture
def awarded(closed_scenario):
    """``awarded(n=2)`` → (scenario, owner, winner, losers): an open call decided for the first application."""

    def make(n=2, **kwargs):
        scenario, owner, applications = closed_scenario(n=n, **kwargs)
        decisions.award(db.session, owner, scenario, applications[0].id)
        end_publicity(scenario)
        db.session.commit()
        return scenario, owner, applications[0], applications[1:]

    return make


def today():
    return clock.local_today()


# ------------------------------------------------------------------ the delivery lifecycle

def test_contract_starts_delivery_and_plans_milestones(awarded):
    scenario, owner, winner, _losers = awarded()
    assert scenario.status == ScenarioStatus.AWARDED
    contract = delivery.record_contract(db.session, owner, scenario, winner.id, "288.50", today(), plan_milestones=True)
    db.session.commit()
    assert scenario.status == ScenarioStatus.IN_DELIVERY
    assert contract.amount_wan == Decimal("288.50")
    assert [(m.title, m.due_on) for m in contract.milestones] == [
        ("需求调研与方案确认", delivery.add_months(today(), 1)), ("上线试运行", delivery.add_months(today(), 6))]
    assert notifications_for(winner.created_by, "delivery.contract")
    actions = db.session.execute(sa.select(AuditEvent.action).order_by(AuditEvent.id)).scalars().all()
    assert "contract.record" in actions and "scenario.start_delivery" in actions
    # The public result now shows the contract amount.
    assert decisions.public_result(db.session, scenario)["winners"][0].amount_kind == "contract"
    # Correcting the contract keeps the scenario in delivery and is audited.
    delivery.record_contract(db.session, owner, scenario, winner.id, "290", today())
    assert contract.amount_wan == Decimal("290") and scenario.status == ScenarioStatus.IN_DELIVERY
    assert db.session.scalar(sa.select(sa.func.count(Contract.id))) == 1


@pytest.mark.parametrize(("amount", "signed", "field", "message"), [
    ("0", 0, "amount_wan", "大于 0"),
    ("-5", 0, "amount_wan", "大于 0"),
    ("abc", 0, "amount_wan", "请填写合同金额"),
    ("", 0, "amount_wan", "请填写合同金额"),
    ("12.345", 0, "amount_wan", "两位小数"),
    ("100", 3, "signed_on", "不能晚于今天"),
    ("100", -3, "signed_on", "不能早于揭榜结果确定日期"),
    ("100", None, "signed_on", "请填写合同签订日期"),
])
def test_contract_input_is_checked(awarded, amount, signed, field, message):
    scenario, owner, winner, _losers = awarded()
    day = None if signed is None else today() + timedelta(days=signed)
    with pytest.raises(ValidationFailed) as error:
        delivery.record_contract(db.session, owner, scenario, winner.id, amount, day)
    assert field in error.value.field_errors and message in error.value.message
    db.session.rollback()
    assert scenario.status == ScenarioStatus.AWARDED


def test_contract_only_for_a_selected_application(awarded):
    scenario, owner, _winner, (loser,) = awarded()
    with pytest.raises(ValidationFailed):
        delivery.record_contract(db.session, owner, scenario, loser.id, "100", today())
    with pytest.raises(ValidationFailed):
        delivery.record_contract(db.session, owner, scenario, "x", "100", today())


def test_no_delivery_before_the_award(closed_scenario):
    scenario, owner, (application, _other) = closed_scenario(n=2)
    application.status = ApplicationStatus.SELECTED  # even if forced, the scenario's state refuses
    db.session.commit()
    with pytest.raises(InvalidTransition):
        delivery.record_contract(db.session, owner, scenario, application.id, "100", today())
    with pytest.raises(InvalidTransition):
        delivery.require_view(db.session, owner, scenario)


def test_milestones_progress_and_acceptance(awarded, make_user, client, sign_in):
    scenario, owner, winner, (loser,) = awarded()
    contract = delivery.record_contract(db.session, owner, scenario, winner.id, "300", today())
    db.session.commit()
    # Milestones: a title and a due date not before signing.
    with pytest.raises(ValidationFailed):
        delivery.add_milestone(db.session, owner, scenario, contract.id, "", today())
    with pytest.raises(ValidationFailed) as error:
        delivery.add_milestone(db.session, owner, scenario, contract.id, "上线试运行", today() - timedelta(days=1))
    assert "due_on" in error.value.field_errors
    first = delivery.add_milestone(db.session, owner, scenario, contract.id, "需求调研与方案确认", today())
    second = delivery.add_milestone(db.session, owner, scenario, contract.id, "上线试运行",
                                    today() + timedelta(days=90))
    db.session.commit()
    # Not met needs a note; met does not.
    with pytest.raises(ValidationFailed) as error:
        delivery.record_milestone(db.session, owner, scenario, second.id, "not_met", "")
    assert "note" in error.value.field_errors
    with pytest.raises(ValidationFailed):
        delivery.record_milestone(db.session, owner, scenario, second.id, "pending", "")
    delivery.record_milestone(db.session, owner, scenario, first.id, "met", None)
    delivery.record_milestone(db.session, owner, scenario, second.id, "not_met", "接口联调延期两周")
    db.session.commit()
    assert first.status == MilestoneStatus.MET and second.status == MilestoneStatus.NOT_MET
    assert notifications_for(winner.created_by, "delivery.milestone")
    # Progress: text and an optional percentage 0–100.
    with pytest.raises(ValidationFailed) as error:
        delivery.add_progress(db.session, owner, scenario, contract.id, "完成了", "120")
    assert set(error.value.field_errors) == {"text", "percent"}
    delivery.add_progress(db.session, owner, scenario, contract.id, "完成核心功能开发，进入联调。", "60")
    db.session.commit()
    assert contract.progress[0].percent == 60
    # A failed acceptance needs a note and keeps the scenario in delivery.
    with pytest.raises(ValidationFailed) as error:
        delivery.record_acceptance(db.session, owner, scenario, today(), "failed", None, "")
    assert "note" in error.value.field_errors
    delivery.record_acceptance(db.session, owner, scenario, today(), "failed", upload(docx_bytes(), "验收意见.docx"),
                               "预警准确率未达到95%，限期一个月整改")
    db.session.commit()
    assert scenario.status == ScenarioStatus.IN_DELIVERY
    failed_report = db.session.execute(sa.select(Acceptance)).scalar_one().report_id
    assert notifications_for(winner.created_by, "delivery.acceptance_failed")
    # Passing needs a report (PDF/DOCX with the right content), a date not in the future, no pending milestone.
    with pytest.raises(ValidationFailed) as error:
        delivery.record_acceptance(db.session, owner, scenario, today(), "passed", None, "")
    assert "report" in error.value.field_errors
    with pytest.raises(ValidationFailed) as error:
        delivery.record_acceptance(db.session, owner, scenario, today(), "passed", upload(b"not a pdf", "报告.pdf"), "")
    assert "report" in error.value.field_errors and "不符" in error.value.message
    with pytest.raises(ValidationFailed) as error:
        delivery.record_acceptance(db.session, owner, scenario, today(), "passed", upload(PDF, "报告.txt"), "")
    assert "不支持该文件类型" in error.value.message
    with pytest.raises(ValidationFailed) as error:
        delivery.record_acceptance(db.session, owner, scenario, today() + timedelta(days=1), "passed", upload(), "")
    assert "accepted_on" in error.value.field_errors
    db.session.rollback()
    delivery.add_milestone(db.session, owner, scenario, contract.id, "终验与移交", today())
    db.session.commit()
    with pytest.raises(ValidationFailed) as error:
        delivery.record_acceptance(db.session, owner, scenario, today(), "passed", upload(), "")
    assert "终验与移交" in error.value.message
    db.session.rollback()
    last = db.session.execute(sa.select(Milestone).where(Milestone.title == "终验与移交")).scalar_one()
    delivery.record_milestone(db.session, owner, scenario, last.id, "met", "")
    acceptance = delivery.record_acceptance(db.session, owner, scenario, today(), "passed", upload(),
                                            "各项指标达到验收标准")
    db.session.commit()
    assert scenario.status == ScenarioStatus.ACCEPTED
    assert acceptance.result == AcceptanceResult.PASSED and acceptance.report.filename == "验收报告.pdf"
    # Both acceptances are kept: the failed one with its report, then the passed one, which is the scenario's.
    assert [(a.result, a.report_id) for a in acceptance.attempts] == [
        (AcceptanceResult.PASSED, acceptance.report_id), (AcceptanceResult.FAILED, failed_report)]
    assert delivery.acceptance_of(db.session, scenario) is acceptance
    assert all(a.recorded_by == owner for a in acceptance.attempts)
    event = db.session.execute(sa.select(AuditEvent).where(AuditEvent.action == "acceptance.record")
                               .order_by(AuditEvent.id.desc())).scalars().first()
    assert event.object_id == str(acceptance.id) and event.after["result"] == "passed"
    assert notifications_for(winner.created_by, "delivery.accepted")
    # Nothing more can be written after acceptance.
    with pytest.raises(InvalidTransition):
        delivery.add_progress(db.session, owner, scenario, contract.id, "补充说明材料", None)
    # The report: the owner, reviewing staff and the winning firm download it; nobody else.
    url = f"/files/{acceptance.report_id}"
    for user, status in ((owner, 200), (make_user("district_staff", district=scenario.district.code), 200),
                         (make_user("city_staff"), 200), (winner.created_by, 200), (loser.created_by, 404),
                         (make_user("owner"), 404), (make_user("expert"), 404),
                         (make_user("district_staff", district="yubei"), 404)):
        sign_in(user)
        with client.get(url) as response:
            assert response.status_code == status, user.role
            if status == 200:
                assert response.data == PDF
    # The delivery page lists the acceptance history, latest first; the failed one's report stays readable.
    sign_in(winner.created_by)
    html = client.get(f"/scenarios/{scenario.id}/delivery").get_data(as_text=True)
    assert re.findall(r'data-acceptance-attempt="(\w+)"', html) == ["passed", "failed"]
    assert "预警准确率未达到95%，限期一个月整改" in html and f"/files/{failed_report}" in html
    with client.get(f"/files/{failed_report}") as response:
        assert response.status_code == 200
    client.post("/auth/logout")
    with client.get(url) as response:
        assert response.status_code == 404


def test_passed_acceptance_without_milestones(awarded):
    scenario, owner, winner, _losers = awarded()
    delivery.record_contract(db.session, owner, scenario, winner.id, "300", today())
    delivery.record_acceptance(db.session, owner, scenario, today(), "passed", upload(docx_bytes(), "报告.docx"), "")
    assert scenario.status == ScenarioStatus.ACCEPTED


def test_horse_race_winners_each_get_a_contract(closed_scenario):
    scenario, owner, apps = closed_scenario(n=3, mode="horse_race", race_teams=3)
    decisions.start_race(db.session, owner, scenario, [a.id for a in apps])
    for application in apps:
        decisions.record_stage(db.session, owner, scenario, application.id, "第一阶段", "80", "达标")
    decisions.select_final(db.session, owner, scenario, [apps[0].id, apps[1].id])
    end_publicity(scenario)
    delivery.record_contract(db.session, owner, scenario, apps[0].id, "150", today())
    delivery.record_contract(db.session, owner, scenario, apps[1].id, "140", today())
    db.session.commit()
    with pytest.raises(ValidationFailed):
        delivery.record_contract(db.session, owner, scenario, apps[2].id, "100", today())
    db.session.rollback()
    assert len(delivery.contracts_of(db.session, scenario)) == 2
    result = decisions.public_result(db.session, scenario)
    assert result["total_wan"] == Decimal("290.00")


# ------------------------------------------------------------------ pages

def test_delivery_pages_through_the_forms(awarded, client, sign_in):
    scenario, owner, winner, _losers = awarded()
    sign_in(owner)
    html = client.get(f"/scenarios/{scenario.id}/delivery").get_data(as_text=True)
    assert "contract-amount_wan" in html and 'value="300.00"' in html  # quoted price suggested
    html = client.post(f"/scenarios/{scenario.id}/delivery/contract",
                       data={"contract-application_id": str(winner.id), "contract-amount_wan": "0",
                             "contract-signed_on": today().isoformat()}).get_data(as_text=True)
    assert "合同金额必须大于 0" in html
    assert client.post(f"/scenarios/{scenario.id}/delivery/contract",
                       data={"contract-application_id": str(winner.id), "contract-amount_wan": "286",
                             "contract-signed_on": today().isoformat(),
                             "contract-plan_milestones": "y"}).status_code == 302
    db.session.expire_all()
    assert scenario.status == ScenarioStatus.IN_DELIVERY
    contract = db.session.execute(sa.select(Contract)).scalar_one()
    milestone = contract.milestones[0]
    html = client.post(f"/scenarios/{scenario.id}/delivery/milestones/{milestone.id}",
                       data={f"mr{milestone.id}-status": "not_met"}).get_data(as_text=True)
    assert "请说明原因" in html
    for m in contract.milestones:
        assert client.post(f"/scenarios/{scenario.id}/delivery/milestones/{m.id}",
                           data={f"mr{m.id}-status": "met", f"mr{m.id}-note": "按期完成"}).status_code == 302
    assert client.post(f"/scenarios/{scenario.id}/delivery/contracts/{contract.id}/milestones",
                       data={f"ms{contract.id}-title": "运维培训", f"ms{contract.id}-due_on": "not a date"}
                       ).status_code == 422
    # An empty milestone form names both missing fields at once (the name was asked for only after the date).
    empty = client.post(f"/scenarios/{scenario.id}/delivery/contracts/{contract.id}/milestones",
                        data={f"ms{contract.id}-title": "", f"ms{contract.id}-due_on": ""})
    assert empty.status_code == 422
    assert "请填写里程碑名称。" in empty.get_data(as_text=True) and "请填写计划完成日期。" in empty.get_data(as_text=True)
    assert client.post(f"/scenarios/{scenario.id}/delivery/contracts/{contract.id}/progress",
                       data={f"pg{contract.id}-text": "系统已上线试运行", f"pg{contract.id}-percent": "85"}
                       ).status_code == 302
    html = client.post(f"/scenarios/{scenario.id}/delivery/acceptance",
                       data={"acceptance-accepted_on": today().isoformat(), "acceptance-result": "passed"},
                       content_type="multipart/form-data").get_data(as_text=True)
    assert "验收通过须上传验收报告" in html
    response = post_confirmed(client, f"/scenarios/{scenario.id}/delivery/acceptance",
                              data=lambda: {"acceptance-accepted_on": today().isoformat(),
                                            "acceptance-result": "passed", "acceptance-note": "通过",
                                            "acceptance-report": (io.BytesIO(PDF), "终验报告.pdf")},
                              content_type="multipart/form-data")
    assert response.status_code == 302
    db.session.expire_all()
    assert scenario.status == ScenarioStatus.ACCEPTED
    html = client.get(f"/scenarios/{scenario.id}/delivery").get_data(as_text=True)
    assert "终验报告.pdf" in html and 'data-acceptance="passed"' in html and "系统已上线试运行" in html
    html = client.get(f"/scenarios/{scenario.id}").get_data(as_text=True)
    assert "286.00" in html and "合同金额" in html


def test_winning_firm_and_staff_read_without_forms(awarded, make_user, client, sign_in):
    scenario, owner, winner, (loser,) = awarded()
    contract = delivery.record_contract(db.session, owner, scenario, winner.id, "300", today(), plan_milestones=True)
    delivery.add_progress(db.session, owner, scenario, contract.id, "需求调研完成", "10")
    db.session.commit()
    for user in (winner.created_by, make_user("city_staff"),
                 make_user("district_staff", district=scenario.district.code)):
        sign_in(user)
        html = client.get(f"/scenarios/{scenario.id}/delivery").get_data(as_text=True)
        assert "需求调研完成" in html and "300.00" in html and "需求调研与方案确认" in html
        assert "<form" not in html.split('id="contracts"')[1].split("</main>")[0].replace(
            'action="/auth/logout"', "")
    sign_in(winner.created_by)
    assert 'data-panel="firm-projects"' in client.get("/dashboard").get_data(as_text=True)
    assert f"/scenarios/{scenario.id}/delivery" in client.get(f"/scenarios/{scenario.id}").get_data(as_text=True)
    sign_in(loser.created_by)
    assert client.get(f"/scenarios/{scenario.id}/delivery").status_code == 403
    assert f"/scenarios/{scenario.id}/delivery" not in client.get(f"/scenarios/{scenario.id}").get_data(as_text=True)


def test_a_refused_action_is_flashed_on_the_delivery_page(awarded, client, sign_in):
    scenario, owner, winner, _losers = awarded()
    contract = delivery.record_contract(db.session, owner, scenario, winner.id, "300", today())
    delivery.record_acceptance(db.session, owner, scenario, today(), "passed", upload(), "终验通过")
    db.session.commit()
    assert scenario.status == ScenarioStatus.ACCEPTED
    sign_in(owner)
    page = f"http://localhost/scenarios/{scenario.id}/delivery"
    response = client.post(f"/scenarios/{scenario.id}/delivery/contracts/{contract.id}/progress",
                           data={f"pg{contract.id}-text": "验收后补记的进度", f"pg{contract.id}-percent": "100"},
                           headers={"Referer": page})
    assert response.status_code == 303 and response.headers["Location"] == page
    assert "不能执行该操作" in client.get(page).get_data(as_text=True)
    db.session.expire_all()
    assert db.session.scalar(sa.select(sa.func.count(ProgressNote.id))) == 0


def test_delivery_page_before_award(closed_scenario, client, sign_in):
    scenario, owner, _apps = closed_scenario(n=1)
    sign_in(owner)
    assert client.get(f"/scenarios/{scenario.id}/delivery").status_code == 409


# ------------------------------------------------------------------ permission matrix

def _routes(scenario, contract, milestone):
    s, c, m = scenario.id, contract.id, milestone.id
    return [
        ("GET", f"/scenarios/{s}/delivery", {}),
        ("POST", f"/scenarios/{s}/delivery/contract", {"contract-application_id": str(contract.application_id),
                                                       "contract-amount_wan": "1", "contract-signed_on": "2020-01-01"}),
        ("POST", f"/scenarios/{s}/delivery/contracts/{c}/milestones", {f"ms{c}-title": "新里程碑",
                                                                       f"ms{c}-due_on": "2099-01-01"}),
        ("POST", f"/scenarios/{s}/delivery/milestones/{m}", {f"mr{m}-status": "met"}),
        ("POST", f"/scenarios/{s}/delivery/contracts/{c}/progress", {f"pg{c}-text": "进度说明文字", f"pg{c}-percent": "50"}),
        ("POST", f"/scenarios/{s}/delivery/acceptance", {"acceptance-accepted_on": "2020-01-01",
                                                         "acceptance-result": "failed",
                                                         "acceptance-note": "整改后再验收"}),
    ]


READERS = {"owner", "winner", "district_staff", "city_staff"}
ROUTE_ACTORS = [READERS] + [{"owner"}] * 5
ACTORS = ["owner", "other_owner", "winner", "loser", "enterprise", "district_staff", "other_district_staff",
          "city_staff", "expert"]


@pytest.mark.parametrize("actor", ACTORS)
def test_permission_matrix(awarded, make_user, client, sign_in, actor):
    scenario, owner, winner, (loser,) = awarded()
    contract = delivery.record_contract(db.session, owner, scenario, winner.id, "300", today(), plan_milestones=True)
    db.session.commit()
    milestone = contract.milestones[0]
    user = {"owner": lambda: owner, "other_owner": lambda: make_user("owner"), "winner": lambda: winner.created_by,
            "loser": lambda: loser.created_by, "enterprise": lambda: make_user("enterprise"),
            "district_staff": lambda: make_user("district_staff", district=scenario.district.code),
            "other_district_staff": lambda: make_user("district_staff", district="yubei"),
            "city_staff": lambda: make_user("city_staff"), "expert": lambda: make_user("expert")}[actor]()
    sign_in(user)

    def snapshot():
        db.session.expire_all()
        return (db.session.get(Scenario, scenario.id).status,
                db.session.scalar(sa.select(sa.func.count(Milestone.id))),
                db.session.scalar(sa.select(sa.func.count(ProgressNote.id))),
                db.session.scalar(sa.select(sa.func.count(Acceptance.id))),
                db.session.get(Milestone, milestone.id).status)

    for (method, url, data), allowed in zip(_routes(scenario, contract, milestone), ROUTE_ACTORS, strict=True):
        before = snapshot()
        response = client.get(url) if method == "GET" else client.post(url, data=data)
        if actor in allowed:
            # Admitted: done (200/302), or refused by a rule of the delivery (303 + flash, 422 + messages).
            assert response.status_code in (200, 302, 303, 422), (actor, url, response.status_code)
        else:
            assert response.status_code in (403, 404), (actor, url, response.status_code)
            assert snapshot() == before, (actor, url)


@pytest.mark.parametrize("index", range(6))
def test_anonymous_is_sent_to_login(awarded, client, index):
    scenario, owner, winner, _losers = awarded()
    contract = delivery.record_contract(db.session, owner, scenario, winner.id, "300", today(), plan_milestones=True)
    db.session.commit()
    method, url, data = _routes(scenario, contract, contract.milestones[0])[index]
    response = client.get(url) if method == "GET" else client.post(url, data=data)
    assert response.status_code == 302 and "/auth/login" in response.headers["Location"]


def test_services_refuse_every_other_role(awarded, make_user):
    scenario, owner, winner, _losers = awarded()
    contract = delivery.record_contract(db.session, owner, scenario, winner.id, "300", today(), plan_milestones=True)
    db.session.commit()
    milestone = contract.milestones[0]
    for actor in (winner.created_by, make_user("owner"), make_user("city_staff"), make_user("expert"),
                  make_user("district_staff", district=scenario.district.code)):
        for call in (
            lambda actor=actor: delivery.record_contract(db.session, actor, scenario, winner.id, "1", today()),
            lambda actor=actor: delivery.add_milestone(db.session, actor, scenario, contract.id, "新", today()),
            lambda actor=actor: delivery.record_milestone(db.session, actor, scenario, milestone.id, "met", ""),
            lambda actor=actor: delivery.add_progress(db.session, actor, scenario, contract.id, "进度说明文字", None),
            lambda actor=actor: delivery.record_acceptance(db.session, actor, scenario, today(), "passed", upload(), ""),
        ):
            with pytest.raises(PermissionDenied):
                call()
            db.session.rollback()
    # An owner cannot reach another scenario's contract or milestone through its own scenario.
    with pytest.raises(NotFound):
        delivery.add_progress(db.session, owner, scenario, contract.id + 999, "进度说明文字", None)
    assert scenario.status == ScenarioStatus.IN_DELIVERY


def test_a_repeated_milestone_outcome_or_progress_note_is_refused_and_a_change_is_audited(awarded, client, sign_in):
    """A double-clicked form recorded the outcome twice (the firm told twice) and made two identical progress
    notes; a 已达成 milestone (its form is gone from the page) was silently overwritten by a replayed POST."""
    scenario, owner, winner, _losers = awarded()
    contract = delivery.record_contract(db.session, owner, scenario, winner.id, "300", today(), plan_milestones=True)
    db.session.commit()
    first, second = contract.milestones[:2]
    sign_in(owner)
    base = f"/scenarios/{scenario.id}/delivery"

    def post(url, data):
        response = client.post(url, data=data)
        if response.status_code == 303:
            return response.status_code, client.get(response.headers["Location"]).get_data(as_text=True)
        return response.status_code, response.get_data(as_text=True)

    met = {f"mr{first.id}-status": "met", f"mr{first.id}-note": "按期完成"}
    assert client.post(f"{base}/milestones/{first.id}", data=met).status_code == 302
    status, page = post(f"{base}/milestones/{first.id}", met)
    assert status in (303, 409) and "已记录为已达成" in page
    status, page = post(f"{base}/milestones/{first.id}", {f"mr{first.id}-status": "not_met",
                                                         f"mr{first.id}-note": "重放的旧表单"})
    assert status in (303, 409) and "已记录为已达成" in page
    late = {f"mr{second.id}-status": "not_met", f"mr{second.id}-note": "接口联调延期两周"}
    assert client.post(f"{base}/milestones/{second.id}", data=late).status_code == 302
    status, page = post(f"{base}/milestones/{second.id}", late)
    assert status in (303, 409) and "请勿重复提交" in page
    # A 未达成 milestone met later: an edit, audited with the outcome it replaces.
    assert client.post(f"{base}/milestones/{second.id}", data={f"mr{second.id}-status": "met"}).status_code == 302
    db.session.expire_all()
    assert first.note == "按期完成" and second.status == MilestoneStatus.MET
    events = db.session.execute(sa.select(AuditEvent).where(AuditEvent.action == "milestone.record")
                                .order_by(AuditEvent.id)).scalars().all()
    assert len(events) == 3 and events[2].before == {"status": "not_met", "note": "接口联调延期两周"}
    assert len(notifications_for(winner.created_by, "delivery.milestone")) == 3
    # A progress note posted twice is one note; another note is welcome.
    note = {f"pg{contract.id}-text": "系统已上线试运行", f"pg{contract.id}-percent": "85"}
    assert client.post(f"{base}/contracts/{contract.id}/progress", data=note).status_code == 302
    status, page = post(f"{base}/contracts/{contract.id}/progress", note)
    assert status in (303, 409) and "该进度说明已记录" in page
    assert client.post(f"{base}/contracts/{contract.id}/progress",
                       data=note | {f"pg{contract.id}-percent": "90"}).status_code == 302
    assert db.session.scalar(sa.select(sa.func.count(ProgressNote.id))) == 2


@pytest.mark.postgres
@pytest.mark.skipif(not ON_POSTGRES, reason="row locks: PostgreSQL only (SQLite writes are serial)")
@pytest.mark.parametrize("what", ["milestone", "progress"])
def test_a_second_recording_waits_for_a_concurrent_one_and_is_refused(awarded, make_user, client, sign_in, what):
    """Two owner users (or a double click) record one milestone outcome / one progress note at the same moment:
    the second waits for the first and is refused (without the lock: two notes, two notifications)."""

    from sqlalchemy.orm import Session

    from marketplace.models import User

    scenario, owner, winner, _losers = awarded()
    contract = delivery.record_contract(db.session, owner, scenario, winner.id, "300", today(), plan_milestones=True)
    db.session.commit()
    milestone = contract.milestones[0]
    second = make_user("owner", organisation=scenario.owner)
    sign_in(second)
    with Session(db.engine) as other:
        me, there = other.get(User, owner.id), other.get(Scenario, scenario.id)
        if what == "milestone":
            delivery.record_milestone(other, me, there, milestone.id, "not_met", "接口联调延期两周")
            url = f"/scenarios/{scenario.id}/delivery/milestones/{milestone.id}"
            data = {f"mr{milestone.id}-status": "not_met", f"mr{milestone.id}-note": "接口联调延期两周"}
        else:
            delivery.add_progress(other, me, there, contract.id, "系统已上线试运行", "85")
            url = f"/scenarios/{scenario.id}/delivery/contracts/{contract.id}/progress"
            data = {f"pg{contract.id}-text": "系统已上线试运行", f"pg{contract.id}-percent": "85"}
        answer = second_waits_for_first(other, lambda: client.post(url, data=data), "the second recording")
    assert answer.status_code in (303, 409), answer.status_code
    db.session.expire_all()
    action = "milestone.record" if what == "milestone" else "progress.add"
    assert db.session.scalar(sa.select(sa.func.count(AuditEvent.id)).where(AuditEvent.action == action)) == 1
    assert db.session.scalar(sa.select(sa.func.count(ProgressNote.id))) == (0 if what == "milestone" else 1)


@pytest.mark.postgres
@pytest.mark.skipif(not ON_POSTGRES, reason="row locks: PostgreSQL only (SQLite writes are serial)")
def test_a_contract_recorded_twice_at_once_is_one_contract_and_an_audited_correction(awarded, make_user, client,
                                                                                    sign_in):
    """The contract form double-clicked (or two owner users): the second waits for the first and corrects it,
    audited with what it replaced (without the scenario's lock both inserted: a unique-constraint 500)."""

    from sqlalchemy.orm import Session

    from marketplace.models import User

    scenario, owner, winner, _losers = awarded()
    sign_in(make_user("owner", organisation=scenario.owner))
    url = f"/scenarios/{scenario.id}/delivery/contract"
    data = {"contract-application_id": str(winner.id), "contract-amount_wan": "290",
            "contract-signed_on": today().isoformat()}
    with Session(db.engine) as other:
        delivery.record_contract(other, other.get(User, owner.id), other.get(Scenario, scenario.id), winner.id,
                                 "286", today())
        answer = second_waits_for_first(other, lambda: client.post(url, data=data), "the second recording")
    assert answer.status_code == 302, answer.status_code
    db.session.expire_all()
    contract = db.session.execute(sa.select(Contract)).scalar_one()
    assert contract.amount_wan == Decimal("290") and scenario.status == ScenarioStatus.IN_DELIVERY
    actions = db.session.execute(sa.select(AuditEvent.action).where(AuditEvent.action.like("contract.%"))
                                 .order_by(AuditEvent.id)).scalars().all()
    assert actions == ["contract.record", "contract.update"]


def test_the_same_milestone_posted_twice_is_one_milestone(awarded, client, sign_in):
    scenario, owner, winner, _losers = awarded()
    contract = delivery.record_contract(db.session, owner, scenario, winner.id, "300", today())
    db.session.commit()
    sign_in(owner)
    url = f"/scenarios/{scenario.id}/delivery/contracts/{contract.id}/milestones"
    data = {f"ms{contract.id}-title": "运维培训", f"ms{contract.id}-due_on": (today() + timedelta(days=30)).isoformat()}
    assert client.post(url, data=data).status_code == 302
    again = client.post(url, data=data)
    assert again.status_code == 422 and "请勿重复提交" in again.get_data(as_text=True)
    assert db.session.scalar(sa.select(sa.func.count(Milestone.id))) == 1


def test_a_confirmed_failed_acceptance_posted_twice_is_recorded_once(awarded, client, sign_in):
    """The confirmation's token stays valid for its lifetime: a double-clicked 确认 of a failed acceptance made two
    acceptances (two reports, two notices to the firm)."""
    from tests.confirm_support import token_of

    scenario, owner, winner, _losers = awarded()
    delivery.record_contract(db.session, owner, scenario, winner.id, "300", today())
    db.session.commit()
    sign_in(owner)
    url = f"/scenarios/{scenario.id}/delivery/acceptance"

    def data():
        return {"acceptance-accepted_on": today().isoformat(), "acceptance-result": "failed",
                "acceptance-note": "预警准确率未达到95%，限期一个月整改",
                "acceptance-report": (io.BytesIO(PDF), "验收意见.pdf")}

    token = token_of(client.post(url, data=data(), content_type="multipart/form-data").get_data(as_text=True))
    assert token
    first = client.post(url, data=data() | {"confirm_token": token}, content_type="multipart/form-data")
    assert first.status_code == 302
    again = client.post(url, data=data() | {"confirm_token": token}, content_type="multipart/form-data")
    assert again.status_code in (303, 409), again.status_code
    page = client.get(again.headers["Location"]).get_data(as_text=True) if again.status_code == 303 \
        else again.get_data(as_text=True)
    assert "该验收结论已登记" in page
    assert db.session.scalar(sa.select(sa.func.count(Acceptance.id))) == 1
    assert len(notifications_for(winner.created_by, "delivery.acceptance_failed")) == 1
