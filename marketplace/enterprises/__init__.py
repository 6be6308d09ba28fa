"""Enterprise capability profiles (企业能力清单): the firm's profile, staff verification, the public directory."""

from flask import Blueprint, Flask
from flask_babel import lazy_gettext as _l

bp = Blueprint("enterprises", __name__)

from marketplace import attachments  # noqa: E402
from marketplace.enterprises import policy, routes, services, verification  # noqa: E402,F401
from marketplace.main.panels import add_panel, add_todo  # noqa: E402
from marketplace.models import AttachmentPurpose, Role  # noqa: E402


def init_app(app: Flask) -> None:
    """Routes, the access rule of qualification evidence, the firm's and the reviewers' panels."""
    app.register_blueprint(bp)
    attachments.add_access_rule(app, AttachmentPurpose.QUALIFICATION_EVIDENCE, policy.can_download_evidence)
    add_panel(app, (Role.ENTERPRISE,), "enterprises/_panel.html", services.firm_panel)
    add_panel(app, (Role.DISTRICT_STAFF, Role.CITY_STAFF), "enterprises/_review_panel.html", verification.staff_panel)
    add_todo(app, (Role.DISTRICT_STAFF, Role.CITY_STAFF), "profiles_to_verify", _l("待核验的企业"),
             verification.pending_profiles_count, "enterprises.review")
