"""Scenario lists: drafting, review, rolling batches, public browsing, Q&A, import/export."""

from flask import Blueprint, Flask

bp = Blueprint("scenarios", __name__)

from marketplace import attachments  # noqa: E402
from marketplace.models import AttachmentPurpose  # noqa: E402
from marketplace.scenarios import policy, routes, transfer_routes  # noqa: E402,F401


def init_app(app: Flask) -> None:
    """Routes and the access rules of scenario files (funding evidence, scenario documents)."""
    app.register_blueprint(bp)
    attachments.add_access_rule(app, AttachmentPurpose.FUNDING_EVIDENCE, policy.scenario_files_rule)
    attachments.add_access_rule(app, AttachmentPurpose.SCENARIO_DOCUMENT, policy.scenario_files_rule)
