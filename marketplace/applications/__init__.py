"""揭榜: applications (sealed until the deadline), evaluation and award, delivery and acceptance."""

from flask import Blueprint

bp = Blueprint("applications", __name__)

# Route modules are imported below, one line each (routes, evaluation_routes, delivery_routes).

from marketplace.applications import routes  # noqa: E402,F401
from marketplace.applications import evaluation_routes  # noqa: E402,F401
from marketplace.applications import delivery_routes  # noqa: E402,F401
