"""One light row per scenario (and per overdue milestone, per newly settled firm): what the figures count.

Every figure of the dashboard and the public statistics is a count or sum over these facts,
loaded once per page for the page's :class:`~marketplace.statistics.scope.Scope`.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.orm import Session

from marketplace import clock
from marketplace.models import (
    Application,
    ApplicationStatus,
    Contract,
    Demonstration,
    District,
    Domain,
    EnterpriseProfile,
    Milestone,
    MilestoneStatus,
    Organisation,
    Scenario,
    ScenarioStatus,
    batch_scenarios,
    final_award_clause,
    pending_notice_clause,
)
from marketplace.statistics.scope import NO_DOMAIN, OTHER_DISTRICT, Scope

#: Stored statuses of a scenario whose winner has been chosen.
AWARDED_OR_LATER = (ScenarioStatus.AWARDED, ScenarioStatus.IN_DELIVERY, ScenarioStatus.ACCEPTED)


@dataclass(frozen=True)
class Award:
    """A winning application as the statistics see it (after the deadline only)."""

    organisation: str
    district: str | None
    #: Contract amount, else the quoted price; None when neither is known.
    amount: Decimal | None


@dataclass
class ScenarioFact:
    """What the figures need of one scenario (never a draft)."""

    id: int
    title: str
    stored: ScenarioStatus
    status: str
    district: str
    domain: str
    owner: str
    budget: Decimal | None
    deadline: datetime | None
    day: date
    batches: frozenset[int] = frozenset()
    awards: list[Award] = field(default_factory=list)
    demonstration: bool = False
    #: False while the award is in 公示 or has an undecided 异议 (marketplace.models.final_award_clause).
    final: bool = True

    @property
    def year(self) -> int:
        return self.day.year

    @property
    def month(self) -> str:
        return f"{self.day.year:04d}-{self.day.month:02d}"

    def in_stage(self, stage: str) -> bool:
        """Whether the scenario reached a funnel stage."""
        if stage == "collected":
            return self.stored != ScenarioStatus.DRAFT
        if stage == "published":
            return self.stored in ScenarioStatus.public()
        if stage == "awarded":
            return self.stored in AWARDED_OR_LATER and self.final
        if stage == "in_delivery":
            return self.stored in (ScenarioStatus.IN_DELIVERY, ScenarioStatus.ACCEPTED)
        if stage == "accepted":
            return self.stored == ScenarioStatus.ACCEPTED
        return self.demonstration

    def _won_by(self, winner: str, award: Award) -> bool:
        if winner == "district":
            return award.district == self.district
        if winner == "city":
            return award.district is not None and award.district != OTHER_DISTRICT
        return True

    def has_winner(self, winner: str) -> bool:
        return any(self._won_by(winner, a) for a in self.awards)

    def amount(self, winner: str = "any") -> Decimal:
        """Awarded funding (万元) won by the given kind of firm."""
        return sum((a.amount or Decimal(0) for a in self.awards if self._won_by(winner, a)), Decimal(0))


def _status_key(stored: ScenarioStatus, deadline: datetime | None, now: datetime, pending: bool = False) -> str:
    """The status as people see it: open/closed from the deadline; ``publicity`` (公示中) for an award whose
    notice is pending — as the scenario's badge (:meth:`marketplace.models.Scenario.display_status`)."""
    if stored == ScenarioStatus.PUBLISHED:
        return "closed" if deadline is not None and deadline <= now else "open"
    if stored == ScenarioStatus.AWARDED and pending:
        return ScenarioStatus.PUBLICITY.value
    return stored.value


def _conditions(scope: Scope, public_only: bool) -> list[sa.ColumnElement[bool]]:
    conditions: list[sa.ColumnElement[bool]] = [Scenario.status != ScenarioStatus.DRAFT]
    if public_only:
        conditions.append(Scenario.status.in_(ScenarioStatus.public()))
    if scope.district is not None:
        conditions.append(Scenario.district_id == scope.district.id)
    return conditions


def load_facts(session: Session, scope: Scope, *, public_only: bool, now: datetime | None = None
               ) -> list[ScenarioFact]:
    """The non-draft scenarios in ``scope`` (public ones only when asked), newest first.

    The public variant reads nothing from applications; the staff variant reads the winners of
    scenarios awarded or later whose deadline has passed.
    """
    now = now or clock.now()
    conditions = _conditions(scope, public_only)
    ids = sa.select(Scenario.id).where(*conditions)
    rows = session.execute(
        sa.select(Scenario.id, Scenario.title, Scenario.status, Scenario.deadline, Scenario.published_at,
                  Scenario.submitted_at, Scenario.created_at, Scenario.budget_wan, District.code, Domain.code,
                  Organisation.name)
        .join(District, Scenario.district_id == District.id)
        .outerjoin(Domain, Scenario.domain_id == Domain.id)
        .join(Organisation, Scenario.owner_id == Organisation.id)
        .where(*conditions)
    ).all()
    batches: dict[int, set[int]] = defaultdict(set)
    for scenario_id, batch_id in session.execute(
            sa.select(batch_scenarios.c.scenario_id, batch_scenarios.c.batch_id)
            .where(batch_scenarios.c.scenario_id.in_(ids))):
        batches[scenario_id].add(batch_id)
    awards = {} if public_only else _awards(session, conditions, now)
    pending = set(session.execute(sa.select(Scenario.id).where(
        Scenario.id.in_(ids), Scenario.status.in_(AWARDED_OR_LATER), pending_notice_clause(now))).scalars())
    shown = _demonstrated(session, ids)
    facts = []
    for (sid, title, stored, deadline, published_at, submitted_at, created_at, budget, district, domain,
         owner) in rows:
        day = clock.to_local(published_at or submitted_at or created_at).date()
        if scope.year is not None and day.year != scope.year:
            continue
        facts.append(ScenarioFact(
            id=sid, title=title, stored=stored, status=_status_key(stored, deadline, now, sid in pending),
            district=district,
            domain=domain or NO_DOMAIN, owner=owner, budget=budget, deadline=deadline, day=day,
            batches=frozenset(batches.get(sid, ())), awards=awards.get(sid, []),
            demonstration=sid in shown and stored == ScenarioStatus.ACCEPTED, final=sid not in pending))
    facts.sort(key=lambda f: (f.day, f.id), reverse=True)
    return facts


def _awards(session: Session, conditions: list[sa.ColumnElement[bool]], now: datetime) -> dict[int, list[Award]]:
    """Winners of unsealed, awarded-or-later scenarios.

    The same rule as the demonstration pages and the appraisal (:mod:`marketplace.showcase.facts`):
    a scenario with contracts is won by its contract holders for the contract amounts; one without
    a contract yet by its selected applications for their quoted prices.
    """
    unsealed = [*conditions, final_award_clause(now), Scenario.deadline.is_not(None),
                Scenario.deadline <= now]
    winner_columns = (Organisation.name, District.code)
    contracts = session.execute(
        sa.select(Contract.scenario_id, *winner_columns, Contract.amount_wan)
        .join(Scenario, Contract.scenario_id == Scenario.id)
        .join(Application, Contract.application_id == Application.id)
        .join(Organisation, Application.organisation_id == Organisation.id)
        .outerjoin(District, Organisation.district_id == District.id)
        .where(*unsealed)
        .order_by(Contract.scenario_id, Contract.signed_on, Contract.id)
    ).all()
    selected = session.execute(
        sa.select(Application.scenario_id, *winner_columns, Application.price_wan)
        .join(Scenario, Application.scenario_id == Scenario.id)
        .join(Organisation, Application.organisation_id == Organisation.id)
        .outerjoin(District, Organisation.district_id == District.id)
        .where(*unsealed, Application.status == ApplicationStatus.SELECTED)
        .order_by(Application.scenario_id, Application.id)
    ).all()
    awards: dict[int, list[Award]] = defaultdict(list)
    for scenario_id, organisation, district, amount in contracts:
        awards[scenario_id].append(Award(organisation, district, amount))
    with_contract = set(awards)
    for scenario_id, organisation, district, price in selected:
        if scenario_id not in with_contract:
            awards[scenario_id].append(Award(organisation, district, price))
    return awards


def _demonstrated(session: Session, ids: sa.Select) -> set[int]:
    """Scenarios that became a published demonstration project (a ``Demonstration`` row is a published case)."""
    return set(session.execute(
        sa.select(Demonstration.scenario_id).where(Demonstration.scenario_id.in_(ids))).scalars())


@dataclass(frozen=True)
class MilestoneFact:
    """An overdue milestone: pending, due before today."""

    id: int
    title: str
    due_on: date
    days_overdue: int
    scenario_id: int
    scenario_title: str
    district: str
    firm: str


def overdue_milestones(session: Session, district: District | None, today: date | None = None) -> list[MilestoneFact]:
    """Pending milestones due before today (Asia/Shanghai), most overdue first."""
    today = today or clock.local_today()
    query = (
        sa.select(Milestone.id, Milestone.title, Milestone.due_on, Scenario.id, Scenario.title, District.code,
                  Organisation.name)
        .join(Contract, Milestone.contract_id == Contract.id)
        .join(Scenario, Contract.scenario_id == Scenario.id)
        .join(District, Scenario.district_id == District.id)
        .join(Application, Contract.application_id == Application.id)
        .join(Organisation, Application.organisation_id == Organisation.id)
        .where(Milestone.status == MilestoneStatus.PENDING, Milestone.due_on < today,
               Scenario.status != ScenarioStatus.DRAFT)
        .order_by(Milestone.due_on, Milestone.id)
    )
    if district is not None:
        query = query.where(Scenario.district_id == district.id)
    return [MilestoneFact(mid, title, due, (today - due).days, sid, stitle, code, firm)
            for mid, title, due, sid, stitle, code, firm in session.execute(query)]


@dataclass(frozen=True)
class FirmFact:
    """A firm that settled in its district in the year asked for (新入驻)."""

    organisation_id: int
    name: str
    district: str
    settled_year: int
    verification: str


def new_firms(session: Session, district: District | None, year: int) -> list[FirmFact]:
    """Active firms whose profile says they settled in ``year``, in the district (or anywhere)."""
    query = (
        sa.select(Organisation.id, Organisation.name, District.code, EnterpriseProfile.settled_year,
                  EnterpriseProfile.status)
        .join(Organisation, EnterpriseProfile.organisation_id == Organisation.id)
        .join(District, Organisation.district_id == District.id)
        .where(EnterpriseProfile.settled_year == year, Organisation.active)
        .order_by(Organisation.name)
    )
    if district is not None:
        query = query.where(Organisation.district_id == district.id)
    return [FirmFact(oid, name, code, settled, status.label)
            for oid, name, code, settled, status in session.execute(query)]
