"""Matching bookkeeping: the model version stamp, the "邀请揭榜" invitations and "not relevant" marks.

``match_state`` holds one row per fitted-model family (``firms``, ``scenarios``); its
``version`` is bumped in the same transaction as any change that a fitted model depends on
(see :mod:`marketplace.matching.freshness`), so every process can tell cheaply whether the
model it holds is stale.  ``match_invitations`` records that an owner (or its reviewers)
invited a firm to a scenario: once per firm and scenario, enforced by a unique constraint.
``match_feedback`` records that an owner or reviewer marked a suggested firm "not relevant" for a
scenario: the firm is no longer suggested for that scenario (only), and the marks are counted by
``flask match report``.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy import ForeignKey, Integer, String
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Mapped, Session, mapped_column, relationship

from marketplace.models.accounts import User
from marketplace.models.base import Base, CreatedAtMixin, UTCDateTime, utcnow
from marketplace.models.enterprises import EnterpriseProfile
from marketplace.models.scenarios import Scenario

__all__ = ["MatchFeedback", "MatchInvitation", "MatchState"]


class MatchState(Base):
    """The version stamp of one family of fitted matching models.

    Bookkeeping, not a record: ``updated_at`` is part of the stamp and is written explicitly by
    :func:`marketplace.matching.freshness.bump`, so the row has no ``created_at`` and no ``onupdate``.
    """

    __tablename__ = "match_state"

    #: ``firms`` or ``scenarios``.
    key: Mapped[str] = mapped_column(String(32), primary_key=True)
    #: Bumped with every change a fitted model of this family depends on.
    version: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    #: When ``version`` was last bumped.
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False, default=utcnow)

    @classmethod
    def bump(cls, session: Session, keys: Iterable[str], now: datetime) -> None:
        """``version += 1, updated_at = now`` for each key, creating rows as needed: one upsert per key,
        in sorted order (each locks its row until commit on PostgreSQL; a fixed order avoids deadlocks)."""
        table = cls.__table__
        dialect = session.get_bind().dialect.name
        insert = {"postgresql": postgresql.insert, "sqlite": sqlite.insert}.get(dialect)
        if insert is None:  # the platform runs on SQLite or PostgreSQL only
            raise NotImplementedError(f"MatchState.bump does not support {dialect}")
        for key in sorted(set(keys)):
            stmt = insert(table).values(key=key, version=1, updated_at=now)
            session.execute(stmt.on_conflict_do_update(
                index_elements=[table.c.key],
                set_={"version": table.c.version + 1, "updated_at": stmt.excluded.updated_at}))


class MatchInvitation(CreatedAtMixin, Base):
    """A firm invited to apply for a scenario from its "推荐企业" list (once per pair; written once)."""

    __tablename__ = "match_invitations"
    __table_args__ = (sa.UniqueConstraint("scenario_id", "profile_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    scenario_id: Mapped[int] = mapped_column(ForeignKey("scenarios.id", ondelete="CASCADE"), nullable=False,
                                             index=True)
    profile_id: Mapped[int] = mapped_column(ForeignKey("enterprise_profiles.id", ondelete="CASCADE"),
                                            nullable=False, index=True)
    #: The owner or reviewing staff user who sent the invitation.
    invited_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    scenario: Mapped[Scenario] = relationship()
    profile: Mapped[EnterpriseProfile] = relationship()
    invited_by: Mapped[User | None] = relationship()


class MatchFeedback(Base):
    """A suggested firm marked "not relevant" (不相关) for one scenario by its owner or reviewers (once per pair)."""

    __tablename__ = "match_feedback"
    __table_args__ = (sa.UniqueConstraint("scenario_id", "profile_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    scenario_id: Mapped[int] = mapped_column(ForeignKey("scenarios.id", ondelete="CASCADE"), nullable=False,
                                             index=True)
    profile_id: Mapped[int] = mapped_column(ForeignKey("enterprise_profiles.id", ondelete="CASCADE"),
                                            nullable=False, index=True)
    marked_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    #: The score and shared terms the suggestion showed when it was marked (what misled, for the report).
    score: Mapped[float | None] = mapped_column(sa.Float)
    terms: Mapped[str] = mapped_column(String(200), nullable=False, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False, default=utcnow)

    scenario: Mapped[Scenario] = relationship()
    profile: Mapped[EnterpriseProfile] = relationship()
    marked_by: Mapped[User | None] = relationship()
