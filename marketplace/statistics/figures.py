"""Figures for the district dashboard, the public statistics page and ``GET /api/v1/statistics``.

No request code here. Views resolve a :class:`Scope` (which district, which year) and get
:class:`Table` objects back. Every number in a table carries the query that reproduces the
records behind it (:class:`ScenarioQuery`, :class:`MilestoneQuery`, :class:`FirmQuery`), and
every number is *computed* from that same query (``query.matches``), so a figure and the list
it links to cannot disagree.

Definitions (shown on the pages too):

- A scenario's *date* is when it was published or, not yet published, when it was submitted
  for review; "year" and "month" are those of that date in Asia/Shanghai. A year scope is a
  cohort: "of the scenarios published in 2024, how many were awarded".
- Drafts are never counted: a scenario is *collected* (征集) once submitted.
- The funnel is cumulative: collected → published (published or later) → awarded (awarded,
  in delivery or accepted) → in delivery (in delivery or accepted) → accepted → demonstration.
- "Closed" is derived from the clock, as everywhere: published and past its deadline.
- Awarded funding: the scenario's contract amounts, or, while no contract is recorded, the quoted
  prices of its selected applications (the rule of :mod:`marketplace.showcase.facts`). Only
  scenarios awarded or later whose deadline has passed are read: applications are sealed before.
- A winner is a *district* firm when its organisation is in the scenario's district, a *city*
  firm when its organisation has any district but "other".
- Public statistics read public scenarios only (published and later) and show counts only:
  no funding, no firms, nothing from applications.
"""

from __future__ import annotations

import dataclasses
import io
import re
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any, ClassVar

import sqlalchemy as sa
from flask_babel import gettext as _
from sqlalchemy.orm import Session

from marketplace import clock
from marketplace.errors import DomainError, PermissionDenied
from marketplace.models import (
    Application,
    ApplicationStatus,
    Batch,
    Contract,
    District,
    Domain,
    EnterpriseProfile,
    Milestone,
    MilestoneStatus,
    Organisation,
    Role,
    Scenario,
    ScenarioStatus,
    User,
    batch_scenarios,
)

#: Status keys as people see them; "open" is a published scenario before its deadline (as in the list filters).
STAFF_STATUSES = ("submitted", "returned", "open", "closed", "awarded", "in_delivery", "accepted", "unsuccessful",
                  "withdrawn")
#: The statuses of public scenarios (the public list's status filters).
PUBLIC_STATUSES = ("open", "closed", "awarded", "in_delivery", "accepted", "unsuccessful")
#: Funnel stages, each contained in the one before.
STAGES = ("collected", "published", "awarded", "in_delivery", "accepted", "demonstration")
#: Winner filters: any recorded winner, a firm of the scenario's district, a firm of the city.
WINNERS = ("any", "district", "city")
#: "Near the deadline": open and closing within this many days.
NEAR_DEADLINE_DAYS = 7
#: Code of the catch-all district for places outside the central-urban districts.
OTHER_DISTRICT = "other"
#: Domain key for scenarios without a domain.
NO_DOMAIN = "none"
YEAR_MIN, YEAR_MAX = 2000, 2100
MAX_INT = 2**31 - 1
#: The tables an export may name, per page.
DASHBOARD_TABLES = ("districts", "funnel", "status", "domain", "batch", "month", "funding", "alerts")
PUBLIC_TABLES = ("status", "district", "domain", "year")

_AWARDED_OR_LATER = (ScenarioStatus.AWARDED, ScenarioStatus.IN_DELIVERY, ScenarioStatus.ACCEPTED)
_MONTH = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$")


class InvalidParameters(DomainError):
    """Query-string parameters the statistics cannot use (HTTP 400, with per-parameter messages)."""

    status_code = 400


# ------------------------------------------------------------------ labels


def status_label(key: str) -> str:
    """The label of a status key ("open" is the published status before the deadline)."""
    return ScenarioStatus.PUBLISHED.label if key == "open" else ScenarioStatus(key).label


def stage_label(stage: str) -> str:
    return {
        "collected": _("征集"), "published": _("发布"), "awarded": _("揭榜"), "in_delivery": _("实施"),
        "accepted": _("验收"), "demonstration": _("示范"),
    }[stage]


def winner_label(winner: str) -> str:
    return {"any": _("已确定揭榜企业"), "district": _("本区县企业揭榜"), "city": _("本市企业揭榜")}[winner]


def reference_name(row: District | Domain | None) -> str:
    """A district's or domain's name in the interface language."""
    if row is None:
        return _("未填写领域")
    from flask_babel import get_locale

    try:
        locale = get_locale()
    except (RuntimeError, AttributeError):  # outside an app context
        locale = None
    if locale is not None and locale.language == "en" and row.name_en:
        return row.name_en
    return row.name


def format_value(value: int | Decimal | None, fmt: str) -> str:
    """How a number is written in tables: counts as integers, 万元 with two decimals, shares in percent."""
    if value is None:
        return "—"
    if fmt == "wan":
        return f"{Decimal(value):,.2f}"
    if fmt == "percent":
        return f"{Decimal(value) * 100:.1f}%"
    return f"{int(value):,}"


# ------------------------------------------------------------------ scope and parameters


@dataclass(frozen=True)
class Scope:
    """Whose figures: one district (or every district when None) and optionally one year."""

    district: District | None = None
    year: int | None = None

    @property
    def district_code(self) -> str | None:
        return self.district.code if self.district is not None else None

    def describe(self) -> str:
        where = reference_name(self.district) if self.district is not None else _("全部区县")
        when = _("%(year)d年", year=self.year) if self.year else _("全部年份")
        return f"{where} · {when}"


def _fail(name: str, message: str) -> InvalidParameters:
    return InvalidParameters(_("参数有误：%(detail)s", detail=f"{name}: {message}"), {name: [message]})


def parse_int(raw: object, name: str, low: int, high: int) -> int | None:
    """An optional integer parameter in ``low..high``; anything else raises :class:`InvalidParameters`."""
    text = str(raw).strip() if raw is not None else ""
    if not text:
        return None
    try:
        value = int(text)
    except ValueError:
        raise _fail(name, _("必须是整数。"))
    if not low <= value <= high:
        raise _fail(name, _("取值超出范围（%(lo)d–%(hi)d）。", lo=low, hi=high))
    return value


def parse_year(raw: object) -> int | None:
    return parse_int(raw, "year", YEAR_MIN, YEAR_MAX)


def parse_district(session: Session, raw: object) -> District | None:
    """A district code, or nothing; an unknown code raises :class:`InvalidParameters`."""
    code = str(raw).strip() if raw is not None else ""
    if not code:
        return None
    district = session.execute(sa.select(District).where(District.code == code)).scalar_one_or_none()
    if district is None:
        raise _fail("district", _("未知的区县：%(v)s", v=code[:40]))
    return district


def can_see_dashboard(user: User | None) -> bool:
    return user is not None and user.is_authenticated and user.role in (Role.DISTRICT_STAFF, Role.CITY_STAFF)


def staff_scope(session: Session, user: User, district: object = None, year: object = None) -> Scope:
    """The dashboard scope a staff user asked for: district staff their own district only, city staff any.

    Raises :class:`PermissionDenied` for another district (or a user who is not staff) and
    :class:`InvalidParameters` for values that are not a district code or a year.
    """
    if not can_see_dashboard(user):
        raise PermissionDenied(_("只有区县和市级工作人员可以查看区县看板。"))
    parsed_year = parse_year(year)
    wanted = parse_district(session, district)
    if user.role == Role.DISTRICT_STAFF:
        own = user.district
        if own is None:
            raise PermissionDenied(_("您的账号未关联区县，无法查看区县看板。"))
        if wanted is not None and wanted.id != own.id:
            raise PermissionDenied(_("区县工作人员只能查看本区县的数据。"))
        return Scope(own, parsed_year)
    return Scope(wanted, parsed_year)


def public_scope(session: Session, district: object = None, year: object = None) -> Scope:
    """Scope of the public statistics (anyone may choose any district and year)."""
    return Scope(parse_district(session, district), parse_year(year))


# ------------------------------------------------------------------ facts: one light row per scenario


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
            return self.stored in _AWARDED_OR_LATER
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


def _status_key(stored: ScenarioStatus, deadline: datetime | None, now: datetime) -> str:
    if stored == ScenarioStatus.PUBLISHED:
        return "closed" if deadline is not None and deadline <= now else "open"
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
    shown = _demonstrated(session, ids)
    facts = []
    for (sid, title, stored, deadline, published_at, submitted_at, created_at, budget, district, domain,
         owner) in rows:
        day = clock.to_local(published_at or submitted_at or created_at).date()
        if scope.year is not None and day.year != scope.year:
            continue
        facts.append(ScenarioFact(
            id=sid, title=title, stored=stored, status=_status_key(stored, deadline, now), district=district,
            domain=domain or NO_DOMAIN, owner=owner, budget=budget, deadline=deadline, day=day,
            batches=frozenset(batches.get(sid, ())), awards=awards.get(sid, []),
            demonstration=sid in shown and stored == ScenarioStatus.ACCEPTED))
    facts.sort(key=lambda f: (f.day, f.id), reverse=True)
    return facts


def _awards(session: Session, conditions: list[sa.ColumnElement[bool]], now: datetime) -> dict[int, list[Award]]:
    """Winners of unsealed, awarded-or-later scenarios.

    The same rule as the demonstration pages and the appraisal (:mod:`marketplace.showcase.facts`):
    a scenario with contracts is won by its contract holders for the contract amounts; one without
    a contract yet by its selected applications for their quoted prices.
    """
    unsealed = [*conditions, Scenario.status.in_(_AWARDED_OR_LATER), Scenario.deadline.is_not(None),
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
    """Scenarios that became a published demonstration project (a ``Demonstration`` row is a published case).

    Imported here so that the statistics keep working where the demonstration area is not installed.
    """
    try:
        from marketplace.models.showcase import Demonstration
    except ImportError:
        return set()
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


# ------------------------------------------------------------------ queries: the records behind a number


def _text(args: Mapping[str, Any], name: str) -> str | None:
    value = args.get(name)
    text = str(value).strip() if value is not None else ""
    return text or None


def _choice(args: Mapping[str, Any], name: str, allowed: Iterable[str]) -> str | None:
    value = _text(args, name)
    if value is not None and value not in allowed:
        raise _fail(name, _("未知的取值：%(v)s", v=value[:40]))
    return value


@dataclass(frozen=True)
class ScenarioQuery:
    """A list of scenarios: the records behind a scenario figure, as query-string arguments."""

    kind: ClassVar[str] = "scenarios"

    district: str | None = None
    year: int | None = None
    month: str | None = None
    status: str | None = None
    stage: str | None = None
    domain: str | None = None
    batch: int | None = None
    winner: str | None = None
    due_within: int | None = None

    def but(self, **changes: Any) -> ScenarioQuery:
        return dataclasses.replace(self, **changes)

    def args(self) -> dict[str, Any]:
        """Query-string arguments of the list page (and of this query's parser)."""
        return {k: v for k, v in dataclasses.asdict(self).items() if v is not None}

    def matches(self, fact: ScenarioFact, now: datetime) -> bool:
        """Whether a scenario belongs to this list; every figure is a count or sum over these."""
        if self.district is not None and fact.district != self.district:
            return False
        if self.year is not None and fact.year != self.year:
            return False
        if self.month is not None and fact.month != self.month:
            return False
        if self.status is not None and fact.status != self.status:
            return False
        if self.stage is not None and not fact.in_stage(self.stage):
            return False
        if self.domain is not None and fact.domain != self.domain:
            return False
        if self.batch is not None and self.batch not in fact.batches:
            return False
        if self.winner is not None and not fact.has_winner(self.winner):
            return False
        if self.due_within is not None:
            return (fact.status == "open" and fact.deadline is not None
                    and fact.deadline <= now + timedelta(days=self.due_within))
        return True

    def public_list_args(self, public_only: bool) -> dict[str, Any] | None:
        """The same records as arguments of the public ``/scenarios`` list, or None when it cannot show them.

        ``public_only`` says whether the records were read from public scenarios only (the
        public statistics), in which case "every stage" already means "published".
        """
        if self.year is not None or self.month is not None or self.winner is not None or self.domain == NO_DOMAIN:
            return None
        status = self.status
        if self.stage == "accepted":
            if status not in (None, "accepted"):
                return None
            status = "accepted"
        elif self.stage not in (None, "published"):
            return None  # the public list has no filter for a cumulative stage
        if self.stage is None and status is None and self.due_within is None and not public_only:
            return None  # every stage: includes scenarios not yet public
        if status is not None and status not in PUBLIC_STATUSES:
            return None
        args = {"district": [self.district] if self.district else None, "domain": self.domain, "status": status,
                "batch": self.batch, "due_within": self.due_within}
        return {k: v for k, v in args.items() if v is not None}

    def describe(self) -> str:
        """A one-line human description of the list ("渝中区 · 2025年 · 揭榜 · 人工智能")."""
        parts = []
        if self.year is not None:
            parts.append(_("%(year)d年", year=self.year))
        if self.month is not None:
            parts.append(self.month)
        if self.stage is not None:
            parts.append(_("阶段：%(s)s", s=stage_label(self.stage)))
        if self.status is not None:
            parts.append(_("状态：%(s)s", s=status_label(self.status)))
        if self.winner is not None:
            parts.append(winner_label(self.winner))
        if self.due_within is not None:
            parts.append(_("%(n)d天内截止", n=self.due_within))
        return " · ".join(parts)

    @classmethod
    def parse(cls, session: Session, args: Mapping[str, Any], *, public: bool) -> ScenarioQuery:
        """Read a query from a query string; bad values raise :class:`InvalidParameters`.

        The public variant accepts only what public statistics link to: public statuses, no
        winners (nothing about applications) and no stages beyond what the public list shows.
        """
        district = parse_district(session, _text(args, "district"))
        domain = _text(args, "domain")
        if domain is not None and domain != NO_DOMAIN and session.execute(
                sa.select(Domain.id).where(Domain.code == domain)).scalar_one_or_none() is None:
            raise _fail("domain", _("未知的产业领域：%(v)s", v=domain[:40]))
        month = _text(args, "month")
        if month is not None and not _MONTH.match(month):
            raise _fail("month", _("月份应写成 YYYY-MM。"))
        return cls(
            district=district.code if district is not None else None,
            year=parse_year(args.get("year")),
            month=month,
            status=_choice(args, "status", PUBLIC_STATUSES if public else STAFF_STATUSES),
            stage=_choice(args, "stage", ("published",) if public else STAGES),
            domain=domain,
            batch=parse_int(args.get("batch"), "batch", 1, MAX_INT),
            winner=None if public else _choice(args, "winner", WINNERS),
            due_within=parse_int(args.get("due_within"), "due_within", 1, 366),
        )

    def scope(self, session: Session) -> Scope:
        district = parse_district(session, self.district)
        return Scope(district, self.year)


@dataclass(frozen=True)
class MilestoneQuery:
    """The overdue milestones of a district (or of every district)."""

    kind: ClassVar[str] = "milestones"

    district: str | None = None

    def args(self) -> dict[str, Any]:
        return {"district": self.district} if self.district else {}


@dataclass(frozen=True)
class FirmQuery:
    """The firms newly settled in a district in a year."""

    kind: ClassVar[str] = "firms"

    district: str | None = None
    year: int | None = None

    def args(self) -> dict[str, Any]:
        return {k: v for k, v in (("district", self.district), ("year", self.year)) if v is not None}


RecordQuery = ScenarioQuery | MilestoneQuery | FirmQuery


def staff_link(query: RecordQuery) -> tuple[str, dict[str, Any]]:
    """(endpoint, arguments) of the staff list behind a dashboard number."""
    endpoint = {"scenarios": "showcase.dashboard_records", "milestones": "showcase.dashboard_milestones",
                "firms": "showcase.dashboard_firms"}[query.kind]
    return endpoint, query.args()


def public_link(query: ScenarioQuery) -> tuple[str, dict[str, Any]]:
    """(endpoint, arguments) of the public list behind a public number.

    The public scenario list when its filters can show exactly these records; otherwise the
    public statistics' own list (by year, or scenarios without a domain).
    """
    args = query.public_list_args(public_only=True)
    if args is not None:
        return "scenarios.index", args
    return "showcase.statistics_records", query.args()


def scenario_records(facts: list[ScenarioFact], query: ScenarioQuery, now: datetime | None = None
                     ) -> list[ScenarioFact]:
    """The scenarios behind a figure (``facts`` loaded for the query's scope)."""
    now = now or clock.now()
    return [f for f in facts if query.matches(f, now)]


# ------------------------------------------------------------------ tables


@dataclass(frozen=True)
class Column:
    key: str
    label: str
    #: count | wan | percent
    format: str = "count"


@dataclass
class Cell:
    value: int | Decimal | None
    #: The records behind the number (None only for a total that is not a list).
    query: RecordQuery | None = None


@dataclass
class Row:
    key: str
    label: str
    cells: dict[str, Cell]


@dataclass
class Table:
    """One table of numbers and the chart drawn from it."""

    key: str
    title: str
    columns: list[Column]
    rows: list[Row]
    #: bar | stacked | line | pie | funnel
    chart: str = "bar"
    #: Column keys the chart draws (all count columns when empty).
    series: tuple[str, ...] = ()
    note: str = ""

    def cell(self, row: str, column: str) -> Cell:
        return next(r for r in self.rows if r.key == row).cells[column]


class _Counter:
    """Counts and sums over facts through queries, so each number is its query's records."""

    def __init__(self, facts: list[ScenarioFact], now: datetime) -> None:
        self.facts = facts
        self.now = now
        # Candidates by district and by batch, so that a table of many rows does not scan every fact per cell.
        self.by_district: dict[str, list[ScenarioFact]] = defaultdict(list)
        self.by_batch: dict[int, list[ScenarioFact]] = defaultdict(list)
        for fact in facts:
            self.by_district[fact.district].append(fact)
            for batch in fact.batches:
                self.by_batch[batch].append(fact)

    def matching(self, query: ScenarioQuery) -> list[ScenarioFact]:
        candidates = self.facts
        if query.batch is not None:
            candidates = self.by_batch.get(query.batch, [])
        elif query.district is not None:
            candidates = self.by_district.get(query.district, [])
        return [f for f in candidates if query.matches(f, self.now)]

    def count(self, query: ScenarioQuery) -> Cell:
        return Cell(len(self.matching(query)), query)

    def amount(self, query: ScenarioQuery, winner: str = "any") -> Cell:
        return Cell(sum((f.amount(winner) for f in self.matching(query)), Decimal(0)), query)

    def share(self, part: ScenarioQuery, whole: ScenarioQuery) -> Cell:
        denominator = len(self.matching(whole))
        return Cell(Decimal(len(self.matching(part))) / denominator if denominator else None, part)

    def amount_share(self, query: ScenarioQuery, winner: str) -> Cell:
        facts = self.matching(query)
        total = sum((f.amount() for f in facts), Decimal(0))
        part = sum((f.amount(winner) for f in facts), Decimal(0))
        return Cell(part / total if total else None, query.but(winner=winner))


def _districts(session: Session) -> list[District]:
    return list(session.execute(sa.select(District).order_by(District.sort_order, District.id)).scalars())


def _domains(session: Session) -> list[Domain]:
    return list(session.execute(sa.select(Domain).order_by(Domain.sort_order, Domain.id)).scalars())


def _domain_rows(session: Session, facts: list[ScenarioFact]) -> list[tuple[str, str]]:
    rows = [(d.code, reference_name(d)) for d in _domains(session)]
    if any(f.domain == NO_DOMAIN for f in facts):
        rows.append((NO_DOMAIN, reference_name(None)))
    return rows


def _months(scope: Scope, today: date) -> list[str]:
    if scope.year is not None:
        return [f"{scope.year:04d}-{m:02d}" for m in range(1, 13)]
    months = []
    year, month = today.year, today.month
    for _i in range(12):
        months.append(f"{year:04d}-{month:02d}")
        year, month = (year - 1, 12) if month == 1 else (year, month - 1)
    return list(reversed(months))


def _stage_columns(stages: Iterable[str]) -> list[Column]:
    return [Column(s, stage_label(s)) for s in stages]


@dataclass
class Dashboard:
    """Everything the district dashboard shows for one scope."""

    scope: Scope
    tables: list[Table]
    near_deadline: list[ScenarioFact]
    overdue: list[MilestoneFact]
    firms_year: int

    def table(self, key: str) -> Table:
        return next(t for t in self.tables if t.key == key)


def dashboard(session: Session, scope: Scope, now: datetime | None = None) -> Dashboard:
    """The dashboard of one district, or of every district side by side (``scope.district`` None)."""
    now = now or clock.now()
    today = clock.to_local(now).date()
    facts = load_facts(session, scope, public_only=False, now=now)
    counter = _Counter(facts, now)
    base = ScenarioQuery(district=scope.district_code, year=scope.year)
    firms_year = scope.year or today.year
    milestones = overdue_milestones(session, scope.district, today)
    firms = new_firms(session, scope.district, firms_year)
    near = ScenarioQuery(district=scope.district_code, due_within=NEAR_DEADLINE_DAYS)
    # Near-deadline scenarios are about today, whatever year is chosen.
    current = counter if scope.year is None else _Counter(
        load_facts(session, Scope(scope.district), public_only=False, now=now), now)

    tables: list[Table] = []
    if scope.district is None:
        tables.append(_district_comparison(session, counter, current, scope, milestones, firms, firms_year))
    funnel_rows = []
    collected = counter.matching(base.but(stage="collected"))
    for stage in STAGES:
        count = counter.count(base.but(stage=stage))
        rate = Cell(Decimal(count.value) / len(collected) if collected else None, count.query)
        funnel_rows.append(Row(stage, stage_label(stage), {"count": count, "rate": rate}))
    tables.append(Table("funnel", _("揭榜漏斗：征集 → 发布 → 揭榜 → 实施 → 验收 → 示范"),
                        [Column("count", _("场景数")), Column("rate", _("占征集比例"), "percent")],
                        funnel_rows, chart="funnel", series=("count",),
                        note=_("各阶段累计：已验收的场景也计入揭榜和实施。")))
    tables.append(Table("status", _("按状态"), [Column("count", _("场景数"))],
                        [Row(s, status_label(s), {"count": counter.count(base.but(status=s))})
                         for s in STAFF_STATUSES],
                        chart="pie", note=_("“已截止”由截止时间推算：已发布且截止时间已过。")))
    stage_cols = ("collected", "published", "awarded", "accepted")
    tables.append(Table("domain", _("按产业领域"), _stage_columns(stage_cols),
                        [Row(code, label, {s: counter.count(base.but(domain=code, stage=s)) for s in stage_cols})
                         for code, label in _domain_rows(session, facts)],
                        chart="bar", series=stage_cols))
    tables.append(_batch_table(session, counter, base, facts))
    month_cols = ("collected", "published")
    tables.append(Table("month", _("按月份") if scope.year else _("近12个月"), _stage_columns(month_cols),
                        [Row(m, m, {s: counter.count(base.but(month=m, stage=s)) for s in month_cols})
                         for m in _months(scope, today)],
                        chart="line", series=month_cols,
                        note=_("按发布时间（尚未发布的按提交审核时间）统计。")))
    tables.append(_funding_table(counter, base))
    tables.append(Table("alerts", _("需要关注"), [Column("count", _("数量"))], [
        Row("near_deadline", _("%(n)d天内截止的征集中场景", n=NEAR_DEADLINE_DAYS), {"count": current.count(near)}),
        Row("overdue", _("逾期未完成的里程碑"), {"count": Cell(len(milestones), MilestoneQuery(scope.district_code))}),
        Row("new_firms", _("%(year)d年新入驻企业", year=firms_year),
            {"count": Cell(len(firms), FirmQuery(scope.district_code, firms_year))}),
    ], chart="bar"))
    soon = sorted(current.matching(near), key=lambda f: (f.deadline, f.id))
    return Dashboard(scope, tables, soon, milestones, firms_year)


def _district_comparison(session: Session, counter: _Counter, current: _Counter, scope: Scope,
                         milestones: list[MilestoneFact], firms: list[FirmFact], firms_year: int) -> Table:
    overdue: dict[str, int] = defaultdict(int)
    for m in milestones:
        overdue[m.district] += 1
    settled: dict[str, int] = defaultdict(int)
    for f in firms:
        settled[f.district] += 1
    rows = []
    for district in _districts(session):
        q = ScenarioQuery(district=district.code, year=scope.year)
        awarded = q.but(stage="awarded")
        rows.append(Row(district.code, reference_name(district), {
            "collected": counter.count(q.but(stage="collected")),
            "published": counter.count(q.but(stage="published")),
            "awarded": counter.count(awarded),
            "accepted": counter.count(q.but(stage="accepted")),
            "demonstration": counter.count(q.but(stage="demonstration")),
            "funding": counter.amount(awarded),
            "district_share": counter.share(awarded.but(winner="district"), awarded.but(winner="any")),
            "near_deadline": current.count(ScenarioQuery(district=district.code, due_within=NEAR_DEADLINE_DAYS)),
            "overdue": Cell(overdue[district.code], MilestoneQuery(district.code)),
            "new_firms": Cell(settled[district.code], FirmQuery(district.code, firms_year)),
        }))
    columns = [*_stage_columns(("collected", "published", "awarded", "accepted", "demonstration")),
               Column("funding", _("揭榜金额（万元）"), "wan"),
               Column("district_share", _("本区县企业揭榜占比"), "percent"),
               Column("near_deadline", _("7天内截止")),
               Column("overdue", _("逾期里程碑")),
               Column("new_firms", _("%(year)d年新入驻企业", year=firms_year))]
    return Table("districts", _("各区县对比"), columns, rows, chart="bar",
                 series=("collected", "published", "awarded", "accepted"),
                 note=_("“7天内截止”和“逾期里程碑”是当前情况，不受年份筛选影响。"))


def _batch_table(session: Session, counter: _Counter, base: ScenarioQuery, facts: list[ScenarioFact]) -> Table:
    ids = {b for f in facts for b in f.batches}
    batches = list(session.execute(
        sa.select(Batch).where(Batch.id.in_(ids)).order_by(Batch.published_on.desc(), Batch.id.desc())
    ).scalars()) if ids else []
    cols = ("published", "awarded", "accepted")
    rows = [Row(str(b.id), b.name, {s: counter.count(base.but(batch=b.id, stage=s)) for s in cols}) for b in batches]
    return Table("batch", _("按发布批次"), _stage_columns(cols), rows, chart="bar", series=cols,
                 note=_("一个场景可能同时列入区县批次和市级批次。"))


def _funding_table(counter: _Counter, base: ScenarioQuery) -> Table:
    awarded = base.but(stage="awarded")
    known = awarded.but(winner="any")
    rows = [Row("all", _("全部揭榜企业"), {
        "projects": counter.count(known), "amount": counter.amount(awarded),
        "project_share": counter.share(known, known), "amount_share": counter.amount_share(awarded, "any"),
    })]
    for winner, label in (("district", _("本区县企业")), ("city", _("本市企业（不含“其他区县”）"))):
        rows.append(Row(winner, label, {
            "projects": counter.count(awarded.but(winner=winner)),
            "amount": counter.amount(awarded.but(winner=winner), winner),
            "project_share": counter.share(awarded.but(winner=winner), known),
            "amount_share": counter.amount_share(awarded, winner),
        }))
    columns = [Column("projects", _("揭榜项目数")), Column("amount", _("揭榜金额（万元）"), "wan"),
               Column("project_share", _("项目占比"), "percent"), Column("amount_share", _("金额占比"), "percent")]
    return Table("funding", _("揭榜金额与本地企业占比"), columns, rows, chart="bar", series=("project_share", "amount_share"),
                 note=_("金额取合同金额；尚未签订合同的取入选申请的报价。项目占比的分母是已确定揭榜企业的项目。"))


# ------------------------------------------------------------------ public statistics


@dataclass
class PublicStatistics:
    """Counts of public scenarios by status, district, domain and year."""

    scope: Scope
    total: int
    tables: list[Table]

    def table(self, key: str) -> Table:
        return next(t for t in self.tables if t.key == key)


def public_statistics(session: Session, scope: Scope, now: datetime | None = None) -> PublicStatistics:
    """Aggregate counts of public scenarios (published and later) — no funding, firms or applications."""
    now = now or clock.now()
    facts = load_facts(session, scope, public_only=True, now=now)
    counter = _Counter(facts, now)
    base = ScenarioQuery(district=scope.district_code, year=scope.year)
    columns = [Column("total", _("合计")), *[Column(s, status_label(s)) for s in PUBLIC_STATUSES]]

    def row(key: str, label: str, query: ScenarioQuery) -> Row:
        cells = {"total": counter.count(query)}
        cells.update({s: counter.count(query.but(status=s)) for s in PUBLIC_STATUSES})
        return Row(key, label, cells)

    districts = [d for d in _districts(session) if scope.district is None or d.id == scope.district.id]
    years = sorted({f.year for f in facts})
    tables = [
        Table("status", _("按状态"), [Column("count", _("场景数"))],
              [Row(s, status_label(s), {"count": counter.count(base.but(status=s))}) for s in PUBLIC_STATUSES],
              chart="pie", note=_("“已截止”由截止时间推算：已发布且截止时间已过。")),
        Table("district", _("按区县"), columns,
              [row(d.code, reference_name(d), base.but(district=d.code)) for d in districts],
              chart="stacked", series=PUBLIC_STATUSES),
        Table("domain", _("按产业领域"), columns,
              [row(code, label, base.but(domain=code)) for code, label in _domain_rows(session, facts)],
              chart="stacked", series=PUBLIC_STATUSES),
        Table("year", _("按年份"), columns, [row(str(y), str(y), base.but(year=y)) for y in years],
              chart="stacked", series=PUBLIC_STATUSES, note=_("按发布时间的年份统计。")),
    ]
    return PublicStatistics(scope, len(facts), tables)


def available_years(session: Session, today: date | None = None) -> list[int]:
    """Years the year selector offers: from the first submitted scenario to this year, newest first."""
    today = today or clock.local_today()
    first = session.execute(
        sa.select(sa.func.min(Scenario.published_at), sa.func.min(Scenario.submitted_at), sa.func.min(Scenario.created_at))
        .where(Scenario.status != ScenarioStatus.DRAFT)
    ).one()
    starts = [clock.to_local(v).year for v in first if v is not None]
    start = max(YEAR_MIN, min(starts)) if starts else today.year
    return list(range(today.year, min(start, today.year) - 1, -1))


def districts(session: Session) -> list[District]:
    """Every district, central-urban ones first (for selectors)."""
    return _districts(session)


def reference_names(session: Session) -> dict[str, dict[str, str]]:
    """District and domain names by code, in the interface language (for lists of facts)."""
    return {"district": {d.code: reference_name(d) for d in _districts(session)},
            "domain": {**{d.code: reference_name(d) for d in _domains(session)}, NO_DOMAIN: reference_name(None)}}


# ------------------------------------------------------------------ export


def table_xlsx(table: Table, scope: Scope, generated: datetime | None = None) -> bytes:
    """One table as an XLSX workbook: the numbers on the first sheet, what they mean on the second."""
    import openpyxl
    from openpyxl.styles import Font

    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.title = re.sub(r"[\\/*?:\[\]]", " ", table.title)[:31] or "data"
    sheet.append([_("项目"), *[c.label for c in table.columns]])
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    formats = {"wan": "#,##0.00", "percent": "0.0%", "count": "0"}
    for row in table.rows:
        sheet.append([row.label, *[row.cells[c.key].value for c in table.columns]])
        for index, column in enumerate(table.columns, start=2):
            sheet.cell(row=sheet.max_row, column=index).number_format = formats[column.format]
    sheet.column_dimensions["A"].width = 36
    for index in range(2, len(table.columns) + 2):
        sheet.column_dimensions[openpyxl.utils.get_column_letter(index)].width = 16
    sheet.freeze_panes = "B2"
    about = workbook.create_sheet(_("说明"))
    generated = generated or clock.now()
    for line in ((_("表格"), table.title), (_("范围"), scope.describe()),
                 (_("生成时间"), clock.to_local(generated).strftime("%Y-%m-%d %H:%M")), (_("说明"), table.note),
                 (_("口径"), _("草稿不计入；“已截止”由截止时间推算；年份和月份按发布时间（尚未发布的按提交审核时间）。"))):
        about.append(list(line))
    about.column_dimensions["A"].width = 12
    about.column_dimensions["B"].width = 90
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()
