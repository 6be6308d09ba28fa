"""The hash-chained audit log: append an event, verify the chain.

Every state change in a service calls :func:`record` inside the same
transaction as the change, so the log and the data commit or roll back together.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from marketplace.models import AuditEvent, User
from marketplace.models.base import utcnow

#: ``prev_hash`` of the first event.
GENESIS_HASH = "0" * 64
#: Advisory lock key that serialises appends on PostgreSQL.
_PG_LOCK_KEY = 73_414_207


def _jsonable(value: Any) -> Any:
    """Round-trip through JSON so that hashing sees exactly what is stored."""
    if value is None:
        return None
    return json.loads(json.dumps(value, ensure_ascii=False, default=str, sort_keys=True))


def compute_hash(event: AuditEvent) -> str:
    """SHA-256 over the event's content and the previous hash."""
    payload = {
        "created_at": event.created_at.isoformat(),
        "actor_id": event.actor_id,
        "actor_label": event.actor_label,
        "action": event.action,
        "object_type": event.object_type,
        "object_id": str(event.object_id),
        "before": event.before,
        "after": event.after,
        "ip": event.ip,
        "prev_hash": event.prev_hash,
    }
    data = json.dumps(payload, ensure_ascii=False, sort_keys=True, default=str)
    return hashlib.sha256(data.encode("utf-8")).hexdigest()


def record(
    session: Session,
    *,
    actor: User | None,
    action: str,
    object_type: str,
    object_id: Any,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
    ip: str | None = None,
) -> AuditEvent:
    """Append one event to the chain (flushes; the caller commits)."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(sa.text("SELECT pg_advisory_xact_lock(:k)"), {"k": _PG_LOCK_KEY})
    last = session.execute(
        sa.select(AuditEvent.hash).order_by(AuditEvent.id.desc()).limit(1)
    ).scalar_one_or_none()
    # Truncate to microseconds as both databases store them.
    created: datetime = utcnow()
    event = AuditEvent(
        created_at=created,
        actor_id=actor.id if actor is not None else None,
        actor_label=actor.email if actor is not None else "system",
        action=action,
        object_type=object_type,
        object_id=str(object_id),
        before=_jsonable(before),
        after=_jsonable(after),
        ip=ip,
        prev_hash=last or GENESIS_HASH,
    )
    event.hash = compute_hash(event)
    session.add(event)
    session.flush()
    return event


@dataclass
class ChainReport:
    """The outcome of :func:`verify_chain`."""

    count: int
    ok: bool
    broken_at: int | None = None
    reason: str | None = None


def verify_chain(session: Session, batch: int = 1000) -> ChainReport:
    """Walk the log in order and check every link and every hash."""
    expected_prev = GENESIS_HASH
    count = 0
    last_id = 0
    while True:
        rows = session.execute(
            sa.select(AuditEvent).where(AuditEvent.id > last_id).order_by(AuditEvent.id).limit(batch)
        ).scalars().all()
        if not rows:
            return ChainReport(count=count, ok=True)
        for event in rows:
            count += 1
            if event.prev_hash != expected_prev:
                return ChainReport(count, False, event.id, "previous-hash link broken (row removed or reordered)")
            if compute_hash(event) != event.hash:
                return ChainReport(count, False, event.id, "content does not match its hash (row edited)")
            expected_prev = event.hash
            last_id = event.id
        session.expunge_all()
