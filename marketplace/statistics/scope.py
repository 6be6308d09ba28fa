"""The scope of a statistics page (which district, which year), who may ask for which, and the labels of keys.

Bad query-string values raise :class:`marketplace.errors.BadParameters` (HTTP 400) naming the
parameter; a district staff member asking for another district raises ``PermissionDenied``.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

import sqlalchemy as sa
from flask_babel import get_locale
from flask_babel import gettext as _
from sqlalchemy.orm import Session

from marketplace.errors import BadParameters, PermissionDenied
from marketplace.models import District, Domain, Role, ScenarioStatus, User
from marketplace.queryargs import plain_number

#: Status keys as people see them; "open" is a published scenario before its deadline (as in the list filters);
#: "publicity" (公示中) an award whose 公示 is still pending, counted apart from "awarded" (已揭榜, final awards).
STAFF_STATUSES = ("submitted", "returned", "open", "closed", "publicity", "awarded", "in_delivery", "accepted",
                  "unsuccessful", "withdrawn")
#: The statuses of public scenarios (the public list's status filters, and 公示中).
PUBLIC_STATUSES = ("open", "closed", "publicity", "awarded", "in_delivery", "accepted", "unsuccessful")
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


# ------------------------------------------------------------------ labels


def status_label(key: str) -> str:
    """The label of a status key ("open" is the published status before the deadline)."""
    return ScenarioStatus.PUBLISHED.label if key == "open" else ScenarioStatus(key).label


def stage_label(stage: str) -> str:
    """The label of a funnel stage."""
    return {
        "collected": _("征集"), "published": _("发布"), "awarded": _("揭榜"), "in_delivery": _("实施"),
        "accepted": _("验收"), "demonstration": _("示范"),
    }[stage]


def winner_label(winner: str) -> str:
    """The label of a winner filter."""
    return {"any": _("已确定揭榜企业"), "district": _("本区县企业揭榜"), "city": _("本市企业揭榜")}[winner]


def reference_name(row: District | Domain | None) -> str:
    """A district's or domain's name in the interface language."""
    if row is None:
        return _("未填写领域")
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


def fail(name: str, message: str) -> BadParameters:
    """The error for one bad query-string parameter (its message names the parameter)."""
    return BadParameters(_("参数有误：%(detail)s", detail=f"{name}: {message}"), {name: [message]})


def parse_int(raw: object, name: str, low: int, high: int) -> int | None:
    """An optional integer parameter in ``low..high``; anything else raises :class:`BadParameters`."""
    text = str(raw).strip() if raw is not None else ""
    if not text:
        return None
    try:
        value = int(text) if plain_number(text) else None
    except ValueError:
        value = None
    if value is None:
        raise fail(name, _("必须是整数。"))
    if not low <= value <= high:
        raise fail(name, _("取值超出范围（%(lo)d–%(hi)d）。", lo=low, hi=high))
    return value


def parse_year(raw: object) -> int | None:
    """An optional year parameter."""
    return parse_int(raw, "year", YEAR_MIN, YEAR_MAX)


def parse_district(session: Session, raw: object) -> District | None:
    """A district code, or nothing; an unknown code raises :class:`BadParameters`."""
    code = str(raw).strip() if raw is not None else ""
    if not code:
        return None
    district = session.execute(sa.select(District).where(District.code == code)).scalar_one_or_none()
    if district is None:
        raise fail("district", _("未知的区县：%(v)s", v=code[:40]))
    return district


def can_see_dashboard(user: User | None) -> bool:
    """District and city staff see the district dashboard."""
    return user is not None and user.is_authenticated and user.role in (Role.DISTRICT_STAFF, Role.CITY_STAFF)


def staff_scope(session: Session, user: User, district: object = None, year: object = None) -> Scope:
    """The dashboard scope a staff user asked for: district staff their own district only, city staff any.

    Raises :class:`PermissionDenied` for another district (or a user who is not staff) and
    :class:`BadParameters` for values that are not a district code or a year.
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


