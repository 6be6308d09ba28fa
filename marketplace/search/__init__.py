"""Site search: one interface, two backends, kept in sync after commit.

* :mod:`.documents` — the data crossing the interface (:class:`SearchDocument`,
  :class:`SearchQuery`, :class:`SearchResults`, budget bands, derived status).
* :mod:`.query` — the query syntax, parsed once into a backend-neutral tree.
* :mod:`.analysis` / :mod:`.highlight` — Chinese analysis (the project tokeniser with phrase
  positions) and ``<mark>`` highlighting shared by the backends.
* :mod:`.backend` — :class:`SearchBackend`, the interface; :class:`NullBackend` when off.
* :mod:`.whoosh_backend` — embedded Whoosh index (default); :mod:`.postgres_backend` —
  PostgreSQL full text over ``search_entries``.
* :mod:`.sync` — model registry and session hooks (collect on flush, apply after commit).

This module is the Flask glue: :func:`init_app` reads ``SEARCH_BACKEND`` (``whoosh`` default,
``postgres``, ``none``) and ``SEARCH_INDEX_DIR``; the backend itself is created lazily, once per
process (so it is safe across gunicorn's fork), and found with :func:`get_backend`.  Nothing here
knows about HTTP.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable
from typing import Any

import sqlalchemy as sa
from flask import Flask, current_app, has_app_context

from marketplace.search.backend import CheckReport, NullBackend, SearchBackend, SearchUnavailable, check_index
from marketplace.search.documents import (
    ANY_WORD_NOTICE,
    BUDGET_BANDS,
    DOC_TYPES,
    FACET_NAMES,
    MAX_PER_PAGE,
    SORTS,
    UNTIL_DECIDED,
    SearchDocument,
    SearchHit,
    SearchQuery,
    SearchResults,
    budget_band,
    derive_status,
)
from marketplace.search.sync import register, register_related, registry

__all__ = [
    "BUDGET_BANDS",
    "DOC_TYPES",
    "FACET_NAMES",
    "SORTS",
    "CheckReport",
    "NullBackend",
    "SearchBackend",
    "SearchDocument",
    "SearchHit",
    "SearchQuery",
    "SearchResults",
    "SearchState",
    "SearchUnavailable",
    "UNTIL_DECIDED",
    "budget_band",
    "check_index",
    "derive_status",
    "get_backend",
    "index_state",
    "init_app",
    "keyword_ids",
    "register",
    "register_related",
    "registry",
    "search",
]

log = logging.getLogger("marketplace.search")

BACKENDS = ("whoosh", "postgres", "none")
EXTENSION_KEY = "search"


class SearchState:
    """What :func:`init_app` stores in ``app.extensions['search']``: the configuration and the
    per-process backend, created on first use."""

    def __init__(self, app: Flask, kind: str, engine: Callable[[], sa.Engine] | None) -> None:
        self.kind = kind
        self.index_dir: str = app.config["SEARCH_INDEX_DIR"]
        self.writer_timeout = float(app.config.get("SEARCH_WRITER_TIMEOUT", 10.0))
        self.exact_count_limit = int(app.config.get("SEARCH_EXACT_COUNT_LIMIT", 1000))
        self._engine = engine
        self._backend: SearchBackend | None = None
        self._pid: int | None = None
        self._lock = threading.Lock()

    def backend(self) -> SearchBackend:
        """This process's backend (a fresh one after a fork)."""
        if self._backend is not None and self._pid == os.getpid():
            return self._backend
        with self._lock:
            if self._backend is None or self._pid != os.getpid():
                self._backend = self._create()
                self._pid = os.getpid()
        return self._backend

    def _create(self) -> SearchBackend:
        if self.kind == "none":
            return NullBackend()
        if self.kind == "postgres":
            from marketplace.search.postgres_backend import PostgresBackend

            return PostgresBackend(self._default_engine(), exact_limit=self.exact_count_limit)
        from marketplace.search.whoosh_backend import WhooshBackend

        return WhooshBackend(self.index_dir, writer_timeout=self.writer_timeout)

    def _default_engine(self) -> sa.Engine:
        if self._engine is not None:
            return self._engine()
        extension: Any = current_app.extensions.get("sqlalchemy")
        if extension is None:
            raise RuntimeError("SEARCH_BACKEND='postgres' needs Flask-SQLAlchemy (or init_app(engine=…))")
        return extension.engine  # type: ignore[no-any-return]

    def reset(self) -> None:
        """Forget the backend (tests, or after changing the configuration)."""
        with self._lock:
            if self._backend is not None:
                self._backend.close()
            self._backend = None


def init_app(
    app: Flask,
    session: Any | None = None,
    *,
    engine: Callable[[], sa.Engine] | None = None,
) -> SearchState:
    """Configure search for *app*.

    Config: ``SEARCH_BACKEND`` (``whoosh`` | ``postgres`` | ``none``, default ``whoosh``),
    ``SEARCH_INDEX_DIR`` (default ``<instance>/search-index``; ``:memory:`` for an in-memory
    index), ``SEARCH_WRITER_TIMEOUT`` (seconds to wait for Whoosh's write lock, default 10),
    ``SEARCH_EXACT_COUNT_LIMIT`` (PostgreSQL: matches counted exactly before the total and facet
    counts become estimates, default 1000).

    *session*: Flask-SQLAlchemy's ``db.session`` (or any session target) to attach the commit
    hooks of :data:`marketplace.search.sync.registry` to.  *engine*: how the PostgreSQL backend
    finds its engine (default: Flask-SQLAlchemy's).
    """
    app.config.setdefault("SEARCH_BACKEND", "whoosh")
    app.config.setdefault("SEARCH_INDEX_DIR", os.path.join(app.instance_path, "search-index"))
    kind = str(app.config["SEARCH_BACKEND"] or "none").lower()
    if kind not in BACKENDS:
        raise ValueError(f"SEARCH_BACKEND must be one of {', '.join(BACKENDS)}, not {kind!r}")
    state = SearchState(app, kind, engine)
    app.extensions[EXTENSION_KEY] = state
    if session is not None:
        registry.get_backend = _backend_or_none
        registry.attach(session)
    return state


def get_backend(app: Flask | None = None) -> SearchBackend:
    """The backend of *app* (default: the current app); :class:`NullBackend` if search was not
    initialised."""
    app = app or current_app
    state: SearchState | None = app.extensions.get(EXTENSION_KEY)
    if state is None:
        return NullBackend()
    return state.backend()


def index_state(app: Flask | None = None) -> dict[str, Any]:
    """The search index's state for ``/healthz`` and ``/readyz``; never raises.

    ``{"backend": "whoosh" | "postgres" | "none", "state": ..., "documents": N | None}`` (and
    ``"detail"`` on trouble).  ``state`` is ``ok`` (searches use the index), ``off``
    (``SEARCH_BACKEND=none``), or a reason searches answer "unavailable" and the list pages use
    ``LIKE``: ``missing`` (no index: deleted or never built; nothing recreates it implicitly),
    ``rebuilding``, ``incomplete`` (a rebuild stopped half-way), ``corrupt``, ``unavailable``.
    ``flask search reindex`` brings every one of them back to ``ok``.
    """
    app = app or current_app
    state: SearchState | None = app.extensions.get(EXTENSION_KEY)
    kind = state.kind if state is not None else "none"
    try:
        return get_backend(app).state()
    except Exception as exc:
        log.exception("search backend could not be created")
        return {"backend": kind, "state": "unavailable", "documents": None, "detail": type(exc).__name__}


def _backend_or_none() -> SearchBackend | None:
    """For the commit hooks: ``None`` outside an app context or when search is off."""
    if not has_app_context():
        return None
    backend = get_backend()
    return None if isinstance(backend, NullBackend) else backend


#: Most ids a keyword filter takes from the index (the list pages filter and sort in SQL).
MAX_KEYWORD_IDS = 2000


def keyword_ids(doc_type: str, q: str) -> list[int] | None:
    """Ids of the public records of *doc_type* holding every word of *q*, by the search backend.

    The keyword filters of the scenario list, the firm directory and the demonstration gallery use
    it. ``None`` when search is off or the index cannot be read: the list then falls back to its
    ``LIKE`` filter.  The "any word" fallback of the search page is not used here: a keyword
    filter keeps "every word" semantics, so no match gives an empty list.
    """
    try:
        backend = get_backend()
    except Exception:
        log.exception("search backend could not be created; keyword filter falls back to LIKE")
        return None
    if isinstance(backend, NullBackend):
        return None
    ids: list[int] = []
    page = 1
    while len(ids) < MAX_KEYWORD_IDS:
        results = backend.query(SearchQuery(q=q, types=(doc_type,), page=page, per_page=MAX_PER_PAGE,
                                            with_facets=False))
        if results.notice == ANY_WORD_NOTICE:
            return []
        if results.notice:  # index unavailable
            return None
        ids.extend(hit.doc_id for hit in results.hits)
        if not results.hits or len(ids) >= results.total:
            break
        page += 1
    return ids[:MAX_KEYWORD_IDS]


def search(query: SearchQuery) -> SearchResults:
    """Answer *query* with the current app's backend; never raises for index trouble."""
    try:
        backend = get_backend()
    except Exception:
        log.exception("search backend could not be created")
        return SearchResults.unavailable(query)
    return backend.query(query)
