"""Demonstration selection (示范项目评选): rounds, nominations, expert scores and publication.

A round goes ``draft → open → scoring → published``:

* city staff create a round for a year with weighted criteria (weights add up to 100) and open it;
* owners nominate their organisation's *accepted* scenarios, district staff their district's,
  each with a case write-up (problem, solution, measured outcomes, highlights) and media;
* city staff assign experts (role ``expert``) to the nominations; an expert first declares no
  conflict of interest (or recuses), then scores each criterion 0–100 once scoring has started;
* a nomination's total is the mean, over the experts who scored every criterion, of
  ``Σ score × weight / 100`` (two decimals, half-up);
* city staff publish the selected list: each selected nomination becomes a public
  :class:`Demonstration`; the others are marked not selected.

Services check permission and state, flush and audit; the request's unit of work commits.
The public gallery and reuse of published demonstrations are in :mod:`marketplace.showcase.gallery`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

import sqlalchemy as sa
from flask_babel import gettext as _
from sqlalchemy.orm import Session, object_session, selectinload

from marketplace import audit, clock
from marketplace.errors import InvalidTransition, PermissionDenied, ValidationFailed, joined
from marketplace.models import (
    ApprovalStatus,
    Attachment,
    AttachmentPurpose,
    Demonstration,
    Nomination,
    NominationExpert,
    NominationScore,
    NominationStatus,
    Role,
    RoundStatus,
    Scenario,
    ScenarioStatus,
    SelectionCriterion,
    SelectionRound,
    User,
    pending_notice_clause,
)
from marketplace.showcase import policy
from marketplace.showcase.facts import facts_for

#: Criteria a new round starts with (name, weight in percent).
DEFAULT_CRITERIA = (
    ("创新性与技术水平", Decimal(25)),
    ("应用成效（可量化）", Decimal(35)),
    ("示范推广价值", Decimal(25)),
    ("本地产业带动", Decimal(15)),
)
#: At most this many photos and documents per nomination.
MAX_MEDIA = 10
#: Media kinds accepted: photos and PDF documents.
MEDIA_EXTENSIONS = {"png", "jpg", "jpeg", "pdf"}


def _require_city_staff(actor: User | None, message: str | None = None) -> None:
    if not policy.is_city_staff(actor):
        raise PermissionDenied(message or _("只有市级工作人员可以组织示范项目评选。"))


def _fail(errors: dict[str, list[str]], prefix: str) -> ValidationFailed:
    return ValidationFailed(f"{prefix}{joined(errors)}", errors)


# ====================================================================== rounds

def _clean_round(data: dict[str, Any]) -> dict[str, Any]:
    errors: dict[str, list[str]] = {}
    year = data.get("year")
    if not isinstance(year, int) or not 2000 <= year <= 2100:
        errors["year"] = [_("请填写 2000–2100 之间的年份。")]
    name = (data.get("name") or "").strip()
    if not name:
        errors["name"] = [_("请填写评选名称。")]
    elif len(name) > 128:
        errors["name"] = [_("评选名称不能超过 128 个字。")]
    criteria: list[tuple[str, Decimal]] = []
    for row in data.get("criteria") or []:
        cname = (row.get("name") or "").strip()
        raw = row.get("weight")
        if not cname and raw in (None, ""):
            continue
        if not cname or len(cname) > 100:
            errors.setdefault("criteria", []).append(_("每项评审标准都要有名称（不超过 100 个字）。"))
            continue
        try:
            weight = Decimal(str(raw))
        except InvalidOperation:
            errors.setdefault("criteria", []).append(_("“%(n)s”的权重必须是数字。", n=cname))
            continue
        if not weight.is_finite() or weight <= 0 or weight > 100 or weight != weight.quantize(Decimal("0.01")):
            errors.setdefault("criteria", []).append(_("“%(n)s”的权重应大于 0、不超过 100，最多两位小数。", n=cname))
            continue
        criteria.append((cname, weight))
    if "criteria" not in errors:
        if not criteria:
            errors["criteria"] = [_("请至少设置一项评审标准。")]
        elif sum(w for _n, w in criteria) != 100:
            total = sum(w for _n, w in criteria)
            errors["criteria"] = [_("评审标准权重之和必须为 100（当前为 %(s)s）。", s=f"{total.normalize():f}")]
        elif len({n for n, _w in criteria}) != len(criteria):
            errors["criteria"] = [_("评审标准名称不能重复。")]
    if errors:
        raise _fail(errors, _("评选设置有误："))
    return {"year": year, "name": name, "description": (data.get("description") or "").strip(), "criteria": criteria}


def _round_snapshot(rnd: SelectionRound) -> dict[str, Any]:
    return {"year": rnd.year, "name": rnd.name, "status": rnd.status.value,
            "criteria": [[c.name, str(c.weight)] for c in rnd.criteria]}


def _set_criteria(rnd: SelectionRound, criteria: list[tuple[str, Decimal]]) -> None:
    existing = {c.name: c for c in rnd.criteria}
    keep = []
    for order, (name, weight) in enumerate(criteria):
        row = existing.get(name) or SelectionCriterion(name=name)
        row.weight, row.sort_order = weight, order
        keep.append(row)
    rnd.criteria[:] = keep


def check_round(data: dict[str, Any]) -> None:
    """Raise the ValidationFailed that saving these round settings would raise (nothing is written)."""
    _clean_round(data)


def create_round(session: Session, actor: User, data: dict[str, Any], ip: str | None = None) -> SelectionRound:
    """A draft selection round for a year with its weighted criteria."""
    _require_city_staff(actor)
    clean = _clean_round(data)
    rnd = SelectionRound(year=clean["year"], name=clean["name"], description=clean["description"],
                         status=RoundStatus.DRAFT)
    _set_criteria(rnd, clean["criteria"])
    session.add(rnd)
    session.flush()
    audit.record(session, actor=actor, action="selection_round.create", object_type="selection_round",
                 object_id=rnd.id, after=_round_snapshot(rnd), ip=ip)
    return rnd


def update_round(session: Session, actor: User, rnd: SelectionRound, data: dict[str, Any],
                 ip: str | None = None) -> SelectionRound:
    """Change a round's name, call text and criteria until scoring starts."""
    _require_city_staff(actor)
    if rnd.status not in (RoundStatus.DRAFT, RoundStatus.OPEN):
        raise InvalidTransition(_("评审开始后不能再修改评选设置。"))
    before = _round_snapshot(rnd)
    clean = _clean_round(data)
    rnd.year, rnd.name, rnd.description = clean["year"], clean["name"], clean["description"]
    _set_criteria(rnd, clean["criteria"])
    session.flush()
    audit.record(session, actor=actor, action="selection_round.update", object_type="selection_round",
                 object_id=rnd.id, before=before, after=_round_snapshot(rnd), ip=ip)
    return rnd


def all_rounds(session: Session) -> list[SelectionRound]:
    """Every selection round, newest year first."""
    return list(session.execute(
        sa.select(SelectionRound).order_by(SelectionRound.year.desc(), SelectionRound.id.desc())).scalars())


def open_rounds(session: Session) -> list[SelectionRound]:
    """Rounds taking nominations now, newest year first."""
    return list(session.execute(
        sa.select(SelectionRound).where(SelectionRound.status == RoundStatus.OPEN)
        .order_by(SelectionRound.year.desc())).scalars())


#: action → (statuses it starts from, status it leads to)
ROUND_TRANSITIONS: dict[str, tuple[tuple[RoundStatus, ...], RoundStatus]] = {
    "open": ((RoundStatus.DRAFT,), RoundStatus.OPEN),
    "start_scoring": ((RoundStatus.OPEN,), RoundStatus.SCORING),
}


def round_transition(session: Session, actor: User, rnd: SelectionRound, action: str,
                     ip: str | None = None) -> SelectionRound:
    """Open a round for nominations, or close nominations and start expert scoring."""
    _require_city_staff(actor)
    if action not in ROUND_TRANSITIONS:
        raise InvalidTransition(_("未知的操作。"))
    sources, target = ROUND_TRANSITIONS[action]
    if rnd.status not in sources:
        raise InvalidTransition(_("评选当前状态为“%(s)s”，不能执行该操作。", s=rnd.status.label))
    if action == "start_scoring" and not any(n.status == NominationStatus.SUBMITTED for n in rnd.nominations):
        raise InvalidTransition(_("还没有推荐项目，不能开始评审。"))
    before = rnd.status.value
    rnd.status = target
    if action == "open":
        rnd.opened_at, rnd.opened_by = clock.now(), actor
    session.flush()
    audit.record(session, actor=actor, action=f"selection_round.{action}", object_type="selection_round",
                 object_id=rnd.id, before={"status": before}, after={"status": target.value}, ip=ip)
    return rnd


# ====================================================================== nominations

def _clean_writeup(data: dict[str, Any]) -> dict[str, str]:
    errors: dict[str, list[str]] = {}
    values = {name: (data.get(name) or "").strip() for name in ("problem", "solution", "outcomes", "highlights")}
    if len(values["problem"]) < 20:
        errors["problem"] = [_("请写明建设前存在的问题（至少 20 个字）。")]
    if len(values["solution"]) < 20:
        errors["solution"] = [_("请写明解决方案（至少 20 个字）。")]
    if len(values["outcomes"]) < 10:
        errors["outcomes"] = [_("请写明实际成效（至少 10 个字）。")]
    elif not re.search(r"\d", values["outcomes"]):
        errors["outcomes"] = [_("实际成效应可衡量，请至少写出一项数据（如：办理时间缩短 40%）。")]
    for name, limit in (("problem", 5000), ("solution", 8000), ("outcomes", 5000), ("highlights", 3000)):
        if len(values[name]) > limit:
            errors[name] = [_("内容过长（不超过 %(n)d 个字）。", n=limit)]
    if errors:
        raise _fail(errors, _("案例材料不完整："))
    return values


def _check_media(media: list[Attachment], existing: int = 0) -> None:
    if existing + len(media) > MAX_MEDIA:
        message = _("每个推荐项目最多上传 %(n)d 个图片或文档。", n=MAX_MEDIA)
        raise ValidationFailed(message, {"media": [message]})
    for attachment in media:
        if attachment.purpose != AttachmentPurpose.DEMONSTRATION_MEDIA:
            raise ValidationFailed(_("附件用途不符。"), {"media": [_("附件用途不符。")]})


def nominate(session: Session, actor: User, rnd: SelectionRound, scenario: Scenario, data: dict[str, Any],
             media: Iterable[Attachment] = (), ip: str | None = None) -> Nomination:
    """Put an accepted scenario forward for an open round, with its case write-up."""
    if rnd.status != RoundStatus.OPEN:
        raise InvalidTransition(_("该评选当前不接受推荐。"))
    if not policy.speaks_for(actor, scenario):
        raise PermissionDenied(_("只能推荐本单位（区县工作人员：本区县）的场景。"))
    if scenario.status != ScenarioStatus.ACCEPTED:
        raise ValidationFailed(_("只有已验收的场景可以推荐为示范项目。"),
                               {"scenario": [_("只有已验收的场景可以推荐为示范项目。")]})
    if session.execute(sa.select(Scenario.id).where(Scenario.id == scenario.id,
                                                    pending_notice_clause(clock.now()))).first():
        # Only a final award is eligible (公示 ended, no undecided 异议).
        raise ValidationFailed(_("揭榜结果尚在公示或有未处理的异议，暂不能推荐。"),
                               {"scenario": [_("揭榜结果尚在公示或有未处理的异议，暂不能推荐。")]})
    if session.execute(sa.select(Demonstration.id).where(Demonstration.scenario_id == scenario.id)).first():
        raise ValidationFailed(_("该场景已是示范项目。"), {"scenario": [_("该场景已是示范项目。")]})
    values = _clean_writeup(data)
    media = list(media)
    _check_media(media)
    # One nomination per round and scenario: a double-clicked form (or the owner and the district nominating at
    # once) waits here under the scenario's row lock and is refused, instead of breaking the unique constraint
    # with a 500 (PostgreSQL row lock; SQLite writes are serial anyway).
    session.flush()
    session.refresh(scenario, with_for_update=True)
    nomination = session.execute(
        sa.select(Nomination).where(Nomination.round_id == rnd.id, Nomination.scenario_id == scenario.id)
        .execution_options(populate_existing=True)
    ).scalar_one_or_none()
    if nomination is not None and nomination.status != NominationStatus.WITHDRAWN:
        raise ValidationFailed(_("该场景已在本次评选中被推荐。"), {"scenario": [_("该场景已在本次评选中被推荐。")]})
    if nomination is None:
        nomination = Nomination(round=rnd, scenario=scenario)
        session.add(nomination)
    nomination.status = NominationStatus.SUBMITTED
    nomination.nominated_by = actor
    for name, value in values.items():
        setattr(nomination, name, value)
    nomination.media[:] = media
    session.flush()
    audit.record(session, actor=actor, action="nomination.create", object_type="nomination", object_id=nomination.id,
                 after={"round": rnd.id, "scenario": scenario.id, "media": [a.id for a in media]}, ip=ip)
    return nomination


def _editable_by(actor: User, nomination: Nomination) -> None:
    if not policy.speaks_for(actor, nomination.scenario):
        raise PermissionDenied(_("您无权修改此推荐。"))
    if nomination.round.status != RoundStatus.OPEN or nomination.status != NominationStatus.SUBMITTED:
        raise InvalidTransition(_("推荐征集已结束，不能再修改或撤回。"))


def can_edit_nomination(user: User | None, nomination: Nomination) -> bool:
    """The nominating side may revise or withdraw a submitted nomination while its round is open."""
    return (policy.speaks_for(user, nomination.scenario) and nomination.round.status == RoundStatus.OPEN
            and nomination.status == NominationStatus.SUBMITTED)


def update_nomination(session: Session, actor: User, nomination: Nomination, data: dict[str, Any],
                      add_media: Iterable[Attachment] = (), remove_media: Iterable[int] = (),
                      ip: str | None = None) -> Nomination:
    """Revise the write-up and media while the round is open."""
    _editable_by(actor, nomination)
    values = _clean_writeup(data)
    remove = set(remove_media)
    kept = [a for a in nomination.media if a.id not in remove]
    added = list(add_media)
    _check_media(added, len(kept))
    before = {name: getattr(nomination, name) for name in values} | {"media": [a.id for a in nomination.media]}
    for name, value in values.items():
        setattr(nomination, name, value)
    nomination.media[:] = kept + added
    session.flush()
    audit.record(session, actor=actor, action="nomination.update", object_type="nomination", object_id=nomination.id,
                 before=before, after=values | {"media": [a.id for a in nomination.media]}, ip=ip)
    return nomination


def withdraw_nomination(session: Session, actor: User, nomination: Nomination, ip: str | None = None) -> None:
    """The nominating side takes a nomination back while the round is open."""
    _editable_by(actor, nomination)
    nomination.status = NominationStatus.WITHDRAWN
    session.flush()
    audit.record(session, actor=actor, action="nomination.withdraw", object_type="nomination",
                 object_id=nomination.id, before={"status": "submitted"}, after={"status": "withdrawn"}, ip=ip)


def nominable_scenarios(session: Session, user: User) -> list[Scenario]:
    """Accepted scenarios the user may nominate (not yet demonstrations)."""
    return list(session.execute(
        sa.select(Scenario).where(policy.nominable_clause(user),
                                  Scenario.id.not_in(sa.select(Demonstration.scenario_id)))
        .order_by(Scenario.updated_at.desc(), Scenario.id.desc())
    ).scalars())


def nominations_for(session: Session, user: User) -> list[Nomination]:
    """Nominations of the user's organisation (owners) or district (district staff)."""
    query = sa.select(Nomination).join(Nomination.scenario).order_by(Nomination.id.desc())
    if user.role == Role.OWNER and user.organisation_id:
        query = query.where(Scenario.owner_id == user.organisation_id)
    elif user.role == Role.DISTRICT_STAFF and user.district_id:
        query = query.where(Scenario.district_id == user.district_id)
    else:
        query = query.where(sa.false())
    return list(session.execute(query).scalars())


# ====================================================================== experts and scores

def experts(session: Session) -> list[User]:
    """Active, approved expert accounts."""
    return list(session.execute(
        sa.select(User).where(User.role == Role.EXPERT, User.active,
                              User.approval_status == ApprovalStatus.APPROVED).order_by(User.name, User.id)
    ).scalars())


def assign_expert(session: Session, actor: User, rnd: SelectionRound, expert: User,
                  nominations: Iterable[Nomination] | None = None, ip: str | None = None) -> int:
    """Assign an expert to nominations of the round (all submitted ones by default); returns how many are new."""
    _require_city_staff(actor)
    # Under the round's row lock, read it afresh: two staff members (or a double click) assigning one expert at the
    # same moment make one set of assignments, not a unique-constraint 500 (PostgreSQL row lock; SQLite is serial).
    session.flush()
    session.refresh(rnd, with_for_update=True)
    if rnd.status not in (RoundStatus.OPEN, RoundStatus.SCORING):
        raise InvalidTransition(_("只能在征集或评审阶段指派专家。"))
    if expert is None or expert.role != Role.EXPERT or not expert.is_active:
        raise ValidationFailed(_("请选择有效的评审专家。"), {"expert_id": [_("请选择有效的评审专家。")]})
    targets = list(nominations) if nominations is not None else [
        n for n in rnd.nominations if n.status == NominationStatus.SUBMITTED]
    created = []
    for nomination in targets:
        if nomination.round_id != rnd.id or nomination.status != NominationStatus.SUBMITTED:
            raise ValidationFailed(_("只能为本次评选中有效的推荐项目指派专家。"))
        if any(a.expert_id == expert.id for a in nomination.experts):
            continue
        assignment = NominationExpert(nomination=nomination, expert=expert, invited_by=actor)
        session.add(assignment)
        created.append(nomination.id)
    session.flush()
    if created:
        audit.record(session, actor=actor, action="selection_round.assign_expert", object_type="selection_round",
                     object_id=rnd.id, after={"expert": expert.id, "nominations": created}, ip=ip)
    return len(created)


def assignments_of(session: Session, user: User) -> list[NominationExpert]:
    """The user's review assignments (none for non-experts), newest invitation first."""
    return list(session.execute(
        policy.expert_assignments_query(user).order_by(NominationExpert.invited_at.desc())).scalars())


def _own_assignment(actor: User, assignment: NominationExpert) -> None:
    if actor is None or not actor.is_authenticated or actor.role != Role.EXPERT or assignment.expert_id != actor.id:
        raise PermissionDenied(_("这不是指派给您的评审任务。"))


def declare(session: Session, actor: User, assignment: NominationExpert, no_conflict: bool, note: str | None = None,
            ip: str | None = None) -> NominationExpert:
    """The expert declares no conflict of interest (and may then score), or recuses."""
    _own_assignment(actor, assignment)
    # Read the assignment afresh under its row's lock: a double-clicked declaration (or 回避 from a second tab)
    # is refused instead of recorded twice (PostgreSQL row lock; SQLite writes are serial anyway).
    session.flush()
    session.refresh(assignment, with_for_update=True)
    if assignment.nomination.round.status not in (RoundStatus.OPEN, RoundStatus.SCORING):
        raise InvalidTransition(_("评选已结束。"))
    if assignment.declared_at is not None or assignment.recused:
        raise InvalidTransition(_("您已作出声明。"))
    if no_conflict:
        assignment.declared_at = clock.now()
    else:
        assignment.recused = True
        assignment.recusal_note = (note or "").strip() or None
    session.flush()
    audit.record(session, actor=actor, action="nomination.declare" if no_conflict else "nomination.recuse",
                 object_type="nomination_expert", object_id=assignment.id,
                 after={"nomination": assignment.nomination_id, "no_conflict": no_conflict, "note": note}, ip=ip)
    return assignment


def submit_scores(session: Session, actor: User, assignment: NominationExpert, values: dict[int, Any],
                  comment: str | None = None, ip: str | None = None) -> NominationExpert:
    """Score every criterion 0–100 (two decimals); scores may be revised until the round is published."""
    _own_assignment(actor, assignment)
    # Under the assignment's row lock, read its scores afresh: a score form submitted twice at the same moment is
    # a revision of the first, not a unique-constraint 500 (PostgreSQL row lock; SQLite writes are serial anyway).
    session.flush()
    session.refresh(assignment, with_for_update=True)
    nomination = assignment.nomination
    if nomination.round.status != RoundStatus.SCORING:
        raise InvalidTransition(_("评审尚未开始或已经结束。"))
    if not assignment.may_score:
        raise PermissionDenied(_("请先声明与该项目无利益冲突，再评分。"))
    if nomination.status != NominationStatus.SUBMITTED:
        raise InvalidTransition(_("该推荐已撤回。"))
    errors: dict[str, list[str]] = {}
    clean: dict[int, Decimal] = {}
    for criterion in nomination.round.criteria:
        raw = values.get(criterion.id)
        key = f"score_{criterion.id}"
        try:
            value = Decimal(str(raw)) if raw not in (None, "") else None
        except InvalidOperation:
            value = None
        if value is None or not value.is_finite() or not 0 <= value <= 100 \
                or value != value.quantize(Decimal("0.01")):
            errors[key] = [_("“%(n)s”请给出 0–100 之间的分数（最多两位小数）。", n=criterion.name)]
            continue
        clean[criterion.id] = value
    if errors:
        raise _fail(errors, _("评分有误："))
    existing = {s.criterion_id: s for s in assignment.scores}
    now = clock.now()
    for criterion in nomination.round.criteria:
        row = existing.get(criterion.id)
        if row is None:
            row = NominationScore(assignment=assignment, criterion=criterion)
            session.add(row)
        row.value, row.scored_at = clean[criterion.id], now
        row.comment = (comment or "").strip() or None
    session.flush()
    audit.record(session, actor=actor, action="nomination.score", object_type="nomination_expert",
                 object_id=assignment.id, after={"nomination": nomination.id,
                                                 "scores": {str(k): str(v) for k, v in clean.items()}}, ip=ip)
    return assignment


def weighted_total(assignment: NominationExpert, criteria: list[SelectionCriterion]) -> Decimal | None:
    """One expert's ``Σ score × weight / 100``, or None until every criterion is scored."""
    by_criterion = {s.criterion_id: s.value for s in assignment.scores}
    if not criteria or any(c.id not in by_criterion for c in criteria):
        return None
    total = sum((by_criterion[c.id] * c.weight / 100 for c in criteria), Decimal(0))
    return total.quantize(Decimal("0.01"), ROUND_HALF_UP)


@dataclass
class NominationTotal:
    """A nomination's standing in the round: mean weighted total over the experts who finished scoring."""

    nomination: Nomination
    total: Decimal | None
    expert_totals: list[tuple[NominationExpert, Decimal | None]] = field(default_factory=list)

    @property
    def scored(self) -> int:
        return sum(1 for _a, t in self.expert_totals if t is not None)

    @property
    def recused(self) -> int:
        return sum(1 for a, _t in self.expert_totals if a.recused)

    @property
    def pending(self) -> int:
        return sum(1 for a, t in self.expert_totals if t is None and not a.recused)


def totals(session: Session, rnd: SelectionRound) -> list[NominationTotal]:
    """Every live nomination of the round with its weighted total, best first (unscored last)."""
    criteria = list(rnd.criteria)
    nominations = session.execute(
        sa.select(Nomination).where(Nomination.round_id == rnd.id, Nomination.status != NominationStatus.WITHDRAWN)
        .options(selectinload(Nomination.experts).selectinload(NominationExpert.scores),
                 selectinload(Nomination.scenario))
    ).scalars().all()
    rows = []
    for nomination in nominations:
        per_expert = [(a, weighted_total(a, criteria) if a.may_score else None) for a in nomination.experts]
        done = [t for _a, t in per_expert if t is not None]
        mean = (sum(done, Decimal(0)) / len(done)).quantize(Decimal("0.01"), ROUND_HALF_UP) if done else None
        rows.append(NominationTotal(nomination, mean, per_expert))
    rows.sort(key=lambda r: (r.total is None, -(r.total or 0), r.nomination.id))
    return rows


def missing_scores(session: Session, rnd: SelectionRound) -> list[tuple[NominationExpert, SelectionCriterion | None]]:
    """What keeps the round's evaluation from being complete: (expert assignment, criterion) pairs.

    The same rule as a scenario's evaluation (:mod:`marketplace.applications.completeness`): every expert
    assigned to a live nomination has recused, or declared no conflict and scored every criterion. The
    criterion is None for an expert who has not declared yet (then every criterion is missing).
    """
    criteria = list(rnd.criteria)
    result: list[tuple[NominationExpert, SelectionCriterion | None]] = []
    for nomination in rnd.nominations:
        if nomination.status != NominationStatus.SUBMITTED:
            continue
        for assignment in nomination.experts:
            if assignment.recused:
                continue
            if assignment.declared_at is None:
                result.append((assignment, None))
                continue
            scored = {s.criterion_id for s in assignment.scores}
            result.extend((assignment, c) for c in criteria if c.id not in scored)
    return result


# ====================================================================== publication

def make_demonstration(nomination: Nomination, published_at, firm=None) -> Demonstration:
    """The public case built from a selected nomination (write-up and media copied)."""
    return Demonstration(
        nomination=nomination, scenario=nomination.scenario, firm=firm, year=nomination.round.year,
        title=nomination.scenario.title, problem=nomination.problem, solution=nomination.solution,
        outcomes=nomination.outcomes, highlights=nomination.highlights, published_at=published_at,
        media=list(nomination.media),
    )


def require_publishable(actor: User, rnd: SelectionRound, selected_ids: Iterable[int]) -> None:
    """City staff, a round in scoring, at least one valid nomination chosen (also the confirmation's precheck)."""
    _require_city_staff(actor, _("只有市级工作人员可以公布评选结果。"))
    if rnd.status != RoundStatus.SCORING:
        raise InvalidTransition(_("只有评审阶段的评选可以公布结果。"))
    chosen = set(selected_ids)
    live = {n.id for n in rnd.nominations if n.status == NominationStatus.SUBMITTED}
    if not chosen:
        raise ValidationFailed(_("请至少选择一个入选项目。"), {"selected": [_("请至少选择一个入选项目。")]})
    if chosen - live:
        raise ValidationFailed(_("所选项目不属于本次评选的有效推荐。"), {"selected": [_("所选项目无效。")]})
    incomplete = missing_scores(object_session(rnd), rnd)
    if incomplete:
        experts = "、".join(dict.fromkeys(a.expert.name for a, _c in incomplete))
        raise InvalidTransition(_("评审尚未完成，不能公布入选名单：专家 %(e)s 尚有 %(n)d 项未声明或未评分"
                                  "（评选页面列出了每一项）。", e=experts, n=len(incomplete)))


def publish_round(session: Session, actor: User, rnd: SelectionRound, selected_ids: Iterable[int],
                  ip: str | None = None) -> list[Demonstration]:
    """Publish the selected list: selected nominations become public demonstrations, the rest not selected."""
    selected_ids = list(selected_ids)
    require_publishable(actor, rnd, selected_ids)
    chosen = set(selected_ids)
    live = {n.id: n for n in rnd.nominations if n.status == NominationStatus.SUBMITTED}
    scored = {row.nomination.id for row in totals(session, rnd) if row.total is not None}
    unscored = sorted(chosen - scored)
    if unscored:
        titles = "、".join(live[i].scenario.title for i in unscored)
        raise ValidationFailed(_("以下项目还没有专家完成评分，不能入选：%(t)s", t=titles),
                               {"selected": [_("有项目尚未完成专家评分。")]})
    now = clock.now()
    demonstrations = []
    for nomination in live.values():
        nomination.decided_at = now
        if nomination.id in chosen:
            nomination.status = NominationStatus.SELECTED
            demo = make_demonstration(nomination, now, facts_for(session, nomination.scenario_id).winner)
            session.add(demo)
            demonstrations.append(demo)
        else:
            nomination.status = NominationStatus.NOT_SELECTED
    rnd.status = RoundStatus.PUBLISHED
    rnd.published_at, rnd.published_by = now, actor
    session.flush()
    audit.record(session, actor=actor, action="selection_round.publish", object_type="selection_round",
                 object_id=rnd.id, before={"status": "scoring"},
                 after={"status": "published", "selected": sorted(chosen),
                        "demonstrations": [d.id for d in demonstrations]}, ip=ip)
    return demonstrations
