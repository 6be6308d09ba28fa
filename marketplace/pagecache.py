"""Page caching for anonymous visitors, with a data version shared by every process.

Flask-Caching stores the pages (``RedisCache`` when ``REDIS_URL`` is set, an in-process
``SimpleCache`` otherwise); this module decides *what* may be cached and *for how long*, which no
caching library can know:

* **What.** Views opt in with :func:`cached_page` (one line above the view; the registry is the
  attribute it sets). Only anonymous ``GET`` requests are looked up or stored, never when a flashed
  message is waiting, and only ``200`` responses that do not touch the session (no ``Set-Cookie``).
  ``PAGE_CACHE=off`` turns it all off.
* **Key.** Scheme and host, path, sorted query string, language and the **data version**: the ``pages`` row of the
  version-stamp table (``match_state``), bumped in the same transaction as every committed change
  (``before_commit``, like the matching stamps), so a change made through any process or host is a
  new key everywhere at once and no process serves a page older than the last commit. The host is in
  the key because pages and API records hold absolute URLs built from the request's ``Host``: without
  it, one request with a forged ``Host`` header would serve links to another site to every visitor
  (cache poisoning; nginx passes any ``Host`` to the default server).
* **Lifetime.** ``min(PAGE_CACHE_SECONDS, time until the next deadline or question cut-off of any
  published scenario, or the end of an open 公示 notice)``: open/closed is derived from the clock, so no entry outlives the moment a
  page it holds would change by itself. A view showing something else that moves with the clock (the
  home page's "N 天" counts) bounds its own entry with :func:`changes_at`. Lists filtered by ``due_within`` (a window that moves with
  the clock) are not cached.
* **Validation.** Every cacheable response carries a strong ETag (hash of the body) and
  ``Cache-Control: no-cache``; ``If-None-Match`` gets ``304`` from the cache without rendering.

When Redis stops answering, pages are kept in an in-process ``SimpleCache`` until it is back
(correctness does not depend on the store: the version lives in the database).
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import logging
import os
import threading
import time
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlencode

import sqlalchemy as sa
from babel import Locale
from cachelib import SimpleCache
from flask import Flask, Response, current_app, g, request, session
from flask_babel import get_locale
from flask_caching import Cache
from flask_login import current_user
from sqlalchemy import event
from sqlalchemy.orm import ORMExecuteState, Session, SessionTransaction
from werkzeug.http import parse_cookie, parse_etags
from werkzeug.wrappers import Request

from marketplace import clock, cors, logs
from marketplace.models import (
    Application,
    ApplicationDocument,
    ApplicationStatus,
    AuditEvent,
    LoginAttempt,
    MatchState,
    Notification,
    OutboxMessage,
    PublicityNotice,
    Scenario,
    ScenarioStatus,
)

log = logging.getLogger(__name__)

F = TypeVar("F", bound=Callable[..., Any])

#: The row of ``match_state`` (the platform's version-stamp table) that versions public pages.
VERSION_KEY = "pages"
#: Attribute :func:`cached_page` sets on a view function.
_ATTR = "page_cache"
#: Rows no public page shows: writing only these does not change the data version.
PRIVATE_MODELS: tuple[type, ...] = (LoginAttempt, Notification, OutboxMessage, AuditEvent)
#: Query parameters whose meaning moves with the clock (such pages are not cached).
CLOCK_RELATIVE_ARGS = frozenset({"due_within"})

#: Response headers not stored with a page (recomputed, or never shared). The CORS headers depend on the
#: request's cookies (:mod:`marketplace.cors`): each answer, hit or miss, gets its own.
_NOT_KEPT = frozenset({"content-length", "set-cookie", "etag", "vary", "x-page-cache", "date",
                       "access-control-allow-origin", "access-control-expose-headers"})
_CHANGED = "marketplace.pagecache.changed"
_EXTENSION = "marketplace.pagecache"
_CODE = "marketplace.pagecache.code"
_REQUEST_VERSION = "marketplace.pagecache.version"
#: Seconds to use the in-process fallback after the shared store failed, before trying it again.
RETRY_SECONDS = 30.0

page_cache = Cache()


def cached_page(view: F) -> F:
    """Mark a view as cacheable for anonymous visitors (see the module docstring for the rules)."""
    setattr(view, _ATTR, True)
    return view


# ------------------------------------------------------------------ the data version


def bump(session: Session) -> None:
    """``version += 1`` of the pages stamp, creating its row as needed (runs inside the transaction)."""
    MatchState.bump(session, [VERSION_KEY], clock.now())


_VERSION_QUERY = sa.select(MatchState.__table__.c.version, MatchState.__table__.c.updated_at).where(
    MatchState.__table__.c.key == VERSION_KEY)


def _version_text(row: Any) -> str:
    """``v<version>-<microseconds of updated_at>`` (the time tells apart versions of an emptied table)."""
    if row is None:
        return "v0"
    version, updated_at = row
    return f"v{version}-{updated_at.timestamp() * 1_000_000:.0f}"


class _ReaderConnection:
    """A DBAPI connection of the :class:`VersionReader`, with what it last read (SQLite's stamp)."""

    __slots__ = ("connection", "pid", "generation", "stamp", "version")

    def __init__(self, connection: Any, generation: int) -> None:
        self.connection, self.pid, self.generation = connection, os.getpid(), generation
        self.stamp: Any = None
        self.version: str | None = None


class VersionReader:
    """Reads the data version with one small statement on a DBAPI connection of its own.

    A cache hit does little besides this read, and through SQLAlchemy it costs ten times the query
    (pool checkout and return with its reset, compiled-cache lookup, result processing). So the process keeps
    a few connections of its own, taken from the engine (its connect events ran: SQLite's pragmas) and
    detached from the pool, in autocommit (PostgreSQL: never idle in a transaction; every read sees the
    latest commit of any process). A read takes one from a shared free list and puts it back: as many
    connections as reads run at the same moment, at most :attr:`KEEP` kept idle (a threaded server starts
    a thread per request, so connections are never tied to a thread — that would open one per request).

    * SQLite: ``PRAGMA data_version`` changes whenever another connection, in any process, commits; the
      version row is read again only then (these connections never write).
    * PostgreSQL: the row is read every time (a primary-key lookup; psycopg prepares it after a few runs).

    Any error drops the connection (the next read opens another); :func:`data_version` then reads through
    the pool, which raises the usual errors.
    """

    #: Idle connections kept for the next reads (more are opened while more reads run at once, then closed).
    KEEP = 4

    def __init__(self, engine: sa.Engine) -> None:
        dialect = engine.dialect
        self.engine = engine
        self.sqlite = dialect.name == "sqlite"
        self.sql = str(_VERSION_QUERY.compile(dialect=dialect, compile_kwargs={"literal_binds": True}))
        updated_at = MatchState.__table__.c.updated_at.type
        self.process = updated_at.dialect_impl(dialect).result_processor(dialect, None) or (lambda value: value)
        self.generation = 0
        self.free: list[_ReaderConnection] = []
        self.lock = threading.Lock()
        event.listen(engine, "engine_disposed", self.close_all)

    def read(self) -> str:
        held = self._checkout()
        try:
            version = self._read(held)
        except Exception:
            self._close(held)  # reconnect next time
            raise
        self._checkin(held)
        return version

    def _read(self, held: _ReaderConnection) -> str:
        cursor = held.connection.cursor()
        try:
            if self.sqlite:
                cursor.execute("PRAGMA data_version")
                stamp = cursor.fetchall()
                if stamp == held.stamp and held.version is not None:
                    return held.version
            cursor.execute(self.sql)
            rows = cursor.fetchall()
        finally:
            cursor.close()
        version = _version_text((rows[0][0], self.process(rows[0][1])) if rows else None)
        if self.sqlite:
            held.stamp, held.version = stamp, version
        return version

    def _checkout(self) -> _ReaderConnection:
        pid = os.getpid()
        with self.lock:
            if self.free and self.free[-1].pid != pid:
                self.free = []  # inherited from the parent process: its connections are not ours to use or close
            if self.free:
                return self.free.pop()
            generation = self.generation
        proxied = self.engine.raw_connection()
        proxied.detach()  # ours for good: never returned to the pool, so the pool is not one short
        connection = proxied.dbapi_connection
        connection.rollback()  # pool_pre_ping may have begun a transaction
        if not self.sqlite:
            connection.autocommit = True
        return _ReaderConnection(connection, generation)

    def _checkin(self, held: _ReaderConnection) -> None:
        with self.lock:
            if held.generation == self.generation and held.pid == os.getpid() and len(self.free) < self.KEEP:
                self.free.append(held)
                return
        self._close(held)

    @staticmethod
    def _close(held: _ReaderConnection) -> None:
        if held.pid == os.getpid():
            with contextlib.suppress(Exception):  # already gone
                held.connection.close()

    def open_count(self) -> int:
        """Idle connections kept (for tests)."""
        with self.lock:
            return len(self.free)

    def close_all(self, *_args: Any) -> None:
        """``Engine.dispose()``: close the idle connections; those in use are closed when their read ends
        (a test drops its database after it)."""
        with self.lock:
            idle, self.free = self.free, []
            self.generation += 1
        for held in idle:
            self._close(held)


_READER = "marketplace.pagecache.reader"


def data_version(session: Session | None = None) -> str:
    """The current data version (one primary-key lookup).

    Without *session*: read by this process's :class:`VersionReader`, outside the request's session (a
    cache hit then costs one small statement and no ORM work; the session never starts a transaction),
    falling back to a pooled connection if that fails. With *session*: read in it.
    """
    from marketplace.extensions import db

    if session is not None:
        return _version_text(session.execute(_VERSION_QUERY).first())
    reader = current_app.extensions.get(_READER)
    if reader is not None:
        try:
            return reader.read()
        except Exception:
            log.debug("data version reader failed; reading through the pool", exc_info=True)
    with db.engine.connect() as conn:
        return _version_text(conn.execute(_VERSION_QUERY).first())


def request_data_version(session: Session) -> str:
    """The data version this request works with: the one the page cache read, else read now.

    A ``GET`` (which never writes) reads it once, outside *session*; other methods read it in *session*.
    """
    found = g.get("page_cache")
    if found:
        return found[1]
    if request and request.method == "GET":  # GET never writes: one read serves the whole request
        version = request.environ.get(_REQUEST_VERSION)
        if version is None:
            version = request.environ[_REQUEST_VERSION] = data_version()
        return version
    return data_version(session)


def _private_draft(obj: Any) -> bool:
    """A firm's draft that stays a draft (and its documents): sealed, on no public page or count.

    Draft saves are the most frequent write near a deadline; bumping the shared version for them would
    empty every cached page and serialise concurrent savers on the version row. A draft becoming
    submitted (or anything else) changes its status, which is public (counts), so that still bumps.
    """
    if isinstance(obj, ApplicationDocument):
        obj = obj.__dict__.get("application")  # no lazy load inside a flush event
    if not isinstance(obj, Application) or obj.status != ApplicationStatus.DRAFT:
        return False
    history = sa.inspect(obj).attrs.status.history
    return not history.deleted or all(old == ApplicationStatus.DRAFT for old in history.deleted)


def _public_change(objects: Any) -> bool:
    return any(not isinstance(obj, PRIVATE_MODELS) and not _private_draft(obj) for obj in objects)


def _after_flush(session: Session, _context: Any) -> None:
    dirty = (obj for obj in session.dirty if session.is_modified(obj))
    if _public_change(session.new) or _public_change(dirty) or _public_change(session.deleted):
        session.info[_CHANGED] = True


def _on_execute(state: ORMExecuteState) -> None:
    """Bulk ``UPDATE``/``DELETE``/``INSERT`` statements change data without a flush."""
    if state.is_update or state.is_delete or state.is_insert:
        table = getattr(state.statement, "table", None)
        if table is not MatchState.__table__:
            state.session.info[_CHANGED] = True


def _before_commit(session: Session) -> None:
    if session.new or session.dirty or session.deleted:
        session.flush()
    if session.info.pop(_CHANGED, False):
        bump(session)


def _forget(session: Session, transaction: SessionTransaction | None = None) -> None:
    if transaction is None or transaction.parent is None:
        session.info.pop(_CHANGED, None)


def attach(target: Any) -> None:
    """Bump the data version on every commit of *target* (Flask-SQLAlchemy's ``db.session``) that changed rows."""
    if event.contains(target, "before_commit", _before_commit):
        return
    event.listen(target, "after_flush", _after_flush)
    event.listen(target, "do_orm_execute", _on_execute)
    event.listen(target, "before_commit", _before_commit)
    event.listen(target, "after_transaction_end", _forget)


# ------------------------------------------------------------------ lifetime


def next_change_at(session: Session, now: datetime) -> datetime | None:
    """The next moment a public page changes by the clock alone: a deadline, a question cut-off or the end
    of a 公示 notice."""
    cutoff = timedelta(hours=current_app.config["QUESTION_CUTOFF_HOURS"])
    published = Scenario.status == ScenarioStatus.PUBLISHED
    deadline, cutoff_deadline = session.execute(sa.select(
        sa.func.min(Scenario.deadline).filter(published, Scenario.deadline > now),
        sa.func.min(Scenario.deadline).filter(published, Scenario.deadline > now + cutoff),
    )).one()
    # A 公示 notice ending makes its award final (the scenario page, /publicity and the API change).
    notice_end = session.execute(sa.select(sa.func.min(PublicityNotice.ends_at)).where(
        PublicityNotice.withdrawn_at.is_(None), PublicityNotice.ends_at > now)).scalar()
    moments = [m for m in (deadline, cutoff_deadline - cutoff if cutoff_deadline else None, notice_end)
               if m is not None]
    return min(moments) if moments else None


def changes_at(moment: datetime | None) -> None:
    """A view tells the cache that the page it is rendering changes by the clock alone at *moment* (a
    "N 天" count that drops at a day boundary, say), beyond what :func:`next_change_at` knows: an entry
    stored for this request lives no longer than that. Several calls keep the earliest moment."""
    if moment is None:
        return
    found = g.get("page_cache_until")
    if found is None or moment < found:
        g.page_cache_until = moment


def _lifetime(session: Session, version: str, now: datetime) -> float:
    """Seconds an entry stored now may live (0: do not store)."""
    default = float(current_app.config["PAGE_CACHE_SECONDS"])
    memo_key = f"next-change:{version}"
    moment = _get(memo_key)
    if moment is None or (moment != "none" and moment <= now):
        found = next_change_at(session, now)
        moment = found or "none"
        _set(memo_key, moment, default)
    if moment == "none":
        return default
    return min(default, (moment - now).total_seconds())


# ------------------------------------------------------------------ the store (shared, or in-process)


class _Store:
    """Flask-Caching's backend, with a small in-process copy in front of a shared one.

    Entries never change under a key (the key holds the data version and the entry its expiry), so a
    process may keep what it read from Redis: the copy is exactly as fresh, and a hit costs no round
    trip. The same in-process cache stands in while the shared store fails. ``prepared`` holds, per key
    this process served, the entry with its response headers built (:class:`HitMiddleware`).
    """

    def __init__(self, backend: Any, shared: bool, seconds: int) -> None:
        self.shared = shared
        self.shared_backend = backend
        self.seconds = seconds
        self.fallback = SimpleCache(threshold=500)
        self.failed_at: float | None = None
        self.prepared: dict[str, Any] = {}

    def get(self, key: str) -> Any:
        if self.shared:
            found = self.fallback.get(key)
            if found is not None:
                return found
        found = self.call("get", key)
        if found is not None and self.shared:
            self.fallback.set(key, found, timeout=self.seconds)
        return found

    def set(self, key: str, value: Any, timeout: int) -> None:
        if self.shared:
            self.fallback.set(key, value, timeout=timeout)
        self.call("set", key, value, timeout)

    def clear(self) -> None:
        self.prepared.clear()
        self.fallback.clear()
        self.shared_backend.clear()

    def backend(self) -> Any:
        if self.failed_at is not None and time.monotonic() - self.failed_at < RETRY_SECONDS:
            return self.fallback
        return self.shared_backend

    def call(self, method: str, *args: Any) -> Any:
        backend = self.backend()
        try:
            return getattr(backend, method)(*args)
        except Exception as error:  # Redis down: degrade to this process's memory, try again later
            if backend is self.fallback:
                raise
            if self.failed_at is None:
                log.warning("page cache store failed (%s); using the in-process cache", error)
            self.failed_at = time.monotonic()
            return getattr(self.fallback, method)(*args)


def _store() -> _Store:
    return current_app.extensions[_EXTENSION]


def _get(key: str) -> Any:
    return _store().get(key)


def _set(key: str, value: Any, timeout: float) -> None:
    _store().set(key, value, max(1, int(timeout)))


def clear() -> None:
    """Drop every cached page of this app (tests; stale entries are unreachable anyway)."""
    _store().clear()


# ------------------------------------------------------------------ request hooks


def _cacheable_request() -> bool:
    if not current_app.config.get("PAGE_CACHE"):
        return False
    if request.method != "GET" or request.endpoint is None:
        return False
    view = current_app.view_functions.get(request.endpoint)
    if not getattr(view, _ATTR, False):
        return False
    if CLOCK_RELATIVE_ARGS & set(request.args):
        return False
    return "_flashes" not in session and not current_user.is_authenticated


def code_version(app: Flask) -> str:
    """A digest of what renders the pages: the package's code, the templates, the translations and the static
    files (their fingerprints are in every page). It is part of every key, so after a deploy no server serves
    a page the old code rendered, while servers running the same release share their entries. Computed once
    per process (~2–3 ms per MB read); ``PAGE_CACHE_CODE`` overrides it."""
    found = app.extensions.get(_CODE)
    if found is None:
        found = app.config.get("PAGE_CACHE_CODE") or _digest_files(
            (Path(__file__).resolve().parent, Path(app.root_path, app.template_folder or "templates"),
             Path(app.static_folder or "static"), Path(app.root_path).parent / "translations"))
        app.extensions[_CODE] = found
    return found


@functools.cache
def _digest_files(folders: tuple[Path, ...]) -> str:
    digest = hashlib.sha256()
    for folder in folders:
        if not folder.is_dir():
            continue
        for path in sorted(folder.rglob("*")):
            if path.is_file() and "__pycache__" not in path.parts and path.suffix not in (".pyc", ".po", ".pot"):
                digest.update(str(path.relative_to(folder.parent)).encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()[:12]


def _key(version: str) -> str:
    return _key_for(f"{code_version(current_app)}.{version}", request.host_url, request.path, request.args,
                    get_locale())


def _key_for(version: str, host_url: str, path: str, args: Any, locale: Any) -> str:
    return f"page:{version}:{locale}:{_digest(host_url, path, args)}"


def _digest(host_url: str, path: str, args: Any) -> str:
    """The digest of the scheme and host (``request.host_url``: absolute URLs in a page are built from
    them), the path and the sorted query string."""
    query = urlencode(sorted(args.items(multi=True)))
    return hashlib.sha256(f"{host_url}{path}?{query}".encode()).hexdigest()[:40]


def _validators(response: Response, etag: str) -> Response:
    response.set_etag(etag)
    response.headers.setdefault("Cache-Control", "no-cache")  # a view's own policy (open data) stands
    return _without_date(response.make_conditional(request))


def _without_date(response: Response) -> Response:
    """werkzeug's ``make_conditional`` adds a ``Date`` header; every WSGI server (gunicorn, werkzeug's) adds
    its own, and two make the field invalid (RFC 9110 §6.6.1: a single value): leave it to the server."""
    response.headers.pop("Date", None)
    return response


def _serve_from_cache() -> Response | None:
    """``before_request``: answer from the cache when an entry for the current data version exists."""
    if not _cacheable_request():
        return None
    version = data_version()
    key = _key(version)
    g.page_cache = (key, version)
    entry = _get(key)
    if entry is None:
        return None
    body, headers, etag, expires = entry
    if expires <= clock.now():  # the clock passed a deadline this page shows
        return None
    g.page_cache = None
    response = Response(body, headers=headers)
    response.headers["X-Page-Cache"] = "hit"
    return _validators(response, etag)


def _store_response(response: Response) -> Response:
    """``after_request``: keep a cacheable page, and give it an ETag."""
    found = g.pop("page_cache", None)
    if not found:
        return response
    key, version = found
    if (response.status_code != 200 or response.direct_passthrough or response.is_streamed
            or session.modified or "_flashes" in session or response.headers.getlist("Set-Cookie")
            or current_user.is_authenticated):
        return response
    from marketplace.extensions import db

    body = response.get_data()
    etag = hashlib.sha256(body).hexdigest()[:32]
    now = clock.now()
    lifetime = _lifetime(db.session, version, now)
    until = g.pop("page_cache_until", None)
    if until is not None:
        lifetime = min(lifetime, (until - now).total_seconds())
    if lifetime >= 1:
        headers = [(name, value) for name, value in response.headers.items() if name.lower() not in _NOT_KEPT]
        _set(key, (body, headers, etag, now + timedelta(seconds=lifetime)), lifetime)
        response.headers["X-Page-Cache"] = "miss"
    return _validators(response, etag)


class HitMiddleware:
    """Serve a stored page to a cookie-less anonymous ``GET`` before Flask does any request work.

    A request without the session and remember-me cookies (and without an ``Authorization`` header) is
    anonymous, has no flashed message waiting and is in the default language, so the cache decision needs
    no session, Flask-Login, CSRF, rate-limit or locale work, and no application context: the route
    decision and the key digest (kept per raw host, path and query string), one data-version read
    (:class:`VersionReader`), one store lookup. The answer is the one :func:`_serve_from_cache` gives
    (the security headers, the request id, ``Vary: Cookie``, the ETag, ``304``), its headers built once
    per entry in each process; only ``X-Request-ID`` is added per request (never ``Date``: the server adds it, as
    it does for every answer Flask gives, and a second one would make the field invalid). A conditional
    request other than a plain ``If-None-Match`` is answered through werkzeug's ``make_conditional``.
    Anything else (a miss, a cookie, another method) goes to Flask unchanged.
    """

    #: Entries kept with their headers built, per process (cleared when full; a page is some 60 kB).
    PREPARED_KEPT = 128
    #: Request paths and query strings whose cache decision is kept, per process.
    TARGETS_KEPT = 10_000

    def __init__(self, app: Flask, wsgi_app: Callable[..., Any], store: _Store, reader: VersionReader | None) -> None:
        from marketplace import web_security

        self.app = app
        self.wsgi_app = wsgi_app
        self.store = store
        self.reader = reader
        self.cookies = (app.config.get("SESSION_COOKIE_NAME") or "session",
                        app.config.get("REMEMBER_COOKIE_NAME") or "remember_token")
        self.locale = str(Locale.parse(app.config["BABEL_DEFAULT_LOCALE"]))
        self.code = code_version(app)
        self.headers = web_security.static_headers(app.config.get("MARKETPLACE_ENV") == "production")
        #: Per request path: (cacheable, readable by other sites) of its view.
        self.cacheable_paths: dict[str, tuple[bool, bool]] = {}
        self.targets: dict[tuple[str, ...], str | None] = {}

    def cacheable_path(self, path: str) -> bool:
        return self.path_kind(path)[0]

    def path_kind(self, path: str) -> tuple[bool, bool]:
        """(cacheable, open to other sites: :func:`marketplace.cors.is_open`) of the view of *path*."""
        known = self.cacheable_paths.get(path)
        if known is None:
            try:
                endpoint, _args = self.app.url_map.bind("localhost").match(path, method="GET")
            except Exception:  # redirects, 404, 405: Flask answers them
                known = (False, False)
            else:
                view = self.app.view_functions.get(endpoint)
                known = (bool(getattr(view, _ATTR, False)), cors.is_open(view))
            if len(self.cacheable_paths) < self.TARGETS_KEPT:
                self.cacheable_paths[path] = known
        return known

    def target(self, environ: dict[str, Any]) -> str | None:
        """The digest of host, path and query (:func:`_key_for`) of a cacheable request, else None."""
        raw = (environ.get("PATH_INFO", ""), environ.get("QUERY_STRING", ""), environ.get("wsgi.url_scheme", ""),
               environ.get("HTTP_HOST", ""), environ.get("SERVER_NAME", ""), environ.get("SERVER_PORT", ""))
        try:
            return self.targets[raw]
        except KeyError:
            pass
        request_ = Request(environ)
        found = None
        if not CLOCK_RELATIVE_ARGS & set(request_.args) and self.cacheable_path(request_.path):
            found = _digest(request_.host_url, request_.path, request_.args)
        if len(self.targets) >= self.TARGETS_KEPT:
            self.targets.clear()
        self.targets[raw] = found
        return found

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        if environ.get("REQUEST_METHOD") == "GET" and self.app.config.get("PAGE_CACHE"):
            try:
                answer = self.hit(environ)
            except Exception:  # let Flask's own path (and its error handling) deal with it
                log.debug("page cache fast path skipped", exc_info=True)
                answer = None
            if answer is not None:
                status, headers, body = answer
                start_response(status, headers)
                return body
        return self.wsgi_app(environ, start_response)

    def hit(self, environ: dict[str, Any]) -> tuple[str, list[tuple[str, str]], list[bytes]] | None:
        if "HTTP_AUTHORIZATION" in environ:  # credentials of any kind: Flask decides
            return None
        if environ.get("HTTP_COOKIE"):
            cookies = parse_cookie(environ)
            if any(name in cookies for name in self.cookies):
                return None
        digest = self.target(environ)
        if digest is None:
            return None
        if self.reader is not None:
            version = self.reader.read()
        else:  # an in-memory database: through the pool
            with self.app.app_context():
                version = data_version()
        key = f"page:{self.code}.{version}:{self.locale}:{digest}"
        prepared = self.store.prepared.get(key)
        if prepared is None:
            entry = self.store.get(key)
            if entry is None:
                return None
            prepared = self.prepare(key, entry, environ)
        entry, ok, not_modified = prepared
        body, _headers, etag, expires = entry
        if expires <= clock.now():  # the clock passed a deadline this page shows
            return None
        if not _CONDITIONS.isdisjoint(environ):
            if not _OTHER_CONDITIONS.isdisjoint(environ):
                return self.conditional(entry, environ)
            if parse_etags(environ["HTTP_IF_NONE_MATCH"]).contains_weak(etag):
                return "304 NOT MODIFIED", [*not_modified, self.request_id(environ)], []
        return "200 OK", [*ok, self.request_id(environ)], [body]

    def prepare(self, key: str, entry: tuple, environ: dict[str, Any]) -> tuple:
        """*entry* with the headers of its ``200`` and ``304`` answers built (all but the request id)."""
        built = []
        open_to_other_sites = self.path_kind(Request(environ).path)[1]
        for status in (200, 304):
            response = self.response(entry, status, open_to_other_sites)
            built.append([(name, value) for name, value in response.get_wsgi_headers(environ).to_wsgi_list()
                          if name not in _PER_RESPONSE])
        prepared = (entry, *built)
        if len(self.store.prepared) >= self.PREPARED_KEPT:
            self.store.prepared.clear()
        self.store.prepared[key] = prepared
        return prepared

    def response(self, entry: tuple, status: int = 200, open_to_other_sites: bool = False) -> Response:
        """The hit as :func:`_serve_from_cache` answers it, before ``make_conditional`` and the request id.

        *open_to_other_sites*: the page's view is :func:`marketplace.cors.is_open` (a fast-path request carries
        no cookie of the site and no ``Authorization``, so it gets the CORS headers as Flask's hook gives them)."""
        body, headers, etag, _expires = entry
        response = Response(body, status=status, headers=headers)
        response.headers["X-Page-Cache"] = "hit"
        response.set_etag(etag)
        response.headers.setdefault("Cache-Control", "no-cache")
        for name, value in self.headers:
            response.headers.setdefault(name, value)
        response.vary.add("Cookie")
        if open_to_other_sites:
            for name in cors.VARY:
                response.vary.add(name)
            for name, value in cors.simple_headers():
                response.headers[name] = value
        return response

    def conditional(self, entry: tuple, environ: dict[str, Any]) -> tuple:
        """``If-Match``, ``If-Modified-Since`` …: werkzeug decides (rare; browsers send ``If-None-Match``)."""
        response = self.response(entry, open_to_other_sites=self.path_kind(Request(environ).path)[1])
        response = _without_date(response.make_conditional(environ))
        response.headers[logs.REQUEST_ID_HEADER] = self.request_id(environ)[1]
        return response.status, response.get_wsgi_headers(environ).to_wsgi_list(), list(
            response.get_app_iter(environ))

    @staticmethod
    def request_id(environ: dict[str, Any]) -> tuple[str, str]:
        """``X-Request-ID``: the proxy's when valid, else a new one."""
        incoming = environ.get(_REQUEST_ID_ENVIRON, "")
        request_id = incoming if incoming and logs.valid_request_id(incoming) else uuid.uuid4().hex
        return logs.REQUEST_ID_HEADER, request_id


#: Headers added per response on the fast path (not kept with a prepared entry); the server adds ``Date``.
_PER_RESPONSE = frozenset({logs.REQUEST_ID_HEADER})
#: Conditional request headers; the fast path leaves all but ``If-None-Match`` to werkzeug.
_CONDITIONS = frozenset({"HTTP_IF_NONE_MATCH", "HTTP_IF_MATCH", "HTTP_IF_MODIFIED_SINCE", "HTTP_IF_UNMODIFIED_SINCE",
                         "HTTP_IF_RANGE"})
_OTHER_CONDITIONS = frozenset({"HTTP_IF_MATCH", "HTTP_IF_MODIFIED_SINCE", "HTTP_IF_UNMODIFIED_SINCE",
                               "HTTP_IF_RANGE"})
_REQUEST_ID_ENVIRON = "HTTP_" + logs.REQUEST_ID_HEADER.upper().replace("-", "_")


def init_app(app: Flask) -> None:
    """Bind the cache store and install the request hooks."""
    from marketplace.extensions import db

    url = app.config.get("REDIS_URL")
    if url:
        config = {"CACHE_TYPE": "RedisCache", "CACHE_REDIS_URL": url, "CACHE_KEY_PREFIX": "mp-page:",
                  "CACHE_OPTIONS": {"socket_timeout": 0.5, "socket_connect_timeout": 0.5}}
    else:
        config = {"CACHE_TYPE": "SimpleCache", "CACHE_THRESHOLD": 2000}
    config["CACHE_DEFAULT_TIMEOUT"] = int(app.config["PAGE_CACHE_SECONDS"])
    page_cache.init_app(app, config=config)
    store = app.extensions[_EXTENSION] = _Store(app.extensions["cache"][page_cache], shared=bool(url),
                                               seconds=int(app.config["PAGE_CACHE_SECONDS"]))
    with app.app_context():
        engine = db.engine
    reader = None
    if engine.url.database not in (None, "", ":memory:"):  # an in-memory SQLite database has one connection
        reader = app.extensions[_READER] = VersionReader(engine)
    app.before_request(_serve_from_cache)
    app.after_request(_store_response)
    app.wsgi_app = HitMiddleware(app, app.wsgi_app, store, reader)  # type: ignore[method-assign]
    attach(db.session)
