"""揭榜: applications (sealed until the deadline), evaluation and award, delivery and acceptance."""

from flask import Blueprint, Flask
from flask_babel import lazy_gettext as _l

bp = Blueprint("applications", __name__)

from marketplace import attachments, signals  # noqa: E402
from marketplace.applications import (  # noqa: E402  (route modules register on bp)
    delivery,
    delivery_routes,  # noqa: F401
    evaluation_routes,  # noqa: F401
    panels,
    publicity,
    publicity_routes,  # noqa: F401
    routes,  # noqa: F401
    services,
    submission,
)
from marketplace.extensions import db  # noqa: E402
from marketplace.main.panels import add_panel, add_todo  # noqa: E402
from marketplace.models import AttachmentPurpose, Role  # noqa: E402


def init_app(app: Flask) -> None:
    """Routes, file rules, workspace panels, and re-confirmation when a scenario changes."""
    app.register_blueprint(bp)
    attachments.watch_session(db.session)  # removed application documents leave the disk on commit
    attachments.add_access_rule(app, AttachmentPurpose.APPLICATION_DOCUMENT, services.document_rule)
    attachments.add_access_rule(app, AttachmentPurpose.ACCEPTANCE_REPORT, delivery.report_rule)
    attachments.add_access_rule(app, AttachmentPurpose.OBJECTION_EVIDENCE, publicity.objection_rule)
    signals.scenario_changed.connect(submission.flag_for_reconfirmation)
    add_panel(app, (Role.ENTERPRISE,), "applications/_panel_enterprise.html", panels.enterprise_panel)
    add_panel(app, (Role.ENTERPRISE,), "applications/delivery/_panel_firm.html", panels.delivery_panel)
    add_panel(app, (Role.OWNER,), "applications/_panel_owner.html", panels.owner_panel)
    add_panel(app, (Role.OWNER,), "applications/evaluation/_panel_owner.html", panels.owner_evaluation_panel)
    add_panel(app, (Role.EXPERT,), "applications/evaluation/_panel_expert.html", panels.expert_panel)
    add_todo(app, (Role.OWNER,), "to_evaluate", _l("已截止待评审的场景"), panels.to_evaluate_count,
             "applications.owner_evaluations")
    add_todo(app, (Role.OWNER,), "experts_pending", _l("尚未声明的评审专家"), panels.experts_pending_count,
             "applications.owner_evaluations")
    add_todo(app, (Role.OWNER,), "objections_to_answer", _l("异议待答复"), publicity.objections_to_answer_count,
             "applications.objections_work", status="unanswered")
    add_todo(app, (Role.OWNER,), "notices_open", _l("公示中的场景"), publicity.open_notices_count,
             "applications.publicity_index", status="open", mine="1")
    add_todo(app, (Role.DISTRICT_STAFF, Role.CITY_STAFF), "objections_to_decide", _l("异议待决定"),
             publicity.objections_to_decide_count, "applications.objections_work", status="undecided")
    add_todo(app, (Role.EXPERT,), "to_declare", _l("待声明回避的评审任务"), panels.to_declare_count,
             "applications.reviews")
