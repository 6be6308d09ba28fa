"""Read-only JSON API over the public records (``/api/v1``).

GET only: there is nothing to exempt from CSRF. The API package only routes: each record's
JSON shape is made by its own area's ``serializers`` module. Errors (domain errors, unknown
paths under ``/api/``) are answered as the JSON envelope by :mod:`marketplace.errors`.
"""

from flask import Blueprint, Flask
from flask_login import current_user

from marketplace.extensions import API, rate_limit

bp = Blueprint("api", __name__, url_prefix="/api/v1")
#: Anonymous clients get ``RATELIMIT_API`` (default 60/minute) per client IP for the whole API (one count
#: shared by every route, not 60 per route); signed-in users are exempt.
rate_limit(API, methods=None, exempt_when=lambda: current_user.is_authenticated, shared="api")(bp)

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
