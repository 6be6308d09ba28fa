"""Creating notifications. Other areas call :func:`notify`; it never commits."""

from __future__ import annotations

from collections.abc import Iterable

import sqlalchemy as sa
from flask import current_app
from sqlalchemy.orm import Session

from marketplace import clock, mail
from marketplace.models import Notification, Role, User


def notify(session: Session, recipients: Iterable[User], kind: str, title: str, body: str = "",
           url: str | None = None) -> list[Notification]:
    """Put a notification in each active recipient's centre; e-mail it now to those who chose "immediate"."""
    created = []
    seen: set[int] = set()
    for user in recipients:
        if user is None or user.id in seen or not user.active:
            continue
        seen.add(user.id)
        notification = Notification(user=user, kind=kind, title=title, body=body, url=url)
        if user.notification_mode == "immediate":
            link = f"{current_app.config['SITE_URL'].rstrip('/')}{url}" if url else ""
            mail.enqueue(session, user.email, title, f"{body}\n\n{link}".strip())
            notification.emailed_at = clock.now()
        session.add(notification)
        created.append(notification)
    session.flush()
    return created


def organisation_users(session: Session, organisation_id: int, role: Role | None = None) -> list[User]:
    """Active users of an organisation (e.g. every user of a firm, or the owner's staff)."""
    query = sa.select(User).where(User.organisation_id == organisation_id, User.active)
    if role is not None:
        query = query.where(User.role == role)
    return list(session.execute(query).scalars())
