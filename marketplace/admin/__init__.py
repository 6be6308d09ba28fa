"""Administration: approvals (district and city staff), users and organisations (city staff)."""

from flask import Blueprint, Flask

bp = Blueprint("admin", __name__, url_prefix="/admin")

from marketplace.admin import routes  # noqa: E402,F401


def init_app(app: Flask) -> None:
    """Register the area's routes."""
    app.register_blueprint(bp)
