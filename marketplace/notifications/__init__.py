"""Notifications: the in-app centre, e-mail (immediate or daily digest), follows and saved searches."""

from flask import Blueprint, Flask

bp = Blueprint("notifications", __name__)

from marketplace import signals  # noqa: E402
from marketplace.main.panels import add_panel  # noqa: E402
from marketplace.models import Role  # noqa: E402
from marketplace.notifications import routes, services  # noqa: E402,F401


def init_app(app: Flask) -> None:
    """Routes, the workspace panel, and the scenario events that become notifications."""
    app.register_blueprint(bp)
    signals.scenario_changed.connect(services.notify_followers_of_change)
    signals.question_answered.connect(services.notify_question_answered)
    add_panel(app, tuple(Role), "notifications/_panel.html", services.panel_data)
