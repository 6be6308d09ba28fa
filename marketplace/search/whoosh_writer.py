"""A Whoosh segment writer for full rebuilds: same segment files, less Python per posting.

Whoosh's :class:`~whoosh.writing.SegmentWriter` sends every posting (one per distinct term of
each field of each document: ~180 per record here) through a generic path: the field's format
builds ``(term, freq, weight, value)`` tuples through the analyzer's token objects, each becomes
a ``(field, term, docnum, weight, value)`` tuple in a sorting pool, the pool sorts them all at
flush and the codec's postings writer takes them back one call per posting.  Profiled on the
benchmark corpus, that machinery was about two thirds of a rebuild's time.

:class:`RebuildSegmentWriter` keeps the postings grouped by field and term as they come (documents
arrive in docnum order, so each term's list is already sorted), analyses the Chinese text fields
once into ``{token: positions}`` with :func:`~marketplace.search.analysis.index_positions`, encodes
the position lists as the ``Positions`` format does (memoised: most lists are short and repeat),
sorts only the distinct terms at flush and hands each term's postings to the W3 codec a block at a
time.  The segment holds what Whoosh's own writer writes for these documents (a test compares
every posting with its positions, stored field, column and field length of both), so readers are
unchanged.  The postings file is smaller (~30%): equal position values are one object, which the
block's pickle stores once.

Each segment also gets a term-arrays file (``MAIN_<segment>.tfs``: every text field's postings as
flat docnum and weight arrays, see :class:`~marketplace.search.whoosh_reading.TermArrays`), which
queries read instead of unpickling posting blocks.  :class:`SegmentWorkers` runs these writers in
forked worker processes.

It serves :meth:`WhooshBackend.rebuild` only (``add_document``; no ``update_document``, no
deletions, no vectors, no spelling fields, no boosts), on a codec without length statistics.
"""

from __future__ import annotations

import contextlib
import gc
import multiprocessing
import os
import queue
import threading
import time
import traceback
from array import array
from collections.abc import Iterator
from typing import Any

from whoosh import formats, writing
from whoosh.compat import dumps
from whoosh.filedb.filestore import FileStorage
from whoosh.system import pack_uint

from marketplace.search.analysis import ChineseTokenizer, index_positions
from marketplace.search.whoosh_reading import TERM_ARRAYS_EXT, term_arrays_bytes

__all__ = ["RebuildSegmentWriter", "SegmentWorkers", "fork_workers", "gc_paused"]

#: term (``str`` in the text fields, ``bytes`` in the others) → postings ``(docnum, weight, value)``
_Postings = list[tuple[int, float, bytes]]

#: Encoded position lists (``Positions.encode``), keyed by their tuple of positions.
_ENCODED: dict[tuple[int, ...], bytes] = {}
_MAX_ENCODED = 200_000


@contextlib.contextmanager
def gc_paused() -> Iterator[None]:
    """The cyclic garbage collector off for the block (restored after).

    A rebuild creates millions of small objects (posting tuples, position lists) that hold no
    reference cycles; each full collection walks them all, again and again as they pile up:
    measured ~18% of a rebuild's CPU time (10,000 records: 9.3 s → 7.6 s).  They are freed by
    reference counting when a segment is flushed.  Callers reading records with reference
    cycles (ORM objects) meanwhile run ``gc.collect(1)`` now and then: a young collection
    only walks what was created since the last one.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _encode_positions(poses: list[int]) -> bytes:
    """``whoosh.formats.Positions.encode(poses)``, memoised."""
    key = tuple(poses)
    found = _ENCODED.get(key)
    if found is None:
        deltas = []
        base = 0
        for pos in poses:
            deltas.append(pos - base)
            base = pos
        found = pack_uint(len(deltas)) + dumps(deltas, 2)
        if len(_ENCODED) < _MAX_ENCODED:
            _ENCODED[key] = found
    return found


def _is_fast_text(field: Any) -> bool:
    """A text field whose postings :func:`index_positions` gives directly."""
    fmt = field.format
    return (
        type(fmt) is formats.Positions
        and fmt.field_boost == 1.0
        and isinstance(field.analyzer, ChineseTokenizer)
        and not field.vector
        and not field.separate_spelling()
    )


class RebuildSegmentWriter(writing.SegmentWriter):
    """A lock-less sub-writer of a rebuild (see the module docstring).

    Create it with ``_lk=False`` while the rebuild's main writer holds the lock; call
    :meth:`add_document` for each record, then ``_finalize_segment()``.
    """

    def __init__(self, ix: Any, **kwargs: Any) -> None:
        super().__init__(ix, **kwargs)
        if self.codec.length_stats:
            raise ValueError("RebuildSegmentWriter needs a codec without length statistics")
        self._terms: dict[str, dict[Any, _Postings]] = {}
        #: Per text field: sorted terms, postings per term, docnums, weights (see
        #: :class:`~marketplace.search.whoosh_reading.TermArrays`).
        self._arrays: dict[str, tuple[list[str], list[int], array, array]] = {}
        self._fast = {name for name, field in self.schema.items() if field.indexed and _is_fast_text(field)}
        for name, field in self.schema.items():
            if field.indexed and (field.vector or field.separate_spelling()):
                raise ValueError(f"field {name!r}: vectors and spelling are not supported")

    def _field_terms(self, fieldname: str) -> dict[Any, _Postings]:
        terms = self._terms.get(fieldname)
        if terms is None:
            terms = self._terms[fieldname] = {}
        return terms

    def add_document(self, **fields: Any) -> None:
        """Add one document (plain field values: no ``_boost`` or ``_stored_`` keys)."""
        self._check_state()
        if any(name.startswith("_") for name in fields):
            raise ValueError("RebuildSegmentWriter takes no boosts or custom stored values")
        schema = self.schema
        fieldnames = sorted(fields)
        self._check_fields(schema, fieldnames)
        perdoc = self.perdocwriter
        docnum = self.docnum
        perdoc.start_doc(docnum)
        try:
            for fieldname in fieldnames:
                value = fields[fieldname]
                if value is None:
                    continue
                field = schema[fieldname]
                length = 0
                if field.indexed:
                    terms = self._field_terms(fieldname)
                    if fieldname in self._fast:
                        if not isinstance(value, str):
                            raise ValueError(f"{value!r} is not unicode")
                        get = terms.get
                        for text, poses in index_positions(value).items():
                            freq = len(poses)
                            length += freq
                            posting = (docnum, float(freq), _encode_positions(poses))
                            found = get(text)
                            if found is None:
                                terms[text] = [posting]
                            else:
                                found.append(posting)
                    else:
                        scorable = field.scorable
                        for tbytes, freq, weight, vbytes in field.index(value):
                            if scorable:
                                length += freq
                            terms.setdefault(tbytes, []).append((docnum, weight, vbytes))
                perdoc.add_field(fieldname, field, value if field.stored else None, length)
                column = field.column_type
                if column:
                    perdoc.add_column_value(fieldname, column, field.to_column_value(value))
        except BaseException:
            perdoc.cancel_doc()
            raise
        perdoc.finish_doc()
        self._added = True
        self.docnum += 1

    def _flush_segment(self) -> None:
        """Write the term index and postings: fields and terms in sorted order, each term's
        postings in blocks of the codec's size, as ``FieldWriter.add_postings`` would."""
        self.perdocwriter.close()
        writer = self.fieldwriter
        self._arrays = {}
        for fieldname in sorted(self._terms):
            terms = self._terms[fieldname]
            if not terms:
                continue
            writer.start_field(fieldname, self.schema[fieldname])
            # (str and UTF-8 bytes sort alike: by code point)
            ordered = sorted(terms)
            if fieldname in self._fast:
                all_ids, all_weights = array("I"), array("f")
                counts = [len(terms[term]) for term in ordered]
                self._arrays[fieldname] = (ordered, counts, all_ids, all_weights)
            else:
                all_ids = all_weights = None
            for term in ordered:
                docnums, weights, values = zip(*terms[term], strict=True)
                ids = array("I", docnums)
                if all_ids is not None:
                    all_ids.extend(ids)
                    all_weights.extend(weights)
                if not all(values):  # (as the W3 postings writer: empty values are not kept)
                    values = tuple(v for v in values if v)
                writer.start_term(term.encode("utf-8") if isinstance(term, str) else term)
                postwriter = writer._postwriter
                limit = postwriter._blocklimit
                count = len(ids)
                for start in range(0, count, limit):
                    end = start + limit
                    block_weights = weights[start:end]
                    postwriter._ids = ids[start:end]
                    postwriter._weights = array("f", block_weights)
                    postwriter._values = list(values[start:end])
                    postwriter._maxweight = max(0, max(block_weights))
                    postwriter._minlength = None
                    postwriter._maxlength = 0
                    if end < count:
                        postwriter._write_block()
                # (the last block is written by finish_term, marked as the last one)
                writer.finish_term()
            writer.finish_field()
        self._terms = {}
        writer.close()

    def _finalize_segment(self) -> Any:
        """Finish the segment, then write its term-arrays file next to it (after the segment's
        files are assembled into its compound file, which would take it in)."""
        segment = super()._finalize_segment()
        data = term_arrays_bytes(segment.doc_count_all(), self._arrays)
        self._arrays = {}
        f = self.storage.create_file(segment.make_filename(TERM_ARRAYS_EXT))
        try:
            f.write(data)
        finally:
            f.close()
        return segment


# -- several processes -----------------------------------------------------------------------


def fork_workers(wanted: int | None = None) -> int:
    """How many worker processes a rebuild may fork: *wanted* (default: the CPUs this process
    may run on), or 0 where forking is not safe or not possible: no ``fork`` start method, a
    daemonic process (may not have children), or other threads running (a forked child gets
    their locks in whatever state they were, e.g. a logging handler's)."""
    if wanted is None:
        try:
            wanted = len(os.sched_getaffinity(0))
        except (AttributeError, OSError):
            wanted = os.cpu_count() or 1
    if wanted < 2:
        return 0
    if "fork" not in multiprocessing.get_all_start_methods():
        return 0
    if multiprocessing.current_process().daemon or threading.active_count() > 1:
        return 0
    return wanted


def _segment_worker(
    folder: str,
    indexname: str,
    codec: Any,
    chunk: int,
    tasks: Any,
    results: Any,
    number: int,
) -> None:
    """A worker process: adds the batches of documents it is given to a
    :class:`RebuildSegmentWriter`, finishes a segment every *chunk* documents and at the end,
    and reports ``(number, segments, None, cpu seconds)`` (or ``(number, None, traceback, …)``)."""
    gc.disable()  # (nothing here makes reference cycles; the process ends with the rebuild)
    segments: list[Any] = []
    sub: RebuildSegmentWriter | None = None
    try:
        ix = FileStorage(folder).open_index(indexname)
        parent = os.getppid()
        added = 0
        while True:
            try:
                batch = tasks.get(timeout=1.0)
            except queue.Empty:
                if os.getppid() != parent:  # the rebuild's process is gone: so is the rebuild
                    return
                continue
            if batch is None:
                break
            for fields in batch:
                if sub is None:
                    sub = RebuildSegmentWriter(ix, _lk=False, codec=codec)
                sub.add_document(**fields)
                added += 1
                if added == chunk:
                    segments.append(sub._finalize_segment())
                    sub, added = None, 0
        if sub is not None:
            segments.append(sub._finalize_segment())
            sub = None
        results.put((number, segments, None, time.process_time()))
    except BaseException:
        if sub is not None:
            with contextlib.suppress(Exception):
                sub._close_segment()
        results.put((number, None, traceback.format_exc(), time.process_time()))


class SegmentWorkers:
    """Rebuild segments written by forked worker processes, analysed in parallel.

    The process holding the index's write lock reads the records and hands their field values
    over in batches of *batch* documents, to each worker in turn (so the same records give the
    same segments).  Each worker keeps one open :class:`RebuildSegmentWriter`, finishes a
    segment every *chunk* of its documents and at the end; :meth:`finish` returns every
    segment, for the caller's one commit (Whoosh's ``MpWriter`` scheme, with the rebuild
    writer).  Only for an index in a directory (the workers open it by path).
    """

    def __init__(
        self, folder: str, indexname: str, codec: Any, workers: int, chunk: int, batch: int = 250
    ) -> None:
        ctx = multiprocessing.get_context("fork")
        self.batch_size = batch
        self._results = ctx.Queue()
        # Bounded, so the reader waits for the workers instead of queueing the whole corpus, but
        # by a segment's worth of batches: while one worker flushes a segment (a few seconds),
        # the reader keeps feeding the others instead of waiting for its turn at a full queue.
        self._tasks = [ctx.Queue(maxsize=max(4, chunk // batch)) for _ in range(workers)]
        self._procs = [
            ctx.Process(
                target=_segment_worker,
                args=(folder, indexname, codec, chunk, tasks, self._results, number),
                name=f"search-rebuild-{number}",
                daemon=True,
            )
            for number, tasks in enumerate(self._tasks)
        ]
        self._batch: list[dict[str, Any]] = []
        self._finished = False
        self._turn = 0
        self._done: dict[int, list[Any]] = {}
        #: CPU seconds each finished worker used.
        self.cpu_seconds: dict[int, float] = {}
        for proc in self._procs:
            proc.start()

    def add_document(self, fields: dict[str, Any]) -> None:
        self._batch.append(fields)
        if len(self._batch) >= self.batch_size:
            self._send()

    def _send(self) -> None:
        if not self._batch:
            return
        number = self._turn
        self._turn = (self._turn + 1) % len(self._procs)
        self._put(number, self._batch)
        self._batch = []

    def _put(self, number: int, item: Any) -> None:
        tasks, proc = self._tasks[number], self._procs[number]
        while True:
            try:
                tasks.put(item, timeout=1.0)
                return
            except queue.Full:
                self._check(number, proc)

    def _check(self, number: int, proc: Any) -> None:
        """Raise if worker *number* failed or is gone (its error, if it reported one)."""
        self._collect(block=False)
        if number not in self._done and not proc.is_alive():
            self._collect(block=False)
            if number not in self._done:
                raise RuntimeError(f"search rebuild worker {number} ended (exit code {proc.exitcode})")

    def _collect(self, block: bool) -> None:
        while True:
            try:
                number, segments, failure, cpu = self._results.get(
                    block=block, timeout=1.0 if block else None
                )
            except queue.Empty:
                return
            if failure is not None:
                raise RuntimeError(f"search rebuild worker {number} failed:\n{failure}")
            self._done[number] = segments
            self.cpu_seconds[number] = cpu
            if block:
                return

    def finish(self) -> list[Any]:
        """Wait for the workers; their segments, worker by worker."""
        self._send()
        for number in range(len(self._procs)):
            self._put(number, None)
        while len(self._done) < len(self._procs):
            self._collect(block=True)
            for number, proc in enumerate(self._procs):
                if number not in self._done and not proc.is_alive():
                    self._check(number, proc)
        for proc in self._procs:
            proc.join()
        self._finished = True
        return [segment for number in sorted(self._done) for segment in self._done[number]]

    def close(self) -> None:
        """Stop the workers that still run (after a failure) and release the queues."""
        for proc in self._procs:
            if proc.is_alive():
                proc.terminate()
            proc.join(timeout=5)
        for q in (*self._tasks, self._results):
            if not self._finished:  # (its feeder thread may be stuck on a pipe nobody reads)
                q.cancel_join_thread()
            q.close()
            if self._finished:  # (no thread left behind: a next rebuild may fork again)
                q.join_thread()
