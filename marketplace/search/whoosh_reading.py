"""Bulk reads from Whoosh segments for :mod:`marketplace.search.whoosh_backend`.

Whoosh's readers give one posting, one column value or one field length per Python call; the
query side needs whole posting lists and whole columns as NumPy arrays.  These functions read
them a block (or a column) at a time and return what the per-item calls would (tests compare
both in ``tests/search/test_whoosh_perf.py``).
"""

from __future__ import annotations

import json
import mmap
import os
import struct
from array import array
from typing import Any

import numpy as np
from whoosh import columns
from whoosh.codec.whoosh3 import LENGTHS_COLUMN, W3LeafMatcher
from whoosh.filedb.filestore import FileStorage
from whoosh.matching.wrappers import FilterMatcher
from whoosh.reading import TermNotFound
from whoosh.util.numeric import _length_byte_cache

__all__ = [
    "EMPTY_IDS",
    "EMPTY_TF",
    "TERM_ARRAYS_EXT",
    "TermArrays",
    "column_bytes",
    "field_lengths",
    "read_positions",
    "read_postings",
    "term_arrays_bytes",
]

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


# -- term arrays: a rebuilt segment's text postings as flat arrays ---------------------------

#: Extension of a segment's term-arrays file (``MAIN_<segment>.tfs``: the name matches Whoosh's
#: segment file pattern, so Whoosh deletes it with its segment).
TERM_ARRAYS_EXT = ".tfs"
_MAGIC = b"MPTERMS1"
_HEAD = struct.Struct("<8sQ")


def term_arrays_bytes(doc_count: int, fields: dict[str, tuple[list[str], list[int], array, array]]) -> bytes:
    """The contents of a term-arrays file: per field, its terms in sorted (code point) order,
    the number of postings of each, and every posting's docnum and weight, term after term.

    Layout: magic, header length, a JSON header (document count; per field the term and posting
    counts, the length of the terms' UTF-8 text and where its arrays start), then per field
    (8-byte aligned) int64 term offsets into the text, int64 posting offsets, uint32 docnums,
    float32 weights and the text.
    """
    layout: dict[str, dict[str, int]] = {}
    parts: list[bytes] = []
    at = 0
    for name, (terms, counts, ids, weights) in fields.items():
        encoded = [t.encode("utf-8") for t in terms]
        text = b"".join(encoded)
        term_offsets = np.zeros(len(terms) + 1, dtype="<i8")
        np.cumsum([len(t) for t in encoded], out=term_offsets[1:])
        post_offsets = np.zeros(len(terms) + 1, dtype="<i8")
        np.cumsum(counts, out=post_offsets[1:])
        chunk = b"".join(
            (
                term_offsets.tobytes(),
                post_offsets.tobytes(),
                np.frombuffer(ids, dtype=np.uint32).astype("<u4").tobytes(),
                np.frombuffer(weights, dtype=np.float32).astype("<f4").tobytes(),
                text,
            )
        )
        chunk += b"\0" * (-len(chunk) % 8)
        layout[name] = {"terms": len(terms), "postings": len(ids), "text": len(text), "at": at}
        parts.append(chunk)
        at += len(chunk)
    header = json.dumps({"docs": doc_count, "fields": layout}).encode("utf-8")
    header += b" " * (-(len(header) + _HEAD.size) % 8)
    return _HEAD.pack(_MAGIC, len(header)) + header + b"".join(parts)


class TermArrays:
    """A segment's term-arrays file (written by the rebuild's segment writer) read in place:
    a posting list is a binary search over the sorted terms and two slices, instead of
    decompressing and unpickling each block of it (with the positions, which the scoring does
    not need): a query's first read of a frequent word cost ~10 ms that way at 50,000 records.
    """

    def __init__(self, buffer: Any) -> None:
        magic, size = _HEAD.unpack_from(buffer, 0)
        if magic != _MAGIC:
            raise ValueError("not a term-arrays file")
        header = json.loads(bytes(buffer[_HEAD.size : _HEAD.size + size]))
        self.doc_count: int = header["docs"]
        self._buffer = buffer
        base = _HEAD.size + size
        self._fields: dict[str, tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, int, int]] = {}
        for name, info in header["fields"].items():
            n, m = info["terms"], info["postings"]
            at = base + info["at"]
            term_offsets = np.frombuffer(buffer, dtype="<i8", count=n + 1, offset=at)
            at += 8 * (n + 1)
            post_offsets = np.frombuffer(buffer, dtype="<i8", count=n + 1, offset=at)
            at += 8 * (n + 1)
            ids = np.frombuffer(buffer, dtype="<u4", count=m, offset=at)
            at += 4 * m
            weights = np.frombuffer(buffer, dtype="<f4", count=m, offset=at)
            at += 4 * m
            self._fields[name] = (term_offsets, post_offsets, ids, weights, at, n)

    @classmethod
    def open(cls, storage: Any, name: str) -> TermArrays | None:
        """The file *name* of *storage*, or ``None`` if there is none (segments written by
        Whoosh's own writer, indexes written before these files existed)."""
        if not storage.file_exists(name):
            return None
        if isinstance(storage, FileStorage):
            with open(os.path.join(storage.folder, name), "rb") as f:
                buffer: Any = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)
        else:
            with storage.open_file(name) as f:
                buffer = f.read()
        return cls(buffer)

    def has_field(self, fieldname: str) -> bool:
        return fieldname in self._fields

    def postings(self, fieldname: str, token: str) -> tuple[np.ndarray, np.ndarray]:
        """What :func:`read_postings` gives for *token* (the field must be in the file)."""
        term_offsets, post_offsets, ids, weights, text_at, n = self._fields[fieldname]
        key = token.encode("utf-8")
        buffer = self._buffer
        lo, hi = 0, n
        while lo < hi:
            mid = (lo + hi) // 2
            if buffer[text_at + int(term_offsets[mid]) : text_at + int(term_offsets[mid + 1])] < key:
                lo = mid + 1
            else:
                hi = mid
        if lo == n or buffer[text_at + int(term_offsets[lo]) : text_at + int(term_offsets[lo + 1])] != key:
            return EMPTY_IDS, EMPTY_TF
        start, end = int(post_offsets[lo]), int(post_offsets[lo + 1])
        return ids[start:end].astype(np.int64), weights[start:end].astype(np.float64)
