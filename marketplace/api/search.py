"""``/api/v1/search``: the site search as JSON, with the parameters of the ``/search`` page.

Envelope: ``{"items", "total", "total_is_estimate", "page", "per_page", "facets", "notice"}``
(``total_is_estimate``: the total and the facet counts are estimates, rounded, because very many
records match; PostgreSQL backend only). Each item carries the
highlighted ``title_html`` / ``snippet_html`` (escaped HTML with ``<mark>``), the plain ``title``,
its ``type``, ``id``, ``url`` and derived ``status``. ``facets`` maps each facet to
``[{"value", "label", "count"}]``. Bad parameters answer 400 with per-parameter messages.
"""

from __future__ import annotations

from flask import jsonify, request, url_for

from marketplace.api import bp
from marketplace.cors import open_to_other_sites
from marketplace.errors import BadParameters, ValidationFailed
from marketplace.extensions import db
from marketplace.search_views import facet_labels, parse_search, results_record, run_search


@bp.route("/search")
@open_to_other_sites
def search_records():
    """Published scenarios, verified firms and published demonstrations matching ``q`` and the filters."""
    try:
        params = parse_search(request.args)
    except ValidationFailed as error:
        raise BadParameters(error.message, error.field_errors) from None
    results = run_search(params)
    labels = facet_labels(db.session, results.facets, params)
    return jsonify(results_record(results, labels, url_for("main.index", _external=True).rstrip("/")))
