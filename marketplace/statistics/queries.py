"""The records behind a number: each figure carries a query that lists exactly what it counts.

A :class:`ScenarioQuery` is both the filter that *computes* a figure (``matches``) and the
query string of the list the figure links to, so a number and its list cannot disagree.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, ClassVar

import sqlalchemy as sa
from flask_babel import gettext as _
from sqlalchemy.orm import Session

from marketplace import clock
from marketplace.models import Domain
from marketplace.statistics.facts import ScenarioFact
from marketplace.statistics.scope import (
    MAX_INT,
    NO_DOMAIN,
    PUBLIC_STATUSES,
    STAFF_STATUSES,
    STAGES,
    WINNERS,
    Scope,
    fail,
    parse_district,
    parse_int,
    parse_year,
    stage_label,
    status_label,
    winner_label,
)

_MONTH = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$")


def _text(args: Mapping[str, Any], name: str) -> str | None:
    value = args.get(name)
    text = str(value).strip() if value is not None else ""
    return text or None


def _choice(args: Mapping[str, Any], name: str, allowed: Iterable[str]) -> str | None:
    value = _text(args, name)
    if value is not None and value not in allowed:
        raise fail(name, _("未知的取值：%(v)s", v=value[:40]))
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
        """Read a query from a query string; bad values raise :class:`~marketplace.errors.BadParameters`.

        The public variant accepts only what public statistics link to: public statuses, no
        winners (nothing about applications) and no stages beyond what the public list shows.
        """
        district = parse_district(session, _text(args, "district"))
        domain = _text(args, "domain")
        if domain is not None and domain != NO_DOMAIN and session.execute(
                sa.select(Domain.id).where(Domain.code == domain)).scalar_one_or_none() is None:
            raise fail("domain", _("未知的产业领域：%(v)s", v=domain[:40]))
        month = _text(args, "month")
        if month is not None and not _MONTH.match(month):
            raise fail("month", _("月份应写成 YYYY-MM。"))
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
    endpoint = {"scenarios": "statistics.dashboard_records", "milestones": "statistics.dashboard_milestones",
                "firms": "statistics.dashboard_firms"}[query.kind]
    return endpoint, query.args()


def public_link(query: ScenarioQuery) -> tuple[str, dict[str, Any]]:
    """(endpoint, arguments) of the public list behind a public number.

    The public scenario list when its filters can show exactly these records; otherwise the
    public statistics' own list (by year, or scenarios without a domain).
    """
    args = query.public_list_args(public_only=True)
    if args is not None:
        return "scenarios.index", args
    return "statistics.public_records", query.args()


def scenario_records(facts: list[ScenarioFact], query: ScenarioQuery, now: datetime | None = None
                     ) -> list[ScenarioFact]:
    """The scenarios behind a figure (``facts`` loaded for the query's scope)."""
    now = now or clock.now()
    return [f for f in facts if query.matches(f, now)]
