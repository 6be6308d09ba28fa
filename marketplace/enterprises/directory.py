"""The public enterprise directory: one filter object shared by the list page and the JSON API.

Every query starts from :func:`marketplace.enterprises.policy.public_clause`, so an
unverified profile or a firm that has been deactivated never appears, and only
verified qualifications count for the qualification filter.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import sqlalchemy as sa
from flask_babel import gettext as _
from sqlalchemy.orm import Session, selectinload
from werkzeug.datastructures import MultiDict

from marketplace import search
from marketplace.enterprises.policy import public_clause
from marketplace.models import (
    District,
    Domain,
    EnterpriseProfile,
    Organisation,
    Qualification,
    QualificationKind,
    VerificationStatus,
    profile_domains,
)
from marketplace.queryargs import int_arg, raise_if_errors

SORTS = ("name", "employees", "recent")
MAX_PER_PAGE = 100
MAX_INT = 2**31 - 1

@dataclass
class EnterpriseFilters:
    """Parsed and validated directory parameters."""

    districts: list[str] = field(default_factory=list)
    domain: str | None = None
    qualification: str | None = None
    q: str | None = None
    sort: str = "name"
    page: int = 1
    per_page: int = 20

    def args(self, **changes) -> dict[str, object]:
        """Query-string arguments that reproduce these filters (for links)."""
        data: dict[str, object] = {"district": self.districts, "domain": self.domain,
                                   "qualification": self.qualification, "q": self.q,
                                   "sort": self.sort if self.sort != "name" else None}
        data.update(changes)
        return {k: v for k, v in data.items() if v not in (None, "", [])}


def parse_filters(session: Session, args: MultiDict, default_per_page: int = 20) -> EnterpriseFilters:
    """Read filters from a query string; unknown codes and bad numbers raise :class:`ValidationFailed`."""
    errors: dict[str, list[str]] = {}

    districts = list(dict.fromkeys(d.strip() for d in args.getlist("district") if d.strip()))
    if districts:
        known = set(session.execute(sa.select(District.code).where(District.code.in_(districts))).scalars())
        unknown = [d for d in districts if d not in known]
        if unknown:
            errors["district"] = [_("未知的区县：%(v)s", v="、".join(unknown))]
    domain = (args.get("domain") or "").strip() or None
    if domain and session.execute(sa.select(Domain.id).where(Domain.code == domain)).first() is None:
        errors["domain"] = [_("未知的产业领域：%(v)s", v=domain)]
    qualification = (args.get("qualification") or "").strip() or None
    if qualification and qualification not in {k.value for k in QualificationKind}:
        errors["qualification"] = [_("未知的资质类型：%(v)s", v=qualification)]
    sort = (args.get("sort") or "").strip() or "name"
    if sort not in SORTS:
        errors["sort"] = [_("未知的排序方式：%(v)s", v=sort)]
    filters = EnterpriseFilters(
        districts=districts, domain=domain, qualification=qualification,
        q=(args.get("q") or "").strip()[:100] or None, sort=sort,
        page=int_arg(args, "page", errors, 1, 100_000) or 1,
        per_page=int_arg(args, "per_page", errors, 1, MAX_PER_PAGE) or default_per_page,
    )
    if (filters.page - 1) * filters.per_page > MAX_INT:
        errors["page"] = [_("页码过大。")]
    raise_if_errors(errors)
    return filters


def _has_verified(kind: str) -> sa.ColumnElement[bool]:
    return sa.exists().where(Qualification.profile_id == EnterpriseProfile.id, Qualification.kind == kind,
                             Qualification.status == VerificationStatus.VERIFIED)


def filtered_query(filters: EnterpriseFilters, *, skip: str | None = None) -> sa.Select:
    """SELECT of public profiles matching the filters (no ordering, no paging); ``skip`` leaves one filter out."""
    query = sa.select(EnterpriseProfile).where(public_clause())
    if filters.districts and skip != "district":
        query = query.where(EnterpriseProfile.organisation_id.in_(
            sa.select(Organisation.id).join(Organisation.district).where(District.code.in_(filters.districts))))
    if filters.domain and skip != "domain":
        query = query.where(EnterpriseProfile.id.in_(
            sa.select(profile_domains.c.profile_id).join(Domain, Domain.id == profile_domains.c.domain_id)
            .where(Domain.code == filters.domain)))
    if filters.qualification and skip != "qualification":
        query = query.where(_has_verified(filters.qualification))
    if filters.q:
        ids = search.keyword_ids("enterprise", filters.q)
        if ids is not None:
            query = query.where(EnterpriseProfile.id.in_(ids))
        else:
            for term in filters.q.split():
                like = f"%{term}%"
                query = query.where(sa.or_(
                    EnterpriseProfile.organisation_id.in_(sa.select(Organisation.id).where(Organisation.name.ilike(like))),
                    EnterpriseProfile.capabilities.ilike(like), EnterpriseProfile.tags.ilike(like)))
    return query


def ordered(query: sa.Select, sort: str) -> sa.Select:
    query = query.join(EnterpriseProfile.organisation)
    if sort == "employees":
        return query.order_by(sa.func.coalesce(EnterpriseProfile.employees, 0).desc(), EnterpriseProfile.id)
    if sort == "recent":
        return query.order_by(EnterpriseProfile.verified_at.desc(), EnterpriseProfile.id.desc())
    return query.order_by(Organisation.name, EnterpriseProfile.id)


def with_relations(query: sa.Select) -> sa.Select:
    return query.options(selectinload(EnterpriseProfile.organisation).selectinload(Organisation.district),
                         selectinload(EnterpriseProfile.domains), selectinload(EnterpriseProfile.qualifications))


@dataclass
class EnterprisePage:
    items: list[EnterpriseProfile]
    total: int
    page: int
    per_page: int
    counts: dict[str, dict[str, int]] = field(default_factory=dict)

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page))


def facet_counts(session: Session, filters: EnterpriseFilters) -> dict[str, dict[str, int]]:
    """For each filter, how many firms each of its values gives with the other filters unchanged."""
    def ids(skip: str) -> sa.Select:
        return filtered_query(filters, skip=skip).with_only_columns(EnterpriseProfile.id)

    district_rows = session.execute(
        sa.select(District.code, sa.func.count(EnterpriseProfile.id))
        .join(Organisation, Organisation.district_id == District.id)
        .join(EnterpriseProfile, EnterpriseProfile.organisation_id == Organisation.id)
        .where(EnterpriseProfile.id.in_(ids("district"))).group_by(District.code)
    ).all()
    domain_rows = session.execute(
        sa.select(Domain.code, sa.func.count(profile_domains.c.profile_id))
        .join(profile_domains, profile_domains.c.domain_id == Domain.id)
        .where(profile_domains.c.profile_id.in_(ids("domain"))).group_by(Domain.code)
    ).all()
    qualification_rows = session.execute(
        sa.select(Qualification.kind, sa.func.count(sa.distinct(Qualification.profile_id)))
        .where(Qualification.status == VerificationStatus.VERIFIED,
               Qualification.profile_id.in_(ids("qualification"))).group_by(Qualification.kind)
    ).all()
    return {"district": dict(district_rows), "domain": dict(domain_rows),
            "qualification": {kind.value: n for kind, n in qualification_rows}}


def page_of(session: Session, filters: EnterpriseFilters, with_counts: bool = True) -> EnterprisePage:
    """One page of the directory with the total (and, for the page, per-filter counts)."""
    query = filtered_query(filters)
    total = session.execute(sa.select(sa.func.count()).select_from(query.subquery())).scalar_one()
    items = session.execute(
        with_relations(ordered(query, filters.sort)).limit(filters.per_page)
        .offset((filters.page - 1) * filters.per_page)
    ).scalars().all()
    counts = facet_counts(session, filters) if with_counts else {}
    return EnterprisePage(list(items), total, filters.page, filters.per_page, counts)


def public_profile(session: Session, profile_id: int) -> EnterpriseProfile | None:
    """One profile if it is public, else None."""
    return session.execute(
        with_relations(sa.select(EnterpriseProfile).where(EnterpriseProfile.id == profile_id, public_clause()))
    ).scalar_one_or_none()


def filter_choices(session: Session) -> dict[str, list]:
    """Reference rows for the filter form."""
    return {
        "districts": list(session.execute(sa.select(District).order_by(District.sort_order)).scalars()),
        "domains": list(session.execute(sa.select(Domain).order_by(Domain.sort_order)).scalars()),
        "qualifications": list(QualificationKind),
    }
