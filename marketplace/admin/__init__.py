"""Administration: approvals (district and city staff), users and organisations (city staff)."""

from flask import Blueprint

bp = Blueprint("admin", __name__, url_prefix="/admin")

from marketplace.admin import routes  # noqa: E402,F401
