"""Enterprise capability profiles (企业能力清单): the firm's profile, staff verification, the public directory."""

from flask import Blueprint

bp = Blueprint("enterprises", __name__)

from marketplace.enterprises import routes  # noqa: E402,F401
from marketplace.enterprises.panels import register_panels  # noqa: E402

register_panels()
