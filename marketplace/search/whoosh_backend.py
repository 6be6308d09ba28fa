"""The embedded default backend: a Whoosh index in a directory (``SEARCH_INDEX_DIR``).

Indexing: the three text fields are analysed by
:class:`~marketplace.search.analysis.ChineseTokenizer` (the project tokeniser, consecutive
positions, shingles of adjacent words); facet values are ``ID`` fields; numbers (budget, dates,
id) sit in one fixed-width column.

How a query runs:

1. **Matching and scoring** (:class:`_Evaluator`): each query term's posting list is read once
   per segment and cached: from the segment's term-arrays file when a rebuild wrote it (flat
   docnum and weight arrays, :class:`~marketplace.search.whoosh_reading.TermArrays`), else from
   Whoosh, a block of postings at a time; AND / OR / NOT and BM25
   scores (title weighted above body above extra) are NumPy operations over dense per-document
   arrays.  Whoosh's own matcher loop costs a Python step per matching document (measured
   ~200 ms for 7,000 matches at 50,000 records); this costs a few milliseconds.  Phrases are
   single shingle terms (two words); longer ones are a chain of shingles whose positions are
   checked on the candidate documents only (Whoosh's positional ``SpanNear2`` when the phrase
   has a gap).
2. **Filters, facet counts, the clock-derived status (open/closed, 公示中/已揭榜) and sorting** are
   NumPy over per-segment arrays of facet codes and numbers, built once per segment (a segment
   never changes, only its deletions do): no reindexing when a deadline passes or a notice ends.
3. Only the page of hits is read from stored fields and highlighted.

A full rebuild writes its segments with :class:`~marketplace.search.whoosh_writer.RebuildSegmentWriter`
(the same segment contents as Whoosh's writer, about 40% less CPU), in one forked worker process
per CPU (:class:`~marketplace.search.whoosh_writer.SegmentWorkers`) from ``REBUILD_PARALLEL_MIN``
records on, where forking is safe.

Several processes (gunicorn workers) may write: every write takes Whoosh's directory lock with a
bounded wait (``writer_timeout``, default 10 s) instead of failing at once (``ix.writer()``
without a timeout lost 75 of 100 commits from 4 processes; ``AsyncWriter`` loses writes when a
worker dies).  A write that still cannot get the lock is logged, kept in memory and retried with
the next write of the process, and :class:`~marketplace.search.backend.SearchUnavailable` is
raised to the caller (the commit hooks log it, never fail the request).  A missing or corrupt
index makes :meth:`WhooshBackend.query` return an empty page with a notice;
:meth:`WhooshBackend.rebuild` repairs it.
"""

from __future__ import annotations

import contextlib
import gc
import itertools
import logging
import math
import os
import shutil
import struct
import threading
import traceback
import warnings
from collections import OrderedDict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
from whoosh import columns, index, query, writing
from whoosh.codec.whoosh3 import W3Codec
from whoosh.fields import COLUMN, ID, KEYWORD, STORED, TEXT, Schema
from whoosh.filedb.filestore import FileStorage, RamStorage, Storage
from whoosh.index import LockError
from whoosh.query.spans import SpanNear2
from whoosh.searching import Searcher
from whoosh.util.filelock import try_for

from marketplace.search.analysis import ChineseTokenizer, shingle
from marketplace.search.backend import (
    Mode,
    ProgressCallback,
    RawHit,
    RawPage,
    SearchBackend,
    SearchUnavailable,
    chunked,
)
from marketplace.search.documents import (
    AWARDED,
    BUDGET_BANDS,
    CLOSED,
    FIELD_WEIGHTS,
    OPEN,
    PUBLICITY,
    PUBLISHED,
    DocKey,
    SearchDocument,
    SearchQuery,
    doc_key,
)
from marketplace.search.query import AllOf, Node, ParsedQuery, PhraseNode, TermNode
from marketplace.search.whoosh_reading import (
    EMPTY_IDS,
    EMPTY_TF,
    TERM_ARRAYS_EXT,
    TermArrays,
    column_bytes,
    field_lengths,
    read_positions,
    read_postings,
)
from marketplace.search.whoosh_writer import RebuildSegmentWriter, SegmentWorkers, fork_workers, gc_paused

__all__ = ["WhooshBackend", "build_schema"]

_T = TypeVar("_T")

log = logging.getLogger("marketplace.search")

INDEX_NAME = "MAIN"
#: File in the index directory while a rebuild from a missing or unreadable index runs.
REBUILD_MARKER = "REBUILDING"
#: ``SEARCH_INDEX_DIR`` value for an in-memory index.
MEMORY = ":memory:"
#: A rebuild of at least this many records writes its segments in worker processes (where
#: forking is safe); smaller ones are not worth starting them.
REBUILD_PARALLEL_MIN = 5_000
#: Keyword facets stored as ``ID`` fields (one value per document).
_CODE_FIELDS = ("doc_type", "district", "domain", "status", "theme")
#: Fixed-width numbers per document: budget (万元), published_at and deadline (epoch seconds),
#: doc_id.  NaN / -1 mean "none".
_NUM_FORMAT = struct.Struct("<dddq")
_NUM_DTYPE = np.dtype([("budget", "<f8"), ("published", "<f8"), ("deadline", "<f8"), ("doc_id", "<i8")])
_NUM_DEFAULT = _NUM_FORMAT.pack(math.nan, math.nan, math.nan, -1)
#: The end of an award's 公示 (epoch seconds, NaN: none), a column of its own so that segments
#: written before it existed read as "no notice" (Whoosh gives a missing column its default).
_PUBLICITY_FORMAT = struct.Struct("<d")
_PUBLICITY_DEFAULT = _PUBLICITY_FORMAT.pack(math.nan)
_TEXT_FIELDS = tuple(FIELD_WEIGHTS.items())
#: BM25 parameters (the usual defaults, as in Whoosh's BM25F).
_K1 = 1.2
_B = 0.75


def build_schema() -> Schema:
    """The index schema (text fields analysed by :class:`ChineseTokenizer`)."""
    analyzer = ChineseTokenizer()
    return Schema(
        key=ID(unique=True, stored=True),
        doc_type=ID(),
        title=TEXT(analyzer=analyzer, phrase=True, stored=True),
        body=TEXT(analyzer=analyzer, phrase=True, stored=True),
        extra=TEXT(analyzer=analyzer, phrase=True),
        district=ID(),
        domain=ID(),
        status=ID(),
        theme=ID(),
        batches=KEYWORD(),
        nums=COLUMN(columns.FixedBytesColumn(_NUM_FORMAT.size, default=_NUM_DEFAULT)),
        publicity=COLUMN(columns.FixedBytesColumn(_PUBLICITY_FORMAT.size, default=_PUBLICITY_DEFAULT)),
        fingerprint=COLUMN(columns.VarBytesColumn()),
        url=STORED(),
    )


class SearchCodec(W3Codec):
    """Whoosh's default codec without per-block field-length statistics.

    Those statistics serve only Whoosh's own top-k scoring shortcuts, which this backend does
    not use (scoring is done with NumPy from the per-document length columns, still written),
    and gathering them costs a column lookup per posting: about a fifth of indexing time.
    """

    length_stats = False


def _codec() -> SearchCodec:
    return SearchCodec()


def _epoch(value: datetime | None) -> float:
    return value.timestamp() if value is not None else math.nan


def _from_epoch(value: float) -> datetime | None:
    return None if math.isnan(value) else datetime.fromtimestamp(value, UTC)


def _fields_of(doc: SearchDocument) -> dict[str, Any]:
    fields: dict[str, Any] = {
        "key": doc_key(*doc.key),
        "doc_type": doc.doc_type,
        "title": doc.title,
        "body": doc.body,
        "extra": doc.extra,
        "nums": _NUM_FORMAT.pack(
            math.nan if doc.budget is None else doc.budget,
            _epoch(doc.published_at),
            _epoch(doc.deadline),
            doc.doc_id,
        ),
        "publicity": _PUBLICITY_FORMAT.pack(_epoch(doc.publicity_until)),
        "fingerprint": doc.fingerprint.encode("utf-8"),
        "url": doc.url,
    }
    for name in ("district", "domain", "status", "theme"):
        value = getattr(doc, name)
        if value:
            fields[name] = str(value)
    if doc.batches:
        fields["batches"] = " ".join(doc.batches)
    return fields


# -- per-segment arrays --------------------------------------------------------------------


@dataclass(slots=True)
class _SegmentData:
    """Facet codes, numbers and field lengths of one segment (independent of deletions)."""

    segid: str
    size: int
    codes: dict[str, np.ndarray]
    batches: dict[str, np.ndarray]
    nums: np.ndarray
    lengths: dict[str, np.ndarray]
    #: End of the award's 公示 (epoch seconds, NaN: none).
    publicity: np.ndarray


@dataclass(slots=True)
class _Arrays:
    """Arrays over every segment of one index version (global document numbers)."""

    #: ``(segid, offset, data)`` per segment, in searcher order.
    leaves: list[tuple[str, int, _SegmentData]]
    live: np.ndarray
    codes: dict[str, np.ndarray]
    batches: dict[str, np.ndarray]
    nums: np.ndarray
    budget_band: np.ndarray
    lengths: dict[str, np.ndarray]
    avg_length: dict[str, float]
    live_count: int
    publicity: np.ndarray


@dataclass(slots=True)
class _Vocabulary:
    """Value ↔ code of every keyword facet, shared by all segments of this process."""

    codes: dict[str, dict[str, int]] = field(default_factory=lambda: {f: {} for f in _CODE_FIELDS})
    values: dict[str, list[str]] = field(default_factory=lambda: {f: [] for f in _CODE_FIELDS})

    def code(self, fieldname: str, value: str) -> int:
        codes = self.codes[fieldname]
        found = codes.get(value)
        if found is None:
            found = codes[value] = len(codes)
            self.values[fieldname].append(value)
        return found


def _band_codes(budget: np.ndarray) -> np.ndarray:
    band = np.full(budget.shape, -1, dtype=np.int32)
    known = ~np.isnan(budget)
    for i, b in enumerate(BUDGET_BANDS):
        mask = known.copy()
        if b.low is not None:
            mask &= budget >= b.low
        if b.high is not None:
            mask &= budget < b.high
        band[mask] = i
    return band




class _Evaluator:
    """Evaluates a parsed query over one index version with NumPy.

    Whoosh is used for what it stores (posting lists, positions, stored fields); matching and
    BM25 scoring of terms are vector operations over dense per-document arrays, so their cost
    does not grow with the number of matching documents the way Whoosh's per-document matcher
    loop does (measured: 7,000 matches cost ~200 ms in Whoosh's matchers, ~2 ms here).
    Phrases are checked by Whoosh's positional phrase matcher over the shingle postings, which
    are short.
    """

    def __init__(self, backend: WhooshBackend, searcher: Searcher, arrays: _Arrays) -> None:
        self.backend = backend
        self.searcher = searcher
        self.arrays = arrays
        self.size = len(arrays.live)
        self.subs = {sub.reader().segment().segment_id(): sub for sub, _ in self._leaf_searchers()}

    def _leaf_searchers(self) -> list[tuple[Searcher, int]]:
        return [(sub, off) for sub, off in self.searcher.leaf_searchers() if sub.doc_count_all()]

    def postings(self, fieldname: str, token: str) -> tuple[np.ndarray, np.ndarray]:
        """Global docnums and frequencies of *token* in *fieldname* over every segment."""
        ids: list[np.ndarray] = []
        tfs: list[np.ndarray] = []
        for segid, offset, _data in self.arrays.leaves:
            local, tf = self.backend._cached_postings(self.subs[segid].reader(), segid, fieldname, token)
            if len(local):
                ids.append(local + offset)
                tfs.append(tf)
        if not ids:
            return EMPTY_IDS, EMPTY_TF
        if len(ids) == 1:
            return ids[0], tfs[0]
        return np.concatenate(ids), np.concatenate(tfs)

    def term(self, token: str) -> tuple[np.ndarray, np.ndarray]:
        """Mask and BM25F score of *token* over the weighted text fields."""
        mask = np.zeros(self.size, dtype=bool)
        score = np.zeros(self.size, dtype=np.float64)
        total = max(self.arrays.live_count, 1)
        for fieldname, weight in _TEXT_FIELDS:
            ids, tf = self.postings(fieldname, token)
            if not len(ids):
                continue
            df = len(ids)
            idf = math.log(1.0 + (max(total, df) - df + 0.5) / (df + 0.5))
            avg = self.arrays.avg_length[fieldname] or 1.0
            norm = _K1 * (1.0 - _B + _B * self.arrays.lengths[fieldname][ids] / avg)
            score[ids] += weight * idf * tf * (_K1 + 1.0) / (tf + norm)
            mask[ids] = True
        return mask, score

    def _match_ids(self, q: query.Query) -> np.ndarray:
        context = self.searcher.boolean_context()
        found: list[np.ndarray] = []
        for sub, offset in self._leaf_searchers():
            ids = np.fromiter(q.matcher(sub, context).all_ids(), dtype=np.int64)
            found.append(ids + offset)
        return np.concatenate(found) if found else EMPTY_IDS

    def _consecutive_ids(self, fieldname: str, tokens: list[str], candidates: np.ndarray) -> np.ndarray:
        """Global docnums among *candidates* where *tokens* sit at consecutive positions of
        *fieldname*: what Whoosh's ``Phrase(fieldname, tokens)`` matches (a ``SpanNear2`` with
        slop 1), checked on the candidates' decoded positions instead of Whoosh's span matchers
        over every document holding all the tokens (~45 ms for a three-leaf phrase at 50,000
        records)."""
        decode = self.searcher.schema[fieldname].format.decode_positions
        found: list[int] = []
        for segid, offset, data in self.arrays.leaves:
            local = candidates[offset : offset + data.size]
            if not local.any():
                continue
            reader = self.subs[segid].reader()
            per_token: list[dict[int, bytes]] = []
            for token in tokens:
                ids, values = read_positions(reader, fieldname, token)
                chosen = np.flatnonzero(local[ids])
                if not len(chosen):
                    break
                per_token.append({int(ids[i]): values[i] for i in chosen})
            else:
                docs = set(per_token[0]).intersection(*per_token[1:])
                for doc in sorted(docs):
                    starts = set(decode(per_token[0][doc]))
                    for i, postings in enumerate(per_token[1:], start=1):
                        following = set(decode(postings[doc]))
                        starts = {p for p in starts if p + i in following}
                        if not starts:
                            break
                    if starts:
                        found.append(offset + doc)
        return np.asarray(found, dtype=np.int64)

    def phrase(self, node: PhraseNode) -> tuple[np.ndarray, np.ndarray]:
        """Mask and score of a phrase: adjacent leaves are indexed as shingles (one term for two
        leaves); longer phrases and phrases with gaps are checked with positions."""
        if node.consecutive:
            tokens = [shingle(a, b) for a, b in zip(node.tokens, node.tokens[1:], strict=False)]
        else:
            tokens = list(node.tokens)
        mask, score = self.all_of([self.term(t) for t in tokens])
        if len(tokens) == 1 or not node.exact or not mask.any():
            return mask, score
        verified = np.zeros(self.size, dtype=bool)
        for fieldname, _weight in _TEXT_FIELDS:
            if node.consecutive:
                verified[self._consecutive_ids(fieldname, tokens, mask & self.arrays.live)] = True
            else:
                verified[self._match_ids(_positional(fieldname, node, tokens))] = True
        mask &= verified
        return mask, np.where(mask, score, 0.0)

    @staticmethod
    def all_of(parts: list[tuple[np.ndarray, np.ndarray]]) -> tuple[np.ndarray, np.ndarray]:
        """Every part must match; scores add up."""
        mask, score = parts[0]
        for m, s in parts[1:]:
            mask = mask & m
            score = score + s
        return mask, np.where(mask, score, 0.0)

    @staticmethod
    def any_of(parts: list[tuple[np.ndarray, np.ndarray]]) -> tuple[np.ndarray, np.ndarray]:
        """At least one part must match; scores add up."""
        mask, score = parts[0]
        for m, s in parts[1:]:
            mask = mask | m
            score = score + s
        return mask, score

    def evaluate(self, node: Node) -> tuple[np.ndarray, np.ndarray]:
        """Mask and score of *node*."""
        if isinstance(node, TermNode):
            return self.term(node.token)
        if isinstance(node, PhraseNode):
            return self.phrase(node)
        parts = [self.evaluate(child) for child in node.children]
        return self.all_of(parts) if isinstance(node, AllOf) else self.any_of(parts)

    def run(self, parsed: ParsedQuery, mode: Mode) -> tuple[np.ndarray, np.ndarray]:
        """Docnums of live matching documents and their scores."""
        live = self.arrays.live
        if parsed.must:
            parts = [self.evaluate(node) for node in parsed.must]
            mask, score = self.all_of(parts) if mode == "and" else self.any_of(parts)
            mask = mask & live
        else:
            mask, score = live.copy(), np.zeros(self.size, dtype=np.float64)
        if parsed.must_not:
            excluded, _ = self.any_of([self.evaluate(node) for node in parsed.must_not])
            mask &= ~excluded
        ids = np.flatnonzero(mask)
        return ids, score[ids]


def _positional(fieldname: str, node: PhraseNode, tokens: list[str]) -> query.Query:
    """Whoosh query checking positions: a phrase of shingles, or exact gaps between leaves."""
    if node.consecutive:
        return query.Phrase(fieldname, tokens)
    # A stop word inside the quoted phrase: chain binary span queries whose minimum and maximum
    # distance are both the gap.
    span: query.Query = query.Term(fieldname, tokens[0])
    for i in range(1, len(tokens)):
        gap = node.offsets[i] - node.offsets[i - 1]
        span = SpanNear2([span, query.Term(fieldname, tokens[i])], slop=gap, mindist=gap)
    return span


class WhooshBackend(SearchBackend):
    """Search in a Whoosh index directory (see the module docstring)."""

    name = "whoosh"

    def __init__(
        self,
        index_dir: str | os.PathLike[str] | None,
        *,
        writer_timeout: float = 10.0,
        rebuild_timeout: float = 120.0,
        rebuild_chunk: int = 10_000,
        rebuild_workers: int | None = None,
        rebuild_parallel_min: int | None = None,
        postings_cache_size: int = 4_000_000,
    ) -> None:
        #: ``None`` (or ``":memory:"``): an in-memory index, for tests and throw-away use.
        self.index_dir = None if index_dir in (None, MEMORY) else Path(index_dir)  # type: ignore[arg-type]
        self._ram = RamStorage() if self.index_dir is None else None
        self.writer_timeout = writer_timeout
        self.rebuild_timeout = rebuild_timeout
        self.rebuild_chunk = rebuild_chunk
        #: Processes writing a rebuild's segments (default: one per CPU; 0 or 1: this process
        #: only), used from *rebuild_parallel_min* records on (default ``REBUILD_PARALLEL_MIN``)
        #: where forking is safe.
        self.rebuild_workers = rebuild_workers
        self.rebuild_parallel_min = rebuild_parallel_min
        self.schema = build_schema()
        if self._ram is not None:
            self._ram.create_index(self.schema, indexname=INDEX_NAME)
        self._lock = threading.RLock()
        self._pid = os.getpid()
        self._local = threading.local()
        self._vocab = _Vocabulary()
        self.postings_cache_size = postings_cache_size
        self._segments: dict[str, _SegmentData] = {}
        self._live: dict[tuple[str, int], np.ndarray] = {}
        self._arrays: tuple[tuple[Any, ...], _Arrays] | None = None
        self._postings: OrderedDict[tuple[str, str, str], tuple[np.ndarray, np.ndarray]] = OrderedDict()
        self._postings_size = 0
        self._arrays_files: dict[str, TermArrays | None] = {}
        #: Writes that could not get the lock; retried with the next write.
        self._pending: dict[str, SearchDocument | None] = {}

    # -- process / index handling ---------------------------------------------------------
    def _check_fork(self) -> None:
        if os.getpid() != self._pid:  # forked (gunicorn --preload): drop inherited handles
            self._pid = os.getpid()
            self._local = threading.local()
            self._lock = threading.RLock()

    def _storage(self) -> Storage:
        if self._ram is not None:
            return self._ram
        assert self.index_dir is not None
        return FileStorage(str(self.index_dir))

    def _exists(self) -> bool:
        if self.index_dir is not None and not self.index_dir.is_dir():
            return False
        # A table of contents is there (readable or not: opening it is the reader's business).
        return bool(index.TOC._latest_generation(self._storage(), INDEX_NAME) > -1)

    def _open_index(self) -> index.Index:
        return self._storage().open_index(INDEX_NAME, schema=self.schema)

    def _create_index(self, wipe: bool = False) -> index.Index:
        """Create the index under the directory's write lock (several processes may try at
        once); an index that exists meanwhile is opened, unless *wipe* (it is unreadable)."""
        if self._ram is not None:
            if wipe or not self._ram.index_exists(INDEX_NAME):
                self._ram = RamStorage()
                return self._ram.create_index(self.schema, indexname=INDEX_NAME)
            return self._ram.open_index(INDEX_NAME, schema=self.schema)
        assert self.index_dir is not None
        self.index_dir.mkdir(parents=True, exist_ok=True)
        storage = FileStorage(str(self.index_dir))
        lock = storage.lock(f"{INDEX_NAME}_WRITELOCK")
        if not try_for(lock.acquire, timeout=self.writer_timeout, delay=0.05):
            raise LockError("search index is locked by another writer")
        try:
            if not wipe and storage.index_exists(INDEX_NAME):
                return storage.open_index(INDEX_NAME, schema=self.schema)
            if wipe:
                for child in self.index_dir.iterdir():
                    if child.name.endswith("_WRITELOCK") or child.name == REBUILD_MARKER:
                        continue
                    if child.is_dir():
                        shutil.rmtree(child, ignore_errors=True)
                    else:
                        child.unlink(missing_ok=True)
            return storage.create_index(self.schema, indexname=INDEX_NAME)
        finally:
            lock.release()

    def _open_existing(self) -> index.Index:
        """The index for a write; never created here (see :meth:`state`).

        A fresh empty index would make search answer "1 result" for a site of thousands
        (issue 12.10): a missing index stays missing, and unavailable, until :meth:`rebuild`.
        """
        for attempt in range(3):
            if not self._exists():
                raise SearchUnavailable(
                    f"search index {self.index_dir} missing: not created implicitly, run `flask search reindex`"
                )
            try:
                return self._open_index()
            except FileNotFoundError:
                # Another process's commit removed the table of contents just listed: read
                # the newer one.
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")

    # -- rebuild marker: an index being built from nothing is not searchable yet -----------
    def _marker(self) -> Path | None:
        return None if self.index_dir is None else self.index_dir / REBUILD_MARKER

    def _mark_rebuilding(self) -> Path | None:
        """Create the marker before a rebuild that starts from a missing or unreadable index.

        Its first, empty commit must not look like a healthy index: readers answer "unavailable"
        while the marker exists, writers still wait for the rebuild's lock as usual.
        """
        marker = self._marker()
        if marker is None:
            return None
        marker.parent.mkdir(parents=True, exist_ok=True)
        marker.write_text(f"{os.getpid()} {datetime.now(UTC).isoformat()}\n", encoding="utf-8")
        return marker

    def _rebuild_marked(self) -> bool:
        marker = self._marker()
        return marker is not None and marker.exists()

    def _write_locked(self) -> bool:
        """Whether some process (this one included) holds the index's write lock now."""
        if self.index_dir is None or not self.index_dir.is_dir():
            return False
        lock = FileStorage(str(self.index_dir)).lock(f"{INDEX_NAME}_WRITELOCK")
        try:
            if lock.acquire(blocking=False):
                lock.release()
                return False
        except OSError:
            return False
        return True

    def state(self) -> dict[str, Any]:
        """``{"backend", "state", "documents"}`` without raising (for ``/healthz`` and ``/readyz``).

        States: ``ok``; ``missing`` (no index: deleted, or never built); ``rebuilding`` (a rebuild
        from nothing is running); ``incomplete`` (such a rebuild stopped before its commit);
        ``corrupt`` (the index cannot be read).  Every state but ``ok`` means searches answer
        with the "unavailable" notice and the list pages use their ``LIKE`` filter.
        """
        found: dict[str, Any] = {"backend": self.name, "state": "ok", "documents": None}
        if self._rebuild_marked():
            found["state"] = "rebuilding" if self._write_locked() else "incomplete"
            return found
        if not self._exists():
            found["state"] = "missing"
            return found
        with warnings.catch_warnings():
            # (Whoosh leaves a damaged file open: collected here, as in _guarded.)
            warnings.simplefilter("ignore", ResourceWarning)
            try:
                found["documents"] = int(self._open_index().doc_count())
                return found
            except Exception as exc:
                found["state"] = "corrupt"
                found["detail"] = repr(exc)[:200]
            gc.collect()
        return found

    def _searcher(self) -> Searcher:
        self._check_fork()
        searcher: Searcher | None = getattr(self._local, "searcher", None)
        if searcher is not None:
            # Not ``searcher.refresh()``: it reuses segment readers and so misses deletions
            # committed since (Whoosh 2.7 compares segments by id, not by deletion count).
            # Nor the generation alone: an index deleted and rebuilt starts counting again, so
            # the table of contents' file identity is compared too.
            try:
                current = searcher.up_to_date() and getattr(self._local, "toc", None) == self._toc_identity()
            except Exception:
                current = False
            if not current:
                self._drop_searcher()
                searcher = None
        if searcher is None:
            toc = self._toc_identity()
            searcher = self._open_index().searcher()
            self._local.toc = toc
        self._local.searcher = searcher
        return searcher

    def _toc_identity(self) -> tuple[int, int, int] | None:
        """Generation, inode and mtime of the current table of contents (``None`` in memory)."""
        if self.index_dir is None:
            return None
        generation = index.TOC._latest_generation(self._storage(), INDEX_NAME)
        stat = (self.index_dir / f"_{INDEX_NAME}_{generation}.toc").stat()
        return generation, stat.st_ino, stat.st_mtime_ns

    def _drop_searcher(self) -> None:
        searcher = getattr(self._local, "searcher", None)
        self._local.searcher = None
        if searcher is not None:
            with contextlib.suppress(Exception):  # closing a broken searcher may fail too
                searcher.close()

    def close(self) -> None:
        """Close this thread's searcher."""
        self._drop_searcher()

    def healthy(self) -> bool:
        """Whether the index directory holds a readable index."""

        if self._rebuild_marked():
            return False

        def read() -> bool:
            with self._open_index().searcher() as searcher:
                self._view(searcher)
            return True

        try:
            return self._guarded("health check", read, log_failure=False)
        except SearchUnavailable:
            return False

    def _guarded(self, action: str, fn: Callable[[], _T], log_failure: bool = True) -> _T:
        """``fn()``, with a failure on a damaged index turned into :class:`SearchUnavailable`.

        Whoosh leaves files open when it fails half-way through reading a damaged segment.
        The exception is logged as text and dropped here, and the files collected with their
        ``ResourceWarning`` silenced, instead of leaking descriptors until a later collection.
        The new exception does not chain the old one, which would keep the files alive.
        """
        failure = ""
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ResourceWarning)
            try:
                return fn()
            except (SearchUnavailable, LockError):
                raise
            except Exception as exc:
                failure = f"search index {self.index_dir}: {action} failed: {exc!r}"
                if log_failure:
                    log.error("%s\n%s", failure, "".join(traceback.format_exception(exc)).rstrip())
            self._drop_searcher()
            gc.collect()
        raise SearchUnavailable(failure)

    # -- writing --------------------------------------------------------------------------
    def apply(self, upserts: Iterable[SearchDocument], removals: Iterable[DocKey]) -> None:
        """Write and delete in one commit, waiting up to ``writer_timeout`` for the lock."""
        ops: dict[str, SearchDocument | None] = {}
        for key in removals:
            ops[doc_key(*key)] = None
        for doc in upserts:
            ops[doc_key(*doc.key)] = doc
        with self._lock:
            if self._pending:
                ops = {**self._pending, **ops}
                self._pending = {}
        if not ops:
            return
        try:
            self._guarded("write", lambda: self._write(ops))
        except LockError:
            with self._lock:
                self._pending = {**ops, **self._pending}
            log.error(
                "search index %s: lock not obtained within %.1f s; %d change(s) kept for the next "
                "write (run `flask search check` if this repeats): %s",
                self.index_dir,
                self.writer_timeout,
                len(ops),
                ", ".join(sorted(ops)[:20]),
            )
            raise SearchUnavailable("search index is locked by another writer") from None

    def _write(self, ops: dict[str, SearchDocument | None]) -> None:
        ix = self._open_existing()
        writer = ix.writer(timeout=self.writer_timeout, delay=0.05, codec=_codec())
        try:
            for key, doc in ops.items():
                if doc is None:
                    writer.delete_by_term("key", key)
                else:
                    writer.update_document(**_fields_of(doc))
        except BaseException:
            writer.cancel()
            raise
        writer.commit()

    def rebuild(self, docs: Iterable[SearchDocument], progress: ProgressCallback | None = None) -> int:
        """Replace the index by *docs* in one commit; a missing or corrupt index is recreated.

        Queries keep seeing the old index until the commit.  Other writers wait for the lock
        meanwhile (those that time out are logged and retried on their next write).
        """
        self._check_fork()
        marker = None if self._exists() and not self._rebuild_marked() else self._mark_rebuilding()
        try:
            ix, writer = self._guarded("opening for rebuild", self._open_for_rebuild, log_failure=False)
        except LockError:
            raise SearchUnavailable("search index is locked by another writer") from None
        except SearchUnavailable as exc:
            log.warning("%s; recreating the index", exc)
            marker = marker or self._mark_rebuilding()
            try:
                ix = self._create_index(wipe=True)
                writer = self._rebuild_writer(ix)
            except LockError:
                raise SearchUnavailable("search index is locked by another writer") from None
        count = 0
        segments: list[Any] = []
        try:
            # One segment per chunk, written by lock-less sub-writers while this writer holds
            # the lock, then published together in one commit that drops the old segments:
            # Whoosh's own multi-segment scheme (MpWriter).  Each sub-writer keeps its chunk's
            # postings grouped by term in memory (see marketplace.search.whoosh_writer: the same
            # files as Whoosh's writer, less Python per posting); bounded chunks bound that
            # memory.  From `rebuild_parallel_min` records on, and where forking is safe, the
            # sub-writers run in one forked process per CPU while this one reads the records
            # (the analysis is most of the work); otherwise here, one after the other.
            with gc_paused():
                docs = iter(docs)
                least = self.rebuild_parallel_min
                if least is None:
                    least = REBUILD_PARALLEL_MIN
                head = list(itertools.islice(docs, least))
                workers = 0
                if len(head) >= least and isinstance(ix.storage, FileStorage):
                    workers = fork_workers(self.rebuild_workers)
                if workers:
                    segments = self._write_in_workers(ix, itertools.chain(head, docs), workers, progress)
                    count = sum(segment.doc_count_all() for segment in segments)
                else:
                    for chunk in chunked(itertools.chain(head, docs), self.rebuild_chunk):
                        # (A sub-writer is not finished: that would delete the temporary directory it
                        # shares with the main writer, which cleans it up at commit or cancel.)
                        sub = RebuildSegmentWriter(ix, _lk=False, codec=_codec())
                        try:
                            for doc in chunk:
                                sub.add_document(**_fields_of(doc))
                                count += 1
                                if progress is not None and count % 1000 == 0:
                                    progress(count)
                        except BaseException:
                            sub._close_segment()
                            raise
                        segments.append(sub._finalize_segment())
                        gc.collect(1)  # (cycles of the source records read meanwhile, if any)
        except BaseException:
            writer.cancel()
            raise
        writer.commit(mergetype=lambda _writer, _old: list(segments))
        if marker is not None:
            marker.unlink(missing_ok=True)
        with self._lock:
            self._pending = {}
        if progress is not None:
            progress(count)
        return count

    def _write_in_workers(
        self, ix: index.Index, docs: Iterable[SearchDocument], workers: int, progress: ProgressCallback | None
    ) -> list[Any]:
        """The rebuild's segments, written by *workers* forked processes while this one reads
        the records (see :class:`~marketplace.search.whoosh_writer.SegmentWorkers`)."""
        pool = SegmentWorkers(ix.storage.folder, ix.indexname, _codec(), workers, self.rebuild_chunk)
        try:
            count = 0
            for doc in docs:
                pool.add_document(_fields_of(doc))
                count += 1
                if count % 1000 == 0:
                    if progress is not None:
                        progress(count)
                    if count % self.rebuild_chunk == 0:
                        gc.collect(1)  # (cycles of the source records, if any)
            segments = pool.finish()
            log.info(
                "search rebuild: %d records, %d segments written by %d worker processes (CPU s: %s)",
                count,
                len(segments),
                workers,
                ", ".join(f"{pool.cpu_seconds[n]:.1f}" for n in sorted(pool.cpu_seconds)),
            )
            return segments
        finally:
            pool.close()

    def _open_for_rebuild(self) -> tuple[index.Index, writing.SegmentWriter]:
        if not self._exists():
            self._create_index()
        ix = self._open_index()
        return ix, self._rebuild_writer(ix)

    def _rebuild_writer(self, ix: index.Index) -> writing.SegmentWriter:
        return ix.writer(timeout=self.rebuild_timeout, codec=_codec())

    def clear(self) -> None:
        """Remove every document (recreating the index if it is unreadable)."""
        self.rebuild(())

    # -- reading --------------------------------------------------------------------------
    def keys_and_versions(self) -> dict[DocKey, str]:
        """``{(doc_type, doc_id): fingerprint}`` of every live document."""
        searcher = self._searcher()
        arrays = self._view(searcher)
        types = self._vocab.values["doc_type"]
        found: dict[DocKey, str] = {}
        subs = {
            sub.reader().segment().segment_id(): sub
            for sub, _ in searcher.leaf_searchers()
            if sub.doc_count_all()
        }
        for segid, offset, data in arrays.leaves:
            fingerprints = subs[segid].reader().column_reader("fingerprint")
            for local in range(data.size):
                docnum = offset + local
                if arrays.live[docnum]:
                    key = (types[int(arrays.codes["doc_type"][docnum])], int(arrays.nums["doc_id"][docnum]))
                    found[key] = fingerprints[local].decode("utf-8")
        return found

    def _segment_data(self, sub: Searcher) -> _SegmentData:
        reader = sub.reader()
        segid = reader.segment().segment_id()
        cached = self._segments.get(segid)
        if cached is not None:
            return cached
        size = reader.doc_count_all()
        indexed = set(reader.indexed_field_names())
        codes: dict[str, np.ndarray] = {}
        for name in _CODE_FIELDS:
            arr = np.full(size, -1, dtype=np.int32)
            if name in indexed:
                for term in reader.lexicon(name):
                    local, _tf = read_postings(reader, name, term)
                    arr[local] = self._vocab.code(name, term.decode("utf-8"))
            codes[name] = arr
        batches: dict[str, np.ndarray] = {}
        if "batches" in indexed:
            for term in reader.lexicon("batches"):
                batches[term.decode("utf-8")] = read_postings(reader, "batches", term)[0]
        raw = column_bytes(reader.column_reader("nums", translate=False), size)
        nums = np.frombuffer(raw, dtype=_NUM_DTYPE, count=size)
        lengths = {name: field_lengths(reader, name, size) for name, _ in _TEXT_FIELDS}
        raw = column_bytes(reader.column_reader("publicity", translate=False), size)
        publicity = np.frombuffer(raw, dtype="<f8", count=size)
        data = _SegmentData(segid, size, codes, batches, nums, lengths, publicity)
        self._segments[segid] = data
        return data

    def _segment_live(self, sub: Searcher, size: int) -> np.ndarray:
        reader = sub.reader()
        key = (reader.segment().segment_id(), reader.doc_count())
        live = self._live.get(key)
        if live is None:
            live = np.ones(size, dtype=bool)
            if reader.has_deletions():
                live[np.fromiter(reader.segment().deleted_docs(), dtype=np.int64)] = False
            self._live[key] = live
        return live

    def _view(self, searcher: Searcher) -> _Arrays:
        """The arrays of the index version *searcher* reads (cached per version)."""
        with self._lock:
            parts = []
            for sub, offset in searcher.leaf_searchers():
                if not sub.doc_count_all():
                    continue
                data = self._segment_data(sub)
                parts.append((data, offset, self._segment_live(sub, data.size), sub.doc_count()))
            signature = tuple((d.segid, offset, count) for d, offset, _, count in parts)
            if self._arrays is not None and self._arrays[0] == signature:
                return self._arrays[1]
            current = {d.segid for d, _, _, _ in parts}
            for segid in [s for s in self._arrays_files if s not in current]:
                del self._arrays_files[segid]
            for segid in [s for s in self._segments if s not in current]:
                del self._segments[segid]
                for key in [k for k in self._postings if k[0] == segid]:
                    self._postings_size -= len(self._postings.pop(key)[0])
            for key in [k for k in self._live if k[0] not in current]:
                del self._live[key]
            arrays = self._concat(parts)
            self._arrays = (signature, arrays)
            return arrays

    @staticmethod
    def _concat(parts: list[tuple[_SegmentData, int, np.ndarray, int]]) -> _Arrays:
        names = [name for name, _ in _TEXT_FIELDS]
        if not parts:
            return _Arrays(
                leaves=[],
                live=np.zeros(0, dtype=bool),
                codes={name: np.zeros(0, dtype=np.int32) for name in _CODE_FIELDS},
                batches={},
                nums=np.zeros(0, dtype=_NUM_DTYPE),
                budget_band=np.zeros(0, dtype=np.int32),
                lengths={name: np.zeros(0) for name in names},
                avg_length=dict.fromkeys(names, 0.0),
                live_count=0,
                publicity=np.zeros(0),
            )
        live = np.concatenate([p[2] for p in parts])
        nums = np.concatenate([p[0].nums for p in parts])
        lengths = {name: np.concatenate([p[0].lengths[name] for p in parts]) for name in names}
        batch_parts: dict[str, list[np.ndarray]] = {}
        for data, offset, _live, _count in parts:
            for value, ids in data.batches.items():
                batch_parts.setdefault(value, []).append(ids + offset)
        live_count = int(live.sum())
        return _Arrays(
            leaves=[(data.segid, offset, data) for data, offset, _, _ in parts],
            live=live,
            codes={name: np.concatenate([p[0].codes[name] for p in parts]) for name in _CODE_FIELDS},
            batches={value: np.concatenate(ids) for value, ids in batch_parts.items()},
            nums=nums,
            budget_band=_band_codes(nums["budget"]),
            lengths=lengths,
            avg_length={name: float(lengths[name][live].mean()) if live_count else 0.0 for name in names},
            live_count=live_count,
            publicity=np.concatenate([p[0].publicity for p in parts]),
        )

    def _cached_postings(
        self, reader: Any, segid: str, fieldname: str, token: str
    ) -> tuple[np.ndarray, np.ndarray]:
        key = (segid, fieldname, token)
        with self._lock:
            found = self._postings.get(key)
            if found is not None:
                self._postings.move_to_end(key)
                return found
        arrays = self._term_arrays(segid)
        if arrays is not None and arrays.has_field(fieldname):
            found = arrays.postings(fieldname, token)
        else:
            found = read_postings(reader, fieldname, token)
        with self._lock:
            self._postings[key] = found
            self._postings_size += len(found[0])
            while self._postings_size > self.postings_cache_size and len(self._postings) > 1:
                _, (ids, _tf) = self._postings.popitem(last=False)
                self._postings_size -= len(ids)
        return found

    def _term_arrays(self, segid: str) -> TermArrays | None:
        """The term-arrays file of segment *segid* (``None``: the segment has none, e.g. it was
        written by an update, not by a rebuild; or it cannot be read: Whoosh's posting lists
        serve then)."""
        try:
            return self._arrays_files[segid]
        except KeyError:
            pass
        try:
            found = TermArrays.open(self._storage(), f"{segid}{TERM_ARRAYS_EXT}")
        except Exception as exc:
            log.warning(
                "search index %s: term arrays of %s unreadable (%r); reading postings", self.index_dir, segid, exc
            )
            found = None
        data = self._segments.get(segid)
        if found is not None and (data is None or found.doc_count != data.size):
            found = None
        with self._lock:
            self._arrays_files[segid] = found
        return found

    def _execute(self, parsed: ParsedQuery, query_: SearchQuery, mode: Mode, now: datetime) -> RawPage:
        def run() -> RawPage:
            try:
                return self._run(parsed, query_, mode, now)
            except SearchUnavailable:
                raise
            except Exception:
                # A merge in another process may have removed files under a cached searcher:
                # retry once with a fresh one before reporting the index unavailable.
                self._drop_searcher()
                return self._run(parsed, query_, mode, now)

        return self._guarded("query", run)

    def _run(self, parsed: ParsedQuery, q: SearchQuery, mode: Mode, now: datetime) -> RawPage:
        if not self._exists():
            raise SearchUnavailable(f"search index {self.index_dir} missing: run `flask search reindex`")
        if self._rebuild_marked():
            raise SearchUnavailable(f"search index {self.index_dir} is being rebuilt (or its rebuild stopped)")
        searcher = self._searcher()
        arrays = self._view(searcher)
        ids, scores = _Evaluator(self, searcher, arrays).run(parsed, mode)
        facet_codes, masks = self._filters(arrays, ids, q, now)
        selected = np.ones(len(ids), dtype=bool)
        for mask in masks.values():
            selected &= mask
        total = int(selected.sum())
        facets = self._facets(arrays, ids, facet_codes, masks) if q.with_facets else {}
        chosen, chosen_scores = ids[selected], scores[selected]
        sort = q.sort if parsed.must else ("newest" if q.sort == "relevance" else q.sort)
        order = self._order(arrays, chosen, chosen_scores, sort, now, q.offset + q.per_page)
        window = order[q.offset :]
        hits = [self._raw_hit(searcher, arrays, int(chosen[i]), float(chosen_scores[i])) for i in window]
        return RawPage(total, hits, facets)

    def _filters(
        self, arrays: _Arrays, ids: np.ndarray, q: SearchQuery, now: datetime
    ) -> tuple[dict[str, tuple[np.ndarray, list[str]]], dict[str, np.ndarray]]:
        """Per facet (codes of the candidates, labels), and one boolean mask per active filter."""
        vocab = self._vocab.values
        masks: dict[str, np.ndarray] = {}

        def code_mask(fieldname: str, wanted: Iterable[str]) -> np.ndarray:
            lookup = self._vocab.codes[fieldname]
            return np.isin(arrays.codes[fieldname][ids], [lookup[v] for v in wanted if v in lookup])

        # Derived status, at query time: published → open / closed by the deadline, awarded →
        # publicity while its 公示 runs.
        status_labels = [*vocab["status"], OPEN, CLOSED, PUBLICITY]
        status = arrays.codes["status"][ids].copy()
        published = self._vocab.codes["status"].get(PUBLISHED)
        if published is not None:
            is_pub = status == published
            deadline = arrays.nums["deadline"][ids]
            is_open = is_pub & (np.isnan(deadline) | (deadline > now.timestamp()))
            status[is_open] = len(vocab["status"])
            status[is_pub & ~is_open] = len(vocab["status"]) + 1
        awarded = self._vocab.codes["status"].get(AWARDED)
        if awarded is not None:
            # (NaN, no notice, compares False)
            status[(status == awarded) & (arrays.publicity[ids] > now.timestamp())] = len(vocab["status"]) + 2

        for name, fieldname, wanted in (
            ("type", "doc_type", q.types),
            ("district", "district", q.districts),
            ("domain", "domain", q.domains),
            ("theme", "theme", q.themes),
        ):
            if wanted:
                masks[name] = code_mask(fieldname, wanted)
        if q.statuses:
            wanted_status = set(q.statuses)
            if PUBLISHED in wanted_status:
                wanted_status |= {OPEN, CLOSED}
            masks["status"] = np.isin(status, [i for i, v in enumerate(status_labels) if v in wanted_status])
        if q.batch is not None:
            members = arrays.batches.get(q.batch, EMPTY_IDS)
            masks["batch"] = np.isin(ids, members)
        if q.budget_min is not None or q.budget_max is not None:
            budget = arrays.nums["budget"][ids]
            mask = ~np.isnan(budget)
            if q.budget_min is not None:
                mask &= budget >= q.budget_min
            if q.budget_max is not None:
                mask &= budget <= q.budget_max
            masks["budget"] = mask

        facet_codes = {
            "type": (arrays.codes["doc_type"][ids], vocab["doc_type"]),
            "district": (arrays.codes["district"][ids], vocab["district"]),
            "domain": (arrays.codes["domain"][ids], vocab["domain"]),
            "theme": (arrays.codes["theme"][ids], vocab["theme"]),
            "status": (status, status_labels),
            "budget": (arrays.budget_band[ids], [b.label for b in BUDGET_BANDS]),
        }
        return facet_codes, masks

    @staticmethod
    def _facets(
        arrays: _Arrays,
        ids: np.ndarray,
        facet_codes: dict[str, tuple[np.ndarray, list[str]]],
        masks: dict[str, np.ndarray],
    ) -> dict[str, dict[str, int]]:
        """Disjunctive counts: each facet applies every filter but its own."""

        def others(name: str) -> np.ndarray:
            mask = np.ones(len(ids), dtype=bool)
            for other, m in masks.items():
                if other != name:
                    mask &= m
            return mask

        facets: dict[str, dict[str, int]] = {}
        for name, (codes, labels) in facet_codes.items():
            chosen = codes[others(name)]
            counts = np.bincount(chosen[chosen >= 0], minlength=len(labels))
            facets[name] = {labels[i]: int(counts[i]) for i in np.flatnonzero(counts)}
        facets["batch"] = {}
        in_batch = np.zeros(len(arrays.live), dtype=bool)
        in_batch[ids[others("batch")]] = True
        for value, members in arrays.batches.items():
            count = int(np.count_nonzero(in_batch[members]))
            if count:
                facets["batch"][value] = count
        return facets

    def _order(
        self, arrays: _Arrays, ids: np.ndarray, scores: np.ndarray, sort: str, now: datetime, limit: int
    ) -> np.ndarray:
        """Indices of the first *limit* of *ids* in the requested order.

        Ties: newest first, then doc type and id, so the order is total and the same as the
        PostgreSQL backend's.  Only the candidates that can reach the first *limit* are fully
        sorted.
        """
        if not len(ids) or limit <= 0:
            return EMPTY_IDS
        nums = arrays.nums[ids]
        newest = -np.nan_to_num(nums["published"], nan=-np.inf)
        if sort == "relevance":
            primary = -np.round(scores, 9)
        elif sort == "deadline":
            # Still open first, soonest deadline first; then passed, most recent first; then none.
            deadline = nums["deadline"]
            group = np.where(np.isnan(deadline), 2, np.where(deadline > now.timestamp(), 0, 1))
            within = np.where(group == 0, deadline, np.where(group == 1, -deadline, 0.0))
            primary = group * 1e11 + within
        elif sort == "budget":
            primary = -np.nan_to_num(nums["budget"], nan=-np.inf)
        else:  # newest
            primary = newest
        candidates = np.arange(len(ids))
        if len(ids) > 4 * limit:
            kth = np.partition(primary, limit - 1)[limit - 1]
            candidates = np.flatnonzero(primary <= kth)
        types = self._vocab.values["doc_type"]
        type_rank = np.empty(len(types), dtype=np.int64)
        type_rank[np.argsort(np.asarray(types, dtype=object))] = np.arange(len(types))
        sub = ids[candidates]
        keys = [
            nums["doc_id"][candidates],
            type_rank[arrays.codes["doc_type"][sub]],
            newest[candidates],
            primary[candidates],
        ]
        return candidates[np.lexsort(keys)][:limit]

    def _raw_hit(self, searcher: Searcher, arrays: _Arrays, docnum: int, score: float) -> RawHit:
        stored = searcher.stored_fields(docnum)
        nums = arrays.nums[docnum]
        status_code = int(arrays.codes["status"][docnum])
        return RawHit(
            doc_type=self._vocab.values["doc_type"][int(arrays.codes["doc_type"][docnum])],
            doc_id=int(nums["doc_id"]),
            score=score,
            title=stored.get("title", ""),
            body=stored.get("body", ""),
            url=stored.get("url", ""),
            status=self._vocab.values["status"][status_code] if status_code >= 0 else None,
            deadline=_from_epoch(float(nums["deadline"])),
            publicity_until=_from_epoch(float(arrays.publicity[docnum])),
        )
