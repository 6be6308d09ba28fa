"""In-app notifications, followed scenarios and saved searches."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy import JSON, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from marketplace.models.accounts import User
from marketplace.models.base import Base, TimestampMixin, UTCDateTime, utcnow
from marketplace.models.scenarios import Scenario


class Notification(TimestampMixin, Base):
    """One message in a user's notification centre (and, per the user's choice, an e-mail)."""

    __tablename__ = "notifications"
    __table_args__ = (sa.Index("ix_notifications_user_read", "user_id", "read_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), nullable=False)
    #: What happened, e.g. ``application.selected``, ``question.answered``, ``deadline.approaching``.
    kind: Mapped[str] = mapped_column(String(64), nullable=False)
    title: Mapped[str] = mapped_column(String(200), nullable=False)
    body: Mapped[str] = mapped_column(Text, nullable=False, default="")
    #: Site-relative link to the object.
    url: Mapped[str | None] = mapped_column(String(500))
    read_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    #: When the notification went into the e-mail outbox (immediately, or in a daily digest).
    emailed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    user: Mapped[User] = relationship()


class Follow(TimestampMixin, Base):
    """A user follows a scenario (deadline reminders, changes, answers)."""

    __tablename__ = "follows"

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    scenario_id: Mapped[int] = mapped_column(ForeignKey("scenarios.id", ondelete="CASCADE"), primary_key=True)
    #: When the "deadline approaching" reminder was sent (once per follow).
    reminded_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    user: Mapped[User] = relationship()
    scenario: Mapped[Scenario] = relationship()


class SavedSearch(TimestampMixin, Base):
    """A firm's saved scenario filters; new matching scenarios are notified."""

    __tablename__ = "saved_searches"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), nullable=False, index=True)
    #: The user's name for it (renamable).
    name: Mapped[str] = mapped_column(String(100), nullable=False)
    #: The list page's query arguments (see ``scenarios.listing.ScenarioFilters.args``).
    query: Mapped[dict[str, Any]] = mapped_column(JSON, nullable=False, default=dict)
    #: Scenarios published after this time are "new" for this search.
    last_checked_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, nullable=False)

    user: Mapped[User] = relationship()
