"""Home page, workspace, health check, language switch and file downloads."""

from flask import Blueprint, Flask
from flask_babel import lazy_gettext as _l

bp = Blueprint("main", __name__)

from marketplace.main import routes, services  # noqa: E402,F401
from marketplace.main.panels import add_todo  # noqa: E402
from marketplace.models import Role  # noqa: E402


def init_app(app: Flask) -> None:
    """Register the area's routes and the staff's registration to-do (other panels are added by each area)."""
    app.register_blueprint(bp)
    add_todo(app, (Role.DISTRICT_STAFF, Role.CITY_STAFF), "registrations", _l("待审核的注册申请"),
             services.pending_approvals_count, "admin.approvals")
