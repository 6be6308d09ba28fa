"""The append-only, hash-chained audit log."""

from __future__ import annotations

from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, Integer, SmallInteger, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from marketplace.models.accounts import User
from marketplace.models.base import Base, CreatedAtMixin


class AuditEvent(CreatedAtMixin, Base):
    """One state change: who did what to which object, before and after.

    Each row stores the hash of the previous row (``prev_hash``) and its own
    ``hash`` over its content and ``prev_hash``; editing or deleting a row breaks
    the chain, which ``flask audit verify`` detects. ``prev_hash`` is unique, so
    two writers can never fork the chain.
    """

    __tablename__ = "audit_events"
    __table_args__ = (Index("ix_audit_events_object", "object_type", "object_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    #: The actor's e-mail at the time (kept even if the account changes).
    actor_label: Mapped[str] = mapped_column(String(254), nullable=False, default="system")
    #: ``<object type>.<verb>``, e.g. ``scenario.publish``, ``qualification.reject``.
    action: Mapped[str] = mapped_column(String(64), nullable=False)
    #: The changed object's table in singular (``scenario``, ``acceptance`` …) and its id as text.
    object_type: Mapped[str] = mapped_column(String(32), nullable=False)
    object_id: Mapped[str] = mapped_column(String(64), nullable=False)
    #: The fields that changed, before and after (JSON; None when there was no "before").
    before: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    after: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    ip: Mapped[str | None] = mapped_column(String(45))
    #: ``hash`` of the previous row (``audit.GENESIS_HASH`` for the first).
    prev_hash: Mapped[str] = mapped_column(String(64), unique=True, nullable=False)
    #: Keyed digest over this row's content and ``prev_hash`` (see ``marketplace.audit.compute_hash``).
    hash: Mapped[str] = mapped_column(String(64), unique=True, nullable=False)
    #: How ``hash`` was computed: 1 = unkeyed SHA-256 (rows written before migration 0012_security),
    #: 2 = HMAC-SHA256 with ``AUDIT_KEY``. Version 1 rows may only precede version 2 rows.
    hash_version: Mapped[int] = mapped_column(SmallInteger, nullable=False, default=2, server_default="1")

    actor: Mapped[User | None] = relationship()
