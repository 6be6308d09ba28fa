"""Revocable sessions: the session carries the account's ``session_generation`` from sign-in, and the
user loader refuses a session whose generation is no longer the account's (see ``User.end_sessions``)."""

from __future__ import annotations

from flask import session
from flask_login import login_user, logout_user

from marketplace.models import User

#: Session key holding the generation the session was signed in with.
GENERATION_KEY = "_gen"


def sign_in(user: User) -> None:
    login_user(user)
    session[GENERATION_KEY] = user.session_generation or 0


def keep_signed_in(user: User) -> None:
    """After bumping the generation for a change made in this session (password change): this session
    stays signed in, every other one ends."""
    session[GENERATION_KEY] = user.session_generation


def sign_out(user: User | None) -> None:
    """Sign out here, and end every other session of the account (a copied cookie stops working)."""
    if user is not None and getattr(user, "is_authenticated", False):
        user.end_sessions()
    logout_user()
    session.pop(GENERATION_KEY, None)


def is_current(user: User) -> bool:
    """Does this request's session belong to the account's current generation?"""
    return session.get(GENERATION_KEY) == (user.session_generation or 0)
