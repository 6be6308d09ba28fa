"""Read-only JSON API over the public records (``/api/v1``).

GET only: there is nothing to exempt from CSRF. The API package only routes: each record's
JSON shape is made by its own area's ``serializers`` module. Errors (domain errors, unknown
paths under ``/api/``) are answered as the JSON envelope by :mod:`marketplace.errors`.
"""

from flask import Blueprint, Flask

bp = Blueprint("api", __name__, url_prefix="/api/v1")

from marketplace.api import (  # noqa: E402,F401  (route modules register on bp)
    applications,
    appraisal,
    enterprises,
    matching,
    ocds,
    openapi,
    publicity,
    routes,
    search,
    showcase,
    statistics,
)


def init_app(app: Flask) -> None:
    """Register the API routes."""
    app.register_blueprint(bp)
