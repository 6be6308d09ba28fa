"""Home page, workspace, health check, language switch and file downloads."""

from flask import Blueprint, Flask

bp = Blueprint("main", __name__)

from marketplace.main import routes  # noqa: E402,F401


def init_app(app: Flask) -> None:
    """Register the area's routes (the workspace panels are added by each area)."""
    app.register_blueprint(bp)
