"""Public representations of scenarios, shared by the JSON API and the open-data exports.

One place decides what the public sees of a scenario and how values are written:
amounts as exact decimal strings ("350.00"), times in ISO 8601 with the +08:00
offset, statuses as the *displayed* status (a published scenario past its
deadline is "closed"; an awarded one whose 公示 notice is pending is "publicity", as on the pages —
the caller finds which in one query with :func:`marketplace.scenarios.listing.in_publicity`).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from flask import url_for
from flask_babel import gettext as _
from werkzeug.datastructures import MultiDict

from marketplace.clock import iso_local
from marketplace.errors import BadParameters, ValidationFailed
from marketplace.formats import money
from marketplace.models import Scenario, ScenarioStatus
from marketplace.scenarios import documents, listing
from marketplace.scenarios.listing import ScenarioFilters

#: Largest id or page number accepted in a query string (keeps values inside a 32-bit INTEGER).
MAX_INT_PARAM = 2**31 - 1


def list_filters(args: MultiDict, default_per_page: int = 20) -> ScenarioFilters:
    """Parse list filters for the API and exports; every bad value raises :class:`BadParameters`."""
    try:
        filters = listing.parse_filters(args, default_per_page=default_per_page)
    except ValidationFailed as error:
        raise BadParameters(error.message, error.field_errors)
    fields: dict[str, list[str]] = {}
    if filters.batch is not None and filters.batch > MAX_INT_PARAM:
        fields["batch"] = [_("取值超出范围（%(lo)d–%(hi)s）。", lo=1, hi=MAX_INT_PARAM)]
    if (filters.page - 1) * filters.per_page > MAX_INT_PARAM:
        fields["page"] = [_("页码过大。")]
    if fields:
        detail = "；".join(f"{k}: {' '.join(v)}" for k, v in fields.items())
        raise BadParameters(_("参数有误：%(detail)s", detail=detail), fields)
    return filters


def scenario_url(scenario: Scenario) -> str:
    """Absolute URL of the scenario's public page."""
    return url_for("scenarios.detail", scenario_id=scenario.id, _external=True)


def scenario_summary(scenario: Scenario, now: datetime | None = None, in_publicity: bool = False) -> dict[str, Any]:
    """The list representation: one item of ``/api/v1/scenarios`` and of the open-data exports.

    *in_publicity*: the scenario's award is still in 公示 (status ``publicity``, not ``awarded``).
    """
    status = scenario.display_status(now, in_publicity)
    return {
        "id": scenario.id,
        "title": scenario.title,
        "owner": scenario.owner.name,
        "district": scenario.district.name,
        "district_code": scenario.district.code,
        "domain": scenario.domain.name if scenario.domain else None,
        "domain_code": scenario.domain.code if scenario.domain else None,
        "theme": scenario.theme.name if scenario.theme else None,
        "theme_code": scenario.theme.code if scenario.theme else None,
        "budget_wan": money(scenario.budget_wan),
        "funding_source": scenario.funding_source.value if scenario.funding_source else None,
        "funding_source_label": scenario.funding_source.label if scenario.funding_source else None,
        "deadline": iso_local(scenario.deadline),
        "status": status.value,
        "status_label": status.label,
        "batch": [batch.name for batch in scenario.batches],
        "url": scenario_url(scenario),
    }


def scenario_detail(scenario: Scenario, now: datetime | None = None, in_publicity: bool = False) -> dict[str, Any]:
    """The full public record of a published-or-later scenario.

    Funding evidence stays out (owner and reviewers only); answered questions are
    shown without the asking firm.
    """
    if scenario.status not in ScenarioStatus.public():
        raise ValueError("only public scenarios have a public record")
    record = scenario_summary(scenario, now, in_publicity)
    record.update({
        "summary": scenario.summary,
        "description": scenario.description,
        "boundary": scenario.boundary,
        "requirements": scenario.requirements,
        "acceptance": scenario.acceptance,
        "outcomes": scenario.outcomes,
        "delivery_months": scenario.delivery_months,
        "mode": scenario.mode.value,
        "mode_label": scenario.mode.label,
        "race_teams": scenario.race_teams,
        "contact": {
            "name": scenario.contact_name,
            "phone": scenario.contact_phone,
            "email": scenario.contact_email or None,
        },
        "published_at": iso_local(scenario.published_at),
        "revision": scenario.revision,
        "documents": [
            {"filename": doc.attachment.filename, "kind": documents.kind_label(doc.attachment.content_type),
             "content_type": doc.attachment.content_type, "size": doc.attachment.size,
             "size_label": documents.human_size(doc.attachment.size),
             "url": url_for("scenarios.document", scenario_id=scenario.id, document_id=doc.id, _external=True)}
            for doc in documents.public_documents(scenario)
        ],
        "questions": [
            {"question": q.text, "asked_at": iso_local(q.created_at), "answer": q.answer,
             "answered_at": iso_local(q.answered_at)}
            for q in scenario.questions if q.answer
        ],
    })
    return record
