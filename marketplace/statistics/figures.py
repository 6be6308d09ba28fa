"""Figures for the district dashboard, the public statistics page and ``GET /api/v1/statistics``.

No request code here. Views resolve a :class:`~marketplace.statistics.scope.Scope` (which district,
which year) and get :class:`Table` objects back. Every number in a table carries the query that
reproduces the records behind it (:mod:`marketplace.statistics.queries`), and every number is
*computed* from that same query (``query.matches``), so a figure and the list it links to cannot
disagree. The definitions behind the numbers are in :mod:`marketplace.statistics`.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

import sqlalchemy as sa
from flask_babel import gettext as _
from sqlalchemy.orm import Session

from marketplace import clock
from marketplace.models import Batch, District, Domain, Scenario, ScenarioStatus
from marketplace.statistics.facts import (
    FirmFact,
    MilestoneFact,
    ScenarioFact,
    load_facts,
    new_firms,
    overdue_milestones,
)
from marketplace.statistics.queries import FirmQuery, MilestoneQuery, RecordQuery, ScenarioQuery
from marketplace.statistics.scope import (
    NEAR_DEADLINE_DAYS,
    NO_DOMAIN,
    PUBLIC_STATUSES,
    STAFF_STATUSES,
    STAGES,
    YEAR_MIN,
    Scope,
    reference_name,
    stage_label,
    status_label,
)

# ------------------------------------------------------------------ tables


@dataclass(frozen=True)
class Column:
    """One column of a table: its key, heading and number format."""

    key: str
    label: str
    #: count | wan | percent
    format: str = "count"


@dataclass
class Cell:
    """One number and the records behind it."""

    value: int | Decimal | None
    #: The records behind the number (None only for a total that is not a list).
    query: RecordQuery | None = None


@dataclass
class Row:
    """One row of a table: its key, label and a cell per column."""

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
