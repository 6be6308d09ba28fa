"""Read-only JSON API over the public scenario lists (``/api/v1``).

GET only: there is nothing to exempt from CSRF. Errors raised in these views are
answered as JSON with field details; unknown paths under ``/api/`` get JSON from
the application's handler in :mod:`marketplace.errors`.
"""

from flask import Blueprint

bp = Blueprint("api", __name__, url_prefix="/api/v1")

from marketplace.api import (  # noqa: E402,F401  (route modules register on bp)
    applications,
    enterprises,
    routes,
    search,
    showcase,
    statistics,
)
