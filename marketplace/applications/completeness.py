"""Complete evaluations (issue 11.2): no decision on half the scores.

**The rule.** An award (揭榜挂帅 winner; 赛马 teams and final winners) and 流榜 need a complete
evaluation: every invited expert still on the panel has either recused, or declared no conflict
and scored every application under evaluation on every criterion. Otherwise the decision is
refused (:class:`~marketplace.errors.InvalidTransition`) and the evaluation page lists exactly what
is missing, expert × application × criterion (:func:`missing`).

Applications under evaluation: during a 赛马 race the racing teams; before it the shortlisted
applications when the owner has shortlisted any, otherwise every candidate — plus any application
the decision is about to select. Experts score blind to the shortlist, so they score every candidate.

An unresponsive expert holds the decision up; the owner may remove them from the panel with a
reason (:func:`remove_expert`: audited, the expert is told). A removed expert reads nothing more and
their partial scores no longer count. An expert who has completed their scoring cannot be removed
(their scores cannot be dropped after the fact).

Services flush; the request's unit of work commits.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import sqlalchemy as sa
from flask_babel import gettext as _
from sqlalchemy.orm import Session

from marketplace import audit, clock
from marketplace.applications.evaluation import (
    CANDIDATE,
    assignments_of,
    criteria_of,
    lock_assignment,
    phase,
    require_manage,
    require_undecided,
    review_path,
)
from marketplace.errors import InvalidTransition, NotFound, ValidationFailed
from marketplace.models import (
    Application,
    ApplicationStatus,
    EvaluationCriterion,
    ExpertAssignment,
    Role,
    Scenario,
    Score,
    User,
)
from marketplace.notifications.services import notify

#: Shortest removal reason accepted (it is told to the expert and kept in the audit log).
MIN_REASON = 4


@dataclass(frozen=True)
class Missing:
    """One missing piece of an evaluation: an expert's score of one application on one criterion.

    ``criterion`` is None when the owner has set no criteria yet; ``undeclared`` when the expert has
    not yet declared (no conflict, or a conflict and recusal).
    """

    assignment: ExpertAssignment
    application: Application
    criterion: EvaluationCriterion | None
    undeclared: bool


def under_evaluation(session: Session, scenario: Scenario, chosen: Iterable[Application] = ()) -> list[Application]:
    """The applications every expert must have scored before a decision (see the module docstring)."""
    racing = phase(session, scenario) == "racing"
    statuses = (ApplicationStatus.RACING,) if racing else CANDIDATE
    rows = list(session.execute(
        sa.select(Application).where(Application.scenario_id == scenario.id, Application.status.in_(statuses))
        .order_by(Application.submitted_at, Application.id)).scalars())
    shortlisted = [a for a in rows if a.status == ApplicationStatus.SHORTLISTED]
    required = shortlisted if shortlisted and not racing else rows
    ids = {a.id for a in required}
    extra = [a for a in chosen if a.id not in ids and a.scenario_id == scenario.id]
    return required + extra


def panel(session: Session, scenario: Scenario) -> list[ExpertAssignment]:
    """The invited experts still on the panel (removed ones are not)."""
    return [a for a in assignments_of(session, scenario) if a.removed_at is None]


def missing(session: Session, scenario: Scenario, chosen: Iterable[Application] = ()) -> list[Missing]:
    """Everything that keeps the evaluation from being complete, expert × application × criterion."""
    applications = under_evaluation(session, scenario, chosen)
    experts = [a for a in panel(session, scenario) if not a.recused]
    if not applications or not experts:
        return []
    criteria = criteria_of(session, scenario)
    scored: set[tuple[int, int, int]] = {tuple(row) for row in session.execute(
        sa.select(Score.assignment_id, Score.application_id, Score.criterion_id).where(
            Score.assignment_id.in_([a.id for a in experts]),
            Score.application_id.in_([a.id for a in applications])))}
    result = []
    for assignment in experts:
        undeclared = assignment.declared_at is None
        for application in applications:
            if not criteria:
                result.append(Missing(assignment, application, None, undeclared))
            for criterion in criteria:
                if undeclared or (assignment.id, application.id, criterion.id) not in scored:
                    result.append(Missing(assignment, application, criterion, undeclared))
    return result


def grouped(items: Sequence[Missing]) -> list[tuple[ExpertAssignment, list[tuple[Application, list[Missing]]]]]:
    """Missing pieces by expert, then by application (for the evaluation page's list)."""
    experts: dict[int, tuple[ExpertAssignment, dict[int, tuple[Application, list[Missing]]]]] = {}
    for item in items:
        _assignment, by_application = experts.setdefault(item.assignment.id, (item.assignment, {}))
        by_application.setdefault(item.application.id, (item.application, []))[1].append(item)
    return [(assignment, list(by_application.values())) for assignment, by_application in experts.values()]


def summary(items: Sequence[Missing]) -> str:
    """One sentence per expert: undeclared, or how many scores are missing on how many applications."""
    parts = []
    for assignment, applications in grouped(items):
        if applications and applications[0][1][0].undeclared:
            parts.append(_("专家 %(name)s 尚未声明利益冲突", name=assignment.expert.name))
        elif applications and applications[0][1][0].criterion is None:
            parts.append(_("尚未设置评分标准，专家 %(name)s 无法评分", name=assignment.expert.name))
        else:
            n = sum(len(pieces) for _a, pieces in applications)
            parts.append(_("专家 %(name)s 对 %(apps)d 份申请还缺 %(n)d 项评分", name=assignment.expert.name,
                           apps=len(applications), n=n))
    return "；".join(parts)


def require_complete(session: Session, scenario: Scenario, chosen: Iterable[Application] = ()) -> None:
    """Refuse a decision while the evaluation is incomplete (the page lists what is missing)."""
    items = missing(session, scenario, chosen)
    if items:
        raise InvalidTransition(_("评审尚未完成，不能作出决定：%(items)s。评审页面列出了缺少的每一项评分；"
                                  "未响应的专家可由业主单位说明原因后移出专家组。", items=summary(items)))


def remove_expert(session: Session, actor: User, scenario: Scenario, assignment_id: int | None, reason: str | None,
                  ip: str | None = None) -> ExpertAssignment:
    """The owner removes an unresponsive expert from the panel, with a reason (audited; the expert is told)."""
    require_manage(actor, scenario)
    require_undecided(session, scenario)
    assignment = session.get(ExpertAssignment, assignment_id) if assignment_id else None
    if assignment is None or assignment.scenario_id != scenario.id:
        raise NotFound(_("找不到该评审专家。"))
    lock_assignment(session, assignment)  # waits for a scoring or declaration in progress, then reads afresh
    if assignment.removed_at is not None:
        raise InvalidTransition(_("该专家已被移出专家组。"))
    if assignment.recused:
        raise InvalidTransition(_("该专家已回避，无需移除。"))
    if not any(m.assignment.id == assignment.id for m in missing(session, scenario)):
        raise InvalidTransition(_("该专家已完成全部评分，不能移除（已提交的评分不能事后剔除）。"))
    reason = (reason or "").strip()
    if len(reason) < MIN_REASON or len(reason) > 1000:
        message = _("请说明移除原因（%(n)d–1000 个字），原因将告知该专家并记入审计日志。", n=MIN_REASON)
        raise ValidationFailed(message, {"reason": [message]})
    assignment.removed_at = clock.now()
    assignment.removed_by_id = actor.id
    assignment.removal_reason = reason
    session.flush()
    audit.record(session, actor=actor, action="evaluation.remove_expert", object_type="expert_assignment",
                 object_id=assignment.id, before={"state": "declared" if assignment.declared_at else "pending"},
                 after={"scenario": scenario.id, "expert": assignment.expert_id, "reason": reason}, ip=ip)
    notify(session, [assignment.expert], "evaluation.removed",
           _("已移出评审专家组：%(title)s", title=scenario.title)[:200],
           _("%(owner)s 已将您移出“%(title)s”的评审专家组。原因：%(reason)s", owner=scenario.owner.name,
             title=scenario.title, reason=reason), review_path(assignment.id))
    return assignment


# ------------------------------------------------------------------ scoring blind

def has_scored_everything(session: Session, assignment: ExpertAssignment) -> bool:
    """Whether this expert has scored every candidate application of the scenario on every criterion."""
    scenario = assignment.scenario
    criteria = criteria_of(session, scenario)
    candidates = session.execute(sa.select(Application.id).where(
        Application.scenario_id == scenario.id, Application.status.in_(CANDIDATE))).scalars().all()
    if not criteria:
        return False
    done = session.execute(sa.select(sa.func.count(Score.id)).where(
        Score.assignment_id == assignment.id, Score.application_id.in_(candidates or [0]))).scalar_one()
    return done >= len(candidates) * len(criteria)


def blind_to_shortlist(session: Session, user: User | None, scenario: Scenario) -> bool:
    """An expert scores blind to the owner's shortlist marks until they have scored everything themselves.

    (Experts never see other experts' scores: the ranking is for the owner and reviewing staff only.)
    """
    if user is None or not user.is_authenticated or user.role != Role.EXPERT:
        return False
    assignment = session.execute(sa.select(ExpertAssignment).where(
        ExpertAssignment.scenario_id == scenario.id, ExpertAssignment.expert_id == user.id)).scalar_one_or_none()
    return assignment is None or not has_scored_everything(session, assignment)


def visible_status(session: Session, user: User | None, application: Application) -> ApplicationStatus:
    """The status this user is shown: a shortlisted application reads "submitted" to a blind expert."""
    if application.status == ApplicationStatus.SHORTLISTED and blind_to_shortlist(session, user,
                                                                                   application.scenario):
        return ApplicationStatus.SUBMITTED
    return application.status

