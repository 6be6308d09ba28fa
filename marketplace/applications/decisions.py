"""Decisions on an evaluation (揭榜结果): shortlist, 揭榜挂帅 award, 赛马 race and final, 流榜; the public result.

赛马 keeps the scenario ``published`` (shown as 已截止) while the race runs: racing teams
are still candidates, not winners. The scenario is awarded only when the final winner(s)
are chosen, so "已揭榜" (public result, appraisal counts, contracts) always means the
final decision. Every scenario status change goes through
:func:`marketplace.scenarios.services.transition`; every application change is audited.
Who may decide, and when, is checked by :mod:`marketplace.applications.evaluation`; every decision
needs a complete evaluation (:mod:`marketplace.applications.completeness`).
Services flush; the request's unit of work commits.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal

import sqlalchemy as sa
from flask_babel import gettext as _
from sqlalchemy.orm import Session

from marketplace import audit, clock
from marketplace.applications import completeness, publicity
from marketplace.applications import policy as app_policy
from marketplace.applications.delivery import delivery_path
from marketplace.applications.evaluation import (
    CANDIDATE,
    CENT,
    HUNDRED,
    IN_RUNNING,
    RESULT_STATUSES,
    evaluated_application,
    parse_decimal,
    phase,
    require_manage,
    require_undecided,
)
from marketplace.errors import InvalidTransition, ValidationFailed, joined
from marketplace.models import (
    Application,
    ApplicationStatus,
    Contract,
    Role,
    Scenario,
    ScenarioMode,
    ScenarioStatus,
    StageAssessment,
    User,
)
from marketplace.notifications.services import notify, organisation_users
from marketplace.scenarios import services as scenario_services


def scenario_path(scenario_id: int) -> str:
    """The scenario page (notifications store site-relative paths)."""
    return f"/scenarios/{scenario_id}"


def _lock(session: Session, scenario: Scenario) -> None:
    """Serialise decisions on one scenario (row lock on PostgreSQL; SQLite writes are serial anyway)."""
    session.flush()
    session.refresh(scenario, with_for_update=True)


def _firm_users(session: Session, application: Application) -> list[User]:
    return organisation_users(session, application.organisation_id, Role.ENTERPRISE)


def _set_status(session: Session, actor: User, application: Application, status: ApplicationStatus,
                action: str, note: str | None = None, ip: str | None = None) -> None:
    """Move one application to *status* (a decision records its time and note) and audit it."""
    before = {"status": application.status.value}
    application.status = status
    if status in (ApplicationStatus.SELECTED, ApplicationStatus.NOT_SELECTED):
        application.decided_at = clock.now()
        application.decision_note = note
    session.flush()
    audit.record(session, actor=actor, action=f"application.{action}", object_type="application",
                 object_id=application.id, before=before,
                 after={"status": status.value, "scenario": application.scenario_id, "note": note}, ip=ip)


def _candidates(session: Session, scenario: Scenario, statuses: Iterable[ApplicationStatus]) -> list[Application]:
    return list(session.execute(
        sa.select(Application).where(Application.scenario_id == scenario.id, Application.status.in_(tuple(statuses)))
        .order_by(Application.id)
    ).scalars())


def _pick(session: Session, scenario: Scenario, ids: Iterable[object], allowed: Sequence[ApplicationStatus],
          field_name: str) -> list[Application]:
    """Applications of this scenario by id, each in one of ``allowed`` statuses and re-confirmed."""
    try:
        wanted = sorted({int(i) for i in ids if str(i).strip()})
    except (TypeError, ValueError):
        wanted = []
    by_id = {a.id: a for a in _candidates(session, scenario, allowed)}
    chosen = [by_id[i] for i in wanted if i in by_id]
    if len(chosen) != len(wanted) or not chosen:
        message = _("请从候选申请中选择。")
        raise ValidationFailed(message, {field_name: [message]})
    stale = [a for a in chosen if a.confirmed_revision < scenario.revision]
    if stale:
        message = _("“%(firm)s”的申请未按变更后的场景重新确认，不能入选。", firm=stale[0].organisation.name)
        raise ValidationFailed(message, {field_name: [message]})
    return chosen


def shortlist(session: Session, actor: User, scenario: Scenario, application_id: int, on: bool = True,
              ip: str | None = None) -> Application:
    """Put an application on (or take it off) the shortlist (入围)."""
    require_manage(actor, scenario)
    _lock(session, scenario)  # not over an award being decided at this moment
    require_undecided(session, scenario, allow_race=False)
    application = evaluated_application(session, actor, scenario, application_id)
    if on:
        if application.status != ApplicationStatus.SUBMITTED:
            raise InvalidTransition(_("只有已提交的申请可以入围。"))
        _set_status(session, actor, application, ApplicationStatus.SHORTLISTED, "shortlist", ip=ip)
        notify(session, _firm_users(session, application), "application.shortlisted",
               _("揭榜申请入围：%(title)s", title=scenario.title)[:200],
               _("贵单位对“%(title)s”的揭榜申请已入围，请保持联系方式畅通。", title=scenario.title),
               scenario_path(scenario.id))
    else:
        if application.status != ApplicationStatus.SHORTLISTED:
            raise InvalidTransition(_("该申请不在入围名单中。"))
        _set_status(session, actor, application, ApplicationStatus.SUBMITTED, "unshortlist", ip=ip)
    return application


def _tell_not_selected(session: Session, scenario: Scenario, applications: Iterable[Application],
                       reason: str | None = None) -> None:
    for application in applications:
        body = _("感谢贵单位参与“%(title)s”揭榜。经评审，贵单位的申请未入选。", title=scenario.title)
        if reason:
            body += _("说明：%(reason)s", reason=reason)
        notify(session, _firm_users(session, application), "application.not_selected",
               _("揭榜结果通知：%(title)s", title=scenario.title)[:200], body, scenario_path(scenario.id))


def _tell_selected(session: Session, scenario: Scenario, applications: Iterable[Application]) -> None:
    for application in applications:
        notify(session, _firm_users(session, application), "application.selected",
               _("拟揭榜单位公示：%(title)s", title=scenario.title)[:200],
               _("贵单位为“%(title)s”的拟揭榜单位，结果进入公示。公示期结束且异议全部处理后结果生效，"
                 "业主单位随后与贵单位签订合同，合同、里程碑和验收情况可在交付页面查看。",
                 title=scenario.title), delivery_path(scenario.id))


def _open_publicity(session: Session, actor: User, scenario: Scenario, prior: dict[int, ApplicationStatus],
                    ip: str | None) -> None:
    """Every award opens a 公示 (see :mod:`marketplace.applications.publicity`)."""
    notice = publicity.open_notice(session, actor, scenario, prior, ip)
    publicity.notify_applicants_of_notice(session, notice, [
        a for a in _candidates(session, scenario, (ApplicationStatus.NOT_SELECTED,)) if a.id in prior])


def award(session: Session, actor: User, scenario: Scenario, application_id: object, note: str | None = None,
          ip: str | None = None) -> Application:
    """揭榜挂帅: exactly one winner; every other candidate is not selected; the scenario is awarded."""
    require_manage(actor, scenario)
    _lock(session, scenario)
    require_undecided(session, scenario)
    if scenario.mode != ScenarioMode.OPEN_CALL:
        raise InvalidTransition(_("赛马场景请先选择参赛团队，赛马结束后再确定最终揭榜单位。"))
    ids = application_id if isinstance(application_id, list | tuple | set) else [application_id]
    if len([i for i in ids if str(i).strip()]) != 1:
        message = _("揭榜挂帅只能确定一家揭榜单位。")
        raise ValidationFailed(message, {"application_id": [message]})
    winner = _pick(session, scenario, ids, CANDIDATE, "application_id")[0]
    completeness.require_complete(session, scenario, [winner])
    note = (note or "").strip() or None
    others = [a for a in _candidates(session, scenario, CANDIDATE) if a.id != winner.id]
    prior = {a.id: a.status for a in (winner, *others)}
    _set_status(session, actor, winner, ApplicationStatus.SELECTED, "select", note, ip)
    for other in others:
        _set_status(session, actor, other, ApplicationStatus.NOT_SELECTED, "not_select", ip=ip)
    scenario_services.transition(session, actor, scenario, "award", reason=note, ip=ip)
    _tell_selected(session, scenario, [winner])
    _open_publicity(session, actor, scenario, prior, ip)
    return winner


def start_race(session: Session, actor: User, scenario: Scenario, application_ids: Iterable[object],
               ip: str | None = None) -> list[Application]:
    """赛马: several teams (at most ``race_teams``) enter the race; the other candidates are not selected."""
    require_manage(actor, scenario)
    _lock(session, scenario)
    require_undecided(session, scenario, allow_race=False)
    if scenario.mode != ScenarioMode.HORSE_RACE:
        raise InvalidTransition(_("只有赛马模式的场景可以进入赛马阶段。"))
    candidates = _candidates(session, scenario, CANDIDATE)
    chosen = _pick(session, scenario, application_ids, CANDIDATE, "application_ids")
    limit = scenario.race_teams or 2
    if len(chosen) > limit:
        message = _("本场景最多 %(n)d 支团队参加赛马。", n=limit)
        raise ValidationFailed(message, {"application_ids": [message]})
    if len(chosen) < min(2, len(candidates)):
        message = _("赛马至少需要选择 2 支团队。")
        raise ValidationFailed(message, {"application_ids": [message]})
    completeness.require_complete(session, scenario, chosen)
    chosen_ids = {a.id for a in chosen}
    others = [a for a in candidates if a.id not in chosen_ids]
    for application in chosen:
        _set_status(session, actor, application, ApplicationStatus.RACING, "race", ip=ip)
        notify(session, _firm_users(session, application), "application.racing",
               _("入选赛马：%(title)s", title=scenario.title)[:200],
               _("贵单位的申请入选“%(title)s”赛马阶段（共 %(n)d 支团队）。业主单位将分阶段评估，择优确定最终揭榜单位。",
                 title=scenario.title, n=len(chosen)), scenario_path(scenario.id))
    for other in others:
        _set_status(session, actor, other, ApplicationStatus.NOT_SELECTED, "not_select", ip=ip)
    _tell_not_selected(session, scenario, others)
    return chosen


def record_stage(session: Session, actor: User, scenario: Scenario, application_id: int, stage: str | None,
                 score: object, result: str | None, ip: str | None = None) -> StageAssessment:
    """A 赛马 stage result for one racing team: stage name, optional score 0–100, written result."""
    require_manage(actor, scenario)
    _lock(session, scenario)
    require_undecided(session, scenario)
    application = evaluated_application(session, actor, scenario, application_id)
    if application.status != ApplicationStatus.RACING:
        raise InvalidTransition(_("只能为赛马阶段的团队记录阶段评估。"))
    errors: dict[str, list[str]] = {}
    stage = (stage or "").strip()
    result = (result or "").strip()
    value = parse_decimal(score)
    if not stage:
        errors["stage"] = [_("请填写阶段名称，例如“第一阶段：原型验证”。")]
    elif len(stage) > 100:
        errors["stage"] = [_("阶段名称不能超过 100 个字。")]
    if score not in (None, "") and (value is None or not value.is_finite() or not 0 <= value <= HUNDRED
                                    or value != value.quantize(CENT)):
        errors["score"] = [_("阶段得分应在 0–100 之间（最多两位小数）。")]
    if not result:
        errors["result"] = [_("请填写阶段评估结论。")]
    if errors:
        raise ValidationFailed(joined(errors), errors)
    assessment = StageAssessment(application_id=application.id, stage=stage, score=value, result=result,
                                 recorded_at=clock.now(), recorded_by_id=actor.id)
    session.add(assessment)
    session.flush()
    audit.record(session, actor=actor, action="application.stage", object_type="application",
                 object_id=application.id, after={"scenario": scenario.id, "stage": stage,
                                                  "score": str(value) if value is not None else None,
                                                  "result": result}, ip=ip)
    notify(session, _firm_users(session, application), "application.stage_assessed",
           _("赛马阶段评估：%(title)s", title=scenario.title)[:200],
           _("业主单位已记录贵单位在“%(stage)s”的评估结果：%(result)s", stage=stage, result=result),
           scenario_path(scenario.id))
    return assessment


def select_final(session: Session, actor: User, scenario: Scenario, application_ids: Iterable[object],
                 note: str | None = None, ip: str | None = None) -> list[Application]:
    """赛马: choose the final winner(s) among the racing teams; the scenario is awarded."""
    require_manage(actor, scenario)
    _lock(session, scenario)
    require_undecided(session, scenario)
    if scenario.mode != ScenarioMode.HORSE_RACE or phase(session, scenario) != "racing":
        raise InvalidTransition(_("请先选择参赛团队并完成赛马阶段评估。"))
    racing = _candidates(session, scenario, (ApplicationStatus.RACING,))
    missing = [a for a in racing if not a.stage_assessments]
    if missing:
        message = _("请先为每支赛马团队记录阶段评估（尚缺：%(firms)s）。",
                    firms="、".join(a.organisation.name for a in missing))
        raise ValidationFailed(message, {"application_ids": [message]})
    winners = _pick(session, scenario, application_ids, (ApplicationStatus.RACING,), "application_ids")
    completeness.require_complete(session, scenario, winners)
    note = (note or "").strip() or None
    winner_ids = {a.id for a in winners}
    others = [a for a in racing if a.id not in winner_ids]
    prior = {a.id: a.status for a in racing}
    for application in winners:
        _set_status(session, actor, application, ApplicationStatus.SELECTED, "select", note, ip)
    for other in others:
        _set_status(session, actor, other, ApplicationStatus.NOT_SELECTED, "not_select", ip=ip)
    scenario_services.transition(session, actor, scenario, "award", reason=note, ip=ip)
    _tell_selected(session, scenario, winners)
    _open_publicity(session, actor, scenario, prior, ip)
    return winners


def checked_unsuccessful_reason(reason: str | None) -> str:
    """The 流榜 reason, stripped; refused when shorter than 4 or longer than 1000 characters."""
    reason = (reason or "").strip()
    if len(reason) < 4:
        message = _("请写明流榜原因（将在场景页面公开）。")
        raise ValidationFailed(message, {"reason": [message]})
    if len(reason) > 1000:
        message = _("流榜原因不能超过 1000 个字。")
        raise ValidationFailed(message, {"reason": [message]})
    return reason


def declare_unsuccessful(session: Session, actor: User, scenario: Scenario, reason: str | None,
                         ip: str | None = None) -> list[Application]:
    """流榜: no acceptable application. Every candidate (racing teams included) is not selected."""
    require_manage(actor, scenario)
    _lock(session, scenario)
    require_undecided(session, scenario)
    reason = checked_unsuccessful_reason(reason)
    completeness.require_complete(session, scenario)
    candidates = _candidates(session, scenario, IN_RUNNING)
    for application in candidates:
        _set_status(session, actor, application, ApplicationStatus.NOT_SELECTED, "not_select", reason, ip)
    scenario.unsuccessful_reason = reason
    scenario_services.transition(session, actor, scenario, "unsuccessful", reason=reason, ip=ip)
    _tell_not_selected(session, scenario, candidates, reason)
    return candidates


# ------------------------------------------------------------------ the public result

@dataclass
class Winner:
    firm: str
    amount_wan: Decimal | None
    #: ``contract`` when a contract is recorded, else ``quote`` (the quoted price).
    amount_kind: str
    decided_at: object


def unsuccessful_reason(session: Session, scenario: Scenario) -> str | None:
    """The public 流榜 reason (``Scenario.unsuccessful_reason``, set by :func:`declare_unsuccessful`)."""
    return scenario.unsuccessful_reason


def public_result(session: Session, scenario: Scenario) -> dict | None:
    """What everyone may see once a result exists: winner firm(s) and amount, or the 流榜 notice.

    Deliberately outside the sealing rule: a result is public by design, and exists only after the
    deadline (``award``/``unsuccessful`` refuse to run before it). Nothing is returned for any other status.
    """
    if scenario.status not in RESULT_STATUSES or app_policy.is_sealed(scenario):
        return None
    counted = session.execute(sa.select(sa.func.count(Application.id)).where(
        Application.scenario_id == scenario.id, app_policy.count_clause())).scalar_one()
    if scenario.status == ScenarioStatus.UNSUCCESSFUL:
        return {"unsuccessful": True, "reason": unsuccessful_reason(session, scenario), "applications": counted,
                "winners": []}
    rows = session.execute(
        sa.select(Application, Contract).outerjoin(Contract, Contract.application_id == Application.id)
        .where(Application.scenario_id == scenario.id, Application.status == ApplicationStatus.SELECTED)
        .order_by(Application.id)).all()
    winners = [Winner(firm=a.organisation.name,
                      amount_wan=c.amount_wan if c is not None else a.price_wan,
                      amount_kind="contract" if c is not None else "quote", decided_at=a.decided_at)
               for a, c in rows]
    total = sum((w.amount_wan for w in winners if w.amount_wan is not None), Decimal(0))
    return {"unsuccessful": False, "winners": winners, "total_wan": total, "applications": counted,
            "decided_at": max((w.decided_at for w in winners if w.decided_at), default=None)}
