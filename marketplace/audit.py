"""The keyed, hash-chained audit log: append an event, anchor the chain, verify both.

Every state change in a service calls :func:`record` inside the same transaction as the change, so
the log and the data commit or roll back together.

**Keyed chain.** Each row's ``hash`` is HMAC-SHA256 with ``AUDIT_KEY`` over its content and the
previous row's hash (``hash_version`` 2). Without the key nobody can recompute the chain after editing
a row. Rows written before migration ``0012_security`` keep their unkeyed SHA-256 (``hash_version`` 1)
and are not rewritten: they may only precede keyed rows, and the first keyed row's HMAC covers the last
unkeyed hash, so the old prefix cannot be changed either without breaking a keyed link.

**Anchoring.** After every commit that wrote events (synchronously, or with ``AUDIT_CHECKPOINT_ASYNC``
by a per-process thread that coalesces bursts), a checkpoint line (event count, head id, head
hash, time, HMAC signature) is appended to ``AUDIT_CHECKPOINT_FILE``, outside the database. Deleting the
newest rows, or recomputing the chain, no longer goes unnoticed: ``flask audit verify`` compares the
chain with every checkpoint and exits 1 naming what differs.
"""

from __future__ import annotations

import atexit
import hashlib
import hmac
import json
import logging
import os
import threading
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from flask import Flask, current_app
from sqlalchemy.orm import Session, scoped_session

from marketplace.models import AuditEvent, User
from marketplace.models.base import utcnow

log = logging.getLogger(__name__)

#: ``prev_hash`` of the first event.
GENESIS_HASH = "0" * 64
#: Advisory lock key that serialises appends on PostgreSQL.
_PG_LOCK_KEY = 73_414_207
#: ``hash_version`` values: unkeyed SHA-256 (before 0012_security) and HMAC-SHA256 with AUDIT_KEY.
LEGACY_SHA256 = 1
KEYED_HMAC = 2
#: ``session.info`` flag: this transaction appended events (a checkpoint follows its commit).
_WRITTEN = "audit_written"
#: ``session.info``: events recorded with ``defer=True``, chained and inserted in ``before_commit``.
_PENDING = "audit_pending"


def _jsonable(value: Any) -> Any:
    """Round-trip through JSON so that hashing sees exactly what is stored."""
    if value is None:
        return None
    return json.loads(json.dumps(value, ensure_ascii=False, default=str, sort_keys=True))


def _key() -> bytes:
    return str(current_app.config["AUDIT_KEY"]).encode("utf-8")


def compute_hash(event: AuditEvent, key: bytes | None = None) -> str:
    """The row's digest over its content and the previous hash: HMAC-SHA256 with ``AUDIT_KEY``, or
    plain SHA-256 for a row written before the chain was keyed (``hash_version`` 1)."""
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
    data = json.dumps(payload, ensure_ascii=False, sort_keys=True, default=str).encode("utf-8")
    if (event.hash_version or KEYED_HMAC) == LEGACY_SHA256:
        return hashlib.sha256(data).hexdigest()
    return hmac.new(key or _key(), data, hashlib.sha256).hexdigest()


def _build(actor: User | None, action: str, object_type: str, object_id: Any, before: dict[str, Any] | None,
           after: dict[str, Any] | None, ip: str | None) -> AuditEvent:
    # Truncate to microseconds as both databases store them.
    created: datetime = utcnow()
    return AuditEvent(
        created_at=created,
        actor_id=actor.id if actor is not None else None,
        actor_label=actor.email if actor is not None else "system",
        action=action,
        object_type=object_type,
        object_id=str(object_id),
        before=_jsonable(before),
        after=_jsonable(after),
        ip=ip,
        hash_version=KEYED_HMAC,
    )


#: PostgreSQL: the append lock and the head read in one round trip. Two statements in one simple-protocol
#: query (no parameters): the server runs the read only once the lock is granted, and under READ COMMITTED
#: each statement of the query takes its own snapshot, so the read sees every append committed before the
#: lock was granted (one statement — a CTE or sub-select beside the lock — would read with a snapshot taken
#: *before* waiting for the lock, and fork the chain). One client round trip less while the lock is held.
_PG_LOCK_AND_HEAD = (f"SELECT pg_advisory_xact_lock({_PG_LOCK_KEY:d}); "
                     "SELECT hash FROM audit_events ORDER BY id DESC LIMIT 1")


def _locked_head(session: Session) -> str | None:
    """Take the chain's append lock (PostgreSQL; SQLite's one writer is the lock) and read the head's hash."""
    if session.get_bind().dialect.name != "postgresql":
        return session.execute(sa.select(AuditEvent.hash).order_by(AuditEvent.id.desc()).limit(1)).scalar_one_or_none()
    result = session.connection().exec_driver_sql(_PG_LOCK_AND_HEAD)
    try:
        cursor = result.cursor
        if not cursor.nextset():  # the lock's (empty) result first, then the head's
            raise RuntimeError("the audit head read returned no result")
        row = cursor.fetchone()
    finally:
        result.close()
    return row[0] if row else None


def _chain(session: Session, events: list[AuditEvent]) -> None:
    """Link *events* to the chain's head, in order: take the append lock, read the head, hash, insert."""
    last = _locked_head(session)
    key = _key()
    for event in events:
        event.prev_hash = last or GENESIS_HASH
        event.hash = last = compute_hash(event, key)
        session.add(event)
    session.flush()
    session.info[_WRITTEN] = True


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
    defer: bool = False,
) -> AuditEvent:
    """Append one event to the chain (flushes; the caller commits).

    ``defer=True`` (hot write paths such as the 揭榜 submit): the event is linked and inserted at the
    start of the commit (``before_commit``, before any other commit hook), so the chain's append lock
    is held only for the head read, the insert and the commit itself, not for the rest of the request.
    The event is in the same transaction either way (a rollback drops it); it is only not visible to
    queries before the commit. Only the application's ``db.session`` defers (its class carries the
    hook); any other session appends at once. Not for use inside a savepoint that may be rolled back alone.
    """
    event = _build(actor, action, object_type, object_id, before, after, ip)
    current = session() if isinstance(session, scoped_session) else session
    if defer and _deferring is not None and isinstance(current, _deferring):
        session.info.setdefault(_PENDING, []).append(event)
        return event
    pending = session.info.pop(_PENDING, None)
    _chain(session, [*(pending or ()), event])
    return event


#: The session class whose commits chain deferred events (Flask-SQLAlchemy's ``db.session`` factory).
_deferring: type | None = None


def _before_commit(session: Session) -> None:
    pending = session.info.pop(_PENDING, None)
    if pending:
        _chain(session, pending)


# ------------------------------------------------------------------ checkpoints


def _sign(body: dict[str, Any], key: bytes) -> str:
    message = json.dumps(body, sort_keys=True, separators=(",", ":")).encode("utf-8")
    return hmac.new(key, b"audit-checkpoint:" + message, hashlib.sha256).hexdigest()


@dataclass
class Checkpoint:
    count: int
    head_id: int
    head: str
    at: str

    def line(self, key: bytes) -> str:
        body = {"count": self.count, "head_id": self.head_id, "head": self.head, "at": self.at}
        return json.dumps({**body, "sig": _sign(body, key)}, sort_keys=True)


#: Per checkpoint file and database: the last checkpoint this process wrote, so the next count only
#: looks at the rows after it (one primary-key range query instead of a full count).
_last_written: dict[tuple[str, str], Checkpoint] = {}
_lock = threading.Lock()


def checkpoint_path() -> Path:
    return Path(current_app.config["AUDIT_CHECKPOINT_FILE"])


def write_checkpoint(engine: sa.Engine | None = None) -> Checkpoint | None:
    """Append a signed checkpoint of the committed chain's head to ``AUDIT_CHECKPOINT_FILE``."""
    from marketplace.extensions import db

    engine = engine or db.engine
    path = checkpoint_path()
    cache_key = (str(path), str(engine.url))
    table = AuditEvent.__table__
    with _lock, engine.connect() as conn:
        head = conn.execute(sa.select(table.c.id, table.c.hash).order_by(table.c.id.desc()).limit(1)).first()
        if head is None:
            return None
        previous = _last_written.get(cache_key)
        still_there = previous is not None and previous.head_id <= head.id and conn.execute(
            sa.select(table.c.hash).where(table.c.id == previous.head_id)).scalar() == previous.head
        if still_there:
            count = previous.count + conn.execute(sa.select(sa.func.count()).select_from(table).where(
                table.c.id > previous.head_id, table.c.id <= head.id)).scalar_one()
        else:
            count = conn.execute(sa.select(sa.func.count()).select_from(table)
                                 .where(table.c.id <= head.id)).scalar_one()
        checkpoint = Checkpoint(count=count, head_id=head.id, head=head.hash, at=utcnow().isoformat())
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        try:
            os.write(fd, (checkpoint.line(_key()) + "\n").encode("utf-8"))  # one write: lines never interleave
        finally:
            os.close(fd)
        _last_written[cache_key] = checkpoint
    return checkpoint


class _CheckpointWriter:
    """One thread per process that writes the checkpoint after commits, off the request path.

    A commit that wrote events only wakes the thread (no query, no file write in the request); the
    thread then anchors the committed head with one checkpoint, so a burst of commits (50 firms
    submitting at once) costs one or a few checkpoints instead of one each, on one connection. The
    thread is started lazily in each process (gunicorn forks after import). A checkpoint lost to a
    process that dies just after its commit is caught up by the next one and by the periodic
    ``audit_checkpoint`` job (every 5 minutes); ``flask audit verify`` reports the unanchored tail.
    """

    def __init__(self) -> None:
        self._wake = threading.Condition()
        self._thread: threading.Thread | None = None
        self._pid = 0
        self._app: Flask | None = None
        self._asked = 0  # commits that asked for a checkpoint
        self._done = 0  # of those, how many the last written checkpoint covers
        self._at_exit = False

    def request(self, app: Flask) -> None:
        with self._wake:
            self._app = app
            self._asked += 1
            if self._thread is None or self._pid != os.getpid() or not self._thread.is_alive():
                self._pid = os.getpid()
                self._thread = threading.Thread(target=self._run, name="audit-checkpoint", daemon=True)
                self._thread.start()
                if not self._at_exit:  # a CLI command or a stopping worker writes its last checkpoint first
                    atexit.register(self.idle)
                    self._at_exit = True
            self._wake.notify()

    def _run(self) -> None:
        while True:
            with self._wake:
                while self._done >= self._asked:
                    self._wake.wait()
                covered, app = self._asked, self._app
            try:
                with app.app_context():  # type: ignore[union-attr]
                    write_checkpoint()
            except Exception:  # caught up by the next checkpoint / the periodic job
                log.exception("could not write the audit checkpoint")
            with self._wake:
                self._done = covered
                self._wake.notify_all()

    def idle(self, timeout: float = 5.0) -> bool:
        """Wait until every commit so far is covered by a written checkpoint (tests, shutdown)."""
        with self._wake:
            return self._wake.wait_for(lambda: self._done >= self._asked, timeout)


_writer = _CheckpointWriter()


def _after_commit(session: Session) -> None:
    session.info.pop(_PENDING, None)
    if session.info.pop(_WRITTEN, False):
        if current_app.config.get("AUDIT_CHECKPOINT_ASYNC"):
            _writer.request(current_app._get_current_object())  # type: ignore[attr-defined]
            return
        try:
            write_checkpoint()
        except Exception:  # the data is committed; a missed checkpoint is caught up by the next one
            log.exception("could not write the audit checkpoint")


def _after_rollback(session: Session) -> None:
    session.info.pop(_WRITTEN, None)
    session.info.pop(_PENDING, None)


def init_app(app: Flask) -> None:
    """Chain deferred events at the start of every commit; checkpoint after every commit that appended events."""
    from marketplace.extensions import db

    if not getattr(init_app, "_listening", False):
        # First among the before_commit hooks: the chain's lock is always taken before the page cache's
        # version row (same order as an immediate append inside a service), never the other way round.
        sa.event.listen(db.session, "before_commit", _before_commit, insert=True)
        global _deferring
        _deferring = db.session.session_factory.class_
        sa.event.listen(db.session, "after_commit", _after_commit)
        sa.event.listen(db.session, "after_rollback", _after_rollback)
        init_app._listening = True  # type: ignore[attr-defined]


class CheckpointFileError(Exception):
    """The checkpoint file is unreadable or one of its lines is forged."""


def read_checkpoints(path: Path | None = None) -> list[Checkpoint]:
    """Every checkpoint in the file, each signature checked (raises :class:`CheckpointFileError`)."""
    path = path or checkpoint_path()
    key = _key()
    found = []
    with path.open(encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                data = json.loads(line)
                body = {k: data[k] for k in ("count", "head_id", "head", "at")}
                signature = data["sig"]
            except (ValueError, KeyError, TypeError):
                raise CheckpointFileError(f"checkpoint file line {number} is not a checkpoint")
            if not hmac.compare_digest(_sign(body, key), str(signature)):
                raise CheckpointFileError(
                    f"checkpoint file line {number}: signature does not match (line edited, or wrong AUDIT_KEY)")
            found.append(Checkpoint(**body))
    return found


# ------------------------------------------------------------------ verification


@dataclass
class ChainReport:
    """The outcome of :func:`verify_chain` / :func:`verify`."""

    count: int
    ok: bool
    broken_at: int | None = None
    reason: str | None = None
    #: The newest checkpoint compared (``verify`` only) and the events written after it.
    checkpoint: Checkpoint | None = None
    unanchored: int = 0
    notes: list[str] = field(default_factory=list)


def verify_chain(session: Session, batch: int = 1000, checkpoints: list[Checkpoint] | None = None) -> ChainReport:
    """Walk the log in order and check every link and every hash; with *checkpoints*, also that each
    anchored event is still there with the anchored hash and position."""
    key = _key()
    anchors: dict[int, Checkpoint] = {}
    for checkpoint in checkpoints or ():
        anchors[checkpoint.head_id] = checkpoint
    expected_prev = GENESIS_HASH
    keyed_seen = False
    count = 0
    last_id = 0
    while True:
        rows = session.execute(
            sa.select(AuditEvent).where(AuditEvent.id > last_id).order_by(AuditEvent.id).limit(batch)
        ).scalars().all()
        if not rows:
            break
        for event in rows:
            count += 1
            if event.prev_hash != expected_prev:
                return ChainReport(count, False, event.id, "previous-hash link broken (row removed or reordered)")
            if event.hash_version == LEGACY_SHA256 and keyed_seen:
                return ChainReport(count, False, event.id,
                                   "unkeyed (version 1) row after keyed rows: inserted or recomputed without the key")
            if event.hash_version not in (LEGACY_SHA256, KEYED_HMAC):
                return ChainReport(count, False, event.id, f"unknown hash version {event.hash_version}")
            keyed_seen = keyed_seen or event.hash_version == KEYED_HMAC
            if not hmac.compare_digest(compute_hash(event, key), event.hash):
                return ChainReport(count, False, event.id,
                                   "content does not match its hash (row edited, or chain computed with another key)")
            anchor = anchors.pop(event.id, None)
            if anchor is not None and anchor.head != event.hash:
                return ChainReport(count, False, event.id,
                                   f"hash differs from the checkpoint of {anchor.at}: the chain was recomputed")
            if anchor is not None and anchor.count != count:
                return ChainReport(count, False, event.id,
                                   f"event is number {count} in the chain but number {anchor.count} in the checkpoint "
                                   f"of {anchor.at}: rows were deleted or inserted before it")
            expected_prev = event.hash
            last_id = event.id
        session.expunge_all()
    if anchors:
        missing = max(anchors.values(), key=lambda c: c.head_id)
        return ChainReport(count, False, missing.head_id,
                           f"event {missing.head_id} (number {missing.count}, anchored at {missing.at}) is missing: "
                           f"the log ends at event {last_id or 'none'} with {count} events (tail truncated or rows "
                           "deleted)")
    return ChainReport(count=count, ok=True)


def verify(session: Session) -> ChainReport:
    """The chain and the checkpoint file together (``flask audit verify``)."""
    path = checkpoint_path()
    try:
        checkpoints = read_checkpoints(path) if path.exists() else []
    except (CheckpointFileError, OSError) as error:
        return ChainReport(0, False, None, str(error))
    report = verify_chain(session, checkpoints=checkpoints)
    if not report.ok:
        return report
    if not checkpoints:
        if report.count:
            return ChainReport(report.count, False, None,
                               f"no checkpoint in {path}: the chain is intact but not anchored (a deleted tail "
                               "would go unnoticed); after checking it, run `flask audit checkpoint`")
        return report
    latest = max(checkpoints, key=lambda c: c.head_id)
    report.checkpoint = latest
    report.unanchored = report.count - latest.count
    return report
