"""Workspace panels of the enterprise area: the firm's profile status, and staff's pending verifications."""

from __future__ import annotations

from marketplace.main.panels import register_panel
from marketplace.models import Role


def register_panels() -> None:
    """Add the two panels to ``/dashboard`` (idempotent)."""
    from marketplace.enterprises import services

    register_panel((Role.ENTERPRISE,), "enterprises/_panel.html", services.firm_panel)
    register_panel((Role.DISTRICT_STAFF, Role.CITY_STAFF), "enterprises/_review_panel.html", services.staff_panel)
