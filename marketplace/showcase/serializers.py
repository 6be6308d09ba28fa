"""Public representations of demonstration projects, for ``/api/v1/demonstrations``.

Amounts in 万元 are exact decimal strings; times ISO 8601 with the +08:00 offset. Only published
cases are ever shaped here: rounds, nominations and scores have no public representation.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from flask import url_for
from werkzeug.datastructures import MultiDict

from marketplace.clock import iso_local
from marketplace.errors import BadParameters, ValidationFailed
from marketplace.formats import money
from marketplace.models import Demonstration
from marketplace.showcase import gallery


def gallery_filters(args: MultiDict, default_per_page: int = 20) -> gallery.DemonstrationFilters:
    """Parse gallery filters for the API; every bad value raises :class:`BadParameters` (400)."""
    try:
        return gallery.parse_filters(args, default_per_page=default_per_page)
    except ValidationFailed as error:
        raise BadParameters(error.message, error.field_errors)


def demonstration_summary(demo: Demonstration, amount_wan: Decimal | None = None) -> dict[str, Any]:
    """The public record of one demonstration project (``amount_wan``: its contract amount, if known)."""
    scenario = demo.scenario
    return {
        "id": demo.id,
        "year": demo.year,
        "title": demo.title,
        "district": scenario.district.name,
        "district_code": scenario.district.code,
        "domain": scenario.domain.name if scenario.domain else None,
        "domain_code": scenario.domain.code if scenario.domain else None,
        "owner": scenario.owner.name,
        "firm": demo.firm.name if demo.firm else None,
        "contract_amount_wan": money(amount_wan),
        "problem": demo.problem,
        "solution": demo.solution,
        "outcomes": demo.outcomes,
        "highlights": demo.highlights,
        "published_at": iso_local(demo.published_at),
        "scenario_id": scenario.id,
        "scenario_url": url_for("scenarios.detail", scenario_id=scenario.id, _external=True),
        "reuse_count": len(demo.reuses),
        "media": [{"filename": a.filename, "content_type": a.content_type,
                   "url": url_for("main.download", attachment_id=a.id, _external=True)} for a in demo.media],
        "url": url_for("showcase.detail", demo_id=demo.id, _external=True),
    }
