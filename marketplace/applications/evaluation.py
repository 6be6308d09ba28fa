"""Evaluation and award (评审与揭榜结果): criteria, expert scoring, shortlist, 揭榜挂帅 and 赛马 decisions, 流榜.

Nothing here is possible before the scenario's deadline: applications are sealed
(:mod:`marketplace.applications.policy`). After it the owner organisation sets weighted
criteria, invites experts, ranks, shortlists and decides; reviewing staff read along;
experts score only their own assignment and only after declaring no conflict of interest.

赛马 keeps the scenario ``published`` (shown as 已截止) while the race runs: racing teams
are still candidates, not winners. The scenario is awarded only when the final winner(s)
are chosen, so "已揭榜" (public result, appraisal counts, contracts) always means the
final decision. Every scenario status change goes through
:func:`marketplace.scenarios.services.transition`; every application change is audited.
Services flush; the view commits.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

import sqlalchemy as sa
from flask_babel import gettext as _
from sqlalchemy.orm import Session

from marketplace import audit, clock
from marketplace.applications import policy as app_policy
from marketplace.errors import InvalidTransition, NotFound, PermissionDenied, ValidationFailed
from marketplace.models import (
    Application,
    ApplicationStatus,
    ApprovalStatus,
    Contract,
    EvaluationCriterion,
    ExpertAssignment,
    Organisation,
    Role,
    Scenario,
    ScenarioMode,
    ScenarioStatus,
    Score,
    StageAssessment,
    User,
)
from marketplace.notifications.services import notify, organisation_users
from marketplace.scenarios import policy as scenario_policy
from marketplace.scenarios import services as scenario_services

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


def scenario_path(scenario_id: int) -> str:
    return f"/scenarios/{scenario_id}"


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


def _require_manage(actor: User, scenario: Scenario) -> None:
    if not can_manage(actor, scenario):
        raise PermissionDenied(_("只有业主单位可以组织评审和确定结果。"))
    _require_unsealed(scenario)


def _require_undecided(session: Session, scenario: Scenario, *, allow_race: bool = True) -> None:
    current = phase(session, scenario)
    if current == "decided":
        raise InvalidTransition(_("揭榜结果已确定，评审已结束。"))
    if current == "racing" and not allow_race:
        raise InvalidTransition(_("赛马阶段已开始，专家评分和入围名单不能再修改。"))


def _lock(session: Session, scenario: Scenario) -> None:
    """Serialise decisions on one scenario (row lock on PostgreSQL; SQLite writes are serial anyway)."""
    session.flush()
    session.refresh(scenario, with_for_update=True)


# ------------------------------------------------------------------ applications

def applications_for(session: Session, user: User, scenario: Scenario) -> list[Application]:
    """The scenario's evaluated applications this user may read (sealing enforced in the query)."""
    return list(session.execute(
        sa.select(Application).join(Application.scenario)
        .where(Application.scenario_id == scenario.id, Application.status.in_(EVALUATED),
               app_policy.readable_clause(user))
        .order_by(Application.submitted_at, Application.id)
    ).scalars())


def _application(session: Session, user: User, scenario: Scenario, application_id: int) -> Application:
    application = session.get(Application, application_id)
    if (application is None or application.scenario_id != scenario.id
            or not app_policy.can_read(user, application) or application.status not in EVALUATED):
        raise NotFound(_("找不到该揭榜申请。"))
    return application


def _firm_users(session: Session, application: Application) -> list[User]:
    return organisation_users(session, application.organisation_id, Role.ENTERPRISE)


def _set_status(session: Session, actor: User, application: Application, status: ApplicationStatus,
                action: str, note: str | None = None, ip: str | None = None) -> None:
    before = {"status": application.status.value}
    application.status = status
    if status in (ApplicationStatus.SELECTED, ApplicationStatus.NOT_SELECTED):
        application.decided_at = clock.now()
        application.decision_note = note
    session.flush()
    audit.record(session, actor=actor, action=f"application.{action}", object_type="application",
                 object_id=application.id, before=before,
                 after={"status": status.value, "scenario": application.scenario_id, "note": note}, ip=ip)


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


def _decimal(value: object) -> Decimal | None:
    if value is None or value == "":
        return None
    try:
        return Decimal(str(value))
    except (InvalidOperation, ValueError):
        return None


def set_criteria(session: Session, actor: User, scenario: Scenario, rows: Sequence[tuple[str | None, object]],
                 ip: str | None = None) -> list[EvaluationCriterion]:
    """Replace the scenario's criteria; weights are percentages that must add up to exactly 100."""
    _require_manage(actor, scenario)
    _require_undecided(session, scenario, allow_race=False)
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
        weight = _decimal(raw_weight)
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
    _require_manage(actor, scenario)
    _require_undecided(session, scenario, allow_race=False)
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
    """``pending`` (must declare), ``declared`` (may score) or ``recused``."""
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


def _require_declared(actor: User, assignment: ExpertAssignment) -> None:
    if assignment.expert_id != actor.id:
        raise NotFound(_("找不到该评审任务。"))
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
    return _application(session, actor, assignment.scenario, application_id)


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
        value = _decimal(raw)
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
        raise ValidationFailed(_("评分未保存：%(items)s", items="；".join(m for ms in errors.values() for m in ms)),
                               errors)
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
    assignments = {a.id: a for a in assignments_of(session, scenario)}
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


# ------------------------------------------------------------------ decisions

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
    _require_manage(actor, scenario)
    _require_undecided(session, scenario, allow_race=False)
    application = _application(session, actor, scenario, application_id)
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
    from marketplace.applications.delivery import delivery_path

    for application in applications:
        notify(session, _firm_users(session, application), "application.selected",
               _("揭榜成功：%(title)s", title=scenario.title)[:200],
               _("祝贺！贵单位已成为“%(title)s”的揭榜单位。业主单位将与贵单位签订合同，合同、里程碑和验收情况可在交付页面查看。",
                 title=scenario.title), delivery_path(scenario.id))


def award(session: Session, actor: User, scenario: Scenario, application_id: object, note: str | None = None,
          ip: str | None = None) -> Application:
    """揭榜挂帅: exactly one winner; every other candidate is not selected; the scenario is awarded."""
    _require_manage(actor, scenario)
    _lock(session, scenario)
    _require_undecided(session, scenario)
    if scenario.mode != ScenarioMode.OPEN_CALL:
        raise InvalidTransition(_("赛马场景请先选择参赛团队，赛马结束后再确定最终揭榜单位。"))
    ids = application_id if isinstance(application_id, list | tuple | set) else [application_id]
    if len([i for i in ids if str(i).strip()]) != 1:
        message = _("揭榜挂帅只能确定一家揭榜单位。")
        raise ValidationFailed(message, {"application_id": [message]})
    winner = _pick(session, scenario, ids, CANDIDATE, "application_id")[0]
    note = (note or "").strip() or None
    others = [a for a in _candidates(session, scenario, CANDIDATE) if a.id != winner.id]
    _set_status(session, actor, winner, ApplicationStatus.SELECTED, "select", note, ip)
    for other in others:
        _set_status(session, actor, other, ApplicationStatus.NOT_SELECTED, "not_select", ip=ip)
    scenario_services.transition(session, actor, scenario, "award", reason=note, ip=ip)
    _tell_selected(session, scenario, [winner])
    _tell_not_selected(session, scenario, others)
    return winner


def start_race(session: Session, actor: User, scenario: Scenario, application_ids: Iterable[object],
               ip: str | None = None) -> list[Application]:
    """赛马: several teams (at most ``race_teams``) enter the race; the other candidates are not selected."""
    _require_manage(actor, scenario)
    _lock(session, scenario)
    _require_undecided(session, scenario, allow_race=False)
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
    _require_manage(actor, scenario)
    _require_undecided(session, scenario)
    application = _application(session, actor, scenario, application_id)
    if application.status != ApplicationStatus.RACING:
        raise InvalidTransition(_("只能为赛马阶段的团队记录阶段评估。"))
    errors: dict[str, list[str]] = {}
    stage = (stage or "").strip()
    result = (result or "").strip()
    value = _decimal(score)
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
        raise ValidationFailed("；".join(m for ms in errors.values() for m in ms), errors)
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
    _require_manage(actor, scenario)
    _lock(session, scenario)
    _require_undecided(session, scenario)
    if scenario.mode != ScenarioMode.HORSE_RACE or phase(session, scenario) != "racing":
        raise InvalidTransition(_("请先选择参赛团队并完成赛马阶段评估。"))
    racing = _candidates(session, scenario, (ApplicationStatus.RACING,))
    missing = [a for a in racing if not a.stage_assessments]
    if missing:
        message = _("请先为每支赛马团队记录阶段评估（尚缺：%(firms)s）。",
                    firms="、".join(a.organisation.name for a in missing))
        raise ValidationFailed(message, {"application_ids": [message]})
    winners = _pick(session, scenario, application_ids, (ApplicationStatus.RACING,), "application_ids")
    note = (note or "").strip() or None
    winner_ids = {a.id for a in winners}
    others = [a for a in racing if a.id not in winner_ids]
    for application in winners:
        _set_status(session, actor, application, ApplicationStatus.SELECTED, "select", note, ip)
    for other in others:
        _set_status(session, actor, other, ApplicationStatus.NOT_SELECTED, "not_select", ip=ip)
    scenario_services.transition(session, actor, scenario, "award", reason=note, ip=ip)
    _tell_selected(session, scenario, winners)
    _tell_not_selected(session, scenario, others)
    return winners


def declare_unsuccessful(session: Session, actor: User, scenario: Scenario, reason: str | None,
                         ip: str | None = None) -> list[Application]:
    """流榜: no acceptable application. Every candidate (racing teams included) is not selected."""
    _require_manage(actor, scenario)
    _lock(session, scenario)
    _require_undecided(session, scenario)
    reason = (reason or "").strip()
    if len(reason) < 4:
        message = _("请写明流榜原因（将在场景页面公开）。")
        raise ValidationFailed(message, {"reason": [message]})
    if len(reason) > 1000:
        message = _("流榜原因不能超过 1000 个字。")
        raise ValidationFailed(message, {"reason": [message]})
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
