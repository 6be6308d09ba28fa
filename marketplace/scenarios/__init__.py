"""Scenario lists: drafting, review, rolling batches, public browsing, Q&A, import/export."""

from flask import Blueprint, Flask
from flask_babel import lazy_gettext as _l

bp = Blueprint("scenarios", __name__)

from marketplace import attachments  # noqa: E402
from marketplace.main.panels import add_todo  # noqa: E402
from marketplace.models import AttachmentPurpose, Role  # noqa: E402
from marketplace.scenarios import cards, list_html, policy, routes, services, transfer_routes  # noqa: E402,F401


def init_app(app: Flask) -> None:
    """Routes and the access rules of scenario files (funding evidence, scenario documents)."""
    app.register_blueprint(bp)
    app.add_template_global(cards.scenario_cards)
    app.add_template_global(cards.STATUS_COLOURS, "status_colours")
    for renderer in (list_html.filter_form, list_html.status_tabs, list_html.sort_links):
        app.add_template_global(renderer)
    attachments.add_access_rule(app, AttachmentPurpose.FUNDING_EVIDENCE, policy.scenario_files_rule)
    attachments.add_access_rule(app, AttachmentPurpose.SCENARIO_DOCUMENT, policy.scenario_files_rule)
    add_todo(app, (Role.DISTRICT_STAFF, Role.CITY_STAFF), "scenarios_to_review", _l("待审核的场景"),
             services.review_queue_count, "scenarios.review")
    add_todo(app, (Role.OWNER,), "scenarios_returned", _l("退回待修改的场景"), services.returned_count,
             "scenarios.mine", status="returned")
