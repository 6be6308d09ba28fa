"""Sparse-matrix, encoding and selection helpers of the matcher (NumPy/SciPy only).

* character n-grams as integer codes (:func:`char_codes`, :func:`decode`), so no Python string
  is made per n-gram; count matrices of token lists and code arrays, and their merging across
  the chunks analysed in worker processes;
* :func:`truncate_rows` (each document's strongest features, for feedback and topics);
* top-k selection (:func:`largest`) that avoids a full ``np.argpartition`` over 100k scores.
"""

from __future__ import annotations

from collections import defaultdict
from itertools import chain

import numpy as np
import scipy.sparse as sp

__all__ = [
    "NO_CODES",
    "char_codes",
    "code_matrix",
    "count_matrix",
    "decode",
    "factorize",
    "largest",
    "merge_code_chunks",
    "merge_word_chunks",
    "top_indices",
    "top_k",
    "truncate_rows",
]

NO_CODES = np.zeros(0, dtype=np.int64)
_CP_BITS = 21  # Unicode code points fit in 21 bits


def char_codes(han: str, lo: int, hi: int) -> np.ndarray:
    """Integer codes of the character n-grams (``lo``..``hi`` ≤ 3) of a Chinese-only text.

    *han* is normalised text with every non-Chinese character blanked to a space
    (:func:`~marketplace.text.tokenizer.tokenize_with_han`); n-grams never span a space.
    An n-gram of code points ``c1..cn`` is ``(c1 << 21·(n-1)) | … | cn`` plus a length tag, so
    codes are computed with NumPy, with no Python string per n-gram.
    """
    if not han:
        return NO_CODES
    cp = np.frombuffer(han.encode("utf-32-le"), dtype=np.uint32).astype(np.int64)
    ok = cp != 32
    out = []
    for n in range(lo, min(hi, 3) + 1):
        if cp.size < n:
            break
        m = ok[: cp.size - n + 1].copy()
        code = cp[: cp.size - n + 1].copy()
        for j in range(1, n):
            m &= ok[j : cp.size - n + 1 + j]
            code = (code << _CP_BITS) | cp[j : cp.size - n + 1 + j]
        out.append(code[m] | (n << 63 - 2) if n > 1 else code[m])
    return np.concatenate(out) if out else NO_CODES


def decode(code: int) -> str:
    """The character n-gram behind a code from :func:`char_codes`."""
    n = (code >> 61) & 3 or 1
    code &= (1 << 61) - 1
    chars = []
    for _ in range(n):
        chars.append(chr(code & ((1 << _CP_BITS) - 1)))
        code >>= _CP_BITS
    return "".join(reversed(chars))


def factorize(codes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``np.unique(codes, return_inverse=True)`` via a plain sort and a binary search.

    NumPy's ``return_inverse`` needs an ``argsort`` of all codes, several times slower than
    ``np.sort`` followed by ``searchsorted`` into the (small, cache-resident) distinct codes.
    """
    ordered = np.sort(codes)
    keep = np.empty(ordered.size, dtype=bool)
    keep[:1] = True
    np.not_equal(ordered[1:], ordered[:-1], out=keep[1:])
    distinct = ordered[keep]
    return distinct, np.searchsorted(distinct, codes)


def code_matrix(docs: list[np.ndarray]) -> tuple[np.ndarray, sp.csr_matrix]:
    """Sorted distinct codes and the code-count CSR matrix of *docs* (arrays of codes)."""
    lengths = np.fromiter((d.size for d in docs), dtype=np.int64, count=len(docs))
    if not lengths.sum():
        return NO_CODES, sp.csr_matrix((len(docs), 0), dtype=np.float32)
    codes, cols = factorize(np.concatenate(docs))
    indptr = np.zeros(len(docs) + 1, dtype=np.int64)
    np.cumsum(lengths, out=indptr[1:])
    counts = sp.csr_matrix(
        (np.ones(cols.size, dtype=np.float32), cols.astype(np.int32), indptr),
        shape=(len(docs), codes.size),
        dtype=np.float32,
    )
    counts.sum_duplicates()
    return codes, counts


def remap_columns(counts: sp.csr_matrix, mapping: np.ndarray, n_cols: int) -> sp.csr_matrix:
    """*counts* with column j renamed ``mapping[j]`` in a space of *n_cols* columns."""
    return sp.csr_matrix(
        (counts.data, mapping[counts.indices].astype(np.int32), counts.indptr),
        shape=(counts.shape[0], n_cols),
    )


def merge_word_chunks(chunks: list[tuple[list[str], sp.csr_matrix]]) -> tuple[list[str], sp.csr_matrix]:
    """One vocabulary (first-seen order) and one count matrix from chunk-local ones."""
    vocab: defaultdict[str, int] = defaultdict()
    vocab.default_factory = vocab.__len__
    maps = [
        np.fromiter(map(vocab.__getitem__, words), dtype=np.int64, count=len(words)) for words, _ in chunks
    ]
    n_cols = len(vocab)
    matrix = sp.vstack(
        [remap_columns(counts, m, n_cols) for (_, counts), m in zip(chunks, maps, strict=True)], format="csr"
    )
    return list(vocab), matrix


def merge_code_chunks(chunks: list[tuple[np.ndarray, sp.csr_matrix]]) -> tuple[np.ndarray, sp.csr_matrix]:
    """Sorted distinct codes and one count matrix from chunk-local ones."""
    codes = np.unique(np.concatenate([c for c, _ in chunks])) if chunks else NO_CODES
    matrix = sp.vstack(
        [remap_columns(counts, np.searchsorted(codes, c), codes.size) for c, counts in chunks], format="csr"
    )
    return codes, matrix


def truncate_rows(matrix: sp.csr_matrix, keep: int) -> sp.csr_matrix:
    """Copy of *matrix* keeping only the *keep* largest entries of each row."""
    m = sp.csr_matrix(matrix, copy=True)
    lengths = np.diff(m.indptr)
    if keep <= 0 or lengths.max(initial=0) <= keep:
        return m
    mask = np.ones(m.nnz, dtype=bool)
    for r in np.flatnonzero(lengths > keep):
        lo, hi = m.indptr[r], m.indptr[r + 1]
        drop = np.argpartition(m.data[lo:hi], hi - lo - keep)[: hi - lo - keep]
        mask[lo + drop] = False
    m.data = np.where(mask, m.data, 0).astype(np.float32)
    m.eliminate_zeros()
    return m


def count_matrix(docs: list[list[str]]) -> tuple[list[str], sp.csr_matrix]:
    """Vocabulary (in first-seen order) and term-count CSR matrix of pre-tokenised *docs*.

    Equivalent to ``CountVectorizer(analyzer=lambda d: d)`` up to column order, but several
    times faster: ids are assigned by a C-level ``map`` over all tokens and counts are summed by
    SciPy (``sum_duplicates``) instead of a per-document Python dictionary.
    """
    vocab: defaultdict[str, int] = defaultdict()
    vocab.default_factory = vocab.__len__
    lengths = np.fromiter(map(len, docs), dtype=np.int64, count=len(docs))
    ids = np.fromiter(
        map(vocab.__getitem__, chain.from_iterable(docs)), dtype=np.int32, count=int(lengths.sum())
    )
    indptr = np.zeros(len(docs) + 1, dtype=np.int64)
    np.cumsum(lengths, out=indptr[1:])
    counts = sp.csr_matrix(
        (np.ones(ids.size, dtype=np.float32), ids, indptr), shape=(len(docs), len(vocab)), dtype=np.float32
    )
    counts.sum_duplicates()
    return list(vocab), counts




def largest(scores: np.ndarray, k: int, positive: bool = False) -> np.ndarray:
    """Indices of the *k* largest scores (only positive ones if *positive*), best first (ties:
    lower index first).

    ``np.argpartition`` over 100k scores takes ~1 ms; instead the *k*-th largest of a 1-in-16
    sample (with margin) gives a threshold, and only the documents at or above it are sorted.
    Exact: when at least *k* documents reach the threshold, the top *k* are among them (ties
    included); otherwise all documents are.
    """
    n = scores.shape[0]
    if n == 0 or k <= 0:
        return NO_CODES
    cand = None
    if k < n // 64:
        sample = scores[::16]
        rank = min(sample.size - 1, 2 * (k // 16) + 4)
        threshold = np.partition(sample, sample.size - 1 - rank)[sample.size - 1 - rank]
        if not positive or threshold > 0:
            found = np.flatnonzero(scores >= threshold)
            if found.size >= k:
                cand = found
    if cand is None:
        cand = np.flatnonzero(scores > 0) if positive else np.arange(n)
    if cand.size > k:
        cand = cand[np.argpartition(scores[cand], cand.size - k)[cand.size - k :]]
        # Every score tied with the k-th is a candidate: the lowest indices among them win.
        kth = scores[cand].min()
        tied = np.flatnonzero(scores == kth)
        if tied.size > 1:
            cand = np.union1d(cand[scores[cand] > kth], tied)
    order = np.lexsort((cand, -scores[cand]))[:k]
    return cand[order].astype(np.int64)


def top_indices(scores: np.ndarray, k: int) -> np.ndarray:
    """Indices of the (at most) *k* largest positive scores, best first (ties: lower index first)."""
    return largest(scores, k, positive=True)


def top_k(scores: np.ndarray, k: int) -> list[tuple[int, float]]:
    """Indices and values of the *k* largest scores, best first (ties: lower index first)."""
    top = largest(scores, k)
    return list(zip(top.tolist(), scores[top].astype(np.float64).tolist(), strict=True))
