"""``/api/v1``: public scenario lists and records as JSON (read-only)."""

from __future__ import annotations

from flask import jsonify, request
from flask_babel import gettext as _

from marketplace import clock
from marketplace.api import bp
from marketplace.applications import publicity
from marketplace.cors import open_to_other_sites
from marketplace.errors import NotFound
from marketplace.extensions import db
from marketplace.models import Scenario
from marketplace.pagecache import cached_page
from marketplace.scenarios import listing
from marketplace.scenarios.serializers import list_filters, scenario_detail, scenario_summary


@bp.route("/scenarios")
@open_to_other_sites
@cached_page
def scenarios():
    """Public scenarios, filtered like the list page, one page at a time."""
    filters = list_filters(request.args)
    page = listing.page_of(db.session, filters)
    now = clock.now()
    publicity_ids = listing.in_publicity(db.session, page.items, now)
    return jsonify({
        "items": [scenario_summary(s, now, s.id in publicity_ids) for s in page.items],
        "total": page.total,
        "page": page.page,
        "per_page": page.per_page,
    })


@bp.route("/scenarios/<int:scenario_id>")
@open_to_other_sites
@cached_page
def scenario(scenario_id: int):
    """The full public record of one published-or-later scenario."""
    found = db.session.get(Scenario, scenario_id)
    if found is None or not found.is_public:
        raise NotFound(_("找不到该场景，或该场景尚未公开发布。"))
    record = scenario_detail(found, in_publicity=bool(listing.in_publicity(db.session, [found])))
    award = publicity.award_summary(db.session, found)
    if award is not None:
        record["award"] = award
    return jsonify(record)
