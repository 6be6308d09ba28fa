"""Bulk reads from Whoosh segments for :mod:`marketplace.search.whoosh_backend`.

Whoosh's readers give one posting, one column value or one field length per Python call; the
query side needs whole posting lists and whole columns as NumPy arrays.  These functions read
them a block (or a column) at a time and return what the per-item calls would (tests compare
both in ``tests/search/test_whoosh_perf.py``).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from whoosh import columns
from whoosh.codec.whoosh3 import LENGTHS_COLUMN, W3LeafMatcher
from whoosh.matching.wrappers import FilterMatcher
from whoosh.reading import TermNotFound
from whoosh.util.numeric import _length_byte_cache

__all__ = ["EMPTY_IDS", "EMPTY_TF", "column_bytes", "field_lengths", "read_positions", "read_postings"]

EMPTY_IDS = np.zeros(0, dtype=np.int64)
EMPTY_TF = np.zeros(0, dtype=np.float64)


def read_postings(reader: Any, fieldname: str, token: str) -> tuple[np.ndarray, np.ndarray]:
    """Local docnums and term frequencies of *token* in one segment (deleted docs included)."""
    try:
        matcher = reader.postings(fieldname, token)
    except TermNotFound:
        return EMPTY_IDS, EMPTY_TF
    if isinstance(matcher, FilterMatcher):  # deletions are masked by the caller
        matcher = matcher.child
    if type(matcher) is W3LeafMatcher:
        return _read_blocks(matcher)
    ids: list[int] = []
    weights: list[float] = []
    while matcher.is_active():
        ids.append(matcher.id())
        weights.append(matcher.weight())
        matcher.next()
    return np.asarray(ids, dtype=np.int64), np.asarray(weights, dtype=np.float64)


def read_positions(reader: Any, fieldname: str, token: str) -> tuple[np.ndarray, tuple[bytes, ...]]:
    """Local docnums of *token* in one segment and the encoded positions of each."""
    try:
        matcher = reader.postings(fieldname, token)
    except TermNotFound:
        return EMPTY_IDS, ()
    if isinstance(matcher, FilterMatcher):
        matcher = matcher.child
    values: list[bytes] = []
    if type(matcher) is W3LeafMatcher:
        return _read_blocks(matcher, values)[0], tuple(values)
    found: list[int] = []
    while matcher.is_active():
        found.append(matcher.id())
        values.append(matcher.value())
        matcher.next()
    return np.asarray(found, dtype=np.int64), tuple(values)


def _read_blocks(matcher: W3LeafMatcher, values: list[bytes] | None = None) -> tuple[np.ndarray, np.ndarray]:
    """A W3 posting list a block at a time: each block's delta-coded ids and its weights are
    decoded with NumPy instead of a Python step per posting (most of a cold query's time for
    frequent words: ~1 M postings read cost ~5 s that way at 50,000 records)."""
    id_parts: list[np.ndarray] = []
    weight_parts: list[np.ndarray] = []
    while matcher.is_active():
        # (From the matcher's place: a deletion filter may have moved it past the first
        # postings, as the per-posting loop would start there too.)
        first = matcher._i
        if matcher._data is None:
            matcher._read_data()
        deltas, weights, block_values = matcher._data
        count = matcher._blocklength
        if values is not None:
            values.extend(block_values[first:])
        id_parts.append(np.cumsum(np.asarray(deltas, dtype=np.int64))[first:])
        if weights is None:
            weight_parts.append(np.ones(count - first, dtype=np.float64))
        elif isinstance(weights, float):
            weight_parts.append(np.full(count - first, weights, dtype=np.float64))
        else:
            weight_parts.append(np.asarray(weights, dtype=np.float64)[first:])
        matcher._next_block()
    if not id_parts:
        return EMPTY_IDS, EMPTY_TF
    if len(id_parts) == 1:
        return id_parts[0], weight_parts[0]
    return np.concatenate(id_parts), np.concatenate(weight_parts)


def column_bytes(creader: Any, size: int) -> bytes:
    """The values of a fixed-width column for *size* documents as one byte string (read at once,
    not a Python step per document)."""
    if isinstance(creader, columns.FixedBytesColumn.Reader):
        count = min(creader._count, size)
        raw: bytes = creader._dbfile.get(creader._basepos, count * creader._fixedlen)
        return raw + creader._defaultbytes * (size - count)
    return b"".join(creader)  # (a segment without the column: its default for every document)


#: Whoosh's one-byte field length code → length (``whoosh.util.numeric.byte_to_length``).
_BYTE_TO_LENGTH = np.asarray(_length_byte_cache, dtype=np.float64)


def field_lengths(reader: Any, fieldname: str, size: int) -> np.ndarray:
    """``reader.doc_field_length(n, fieldname) or 0`` for every document of a segment."""
    perdoc = reader._perdoc
    lenfield = f"_{fieldname}_len"
    if not perdoc.has_column(lenfield):
        return np.zeros(size, dtype=np.float64)
    raw = column_bytes(perdoc.column_reader(lenfield, LENGTHS_COLUMN), size)
    return _BYTE_TO_LENGTH[np.frombuffer(raw, dtype=np.uint8, count=size)]
