"""Evaluation (评审): who sees it and when, weighted criteria, expert invitations, scoring, ranking.

Nothing here is possible before the scenario's deadline: applications are sealed
(:mod:`marketplace.applications.policy`). After it the owner organisation sets weighted
criteria and invites experts; reviewing staff read along; experts score only their own
assignment and only after declaring no conflict of interest. The decisions taken on the
ranking (shortlist, 揭榜挂帅 award, 赛马, 流榜) and the public result live in
:mod:`marketplace.applications.decisions`. Every change is audited; services flush and the
request's unit of work commits.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

import sqlalchemy as sa
from flask_babel import gettext as _
from sqlalchemy.orm import Session

from marketplace import audit, clock
from marketplace.applications import policy as app_policy
from marketplace.errors import InvalidTransition, NotFound, PermissionDenied, ValidationFailed, joined
from marketplace.models import (
    Application,
    ApplicationStatus,
    ApprovalStatus,
    EvaluationCriterion,
    ExpertAssignment,
    Organisation,
    Role,
    Scenario,
    ScenarioStatus,
    Score,
    User,
)
from marketplace.notifications.services import notify, organisation_users
from marketplace.scenarios import policy as scenario_policy

#: Applications still in the running before any decision.
CANDIDATE = (ApplicationStatus.SUBMITTED, ApplicationStatus.SHORTLISTED)
#: Applications still in the running, the race included.
IN_RUNNING = CANDIDATE + (ApplicationStatus.RACING,)
#: Applications an evaluation shows (submitted or later, never drafts or withdrawn ones).
EVALUATED = IN_RUNNING + (ApplicationStatus.SELECTED, ApplicationStatus.NOT_SELECTED)
#: Scenario statuses with a public result.
RESULT_STATUSES = (ScenarioStatus.AWARDED, ScenarioStatus.IN_DELIVERY, ScenarioStatus.ACCEPTED,
                   ScenarioStatus.UNSUCCESSFUL)
#: Scenario statuses that have an evaluation (published means: closed, decision pending).
EVALUATION_STATUSES = (ScenarioStatus.PUBLISHED,) + RESULT_STATUSES
#: Suggested criteria for a new evaluation.
DEFAULT_CRITERIA = (("技术方案", Decimal(40)), ("团队能力", Decimal(25)), ("报价", Decimal(20)), ("本地服务", Decimal(15)))
MAX_CRITERIA = 10
HUNDRED = Decimal(100)
CENT = Decimal("0.01")


def evaluation_path(scenario_id: int) -> str:
    return f"/scenarios/{scenario_id}/evaluation"


def review_path(assignment_id: int) -> str:
    return f"/reviews/{assignment_id}"


# ------------------------------------------------------------------ who and when

def can_manage(user: User | None, scenario: Scenario) -> bool:
    """The owner organisation runs the evaluation."""
    return scenario_policy.is_owner_member(user, scenario)


def can_view(user: User | None, scenario: Scenario) -> bool:
    """The owner and reviewing staff (city, or the scenario's district) see the evaluation."""
    return scenario_policy.is_owner_member(user, scenario) or scenario_policy.is_reviewer(user, scenario)


def phase(session: Session, scenario: Scenario) -> str:
    """``sealed`` before the deadline, ``scoring`` after it, ``racing`` during a 赛马 race, ``decided`` after."""
    if scenario.status in RESULT_STATUSES:
        return "decided"
    if scenario.status != ScenarioStatus.PUBLISHED or app_policy.is_sealed(scenario):
        return "sealed"
    racing = session.execute(sa.select(sa.func.count(Application.id)).where(
        Application.scenario_id == scenario.id, Application.status == ApplicationStatus.RACING)).scalar_one()
    return "racing" if racing else "scoring"


def _require_unsealed(scenario: Scenario) -> None:
    if scenario.status not in EVALUATION_STATUSES:
        raise InvalidTransition(_("场景当前状态为“%(status)s”，没有可进行的评审。",
                                  status=scenario.display_status().label))
    if app_policy.is_sealed(scenario):
        raise InvalidTransition(_("揭榜截止（%(t)s）前申请处于密封状态，不能开启评审。",
                                  t=clock.to_local(scenario.deadline).strftime("%Y-%m-%d %H:%M")
                                  if scenario.deadline else "—"))


def require_view(user: User | None, scenario: Scenario) -> None:
    """Refuse anyone but the owner and reviewers, and everyone before the deadline."""
    if not can_view(user, scenario):
        raise PermissionDenied(_("只有业主单位和审核部门可以查看评审情况。"))
    _require_unsealed(scenario)


def require_manage(actor: User, scenario: Scenario) -> None:
    """Only the owner organisation runs the evaluation, and only after the deadline."""
    if not can_manage(actor, scenario):
        raise PermissionDenied(_("只有业主单位可以组织评审和确定结果。"))
    _require_unsealed(scenario)


def require_undecided(session: Session, scenario: Scenario, *, allow_race: bool = True) -> None:
    """Refuse once the result is decided (and, with ``allow_race=False``, once a race has started)."""
    current = phase(session, scenario)
    if current == "decided":
        raise InvalidTransition(_("揭榜结果已确定，评审已结束。"))
    if current == "racing" and not allow_race:
        raise InvalidTransition(_("赛马阶段已开始，专家评分和入围名单不能再修改。"))


# ------------------------------------------------------------------ applications

def applications_for(session: Session, user: User, scenario: Scenario) -> list[Application]:
    """The scenario's evaluated applications this user may read (sealing enforced in the query)."""
    return list(session.execute(
        sa.select(Application).join(Application.scenario)
        .where(Application.scenario_id == scenario.id, Application.status.in_(EVALUATED),
               app_policy.readable_clause(user))
        .order_by(Application.submitted_at, Application.id)
    ).scalars())


def evaluated_application(session: Session, user: User, scenario: Scenario, application_id: int) -> Application:
    """One submitted-or-later application of this scenario that the user may read (else "not found")."""
    application = session.get(Application, application_id)
    if (application is None or application.scenario_id != scenario.id
            or not app_policy.can_read(user, application) or application.status not in EVALUATED):
        raise NotFound(_("找不到该揭榜申请。"))
    return application


# ------------------------------------------------------------------ criteria

def criteria_of(session: Session, scenario: Scenario) -> list[EvaluationCriterion]:
    return list(session.execute(
        sa.select(EvaluationCriterion).where(EvaluationCriterion.scenario_id == scenario.id)
        .order_by(EvaluationCriterion.sort_order, EvaluationCriterion.id)
    ).scalars())


def has_scores(session: Session, scenario: Scenario) -> bool:
    return session.execute(
        sa.select(sa.func.count(Score.id)).join(Score.assignment).where(ExpertAssignment.scenario_id == scenario.id)
    ).scalar_one() > 0


def criteria_editable(session: Session, scenario: Scenario) -> bool:
    """Criteria may change until the first expert score (and never after a decision)."""
    return phase(session, scenario) == "scoring" and not has_scores(session, scenario)


def parse_decimal(value: object) -> Decimal | None:
    """A typed number as an exact decimal; ``None`` when blank or not a number."""
    if value is None or value == "":
        return None
    try:
        return Decimal(str(value))
    except (InvalidOperation, ValueError):
        return None


def set_criteria(session: Session, actor: User, scenario: Scenario, rows: Sequence[tuple[str | None, object]],
                 ip: str | None = None) -> list[EvaluationCriterion]:
    """Replace the scenario's criteria; weights are percentages that must add up to exactly 100."""
    require_manage(actor, scenario)
    require_undecided(session, scenario, allow_race=False)
    if has_scores(session, scenario):
        raise InvalidTransition(_("专家已开始评分，评分标准不能再修改。"))
    errors: list[str] = []
    cleaned: list[tuple[str, Decimal]] = []
    seen: set[str] = set()
    for n, (name, raw_weight) in enumerate(rows, start=1):
        name = (name or "").strip()
        blank_weight = raw_weight is None or str(raw_weight).strip() == ""
        if not name and blank_weight:
            continue
        weight = parse_decimal(raw_weight)
        if not name:
            errors.append(_("第 %(n)d 行：请填写评分项名称。", n=n))
        elif len(name) > 100:
            errors.append(_("第 %(n)d 行：评分项名称不能超过 100 个字。", n=n))
        elif name in seen:
            errors.append(_("第 %(n)d 行：评分项“%(name)s”重复。", n=n, name=name))
        if blank_weight:
            errors.append(_("第 %(n)d 行：请填写权重。", n=n))
        elif weight is None or not weight.is_finite():
            errors.append(_("第 %(n)d 行：权重必须是数字。", n=n))
        elif weight <= 0 or weight > HUNDRED:
            errors.append(_("第 %(n)d 行：权重应大于 0 且不超过 100。", n=n))
        elif weight != weight.quantize(CENT):
            errors.append(_("第 %(n)d 行：权重最多保留两位小数。", n=n))
        seen.add(name)
        if name and weight is not None and weight.is_finite():
            cleaned.append((name, weight))
    if not errors:
        if not cleaned:
            errors.append(_("请至少设置一个评分项。"))
        elif len(cleaned) > MAX_CRITERIA:
            errors.append(_("评分项不能超过 %(n)d 个。", n=MAX_CRITERIA))
        else:
            total = sum((w for _n, w in cleaned), Decimal(0))
            if total != HUNDRED:
                errors.append(_("各评分项权重之和必须等于 100（当前为 %(total)s）。", total=plain_number(total)))
    if errors:
        raise ValidationFailed("；".join(errors), {"criteria": errors})
    before = [{"name": c.name, "weight": str(c.weight)} for c in criteria_of(session, scenario)]
    session.execute(sa.delete(EvaluationCriterion).where(EvaluationCriterion.scenario_id == scenario.id))
    created = []
    for order, (name, weight) in enumerate(cleaned):
        criterion = EvaluationCriterion(scenario_id=scenario.id, name=name, weight=weight, sort_order=order)
        session.add(criterion)
        created.append(criterion)
    session.flush()
    audit.record(session, actor=actor, action="evaluation.criteria", object_type="scenario", object_id=scenario.id,
                 before={"criteria": before},
                 after={"criteria": [{"name": n, "weight": str(w)} for n, w in cleaned]}, ip=ip)
    return created


def plain_number(value: Decimal) -> str:
    """100.00 → "100", 33.50 → "33.5"."""
    text = f"{value.quantize(CENT):f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


# ------------------------------------------------------------------ experts

def assignments_of(session: Session, scenario: Scenario) -> list[ExpertAssignment]:
    return list(session.execute(
        sa.select(ExpertAssignment).where(ExpertAssignment.scenario_id == scenario.id)
        .order_by(ExpertAssignment.invited_at, ExpertAssignment.id)
    ).scalars())


def expert_candidates(session: Session, scenario: Scenario) -> list[User]:
    """Active expert accounts not yet invited to this scenario."""
    invited = sa.select(ExpertAssignment.expert_id).where(ExpertAssignment.scenario_id == scenario.id)
    return list(session.execute(
        sa.select(User).where(User.role == Role.EXPERT, User.active, User.approval_status == ApprovalStatus.APPROVED,
                              User.id.not_in(invited)).order_by(User.name)
    ).scalars())


def invite_expert(session: Session, actor: User, scenario: Scenario, expert_id: int | None,
                  ip: str | None = None) -> ExpertAssignment:
    """The owner invites an expert; the expert is notified with a link to the assignment."""
    require_manage(actor, scenario)
    # Under the scenario's row lock: an expert invited twice at the same moment (a double click, two owner users)
    # is one assignment and a field message, not a unique-constraint 500 (PostgreSQL row lock; SQLite is serial).
    session.flush()
    session.refresh(scenario, with_for_update=True)
    require_undecided(session, scenario, allow_race=False)
    expert = session.get(User, expert_id) if expert_id else None
    if expert is None or expert.role != Role.EXPERT or not expert.is_active:
        message = _("请从专家库中选择一位评审专家。")
        raise ValidationFailed(message, {"expert_id": [message]})
    exists = session.execute(sa.select(ExpertAssignment.id).where(
        ExpertAssignment.scenario_id == scenario.id, ExpertAssignment.expert_id == expert.id)).first()
    if exists:
        message = _("该专家已受邀评审本场景。")
        raise ValidationFailed(message, {"expert_id": [message]})
    assignment = ExpertAssignment(scenario_id=scenario.id, expert_id=expert.id, invited_by_id=actor.id,
                                  invited_at=clock.now())
    session.add(assignment)
    session.flush()
    audit.record(session, actor=actor, action="evaluation.invite", object_type="expert_assignment",
                 object_id=assignment.id, after={"scenario": scenario.id, "expert": expert.id}, ip=ip)
    notify(session, [expert], "evaluation.invited", _("评审邀请：%(title)s", title=scenario.title)[:200],
           _("%(owner)s 邀请您评审应用场景“%(title)s”的揭榜申请。请先声明是否存在利益冲突，再查看申请并评分。",
             owner=scenario.owner.name, title=scenario.title), review_path(assignment.id))
    return assignment


def assignments_for_expert(session: Session, expert: User) -> list[ExpertAssignment]:
    """An expert's own assignments, newest first."""
    return list(session.execute(
        sa.select(ExpertAssignment).where(ExpertAssignment.expert_id == expert.id)
        .order_by(ExpertAssignment.invited_at.desc(), ExpertAssignment.id.desc())
    ).scalars())


def assignment_for(session: Session, expert: User, assignment_id: int) -> ExpertAssignment:
    """The expert's own assignment; anybody else's is "not found"."""
    assignment = session.get(ExpertAssignment, assignment_id)
    if assignment is None or expert.role != Role.EXPERT or assignment.expert_id != expert.id:
        raise NotFound(_("找不到该评审任务。"))
    return assignment


def assignment_state(assignment: ExpertAssignment) -> str:
    """``pending`` (must declare), ``declared`` (may score), ``recused`` or ``removed`` (by the owner)."""
    if assignment.removed_at is not None:
        return "removed"
    if assignment.recused:
        return "recused"
    return "declared" if assignment.declared_at is not None else "pending"


def applicant_names(session: Session, assignment: ExpertAssignment) -> list[str]:
    """Names of the applying firms, so an expert can judge a conflict of interest before opening anything.

    Only names, and only after the deadline: the applications themselves stay closed until the declaration.
    """
    scenario = assignment.scenario
    if app_policy.is_sealed(scenario):
        return []
    return list(session.execute(
        sa.select(Organisation.name).join(Application, Application.organisation_id == Organisation.id)
        .where(Application.scenario_id == scenario.id, Application.status.in_(EVALUATED))
        .order_by(Organisation.name)
    ).scalars())


def declare(session: Session, actor: User, assignment: ExpertAssignment, no_conflict: bool,
            ip: str | None = None) -> ExpertAssignment:
    """The expert declares no conflict of interest (may then score) or recuses (steps back for good)."""
    if assignment.expert_id != actor.id:
        raise PermissionDenied(_("只能声明本人的评审任务。"))
    _require_unsealed(assignment.scenario)
    lock_assignment(session, assignment)
    if assignment.removed_at is not None:
        raise PermissionDenied(_("业主单位已将您移出本场景的评审专家组。"))
    if assignment.recused or assignment.declared_at is not None:
        raise InvalidTransition(_("您已作出声明，不能重复声明。"))
    if phase(session, assignment.scenario) == "decided":
        raise InvalidTransition(_("揭榜结果已确定，评审已结束。"))
    if no_conflict:
        assignment.declared_at = clock.now()
    else:
        assignment.recused = True
    session.flush()
    audit.record(session, actor=actor, action="evaluation.declare" if no_conflict else "evaluation.recuse",
                 object_type="expert_assignment", object_id=assignment.id,
                 after={"scenario": assignment.scenario_id, "no_conflict": no_conflict}, ip=ip)
    if not no_conflict:
        scenario = assignment.scenario
        recipients = [assignment.invited_by] if assignment.invited_by else organisation_users(
            session, scenario.owner_id, Role.OWNER)
        notify(session, recipients, "evaluation.recused", _("专家申请回避：%(title)s", title=scenario.title)[:200],
               _("专家 %(name)s 声明与揭榜企业存在利益冲突，已回避“%(title)s”的评审，请另行邀请专家。",
                 name=actor.name, title=scenario.title), evaluation_path(scenario.id))
    return assignment


def lock_assignment(session: Session, assignment: ExpertAssignment) -> None:
    """Read the assignment afresh under its row's lock: a declaration, a removal and a scoring of one
    assignment are serialised, so a double-clicked declaration is refused instead of recorded twice, and a
    removal waits for a scoring in progress (and the scoring is refused once the removal is committed)
    (PostgreSQL row lock; SQLite writes are serial anyway)."""
    session.flush()
    session.refresh(assignment, with_for_update=True)


def _require_declared(actor: User, assignment: ExpertAssignment) -> None:
    if assignment.expert_id != actor.id:
        raise NotFound(_("找不到该评审任务。"))
    if assignment.removed_at is not None:
        raise PermissionDenied(_("业主单位已将您移出本场景的评审专家组，不能再查看或评审申请。"))
    if assignment.recused:
        raise PermissionDenied(_("您已申请回避，不能查看或评审本场景的申请。"))
    if assignment.declared_at is None:
        raise PermissionDenied(_("请先声明与揭榜企业不存在利益冲突，再查看申请。"))
    _require_unsealed(assignment.scenario)


def expert_applications(session: Session, actor: User, assignment: ExpertAssignment) -> list[Application]:
    """The applications a declared expert reviews (sealing and declaration enforced in the query)."""
    _require_declared(actor, assignment)
    return applications_for(session, actor, assignment.scenario)


def expert_application(session: Session, actor: User, assignment: ExpertAssignment,
                       application_id: int) -> Application:
    """One application of the expert's own assignment."""
    _require_declared(actor, assignment)
    return evaluated_application(session, actor, assignment.scenario, application_id)


def scores_by(session: Session, assignment: ExpertAssignment) -> dict[int, dict[int, Score]]:
    """application id → criterion id → the expert's score."""
    result: dict[int, dict[int, Score]] = {}
    for score in session.execute(sa.select(Score).where(Score.assignment_id == assignment.id)).scalars():
        result.setdefault(score.application_id, {})[score.criterion_id] = score
    return result


def scoring_open(session: Session, scenario: Scenario) -> bool:
    return phase(session, scenario) == "scoring"


def submit_scores(session: Session, actor: User, assignment: ExpertAssignment, application: Application,
                  values: dict[int, object], comments: dict[int, str | None] | None = None,
                  ip: str | None = None) -> list[Score]:
    """A declared expert scores one application on every criterion (0–100); re-scoring replaces the scores."""
    if assignment.expert_id == actor.id:
        lock_assignment(session, assignment)  # not scored by an expert the owner is removing at this moment
    _require_declared(actor, assignment)
    scenario = assignment.scenario
    if application.scenario_id != scenario.id or not app_policy.can_read(actor, application):
        raise NotFound(_("找不到该揭榜申请。"))
    if not scoring_open(session, scenario):
        raise InvalidTransition(_("评分已结束（已进入赛马阶段或已确定结果）。"))
    if application.status not in CANDIDATE:
        raise InvalidTransition(_("该申请不在评审范围内。"))
    criteria = criteria_of(session, scenario)
    if not criteria:
        raise InvalidTransition(_("业主单位尚未设置评分标准，暂不能评分。"))
    comments = comments or {}
    errors: dict[str, list[str]] = {}
    cleaned: dict[int, Decimal] = {}
    for criterion in criteria:
        raw = values.get(criterion.id)
        value = parse_decimal(raw)
        key = f"c_{criterion.id}"
        if raw is None or str(raw).strip() == "":
            errors[key] = [_("请为“%(name)s”打分。", name=criterion.name)]
        elif value is None or not value.is_finite():
            errors[key] = [_("“%(name)s”的分数必须是数字。", name=criterion.name)]
        elif value < 0 or value > HUNDRED:
            errors[key] = [_("“%(name)s”的分数应在 0–100 之间。", name=criterion.name)]
        elif value != value.quantize(CENT):
            errors[key] = [_("“%(name)s”的分数最多保留两位小数。", name=criterion.name)]
        else:
            cleaned[criterion.id] = value
    if errors:
        raise ValidationFailed(_("评分未保存：%(items)s", items=joined(errors)), errors)
    existing = scores_by(session, assignment).get(application.id, {})
    before = {str(cid): str(s.value) for cid, s in existing.items()}
    now = clock.now()
    saved = []
    for criterion in criteria:
        score = existing.get(criterion.id)
        comment = (comments.get(criterion.id) or "").strip() or None
        if score is None:
            score = Score(assignment_id=assignment.id, application_id=application.id, criterion_id=criterion.id,
                          value=cleaned[criterion.id], comment=comment, scored_at=now)
            session.add(score)
        else:
            score.value, score.comment, score.scored_at = cleaned[criterion.id], comment, now
        saved.append(score)
    session.flush()
    audit.record(session, actor=actor, action="evaluation.score", object_type="application",
                 object_id=application.id, before={"scores": before} if before else None,
                 after={"scenario": scenario.id, "assignment": assignment.id,
                        "scores": {str(cid): str(v) for cid, v in cleaned.items()}}, ip=ip)
    return saved


# ------------------------------------------------------------------ ranking

def weighted_total(weights: dict[int, Decimal], values: dict[int, Decimal]) -> Decimal:
    """Σ weight × score / 100 over the criteria (weights in percent)."""
    return sum((weights[cid] * values[cid] / HUNDRED for cid in weights), Decimal(0))


@dataclass
class ExpertScore:
    """One expert's complete scoring of one application."""

    assignment: ExpertAssignment
    total: Decimal
    scores: list[Score]


@dataclass
class Ranked:
    """An application with its weighted total (mean over experts who scored every criterion)."""

    application: Application
    total: Decimal | None = None
    rank: int | None = None
    by_criterion: dict[int, Decimal] = field(default_factory=dict)
    experts: list[ExpertScore] = field(default_factory=list)


def ranking(session: Session, user: User, scenario: Scenario) -> list[Ranked]:
    """Applications ranked by weighted total, best first; unscored ones last without a rank."""
    applications = applications_for(session, user, scenario)
    criteria = criteria_of(session, scenario)
    weights = {c.id: Decimal(c.weight) for c in criteria}
    scores: dict[tuple[int, int], dict[int, Score]] = {}
    # A removed expert's (partial) scores no longer count.
    assignments = {a.id: a for a in assignments_of(session, scenario) if a.removed_at is None}
    if applications and criteria:
        rows = session.execute(sa.select(Score).where(
            Score.assignment_id.in_(list(assignments) or [0]),
            Score.application_id.in_([a.id for a in applications]))).scalars()
        for score in rows:
            scores.setdefault((score.application_id, score.assignment_id), {})[score.criterion_id] = score
    result = []
    for application in applications:
        item = Ranked(application)
        for assignment_id, assignment in assignments.items():
            by = scores.get((application.id, assignment_id))
            if not by or set(by) != set(weights):
                continue  # incomplete scoring does not count
            values = {cid: Decimal(s.value) for cid, s in by.items()}
            item.experts.append(ExpertScore(assignment, weighted_total(weights, values).quantize(CENT),
                                            [by[c.id] for c in criteria]))
        if item.experts:
            n = len(item.experts)
            item.total = (sum((e.total for e in item.experts), Decimal(0)) / n).quantize(CENT)
            for i, c in enumerate(criteria):
                item.by_criterion[c.id] = (sum((Decimal(e.scores[i].value) for e in item.experts), Decimal(0))
                                           / n).quantize(CENT)
        result.append(item)
    result.sort(key=lambda r: (r.total is None, -(r.total or 0), r.application.submitted_at or clock.now(),
                               r.application.id))
    previous, rank = None, 0
    for position, item in enumerate(result, start=1):
        if item.total is None:
            break
        if item.total != previous:
            rank, previous = position, item.total
        item.rank = rank
    return result


def expert_progress(session: Session, scenario: Scenario) -> list[tuple[ExpertAssignment, int]]:
    """(assignment, number of applications it has scored completely)."""
    n_criteria = len(criteria_of(session, scenario))
    result = []
    for assignment in assignments_of(session, scenario):
        counts = session.execute(
            sa.select(Score.application_id, sa.func.count(Score.id)).where(Score.assignment_id == assignment.id)
            .group_by(Score.application_id)).all()
        result.append((assignment, sum(1 for _a, n in counts if n_criteria and n == n_criteria)))
    return result


# ------------------------------------------------------------------ workspace lists

def owner_projects(session: Session, user: User) -> list[Scenario]:
    """The owner organisation's scenarios past their deadline (to evaluate, deliver or look back on)."""
    if user.role != Role.OWNER or not user.organisation_id:
        return []
    now = clock.now()
    return list(session.execute(
        sa.select(Scenario).where(
            Scenario.owner_id == user.organisation_id,
            sa.or_(Scenario.status.in_(RESULT_STATUSES),
                   sa.and_(Scenario.status == ScenarioStatus.PUBLISHED, Scenario.deadline.is_not(None),
                           Scenario.deadline <= now)))
        .order_by(Scenario.deadline.desc())
    ).scalars())


def application_counts(session: Session, scenarios: Sequence[Scenario]) -> dict[int, int]:
    """Scenario id → number of submitted-or-later applications (a count, never content)."""
    if not scenarios:
        return {}
    rows = session.execute(
        sa.select(Application.scenario_id, sa.func.count(Application.id))
        .where(Application.scenario_id.in_([s.id for s in scenarios]), app_policy.count_clause())
        .group_by(Application.scenario_id)).all()
    return dict(rows)
