"""The one search interface every backend implements, and the parts they share.

A backend stores :class:`~marketplace.search.documents.SearchDocument` objects and answers
:class:`~marketplace.search.documents.SearchQuery` objects.  :meth:`SearchBackend.query` is a
template method: it parses the query string once, asks the backend for the raw page
(:meth:`SearchBackend._execute`), falls back from "every word" to "any word" when nothing
matches, builds highlighted hits, and turns a broken index into an empty page with a notice
instead of an exception.
"""

from __future__ import annotations

import logging
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from itertools import islice
from typing import Any, Literal

from marketplace.search.documents import (
    ANY_WORD_NOTICE,
    FACET_NAMES,
    INDEX_UNAVAILABLE_NOTICE,
    N_,
    DocKey,
    SearchDocument,
    SearchHit,
    SearchQuery,
    SearchResults,
    derive_status,
    order_facet,
)
from marketplace.search.highlight import highlight, snippet
from marketplace.search.query import ParsedQuery, parse_query

__all__ = [
    "CheckReport",
    "NullBackend",
    "ProgressCallback",
    "RawHit",
    "RawPage",
    "SearchBackend",
    "SearchUnavailable",
    "check_index",
    "chunked",
]

log = logging.getLogger("marketplace.search")

#: Called during :meth:`SearchBackend.rebuild` with the number of documents written so far.
ProgressCallback = Callable[[int], None]

#: ``and``: every positive clause must match; ``or``: at least one (the relaxed fallback).
Mode = Literal["and", "or"]


class SearchUnavailable(Exception):
    """The index cannot be read or written (missing, corrupt, locked for too long)."""


@dataclass(slots=True)
class RawHit:
    """What a backend returns for one hit, before highlighting."""

    doc_type: str
    doc_id: int
    score: float
    title: str
    body: str
    url: str
    status: str | None
    deadline: datetime | None
    #: See :attr:`SearchDocument.publicity_until`.
    publicity_until: datetime | None = None


@dataclass(slots=True)
class RawPage:
    """A backend's answer: total, the page of hits in order, raw facet counts."""

    total: int
    hits: list[RawHit]
    facets: dict[str, dict[str, int]] = field(default_factory=dict)
    #: The total and facet counts are estimates (too many matches to count them all quickly).
    estimated: bool = False


@dataclass(slots=True)
class CheckReport:
    """Differences between the database and the index."""

    #: In the database, not in the index.
    missing: list[DocKey] = field(default_factory=list)
    #: In both, but the indexed fingerprint differs.
    stale: list[DocKey] = field(default_factory=list)
    #: In the index, not (or no longer public) in the database.
    orphaned: list[DocKey] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """Whether the index agrees with the database."""
        return not (self.missing or self.stale or self.orphaned)


def chunked(items: Iterable[SearchDocument], size: int) -> Iterator[list[SearchDocument]]:
    """Split *items* in lists of at most *size*."""
    iterator = iter(items)
    while chunk := list(islice(iterator, size)):
        yield chunk


class SearchBackend(ABC):
    """Interface of a search backend (see the module docstring).

    Writes (:meth:`index`, :meth:`remove`, :meth:`apply`, :meth:`rebuild`, :meth:`clear`) raise
    :class:`SearchUnavailable` when the index cannot be written; :meth:`query` never raises for
    index trouble: it returns empty results with a notice.
    """

    #: Short name (``whoosh``, ``postgres``, ``none``).
    name: str = "abstract"

    # -- writing ---------------------------------------------------------------------------
    def index(self, docs: Iterable[SearchDocument]) -> int:
        """Add or replace *docs*; return how many were written."""
        docs = list(docs)
        self.apply(docs, ())
        return len(docs)

    def remove(self, keys: Iterable[DocKey]) -> int:
        """Remove the documents with these keys (missing keys are ignored); return the count asked."""
        keys = list(keys)
        self.apply((), keys)
        return len(keys)

    @abstractmethod
    def apply(self, upserts: Iterable[SearchDocument], removals: Iterable[DocKey]) -> None:
        """Write *upserts* and delete *removals* in one transaction / commit.

        A key present in both is removed then written (the document wins).
        """

    @abstractmethod
    def rebuild(self, docs: Iterable[SearchDocument], progress: ProgressCallback | None = None) -> int:
        """Replace the whole index by *docs*; repair a missing or corrupt index.  Returns the count."""

    @abstractmethod
    def clear(self) -> None:
        """Remove every document."""

    # -- reading ---------------------------------------------------------------------------
    @abstractmethod
    def keys_and_versions(self) -> dict[DocKey, str]:
        """``{(doc_type, doc_id): fingerprint}`` of everything indexed."""

    @abstractmethod
    def healthy(self) -> bool:
        """Whether the index can be read."""

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release files and connections held by this process."""

    def state(self) -> dict[str, Any]:
        """``{"backend", "state", "documents"}`` for health checks; never raises.

        ``state`` is ``ok`` when searches are answered from the index; anything else (``missing``,
        ``rebuilding``, ``incomplete``, ``corrupt``, ``unavailable``) means they get the
        "unavailable" notice.  ``documents`` is the indexed count when known.
        """
        try:
            ok = self.healthy()
        except Exception:
            ok = False
        return {"backend": self.name, "state": "ok" if ok else "unavailable", "documents": None}

    @abstractmethod
    def _execute(self, parsed: ParsedQuery, query: SearchQuery, mode: Mode, now: datetime) -> RawPage:
        """Run *parsed* with the filters, sort and page of *query*; raise on index trouble."""

    def query(self, query: SearchQuery) -> SearchResults:
        """Answer *query*; on index trouble return empty results with a notice (and log it)."""
        parsed = parse_query(query.q)
        now = query.clock()
        notice: str | None = None
        try:
            raw = self._execute(parsed, query, "and", now)
            if raw.total == 0 and parsed.can_relax:
                relaxed = self._execute(parsed, query, "or", now)
                if relaxed.total:
                    raw, notice = relaxed, ANY_WORD_NOTICE
        except SearchUnavailable as exc:
            log.warning("search backend %s unavailable: %s", self.name, exc)
            return SearchResults.unavailable(query, INDEX_UNAVAILABLE_NOTICE)
        except Exception:
            log.exception("search backend %s failed to answer %r", self.name, query.q)
            return SearchResults.unavailable(query, INDEX_UNAVAILABLE_NOTICE)
        hits = [self._hit(h, parsed, now) for h in raw.hits]
        facets = {name: order_facet(raw.facets.get(name, {}), name) for name in FACET_NAMES}
        return SearchResults(
            total=raw.total,
            hits=hits,
            facets=facets,
            page=query.page,
            per_page=query.per_page,
            notice=notice,
            total_is_estimate=raw.estimated,
        )

    @staticmethod
    def _hit(raw: RawHit, parsed: ParsedQuery, now: datetime) -> SearchHit:
        terms = parsed.highlight
        return SearchHit(
            doc_type=raw.doc_type,
            doc_id=raw.doc_id,
            score=float(raw.score),
            title_html=highlight(raw.title, terms),
            snippet_html=snippet(raw.body, terms),
            url=raw.url,
            status=derive_status(raw.status, raw.deadline, now, raw.publicity_until),
        )


class NullBackend(SearchBackend):
    """Search switched off (``SEARCH_BACKEND='none'``): writes do nothing, queries find nothing."""

    name = "none"
    #: Shown instead of results.
    NOTICE = N_("站内搜索未启用。")

    def apply(self, upserts: Iterable[SearchDocument], removals: Iterable[DocKey]) -> None:
        """Do nothing."""

    def rebuild(self, docs: Iterable[SearchDocument], progress: ProgressCallback | None = None) -> int:
        """Do nothing."""
        return 0

    def clear(self) -> None:
        """Do nothing."""

    def keys_and_versions(self) -> dict[DocKey, str]:
        """Nothing is indexed."""
        return {}

    def healthy(self) -> bool:
        """Always healthy: there is nothing to break."""
        return True

    def state(self) -> dict[str, Any]:
        """Search is off: nothing to be ready for."""
        return {"backend": self.name, "state": "off", "documents": 0}

    def _execute(self, parsed: ParsedQuery, query: SearchQuery, mode: Mode, now: datetime) -> RawPage:
        return RawPage(0, [])

    def query(self, query: SearchQuery) -> SearchResults:
        """Empty results with a notice that search is off."""
        return SearchResults.unavailable(query, self.NOTICE)


def check_index(
    backend: SearchBackend, expected: Iterable[SearchDocument] | Mapping[DocKey, str]
) -> CheckReport:
    """Compare the index with the documents the database says should be there.

    *expected* is the public documents (or ``{key: fingerprint}``) built from the database.
    """
    if isinstance(expected, Mapping):
        want = dict(expected)
    else:
        want = {doc.key: doc.fingerprint for doc in expected}
    have = backend.keys_and_versions()
    report = CheckReport()
    for key, fingerprint in want.items():
        if key not in have:
            report.missing.append(key)
        elif have[key] != fingerprint:
            report.stale.append(key)
    report.orphaned = [key for key in have if key not in want]
    report.missing.sort()
    report.stale.sort()
    report.orphaned.sort()
    return report
