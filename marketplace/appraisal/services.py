"""Creating, editing and publishing an appraisal (city staff only).

A draft's settings (year, period, weights, reward pool, cap, top N) are validated here, every
problem against its field. Publishing computes the ranking once more
(:func:`marketplace.appraisal.computation.compute`), stores it and freezes the appraisal.
Services check permission and state, flush and audit; the request's unit of work commits.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

import sqlalchemy as sa
from flask_babel import gettext as _
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from marketplace import audit, clock, formats
from marketplace.appraisal.computation import INDICATORS, Outcome, compute
from marketplace.errors import InvalidTransition, PermissionDenied, ValidationFailed, joined
from marketplace.models import (
    Appraisal,
    AppraisalIndicator,
    AppraisalPeriod,
    AppraisalResult,
    AppraisalStatus,
    Role,
    User,
)
from marketplace.models.showcase import DEFAULT_CAP_YUAN

#: Largest reward pool accepted (yuan): keeps values inside Numeric(14, 0).
MAX_YUAN = 10**13 - 1


def all_appraisals(session: Session) -> list[Appraisal]:
    """Every appraisal, newest year first (annual before half-year)."""
    return list(session.execute(
        sa.select(Appraisal).order_by(Appraisal.year.desc(), Appraisal.period, Appraisal.id.desc())).scalars())


def can_manage(user: User | None) -> bool:
    """Only city staff run appraisals."""
    return user is not None and user.is_authenticated and user.role == Role.CITY_STAFF


def default_name(year: int, period: AppraisalPeriod) -> str:
    """The name an appraisal gets when none is given."""
    if period == AppraisalPeriod.HALF_YEAR:
        return _("%(y)d年上半年中心城区应用场景建设评估", y=year)
    return _("%(y)d年度中心城区应用场景建设考评", y=year)


def cap_warning(pool_yuan: Decimal | int | None, cap_yuan: Decimal | int | None, top_n: int | None) -> str | None:
    """A warning when the pool covers the cap for everyone in the top N (pool ≥ N × cap).

    Then every rewarded district receives exactly the cap: the score no longer changes the reward,
    and whatever exceeds N × cap stays unallocated.
    """
    if pool_yuan is None or cap_yuan is None or not top_n or Decimal(pool_yuan) < top_n * Decimal(cap_yuan):
        return None
    spare = Decimal(pool_yuan) - top_n * Decimal(cap_yuan)
    return _("奖励资金总额（%(p)s 万元）不少于获奖区县数 × 单个区县上限（%(n)d × %(c)s 万元）：前 %(n)d 名中得分大于 0 的"
             "每个区县都将获得上限 %(c)s 万元，得分高低不再影响奖励金额；%(s)s 万元将不分配。若希望奖励随得分变化，"
             "请减少资金总额、增加获奖区县数或提高上限。", p=formats.wan_text(pool_yuan), n=top_n,
             c=formats.wan_text(cap_yuan), s=formats.wan_text(spare))


def _clean(session: Session, data: dict[str, Any], appraisal: Appraisal | None) -> dict[str, Any]:
    """Validate form data; every problem is reported against its field."""
    errors: dict[str, list[str]] = {}

    def whole_yuan(name: str, value: Any, label: str) -> Decimal | None:
        if value is None or value == "":
            errors[name] = [_("请填写%(f)s。", f=label)]
            return None
        try:
            amount = Decimal(str(value))
        except InvalidOperation:
            errors[name] = [_("%(f)s必须是数字。", f=label)]
            return None
        if not amount.is_finite() or amount < 0 or amount != amount.to_integral_value():
            errors[name] = [_("%(f)s必须是不小于 0 的整数（元）。", f=label)]
            return None
        if amount > MAX_YUAN:
            errors[name] = [_("%(f)s过大。", f=label)]
            return None
        return amount

    def amount(yuan_key: str, wan_key: str, label: str, default_yuan: Decimal | None = None) -> Decimal | None:
        """The pages enter money in 万元 (two decimals); the API and stored values are whole yuan."""
        if wan_key not in data:
            raw = data.get(yuan_key)
            return whole_yuan(yuan_key, default_yuan if raw in (None, "") and default_yuan is not None else raw,
                              label)
        raw = data.get(wan_key)
        if raw in (None, "") and default_yuan is not None:
            return default_yuan
        if raw in (None, ""):
            errors[wan_key] = [_("请填写%(f)s。", f=label)]
            return None
        try:
            wan = Decimal(str(raw).replace(",", "").strip())
        except InvalidOperation:
            errors[wan_key] = [_("%(f)s必须是数字。", f=label)]
            return None
        if not wan.is_finite() or wan < 0 or wan != wan.quantize(formats.CENT):
            errors[wan_key] = [_("%(f)s必须是不小于 0 的金额（万元，最多两位小数）。", f=label)]
            return None
        return whole_yuan(wan_key, wan * formats.YUAN_PER_WAN, label)

    year = data.get("year")
    if not isinstance(year, int) or not 2000 <= year <= 2100:
        errors["year"] = [_("请填写 2000–2100 之间的年份。")]
    try:
        period = AppraisalPeriod(data.get("period") or "annual")
    except ValueError:
        errors["period"] = [_("请选择考评周期。")]
        period = AppraisalPeriod.ANNUAL
    pool = amount("reward_pool_yuan", "reward_pool_wan", _("奖励资金总额"))
    cap = amount("cap_yuan", "cap_wan", _("单个区县奖励上限"), Decimal(DEFAULT_CAP_YUAN))
    if cap is not None and cap <= 0:
        errors["cap_wan" if "cap_wan" in data else "cap_yuan"] = [_("单个区县奖励上限必须大于 0。")]
    top_n = data.get("top_n")
    if not isinstance(top_n, int) or not 1 <= top_n <= 11:
        errors["top_n"] = [_("获奖区县数应在 1–11 之间。")]
    weights: dict[str, Decimal] = {}
    for indicator in INDICATORS:
        raw = data.get(f"w_{indicator.code}")
        try:
            weight = Decimal(str(raw)) if raw not in (None, "") else Decimal(0)
        except InvalidOperation:
            errors[f"w_{indicator.code}"] = [_("权重必须是数字。")]
            continue
        if not weight.is_finite() or weight < 0 or weight > 100 or weight != weight.quantize(Decimal("0.01")):
            errors[f"w_{indicator.code}"] = [_("权重应在 0–100 之间，最多两位小数。")]
            continue
        weights[indicator.code] = weight
    if len(weights) == len(INDICATORS) and sum(weights.values()) != 100:
        message = _("各指标权重之和必须为 100（当前为 %(s)s）。", s=f"{sum(weights.values()).normalize():f}")
        errors["weights"] = [message]
    name = (data.get("name") or "").strip()
    if len(name) > 128:
        errors["name"] = [_("名称不能超过 128 个字。")]
    if not errors:
        clash = session.execute(sa.select(Appraisal.id).where(Appraisal.year == year, Appraisal.period == period)
                                ).scalar_one_or_none()
        if clash is not None and (appraisal is None or clash != appraisal.id):
            errors["year"] = [_("%(y)d 年已有同一周期的考评。", y=year)]
    if errors:
        raise ValidationFailed(_("考评设置有误：%(d)s", d=joined(errors)), errors)
    return {"year": year, "period": period, "name": name or default_name(year, period), "reward_pool_yuan": pool,
            "cap_yuan": cap, "top_n": top_n, "weights": weights, "note": (data.get("note") or "").strip()}


def _snapshot(appraisal: Appraisal) -> dict[str, Any]:
    return {"year": appraisal.year, "period": appraisal.period.value, "name": appraisal.name,
            "status": appraisal.status.value, "reward_pool_yuan": str(appraisal.reward_pool_yuan),
            "cap_yuan": str(appraisal.cap_yuan), "top_n": appraisal.top_n,
            "weights": {i.code: str(i.weight) for i in appraisal.indicators}}


def _apply(appraisal: Appraisal, clean: dict[str, Any]) -> None:
    for name in ("year", "period", "name", "reward_pool_yuan", "cap_yuan", "top_n", "note"):
        setattr(appraisal, name, clean[name])
    existing = {i.code: i for i in appraisal.indicators}
    for order, indicator in enumerate(INDICATORS):
        weight = clean["weights"][indicator.code]
        row = existing.get(indicator.code)
        if weight == 0:
            if row is not None:
                appraisal.indicators.remove(row)
            continue
        if row is None:
            row = AppraisalIndicator(code=indicator.code)
            appraisal.indicators.append(row)
        row.name, row.weight, row.sort_order = str(indicator.name), weight, order


def check_settings(session: Session, data: dict[str, Any], appraisal: Appraisal | None = None) -> None:
    """Raise the ValidationFailed that saving these settings would raise (nothing is written)."""
    _clean(session, data, appraisal)


def create_appraisal(session: Session, actor: User, data: dict[str, Any], ip: str | None = None) -> Appraisal:
    """A draft appraisal for a year (or half-year) with its indicator weights, pool, cap and top N."""
    if not can_manage(actor):
        raise PermissionDenied(_("只有市级工作人员可以组织考评。"))
    clean = _clean(session, data, None)
    appraisal = Appraisal(status=AppraisalStatus.DRAFT, created_by=actor)
    _apply(appraisal, clean)
    try:
        with session.begin_nested():
            session.add(appraisal)
            session.flush()
    except IntegrityError:  # created concurrently (a double click, or a colleague): the unique year and period
        message = _("%(y)d 年已有同一周期的考评。", y=clean["year"])
        raise ValidationFailed(message, {"year": [message]}) from None
    audit.record(session, actor=actor, action="appraisal.create", object_type="appraisal", object_id=appraisal.id,
                 after=_snapshot(appraisal), ip=ip)
    return appraisal


def update_appraisal(session: Session, actor: User, appraisal: Appraisal, data: dict[str, Any],
                     ip: str | None = None) -> Appraisal:
    """Change a draft's settings; a published appraisal is frozen."""
    if not can_manage(actor):
        raise PermissionDenied(_("只有市级工作人员可以组织考评。"))
    if appraisal.is_published:
        raise InvalidTransition(_("考评已发布，结果已冻结，不能再修改。"))
    before = _snapshot(appraisal)
    _apply(appraisal, _clean(session, data, appraisal))
    session.flush()
    audit.record(session, actor=actor, action="appraisal.update", object_type="appraisal", object_id=appraisal.id,
                 before=before, after=_snapshot(appraisal), ip=ip)
    return appraisal


def require_publishable(actor: User, appraisal: Appraisal) -> None:
    """City staff, not yet published, indicators set (also the confirmation step's precheck)."""
    if not can_manage(actor):
        raise PermissionDenied(_("只有市级工作人员可以发布考评结果。"))
    if appraisal.is_published:
        raise InvalidTransition(_("考评已发布。"))
    if not appraisal.indicators:
        raise ValidationFailed(_("请先设置考评指标和权重。"))


def publish_appraisal(session: Session, actor: User, appraisal: Appraisal, ip: str | None = None) -> Outcome:
    """Compute once more, store every district's figures and evidence, and freeze the appraisal."""
    require_publishable(actor, appraisal)
    result = compute(session, appraisal)
    for line in result.results:
        session.add(AppraisalResult(appraisal=appraisal, district_id=line.district.id, indicators=line.indicators,
                                    score=line.score, rank=line.rank, reward_yuan=line.reward_yuan,
                                    evidence=line.evidence))
    appraisal.status = AppraisalStatus.PUBLISHED
    appraisal.published_at = clock.now()
    appraisal.published_by = actor
    appraisal.unallocated_yuan = result.unallocated_yuan
    session.flush()
    audit.record(session, actor=actor, action="appraisal.publish", object_type="appraisal", object_id=appraisal.id,
                 before={"status": "draft"},
                 after={"status": "published", "unallocated_yuan": str(result.unallocated_yuan),
                        "ranking": [{"district": r.district.code, "score": str(r.score), "rank": r.rank,
                                     "reward_yuan": str(r.reward_yuan)} for r in result.results]}, ip=ip)
    return Outcome(result.results, result.unallocated_yuan, frozen=True)


def published_annual(session: Session, year: int) -> Appraisal | None:
    """The published annual appraisal of a year (what the public API shows), if any."""
    return session.execute(
        sa.select(Appraisal).where(Appraisal.year == year, Appraisal.period == AppraisalPeriod.ANNUAL,
                                   Appraisal.status == AppraisalStatus.PUBLISHED)
    ).scalar_one_or_none()
