"""揭榜: applications (sealed until the deadline), evaluation and award, delivery and acceptance."""

from flask import Blueprint

bp = Blueprint("applications", __name__)

from marketplace.applications import (  # noqa: E402,F401  (route modules register on bp)
    delivery_routes,
    evaluation_routes,
    routes,
)
