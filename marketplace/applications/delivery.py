"""Delivery and acceptance (合同、里程碑、进度、验收) of awarded scenarios.

The owner organisation records a contract for each selected application (the first
contract moves the scenario ``awarded → in_delivery``), milestones and their outcome,
progress notes, and the acceptance (验收) with its report; a passed acceptance moves the
scenario ``in_delivery → accepted``, a failed one keeps it in delivery for rework.
The winning firm and reviewing staff read everything; only the owner writes. The contract
phase opens only when the award is final (公示 ended, no undecided 异议:
:mod:`marketplace.applications.publicity`).
Services flush; the view commits.
"""

from __future__ import annotations

import calendar
from datetime import date
from decimal import Decimal, InvalidOperation

import sqlalchemy as sa
from flask_babel import gettext as _
from sqlalchemy.orm import Session
from werkzeug.datastructures import FileStorage

from marketplace import attachments, audit, clock
from marketplace.applications import publicity
from marketplace.errors import InvalidTransition, NotFound, PermissionDenied, ValidationFailed
from marketplace.models import (
    Acceptance,
    AcceptanceResult,
    Application,
    ApplicationStatus,
    Attachment,
    AttachmentPurpose,
    Contract,
    Milestone,
    MilestoneStatus,
    ProgressNote,
    Role,
    Scenario,
    ScenarioStatus,
    User,
)
from marketplace.notifications.services import notify, organisation_users
from marketplace.scenarios import policy as scenario_policy
from marketplace.scenarios import services as scenario_services

#: Scenario statuses that have a delivery to show.
DELIVERY_STATUSES = (ScenarioStatus.AWARDED, ScenarioStatus.IN_DELIVERY, ScenarioStatus.ACCEPTED)
#: Acceptance reports: PDF or Word.
REPORT_TYPES = {"pdf", "docx"}
MAX_AMOUNT = Decimal("10000000")


def delivery_path(scenario_id: int) -> str:
    return f"/scenarios/{scenario_id}/delivery"


# ------------------------------------------------------------------ who

def winners(session: Session, scenario: Scenario) -> list[Application]:
    """The scenario's selected applications (揭榜单位)."""
    return list(session.execute(
        sa.select(Application).where(Application.scenario_id == scenario.id,
                                     Application.status == ApplicationStatus.SELECTED).order_by(Application.id)
    ).scalars())


def is_winning_firm(session: Session, user: User | None, scenario: Scenario) -> bool:
    """An enterprise user of a firm selected for this scenario."""
    if user is None or not user.is_authenticated or user.role != Role.ENTERPRISE or not user.organisation_id:
        return False
    return session.execute(sa.select(Application.id).where(
        Application.scenario_id == scenario.id, Application.organisation_id == user.organisation_id,
        Application.status == ApplicationStatus.SELECTED)).first() is not None


def can_manage(user: User | None, scenario: Scenario) -> bool:
    return scenario_policy.is_owner_member(user, scenario)


def can_view(session: Session, user: User | None, scenario: Scenario) -> bool:
    """The owner, reviewing staff and the winning firm (read-only for the last two)."""
    return (scenario_policy.is_owner_member(user, scenario) or scenario_policy.is_reviewer(user, scenario)
            or is_winning_firm(session, user, scenario))


def require_view(session: Session, user: User | None, scenario: Scenario) -> None:
    if not can_view(session, user, scenario):
        raise PermissionDenied(_("只有业主单位、审核部门和揭榜单位可以查看交付情况。"))
    if scenario.status not in DELIVERY_STATUSES:
        raise InvalidTransition(_("场景尚未确定揭榜单位，暂无交付信息。"))


def _require_manage(actor: User, scenario: Scenario, *statuses: ScenarioStatus) -> None:
    if not can_manage(actor, scenario):
        raise PermissionDenied(_("只有业主单位可以登记合同、里程碑、进度和验收。"))
    if scenario.status not in statuses:
        raise InvalidTransition(_("场景当前状态为“%(status)s”，不能执行该操作。",
                                  status=scenario.display_status().label))


def require_manage(actor: User, scenario: Scenario, *statuses: ScenarioStatus) -> None:
    """The owner, with the scenario in one of *statuses* (for the confirmation step's precheck)."""
    _require_manage(actor, scenario, *statuses)


def _tell_firm(session: Session, application: Application, kind: str, title: str, body: str) -> None:
    notify(session, organisation_users(session, application.organisation_id, Role.ENTERPRISE), kind, title[:200],
           body, delivery_path(application.scenario_id))


def _tell_winners(session: Session, scenario: Scenario, kind: str, title: str, body: str) -> None:
    for application in winners(session, scenario):
        _tell_firm(session, application, kind, title, body)


# ------------------------------------------------------------------ reading

def contracts_of(session: Session, scenario: Scenario) -> list[Contract]:
    return list(session.execute(
        sa.select(Contract).where(Contract.scenario_id == scenario.id).order_by(Contract.signed_on, Contract.id)
    ).scalars())


def acceptance_of(session: Session, scenario: Scenario) -> Acceptance | None:
    """The scenario's latest acceptance (its earlier ones: ``acceptance.attempts``)."""
    return session.execute(
        sa.select(Acceptance).where(Acceptance.scenario_id == scenario.id)
        .order_by(Acceptance.created_at.desc(), Acceptance.id.desc()).limit(1)).scalar_one_or_none()


def _contract(session: Session, scenario: Scenario, contract_id: int) -> Contract:
    contract = session.get(Contract, contract_id)
    if contract is None or contract.scenario_id != scenario.id:
        raise NotFound(_("找不到该合同。"))
    return contract


# ------------------------------------------------------------------ input helpers

def _amount(raw: object, field: str) -> Decimal:
    try:
        value = Decimal(str(raw)) if raw not in (None, "") else None
    except (InvalidOperation, ValueError):
        value = None
    if value is None or not value.is_finite():
        message = _("请填写合同金额（万元）。")
    elif value <= 0:
        message = _("合同金额必须大于 0。")
    elif value > MAX_AMOUNT:
        message = _("合同金额过大，请核对单位（万元）。")
    elif value != value.quantize(Decimal("0.01")):
        message = _("合同金额最多保留两位小数。")
    else:
        return value
    raise ValidationFailed(message, {field: [message]})


def _day(value: object, field: str, label: str) -> date:
    if not isinstance(value, date):
        message = _("请填写%(label)s。", label=label)
        raise ValidationFailed(message, {field: [message]})
    return value


def add_months(day: date, months: int) -> date:
    """The same day ``months`` later (the month's last day when it is shorter)."""
    month = day.month - 1 + months
    year, month = day.year + month // 12, month % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def planned_milestones(application: Application) -> list[tuple[str, int]]:
    """The application's plan as (title, month offset); accepts dicts or (title, month) pairs."""
    result = []
    for item in application.milestones or []:
        if isinstance(item, dict):
            title, month = item.get("title"), item.get("month")
        elif isinstance(item, list | tuple) and len(item) == 2:
            title, month = item
        else:
            continue
        try:
            month = int(month)
        except (TypeError, ValueError):
            continue
        if title and month >= 0:
            result.append((str(title)[:200], month))
    return result


# ------------------------------------------------------------------ contract

def record_contract(session: Session, actor: User, scenario: Scenario, application_id: object, amount_wan: object,
                    signed_on: object, plan_milestones: bool = False, ip: str | None = None) -> Contract:
    """Record (or correct) the contract with a selected application; the first one starts delivery."""
    _require_manage(actor, scenario, ScenarioStatus.AWARDED, ScenarioStatus.IN_DELIVERY)
    publicity.require_final(session, scenario)  # the contract phase opens only once the award is final
    try:
        application = session.get(Application, int(application_id))  # type: ignore[arg-type]
    except (TypeError, ValueError):
        application = None
    if application is None or application.scenario_id != scenario.id or application.status != ApplicationStatus.SELECTED:
        message = _("请选择本场景的揭榜单位。")
        raise ValidationFailed(message, {"application_id": [message]})
    amount = _amount(amount_wan, "amount_wan")
    day = _day(signed_on, "signed_on", _("合同签订日期"))
    decided = clock.to_local(application.decided_at).date() if application.decided_at else None
    if day > clock.local_today():
        message = _("合同签订日期不能晚于今天。")
        raise ValidationFailed(message, {"signed_on": [message]})
    if decided and day < decided:
        message = _("合同签订日期不能早于揭榜结果确定日期（%(d)s）。", d=decided.isoformat())
        raise ValidationFailed(message, {"signed_on": [message]})
    # Under the scenario's row lock, read afresh: a contract recorded twice at the same moment is one contract and
    # an audited correction, not a unique-constraint 500 (PostgreSQL row lock; SQLite writes are serial anyway).
    session.flush()
    session.refresh(scenario, with_for_update=True)
    contract = session.execute(sa.select(Contract).where(Contract.application_id == application.id)
                               .execution_options(populate_existing=True)).scalar_one_or_none()
    before = None
    if contract is None:
        contract = Contract(scenario_id=scenario.id, application_id=application.id, amount_wan=amount, signed_on=day)
        session.add(contract)
        session.flush()
        if plan_milestones:
            for title, month in planned_milestones(application):
                session.add(Milestone(contract_id=contract.id, title=title, due_on=add_months(day, month)))
    else:
        before = {"amount_wan": str(contract.amount_wan), "signed_on": contract.signed_on.isoformat()}
        contract.amount_wan, contract.signed_on = amount, day
    session.flush()
    audit.record(session, actor=actor, action="contract.record" if before is None else "contract.update",
                 object_type="contract", object_id=contract.id, before=before,
                 after={"scenario": scenario.id, "application": application.id, "amount_wan": str(amount),
                        "signed_on": day.isoformat()}, ip=ip)
    if scenario.status == ScenarioStatus.AWARDED:
        scenario_services.transition(session, actor, scenario, "start_delivery", ip=ip)
    if before is None:
        _tell_firm(session, application, "delivery.contract", _("合同已登记：%(title)s", title=scenario.title),
                   _("业主单位已登记与贵单位签订的“%(title)s”合同：金额 %(amount)s 万元，签订日期 %(day)s。",
                     title=scenario.title, amount=f"{amount:,.2f}", day=day.isoformat()))
    return contract


# ------------------------------------------------------------------ milestones and progress

def add_milestone(session: Session, actor: User, scenario: Scenario, contract_id: int, title: str | None,
                  due_on: object, ip: str | None = None) -> Milestone:
    """A new milestone of a contract (title, due date)."""
    _require_manage(actor, scenario, ScenarioStatus.IN_DELIVERY)
    contract = _contract(session, scenario, contract_id)
    title = (title or "").strip()
    if not title:
        message = _("请填写里程碑名称。")
        raise ValidationFailed(message, {"title": [message]})
    if len(title) > 200:
        message = _("里程碑名称不能超过 200 个字。")
        raise ValidationFailed(message, {"title": [message]})
    day = _day(due_on, "due_on", _("计划完成日期"))
    if day < contract.signed_on:
        message = _("计划完成日期不能早于合同签订日期（%(d)s）。", d=contract.signed_on.isoformat())
        raise ValidationFailed(message, {"due_on": [message]})
    # Under the contract's row lock, read afresh: the same milestone posted twice (a double click) is one milestone.
    session.flush()
    session.refresh(contract, with_for_update=True)
    if session.execute(sa.select(Milestone.id).where(Milestone.contract_id == contract.id, Milestone.title == title,
                                                     Milestone.due_on == day)).first():
        message = _("该合同已有同名、同计划完成日期的里程碑，请勿重复提交。")
        raise ValidationFailed(message, {"title": [message]})
    milestone = Milestone(contract_id=contract.id, title=title, due_on=day)
    session.add(milestone)
    session.flush()
    audit.record(session, actor=actor, action="milestone.add", object_type="milestone", object_id=milestone.id,
                 after={"contract": contract.id, "title": title, "due_on": day.isoformat()}, ip=ip)
    return milestone


def record_milestone(session: Session, actor: User, scenario: Scenario, milestone_id: int, status: object,
                     note: str | None, ip: str | None = None) -> Milestone:
    """Mark a milestone met or not met (a note is required when it was not met)."""
    _require_manage(actor, scenario, ScenarioStatus.IN_DELIVERY)
    milestone = session.get(Milestone, milestone_id)
    if milestone is None or milestone.contract.scenario_id != scenario.id:
        raise NotFound(_("找不到该里程碑。"))
    try:
        outcome = MilestoneStatus(status)
    except ValueError:
        outcome = None
    if outcome not in (MilestoneStatus.MET, MilestoneStatus.NOT_MET):
        message = _("请选择“已达成”或“未达成”。")
        raise ValidationFailed(message, {"status": [message]})
    note = (note or "").strip() or None
    if outcome == MilestoneStatus.NOT_MET and not note:
        message = _("里程碑未达成时请说明原因和整改安排。")
        raise ValidationFailed(message, {"note": [message]})
    # Read the milestone afresh under its row's lock: a double-clicked form, or two owner users recording at
    # once, record one outcome and refuse the repeat (the firm is told once), and a later change of a 未达成
    # outcome is an edit audited with the outcome it replaces (PostgreSQL row lock; SQLite writes are serial).
    session.flush()
    session.refresh(milestone, with_for_update=True)
    if milestone.status == MilestoneStatus.MET:
        raise InvalidTransition(_("该里程碑已记录为已达成，不能再修改。"))
    if milestone.status == outcome and milestone.note == note:
        raise InvalidTransition(_("该里程碑已按相同内容记录，请勿重复提交。"))
    before = {"status": milestone.status.value, "note": milestone.note}
    milestone.status, milestone.note, milestone.recorded_at = outcome, note, clock.now()
    session.flush()
    audit.record(session, actor=actor, action="milestone.record", object_type="milestone", object_id=milestone.id,
                 before=before, after={"status": outcome.value, "note": note}, ip=ip)
    _tell_firm(session, milestone.contract.application, "delivery.milestone",
               _("里程碑%(outcome)s：%(title)s", outcome=outcome.label, title=milestone.title),
               _("“%(scenario)s”的里程碑“%(title)s”已被业主单位记录为%(outcome)s。%(note)s",
                 scenario=scenario.title, title=milestone.title, outcome=outcome.label, note=note or ""))
    return milestone


def add_progress(session: Session, actor: User, scenario: Scenario, contract_id: int, text: str | None,
                 percent: object, ip: str | None = None) -> ProgressNote:
    """A dated progress note, with the share of work done (0–100, optional)."""
    _require_manage(actor, scenario, ScenarioStatus.IN_DELIVERY)
    contract = _contract(session, scenario, contract_id)
    text = (text or "").strip()
    errors: dict[str, list[str]] = {}
    if len(text) < 4:
        errors["text"] = [_("请填写进度说明（至少 4 个字）。")]
    elif len(text) > 4000:
        errors["text"] = [_("进度说明不能超过 4000 个字。")]
    value = None
    if percent not in (None, ""):
        try:
            value = int(percent)  # type: ignore[arg-type]
        except (TypeError, ValueError):
            value = -1
        if not 0 <= value <= 100:
            errors["percent"] = [_("完成比例应在 0–100 之间。")]
    if errors:
        raise ValidationFailed("；".join(m for ms in errors.values() for m in ms), errors)
    # Serialise the notes of one contract under its row's lock and refuse a repeat of the latest note (a
    # double-clicked form made two identical notes) (PostgreSQL row lock; SQLite writes are serial anyway).
    session.flush()
    session.refresh(contract, with_for_update=True)
    latest = session.execute(sa.select(ProgressNote).where(ProgressNote.contract_id == contract.id)
                             .order_by(ProgressNote.created_at.desc(), ProgressNote.id.desc()).limit(1)).scalar_one_or_none()
    if latest is not None and latest.text == text and latest.percent == value:
        raise InvalidTransition(_("该进度说明已记录，请勿重复提交。"))
    progress = ProgressNote(contract_id=contract.id, text=text, percent=value, created_at=clock.now())
    session.add(progress)
    session.flush()
    audit.record(session, actor=actor, action="progress.add", object_type="progress_note", object_id=progress.id,
                 after={"contract": contract.id, "percent": value}, ip=ip)
    return progress


# ------------------------------------------------------------------ acceptance

def record_acceptance(session: Session, actor: User, scenario: Scenario, accepted_on: object, result: object,
                      report: FileStorage | None, note: str | None, ip: str | None = None) -> Acceptance:
    """验收. Passed: the scenario is accepted. Failed: it stays in delivery and may be accepted again later.

    Every acceptance is a new row: a failed one followed by a passed one keeps both, with their reports.
    """
    outcome, note, has_file = check_acceptance(session, actor, scenario, accepted_on, result, report, note)
    return _record_acceptance(session, actor, scenario, accepted_on, outcome, report if has_file else None, note, ip)


def check_acceptance(session: Session, actor: User, scenario: Scenario, accepted_on: object, result: object,
                     report: FileStorage | None, note: str | None) -> tuple[AcceptanceResult, str, bool]:
    """Refuse an acceptance that cannot be recorded (also the confirmation step's precheck)."""
    _require_manage(actor, scenario, ScenarioStatus.IN_DELIVERY)
    errors: dict[str, list[str]] = {}
    try:
        outcome = AcceptanceResult(result)
    except ValueError:
        outcome = None
        errors["result"] = [_("请选择验收结论。")]
    if not isinstance(accepted_on, date):
        errors["accepted_on"] = [_("请填写验收日期。")]
    else:
        contracts = contracts_of(session, scenario)
        latest = max((c.signed_on for c in contracts), default=None)
        if accepted_on > clock.local_today():
            errors["accepted_on"] = [_("验收日期不能晚于今天。")]
        elif latest and accepted_on < latest:
            errors["accepted_on"] = [_("验收日期不能早于合同签订日期（%(d)s）。", d=latest.isoformat())]
    note = (note or "").strip()
    if outcome == AcceptanceResult.FAILED and len(note) < 4:
        errors["note"] = [_("验收不通过时请写明问题和整改要求。")]
    has_file = isinstance(report, FileStorage) and bool(report.filename)
    if outcome == AcceptanceResult.PASSED and not has_file:
        errors["report"] = [_("验收通过须上传验收报告（PDF 或 DOCX）。")]
    if outcome == AcceptanceResult.PASSED:
        pending = session.execute(
            sa.select(Milestone.title).join(Milestone.contract)
            .where(Contract.scenario_id == scenario.id, Milestone.status == MilestoneStatus.PENDING)).scalars().all()
        if pending:
            errors.setdefault("result", []).append(
                _("尚有里程碑未记录结果（%(items)s），请先记录后再验收。", items="、".join(pending[:5])))
    if errors or outcome is None:
        raise ValidationFailed("；".join(m for ms in errors.values() for m in ms), errors)
    return outcome, note, has_file


def _record_acceptance(session: Session, actor: User, scenario: Scenario, accepted_on: object,
                       outcome: AcceptanceResult, report: FileStorage | None, note: str,
                       ip: str | None) -> Acceptance:
    # Under the scenario's row lock, read afresh: a double-clicked confirmation (its token may be posted again)
    # records one acceptance, not two with two reports and two notices to the firm (PostgreSQL row lock).
    session.flush()
    session.refresh(scenario, with_for_update=True)
    latest = session.execute(sa.select(Acceptance).where(Acceptance.scenario_id == scenario.id)
                             .order_by(Acceptance.created_at.desc(), Acceptance.id.desc()).limit(1)
                             .execution_options(populate_existing=True)).scalar_one_or_none()
    if latest is not None and (latest.accepted_on, latest.result, latest.note) == (accepted_on, outcome, note):
        raise InvalidTransition(_("该验收结论已登记，请勿重复提交。"))
    has_file = report is not None
    stored: Attachment | None = None
    if has_file:
        stored = attachments.store(session, report, AttachmentPurpose.ACCEPTANCE_REPORT, actor, field="report",
                                   allowed=REPORT_TYPES)
    acceptance = Acceptance(scenario_id=scenario.id, accepted_on=accepted_on, result=outcome, note=note,
                            report=stored, recorded_by=actor, created_at=clock.now())
    session.add(acceptance)
    session.flush()
    audit.record(session, actor=actor, action="acceptance.record", object_type="acceptance", object_id=acceptance.id,
                 after={"scenario": scenario.id, "accepted_on": accepted_on.isoformat(),
                        "result": outcome.value, "report": acceptance.report_id,
                        "report_sha256": stored.sha256 if stored else None, "note": note}, ip=ip)
    if outcome == AcceptanceResult.PASSED:
        scenario_services.transition(session, actor, scenario, "accept", ip=ip)
        _tell_winners(session, scenario, "delivery.accepted", _("验收通过：%(title)s", title=scenario.title),
                      _("“%(title)s”已于 %(day)s 通过业主单位验收。", title=scenario.title,
                        day=accepted_on.isoformat()))
    else:
        _tell_winners(session, scenario, "delivery.acceptance_failed", _("验收未通过：%(title)s", title=scenario.title),
                      _("“%(title)s”%(day)s 验收未通过，请按整改要求完成后申请再次验收。%(note)s",
                        title=scenario.title, day=accepted_on.isoformat(), note=note))
    return acceptance


# ------------------------------------------------------------------ files and workspace

def report_rule(user: User | None, attachment: Attachment, session: Session) -> bool:
    """Acceptance reports: the owner, reviewing staff and the winning firm."""
    scenarios = session.execute(
        sa.select(Scenario).join(Acceptance, Acceptance.scenario_id == Scenario.id)
        .where(Acceptance.report_id == attachment.id)).scalars()
    return any(can_view(session, user, s) for s in scenarios)


def firm_projects(session: Session, user: User) -> list[tuple[Application, Contract | None]]:
    """The signed-in firm's selected applications with their contract (for the workspace)."""
    if user.role != Role.ENTERPRISE or not user.organisation_id:
        return []
    return [tuple(row) for row in session.execute(
        sa.select(Application, Contract).outerjoin(Contract, Contract.application_id == Application.id)
        .where(Application.organisation_id == user.organisation_id,
               Application.status == ApplicationStatus.SELECTED)
        .order_by(Application.decided_at.desc())).all()]
