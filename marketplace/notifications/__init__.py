"""Notifications: the in-app centre, e-mail (immediate or daily digest), follows and saved searches."""

from flask import Blueprint

bp = Blueprint("notifications", __name__)


@bp.record_once
def _wire(state) -> None:  # noqa: ANN001
    """On registration: subscribe to scenario changes and add the workspace panel."""
    from marketplace.main.panels import register_panel
    from marketplace.models import Role
    from marketplace.notifications import services

    services.register_hooks()
    register_panel(tuple(Role), "notifications/_panel.html", services.panel_data)


from marketplace.notifications import routes  # noqa: E402,F401
