"""``GET /api/v1/statistics``: aggregate counts of public scenarios by status, district, domain and year.

The same figures as the public page ``/statistics`` (public scenarios only, counts only: no
funding, no firms, nothing from applications), in the API's envelope. Optional ``year`` and
``district`` narrow the figures; bad values answer 400 with ``{"error": {"status", "message",
"fields"}}``. Every entry carries the ``url`` of the public list of the scenarios it counts.
"""

from __future__ import annotations

from flask import jsonify, request

from marketplace.api import bp
from marketplace.cors import open_to_other_sites
from marketplace.extensions import db
from marketplace.pagecache import cached_page
from marketplace.statistics.figures import public_statistics
from marketplace.statistics.scope import public_scope
from marketplace.statistics.serializers import api_statistics


@bp.route("/statistics")
@open_to_other_sites
@cached_page
def statistics():
    """Counts of public scenarios, optionally for one ``year`` and/or one ``district`` (code)."""
    scope = public_scope(db.session, request.args.get("district"), request.args.get("year"))
    return jsonify(api_statistics(public_statistics(db.session, scope)))
