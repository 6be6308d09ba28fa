"""Okapi BM25 baseline on SciPy sparse matrices, over the project tokeniser's tokens.

Same formula and defaults as ``rank_bm25.BM25Okapi`` (k1=1.5, b=0.75, epsilon=0.25):

* ``idf(t) = ln(N - df + 0.5) - ln(df + 0.5)``; negative idfs are replaced by
  ``epsilon * mean(idf)`` (the mean over the whole vocabulary);
* ``score(q, d) = Σ_{t in q} idf(t) · tf(t,d)·(k1+1) / (tf(t,d) + k1·(1 - b + b·|d|/avgdl))``,
  where a term repeated in the query counts once per occurrence (as in rank-bm25).

The per-document term weights are precomputed into a CSR matrix (terms × documents), so a query
only reads the postings of its own terms.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Sequence

import numpy as np
import scipy.sparse as sp

from marketplace.text.tokenizer import tokenize

__all__ = ["BM25"]


class BM25:
    """Okapi BM25 index over pre-tokenised documents (rank-bm25 compatible scores)."""

    def __init__(self, k1: float = 1.5, b: float = 0.75, epsilon: float = 0.25) -> None:
        """Create an unfitted index with the usual Okapi parameters."""
        self.k1 = k1
        self.b = b
        self.epsilon = epsilon
        self.vocabulary: dict[str, int] = {}
        self.idf: np.ndarray = np.zeros(0)
        self.n_docs = 0
        self.avgdl = 0.0
        self._postings: sp.csr_matrix | None = None

    @classmethod
    def from_texts(
        cls, texts: Iterable[str], analyzer: Callable[[str], list[str]] = tokenize, **params: float
    ) -> BM25:
        """Tokenise *texts* with *analyzer* (the project tokeniser by default) and fit."""
        return cls(**params).fit([analyzer(t) for t in texts])

    def fit(self, corpus: Sequence[Sequence[str]]) -> BM25:
        """Fit on a corpus of token lists; returns ``self``."""
        vocab: dict[str, int] = {}
        rows: list[int] = []
        cols: list[int] = []
        vals: list[int] = []
        lengths = np.zeros(len(corpus), dtype=np.float64)
        for d, tokens in enumerate(corpus):
            lengths[d] = len(tokens)
            for term, count in Counter(tokens).items():
                t = vocab.setdefault(term, len(vocab))
                rows.append(t)
                cols.append(d)
                vals.append(count)
        n_docs = len(corpus)
        tf = sp.csr_matrix(
            (np.asarray(vals, dtype=np.float64), (np.asarray(rows, dtype=np.int64), np.asarray(cols))),
            shape=(len(vocab), n_docs),
        )
        tf.sum_duplicates()
        tf.sort_indices()
        df = np.diff(tf.indptr).astype(np.float64)
        idf = np.log(n_docs - df + 0.5) - np.log(df + 0.5)
        if idf.size:
            eps = self.epsilon * float(idf.mean())
            idf = np.where(idf < 0, eps, idf)
        self.avgdl = float(lengths.mean()) if n_docs else 0.0
        norm = self.k1 * (1.0 - self.b + self.b * lengths / (self.avgdl or 1.0))
        weights = tf.copy()
        doc_norm = norm[weights.indices]
        weights.data = weights.data * (self.k1 + 1.0) / (weights.data + doc_norm)
        weights = sp.diags(idf) @ weights
        self._postings = sp.csr_matrix(weights)
        self.vocabulary = vocab
        self.idf = idf
        self.n_docs = n_docs
        return self

    def get_scores(self, query: Sequence[str]) -> np.ndarray:
        """BM25 score of every document for the token list *query* (like rank-bm25)."""
        if self._postings is None:
            raise RuntimeError("BM25 index is not fitted")
        counts = Counter(t for t in query if t in self.vocabulary)
        if not counts:
            return np.zeros(self.n_docs)
        ids = np.fromiter((self.vocabulary[t] for t in counts), dtype=np.int64, count=len(counts))
        mult = np.fromiter(counts.values(), dtype=np.float64, count=len(counts))
        sub = self._postings[ids]
        weights = sub.data * np.repeat(mult, np.diff(sub.indptr))
        return np.bincount(sub.indices, weights=weights, minlength=self.n_docs)

    def top_k(self, query: Sequence[str], k: int = 10) -> list[tuple[int, float]]:
        """The *k* best ``(document index, score)`` pairs, best first (ties: lower index first)."""
        scores = self.get_scores(query)
        return _top_k(scores, k)


def _top_k(scores: np.ndarray, k: int) -> list[tuple[int, float]]:
    n = scores.shape[0]
    if n == 0 or k <= 0:
        return []
    if k < n:
        part = np.argpartition(-scores, k - 1)[:k]
    else:
        part = np.arange(n)
    order = part[np.lexsort((part, -scores[part]))]
    return [(int(i), float(scores[i])) for i in order]
