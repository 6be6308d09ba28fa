"""Keeping fitted matching models fresh across processes (Flask + database side).

Version stamp
-------------
``match_state`` holds one row per model family: ``firms`` (the scenario → firms model) and
``scenarios`` (the firm → scenarios and near-duplicate models).  Session hooks bump the rows in
the same transaction as the change, just before commit:

``after_flush``
    records which families the flushed objects affect: a verified profile (or one whose
    verification status changed), any qualification or case, a software firm's organisation;
    a scenario that is submitted or public, or whose status changed (to or from ``accepted``
    also touches ``firms``: the "accepted projects" signal).
``before_commit``
    flushes what is left, then upserts ``version = version + 1, updated_at = now`` for each
    family (one statement per family; it locks the row until commit on PostgreSQL).
``after_commit``
    tells this process's cache to re-read the stamp at the next request (other processes see it
    within ``MATCH_CHECK_SECONDS``).

Only ORM unit-of-work changes are seen; after bulk SQL updates run ``flask match rebuild``.

Process cache
-------------
:class:`ModelCache` (one per app and process) keeps each fitted model with the stamp it was built
from.  A request asks :meth:`ModelCache.get`, which reads the stamp (one primary-key query, at
most every ``MATCH_CHECK_SECONDS``) and

* serves the model when its stamp is current;
* when stale, serves it anyway and refits in a background thread — but only while the oldest
  change it lacks is younger than ``MATCH_MAX_STALENESS_SECONDS``; past that it rebuilds inline;
* before fitting, loads the model another process persisted for the current stamp from
  ``MATCH_MODEL_DIR`` (``<name>-v<version>-<µs>.pkl``, written atomically), so workers do not all
  refit the same data — unless the file was written by code with another
  :data:`~marketplace.matching.matcher.MODEL_FORMAT` (after an upgrade: refitted).

The age of the oldest missing change is known exactly when the stamp moved by one version (it is
the stamp's ``updated_at``); otherwise it is bounded by the last time the stamp was seen equal to
the model's (a change the model lacks was committed after that moment).

With a job queue (``MATCH_REFIT_IN_WORKER``, on when ``REDIS_URL`` is set) web processes never fit
and start no threads: a committed bump asks for a ``match_refit`` job (after the commit, through
:data:`marketplace.signals.job_requested`); a request that finds its model stale loads the file the
worker saved for the current stamp, or keeps serving what it has and asks for the job once per
stamp. Only a process that has no model at all and finds no file of any version fits inline (a fresh
installation before the first ``flask match rebuild``); ``/readyz`` reports that state as not ready.
``MATCH_MODEL_DIR`` must then be shared by the worker and the web servers.
"""

from __future__ import annotations

import logging
import os
import pickle
import tempfile
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from flask import Flask, current_app, has_app_context
from sqlalchemy import event
from sqlalchemy.orm import Session, SessionTransaction

from marketplace import clock, signals
from marketplace.matching.matcher import MODEL_FORMAT
from marketplace.models import (
    EnterpriseProfile,
    MatchState,
    Organisation,
    OrganisationKind,
    ProfileCase,
    Qualification,
    Scenario,
    ScenarioStatus,
    VerificationStatus,
)

log = logging.getLogger("marketplace.matching")

FIRMS = "firms"
SCENARIOS = "scenarios"
#: Fitted models and the stamp family each depends on.
MODEL_KEYS: dict[str, str] = {"firms": FIRMS, "scenarios": SCENARIOS, "review": SCENARIOS}
#: Scenario statuses some model contains (the review model holds submitted ones too).
WATCHED_STATUSES = (ScenarioStatus.SUBMITTED, *ScenarioStatus.public())

_INFO_KEY = "marketplace.matching.bumps"
_EXTENSION = "marketplace.matching"


# ------------------------------------------------------------------ the stamp


@dataclass(frozen=True)
class Stamp:
    """A model family's version and the time of its last bump (``None``: never bumped)."""

    version: int = 0
    updated_at: datetime | None = None

    @property
    def token(self) -> str:
        """Identifies the stamp in file names (the time tells apart versions of an emptied table)."""
        micros = int(self.updated_at.timestamp() * 1_000_000) if self.updated_at else 0
        return f"v{self.version}-{micros}"


def read_stamp(session: Session, key: str) -> Stamp:
    """The current stamp of *key* (one primary-key lookup)."""
    row = session.execute(
        sa.select(MatchState.version, MatchState.updated_at).where(MatchState.key == key)
    ).first()
    return Stamp(row.version, row.updated_at) if row else Stamp()


def bump(session: Session, keys: Iterable[str]) -> None:
    """``version += 1, updated_at = now`` for each key, creating rows as needed (an upsert)."""
    MatchState.bump(session, keys, clock.now())


# ------------------------------------------------------------------ session hooks


def _status_changed(obj: Any) -> tuple[bool, set[Any]]:
    history = sa.inspect(obj).attrs.status.history
    return history.has_changes(), {*history.added, *history.deleted}


def affected_keys(obj: Any, state: str) -> set[str]:
    """Model families a flushed object affects; *state* is ``new``, ``dirty`` or ``deleted``."""
    if isinstance(obj, Qualification | ProfileCase):
        return {FIRMS}
    if isinstance(obj, EnterpriseProfile):
        if state == "deleted":
            return {FIRMS}
        changed, _values = _status_changed(obj)
        return {FIRMS} if obj.status == VerificationStatus.VERIFIED or changed else set()
    if isinstance(obj, Organisation):
        return {FIRMS} if state != "new" and obj.kind == OrganisationKind.SOFTWARE_ENTERPRISE else set()
    if isinstance(obj, Scenario):
        if state == "deleted":
            return {SCENARIOS, FIRMS}
        changed, values = _status_changed(obj)
        keys = {SCENARIOS} if obj.status in WATCHED_STATUSES or changed else set()
        if ScenarioStatus.ACCEPTED in values:
            keys.add(FIRMS)
        return keys
    return set()


def _pending(session: Session) -> set[str]:
    return session.info.setdefault(_INFO_KEY, set())


def _after_flush(session: Session, _context: Any) -> None:
    found: set[str] = set()
    for obj in session.new:
        found |= affected_keys(obj, "new")
    for obj in session.dirty:
        if session.is_modified(obj):
            found |= affected_keys(obj, "dirty")
    for obj in session.deleted:
        found |= affected_keys(obj, "deleted")
    if found:
        _pending(session).update(found)


def _before_commit(session: Session) -> None:
    if session.new or session.dirty or session.deleted:
        session.flush()
    keys = session.info.get(_INFO_KEY)
    if keys:
        bump(session, keys)
        session.info["marketplace.matching.bumped"] = set(keys)
        if has_app_context() and current_app.config.get("MATCH_REFIT_IN_WORKER"):
            for name in sorted(n for n, k in MODEL_KEYS.items() if k in keys):
                signals.job_requested.send(name, session=session, job="match_refit", job_kwargs={"name": name})
        keys.clear()


def _after_commit(session: Session) -> None:
    bumped = session.info.pop("marketplace.matching.bumped", None)
    if bumped and has_app_context():
        cache = current_app.extensions.get(_EXTENSION)
        if cache is not None:
            cache.invalidate(bumped)


def _after_rollback(session: Session) -> None:
    if not session.in_nested_transaction():
        session.info.pop(_INFO_KEY, None)
        session.info.pop("marketplace.matching.bumped", None)


def _after_transaction_end(session: Session, transaction: SessionTransaction) -> None:
    if transaction.parent is None:
        session.info.pop(_INFO_KEY, None)


_attached: list[Any] = []


def attach(target: Any) -> None:
    """Listen to *target*'s session events (Flask-SQLAlchemy's ``db.session``); idempotent."""
    if any(t is target for t in _attached):
        return
    event.listen(target, "after_flush", _after_flush)
    event.listen(target, "before_commit", _before_commit)
    event.listen(target, "after_commit", _after_commit)
    event.listen(target, "after_rollback", _after_rollback)
    event.listen(target, "after_transaction_end", _after_transaction_end)
    _attached.append(target)


# ------------------------------------------------------------------ the process cache


@dataclass
class Fitted:
    """A fitted model, the stamp it was built from, and when that stamp was last seen current."""

    name: str
    matcher: Any
    stamp: Stamp
    fresh_at: datetime
    meta: dict[str, Any] = field(default_factory=dict)


#: ``builder(session, name, n_jobs) -> (matcher, meta)`` fits one model from the database.
Builder = Callable[[Session, str, int], tuple[Any, dict[str, Any]]]


class ModelCache:
    """This process's fitted models for one app (see the module docstring)."""

    def __init__(self, app: Flask, builder: Builder) -> None:
        self.app = app
        self.builder = builder
        self._reset()

    def _reset(self) -> None:
        self.pid = os.getpid()
        self.entries: dict[str, Fitted] = {}
        self._locks = {name: threading.Lock() for name in MODEL_KEYS}
        self._threads: dict[str, threading.Thread] = {}
        self._checked: dict[str, tuple[float, Stamp, datetime]] = {}
        self.builds = 0  # fits done by this process (loads from disk excluded)
        self.loads = 0
        self._refit_requested: dict[str, Stamp] = {}

    # -- configuration
    @property
    def model_dir(self) -> Path:
        return Path(self.app.config["MATCH_MODEL_DIR"])

    @property
    def max_staleness(self) -> float:
        return float(self.app.config.get("MATCH_MAX_STALENESS_SECONDS", 60))

    @property
    def check_seconds(self) -> float:
        return min(float(self.app.config.get("MATCH_CHECK_SECONDS", 3)), self.max_staleness)

    # -- stamps
    def invalidate(self, keys: Iterable[str] | None = None) -> None:
        """Forget the throttled stamp reads of *keys* (all by default): the next get re-reads."""
        for key in list(keys) if keys is not None else list(self._checked):
            self._checked.pop(key, None)

    def stamp(self, session: Session, key: str) -> tuple[Stamp, datetime]:
        """The stamp of *key* and when it was read (re-read at most every ``MATCH_CHECK_SECONDS``)."""
        mono = time.monotonic()
        seen = self._checked.get(key)
        if seen is not None and mono - seen[0] < self.check_seconds:
            return seen[1], seen[2]
        wall = clock.now()
        current = read_stamp(session, key)
        self._checked[key] = (mono, current, wall)
        return current, wall

    # -- access
    def get(self, session: Session, name: str) -> Fitted:
        """A model for *name* no staler than the configuration allows (see the module docstring)."""
        if self.pid != os.getpid():  # forked after use (e.g. gunicorn --preload): start afresh
            self._reset()
        current, seen_at = self.stamp(session, MODEL_KEYS[name])
        entry = self.entries.get(name)
        if entry is not None and entry.stamp == current:
            entry.fresh_at = max(entry.fresh_at, seen_at)
            return entry
        if self.app.config.get("MATCH_REFIT_IN_WORKER"):
            return self._get_from_worker(session, name, current, entry)
        if (entry is not None and self.app.config.get("MATCH_BACKGROUND_REBUILD", True)
                and self.missing_age(entry, current) <= self.max_staleness):
            self.start_background(name)
            return entry
        return self._load_or_build(session, name, current)

    def _get_from_worker(self, session: Session, name: str, current: Stamp, entry: Fitted | None) -> Fitted:
        """Queue mode: load the worker's file for *current*, else serve what we have and ask for a refit."""
        loaded = self.load(name, current)
        if loaded is not None:
            return loaded
        if self._refit_requested.get(name) != current:
            self._refit_requested[name] = current
            signals.job_requested.send(name, session=None, job="match_refit", job_kwargs={"name": name})
        if entry is not None:
            return entry
        latest = self.load_latest(name)
        if latest is not None:
            return latest
        log.warning("matching: no fitted %s model saved yet; fitting inline (run `flask match rebuild` "
                    "when deploying)", name)
        return self._load_or_build(session, name, current)

    def missing_age(self, entry: Fitted, current: Stamp) -> float:
        """Seconds since the oldest change *entry* lacks was committed (an upper bound)."""
        now = clock.now()
        if current.version == entry.stamp.version + 1 and current.updated_at is not None:
            return max(0.0, (now - current.updated_at).total_seconds())
        return max(0.0, (now - entry.fresh_at).total_seconds())

    def _load_or_build(self, session: Session, name: str, wanted: Stamp) -> Fitted:
        with self._locks[name]:
            entry = self.entries.get(name)
            if entry is not None and entry.stamp == wanted:
                return entry  # another thread got there first
            loaded = self.load(name, wanted)
            if loaded is not None:
                return loaded
            return self._build(session, name)

    def _build(self, session: Session, name: str, n_jobs: int = 1) -> Fitted:
        """Fit from the database (the stamp is read first: the data is at least that new)."""
        seen_at = clock.now()
        stamp = read_stamp(session, MODEL_KEYS[name])
        started = time.perf_counter()
        matcher, meta = self.builder(session, name, n_jobs)
        meta = {**meta, "seconds": time.perf_counter() - started}
        entry = Fitted(name, matcher, stamp, seen_at, meta)
        self.entries[name] = entry
        self.builds += 1
        try:
            self.save(entry)
        except OSError:
            log.exception("matching: could not persist the %s model to %s", name, self.model_dir)
        log.info("matching: fitted %s model (%s, %d documents) in %.2f s", name, stamp.token,
                 len(matcher), meta["seconds"])
        return entry

    def rebuild(self, session: Session, name: str, n_jobs: int = 1) -> Fitted:
        """Fit *name* now, whatever the cache holds (``flask match rebuild``)."""
        with self._locks[name]:
            return self._build(session, name, n_jobs)

    # -- background
    def start_background(self, name: str) -> threading.Thread | None:
        """Refit *name* in a daemon thread unless one is already running."""
        running = self._threads.get(name)
        if running is not None and running.is_alive():
            return running
        thread = threading.Thread(target=self._background, args=(name,), name=f"match-rebuild-{name}",
                                  daemon=True)
        self._threads[name] = thread
        thread.start()
        return thread

    def _background(self, name: str) -> None:
        from marketplace.extensions import db

        with self.app.app_context():
            try:
                current = read_stamp(db.session, MODEL_KEYS[name])
                self._load_or_build(db.session, name, current)
            except Exception:
                log.exception("matching: background rebuild of the %s model failed", name)
            finally:
                db.session.remove()

    def wait(self, timeout: float = 30.0) -> None:
        """Join running background rebuilds (tests, shutdown)."""
        for thread in list(self._threads.values()):
            thread.join(timeout)

    # -- persistence
    def _path(self, name: str, stamp: Stamp) -> Path:
        return self.model_dir / f"{name}-{stamp.token}.pkl"

    def save(self, entry: Fitted) -> Path:
        """Pickle *entry* under its stamp's file name (temporary file + atomic rename)."""
        folder = self.model_dir
        folder.mkdir(parents=True, exist_ok=True)
        target = self._path(entry.name, entry.stamp)
        fd, tmp = tempfile.mkstemp(dir=folder, prefix=f".{entry.name}-", suffix=".tmp")
        try:
            with os.fdopen(fd, "wb") as fh:
                pickle.dump({"matcher": entry.matcher, "format": MODEL_FORMAT, "version": entry.stamp.version,
                             "updated_at": entry.stamp.updated_at, "meta": entry.meta}, fh,
                            protocol=pickle.HIGHEST_PROTOCOL)
            os.replace(tmp, target)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        self._prune(entry.name, keep=target)
        return target

    def _prune(self, name: str, keep: Path) -> None:
        """Remove older files of *name* (the two newest stay: a worker may be reading one)."""
        files = sorted(self.model_dir.glob(f"{name}-v*.pkl"), key=lambda p: p.stat().st_mtime, reverse=True)
        for old in [f for f in files if f != keep][1:]:
            old.unlink(missing_ok=True)

    def saved_files(self, name: str) -> list[Path]:
        """Files saved for *name*, newest first."""
        try:
            files = list(self.model_dir.glob(f"{name}-v*.pkl"))
            return sorted(files, key=lambda p: p.stat().st_mtime, reverse=True)
        except OSError:
            return []

    def load_latest(self, name: str) -> Fitted | None:
        """The newest model saved for *name*, whatever its stamp (queue mode, before the refit lands)."""
        for path in self.saved_files(name)[:1]:
            return self.load(name, None, path)
        return None

    def load(self, name: str, stamp: Stamp | None, path: Path | None = None) -> Fitted | None:
        """The model persisted for exactly *stamp*, if any (our own files: pickle is trusted here)."""
        path = path or self._path(name, stamp)
        try:
            with path.open("rb") as fh:
                data = pickle.load(fh)
        except FileNotFoundError:
            return None
        except Exception:
            log.exception("matching: unreadable model file %s; refitting", path)
            return None
        if data.get("format") != MODEL_FORMAT:  # saved by an older version of the code: refit
            log.info("matching: model file %s has an older format; refitting", path)
            return None
        entry = Fitted(name, data["matcher"], Stamp(data["version"], data["updated_at"]), clock.now(),
                       dict(data.get("meta") or {}))
        self.entries[name] = entry
        self.loads += 1
        return entry


def init_app(app: Flask, builder: Builder) -> ModelCache:
    """Create *app*'s model cache and hook the session (``db.session``) once."""
    from marketplace.extensions import db

    attach(db.session)
    cache = ModelCache(app, builder)
    app.extensions[_EXTENSION] = cache
    return cache


def get_cache(app: Flask | None = None) -> ModelCache:
    """The model cache of *app* (default: the current app)."""
    return (app or current_app).extensions[_EXTENSION]
