"""Workspace panels of the 揭榜 area (added in :func:`marketplace.applications.init_app`)."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from marketplace import clock
from marketplace.applications import delivery, evaluation
from marketplace.applications import policy as app_policy
from marketplace.applications.services import enterprise_panel, owner_panel
from marketplace.models import User

__all__ = ["delivery_panel", "enterprise_panel", "expert_panel", "experts_pending_count", "owner_evaluation_panel",
           "owner_panel", "to_declare_count", "to_evaluate_count"]


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


# ------------------------------------------------------------------ workbench to-dos

def _undecided(session: Session, user: User) -> list:
    return [s for s in evaluation.owner_projects(session, user)
            if evaluation.phase(session, s) in ("scoring", "racing")]


def to_evaluate_count(session: Session, user: User) -> int:
    """The owner's scenarios past their deadline whose result is still to be decided."""
    return len(_undecided(session, user))


def experts_pending_count(session: Session, user: User) -> int:
    """Invited experts of the owner's undecided scenarios who have not declared (no conflict) yet."""
    return sum(1 for s in _undecided(session, user) for a in evaluation.assignments_of(session, s)
               if evaluation.assignment_state(a) == "pending")


def to_declare_count(session: Session, user: User) -> int:
    """The expert's assignments waiting for a conflict-of-interest declaration."""
    return len(expert_panel(session, user)["pending"])
