"""``/api/v1/enterprises``: the public enterprise directory as JSON (verified firms only, public fields only).

Same envelope and errors as the scenario endpoints: ``{"items", "total", "page", "per_page"}``
for lists, ``{"error": {"status", "message", "fields"}}`` for bad parameters (400) and for
profiles that do not exist or are not public (404). Head counts are given as the same band
the public page shows, never the exact number; evidence files never appear.
"""

from __future__ import annotations

from typing import Any

from flask import jsonify, request, url_for
from flask_babel import gettext as _

from marketplace.api import bp
from marketplace.clock import iso_local
from marketplace.enterprises import directory, policy
from marketplace.enterprises.services import employee_band
from marketplace.errors import BadParameters, NotFound, ValidationFailed
from marketplace.extensions import db
from marketplace.formats import money
from marketplace.models import EnterpriseProfile


def enterprise_summary(profile: EnterpriseProfile) -> dict[str, Any]:
    """One item of ``/api/v1/enterprises``."""
    organisation = profile.organisation
    district = organisation.district
    band = employee_band(profile.employees)
    return {
        "id": profile.id,
        "name": organisation.name,
        "uscc": organisation.uscc,
        "district": district.name if district else None,
        "district_code": district.code if district else None,
        "domains": [{"code": d.code, "name": d.name} for d in profile.domains],
        "tags": profile.tag_list,
        "qualifications": [q.label for q in policy.public_qualifications(profile)],
        "employees": band[0] if band else None,
        "employees_label": band[1] if band else None,
        "revenue_band": profile.revenue_band.value if profile.revenue_band else None,
        "revenue_band_label": profile.revenue_band.label if profile.revenue_band else None,
        "url": url_for("enterprises.detail", profile_id=profile.id, _external=True),
    }


def enterprise_detail(profile: EnterpriseProfile) -> dict[str, Any]:
    """The full public record of a verified firm."""
    if not policy.is_public(profile):
        raise ValueError("only public profiles have a public record")
    record = enterprise_summary(profile)
    record.update({
        "building": profile.building or None,
        "founded_on": profile.founded_on.isoformat() if profile.founded_on else None,
        "business_scope": profile.business_scope,
        "capabilities": profile.capabilities,
        "qualification_details": [
            {"kind": q.kind.value, "kind_label": q.kind.label, "label": q.label, "year": q.year,
             "verified_at": iso_local(q.verified_at)}
            for q in policy.public_qualifications(profile)
        ],
        "cases": [
            {"title": c.title, "client": c.client or None, "year": c.year, "amount_wan": money(c.amount_wan),
             "description": c.description}
            for c in profile.cases
        ],
        "contact": {"name": profile.contact_name or None, "phone": profile.contact_phone or None,
                    "email": profile.contact_email or None, "website": profile.website},
        "verified_at": iso_local(profile.verified_at),
    })
    return record


@bp.route("/enterprises")
def enterprises():
    """Verified firms, filtered like the directory page (district, domain, qualification, q), one page at a time."""
    try:
        filters = directory.parse_filters(db.session, request.args)
    except ValidationFailed as error:
        raise BadParameters(error.message, error.field_errors) from None
    page = directory.page_of(db.session, filters, with_counts=False)
    return jsonify({
        "items": [enterprise_summary(p) for p in page.items],
        "total": page.total,
        "page": page.page,
        "per_page": page.per_page,
    })


@bp.route("/enterprises/<int:profile_id>")
def enterprise(profile_id: int):
    """The public record of one verified firm; 404 for anything unverified."""
    profile = directory.public_profile(db.session, profile_id)
    if profile is None:
        raise NotFound(_("找不到该企业，或该企业信息尚未通过核验。"))
    return jsonify(enterprise_detail(profile))
