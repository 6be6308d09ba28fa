"""When each release of a contracting process happens: the facts (times) of a scenario's events, read
with light column queries, and the release events derived from them (see :mod:`.ocds` for the mapping).

Times come from the rows themselves (``published_at``, ``answered_at``, ``decided_at``, contracts'
``created_at``, milestones' ``recorded_at``, the acceptance's ``created_at``) and, for re-publication and
流榜, from the audit log — the only place that keeps them. Everything is derived from the clock: the
deadline release appears the moment the deadline passes, no job needed.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

from marketplace.models import (
    Acceptance,
    AcceptanceResult,
    Application,
    ApplicationStatus,
    AuditEvent,
    Contract,
    Milestone,
    MilestoneStatus,
    Objection,
    PublicityNotice,
    Question,
    Scenario,
    ScenarioStatus,
)
from marketplace.scenarios.policy import UNSUBMITTED_APPLICATIONS, open_data_clause

#: Stored statuses whose award has been decided (winners chosen).
AWARDED_STATUSES = (ScenarioStatus.AWARDED, ScenarioStatus.IN_DELIVERY, ScenarioStatus.ACCEPTED)
#: Scenario audit actions the mapping reads (the only record of re-publication, 流榜 and withdrawal times, and
#: of the withdrawal's public reason).
AUDIT_ACTIONS = ("scenario.publish", "scenario.reopen", "scenario.award", "scenario.unsuccessful",
                 "scenario.withdraw")


# ------------------------------------------------------------------ facts: the times of each event

@dataclass(frozen=True)
class WithdrawnNotice:
    """A 公示 notice withdrawn after an upheld objection: its award(s) stay in the open data, ``cancelled``."""

    id: int
    starts_at: datetime
    withdrawn_at: datetime
    reason: str | None
    #: The proposed winners as the notice recorded them: (application id, quoted amount in 万元 or None).
    winners: tuple[tuple[int, str | None], ...]

    @property
    def winner_ids(self) -> frozenset[int]:
        return frozenset(application_id for application_id, _amount in self.winners)


@dataclass
class Facts:
    """The times of one process's events, read with light column queries (enough to list releases)."""

    scenario_id: int
    status: ScenarioStatus
    published_at: datetime
    deadline: datetime | None
    #: The latest deadline a submitted application was promised (``Application.sealed_until``), if any.
    promised_until: datetime | None = None
    #: Times of ``scenario.publish`` audit entries, oldest first (the first is the original publication).
    publications: list[datetime] = field(default_factory=list)
    #: ``scenario.reopen`` audit entries: (time, changed field names).
    reopenings: list[tuple[datetime, list[str]]] = field(default_factory=list)
    #: Answered questions: (question id, answered_at).
    answers: list[tuple[int, datetime]] = field(default_factory=list)
    #: Latest ``decided_at`` of selected / not-selected applications.
    selected_at: datetime | None = None
    not_selected_at: datetime | None = None
    award_logged_at: datetime | None = None
    unsuccessful_logged_at: datetime | None = None
    #: Contracts: (contract id, created_at).
    contracts: list[tuple[int, datetime]] = field(default_factory=list)
    #: Recorded milestone outcomes: (milestone id, recorded_at).
    milestone_records: list[tuple[int, datetime]] = field(default_factory=list)
    #: Acceptance: (created_at, passed?).
    acceptance: tuple[datetime, bool] | None = None
    #: The latest live (not withdrawn) 公示 notice: (starts_at, ends_at), None for an award made before
    #: notices existed (final at once).
    notice: tuple[datetime, datetime] | None = None
    #: The id of that notice.
    notice_id: int | None = None
    #: Notices withdrawn after an upheld objection, oldest first.
    withdrawn: list[WithdrawnNotice] = field(default_factory=list)
    #: Objections of that notice: how many are undecided, and the latest decision time.
    undecided_objections: int = 0
    last_objection_decided_at: datetime | None = None
    #: Withdrawn after publication: the ``scenario.withdraw`` audit entry's time and public reason, and the
    #: row's last change (the withdrawal time when that entry is missing).
    withdrawn_logged_at: datetime | None = None
    withdrawal_reason: str | None = None
    updated_at: datetime | None = None

    def award_final_at(self) -> datetime | None:
        """When the award became (or becomes) final: the notice's end, or the last objection decision after
        it; None while an objection is undecided. Twin of :func:`marketplace.applications.publicity.award_state`.
        """
        if self.notice is None:
            return award_date(self)
        if self.undecided_objections:
            return None
        ends = self.notice[1]
        decided = self.last_objection_decided_at
        return max(ends, decided) if decided is not None else ends

    def seal_ends(self) -> datetime | None:
        """Twin of :func:`marketplace.applications.policy.seal_ends` on these columns."""
        if self.deadline is None:
            return None
        return max(self.deadline, self.promised_until) if self.promised_until is not None else self.deadline

    def unsealed(self, now: datetime) -> bool:
        """Twin of :func:`marketplace.applications.policy.is_sealed` on these columns (negated); a scenario
        withdrawn after publication stays as unsealed as it was when withdrawn: tenderers public only when
        sealing had ended before the withdrawal (its ``closed`` release had been published)."""
        ends = self.seal_ends()
        if ends is None or ends > now:
            return False
        if self.status in ScenarioStatus.public():
            return True
        withdrawn = withdrawal_date(self)
        return withdrawn is not None and ends < withdrawn


@dataclass(frozen=True)
class Amendment:
    """A re-publication after a substantive change."""

    number: int
    date: datetime
    changed: tuple[str, ...]


def amendments_of(facts: Facts) -> list[Amendment]:
    """Each publication after the first, with the fields changed since the one before."""
    found = []
    for number, (previous, published) in enumerate(zip(facts.publications, facts.publications[1:],
                                                       strict=False), start=1):
        changed: list[str] = []
        for when, names in facts.reopenings:
            if previous <= when <= published:
                changed.extend(n for n in names if n not in changed)
        found.append(Amendment(number, published, tuple(changed)))
    return found


def award_date(facts: Facts) -> datetime | None:
    """When the award was decided (None before an award)."""
    if facts.status not in AWARDED_STATUSES:
        return None
    return facts.selected_at or facts.award_logged_at or facts.deadline or facts.published_at


def unsuccessful_date(facts: Facts) -> datetime | None:
    """When 流榜 was declared (None unless the scenario is unsuccessful)."""
    if facts.status != ScenarioStatus.UNSUCCESSFUL:
        return None
    return facts.unsuccessful_logged_at or facts.not_selected_at or facts.deadline or facts.published_at


def withdrawal_date(facts: Facts) -> datetime | None:
    """When a scenario withdrawn after publication was withdrawn (None for any other scenario)."""
    if facts.status != ScenarioStatus.WITHDRAWN:
        return None
    return facts.withdrawn_logged_at or facts.updated_at or facts.published_at


def award_status(facts: Facts, as_of: datetime, now: datetime) -> str | None:
    """The OCDS ``awards[].status`` of the process's award(s) as of ``as_of``; None while there is none.

    ``pending`` while the award is proposed (its 公示 notice runs, or has ended with an objection still
    undecided), ``active`` from the moment it became final — derived from the clock like deadlines. An
    award made before notices existed is ``active`` from its decision. A notice withdrawn after an upheld
    objection puts the scenario back to evaluation: the process then has no award until a new one.
    """
    decided = award_date(facts)
    if decided is None or as_of < decided:
        return None
    final = facts.award_final_at()
    return "active" if final is not None and final <= as_of and final <= now else "pending"


def withdrawn_award_status(notice: WithdrawnNotice, as_of: datetime) -> str | None:
    """The OCDS status of a withdrawn notice's awards as of ``as_of``: ``pending`` while its 公示 ran,
    ``cancelled`` from the withdrawal on; None before the notice."""
    if as_of < notice.starts_at:
        return None
    return "pending" if as_of < notice.withdrawn_at else "cancelled"


def award_id(facts: Facts, application_id: int, notice_id: int | None) -> str:
    """``award-<application id>``; when an earlier (withdrawn) notice already proposed the same application,
    ``award-<application id>-<notice id>``, so that every award of the process keeps its own, unchanging id."""
    if notice_id is not None and any(application_id in w.winner_ids for w in facts.withdrawn if w.id < notice_id):
        return f"award-{application_id}-{notice_id}"
    return f"award-{application_id}"


def _award_key(facts: Facts, notice_id: int | None) -> str:
    """The release key of an award decision: ``award`` for the process's first, ``award-<notice id>`` later."""
    first = facts.withdrawn[0].id if facts.withdrawn else facts.notice_id
    return "award" if notice_id is None or notice_id == first else f"award-{notice_id}"


@dataclass(frozen=True)
class ReleaseEvent:
    """One release of one process: its date, id suffix and tags."""

    date: datetime
    scenario_id: int
    key: str
    tags: tuple[str, ...]


def events_of(facts: Facts, now: datetime) -> list[ReleaseEvent]:
    """The releases of one process up to ``now``, oldest first (see the table in the module docstring)."""
    sid = facts.scenario_id
    events = [ReleaseEvent(facts.published_at, sid, "tender", ("tender",))]
    events += [ReleaseEvent(a.date, sid, f"amendment-{a.number}", ("tenderAmendment",)) for a in amendments_of(facts)]
    events += [ReleaseEvent(when, sid, f"qa-{qid}", ("tenderUpdate",)) for qid, when in facts.answers]
    if facts.unsealed(now):
        events.append(ReleaseEvent(facts.seal_ends(), sid, "closed", ("tenderUpdate",)))  # type: ignore[arg-type]
    events += award_events(facts, now)
    failed = unsuccessful_date(facts)
    if failed is not None:
        events.append(ReleaseEvent(failed, sid, "unsuccessful", ("tenderUpdate",)))
    withdrawn = withdrawal_date(facts)
    if withdrawn is not None:
        events.append(ReleaseEvent(withdrawn, sid, "cancelled", ("tenderUpdate",)))
    events += [ReleaseEvent(created, sid, f"contract-{cid}", ("contract",)) for cid, created in facts.contracts]
    implementation = [(when, f"milestone-{mid}", ()) for mid, when in facts.milestone_records]
    if facts.acceptance is not None:
        when, passed = facts.acceptance
        implementation.append((when, "acceptance", ("contractTermination",) if passed else ()))
    for index, (when, key, extra) in enumerate(sorted(implementation)):
        first = "implementation" if index == 0 else "implementationUpdate"
        events.append(ReleaseEvent(when, sid, key, (first, *extra)))
    return sorted(events, key=lambda e: (e.date, _TAG_ORDER.get(e.tags[0], 99), e.key))


def award_events(facts: Facts, now: datetime) -> list[ReleaseEvent]:
    """The award releases: ``award`` at the decision (status ``pending`` during the 公示 notice) and
    ``awardUpdate`` when the notice has ended with no objection undecided (status ``active``). A notice
    withdrawn after an upheld objection keeps its ``award`` release and adds ``award-<notice id>-withdrawn``
    (awardUpdate, its awards ``cancelled``); a later award's release is ``award-<notice id>``."""
    events: list[ReleaseEvent] = []
    for notice in facts.withdrawn:
        events.append(ReleaseEvent(notice.starts_at, facts.scenario_id, _award_key(facts, notice.id), ("award",)))
        events.append(ReleaseEvent(notice.withdrawn_at, facts.scenario_id, f"award-{notice.id}-withdrawn",
                                   ("awardUpdate",)))
    decided = award_date(facts)
    if decided is None:
        return events
    events.append(ReleaseEvent(decided, facts.scenario_id, _award_key(facts, facts.notice_id), ("award",)))
    final = facts.award_final_at()
    if facts.notice is not None and final is not None and final <= now:
        events.append(ReleaseEvent(final, facts.scenario_id, "award-final", ("awardUpdate",)))
    return events


#: Same-second events keep the lifecycle's order.
_TAG_ORDER = {"tender": 0, "tenderAmendment": 1, "tenderUpdate": 2, "award": 3, "awardUpdate": 4, "contract": 5,
              "implementation": 6, "implementationUpdate": 7}


def load_facts(session: Session, scenario_ids: Iterable[int] | None = None) -> dict[int, Facts]:
    """Facts of every scenario with open data (public, or withdrawn after publication: ``open_data_clause``),
    or of the given ones that have it, by scenario id."""
    ids = None if scenario_ids is None else sorted(set(scenario_ids))
    if ids is not None and not ids:
        return {}

    def only(column):
        return column.in_(ids) if ids is not None else sa.true()

    rows = session.execute(sa.select(Scenario.id, Scenario.status, Scenario.published_at, Scenario.deadline,
                                     Scenario.updated_at)
                           .where(open_data_clause(), Scenario.published_at.is_not(None), only(Scenario.id))).all()
    facts = {r.id: Facts(r.id, r.status, r.published_at, r.deadline, updated_at=r.updated_at) for r in rows}
    if not facts:
        return {}
    public = sa.select(Scenario.id).where(open_data_clause())
    notice_ids: dict[int, int] = {}

    def scoped(column):
        return column.in_(ids) if ids is not None else column.in_(public)

    for sid, qid, answered in session.execute(
            sa.select(Question.scenario_id, Question.id, Question.answered_at)
            .where(scoped(Question.scenario_id), Question.answer.is_not(None), Question.answered_at.is_not(None))):
        if sid in facts:
            facts[sid].answers.append((qid, answered))
    for sid, promised in session.execute(
            sa.select(Application.scenario_id, sa.func.max(Application.sealed_until))
            .where(scoped(Application.scenario_id), Application.status.not_in(UNSUBMITTED_APPLICATIONS))
            .group_by(Application.scenario_id)):
        if sid in facts:
            facts[sid].promised_until = promised
    for sid, status, decided in session.execute(
            sa.select(Application.scenario_id, Application.status, sa.func.max(Application.decided_at))
            .where(scoped(Application.scenario_id),
                   Application.status.in_((ApplicationStatus.SELECTED, ApplicationStatus.NOT_SELECTED)))
            .group_by(Application.scenario_id, Application.status)):
        if sid in facts:
            if status == ApplicationStatus.SELECTED:
                facts[sid].selected_at = decided
            else:
                facts[sid].not_selected_at = decided
    for sid, nid, starts, ends in session.execute(
            sa.select(PublicityNotice.scenario_id, PublicityNotice.id, PublicityNotice.starts_at,
                      PublicityNotice.ends_at)
            .where(scoped(PublicityNotice.scenario_id), PublicityNotice.withdrawn_at.is_(None))
            .order_by(PublicityNotice.id)):
        if sid in facts:
            facts[sid].notice = (starts, ends)
            facts[sid].notice_id = nid
            notice_ids[sid] = nid
    for sid, nid, starts, withdrawn_at, reason, winners in session.execute(
            sa.select(PublicityNotice.scenario_id, PublicityNotice.id, PublicityNotice.starts_at,
                      PublicityNotice.withdrawn_at, PublicityNotice.withdrawn_reason, PublicityNotice.winners)
            .where(scoped(PublicityNotice.scenario_id), PublicityNotice.withdrawn_at.is_not(None))
            .order_by(PublicityNotice.id)):
        if sid in facts:
            facts[sid].withdrawn.append(WithdrawnNotice(
                nid, starts, withdrawn_at, reason,
                tuple((int(w["application_id"]), w.get("amount_wan")) for w in winners or ()
                      if w.get("application_id") is not None)))
    if notice_ids:
        for nid, undecided, decided in session.execute(
                sa.select(Objection.notice_id,
                          sa.func.count(Objection.id).filter(Objection.decision.is_(None)),
                          sa.func.max(Objection.decided_at))
                .where(Objection.notice_id.in_(list(notice_ids.values()))).group_by(Objection.notice_id)):
            sid = next(k for k, v in notice_ids.items() if v == nid)
            facts[sid].undecided_objections = undecided
            facts[sid].last_objection_decided_at = decided
    for sid, cid, created in session.execute(
            sa.select(Contract.scenario_id, Contract.id, Contract.created_at)
            .where(scoped(Contract.scenario_id)).order_by(Contract.id)):
        if sid in facts:
            facts[sid].contracts.append((cid, created))
    for sid, mid, recorded in session.execute(
            sa.select(Contract.scenario_id, Milestone.id, Milestone.recorded_at).join(Milestone.contract)
            .where(scoped(Contract.scenario_id), Milestone.recorded_at.is_not(None),
                   Milestone.status != MilestoneStatus.PENDING).order_by(Milestone.id)):
        if sid in facts:
            facts[sid].milestone_records.append((mid, recorded))
    for sid, created, result in session.execute(
            sa.select(Acceptance.scenario_id, Acceptance.created_at, Acceptance.result)
            .where(scoped(Acceptance.scenario_id))):
        if sid in facts:
            facts[sid].acceptance = (created, result == AcceptanceResult.PASSED)
    audit_ids = [str(i) for i in facts] if ids is not None else None
    query = (sa.select(AuditEvent.object_id, AuditEvent.action, AuditEvent.created_at, AuditEvent.after)
             .where(AuditEvent.object_type == "scenario", AuditEvent.action.in_(AUDIT_ACTIONS))
             .order_by(AuditEvent.id))
    if audit_ids is not None:
        query = query.where(AuditEvent.object_id.in_(audit_ids))
    for object_id, action, created, after in session.execute(query):
        try:
            item = facts.get(int(object_id))
        except ValueError:
            continue
        if item is None:
            continue
        if action == "scenario.publish":
            item.publications.append(created)
        elif action == "scenario.reopen":
            changed = (after or {}).get("changed") or []
            item.reopenings.append((created, [str(n) for n in changed]))
        elif action == "scenario.award":
            item.award_logged_at = created
        elif action == "scenario.withdraw":
            item.withdrawn_logged_at = created
            item.withdrawal_reason = str((after or {}).get("reason") or "").strip() or None
        else:
            item.unsuccessful_logged_at = created
    for item in facts.values():
        item.answers.sort(key=lambda a: (a[1], a[0]))
        item.publications.sort()
    return facts


def all_events(session: Session, now: datetime) -> list[ReleaseEvent]:
    """Every release of every process with open data, newest first."""
    events = [e for facts in load_facts(session).values() for e in events_of(facts, now)]
    return sorted(events, key=lambda e: (e.date, e.scenario_id, e.key), reverse=True)
