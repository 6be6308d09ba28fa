"""用户协议 and 隐私政策: public pages, the city staff's editor (each save publishes a new version), and
the consent users give at registration or, after a new version, from a banner on every page."""

from flask import Blueprint, Flask

bp = Blueprint("legal", __name__)

from marketplace.legal import routes  # noqa: E402


def init_app(app: Flask) -> None:
    """Register the area's routes and the ``pending_consents()`` template global (the banner)."""
    app.register_blueprint(bp)
    app.context_processor(routes.consent_context)
