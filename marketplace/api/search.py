"""``/api/v1/search``: the site search as JSON, with the parameters of the ``/search`` page.

Envelope: ``{"items", "total", "page", "per_page", "facets", "notice"}``. Each item carries the
highlighted ``title_html`` / ``snippet_html`` (escaped HTML with ``<mark>``), the plain ``title``,
its ``type``, ``id``, ``url`` and derived ``status``. ``facets`` maps each facet to
``[{"value", "label", "count"}]``. Bad parameters answer 400 with per-parameter messages.
"""

from __future__ import annotations

from flask import jsonify, request, url_for
from markupsafe import Markup

from marketplace.api import bp
from marketplace.errors import BadParameters, ValidationFailed
from marketplace.extensions import db
from marketplace.search_views import facet_labels, parse_search, run_search


@bp.route("/search")
def search_records():
    """Published scenarios, verified firms and published demonstrations matching ``q`` and the filters."""
    try:
        params = parse_search(request.args)
    except ValidationFailed as error:
        raise BadParameters(error.message, error.field_errors)
    results = run_search(params)
    labels = facet_labels(db.session, results.facets, params)
    root = url_for("main.index", _external=True).rstrip("/")
    return jsonify({
        "items": [{
            "type": hit.doc_type,
            "id": hit.doc_id,
            "title": Markup(hit.title_html).striptags(),
            "title_html": hit.title_html,
            "snippet_html": hit.snippet_html,
            "status": hit.status,
            "score": round(hit.score, 4),
            "url": f"{root}{hit.url}" if hit.url.startswith("/") else hit.url,
        } for hit in results.hits],
        "total": results.total,
        "page": results.page,
        "per_page": results.per_page,
        "facets": {name: [{"value": value, "label": labels.get(name, {}).get(value, value), "count": count}
                          for value, count in counts.items()]
                   for name, counts in results.facets.items()},
        "notice": results.notice,
    })
