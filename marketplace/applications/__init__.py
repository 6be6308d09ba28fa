"""揭榜: applications (sealed until the deadline), evaluation and award, delivery and acceptance."""

from flask import Blueprint

bp = Blueprint("applications", __name__)

# Route modules are imported below, one line each (routes, evaluation_routes, delivery_routes).
