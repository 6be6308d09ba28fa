"""The public gallery of demonstration projects (示范项目) and their reuse (拓展一批).

A demonstration is public once its selection round is published
(:func:`marketplace.showcase.services.publish_round`). The gallery filters by year, district,
domain and keywords (through the search index when it is available); owners record that one of
their own published scenarios adopted a demonstration.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from flask_babel import gettext as _
from sqlalchemy.orm import Session, selectinload
from werkzeug.datastructures import MultiDict

from marketplace import audit, clock, search
from marketplace.enterprises.policy import public_clause as public_profile_clause
from marketplace.errors import PermissionDenied, ValidationFailed
from marketplace.extensions import db
from marketplace.models import (
    Demonstration,
    DemonstrationReuse,
    District,
    Domain,
    EnterpriseProfile,
    Role,
    Scenario,
    ScenarioStatus,
    User,
)
from marketplace.queryargs import int_arg, raise_if_errors
from marketplace.scenarios.listing import unknown_codes

MAX_PER_PAGE = 100


def firm_profile(session: Session, demo: Demonstration) -> EnterpriseProfile | None:
    """The winning firm's public profile (linked from the case page), or None when it is not public."""
    if demo.firm_id is None:
        return None
    return session.execute(sa.select(EnterpriseProfile).where(
        EnterpriseProfile.organisation_id == demo.firm_id, public_profile_clause()).limit(1)).scalar_one_or_none()


@dataclass
class DemonstrationFilters:
    """Parsed gallery parameters, shared by the page and the API."""

    year: int | None = None
    district: str | None = None
    domain: str | None = None
    q: str | None = None
    page: int = 1
    per_page: int = 12

    def args(self, **changes: Any) -> dict[str, Any]:
        """Query-string arguments of these filters (with ``changes``), for links."""
        data = {"year": self.year, "district": self.district, "domain": self.domain, "q": self.q}
        data.update(changes)
        return {k: v for k, v in data.items() if v not in (None, "")}


def parse_filters(args: MultiDict, default_per_page: int = 12, session: Session | None = None) -> DemonstrationFilters:
    """Read gallery filters; bad values raise :class:`ValidationFailed` naming the parameter.

    ``district`` and ``domain`` take codes: an unknown one is refused with the accepted codes (as the
    scenario list does), never silently answered with an empty gallery.
    """
    session = session or db.session
    errors: dict[str, list[str]] = {}

    def integer(name: str, lo: int, hi: int) -> int | None:
        return int_arg(args, name, errors, lo, hi)

    filters = DemonstrationFilters(
        year=integer("year", 2000, 2100),
        district=(args.get("district") or "").strip() or None,
        domain=(args.get("domain") or "").strip() or None,
        q=(args.get("q") or "").strip()[:100] or None,
        page=integer("page", 1, 100_000) or 1,
        per_page=integer("per_page", 1, MAX_PER_PAGE) or default_per_page,
    )
    if filters.district:
        unknown_codes(session, District, "district", [filters.district], _("区县"), errors)
    if filters.domain:
        unknown_codes(session, Domain, "domain", [filters.domain], _("产业领域"), errors)
    raise_if_errors(errors)
    return filters


def gallery_query(filters: DemonstrationFilters) -> sa.Select:
    """SELECT of published demonstrations matching the filters (no ordering or paging)."""
    query = sa.select(Demonstration).join(Demonstration.scenario).where(Demonstration.published_at.is_not(None))
    if filters.year:
        query = query.where(Demonstration.year == filters.year)
    if filters.district:
        query = query.where(Scenario.district_id.in_(sa.select(District.id).where(District.code == filters.district)))
    if filters.domain:
        query = query.where(Scenario.domain_id.in_(sa.select(Domain.id).where(Domain.code == filters.domain)))
    if filters.q:
        ids = search.keyword_ids("demonstration", filters.q)
        if ids is not None:
            query = query.where(Demonstration.id.in_(ids))
        else:
            for term in filters.q.split():
                like = f"%{term}%"
                query = query.where(sa.or_(Demonstration.title.ilike(like), Demonstration.problem.ilike(like),
                                           Demonstration.solution.ilike(like), Demonstration.outcomes.ilike(like),
                                           Demonstration.highlights.ilike(like)))
    return query


@dataclass
class DemonstrationPage:
    """One page of the gallery and the total it is part of."""

    items: list[Demonstration]
    total: int
    page: int
    per_page: int

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page))


def gallery_page(session: Session, filters: DemonstrationFilters) -> DemonstrationPage:
    """One page of the gallery, newest selection year first."""
    query = gallery_query(filters)
    total = session.execute(sa.select(sa.func.count()).select_from(query.subquery())).scalar_one()
    items = session.execute(
        query.options(selectinload(Demonstration.scenario).selectinload(Scenario.district),
                      selectinload(Demonstration.scenario).selectinload(Scenario.domain),
                      selectinload(Demonstration.scenario).selectinload(Scenario.owner),
                      selectinload(Demonstration.firm), selectinload(Demonstration.media),
                      selectinload(Demonstration.reuses))
        .order_by(Demonstration.year.desc(), Demonstration.published_at.desc(), Demonstration.id.desc())
        .limit(filters.per_page).offset((filters.page - 1) * filters.per_page)
    ).scalars().all()
    return DemonstrationPage(list(items), total, filters.page, filters.per_page)


def gallery_choices(session: Session) -> dict[str, list]:
    """Years with demonstrations, districts and domains for the filter form."""
    return {
        "years": list(session.execute(
            sa.select(Demonstration.year).distinct().order_by(Demonstration.year.desc())).scalars()),
        "districts": list(session.execute(sa.select(District).order_by(District.sort_order)).scalars()),
        "domains": list(session.execute(sa.select(Domain).order_by(Domain.sort_order)).scalars()),
    }


# ====================================================================== reuse (拓展一批)

def can_record_reuse(user: User | None) -> bool:
    """Owner users of an organisation record reuse."""
    return user is not None and user.is_authenticated and user.role == Role.OWNER and user.organisation_id is not None


def reuse_candidates(session: Session, user: User | None, demo: Demonstration) -> list[Scenario]:
    """The owner's public scenarios that could record adopting this demonstration."""
    if not can_record_reuse(user):
        return []
    already = sa.select(DemonstrationReuse.scenario_id).where(DemonstrationReuse.demonstration_id == demo.id)
    return list(session.execute(
        sa.select(Scenario).where(Scenario.owner_id == user.organisation_id,
                                  Scenario.status.in_(ScenarioStatus.public()), Scenario.id != demo.scenario_id,
                                  Scenario.id.not_in(already))
        .order_by(Scenario.published_at.desc(), Scenario.id.desc())
    ).scalars())


def record_reuse(session: Session, actor: User, demo: Demonstration, scenario: Scenario | None, note: str | None,
                 ip: str | None = None) -> DemonstrationReuse:
    """An owner records that its own published scenario adopted the demonstration."""
    if not can_record_reuse(actor):
        raise PermissionDenied(_("只有发榜单位可以登记复用示范项目。"))
    if scenario is None:
        raise ValidationFailed(_("请选择本单位的场景。"), {"scenario_id": [_("请选择本单位的场景。")]})
    if scenario.owner_id != actor.organisation_id:
        raise PermissionDenied(_("只能登记本单位的场景。"))
    if scenario.status not in ScenarioStatus.public():
        message = _("只有已发布的场景可以登记为复用（草稿和审核中的场景不公开）。")
        raise ValidationFailed(message, {"scenario_id": [message]})
    if scenario.id == demo.scenario_id:
        message = _("不能登记示范项目自身的场景。")
        raise ValidationFailed(message, {"scenario_id": [message]})
    if session.execute(sa.select(DemonstrationReuse.id).where(
            DemonstrationReuse.demonstration_id == demo.id, DemonstrationReuse.scenario_id == scenario.id)).first():
        message = _("该场景已登记复用此示范项目。")
        raise ValidationFailed(message, {"scenario_id": [message]})
    note = (note or "").strip()
    if len(note) > 1000:
        raise ValidationFailed(_("说明不能超过 1000 个字。"), {"note": [_("说明不能超过 1000 个字。")]})
    reuse = DemonstrationReuse(demonstration=demo, scenario=scenario, owner_id=scenario.owner_id, note=note,
                               recorded_by=actor, created_at=clock.now())
    session.add(reuse)
    session.flush()
    audit.record(session, actor=actor, action="demonstration.reuse", object_type="demonstration", object_id=demo.id,
                 after={"scenario": scenario.id, "owner": scenario.owner_id, "note": note}, ip=ip)
    return reuse
