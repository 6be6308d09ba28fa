"""Open data: OCDS 1.1 releases and records of every public scenario, yearly bulk files, and the pages that
explain them (``/open-data``) and the JSON API (``/api/docs``).

The mapping (:mod:`.ocds`) and the bulk files (:mod:`.bulk`) are services without HTTP; the JSON endpoints
live in :mod:`marketplace.api.ocds`, the API description in :mod:`marketplace.api.openapi`.
"""

from flask import Blueprint, Flask

bp = Blueprint("opendata", __name__)

from marketplace.opendata import routes  # noqa: E402,F401  (registers the pages on bp)


def init_app(app: Flask) -> None:
    """Register the open-data and API documentation pages."""
    app.register_blueprint(bp)
