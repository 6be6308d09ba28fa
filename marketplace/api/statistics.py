"""``GET /api/v1/statistics``: aggregate counts of public scenarios by status, district, domain and year.

The same figures as the public page ``/statistics`` (public scenarios only, counts only: no
funding, no firms, nothing from applications), in the API's envelope. Optional ``year`` and
``district`` narrow the figures; bad values answer 400 with ``{"error": {"status", "message",
"fields"}}``. Every entry carries the ``url`` of the public list of the scenarios it counts.
"""

from __future__ import annotations

from typing import Any

from flask import jsonify, request, url_for

from marketplace import clock
from marketplace.api import bp
from marketplace.clock import iso_local
from marketplace.extensions import db
from marketplace.showcase import statistics as stats


def _url(query: stats.ScenarioQuery) -> str:
    endpoint, args = stats.public_link(query)
    return url_for(endpoint, _external=True, **args)


def _entry(row: stats.Row) -> dict[str, Any]:
    return {
        "total": row.cells["total"].value,
        "by_status": {s: row.cells[s].value for s in stats.PUBLIC_STATUSES},
        "url": _url(row.cells["total"].query),
    }


@bp.route("/statistics")
def statistics():
    """Counts of public scenarios, optionally for one ``year`` and/or one ``district`` (code)."""
    scope = stats.public_scope(db.session, request.args.get("district"), request.args.get("year"))
    figures = stats.public_statistics(db.session, scope)
    status = figures.table("status")
    return jsonify({
        "filters": {"year": scope.year, "district": scope.district_code},
        "generated_at": iso_local(clock.now()),
        "total": figures.total,
        "statuses": [{"code": s, "label": stats.status_label(s)} for s in stats.PUBLIC_STATUSES],
        "by_status": [{"status": r.key, "label": r.label, "count": r.cells["count"].value,
                       "url": _url(r.cells["count"].query)} for r in status.rows],
        "by_district": [{"district": r.key, "name": r.label, **_entry(r)} for r in figures.table("district").rows],
        "by_domain": [{"domain": r.key, "name": r.label, **_entry(r)} for r in figures.table("domain").rows],
        "by_year": [{"year": int(r.key), **_entry(r)} for r in figures.table("year").rows],
    })
