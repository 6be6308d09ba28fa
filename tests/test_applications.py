"""揭榜 applications: apply, draft/submit/revise/withdraw, re-confirm, one live application per firm,
the deadline to the second, notifications, workspace panels and the permission matrix of every route.

Sealing on every read path is in ``tests/test_sealing.py`` (it reuses the ``world`` fixture below).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, timedelta
from decimal import Decimal
from io import BytesIO
from pathlib import Path
from types import SimpleNamespace

import pytest
import sqlalchemy as sa

from marketplace import clock
from marketplace.errors import InvalidTransition, NotFound, PermissionDenied, ValidationFailed
from marketplace.extensions import db
from marketplace.models import (
    Application,
    ApplicationDocument,
    ApplicationStatus,
    Attachment,
    AuditEvent,
    ExpertAssignment,
    Notification,
    OutboxMessage,
    ScenarioStatus,
)
from tests.scenario_factory import PDF

#: A complete application (form field names → values).
FULL = {
    "summary": "基于强化学习的区域信号协同优化方案，高峰通行时间下降15%。",
    "approach": "感知层接入卡口与线圈数据，决策层用多智能体强化学习，控制层对接现有信号机。",
    "team": "王磊｜项目经理｜智慧交通、信号控制\n李娜|算法工程师|强化学习",
    "price_wan": "298.50",
    "plan": "需求调研、试点路口、全面推广三阶段实施。",
    "milestones": "1｜完成需求调研\n试点路口上线｜第6月\n12｜通过验收",
    "declares_meets_requirements": True,
    "declares_no_conflict": True,
}


def form_data(**overrides):
    """FULL as posted by the browser (checkboxes as "y", the submit button pressed)."""
    data = {k: ("y" if v is True else v) for k, v in FULL.items() if v is not False}
    data["submit"] = "1"
    for key, value in overrides.items():
        if value is None:
            data.pop(key, None)
        else:
            data[key] = value
    return data


def pdf(name: str = "技术方案.pdf"):
    return (BytesIO(PDF), name)


def submit(firm_user, scenario, **overrides):
    """Submit an application through the service and commit (as the view would)."""
    from marketplace.applications import submission

    data = {**FULL, **overrides}
    result = submission.save(db.session, firm_user, scenario, data, submit=True)
    db.session.commit()
    return result.application


def attach_pdf(application, name="技术方案.pdf"):
    """Give an application a stored PDF document (bytes on disk, rows in the database)."""
    import hashlib
    import secrets

    from flask import current_app

    from marketplace.models import AttachmentPurpose

    folder = Path(current_app.config["UPLOAD_DIR"])
    folder.mkdir(parents=True, exist_ok=True)
    stored = secrets.token_hex(16)
    (folder / stored).write_bytes(PDF)
    attachment = Attachment(purpose=AttachmentPurpose.APPLICATION_DOCUMENT, filename=name, stored_name=stored,
                            content_type="application/pdf", size=len(PDF), sha256=hashlib.sha256(PDF).hexdigest(),
                            organisation_id=application.organisation_id)
    application.documents.append(ApplicationDocument(attachment=attachment))
    db.session.commit()
    return attachment


def close(scenario, seconds_ago: int = 1):
    """Move the scenario's deadline into the past (the bids open), as if that time had passed.

    The deadlines the applications were promised (``sealed_until``) move back with it: this stands
    for the clock running past the deadline, not for an owner shortening it (see test_deadline_rules).
    """
    scenario.deadline = clock.now() - timedelta(seconds=seconds_ago)
    for application in db.session.execute(sa.select(Application).where(Application.scenario_id == scenario.id)
                                          .where(Application.sealed_until.is_not(None))).scalars():
        application.sealed_until = scenario.deadline
    db.session.commit()


def state():
    """Everything a refused write must leave untouched."""
    from flask import current_app

    folder = Path(current_app.config["UPLOAD_DIR"])
    counts = {model.__name__: db.session.execute(sa.select(sa.func.count()).select_from(model)).scalar_one()
              for model in (Application, ApplicationDocument, Attachment, AuditEvent, Notification, OutboxMessage)}
    counts["files"] = len(list(folder.iterdir())) if folder.exists() else 0
    rows = db.session.execute(sa.select(Application.id, Application.status, Application.price_wan,
                                        Application.summary, Application.submitted_at,
                                        Application.confirmed_revision).order_by(Application.id)).all()
    return counts, [tuple(r) for r in rows]


def fetch(client, url, **kwargs):
    """GET and read the whole body, then close the response (file downloads hold an open file)."""
    response = client.get(url, **kwargs)
    response.get_data()
    response.close()
    return response


def freeze(monkeypatch, when):
    monkeypatch.setattr(clock, "now", lambda: when)


# ---------------------------------------------------------------- the shared world of roles

ROLES = ["anonymous", "firm", "other_firm", "owner", "other_owner", "district", "other_district", "city",
         "expert", "expert_undeclared"]


@dataclass
class World:
    scenario: object
    application: object
    document: object
    users: dict
    draft: object


@pytest.fixture
def world(make_scenario, make_user, make_org):
    return build_world(make_scenario, make_user, make_org)


def build_world(make_scenario, make_user, make_org) -> World:
    """A published scenario in 渝中区 with one submitted application (with a PDF) and another firm's draft.

    ``users`` maps every role name in ROLES (but anonymous) to a user.
    """
    scenario = make_scenario()
    firm_org = make_org("software_enterprise", name="甲软件股份有限公司")
    users = {
        "firm": make_user("enterprise", organisation=firm_org),
        "other_firm": make_user("enterprise"),
        "owner": make_user("owner", organisation=scenario.owner),
        "other_owner": make_user("owner"),
        "district": make_user("district_staff", district="yuzhong"),
        "other_district": make_user("district_staff", district="jiangbei"),
        "city": make_user("city_staff", district=None),
        "expert": make_user("expert", district=None),
        "expert_undeclared": make_user("expert", district=None),
    }
    application = submit(users["firm"], scenario, summary="密封测试方案SEALTOKEN，高峰通行时间下降15%。",
                         price_wan="312.34")
    document = attach_pdf(application, "甲公司技术方案.pdf")
    draft = submit_draft(users["other_firm"], scenario)
    now = clock.now()
    db.session.add_all([
        ExpertAssignment(scenario_id=scenario.id, expert_id=users["expert"].id, declared_at=now),
        ExpertAssignment(scenario_id=scenario.id, expert_id=users["expert_undeclared"].id),
    ])
    db.session.commit()
    return World(scenario, application, document, users, draft)


def submit_draft(firm_user, scenario, **overrides):
    from marketplace.applications import submission

    result = submission.save(db.session, firm_user, scenario, {**FULL, "summary": "乙公司草稿DRAFTTOKEN内容", **overrides},
                           submit=False)
    db.session.commit()
    return result.application


def as_role(client, login, world, role):
    if role != "anonymous":
        login(world.users[role])


# ---------------------------------------------------------------- applying through the pages

def test_firm_saves_a_draft_then_submits_with_an_attachment(client, login, make_scenario, make_user):
    scenario = make_scenario()
    firm = make_user("enterprise")
    colleague = make_user("enterprise", organisation=firm.organisation)
    login(firm)
    page = client.get(f"/scenarios/{scenario.id}/apply").get_data(as_text=True)
    assert "揭榜截止" in page and "姓名｜角色｜专长" in page

    response = client.post(f"/scenarios/{scenario.id}/apply", data={"summary": "先存个草稿", "save_draft": "1"})
    assert response.status_code == 302
    draft = db.session.execute(sa.select(Application)).scalar_one()
    assert draft.status == ApplicationStatus.DRAFT and draft.submitted_at is None

    response = client.post(f"/scenarios/{scenario.id}/apply", data=form_data(documents=pdf()),
                           content_type="multipart/form-data")
    assert response.status_code == 302
    db.session.expire_all()
    application = db.session.execute(sa.select(Application)).scalar_one()
    assert application.id == draft.id
    assert application.status == ApplicationStatus.SUBMITTED
    assert application.submitted_at is not None
    assert application.price_wan == Decimal("298.50")
    assert application.team == [{"name": "王磊", "role": "项目经理", "specialty": "智慧交通、信号控制"},
                                {"name": "李娜", "role": "算法工程师", "specialty": "强化学习"}]
    assert application.milestones == [{"title": "完成需求调研", "month": 1}, {"title": "试点路口上线", "month": 6},
                                      {"title": "通过验收", "month": 12}]
    assert [d.attachment.filename for d in application.documents] == ["技术方案.pdf"]
    assert application.confirmed_revision == scenario.revision

    detail = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "298.50" in detail and "技术方案.pdf" in detail and "回执编号" in detail
    # A receipt for every user of the firm.
    receipts = db.session.execute(sa.select(Notification).where(Notification.kind == "application.submitted")).scalars().all()
    assert {n.user_id for n in receipts} == {firm.id, colleague.id}
    assert all(n.url == f"/applications/{application.id}" for n in receipts)
    # The audit log records the change, never the sealed content.
    event = db.session.execute(sa.select(AuditEvent).where(AuditEvent.action == "application.submit")).scalar_one()
    assert event.after["status"] == "submitted" and len(event.after["content_sha256"]) == 64
    # Compare the sealed values themselves, not digits that a timestamp may also contain.
    recorded = str(event.after)
    assert "298.5" not in recorded and "强化学习" not in recorded and "王磊" not in recorded


def test_submission_needs_everything_and_both_declarations(client, login, make_scenario, make_user):
    scenario = make_scenario()
    login(make_user("enterprise"))
    response = client.post(f"/scenarios/{scenario.id}/apply",
                           data=form_data(declares_no_conflict=None, declares_meets_requirements=None, plan=""))
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "提交前请声明与业主单位不存在利益冲突" in html
    assert "提交前请确认方案满足场景的各项需求" in html
    assert "请填写实施计划" in html
    # What was typed is still in the form.
    assert "基于强化学习的区域信号协同优化方案" in html
    assert db.session.execute(sa.select(sa.func.count(Application.id))).scalar_one() == 0


def test_a_too_short_plan_says_how_long_it_must_be(client, login, make_scenario, make_user):
    """A plan of four characters was refused with "请填写实施计划。" — the user had filled it in."""
    scenario = make_scenario()
    login(make_user("enterprise"))
    html = client.post(f"/scenarios/{scenario.id}/apply", data=form_data(plan="三个阶段")).get_data(as_text=True)
    assert "请填写实施计划（至少 5 个字）。" in html and "三个阶段" in html


@pytest.mark.parametrize(("field", "value", "message"), [
    ("price_wan", "0", "报价必须大于 0 万元"),
    ("price_wan", "-5", "报价必须大于 0 万元"),
    ("price_wan", "abc", "请填写有效的报价金额"),
    ("price_wan", "1.234", "报价最多保留两位小数"),
    ("price_wan", "NaN", "请填写有效的报价金额"),
    ("price_wan", "99999999999", "报价超出可接受范围"),
    ("team", "只有名字", "第 1 行格式不对"),
    ("team", "王磊｜经理\n｜｜", "第 2 行格式不对"),
    ("milestones", "完成上线", "第 1 行格式不对"),
    ("milestones", "1｜调研\n13｜验收", "月份应在 1–12 之间"),
])
def test_bad_input_gets_a_clear_field_error_even_for_drafts(client, login, make_scenario, make_user, field, value,
                                                            message):
    scenario = make_scenario()
    login(make_user("enterprise"))
    response = client.post(f"/scenarios/{scenario.id}/apply", data=form_data(**{field: value, "submit": None,
                                                                                 "save_draft": "1"}))
    assert response.status_code == 422
    assert message in response.get_data(as_text=True)
    assert db.session.execute(sa.select(sa.func.count(Application.id))).scalar_one() == 0


@pytest.mark.parametrize(("text", "expected"), [
    ("1,200.5万元", Decimal("1200.50")), (" 88 ", Decimal("88.00")), ("0.01", Decimal("0.01")), ("", None),
])
def test_price_parsing(app, text, expected):
    from marketplace.applications.submission import parse_price

    assert parse_price(text) == expected


def test_milestones_accept_either_order_and_sort_by_month(app):
    from marketplace.applications.submission import parse_milestones

    assert parse_milestones("第12个月｜验收\n3｜上线\n\n需求调研|1", 12) == [
        {"title": "需求调研", "month": 1}, {"title": "上线", "month": 3}, {"title": "验收", "month": 12}]


@pytest.mark.parametrize(("name", "data"), [("方案.exe", b"MZ\x90\x00"), ("方案.pdf", b"not a pdf at all"),
                                            ("图片.png", b"\x89PNG\r\n\x1a\n....")])
def test_bad_attachment_is_refused_and_nothing_is_kept(client, login, make_scenario, make_user, name, data):
    scenario = make_scenario()
    login(make_user("enterprise"))
    before = state()
    response = client.post(f"/scenarios/{scenario.id}/apply", data=form_data(documents=(BytesIO(data), name)),
                           content_type="multipart/form-data")
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "文件" in html and "附件未保存" in html
    assert state() == before


def test_revision_stays_submitted_and_is_receipted(client, login, make_scenario, make_user):
    scenario = make_scenario()
    firm = make_user("enterprise")
    application = submit(firm, scenario)
    first_submitted = application.submitted_at
    login(firm)
    page = client.get(f"/scenarios/{scenario.id}/apply").get_data(as_text=True)
    assert "298.50" in page and "保存修改" in page
    response = client.post(f"/scenarios/{scenario.id}/apply", data=form_data(price_wan="280"))
    assert response.status_code == 302
    db.session.expire_all()
    application = db.session.get(Application, application.id)
    assert application.status == ApplicationStatus.SUBMITTED
    assert application.price_wan == Decimal("280.00")
    assert application.submitted_at == first_submitted
    assert db.session.execute(sa.select(AuditEvent).where(AuditEvent.action == "application.revise")).scalar_one()
    assert db.session.execute(sa.select(Notification).where(Notification.kind == "application.revised")).scalar_one()


def test_a_revision_cannot_make_a_submitted_application_incomplete(client, login, make_scenario, make_user):
    scenario = make_scenario()
    firm = make_user("enterprise")
    application = submit(firm, scenario)
    login(firm)
    before = state()
    response = client.post(f"/scenarios/{scenario.id}/apply", data=form_data(summary="", declares_no_conflict=None))
    assert response.status_code == 422
    assert "请填写方案摘要" in response.get_data(as_text=True)
    assert state() == before
    assert db.session.get(Application, application.id).summary == FULL["summary"]


def test_removing_an_attachment(client, login, make_scenario, make_user, app):
    scenario = make_scenario()
    firm = make_user("enterprise")
    application = submit(firm, scenario)
    attachment = attach_pdf(application)
    path = Path(app.config["UPLOAD_DIR"]) / attachment.stored_name
    document_id = application.documents[0].id
    login(firm)
    response = client.post(f"/scenarios/{scenario.id}/apply", data=form_data(remove_documents=str(document_id)))
    assert response.status_code == 302
    db.session.expire_all()
    assert db.session.get(Application, application.id).documents == []
    assert db.session.get(Attachment, attachment.id) is None
    assert not path.exists()


def test_files_of_removed_documents_leave_the_disk_only_when_the_removal_commits(app):
    from marketplace import attachments

    folder = Path(app.config["UPLOAD_DIR"])
    folder.mkdir(parents=True, exist_ok=True)
    kept, removed = folder / "kept-after-rollback", folder / "removed-after-commit"
    kept.write_bytes(b"x")
    removed.write_bytes(b"x")
    attachments.remove_on_commit(db.session, [kept.name])
    db.session.rollback()
    db.session.commit()  # a later transaction does not inherit the rolled-back removal
    assert kept.exists()
    attachments.remove_on_commit(db.session, [removed.name])
    assert removed.exists()  # nothing leaves the disk before the commit
    db.session.commit()
    assert not removed.exists() and kept.exists()


def test_withdraw_then_apply_again(client, login, make_scenario, make_user):
    scenario = make_scenario()
    firm = make_user("enterprise")
    application = submit(firm, scenario)
    login(firm)
    response = client.post(f"/applications/{application.id}/withdraw")
    assert response.status_code == 302
    db.session.expire_all()
    assert db.session.get(Application, application.id).status == ApplicationStatus.WITHDRAWN
    assert db.session.execute(sa.select(Notification).where(Notification.kind == "application.withdrawn")).scalar_one()
    # A withdrawn application is not counted.
    assert "data-application-count=\"0\"" in client.get(f"/scenarios/{scenario.id}").get_data(as_text=True)
    # After withdrawing, a new application is allowed.
    response = client.post(f"/scenarios/{scenario.id}/apply", data=form_data())
    assert response.status_code == 302
    rows = db.session.execute(sa.select(Application.status).order_by(Application.id)).scalars().all()
    assert rows == [ApplicationStatus.WITHDRAWN, ApplicationStatus.SUBMITTED]
    # A withdrawn application cannot be withdrawn again.
    response = client.post(f"/applications/{application.id}/withdraw", follow_redirects=True)
    assert "不能撤回" in response.get_data(as_text=True)


def test_applying_again_after_a_withdrawal_starts_from_the_withdrawn_texts(client, login, make_scenario, make_user):
    """The withdrawal says a firm may apply again before the deadline: the withdrawn application's page leads
    there, and the form starts from what the firm wrote (declarations made afresh), not from an empty form."""
    scenario = make_scenario()
    firm = make_user("enterprise")
    application = submit(firm, scenario)
    login(firm)
    assert client.post(f"/applications/{application.id}/withdraw").status_code == 302
    detail = client.get(f"/applications/{application.id}").get_data(as_text=True)
    assert "data-reapply" in detail and f"/scenarios/{scenario.id}/apply" in detail
    html = client.get(f"/scenarios/{scenario.id}/apply").get_data(as_text=True)
    assert FULL["summary"] in html and FULL["plan"] in html and "298.50" in html
    assert "已填入贵单位撤回的申请内容" in html
    for name in ("declares_meets_requirements", "declares_no_conflict"):
        tag = re.search(rf'<input[^>]*name="{name}"[^>]*>', html).group(0)
        assert "checked" not in tag
    # Another firm never sees it.
    other = make_user("enterprise")
    client.post("/auth/logout")
    login(other)
    assert FULL["summary"] not in client.get(f"/scenarios/{scenario.id}/apply").get_data(as_text=True)


def test_one_live_application_per_firm_and_scenario(make_scenario, make_user, monkeypatch):
    from marketplace.applications import submission

    scenario = make_scenario()
    firm = make_user("enterprise")
    colleague = make_user("enterprise", organisation=firm.organisation)
    first = submit(firm, scenario)
    # A colleague's "apply" edits the same live application rather than creating a second one.
    second = submission.save(db.session, colleague, scenario, {**FULL, "price_wan": "250"}, submit=True).application
    db.session.commit()
    assert second.id == first.id
    assert db.session.execute(sa.select(sa.func.count(Application.id))).scalar_one() == 1

    # Two requests racing past the service check: the partial unique index refuses the second, clearly.
    monkeypatch.setattr(submission, "live_application", lambda *args, **kwargs: None)
    with pytest.raises(InvalidTransition) as error:
        submission.save(db.session, colleague, scenario, FULL, submit=True)
    db.session.rollback()
    assert "每家企业每个场景只能有一份" in error.value.message
    assert db.session.execute(sa.select(sa.func.count(Application.id))).scalar_one() == 1


def test_the_database_index_allows_one_live_row(make_scenario, make_user):
    from sqlalchemy.exc import IntegrityError

    scenario = make_scenario()
    firm = make_user("enterprise")
    org = firm.organisation_id
    db.session.add(Application(scenario_id=scenario.id, organisation_id=org, status=ApplicationStatus.WITHDRAWN))
    db.session.add(Application(scenario_id=scenario.id, organisation_id=org, status=ApplicationStatus.WITHDRAWN))
    db.session.add(Application(scenario_id=scenario.id, organisation_id=org, status=ApplicationStatus.SUBMITTED))
    db.session.commit()
    db.session.add(Application(scenario_id=scenario.id, organisation_id=org, status=ApplicationStatus.DRAFT))
    with pytest.raises(IntegrityError):
        db.session.commit()
    db.session.rollback()


@pytest.mark.parametrize("kind", ["government", "district_office"])
def test_only_software_firms_apply(make_scenario, make_user, make_org, kind):
    from marketplace.applications import submission

    scenario = make_scenario()
    user = make_user("enterprise", organisation=make_org(kind))
    with pytest.raises(PermissionDenied):
        submission.save(db.session, user, scenario, FULL, submit=True)


def test_inactive_firm_cannot_apply(make_scenario, make_user):
    from marketplace.applications import submission

    scenario = make_scenario()
    firm = make_user("enterprise")
    firm.organisation.active = False
    db.session.commit()
    with pytest.raises(PermissionDenied):
        submission.save(db.session, firm, scenario, FULL, submit=True)


@pytest.mark.parametrize("status", ["draft", "submitted", "withdrawn", "unsuccessful", "awarded"])
def test_only_published_open_scenarios_take_applications(make_scenario, make_user, status):
    from marketplace.applications import submission

    scenario = make_scenario(status)
    firm = make_user("enterprise")
    with pytest.raises((InvalidTransition, NotFound)):
        submission.save(db.session, firm, scenario, FULL, submit=True)
    db.session.rollback()
    assert db.session.execute(sa.select(sa.func.count(Application.id))).scalar_one() == 0


# ---------------------------------------------------------------- the deadline, to the second

@pytest.fixture
def on_the_second(make_scenario, make_user):
    """A scenario whose deadline is a whole second, and a firm user."""
    deadline = (clock.now() + timedelta(days=3)).replace(microsecond=0)
    return SimpleNamespace(scenario=make_scenario(deadline=deadline), deadline=deadline,
                           firm=make_user("enterprise"))


def test_submission_one_second_before_the_deadline_is_accepted(client, login, on_the_second, monkeypatch):
    login(on_the_second.firm)
    freeze(monkeypatch, on_the_second.deadline - timedelta(seconds=1))
    response = client.post(f"/scenarios/{on_the_second.scenario.id}/apply", data=form_data(documents=pdf()),
                           content_type="multipart/form-data")
    assert response.status_code == 302
    application = db.session.execute(sa.select(Application)).scalar_one()
    assert application.status == ApplicationStatus.SUBMITTED
    assert application.submitted_at == on_the_second.deadline - timedelta(seconds=1)


@pytest.mark.parametrize("late", [timedelta(0), timedelta(microseconds=1), timedelta(seconds=1), timedelta(days=1)])
def test_submission_at_or_after_the_deadline_is_refused_and_nothing_changes(client, login, on_the_second,
                                                                            monkeypatch, late):
    login(on_the_second.firm)
    before = state()
    freeze(monkeypatch, on_the_second.deadline + late)
    response = client.post(f"/scenarios/{on_the_second.scenario.id}/apply", data=form_data(documents=pdf()),
                           content_type="multipart/form-data")
    html = response.get_data(as_text=True)
    assert response.status_code == 409
    local = clock.to_local(on_the_second.deadline).strftime("%Y-%m-%d %H:%M:%S")
    assert f"已超过揭榜截止时间（{local}），提交未被接受" in html
    assert FULL["summary"] in html  # the typed content is still in the form
    assert state() == before


def test_deadline_passing_during_the_request_does_not_refuse_what_arrived_before(client, login, on_the_second,
                                                                               monkeypatch):
    """The deadline is judged by the request's arrival (clock.request_time, issue 13): a submission that
    arrived 1 ms before it is accepted with its file even when processing ends after it; submitted_at is
    the arrival. (Refused late writes and their files: the tests around this one.)"""
    from marketplace import attachments

    login(on_the_second.firm)
    moments = {"late": False}
    real_store = attachments.store

    def store_then_pass_the_deadline(*args, **kwargs):
        stored = real_store(*args, **kwargs)
        moments["late"] = True
        return stored

    monkeypatch.setattr(attachments, "store", store_then_pass_the_deadline)
    monkeypatch.setattr(clock, "now", lambda: on_the_second.deadline if moments["late"]
                        else on_the_second.deadline - timedelta(milliseconds=1))
    response = client.post(f"/scenarios/{on_the_second.scenario.id}/apply", data=form_data(documents=pdf()),
                           content_type="multipart/form-data")
    assert response.status_code == 302
    assert moments["late"]
    application = db.session.execute(sa.select(Application)).scalar_one()
    assert application.status == ApplicationStatus.SUBMITTED and len(application.documents) == 1
    assert application.submitted_at.replace(tzinfo=UTC) == on_the_second.deadline - timedelta(milliseconds=1)


@pytest.mark.parametrize("action", ["revise", "withdraw", "draft"])
def test_revision_and_withdrawal_at_the_deadline_are_refused(client, login, on_the_second, monkeypatch, action):
    firm, scenario = on_the_second.firm, on_the_second.scenario
    application = submit_draft(firm, scenario) if action == "draft" else submit(firm, scenario)
    login(firm)
    before = state()
    freeze(monkeypatch, on_the_second.deadline)
    if action == "withdraw":
        response = client.post(f"/applications/{application.id}/withdraw", follow_redirects=True)
        verb = "撤回"
    else:
        response = client.post(f"/scenarios/{scenario.id}/apply",
                               data=form_data(price_wan="1", **({"submit": None, "save_draft": "1"}
                                                                if action == "draft" else {})))
        verb = "修改" if action == "revise" else "保存"
    assert f"），{verb}未被接受" in response.get_data(as_text=True)
    assert state() == before


def test_withdrawal_one_second_before_the_deadline_is_accepted(client, login, on_the_second, monkeypatch):
    application = submit(on_the_second.firm, on_the_second.scenario)
    login(on_the_second.firm)
    freeze(monkeypatch, on_the_second.deadline - timedelta(seconds=1))
    client.post(f"/applications/{application.id}/withdraw")
    db.session.expire_all()
    assert db.session.get(Application, application.id).status == ApplicationStatus.WITHDRAWN


def _form_fields(html: str) -> list[str]:
    """The fillable fields of a page's main content (the navigation's forms hold only hidden tokens and buttons)."""
    main = html.split("<main", 1)[-1].split("</main>", 1)[0]
    fields = re.findall(r"<(?:textarea|select)\b[^>]*>|<input\b(?![^>]*type=\"(?:hidden|submit)\")[^>]*>", main)
    return fields


def test_apply_page_after_the_deadline_shows_the_closed_state(client, login, on_the_second, monkeypatch):
    """Issue 15.10: GET answers 200 with the closed state (no form) and the deadline."""
    draft = submit_draft(on_the_second.firm, on_the_second.scenario, summary="截止前的草稿DRAFTKEPT")
    login(on_the_second.firm)
    freeze(monkeypatch, on_the_second.deadline)
    response = client.get(f"/scenarios/{on_the_second.scenario.id}/apply")
    html = response.get_data(as_text=True)
    local = clock.to_local(on_the_second.deadline).strftime("%Y-%m-%d %H:%M:%S")
    assert response.status_code == 200
    assert "揭榜已截止" in html and f"截止时间：{local}（北京时间）" in html and 'data-closed-state="deadline"' in html
    assert 'data-own-application="draft"' in html and "草稿已保留，未提交" in html
    assert f'href="/scenarios/{on_the_second.scenario.id}"' in html and f'href="/applications/{draft.id}"' in html
    assert _form_fields(html) == [] and 'enctype="multipart/form-data"' not in html


@pytest.mark.parametrize("button", ["submit", "save_draft"])
def test_post_after_the_deadline_shows_the_closed_state_and_keeps_the_draft(client, login, on_the_second,
                                                                            monkeypatch, button):
    """Issue 15.10: a POST after the deadline answers 409 with the closed state, not the full form again;
    the stored draft is untouched and what was typed is shown read-only."""
    draft = submit_draft(on_the_second.firm, on_the_second.scenario, summary="截止前的草稿DRAFTKEPT")
    login(on_the_second.firm)
    before = state()
    freeze(monkeypatch, on_the_second.deadline + timedelta(minutes=5))
    data = form_data(summary="截止后才填的新摘要LATETEXT",
                     **({"submit": None, "save_draft": "1"} if button == "save_draft" else {}))
    response = client.post(f"/scenarios/{on_the_second.scenario.id}/apply", data=data)
    html = response.get_data(as_text=True)
    assert response.status_code == 409
    assert "揭榜已截止" in html and "未被接受" in html
    assert "草稿已保留，未提交" in html and "本次填写的内容没有保存" in html
    assert "截止后才填的新摘要LATETEXT" in html  # read-only, to copy
    assert _form_fields(html) == [] and 'enctype="multipart/form-data"' not in html
    assert f'href="/scenarios/{on_the_second.scenario.id}"' in html
    assert state() == before
    db.session.expire_all()
    kept = db.session.get(Application, draft.id)
    assert kept.status == ApplicationStatus.DRAFT and kept.summary == "截止前的草稿DRAFTKEPT"


def test_detail_page_shows_the_closed_state_instead_of_the_button(client, login, on_the_second, monkeypatch):
    submit_draft(on_the_second.firm, on_the_second.scenario)
    login(on_the_second.firm)
    url = f"/scenarios/{on_the_second.scenario.id}"
    before = client.get(url).get_data(as_text=True)
    assert "继续填写" in before and "data-apply-closed" not in before
    freeze(monkeypatch, on_the_second.deadline)
    html = client.get(url).get_data(as_text=True)
    panel = html.split('id="apply-panel"', 1)[1].split("</div></div>", 1)[0]
    local = clock.to_local(on_the_second.deadline).strftime("%Y-%m-%d %H:%M:%S")
    assert "data-apply-closed" in panel and "揭榜已截止" in panel and local in panel
    assert "data-draft-kept" in panel
    assert f"/scenarios/{on_the_second.scenario.id}/apply" not in panel and "我要揭榜" not in panel


# ---------------------------------------------------------------- re-confirmation after a substantive change

def test_substantive_change_flags_applications_and_firm_reconfirms(client, login, make_scenario, make_user):
    from marketplace.scenarios import services as scenario_services

    scenario = make_scenario()
    firm = make_user("enterprise")
    drafter = make_user("enterprise")
    application = submit(firm, scenario)
    draft = submit_draft(drafter, scenario)
    owner = make_user("owner", organisation=scenario.owner)

    reopened = scenario_services.update(db.session, owner, scenario, {"requirements": "新增：须支持信创环境。"})
    db.session.commit()
    assert reopened and scenario.revision == 2 and scenario.status == ScenarioStatus.SUBMITTED
    db.session.expire_all()
    application = db.session.get(Application, application.id)
    assert application.needs_reconfirmation
    assert not db.session.get(Application, draft.id).needs_reconfirmation
    kinds = {(n.user_id, n.kind) for n in db.session.execute(sa.select(Notification)).scalars()}
    assert (firm.id, "application.reconfirm") in kinds
    assert (drafter.id, "application.scenario_changed") in kinds
    assert db.session.execute(
        sa.select(AuditEvent).where(AuditEvent.action == "application.flag_reconfirm")).scalar_one()

    login(firm)
    # While the scenario is back in review the firm is told to wait; re-confirming is refused.
    page = client.get(f"/applications/{application.id}").get_data(as_text=True)
    assert "需要重新确认" in page and "重新发布后即可确认" in page
    response = client.post(f"/applications/{application.id}/reconfirm", data={"confirm": "y"}, follow_redirects=True)
    assert "不在征集期" in response.get_data(as_text=True)

    # Published again: the banner is on the scenario page and in the firm's list.
    scenario.status = ScenarioStatus.PUBLISHED
    db.session.commit()
    assert "data-reconfirm-banner" in client.get(f"/scenarios/{scenario.id}").get_data(as_text=True)
    assert "重新确认" in client.get("/my/applications").get_data(as_text=True)
    # The box must be ticked.
    response = client.post(f"/applications/{application.id}/reconfirm", data={}, follow_redirects=True)
    assert "请勾选确认" in response.get_data(as_text=True)
    response = client.post(f"/applications/{application.id}/reconfirm", data={"confirm": "y"}, follow_redirects=True)
    assert "已按场景最新内容重新确认" in response.get_data(as_text=True)
    db.session.expire_all()
    application = db.session.get(Application, application.id)
    assert application.confirmed_revision == 2 and not application.needs_reconfirmation
    assert "data-reconfirm-banner" not in client.get(f"/scenarios/{scenario.id}").get_data(as_text=True)
    # Nothing more to confirm.
    response = client.post(f"/applications/{application.id}/reconfirm", data={"confirm": "y"}, follow_redirects=True)
    assert "无需再次确认" in response.get_data(as_text=True)


def test_revising_after_a_change_also_confirms(make_scenario, make_user):
    from marketplace.applications import submission

    scenario = make_scenario()
    firm = make_user("enterprise")
    application = submit(firm, scenario)
    scenario.revision = 3
    db.session.commit()
    assert application.needs_reconfirmation
    submission.save(db.session, firm, scenario, FULL, submit=True)
    db.session.commit()
    assert application.confirmed_revision == 3 and not application.needs_reconfirmation


def test_minor_edit_does_not_flag(make_scenario, make_user):
    from marketplace.scenarios import services as scenario_services

    scenario = make_scenario()
    application = submit(make_user("enterprise"), scenario)
    owner = make_user("owner", organisation=scenario.owner)
    assert not scenario_services.update(db.session, owner, scenario, {"contact_phone": "023-60000000"})
    db.session.commit()
    assert not application.needs_reconfirmation
    assert db.session.execute(sa.select(sa.func.count(Notification.id))
                              .where(Notification.kind == "application.reconfirm")).scalar_one() == 0


# ---------------------------------------------------------------- workspace panels

def _render(template, panel, user):
    """Render a workspace partial as the dashboard would (other areas' panels stay out of the way)."""
    from flask import current_app, render_template
    from flask_login import login_user

    with current_app.test_request_context("/dashboard"):
        login_user(user)
        return render_template(template, panel=panel)


def test_enterprise_panel_lists_applications_and_what_needs_action(make_scenario, make_user):
    from marketplace.applications import services

    soon = make_scenario(title="即将截止的场景", deadline=clock.now() + timedelta(days=2))
    changed = make_scenario(title="内容已修改的场景")
    firm = make_user("enterprise")
    submit_draft(firm, soon)
    flagged = submit(firm, changed)
    changed.revision = 2
    db.session.commit()
    panel = services.enterprise_panel(db.session, firm)
    assert {(a.id, what) for a, what in panel["actions"]} >= {(flagged.id, "reconfirm")}
    assert "draft_due" in {what for _, what in panel["actions"]}
    html = _render("applications/_panel_enterprise.html", panel, firm)
    assert "即将截止的场景" in html and "待重新确认" in html and "草稿即将截止" in html


def test_owner_panel_shows_counts_only_and_what_needs_action(make_scenario, make_user, make_org):
    from marketplace.applications import services

    owner_org = make_org("government", name="重庆市某局")
    open_one = make_scenario(owner=owner_org, title="征集中的场景")
    closed_one = make_scenario(owner=owner_org, title="已截止的场景")
    firm_org = make_org("software_enterprise", name="保密软件有限公司")
    firm = make_user("enterprise", organisation=firm_org)
    submit(firm, open_one)
    submit(firm, closed_one)
    close(closed_one)
    owner = make_user("owner", organisation=owner_org)
    panel = services.owner_panel(db.session, owner)
    assert panel["counts"] == {open_one.id: 1, closed_one.id: 1}
    assert (closed_one, "evaluate") in panel["actions"]
    html = _render("applications/_panel_owner.html", panel, owner)
    assert "已截止，待评审" in html and "征集中的场景" in html
    assert "保密软件有限公司" not in html


def test_panels_are_registered_for_their_roles(app):
    templates = {p.template: p.roles for p in app.extensions["marketplace.panels"]}
    assert [r.value for r in templates["applications/_panel_enterprise.html"]] == ["enterprise"]
    assert [r.value for r in templates["applications/_panel_owner.html"]] == ["owner"]


# ---------------------------------------------------------------- the permission matrix

LIST_ROLES_OPEN = {"owner", "district", "city", "expert", "expert_undeclared"}


def _expect(route: str, role: str, opened: bool) -> int:
    """Expected status of each application route for each role, before (sealed) and after the deadline."""
    login_page = 302
    readers_after = {"firm", "owner", "district", "city", "expert"}
    if route == "apply_get":
        if role == "anonymous":
            return login_page
        if role in ("firm", "other_firm"):
            return 200  # after the deadline: the closed state instead of the form
        return 403
    if route == "mine":
        return login_page if role == "anonymous" else (200 if role in ("firm", "other_firm") else 403)
    if route in ("detail", "file"):
        if role == "anonymous":
            return login_page if route == "detail" else 404
        return 200 if role == "firm" or (opened and role in readers_after) else 404
    if route in ("withdraw", "reconfirm"):
        if role == "anonymous":
            return login_page
        if role not in ("firm", "other_firm"):
            return 403
        if role == "other_firm":
            return 404
        # Nothing to re-confirm, and no withdrawal after the deadline: refused, flashed, sent back (303).
        return 302 if route == "withdraw" and not opened else 303
    if route == "list":
        if role == "anonymous":
            return login_page
        return 200 if role in LIST_ROLES_OPEN else 403
    if route == "export":
        if role == "anonymous":
            return login_page
        return 200 if opened and role in LIST_ROLES_OPEN else 403
    if route == "api":
        if role == "anonymous":
            return 401
        return 200 if opened and role in ("owner", "district", "city") else 403
    raise AssertionError(route)


#: Every application route; the two that change state come last.
ROUTES = ["apply_get", "mine", "detail", "file", "list", "export", "api", "reconfirm", "withdraw"]


def _request(client, world, route):
    s, a = world.scenario.id, world.application.id
    return {
        "apply_get": lambda: client.get(f"/scenarios/{s}/apply"),
        "mine": lambda: client.get("/my/applications"),
        "detail": lambda: client.get(f"/applications/{a}"),
        "file": lambda: fetch(client, f"/files/{world.document.id}"),
        "withdraw": lambda: client.post(f"/applications/{a}/withdraw"),
        "reconfirm": lambda: client.post(f"/applications/{a}/reconfirm", data={"confirm": "y"}),
        "list": lambda: client.get(f"/scenarios/{s}/applications"),
        "export": lambda: client.get(f"/scenarios/{s}/applications.csv"),
        "api": lambda: client.get(f"/api/v1/scenarios/{s}/applications"),
    }[route]()


@pytest.mark.parametrize("opened", [False, True], ids=["sealed", "opened"])
@pytest.mark.parametrize("role", ROLES)
def test_permission_matrix(client, login, world, role, opened):
    """Every role × every application route, before (sealed) and after the deadline."""
    if opened:
        close(world.scenario)
    as_role(client, login, world, role)
    may_read = role == "firm" or (opened and role in {"owner", "district", "city", "expert"})
    wrong = []
    for route in ROUTES:
        response = _request(client, world, route)
        expected = _expect(route, role, opened)
        if response.status_code != expected:
            wrong.append((route, response.status_code, expected))
        if response.status_code == 302 and role == "anonymous":
            assert "/auth/login" in response.headers["Location"], route
        if route == "api":
            assert response.is_json and (response.status_code == 200 or "error" in response.get_json())
        # Nothing a role may not read ever appears in its response.
        body = response.get_data(as_text=True)
        if not may_read:
            assert "SEALTOKEN" not in body and "312.34" not in body, route
            if route != "mine":
                assert "甲软件股份有限公司" not in body, route
        assert "DRAFTTOKEN" not in body or role == "other_firm", route
    assert wrong == [], wrong


@pytest.mark.parametrize("role", ROLES)
def test_apply_post_matrix(client, login, world, role):
    """POST /scenarios/<id>/apply: firms only; the applying firm revises, another firm creates its own."""
    as_role(client, login, world, role)
    response = client.post(f"/scenarios/{world.scenario.id}/apply", data=form_data(price_wan="301"))
    if role == "anonymous":
        assert response.status_code == 302 and "/auth/login" in response.headers["Location"]
    elif role in ("firm", "other_firm"):
        assert response.status_code == 302
        db.session.expire_all()
        mine = db.session.execute(sa.select(Application).where(
            Application.organisation_id == world.users[role].organisation_id)).scalar_one()
        assert mine.status == ApplicationStatus.SUBMITTED and mine.price_wan == Decimal("301.00")
    else:
        assert response.status_code == 403
        assert db.session.execute(sa.select(sa.func.count(Application.id))).scalar_one() == 2


def test_services_refuse_other_firms(world):
    from marketplace.applications import submission

    other = world.users["other_firm"]
    with pytest.raises(NotFound):
        submission.withdraw(db.session, other, world.application)
    with pytest.raises(NotFound):
        submission.reconfirm(db.session, other, world.application)
    with pytest.raises(PermissionDenied):
        submission.withdraw(db.session, world.users["owner"], world.application)
    with pytest.raises(ValidationFailed):
        submission.clean({"price_wan": "x"}, world.scenario, complete=False)


def test_submit_takes_the_audit_chain_lock_only_at_commit(make_scenario, make_user):
    """Issue 13: the chain's append lock (and head read) is not held while the request still works;
    the submit's audit event is linked and inserted at the start of the commit, and the chain verifies."""
    from marketplace import audit
    from marketplace.applications import submission
    from marketplace.models import AuditEvent

    scenario = make_scenario()
    firm = make_user("enterprise")
    db.session.commit()
    statements: list[str] = []

    def note(conn, cursor, statement, *args):
        statements.append(statement)

    sa.event.listen(db.engine, "before_cursor_execute", note)
    try:
        submission.save(db.session, firm, scenario, FULL, submit=True)
        during_service = list(statements)
        db.session.commit()
    finally:
        sa.event.remove(db.engine, "before_cursor_execute", note)
    at_commit = statements[len(during_service):]
    assert not any("audit_events" in s or "pg_advisory" in s for s in during_service), during_service
    assert any("INSERT INTO audit_events" in s for s in at_commit)
    if db.engine.dialect.name == "postgresql":
        assert "pg_advisory_xact_lock" in at_commit[0]  # first statement of the commit: nothing before it holds
    event = db.session.execute(sa.select(AuditEvent).where(AuditEvent.action == "application.submit")).scalar_one()
    assert event.after["status"] == "submitted" and audit.verify_chain(db.session).ok
