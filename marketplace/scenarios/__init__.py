"""Scenario lists: drafting, review, rolling batches, public browsing, Q&A, import/export."""

from flask import Blueprint

bp = Blueprint("scenarios", __name__)

from marketplace.scenarios import routes, transfer_routes  # noqa: E402,F401
