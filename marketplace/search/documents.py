"""The data that crosses the search interface: documents in, queries in, results out.

Everything here is plain data (frozen dataclasses), shared by every backend, so that the
Whoosh and PostgreSQL backends keep exactly the same contract.  Lifecycle statuses derived from
the clock (``open`` / ``closed``, ``publicity`` / ``awarded``) and the budget bands are defined
here, once.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

__all__ = [
    "BUDGET_BANDS",
    "DOC_TYPES",
    "FACET_NAMES",
    "FIELD_WEIGHTS",
    "SORTS",
    "BudgetBand",
    "DocKey",
    "SearchDocument",
    "SearchHit",
    "SearchQuery",
    "SearchResults",
    "UNTIL_DECIDED",
    "budget_band",
    "derive_status",
    "doc_key",
    "parse_doc_key",
]

#: The kinds of record that are searchable.
DOC_TYPES: tuple[str, ...] = ("scenario", "enterprise", "demonstration")

#: Sort orders understood by every backend.  ``relevance`` with an empty query sorts as ``newest``.
SORTS: tuple[str, ...] = ("relevance", "newest", "deadline", "budget")

#: Facets returned in :attr:`SearchResults.facets`, in display order.
FACET_NAMES: tuple[str, ...] = ("type", "district", "domain", "status", "batch", "budget", "theme")

#: Relative weight of each text field; the title counts most.  Whoosh uses them as query boosts,
#: PostgreSQL as ``ts_rank_cd`` weights of the tsvector labels A, B, C (scaled to title = 1).
FIELD_WEIGHTS: dict[str, float] = {"title": 3.0, "body": 1.0, "extra": 0.5}

#: Stored status of a scenario that is on the list and may still be "open" or "closed".
PUBLISHED = "published"
#: Derived statuses: ``published`` with a deadline in the future (or none) / in the past.
OPEN = "open"
CLOSED = "closed"
#: Stored status of a scenario whose winner has been chosen: final (``awarded``, 已揭榜) once its
#: award notice (公示) is over, ``publicity`` (公示中) while it runs, derived by the clock from
#: :attr:`SearchDocument.publicity_until`.
AWARDED = "awarded"
PUBLICITY = "publicity"
#: :attr:`SearchDocument.publicity_until` of an award whose notice has an undecided objection: it
#: stays in 公示 until the objection is decided (and the record is re-indexed), whatever the clock.
UNTIL_DECIDED = datetime(9999, 1, 1, tzinfo=UTC)

#: Most results per page a caller may ask for.
MAX_PER_PAGE = 100

def N_(text: str) -> str:
    """Marks a notice for extraction; the search page translates it when shown."""
    return text


#: Notice shown instead of results when the index cannot be read.
INDEX_UNAVAILABLE_NOTICE = N_("搜索索引暂不可用，正在重建，请稍后再试。")
#: Notice shown when no document holds every word and the "any word" results are shown instead.
ANY_WORD_NOTICE = N_("没有同时包含全部关键词的结果，以下为包含部分关键词的结果。")

#: A document's identity across backends: ``(doc_type, doc_id)``.
DocKey = tuple[str, int]


@dataclass(frozen=True, slots=True)
class BudgetBand:
    """A budget range in 万元: ``low <= budget < high`` (``None`` = unbounded)."""

    label: str
    low: float | None
    high: float | None

    def contains(self, budget: float) -> bool:
        """Whether *budget* (万元) falls in this band."""
        return (self.low is None or budget >= self.low) and (self.high is None or budget < self.high)


#: The budget bands of the ``budget`` facet (万元), the one place they are defined.
BUDGET_BANDS: tuple[BudgetBand, ...] = (
    BudgetBand("<50万", None, 50.0),
    BudgetBand("50-200万", 50.0, 200.0),
    BudgetBand("200-500万", 200.0, 500.0),
    BudgetBand("500-1000万", 500.0, 1000.0),
    BudgetBand("≥1000万", 1000.0, None),
)


def budget_band(budget: float | None) -> str | None:
    """Label of the band holding *budget* (万元), or ``None`` when there is no budget."""
    if budget is None or (isinstance(budget, float) and math.isnan(budget)):
        return None
    for band in BUDGET_BANDS:
        if band.contains(budget):
            return band.label
    return None  # pragma: no cover - the bands cover the whole line


def derive_status(
    status: str | None, deadline: datetime | None, now: datetime, publicity_until: datetime | None = None
) -> str | None:
    """The status a user sees: ``published`` becomes ``open`` or ``closed`` by the clock, and
    ``awarded`` becomes ``publicity`` while ``publicity_until`` is still ahead.

    A published record without a deadline (rolling call) counts as open.  Every other stored
    status is returned unchanged.
    """
    if status == AWARDED:
        return PUBLICITY if publicity_until is not None and publicity_until > now else AWARDED
    if status != PUBLISHED:
        return status
    if deadline is None or deadline > now:
        return OPEN
    return CLOSED


def doc_key(doc_type: str, doc_id: int) -> str:
    """The string form of a document key, ``"scenario:12"`` (used as the Whoosh unique id)."""
    return f"{doc_type}:{int(doc_id)}"


def parse_doc_key(key: str) -> DocKey:
    """Inverse of :func:`doc_key`."""
    doc_type, _, doc_id = key.partition(":")
    return doc_type, int(doc_id)


def _aware(value: datetime | None, name: str) -> datetime | None:
    if value is None:
        return None
    if value.tzinfo is None:
        raise ValueError(f"SearchDocument.{name} must be timezone-aware")
    return value.astimezone(UTC)


@dataclass(frozen=True, slots=True)
class SearchDocument:
    """One searchable record, as handed to a backend.

    Text is split in three weighted fields: ``title`` (weighted highest), ``body`` (description,
    boundary, requirements, capability profile, …) and ``extra`` (owner, district name, domain
    name, batch names).  The remaining attributes are facet, filter and sort values.

    ``fingerprint`` identifies the indexed version: leave it empty to get a hash of every field
    (so a ``check`` command finds stale entries even when only a related name changed), or pass
    e.g. ``updated_at.isoformat()``.
    """

    doc_type: str
    doc_id: int
    title: str
    body: str = ""
    extra: str = ""
    #: District code (e.g. ``"500103"``), filter and facet.
    district: str | None = None
    #: Industry domain code, filter and facet.
    domain: str | None = None
    #: Stored lifecycle status (``published``, ``awarded``, …); ``published`` is split into
    #: ``open`` / ``closed`` at query time by comparing ``deadline`` with the clock, ``awarded``
    #: into ``publicity`` / ``awarded`` by comparing ``publicity_until``.
    status: str | None = None
    #: Ids of the batches (as strings) the record was published in; multi-valued.
    batches: tuple[str, ...] = ()
    #: Budget in 万元.
    budget: float | None = None
    published_at: datetime | None = None
    deadline: datetime | None = None
    #: Application theme (智造重镇 / 智慧名城 code).
    theme: str | None = None
    url: str = ""
    fingerprint: str = ""
    #: An ``awarded`` record is in 公示 (shown as ``publicity``) until this moment: the end of its
    #: award notice, :data:`UNTIL_DECIDED` while an objection is undecided; ``None``: no notice.
    publicity_until: datetime | None = None

    def __post_init__(self) -> None:
        if self.doc_type not in DOC_TYPES:
            raise ValueError(f"unknown doc_type {self.doc_type!r}")
        object.__setattr__(self, "doc_id", int(self.doc_id))
        object.__setattr__(self, "batches", tuple(str(b) for b in self.batches))
        for name in ("title", "body", "extra", "url"):
            if getattr(self, name) is None:
                object.__setattr__(self, name, "")
        if self.budget is not None:
            object.__setattr__(self, "budget", float(self.budget))
        object.__setattr__(self, "published_at", _aware(self.published_at, "published_at"))
        object.__setattr__(self, "deadline", _aware(self.deadline, "deadline"))
        object.__setattr__(self, "publicity_until", _aware(self.publicity_until, "publicity_until"))
        if not self.fingerprint:
            object.__setattr__(self, "fingerprint", self.content_hash())

    @property
    def key(self) -> DocKey:
        """``(doc_type, doc_id)``."""
        return (self.doc_type, self.doc_id)

    def content_hash(self) -> str:
        """A stable hash of every indexed value (hex, 32 characters)."""
        payload = [
            self.doc_type,
            self.doc_id,
            self.title,
            self.body,
            self.extra,
            self.district,
            self.domain,
            self.status,
            list(self.batches),
            self.budget,
            self.published_at.isoformat() if self.published_at else None,
            self.deadline.isoformat() if self.deadline else None,
            self.theme,
            self.url,
        ]
        if self.publicity_until is not None:  # (the hashes of records without a notice are unchanged)
            payload.append(self.publicity_until.isoformat())
        raw = json.dumps(payload, ensure_ascii=False, separators=(",", ":"))
        return hashlib.blake2b(raw.encode("utf-8"), digest_size=16).hexdigest()


@dataclass(slots=True)
class SearchQuery:
    """What the user asked for.

    ``q`` syntax: words separated by spaces must ALL match (a word may match in any field);
    ``"引号内"`` (ASCII or Chinese quotes) is a phrase; ``-词`` / ``-"短语"`` excludes.  When no
    record holds every word, the backends fall back to "any word" ranked by relevance and say so
    in :attr:`SearchResults.notice`.  An empty ``q`` browses everything that passes the filters.

    ``statuses`` accepts stored statuses and the derived ``open`` / ``closed`` and ``publicity``;
    ``published`` means open or closed, ``awarded`` a final award only (not ``publicity``).
    ``now`` (aware) fixes the clock for open/closed and publicity, default: the time of the query.
    """

    q: str = ""
    types: Sequence[str] = ()
    districts: Sequence[str] = ()
    domains: Sequence[str] = ()
    statuses: Sequence[str] = ()
    themes: Sequence[str] = ()
    batch: str | None = None
    budget_min: float | None = None
    budget_max: float | None = None
    sort: str = "relevance"
    page: int = 1
    per_page: int = 20
    now: datetime | None = None
    #: Compute facet counts (turn off for callers that only need hits).
    with_facets: bool = True

    def __post_init__(self) -> None:
        self.q = (self.q or "").strip()
        for name in ("types", "districts", "domains", "statuses", "themes"):
            value = getattr(self, name) or ()
            if isinstance(value, str):  # one value given instead of a list
                value = (value,)
            setattr(self, name, tuple(str(v) for v in value if v))
        if self.sort not in SORTS:
            self.sort = "relevance"
        try:
            self.page = max(1, int(self.page))
        except (TypeError, ValueError):
            self.page = 1
        try:
            self.per_page = min(MAX_PER_PAGE, max(1, int(self.per_page)))
        except (TypeError, ValueError):
            self.per_page = 20
        if self.batch is not None:
            self.batch = str(self.batch) or None
        if self.now is not None:
            self.now = _aware(self.now, "now")

    @property
    def offset(self) -> int:
        """Index of the first hit of the page in the full result list."""
        return (self.page - 1) * self.per_page

    def clock(self) -> datetime:
        """The moment against which deadlines are compared."""
        return self.now or datetime.now(UTC)


@dataclass(frozen=True, slots=True)
class SearchHit:
    """One result.  ``title_html`` and ``snippet_html`` are safe HTML: text escaped, matched
    words wrapped in ``<mark>``."""

    doc_type: str
    doc_id: int
    score: float
    title_html: str
    snippet_html: str
    url: str = ""
    #: The status the user sees (``open`` / ``closed`` / ``publicity`` / stored status).
    status: str | None = None

    @property
    def key(self) -> DocKey:
        """``(doc_type, doc_id)``."""
        return (self.doc_type, self.doc_id)


def _empty_facets() -> dict[str, dict[str, int]]:
    return {name: {} for name in FACET_NAMES}


@dataclass(slots=True)
class SearchResults:
    """A page of hits, the total, facet counts and an optional notice for the user.

    ``facets[name]`` maps a value to its count.  Counts are "disjunctive": the counts of one
    facet ignore that facet's own filter (so the other choices stay visible) but apply every
    other filter.  Order: ``budget`` in band order, the others by count (descending) then value.
    """

    total: int = 0
    hits: list[SearchHit] = field(default_factory=list)
    facets: dict[str, dict[str, int]] = field(default_factory=_empty_facets)
    page: int = 1
    per_page: int = 20
    notice: str | None = None
    #: ``total`` and the facet counts are estimates (rounded to two significant digits): the
    #: PostgreSQL backend counts exactly up to a limit (1,000 matches by default), then
    #: extrapolates from them.  Pages and the API say so ("约 18,000", ``total_is_estimate``).
    total_is_estimate: bool = False

    @property
    def pages(self) -> int:
        """Number of pages."""
        return max(1, -(-self.total // self.per_page))

    @classmethod
    def unavailable(cls, query: SearchQuery, notice: str = INDEX_UNAVAILABLE_NOTICE) -> SearchResults:
        """Empty results carrying *notice* (the index cannot be read)."""
        return cls(page=query.page, per_page=query.per_page, notice=notice)


def order_facet(counts: dict[str, int], name: str) -> dict[str, int]:
    """Put facet counts in display order and drop zeros (see :class:`SearchResults`)."""
    if name == "budget":
        return {b.label: counts[b.label] for b in BUDGET_BANDS if counts.get(b.label)}
    items = sorted(((k, v) for k, v in counts.items() if v), key=lambda kv: (-kv[1], kv[0]))
    return dict(items)
