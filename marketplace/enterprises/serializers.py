"""Public JSON records of verified firms (``/api/v1/enterprises``).

Public fields only: head counts as the band the public page shows (never the exact number),
only verified qualifications, never evidence files.
"""

from __future__ import annotations

from typing import Any

from flask import url_for

from marketplace.clock import iso_local
from marketplace.enterprises import policy
from marketplace.enterprises.services import employee_band
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
