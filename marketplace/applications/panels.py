"""Workspace panels of the 揭榜 area (added in :func:`marketplace.applications.init_app`)."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from marketplace import clock
from marketplace.applications import delivery, evaluation
from marketplace.applications import policy as app_policy
from marketplace.applications.services import enterprise_panel, owner_panel
from marketplace.models import User

__all__ = ["delivery_panel", "enterprise_panel", "expert_panel", "owner_evaluation_panel", "owner_panel"]


def delivery_panel(session: Session, user: User) -> dict[str, Any]:
    """The firm's won projects with their contracts."""
    return {"projects": delivery.firm_projects(session, user)}


def expert_panel(session: Session, user: User) -> dict[str, Any]:
    """The expert's assignments: waiting for a declaration, and those being scored."""
    assignments = evaluation.assignments_for_expert(session, user)
    return {"pending": [a for a in assignments if evaluation.assignment_state(a) == "pending"
                        and not app_policy.is_sealed(a.scenario) and evaluation.phase(session, a.scenario) != "decided"],
            "active": [a for a in assignments if evaluation.assignment_state(a) == "declared"
                       and evaluation.phase(session, a.scenario) == "scoring"],
            "total": len(assignments)}


def owner_evaluation_panel(session: Session, user: User) -> dict[str, Any]:
    """The owner's scenarios to decide, awarded and in delivery."""
    scenarios = evaluation.owner_projects(session, user)
    phases = {s.id: evaluation.phase(session, s) for s in scenarios}
    return {"to_decide": [s for s in scenarios if phases[s.id] in ("scoring", "racing")],
            "awarded": [s for s in scenarios if s.status.value == "awarded"],
            "in_delivery": [s for s in scenarios if s.status.value == "in_delivery"],
            "now": clock.now()}
