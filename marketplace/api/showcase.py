"""``/api/v1/demonstrations``: published demonstration projects (read-only).

Same envelope as the scenario API: lists are ``{"items", "total", "page", "per_page"}``;
errors are ``{"error": {"status", "message", "fields"?}}``. Nothing unpublished is ever served:
draft rounds and nominations have no endpoint.
"""

from __future__ import annotations

from flask import jsonify, request

from marketplace.api import bp
from marketplace.cors import open_to_other_sites
from marketplace.extensions import db
from marketplace.pagecache import cached_page
from marketplace.showcase.facts import delivery_facts
from marketplace.showcase.gallery import gallery_page
from marketplace.showcase.serializers import demonstration_summary, gallery_filters


@bp.route("/demonstrations")
@open_to_other_sites
@cached_page
def demonstrations():
    """Published demonstration projects, filtered by ``year``, ``district``, ``domain`` and ``q``; paged."""
    page = gallery_page(db.session, gallery_filters(request.args))
    facts = delivery_facts(db.session, [d.scenario_id for d in page.items])
    return jsonify({
        "items": [demonstration_summary(d, facts[d.scenario_id].contract_amount_wan) for d in page.items],
        "total": page.total,
        "page": page.page,
        "per_page": page.per_page,
    })
