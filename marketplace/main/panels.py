"""Workspace panels: each area registers what it shows on ``/dashboard`` for which roles.

``register_panel(roles, template, data)`` — ``data(session, user)`` returns the context
the partial template renders with (as ``panel``). Panels render in registration order.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from marketplace.models import Role, User


@dataclass(frozen=True)
class Panel:
    roles: tuple[Role, ...]
    template: str
    data: Callable[[Session, User], Any]


_panels: list[Panel] = []


def register_panel(roles: Iterable[Role], template: str, data: Callable[[Session, User], Any]) -> None:
    """Add a workspace panel (idempotent per template)."""
    if any(p.template == template for p in _panels):
        return
    _panels.append(Panel(tuple(roles), template, data))


def panels_for(session: Session, user: User) -> list[tuple[str, Any]]:
    """(template, data) for every panel the user's role sees."""
    return [(p.template, p.data(session, user)) for p in _panels if user.role in p.roles]
