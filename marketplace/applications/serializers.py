"""JSON representation of opened applications (``GET /api/v1/scenarios/<id>/applications``).

Amounts as exact decimal strings, times in ISO 8601 with the +08:00 offset, statuses with
their Chinese label, as the other areas' serializers write them.
"""

from __future__ import annotations

from typing import Any

from marketplace.clock import iso_local
from marketplace.formats import money
from marketplace.models import Application


def application_item(application: Application) -> dict[str, Any]:
    """One opened application in the list (amounts as decimal strings, times with +08:00)."""
    return {
        "id": application.id,
        "firm": application.organisation.name,
        "price_wan": money(application.price_wan),
        "submitted_at": iso_local(application.submitted_at),
        "status": application.status.value,
        "status_label": application.status.label,
        "needs_reconfirmation": application.needs_reconfirmation,
    }
