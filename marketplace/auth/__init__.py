"""Accounts: sign-in, registration, password change and reset."""

from flask import Blueprint

bp = Blueprint("auth", __name__, url_prefix="/auth")

from marketplace.auth import routes  # noqa: E402,F401
