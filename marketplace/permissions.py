"""Route guards. Object-level rules live in each area's services and policies.

Every guarded view records the roles it admits as ``view.allowed_roles``; the navigation
(:mod:`marketplace.navigation`) and the generated access-matrix test read it, so the roles of a
page are written once, beside the page.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from flask import abort, current_app
from flask_login import current_user, login_required

from marketplace.models import Role

#: Every role: a view guarded with these only needs a signed-in user.
ALL_ROLES: tuple[Role, ...] = tuple(Role)


def roles_required(*roles: Role) -> Callable:
    """Signed-in users with one of ``roles`` only; others get 403, anonymous users the login page."""

    def decorator(view: Callable) -> Callable:
        @wraps(view)
        @login_required
        def wrapped(*args: Any, **kwargs: Any):
            if current_user.role not in roles:
                abort(403)
            return view(*args, **kwargs)

        wrapped.allowed_roles = tuple(roles)  # type: ignore[attr-defined]
        return wrapped

    return decorator


#: Any signed-in user (every role); anonymous users get the login page.
signed_in = roles_required(*ALL_ROLES)


def allowed_roles(endpoint: str) -> tuple[Role, ...] | None:
    """The roles the view of *endpoint* admits, or ``None`` for a public view."""
    return getattr(current_app.view_functions[endpoint], "allowed_roles", None)
