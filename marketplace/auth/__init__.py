"""Accounts: sign-in, registration, password change and reset."""

from flask import Blueprint, Flask

bp = Blueprint("auth", __name__, url_prefix="/auth")

from marketplace.auth import routes  # noqa: E402,F401


def init_app(app: Flask) -> None:
    """Register the area's routes."""
    app.register_blueprint(bp)
