"""``/api/v1``: published demonstration projects and published annual appraisals (read-only).

Same envelope as the scenario API: lists are ``{"items", "total", "page", "per_page"}``;
errors are ``{"error": {"status", "message", "fields"?}}``. Amounts in 万元 are exact
decimal strings; rewards are whole yuan (integers); scores and normalised values are
decimal strings. Nothing unpublished is ever served: draft rounds and nominations have no
endpoint, and a draft appraisal answers 404 like a missing one.
"""

from __future__ import annotations

from typing import Any

from flask import jsonify, request, url_for
from flask_babel import gettext as _

from marketplace.api import bp
from marketplace.clock import iso_local
from marketplace.errors import BadParameters, NotFound, ValidationFailed
from marketplace.extensions import db
from marketplace.formats import money
from marketplace.models import Demonstration
from marketplace.showcase import appraisal as appraisals
from marketplace.showcase import services
from marketplace.showcase.facts import delivery_facts


def demonstration_summary(demo: Demonstration, amount_wan=None) -> dict[str, Any]:
    """The public record of one demonstration project."""
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


@bp.route("/demonstrations")
def demonstrations():
    """Published demonstration projects, filtered by ``year``, ``district``, ``domain`` and ``q``; paged."""
    try:
        filters = services.parse_filters(request.args, default_per_page=20)
    except ValidationFailed as error:
        raise BadParameters(error.message, error.field_errors)
    page = services.gallery_page(db.session, filters)
    facts = delivery_facts(db.session, [d.scenario_id for d in page.items])
    return jsonify({
        "items": [demonstration_summary(d, facts[d.scenario_id].contract_amount_wan) for d in page.items],
        "total": page.total,
        "page": page.page,
        "per_page": page.per_page,
    })


@bp.route("/appraisals/<int:year>")
def appraisal(year: int):
    """The published annual appraisal of ``year``: each district's indicators, score, rank and reward."""
    found = appraisals.published_annual(db.session, year)
    if found is None:
        raise NotFound(_("%(y)d 年度考评结果尚未发布。", y=year))
    result = appraisals.outcome(db.session, found)
    return jsonify({
        "year": found.year,
        "period": found.period.value,
        "name": found.name,
        "published_at": iso_local(found.published_at),
        "reward_pool_yuan": int(found.reward_pool_yuan),
        "cap_yuan": int(found.cap_yuan),
        "top_n": found.top_n,
        "unallocated_yuan": int(result.unallocated_yuan),
        "indicators": [{"code": i.code, "name": i.name, "weight": f"{i.weight:.2f}"} for i in found.indicators],
        "items": [
            {
                "district": line.district.name,
                "district_code": line.district.code,
                "indicators": line.indicators,
                "score": f"{line.score:.2f}",
                "rank": line.rank,
                "reward_yuan": int(line.reward_yuan),
            }
            for line in result.results
        ],
    })
