"""年度考评 / 半年评估: the appraisal of how each central-urban district organised scenario building.

Everything is computed from platform data, never typed in. The rules, in the order they apply:

**Who is appraised.** The 11 central-urban districts and zones (``District.is_central``). Every
figure is attributed to a district by the *scenario's* district (``Scenario.district_id``).

**The period.** Local calendar dates in Asia/Shanghai: the annual appraisal of year *Y* covers
1 January *Y* up to (not including) 1 January *Y+1*; the half-year evaluation (``half_year``)
covers 1 January *Y* up to 1 July *Y*. Timestamps stored in UTC are compared with the UTC
instants of those local midnights; dates (contract, acceptance) are compared as dates.

**Indicators** (``INDICATORS``; each raw value lists its evidence — the scenarios behind it):

``published`` 发布场景数
    Scenarios whose ``published_at`` falls in the period and whose status is still public
    (published, awarded, in delivery, accepted or 流榜; withdrawn or re-opened scenarios do not count).
``awarded`` 揭榜成功数
    Scenarios in status awarded, in delivery or accepted whose *award date* falls in the period and
    whose award is final (its 公示 ended with no objection undecided; an award still in 公示 is not yet
    a success and is left out until it is).
    The award date is the earliest ``decided_at`` of the scenario's selected applications (local
    date); without one, the earliest contract's ``signed_on``. A scenario without either record
    has no award date and does not count.
``funding`` 揭榜金额（万元）
    Over the scenarios counted by ``awarded``: the sum of each scenario's contract amounts; for a
    scenario without a contract, the sum of its selected applications' quoted prices; else 0.
``local_share`` 本地企业揭榜占比
    Over the scenarios counted by ``awarded``: the share whose winning firm is registered in the
    scenario's own district. The winning firm is that of the earliest contract, else of the
    earliest selected application. A district with no awarded scenario scores 0.
``on_time`` 按期验收数
    Scenarios with a *passed* acceptance whose ``accepted_on`` falls in the period and
    ``accepted_on ≤ signed_on + delivery_months`` (the earliest contract's signing date plus the
    scenario's delivery months, calendar months, clamped to month end). Without a contract or a
    delivery period, an acceptance is listed in the evidence but not counted.
``demonstrations`` 示范项目数
    Demonstration projects whose ``published_at`` falls in the period, by the district of the
    scenario they came from.
``reuse`` 示范推广（复用）数
    Reuse records (拓展一批) created in the period, by the district of the *adopting* scenario:
    the district that spread a demonstration to a new scenario is the one that organised it.

**Normalisation: share of the maximum.** ``normalised = raw / max(raw over the 11 districts)``,
so the best district gets 1 and a district with half its figure gets 0.5; when every district
has 0 every normalised value is 0. (Min–max scaling was rejected: it gives the weakest district 0
even when it did real work, and magnifies small gaps.) Computation is exact (fractions); stored
normalised values are shown with six decimals.

**Score.** ``score = Σ weight × normalised`` with weights in percent adding up to 100, so scores
run from 0 to 100; rounded half-up to two decimals. Ranking, ties and rewards use the rounded
score, so anybody can redo them from the published table.

**Ties.** Equal (rounded) scores share a rank and the next rank is skipped (1, 2, 2, 4). Within a
tie, districts are listed in the standard district order.

**Rewards** (whole yuan). The districts ranked 1…``top_n`` (all districts tied at rank ``top_n``
included, so more than ``top_n`` may share) with a score above 0 share ``reward_pool_yuan`` in
proportion to their scores, each capped at ``cap_yuan`` (500万元 by default): shares are computed
exactly; any district whose share reaches the cap gets the cap and leaves the pool, and what is
left of the pool is shared again among the others in proportion to their scores, until no share
exceeds the cap. Each share is then rounded *down* to whole yuan. Yuan left over (rounding, or
because every eligible district is capped) stay unallocated and are shown as such. Hence no
district gets more than the cap, the rewards never add up to more than the pool, and districts
with equal scores get exactly equal rewards.

**Freeze.** A draft appraisal computes live on every view. Publishing stores each district's raw
and normalised values, score, rank, reward and evidence in ``AppraisalResult`` rows; from then
on only those rows are read, and the appraisal can no longer be edited.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction
from typing import Any

import sqlalchemy as sa
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Session, selectinload

from marketplace import clock
from marketplace.models import (
    AcceptanceResult,
    Appraisal,
    AppraisalPeriod,
    AppraisalResult,
    Demonstration,
    DemonstrationReuse,
    District,
    Scenario,
    ScenarioStatus,
    pending_notice_clause,
)
from marketplace.showcase.facts import DeliveryFacts, add_months, delivery_facts

#: Scenario statuses that mean "揭榜成功" (a winner was chosen).
AWARDED_STATUSES = (ScenarioStatus.AWARDED, ScenarioStatus.IN_DELIVERY, ScenarioStatus.ACCEPTED)


@dataclass(frozen=True)
class IndicatorDef:
    """One indicator the site can compute: its code, name, unit, default weight and definition."""

    code: str
    name: Any
    unit: str
    default_weight: Decimal
    definition: Any
    #: "count", "amount" (万元, 2 decimals) or "ratio" (0–1).
    kind: str = "count"


INDICATORS: tuple[IndicatorDef, ...] = (
    IndicatorDef("published", _l("发布场景数"), "个", Decimal(15),
                 _l("本期内发布（发布时间在本期内）且仍处于公开状态的场景数。")),
    IndicatorDef("awarded", _l("揭榜成功数"), "个", Decimal(20),
                 _l("揭榜日期在本期内的已揭榜、实施中或已验收场景数；揭榜日期取最早的入选决定日期，无则取最早的合同签订日期。")),
    IndicatorDef("funding", _l("揭榜金额"), "万元", Decimal(20),
                 _l("本期揭榜成功场景的合同金额合计；无合同的取入选申请的报价。"), "amount"),
    IndicatorDef("local_share", _l("本地企业揭榜占比"), "%", Decimal(15),
                 _l("本期揭榜成功场景中，揭榜企业注册在场景所在区县的比例。"), "ratio"),
    IndicatorDef("on_time", _l("按期验收数"), "个", Decimal(10),
                 _l("验收日期在本期内、验收通过，且验收日期不晚于合同签订日期加建设周期的场景数。")),
    IndicatorDef("demonstrations", _l("示范项目数"), "个", Decimal(10),
                 _l("本期内公布的示范项目数（按来源场景所在区县）。")),
    IndicatorDef("reuse", _l("示范推广数"), "个", Decimal(10),
                 _l("本期内登记的示范项目复用（拓展）次数（按复用场景所在区县）。")),
)
BY_CODE: dict[str, IndicatorDef] = {i.code: i for i in INDICATORS}


# ====================================================================== the period

@dataclass(frozen=True)
class Period:
    """The local calendar span an appraisal covers: [start, end)."""

    year: int
    kind: AppraisalPeriod

    @property
    def start(self) -> date:
        return date(self.year, 1, 1)

    @property
    def end(self) -> date:
        return date(self.year, 7, 1) if self.kind == AppraisalPeriod.HALF_YEAR else date(self.year + 1, 1, 1)

    @property
    def start_utc(self) -> datetime:
        return clock.local_to_utc(datetime.combine(self.start, time.min))

    @property
    def end_utc(self) -> datetime:
        return clock.local_to_utc(datetime.combine(self.end, time.min))

    def has_date(self, day: date | None) -> bool:
        return day is not None and self.start <= day < self.end

    def has_time(self, moment: datetime | None) -> bool:
        return moment is not None and self.start_utc <= moment < self.end_utc


# ====================================================================== measuring

@dataclass
class EvidenceItem:
    """One scenario behind an indicator value; ``counted`` False means listed for context only."""

    scenario_id: int
    title: str
    value: str
    counted: bool = True

    def as_dict(self) -> dict[str, Any]:
        return {"scenario_id": self.scenario_id, "title": self.title, "value": self.value, "counted": self.counted}


@dataclass
class Measure:
    """One indicator's raw value for one district, and the scenarios behind it."""

    raw: Fraction = Fraction(0)
    evidence: list[EvidenceItem] = field(default_factory=list)


def central_districts(session: Session) -> list[District]:
    """The districts appraised every year, in the standard order."""
    return list(session.execute(
        sa.select(District).where(District.is_central).order_by(District.sort_order, District.id)).scalars())


def _money(value: Decimal | Fraction) -> str:
    return f"{Decimal(value.numerator) / Decimal(value.denominator) if isinstance(value, Fraction) else value:.2f}"


def measure(session: Session, period: Period, district_ids: list[int]) -> dict[str, dict[int, Measure]]:
    """Every indicator's raw value and evidence for each district (see the module docstring)."""
    result: dict[str, dict[int, Measure]] = {i.code: {d: Measure() for d in district_ids} for i in INDICATORS}
    scenarios = list(session.execute(
        sa.select(Scenario).where(Scenario.district_id.in_(district_ids), Scenario.status.in_(ScenarioStatus.public()))
        .order_by(Scenario.id)
    ).scalars())

    # published
    for s in scenarios:
        if period.has_time(s.published_at):
            m = result["published"][s.district_id]
            m.raw += 1
            m.evidence.append(EvidenceItem(s.id, s.title, clock.to_local(s.published_at).strftime("%Y-%m-%d")))

    # awarded, funding, local_share
    # Only final awards count (公示 ended, no undecided 异议: marketplace.applications.publicity).
    pending = set(session.execute(sa.select(Scenario.id).where(
        Scenario.district_id.in_(district_ids), Scenario.status.in_(AWARDED_STATUSES),
        pending_notice_clause(clock.now()))).scalars())
    awarded_candidates = [s for s in scenarios if s.status in AWARDED_STATUSES and s.id not in pending]
    facts: dict[int, DeliveryFacts] = delivery_facts(session, [s.id for s in scenarios])
    local: dict[int, int] = dict.fromkeys(district_ids, 0)
    for s in awarded_candidates:
        f = facts[s.id]
        award_date = f.award_date
        if not period.has_date(award_date):
            continue
        district = s.district_id
        m = result["awarded"][district]
        m.raw += 1
        m.evidence.append(EvidenceItem(s.id, s.title, award_date.isoformat()))
        if f.contract_amount_wan is not None:
            amount, source = f.contract_amount_wan, _("合同")
        elif f.quoted_amount_wan is not None:
            amount, source = f.quoted_amount_wan, _("报价")
        else:
            amount, source = Decimal("0"), _("无金额记录")
        m = result["funding"][district]
        m.raw += Fraction(amount)
        m.evidence.append(EvidenceItem(s.id, s.title, f"{amount:.2f}（{source}）", counted=amount > 0))
        winner = f.winner
        is_local = winner is not None and winner.district_id == district
        local[district] += int(is_local)
        label = f"{winner.name}（{winner.district.name if winner.district else _('区县未知')}）" if winner else _("无揭榜企业记录")
        result["local_share"][district].evidence.append(EvidenceItem(s.id, s.title, label, counted=is_local))
    for district in district_ids:
        total = result["awarded"][district].raw
        result["local_share"][district].raw = Fraction(local[district]) / total if total else Fraction(0)

    # on_time
    for s in scenarios:
        f = facts[s.id]
        acceptance = f.acceptance
        if acceptance is None or acceptance.result != AcceptanceResult.PASSED or not period.has_date(acceptance.accepted_on):
            continue
        contract = f.first_contract
        if contract is None or not s.delivery_months:
            due, on_time = None, False
        else:
            due = add_months(contract.signed_on, s.delivery_months)
            on_time = acceptance.accepted_on <= due
        value = _("验收 %(a)s，期限 %(d)s", a=acceptance.accepted_on.isoformat(),
                  d=due.isoformat() if due else _("无合同或建设周期"))
        m = result["on_time"][s.district_id]
        m.raw += int(on_time)
        m.evidence.append(EvidenceItem(s.id, s.title, value, counted=on_time))

    # demonstrations
    rows = session.execute(
        sa.select(Demonstration, Scenario).join(Demonstration.scenario)
        .where(Scenario.district_id.in_(district_ids), Demonstration.published_at >= period.start_utc,
               Demonstration.published_at < period.end_utc)
        .order_by(Demonstration.id)
    ).all()
    for demo, s in rows:
        m = result["demonstrations"][s.district_id]
        m.raw += 1
        m.evidence.append(EvidenceItem(s.id, s.title, _("示范项目：%(t)s", t=demo.title)))

    # reuse
    rows = session.execute(
        sa.select(DemonstrationReuse, Scenario).join(DemonstrationReuse.scenario)
        .where(Scenario.district_id.in_(district_ids), DemonstrationReuse.created_at >= period.start_utc,
               DemonstrationReuse.created_at < period.end_utc)
        .options(selectinload(DemonstrationReuse.demonstration))
        .order_by(DemonstrationReuse.id)
    ).all()
    for reuse, s in rows:
        m = result["reuse"][s.district_id]
        m.raw += 1
        m.evidence.append(EvidenceItem(s.id, s.title, _("复用示范项目：%(t)s", t=reuse.demonstration.title)))
    return result


def format_raw(code: str, raw: Fraction) -> str:
    """A raw value as the decimal string stored and exported (counts as integers, money 2, ratios 6 places)."""
    kind = BY_CODE[code].kind if code in BY_CODE else "count"
    if kind == "amount":
        return _money(raw)
    if kind == "ratio":
        return _decimal(raw, "0.000001")
    return str(int(raw)) if raw.denominator == 1 else _decimal(raw, "0.01")


def display_raw(code: str, raw: str) -> str:
    """A stored raw value for people: ``12``, ``1,234.50``, ``66.67%``."""
    kind = BY_CODE[code].kind if code in BY_CODE else "count"
    value = Decimal(raw)
    if kind == "amount":
        return f"{value:,.2f}"
    if kind == "ratio":
        return f"{(value * 100).quantize(Decimal('0.01'), ROUND_HALF_UP)}%"
    return str(value)


def _decimal(value: Fraction, places: str) -> str:
    exact = Decimal(value.numerator) / Decimal(value.denominator)
    return str(exact.quantize(Decimal(places), ROUND_HALF_UP))


def normalise(raws: dict[int, Fraction]) -> dict[int, Fraction]:
    """Share of the maximum: raw / max(raw); all 0 when the maximum is 0."""
    top = max(raws.values(), default=Fraction(0))
    return {k: (v / top if top > 0 else Fraction(0)) for k, v in raws.items()}


def round_score(value: Fraction) -> Decimal:
    """Half-up to two decimals."""
    return Decimal(_decimal(value, "0.01"))


def competition_ranks(scores: dict[Any, Decimal]) -> dict[Any, int]:
    """Rank 1 for the highest score; equal scores share a rank and the next is skipped (1, 2, 2, 4)."""
    return {k: 1 + sum(1 for other in scores.values() if other > s) for k, s in scores.items()}


def allocate_rewards(scores: dict[Any, Decimal], ranks: dict[Any, int], top_n: int, pool_yuan: int,
                     cap_yuan: int) -> dict[Any, int]:
    """Whole-yuan rewards by the documented rule: proportional to score among rank ≤ top_n, capped, floored.

    Never exceeds ``cap_yuan`` for anyone nor ``pool_yuan`` in total; equal scores get equal rewards.
    """
    rewards: dict[Any, int] = dict.fromkeys(scores, 0)
    shares: dict[Any, Fraction] = {}
    remaining = Fraction(max(pool_yuan, 0))
    cap = Fraction(max(cap_yuan, 0))
    open_set = [k for k, s in scores.items() if ranks[k] <= top_n and s > 0]
    while open_set and remaining > 0:
        total = sum((Fraction(scores[k]) for k in open_set), Fraction(0))
        tentative = {k: remaining * Fraction(scores[k]) / total for k in open_set}
        capped = [k for k in open_set if tentative[k] >= cap]
        if not capped:
            shares.update(tentative)
            break
        for k in capped:
            shares[k] = cap
            remaining -= cap
        open_set = [k for k in open_set if k not in capped]
    for k, share in shares.items():
        rewards[k] = share.numerator // share.denominator  # exact floor to whole yuan
    return rewards


# ====================================================================== results

@dataclass
class DistrictResult:
    """One district's line of the ranking (computed live for a draft, read from storage once published)."""

    district: District
    indicators: dict[str, dict[str, str]]
    score: Decimal
    rank: int
    reward_yuan: Decimal
    evidence: dict[str, list[dict[str, Any]]]


@dataclass
class Outcome:
    """The whole ranking of an appraisal."""

    results: list[DistrictResult]
    unallocated_yuan: Decimal
    frozen: bool

    @property
    def total_reward_yuan(self) -> Decimal:
        return sum((r.reward_yuan for r in self.results), Decimal(0))

    def for_district(self, code: str) -> DistrictResult | None:
        return next((r for r in self.results if r.district.code == code), None)


def compute(session: Session, appraisal: Appraisal) -> Outcome:
    """Compute the ranking from current platform data (drafts, and once at publication)."""
    districts = central_districts(session)
    ids = [d.id for d in districts]
    measures = measure(session, Period(appraisal.year, appraisal.period), ids)
    indicators = list(appraisal.indicators)
    normalised = {i.code: normalise({d: measures[i.code][d].raw for d in ids}) for i in indicators}
    exact = {d: sum((Fraction(i.weight) * normalised[i.code][d] for i in indicators), Fraction(0)) for d in ids}
    scores = {d: round_score(exact[d]) for d in ids}
    ranks = competition_ranks(scores)
    rewards = allocate_rewards(scores, ranks, appraisal.top_n, int(appraisal.reward_pool_yuan),
                               int(appraisal.cap_yuan))
    results = [
        DistrictResult(
            district=d,
            indicators={i.code: {"raw": format_raw(i.code, measures[i.code][d.id].raw),
                                 "normalised": _decimal(normalised[i.code][d.id], "0.000001")} for i in indicators},
            score=scores[d.id], rank=ranks[d.id], reward_yuan=Decimal(rewards[d.id]),
            evidence={i.code: [e.as_dict() for e in measures[i.code][d.id].evidence] for i in indicators},
        )
        for d in districts
    ]
    results.sort(key=lambda r: (r.rank, r.district.sort_order, r.district.id))
    unallocated = Decimal(int(appraisal.reward_pool_yuan) - sum(rewards.values()))
    return Outcome(results, unallocated, frozen=False)


def outcome(session: Session, appraisal: Appraisal) -> Outcome:
    """The ranking to show: the stored, frozen one once published; else computed live."""
    if not appraisal.is_published:
        return compute(session, appraisal)
    rows = session.execute(
        sa.select(AppraisalResult).where(AppraisalResult.appraisal_id == appraisal.id)
        .options(selectinload(AppraisalResult.district))
    ).scalars().all()
    results = [DistrictResult(r.district, r.indicators, r.score, r.rank, r.reward_yuan, r.evidence) for r in rows]
    results.sort(key=lambda r: (r.rank, r.district.sort_order, r.district.id))
    return Outcome(results, appraisal.unallocated_yuan or Decimal(0), frozen=True)


def evidence_rows(session: Session, appraisal: Appraisal, district_code: str, code: str
                  ) -> tuple[DistrictResult, list[dict[str, Any]]] | None:
    """One district's evidence for one indicator (None when the district or indicator is not in the appraisal)."""
    if code not in {i.code for i in appraisal.indicators}:
        return None
    found = outcome(session, appraisal).for_district(district_code)
    if found is None:
        return None
    return found, found.evidence.get(code, [])


#: The rules in short, for the pages and the export (the module docstring has them in full).
RULES_SUMMARY = (
    _l("考评对象：11 个中心城区（含两江新区、重庆高新区），数据按场景所在区县归属。"),
    _l("考评期间：年度考评为当年 1 月 1 日至 12 月 31 日；半年评估为 1 月 1 日至 6 月 30 日（北京时间）。"),
    _l("标准化：各指标取值除以 11 个区县中的最大值（最大值为 1；全部为 0 时均为 0）。"),
    _l("得分：各指标标准化值乘以权重（权重合计 100）后求和，四舍五入保留两位小数。"),
    _l("并列：得分相同名次相同，下一名次顺延（如 1、2、2、4）。"),
    _l("奖励：名次在前 N 名（含与第 N 名并列者）且得分大于 0 的区县按得分比例分配奖励资金；"
       "达到上限的区县按上限计，剩余资金在其余区县间按得分比例再分配，直至无人超限；"
       "每个区县的奖励向下取整到元，余额不分配。奖励合计不超过资金总额，并列区县奖励相同。"),
    _l("上限封顶：若奖励资金总额不少于获奖区县数 × 单个区县上限，前 N 名中得分大于 0 的区县都获得上限金额，"
       "得分高低不再影响奖励，超出部分不分配（设置页面会提示）。"),
    _l("金额以万元为单位显示，保留两位小数；得分保留两位小数。"),
    _l("冻结：考评发布时保存全部指标值、得分、名次、奖励和证据，此后不再重新计算。"),
)
