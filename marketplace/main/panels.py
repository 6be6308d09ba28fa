"""Workspace panels: what each area shows on ``/dashboard``, for which roles, in a fixed order.

Each area adds its panels in its own ``init_app(app)`` with :func:`add_panel`; the registry lives on
the application (``app.extensions``), so the order on the page is the order in which the factory
initialises the areas — visible in :func:`marketplace.create_app` — and never depends on imports.
``data(session, user)`` returns the context the partial template renders with (as ``panel``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from flask import Flask, current_app, url_for
from sqlalchemy.orm import Session

from marketplace.models import Role, User

_KEY = "marketplace.panels"


@dataclass(frozen=True)
class Panel:
    roles: tuple[Role, ...]
    template: str
    data: Callable[[Session, User], Any]


def add_panel(app: Flask, roles: Iterable[Role], template: str, data: Callable[[Session, User], Any]) -> None:
    """Add a workspace panel to *app* (after those added before it)."""
    panels: list[Panel] = app.extensions.setdefault(_KEY, [])
    if any(p.template == template for p in panels):
        raise RuntimeError(f"workspace panel {template} added twice")
    panels.append(Panel(tuple(roles), template, data))


def panels_for(session: Session, user: User) -> list[tuple[str, Any]]:
    """(template, data) for every panel the user's role sees, in registration order."""
    return [(p.template, p.data(session, user)) for p in current_app.extensions.get(_KEY, [])
            if user.role in p.roles]


# ------------------------------------------------------------------ to-dos

_TODO_KEY = "marketplace.todos"


@dataclass(frozen=True)
class Todo:
    """One count at the top of a role's workbench, linking to the list where the work is done."""

    key: str
    roles: tuple[Role, ...]
    label: Any
    count: Callable[[Session, User], int]
    endpoint: str
    args: tuple[tuple[str, Any], ...] = ()


def add_todo(app: Flask, roles: Iterable[Role], key: str, label: Any, count: Callable[[Session, User], int],
             endpoint: str, **args: Any) -> None:
    """Add a to-do count to *app*'s workbenches (shown in the order added, before the panels)."""
    todos: list[Todo] = app.extensions.setdefault(_TODO_KEY, [])
    if any(t.key == key for t in todos):
        raise RuntimeError(f"workbench to-do {key} added twice")
    todos.append(Todo(key, tuple(roles), label, count, endpoint, tuple(sorted(args.items()))))


def todos_for(session: Session, user: User) -> list[dict[str, Any]]:
    """``{key, label, count, url}`` of every to-do the user's role has, in registration order."""
    return [{"key": t.key, "label": t.label, "count": t.count(session, user),
             "url": url_for(t.endpoint, **dict(t.args))}
            for t in current_app.extensions.get(_TODO_KEY, []) if user.role in t.roles]
