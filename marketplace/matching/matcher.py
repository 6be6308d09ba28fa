"""TF-IDF matcher with a topic factor and explainable signals (pure Python + NumPy/SciPy/scikit-learn).

Text model
----------
A document (a firm profile or a scenario) is a set of named text fields.  Every field is cut into
paragraphs ("parts": each case description, each paragraph of free text, the joined tags...).
A scenario's exclusion clauses (不包括 / 不含 / 不涉及 / 不属于 … / … 除外) are removed first: what
the owner says is not wanted is no demand (:func:`marketplace.matching.terms.strip_exclusions`).
Two TF-IDF spaces are built, both with sublinear tf, smoothed idf (scikit-learn's
``TfidfTransformer``, the weighting step of ``TfidfVectorizer``) and l2 normalisation:

* **words** from the project tokeniser (jieba + domain dictionary + compound components), only
  meaningful ones: no stopword (stopwords-iso's Chinese list, the tokeniser's and the platform's
  boilerplate list), number, date, unit or single character
  (:func:`marketplace.matching.terms.is_meaningful`), and no word found in more than half of the
  fitted documents or of the query-side corpus (the other side's documents, when given):
  data-derived boilerplate (``boilerplate_df`` = 0.8);
* **characters**: Chinese character 1–2-grams, which catch what segmentation misses (unknown
  words, different splits of the same compound), encoded as integers with NumPy
  (:mod:`marketplace.matching.sparse`).  They count for recall but are never shown as reasons.

Each paragraph vector is l2-normalised, multiplied by its **field weight**
(:data:`DEFAULT_FIRM_FIELD_WEIGHTS`, :data:`DEFAULT_SCENARIO_FIELD_WEIGHTS`: what must be built
weighs more than the background narrative) and the paragraphs are summed and normalised again.
(Document frequencies count documents, not paragraphs.)  The two spaces are concatenated with
weights ``sqrt(α)``, ``sqrt(1-α)`` so that a dot product is ``α·cos_words + (1-α)·cos_chars``.
Character n-grams found in more than half of the documents are dropped (``char_max_df``).
Paragraphs shorter than 20 words weigh less (× sqrt(n/20)).  Queries are built exactly like
documents, then expanded once by **pseudo-relevance feedback** (Rocchio): the score-weighted
centroid of the top 5 documents (their 40 strongest terms) is added with weight 0.5.

**Topic factor.**  Latent topics (LSA: a truncated SVD of the document vectors, 64 dimensions or
one per 16 documents if fewer, fitted on a sample of at most 4,000 documents) re-rank the 100
best documents by words:
``text score = word score × (1 + β·cos⁺²) / (1 + β)`` with β = 16, where cos is the cosine of the
query's and the document's topic vectors.  Shared words decide who is considered; the topic
factor prefers, among them, those about the same kind of work.  Corpora under 200 documents
have no topic model (factor 1).

**Neighbour agreement.**  Relevant documents come in groups (firms doing the same kind of work
fit the same scenarios), a chance match comes alone.  Among the same candidates, each document's
score is multiplied by ``(1 + μ·min(1, n/t)) / (1 + μ)`` with μ = 16, where t is its own score and n
the topic-cosine-weighted mean score of its 10 nearest candidates in topic space
(:meth:`Matcher.neighbour_factors`): it keeps its score when its neighbours fit the query as
well, and loses up to μ/(1+μ) of it when they do not.  Then **topic feedback**: the query's
topic vector is moved towards the topic vectors of the 3 best candidates so ranked (their
score-weighted centroid, unit length, weight 1) and both factors are computed again with it
(:meth:`Matcher.agreement_factors`).  The factors make up ``topic``, so
``text score = word score × topic`` still holds.

Defaults were chosen because each helps on the development set *and* on restructured copies of
it (:func:`marketplace.matching.evaluation.restructure`: one paragraph per sentence, one
paragraph per firm, named fields, no titles, shuffled sentences, added exclusion clauses):
nDCG@10 0.475 on the development set (0.439–0.478 on the copies) against 0.370 for BM25 on the
same tokens.  Nothing is tied to that data set's categories.

Search
------
The fitted matrix is kept in inverted form: CSR of ``Xᵀ``, one row of postings per feature.  A
query slices out the postings of its non-zero features and accumulates them in compiled code
(SciPy sparse × vector); :func:`marketplace.matching.sparse.largest` selects the top k.
:meth:`Matcher.top_k_naive` (``X @ q`` over every row) is kept for the benchmark and the tests.
With ≥ 1000 documents, the features found in more than 10 % of them (the longest postings, of
little weight each) are skipped when choosing the feedback documents, and added from a small
row-major copy (``_common_rows``) for the 500 best documents only (:meth:`Matcher._best_by_words`).
Feedback and topics use a per-document copy of each document's 64 strongest features.

Signals and reasons
-------------------
The final score multiplies the text score by ``1 + Σ boosts``, so a firm with no textual overlap
is never suggested for its signals alone; each signal's contribution is ``text_score · boost``,
so ``score = text_score + Σ contributions`` exactly.  Signals: same domain, same district (local
firms first), verified qualifications and accepted projects (both on a capped log scale), with
weights from a plain dict (:data:`DEFAULT_WEIGHTS`; the web app passes its config).  Each
suggestion carries up to six shared words of the query with their share of the text score (the
word feature plus the character n-grams inside it): :meth:`Matcher._explain`.
"""

from __future__ import annotations

import math
import multiprocessing as mp
import os
import re
import sys
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import scipy.sparse as sp
from sklearn.feature_extraction.text import TfidfTransformer
from sklearn.preprocessing import normalize
from sklearn.utils.extmath import randomized_svd

from marketplace.matching.sparse import (
    NO_CODES,
    char_codes,
    code_matrix,
    count_matrix,
    decode,
    merge_code_chunks,
    merge_word_chunks,
    top_indices,
    top_k,
    truncate_rows,
)
from marketplace.matching.terms import meaningful_mask, strip_exclusions
from marketplace.text.tokenizer import tokenize, tokenize_with_han

__all__ = [
    "DEFAULT_FIRM_FIELD_WEIGHTS",
    "DEFAULT_SCENARIO_FIELD_WEIGHTS",
    "DEFAULT_WEIGHTS",
    "MODEL_FORMAT",
    "SIGNAL_LABELS",
    "FirmProfile",
    "Matcher",
    "MatcherOptions",
    "ScenarioDoc",
    "Suggestion",
]

#: Version of what a fitted model holds; bump it when that changes, so that model files saved by
#: older code are refitted instead of loaded (:mod:`marketplace.matching.freshness`).  A model keeps
#: the options it was fitted with, so a changed default counts too (3: topic weight β 8 → 16; 4: neighbour
#: agreement; 5: topic feedback).
MODEL_FORMAT = 5

#: Signal weights (boost factors) and caps; override any key through ``weights=``.
DEFAULT_WEIGHTS: dict[str, float] = {
    "same_domain": 0.15,
    "same_district": 0.10,
    "qualifications": 0.10,
    "qualifications_cap": 5,
    "accepted_projects": 0.10,
    "accepted_projects_cap": 5,
}

def N_(text: str) -> str:
    """Marks a message for extraction; it is translated where it is shown (``_(label)`` in templates)."""
    return text


#: Chinese labels of the signals, for explanations shown to users (translated in the templates).
SIGNAL_LABELS: dict[str, str] = {
    "same_domain": N_("同一领域"),
    "same_district": N_("同一区县（本地企业优先）"),
    "qualifications": N_("已核验资质"),
    "accepted_projects": N_("已验收项目"),
}

#: Weight of each firm field's (unit-length) paragraph vectors in the firm vector.  Every case
#: description is its own part; list fields (domains, tags, case titles) are one part each.
DEFAULT_FIRM_FIELD_WEIGHTS: dict[str, float] = {
    "name": 0.3,
    "business_scope": 1.0,
    "capabilities": 1.0,
    "domains": 0.5,
    "tags": 0.5,
    "case_titles": 0.5,
    "case_descriptions": 1.0,
    "text": 1.0,
}

#: Weight of each scenario field's paragraph vectors in the scenario vector.  What must be built
#: (title, 技术要求, 建设边界, 验收标准) weighs most; the background narrative and the expected
#: outcomes say why, and weigh less; ``text`` is free text of unknown structure.
DEFAULT_SCENARIO_FIELD_WEIGHTS: dict[str, float] = {
    "title": 0.5,
    "summary": 0.7,
    "domains": 0.3,
    "text": 1.0,
    "requirements": 1.0,
    "boundary": 1.0,
    "acceptance": 0.7,
    "description": 0.5,
    "outcomes": 0.4,
}


_PARA_RE = re.compile(r"[\r\n\u2028\u2029]+")
_NON_HAN_RE = re.compile("[^\u3007\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0003134f]")


def _join(value: str | Sequence[str] | None) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    return "；".join(str(v).strip() for v in value if v)


def _codes(value: Iterable[Any] | str | None) -> frozenset[str]:
    if value is None:
        return frozenset()
    if isinstance(value, str):
        return frozenset([value]) if value else frozenset()
    return frozenset(str(v) for v in value if v is not None and v != "")


@dataclass
class FirmProfile:
    """A firm as seen by the matcher: text fields plus signal metadata."""

    id: Any
    name: str = ""
    business_scope: str = ""
    capabilities: str = ""
    domains: Sequence[str] = ()
    tags: Sequence[str] = ()
    case_titles: Sequence[str] = ()
    case_descriptions: Sequence[str] = ()
    text: str = ""
    domain_codes: Iterable[str] = ()
    district_code: str | None = None
    verified_qualifications: int = 0
    accepted_projects: int = 0

    kind = "firm"

    def text_fields(self) -> dict[str, str | list[str]]:
        """The firm's text, by field name (see :data:`DEFAULT_FIRM_FIELD_WEIGHTS`)."""
        return {
            "name": self.name or "",
            "business_scope": self.business_scope or "",
            "capabilities": self.capabilities or "",
            "domains": _join(self.domains),
            "tags": _join(self.tags),
            "case_titles": _join(self.case_titles),
            "case_descriptions": [str(c) for c in self.case_descriptions if c],
            "text": self.text or "",
        }

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any]) -> FirmProfile:
        """Build from a dict with (a subset of) the attribute names; unknown keys are ignored."""
        known = {k: data[k] for k in cls.__dataclass_fields__ if k in data}
        return cls(**known)


@dataclass
class ScenarioDoc:
    """A scenario as seen by the matcher: title, text fields, domain and district.

    The site fills the named fields (what must be built: ``requirements`` 技术要求, ``boundary``
    建设边界, ``acceptance`` 验收标准; why: ``description`` background, ``outcomes``); ``text`` is
    free text of unknown structure (offline evaluation sets, API callers).
    """

    id: Any
    title: str = ""
    text: str = ""
    requirements: str = ""
    summary: str = ""
    description: str = ""
    boundary: str = ""
    acceptance: str = ""
    outcomes: str = ""
    domains: Sequence[str] = ()
    domain_codes: Iterable[str] = ()
    district_code: str | None = None

    kind = "scenario"

    def text_fields(self) -> dict[str, str | list[str]]:
        """The scenario's text, by field name (see :data:`DEFAULT_SCENARIO_FIELD_WEIGHTS`)."""
        return {
            "title": self.title or "",
            "summary": self.summary or "",
            "domains": _join(self.domains),
            "text": self.text or "",
            "description": self.description or "",
            "boundary": self.boundary or "",
            "requirements": self.requirements or "",
            "acceptance": self.acceptance or "",
            "outcomes": self.outcomes or "",
        }

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any]) -> ScenarioDoc:
        """Build from a dict with (a subset of) the attribute names; unknown keys are ignored."""
        known = {k: data[k] for k in cls.__dataclass_fields__ if k in data}
        return cls(**known)


Query = str | FirmProfile | ScenarioDoc | Mapping[str, Any]


@dataclass
class Suggestion:
    """One ranked result with its explanation.

    ``score = text_score + Σ contribution`` over ``signals``; ``terms`` are the words shared by
    the query (before feedback expansion) and the document that weighed most, as ``(term, share
    of the text score)``, best first; ``signals`` are ``(name, Chinese label, contribution)``,
    e.g. ``("same_district", "同一区县（本地企业优先）", 0.07)``.
    """

    id: Any
    score: float
    text_score: float
    terms: list[tuple[str, float]] = field(default_factory=list)
    signals: list[tuple[str, str, float]] = field(default_factory=list)
    #: ``text_score = word_score × topic``: the shared-words cosine and the topic agreement factor
    #: (topic factor × neighbour factor, see :meth:`Matcher.neighbour_factors`).
    word_score: float = 0.0
    topic: float = 1.0


@dataclass(frozen=True)
class MatcherOptions:
    """Text-model options fixed at fit time (the defaults were chosen to generalise)."""

    #: Share of the word space in the text score (the rest goes to character n-grams).
    word_weight: float = 0.3
    char_ngram_range: tuple[int, int] = (1, 2)
    #: Features found in more than this share of documents are dropped (only when fitting on
    #: ≥ 1000 documents): they weigh almost nothing but have the longest postings.
    word_max_df: float = 0.5
    char_max_df: float = 0.5
    sublinear_tf: bool = True
    #: Paragraphs with fewer word tokens weigh less (× sqrt(n / this)); 0 disables.
    short_part_tokens: int = 20
    #: Pseudo-relevance feedback: documents used (0 disables), expansion weight, terms kept.
    prf_docs: int = 5
    prf_weight: float = 0.5
    prf_terms: int = 40
    #: The feedback documents are found from the query's features in at most this share of the
    #: documents (only with ≥ 1000 documents).
    prf_max_df: float = 0.1
    #: With a topic model and ≥ 1000 documents, the pass over all documents reads the postings of
    #: the query's features in at most this share of documents; the others are added for the
    #: ``score_pool`` best documents only (see :meth:`Matcher._best_by_words`).
    score_max_df: float = 0.1
    score_pool: int = 500
    #: Terms kept per document for feedback (the strongest ones), so no row-major copy is needed.
    prf_doc_terms: int = 64
    firm_field_weights: Mapping[str, float] | None = None
    scenario_field_weights: Mapping[str, float] | None = None
    #: Drop stopwords, numbers/dates/units and single characters from the word space
    #: (:func:`marketplace.matching.terms.is_meaningful`).
    meaningful_terms: bool = True
    #: Words found in more than this share of the fitted documents, or of the query-side corpus
    #: given to ``fit_*(query_corpus=...)``, are boilerplate and not features (each corpus counts
    #: only with at least ``boilerplate_min_docs`` documents).  Lower shares drop words that still
    #: tell domains apart (数据 in a city whose scenarios are mostly about data).
    boilerplate_df: float = 0.8
    boilerplate_min_docs: int = 50
    #: Features found in fewer documents than this are dropped (they cannot relate two documents).
    min_df: int = 1
    #: Remove exclusion clauses (不包括 / 不含 / … 除外) from scenario texts before analysis.
    strip_exclusions: bool = True
    #: Topic agreement (latent semantic analysis): dimensions (0 disables; at most one per
    #: ``topic_docs_per_dim`` documents), the least number of fitted documents, the documents
    #: sampled to find the topics, the candidates (best by words) it re-ranks, and the factor's
    #: weight β and power p: text = words × (1 + β·cos⁺ᵖ) / (1 + β).
    topic_dims: int = 64
    topic_docs_per_dim: int = 16
    topic_min_docs: int = 200
    topic_sample: int = 4000
    topic_candidates: int = 100
    topic_weight: float = 16.0
    topic_power: float = 2.0
    #: Neighbour agreement (cluster hypothesis): among the candidates the topic factor re-ranks,
    #: each document's text score is multiplied by ``(1 + μ·min(1, n/t)) / (1 + μ)``, where t is its
    #: own text score and n the topic-similarity-weighted mean text score of its
    #: ``neighbour_count`` nearest candidates in topic space; μ = ``neighbour_weight`` (0 disables).
    neighbour_weight: float = 16.0
    neighbour_count: int = 10
    #: Topic feedback: the query's topic vector is moved towards the topic vectors of the
    #: ``topic_feedback_docs`` best candidates after both factors (their score-weighted centroid,
    #: unit length, × ``topic_feedback_weight``), and the factors are computed again (0 disables;
    #: :meth:`Matcher.agreement_factors`).
    topic_feedback_docs: int = 3
    topic_feedback_weight: float = 1.0

    def field_weights(self, kind: str) -> Mapping[str, float]:
        """Field weights for documents of *kind* (``"firm"`` or ``"scenario"``)."""
        if kind == "firm":
            return self.firm_field_weights or DEFAULT_FIRM_FIELD_WEIGHTS
        return self.scenario_field_weights or DEFAULT_SCENARIO_FIELD_WEIGHTS


_PARALLEL_MIN_DOCS = 5000
_MAX_DF_MIN_DOCS = 1000
#: One analysed paragraph: (field weight, word tokens, character n-gram codes).
_Part = tuple[float, list[str], np.ndarray]
#: An analysed chunk of documents, see :meth:`Matcher._analyse_chunk`.
_Chunk = tuple[int, np.ndarray, np.ndarray, list[str], sp.csr_matrix, np.ndarray, sp.csr_matrix]


def _as_doc(obj: Query, default_kind: str) -> FirmProfile | ScenarioDoc:
    if isinstance(obj, FirmProfile | ScenarioDoc):
        return obj
    if isinstance(obj, str):
        return (
            ScenarioDoc(id=None, text=obj) if default_kind == "scenario" else FirmProfile(id=None, text=obj)
        )
    kind = obj.get("kind", default_kind)
    if kind == "firm":
        return FirmProfile.from_mapping(obj)
    return ScenarioDoc.from_mapping(obj)


def _signal_scale(count: int, cap: float) -> float:
    if count <= 0 or cap <= 0:
        return 0.0
    return min(1.0, math.log1p(count) / math.log1p(cap))


class Matcher:
    """A fitted TF-IDF model over firms or scenarios, answering top-k queries with explanations.

    Build with :meth:`fit_firms` (scenario → firms) or :meth:`fit_scenarios` (firm → scenarios
    and scenario → similar scenarios).  Instances pickle compactly (postings + vocabulary).
    """

    def __init__(self, options: MatcherOptions | None = None) -> None:
        """Create an unfitted matcher with *options* (defaults: :class:`MatcherOptions`)."""
        self.options = options or MatcherOptions()
        self.kind: Literal["firm", "scenario"] = "firm"
        self.ids: list[Any] = []
        self._id_index: dict[Any, int] = {}
        self.terms: list[str] = []  # word feature id → term
        #: Words dropped as data-derived boilerplate at fit time (see ``MatcherOptions.boilerplate_df``).
        self.boilerplate: list[str] = []
        self._vocab: dict[str, int] = {}
        self.char_codes: np.ndarray = np.zeros(0, dtype=np.int64)  # sorted; feature = n_word + position
        self._prf_rows: sp.csr_matrix | None = None
        self.n_word_features = 0
        self.idf = np.zeros(0, dtype=np.float32)
        self.postings: sp.csr_matrix = sp.csr_matrix((0, 0), dtype=np.float32)
        self.district: np.ndarray = np.zeros(0, dtype=np.int32)
        self._district_codes: dict[str, int] = {}
        self.domains: sp.csr_matrix = sp.csr_matrix((0, 0), dtype=np.int8)
        self._domain_codes: dict[str, int] = {}
        self.qualifications: np.ndarray = np.zeros(0, dtype=np.int32)
        self.projects: np.ndarray = np.zeros(0, dtype=np.int32)
        self._rows: sp.csr_matrix | None = None
        #: Topic model: sorted feature ids it knows, their topic vectors, unit topic vectors of the
        #: documents (``None`` when the corpus is too small or topics are off).
        self.topic_features: np.ndarray | None = None
        self.topic_basis: np.ndarray | None = None
        self.topic_docs: np.ndarray | None = None
        #: Features of more than ``score_max_df`` of the documents, and a row-major copy of the
        #: document vectors restricted to them (see :meth:`_best_by_words`).
        self._common_features: np.ndarray | None = None
        self._common_rows: sp.csr_matrix | None = None

    # ------------------------------------------------------------------ fitting
    @classmethod
    def fit_firms(
        cls,
        firms: Iterable[FirmProfile | Mapping[str, Any]],
        options: MatcherOptions | None = None,
        n_jobs: int = 1,
        query_corpus: Iterable[ScenarioDoc | Mapping[str, Any]] = (),
    ) -> Matcher:
        """Fit on firm profiles (for scenario → firms suggestions).

        ``n_jobs > 1`` (or ``-1`` for all CPUs) tokenises in forked worker processes when the
        corpus is large; the result is identical.  *query_corpus* (the scenarios that will be
        asked) only serves to find boilerplate words: those in most scenarios are no features.
        """
        docs = [f if isinstance(f, FirmProfile) else FirmProfile.from_mapping(f) for f in firms]
        queries = [q if isinstance(q, ScenarioDoc) else ScenarioDoc.from_mapping(q) for q in query_corpus]
        return cls(options)._fit(docs, "firm", n_jobs, queries)

    @classmethod
    def fit_scenarios(
        cls,
        scenarios: Iterable[ScenarioDoc | Mapping[str, Any]],
        options: MatcherOptions | None = None,
        n_jobs: int = 1,
        query_corpus: Iterable[FirmProfile | Mapping[str, Any]] = (),
    ) -> Matcher:
        """Fit on scenarios (for firm → scenarios and scenario → near-duplicate scenarios).

        *query_corpus* (firm profiles) only serves to find boilerplate words, as in :meth:`fit_firms`.
        """
        docs = [s if isinstance(s, ScenarioDoc) else ScenarioDoc.from_mapping(s) for s in scenarios]
        queries = [q if isinstance(q, FirmProfile) else FirmProfile.from_mapping(q) for q in query_corpus]
        return cls(options)._fit(docs, "scenario", n_jobs, queries)

    def _analyse(self, doc: FirmProfile | ScenarioDoc) -> list[_Part]:
        """The weighted parts of *doc*: ``(weight, word tokens, character n-gram codes)``.

        Each text field is split into paragraphs (non-empty lines); list fields give one part
        per item for case descriptions and one joined part otherwise.  A scenario's exclusion
        clauses are removed first (:func:`~marketplace.matching.terms.strip_exclusions`).
        """
        lo, hi = self.options.char_ngram_range
        use_chars = self.options.word_weight < 1.0
        parts: list[_Part] = []
        for w, item in self._field_texts(doc):
            for para in _PARA_RE.split(item):
                if not para or para.isspace():
                    continue
                words, han = tokenize_with_han(para)
                chars = char_codes(han, lo, hi) if use_chars else NO_CODES
                if words or chars.size:
                    short = self.options.short_part_tokens
                    scale = min(1.0, math.sqrt(len(words) / short)) if short > 0 else 1.0
                    parts.append((w * scale, words, chars))
        return parts

    def _field_texts(self, doc: FirmProfile | ScenarioDoc) -> list[tuple[float, str]]:
        """``(field weight, text)`` of every non-empty text item of *doc* with a positive weight."""
        weights = self.options.field_weights(doc.kind)
        strip = self.options.strip_exclusions and doc.kind == "scenario"
        out: list[tuple[float, str]] = []
        for name, value in doc.text_fields().items():
            w = float(weights.get(name, 1.0))
            if w <= 0 or not value:
                continue
            for item in [value] if isinstance(value, str) else value:
                text = strip_exclusions(item) if strip else item
                if text and not text.isspace():
                    out.append((w, text))
        return out

    def _query_side_df(self, queries: Sequence[FirmProfile | ScenarioDoc]) -> dict[str, int]:
        """Document frequency of each word in the query-side corpus *queries*."""
        df: defaultdict[str, int] = defaultdict(int)
        for doc in queries:
            words: set[str] = set()
            for _w, text in self._field_texts(doc):
                words.update(tokenize(text))
            for word in words:
                df[word] += 1
        return df

    def _analyse_chunk(self, docs: list[FirmProfile | ScenarioDoc]) -> _Chunk:
        """Analyse *docs* into chunk-local count matrices (run in a worker process or inline).

        Returns the number of documents, the owner (document index within the chunk) and field
        weight of every part, and
        for each space a chunk-local vocabulary with a parts × vocabulary count matrix.  Only
        NumPy arrays and one short list of words cross the process boundary, and the per-token
        work (dictionary look-ups, sorting n-gram codes, summing duplicates) happens here, in
        parallel, not in the parent.
        """
        owners: list[int] = []
        weights: list[float] = []
        words: list[list[str]] = []
        chars: list[np.ndarray] = []
        for i, doc in enumerate(docs):
            for w, tokens, codes in self._analyse(doc):
                owners.append(i)
                weights.append(w)
                words.append(tokens)
                chars.append(codes)
        word_vocab, word_counts = count_matrix(words)
        char_vocab, char_counts = code_matrix(chars)
        return (
            len(docs),
            np.asarray(owners, dtype=np.int64),
            np.asarray(weights, dtype=np.float32),
            word_vocab,
            word_counts,
            char_vocab,
            char_counts,
        )

    def _analyse_all(self, docs: list[FirmProfile | ScenarioDoc], n_jobs: int) -> list[_Chunk]:
        """:meth:`_analyse_chunk` over the corpus, in forked worker processes if worthwhile."""
        jobs = (os.cpu_count() or 1) if n_jobs < 0 else n_jobs
        if jobs <= 1 or len(docs) < _PARALLEL_MIN_DOCS or "fork" not in mp.get_all_start_methods():
            return [self._analyse_chunk(docs)]
        size = -(-len(docs) // (jobs * 4))
        chunks = [docs[i : i + size] for i in range(0, len(docs), size)]
        with ProcessPoolExecutor(max_workers=jobs, mp_context=mp.get_context("fork")) as pool:
            return list(pool.map(self._analyse_chunk, chunks))

    def _fit(
        self,
        docs: list[FirmProfile | ScenarioDoc],
        kind: Literal["firm", "scenario"],
        n_jobs: int = 1,
        queries: Sequence[FirmProfile | ScenarioDoc] = (),
    ) -> Matcher:
        self.kind = kind
        self.ids = [d.id for d in docs]
        self._id_index = {doc_id: i for i, doc_id in enumerate(self.ids)}
        chunks = self._analyse_all(docs, n_jobs)
        # Chunks cover consecutive documents; a chunk's owners are chunk-local document indices.
        doc_base = np.cumsum([0] + [c[0] for c in chunks[:-1]])
        owners = np.concatenate([c[1] + base for c, base in zip(chunks, doc_base, strict=True)])
        part_weights = np.concatenate([c[2] for c in chunks])
        n_docs, n_parts = len(docs), owners.size
        # docs × parts incidence: sums paragraph rows into document rows.
        agg = sp.csr_matrix(
            (np.ones(n_parts, dtype=np.float32), (owners, np.arange(n_parts))), shape=(n_docs, n_parts)
        )
        alpha = self.options.word_weight
        blocks: list[sp.csr_matrix] = []
        idfs: list[np.ndarray] = []
        self.terms = []
        self.char_codes = np.zeros(0, dtype=np.int64)
        for space, share in ((1, alpha), (2, 1.0 - alpha)):
            if share <= 0 or n_parts == 0:
                continue
            if space == 1:
                self.terms, counts = merge_word_chunks([(c[3], c[4]) for c in chunks])
            else:
                self.char_codes, counts = merge_code_chunks([(c[5], c[6]) for c in chunks])
            if counts.shape[1] == 0:
                continue
            doc_counts = agg @ counts
            df = np.bincount(doc_counts.indices, minlength=doc_counts.shape[1])
            keep = self._kept_features(space, df, n_docs, queries)
            if keep is not None:
                kept = np.flatnonzero(keep)
                if space == 1:
                    self.terms = [self.terms[j] for j in kept.tolist()]
                else:
                    self.char_codes = self.char_codes[kept]
                counts, doc_counts = counts[:, kept], doc_counts[:, kept]
            # idf from whole documents (document frequency counts firms, not paragraphs) ...
            transformer = TfidfTransformer(sublinear_tf=self.options.sublinear_tf)
            transformer.fit(doc_counts)
            # ... applied to every paragraph: sublinear tf × idf, l2-normalised.
            blocks.append(transformer.transform(counts) * np.float32(math.sqrt(share)))
            idfs.append(transformer.idf_.astype(np.float32))
        self.n_word_features = len(self.terms)
        n_features = self.n_word_features + self.char_codes.size
        if blocks:
            parts = sp.hstack(blocks, format="csr", dtype=np.float32)
            weighted = sp.csr_matrix(
                (part_weights, (owners, np.arange(n_parts))), shape=(n_docs, n_parts), dtype=np.float32
            )
            matrix = normalize(weighted @ parts, norm="l2", copy=False).astype(np.float32)
        else:
            matrix = sp.csr_matrix((n_docs, n_features), dtype=np.float32)
        self._build_vocabs()
        self.idf = np.concatenate(idfs) if idfs else np.zeros(0, dtype=np.float32)
        self._prf_rows = (
            truncate_rows(matrix, self.options.prf_doc_terms) if self.options.prf_docs > 0 else None
        )
        self.postings = self._compact(sp.csr_matrix(matrix.T))
        self._rows = None
        self._fit_topics(matrix)
        self._common_features = self._common_rows = None
        if self.topic_docs is not None and self.options.score_max_df < 1.0 and n_docs >= _MAX_DF_MIN_DOCS:
            df = np.diff(self.postings.indptr)
            common = np.flatnonzero(df > self.options.score_max_df * n_docs)
            if common.size:
                self._common_features = common.astype(np.int64)
                self._common_rows = sp.csr_matrix(matrix[:, common], dtype=np.float32)
        self._fit_signals(docs)
        return self

    def _fit_topics(self, matrix: sp.csr_matrix) -> None:
        """Latent topics (truncated SVD of the document vectors, i.e. LSA) for the topic factor.

        The basis is found on a fixed-seed sample of at most ``topic_sample`` documents (a few
        thousand documents show the topics of a corpus; fitting on all would cost minutes at
        100k firms); every document is then projected from its strongest terms (the feedback
        rows), and queries from their own terms.
        """
        opts = self.options
        self.topic_features = self.topic_basis = self.topic_docs = None
        n = matrix.shape[0]
        if opts.topic_dims <= 0 or opts.topic_weight <= 0 or n < max(opts.topic_min_docs, 8):
            return
        rng = np.random.default_rng(0)
        sample = matrix if n <= opts.topic_sample else matrix[np.sort(rng.choice(n, opts.topic_sample, replace=False))]
        # Features of at least two sampled documents: a feature of one document relates nothing.
        df = np.bincount(sample.indices, minlength=sample.shape[1])
        cols = np.flatnonzero(df >= 2)
        dims = min(opts.topic_dims, n // max(opts.topic_docs_per_dim, 1), cols.size - 1)
        if dims < 2:
            return
        _u, _s, vt = randomized_svd(sample[:, cols], dims, n_iter=4, random_state=0)
        basis = np.ascontiguousarray(vt.T, dtype=np.float32)
        position = np.full(matrix.shape[1], -1, dtype=np.int64)
        position[cols] = np.arange(cols.size)
        rows = self._prf_rows if self._prf_rows is not None else truncate_rows(matrix, opts.prf_doc_terms)
        mapped = position[rows.indices]
        known = mapped >= 0
        row_of = np.repeat(np.arange(n), np.diff(rows.indptr))
        local = sp.csr_matrix((rows.data[known], (row_of[known], mapped[known])), shape=(n, cols.size))
        docs = np.asarray(local @ basis, dtype=np.float32)
        docs /= np.maximum(np.linalg.norm(docs, axis=1, keepdims=True), 1e-9)
        self.topic_features = cols.astype(np.int32)
        self.topic_basis = basis
        self.topic_docs = docs

    def topic_vector(self, idx: np.ndarray, weights: np.ndarray) -> np.ndarray | None:
        """Unit topic vector of the query ``(idx, weights)`` (``None``: no topic model or no known term)."""
        if self.topic_features is None or self.topic_basis is None or not idx.size:
            return None
        pos = np.searchsorted(self.topic_features, idx)
        pos[pos >= self.topic_features.size] = 0
        known = self.topic_features[pos] == idx
        if not known.any():
            return None
        vec = weights[known].astype(np.float32) @ self.topic_basis[pos[known]]
        norm = float(np.linalg.norm(vec))
        return vec / norm if norm > 0 else None

    def topic_factors(self, docs: np.ndarray, topic: np.ndarray | None) -> np.ndarray:
        """``(1 + β·max(0, cos)ᵖ) / (1 + β)`` for documents *docs*: 1 for full topic agreement,
        ``1/(1+β)`` for none (all 1 without a topic model)."""
        if topic is None or self.topic_docs is None or not docs.size:
            return np.ones(docs.size)
        beta = self.options.topic_weight
        # float32 products of unit vectors may exceed 1 by a rounding error: clip to the cosine's range
        cos = np.clip(self.topic_docs[docs] @ topic, 0.0, 1.0).astype(np.float64)
        return (1.0 + beta * cos**self.options.topic_power) / (1.0 + beta)

    def agreement_factors(self, docs: np.ndarray, words: np.ndarray, topic: np.ndarray | None) -> np.ndarray:
        """Topic factor × neighbour factor of the candidates *docs* with word scores *words*.

        With ``topic_feedback_docs`` > 0 the query's topic vector is then moved towards the topic
        vectors of the best candidates so ranked (their text-score-weighted centroid, unit length,
        times ``topic_feedback_weight``) and both factors are computed again with it: feedback in
        topic space, after the re-ranking has put better documents first than the words alone
        (:meth:`_feedback` expands the query from the best documents by words).
        """
        sim = self._neighbour_similarities(docs)
        factor = self.topic_factors(docs, topic)
        factor *= self.neighbour_factors(docs, words * factor, sim)
        fb = min(self.options.topic_feedback_docs, docs.size)
        if topic is None or self.topic_docs is None or fb <= 0 or self.options.topic_feedback_weight <= 0:
            return factor
        text = words * factor
        best = np.lexsort((docs, -text))[:fb]
        centroid = np.einsum("i,ik->k", text[best], self.topic_docs[docs[best]].astype(np.float64))
        norm = float(np.linalg.norm(centroid))
        if norm <= 0:
            return factor
        moved = topic.astype(np.float64) + centroid * (self.options.topic_feedback_weight / norm)
        moved = (moved / max(float(np.linalg.norm(moved)), 1e-12)).astype(np.float32)
        factor = self.topic_factors(docs, moved)
        factor *= self.neighbour_factors(docs, words * factor, sim)  # same candidates, same neighbours
        return factor

    def neighbour_factors(self, docs: np.ndarray, text: np.ndarray, sim: np.ndarray | None = None) -> np.ndarray:
        """Neighbour agreement ``(1 + μ·min(1, n/t)) / (1 + μ)`` of the candidates *docs* with text
        scores *text* (t).

        n is the mean text score of a candidate's ``neighbour_count`` nearest other candidates in
        topic space, weighted by their topic cosine.  A candidate whose close neighbours fit the
        query at least as well keeps its score; an isolated one (it shares a few words with the
        query by chance, its kind of work does not) loses up to ``μ/(1+μ)`` of it.  All 1 without
        a topic model, with μ = 0 or with fewer than three candidates.  *sim* is
        :meth:`_neighbour_similarities` of *docs*, when already computed.
        """
        mu = self.options.neighbour_weight
        if sim is None:
            sim = self._neighbour_similarities(docs)
        if mu <= 0 or sim is None:
            return np.ones(docs.size)
        own = text.astype(np.float64)
        neigh = (sim @ own) / np.maximum(sim.sum(axis=1), 1e-12)
        ratio = np.divide(neigh, own, out=np.ones(docs.size), where=own > 0)
        # Rounded: equal documents get sums in another order; they must keep equal scores.
        return np.round((1.0 + mu * np.minimum(ratio, 1.0)) / (1.0 + mu), 9)

    def _neighbour_similarities(self, docs: np.ndarray) -> np.ndarray | None:
        """Topic cosines of each candidate to its ``neighbour_count`` nearest other candidates
        (0 for the others), ``None`` when :meth:`neighbour_factors` is off."""
        count = min(self.options.neighbour_count, docs.size - 1)
        if self.options.neighbour_weight <= 0 or self.topic_docs is None or count < 2:
            return None
        vecs = self.topic_docs[docs]
        # einsum, not ``vecs @ vecs.T``: a 100 × 100 product is too small for BLAS threads, which cost
        # ten times more (CPU and wall time) than the product on a busy machine.
        sim = np.clip(np.einsum("ik,jk->ij", vecs, vecs), 0.0, 1.0).astype(np.float64)
        np.fill_diagonal(sim, 0.0)
        if count < docs.size - 1:
            kth = np.partition(sim, -count, axis=1)[:, -count]
            sim[sim < kth[:, None]] = 0.0  # ties with the count-th nearest are kept
        return sim

    def _kept_features(
        self, space: int, df: np.ndarray, n_docs: int, queries: Sequence[FirmProfile | ScenarioDoc]
    ) -> np.ndarray | None:
        """Mask of the features of *space* (1 words, 2 characters) to keep, ``None`` for all.

        Character n-grams found in most documents carry almost no weight but have the longest
        postings (``char_max_df``).  Words must be meaningful (no stopword, number, unit or single
        character) and not boilerplate: in at most ``boilerplate_df`` of the fitted documents and
        of the query-side corpus.  The data-derived boilerplate is kept in ``self.boilerplate``.
        """
        opts = self.options
        keep = df >= opts.min_df
        if space == 2:
            if opts.char_max_df < 1.0 and n_docs >= _MAX_DF_MIN_DOCS:
                keep &= df <= opts.char_max_df * n_docs
            return None if keep.all() else keep
        if opts.meaningful_terms:
            keep &= np.fromiter(meaningful_mask(self.terms), dtype=bool, count=len(self.terms))
        if opts.word_max_df < 1.0 and n_docs >= _MAX_DF_MIN_DOCS:
            keep &= df <= opts.word_max_df * n_docs
        common = np.zeros(df.size, dtype=bool)
        if opts.boilerplate_df < 1.0:
            if n_docs >= opts.boilerplate_min_docs:
                common |= df > opts.boilerplate_df * n_docs
            if len(queries) >= opts.boilerplate_min_docs:
                qdf = self._query_side_df(queries)
                limit = opts.boilerplate_df * len(queries)
                common |= np.fromiter((qdf.get(t, 0) > limit for t in self.terms), dtype=bool, count=len(self.terms))
        self.boilerplate = sorted(self.terms[j] for j in np.flatnonzero(common & keep).tolist())
        keep &= ~common
        return None if keep.all() else keep

    @staticmethod
    def _compact(m: sp.csr_matrix) -> sp.csr_matrix:
        m.sort_indices()
        if m.nnz < 2**31 and m.shape[1] < 2**31:
            m.indices = m.indices.astype(np.int32, copy=False)
            m.indptr = m.indptr.astype(np.int32 if m.nnz < 2**31 else np.int64, copy=False)
        return m

    def _fit_signals(self, docs: list[FirmProfile | ScenarioDoc]) -> None:
        n = len(docs)
        self._district_codes = {}
        district = np.full(n, -1, dtype=np.int32)
        self._domain_codes = {}
        rows: list[int] = []
        cols: list[int] = []
        quals = np.zeros(n, dtype=np.int32)
        projects = np.zeros(n, dtype=np.int32)
        for i, d in enumerate(docs):
            if d.district_code:
                district[i] = self._district_codes.setdefault(str(d.district_code), len(self._district_codes))
            for code in _codes(d.domain_codes):
                rows.append(i)
                cols.append(self._domain_codes.setdefault(code, len(self._domain_codes)))
            if isinstance(d, FirmProfile):
                quals[i] = int(d.verified_qualifications or 0)
                projects[i] = int(d.accepted_projects or 0)
        self.district = district
        self.domains = sp.csr_matrix(
            (np.ones(len(rows), dtype=np.int8), (rows, cols)), shape=(n, max(1, len(self._domain_codes)))
        )
        self.qualifications = quals
        self.projects = projects

    # ------------------------------------------------------------------ pickling
    def _build_vocabs(self) -> None:
        self._vocab = {t: i for i, t in enumerate(self.terms)}

    def __getstate__(self) -> dict[str, Any]:
        """Pickle without derived structures (vocabulary dicts and the row-major copy)."""
        state = self.__dict__.copy()
        state["_vocab"] = None
        state["_id_index"] = None
        state["_rows"] = None
        state.pop("_grams", None)
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        """Restore and rebuild the derived lookups (a model pickled before topics works without them)."""
        for name in ("topic_features", "topic_basis", "topic_docs", "_common_features", "_common_rows"):
            state.setdefault(name, None)
        state.setdefault("boilerplate", [])
        self.__dict__.update(state)
        self._build_vocabs()
        self._id_index = {doc_id: i for i, doc_id in enumerate(self.ids)}

    # ------------------------------------------------------------------ introspection
    def __len__(self) -> int:
        """Number of fitted documents."""
        return len(self.ids)

    @property
    def n_features(self) -> int:
        """Number of features (word + character space)."""
        return self.n_word_features + int(self.char_codes.size)

    def feature_name(self, j: int) -> str:
        """Readable name of feature *j*: the word, or the character n-gram."""
        if j < self.n_word_features:
            return self.terms[j]
        return decode(int(self.char_codes[j - self.n_word_features]))

    def nbytes(self) -> dict[str, int]:
        """Approximate memory of the fitted model: sparse matrices, idf, vocabulary and topics."""

        def sparse_size(m: sp.spmatrix | None) -> int:
            return 0 if m is None else int(m.data.nbytes + m.indices.nbytes + m.indptr.nbytes)

        sparse_bytes = sum(sparse_size(m) for m in (self.postings, self.domains, self._prf_rows, self._common_rows))
        vocab_bytes = sum(sys.getsizeof(t) for t in self.terms)  # str objects
        vocab_bytes += 8 * len(self.terms) + sys.getsizeof(self._vocab)  # list slots + dict
        vocab_bytes += self.char_codes.nbytes
        arrays = self.idf.nbytes + self.district.nbytes + self.qualifications.nbytes + self.projects.nbytes
        arrays += sum(a.nbytes for a in (self.topic_features, self.topic_basis, self.topic_docs, self._common_features)
                      if a is not None)
        return {
            "sparse": int(sparse_bytes),
            "vocabulary": int(vocab_bytes),
            "arrays": int(arrays),
            "total": int(sparse_bytes + vocab_bytes + arrays),
        }

    # ------------------------------------------------------------------ query vectors
    def _word_vector(self, tokens: list[str]) -> tuple[np.ndarray, np.ndarray]:
        vocab = self._vocab
        ids = [vocab[t] for t in tokens if t in vocab]
        return self._weigh(np.asarray(ids, dtype=np.int64))

    def _char_vector(self, codes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        if codes.size == 0 or self.char_codes.size == 0:
            return NO_CODES, np.zeros(0, dtype=np.float32)
        pos = np.searchsorted(self.char_codes, codes)
        pos[pos >= self.char_codes.size] = 0
        found = self.char_codes[pos] == codes
        return self._weigh(pos[found] + self.n_word_features)

    def _weigh(self, ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Sublinear tf × idf, l2-normalised, for a bag of feature ids."""
        if ids.size == 0:
            return NO_CODES, np.zeros(0, dtype=np.float32)
        uniq, tf = np.unique(ids, return_counts=True)
        tf = tf.astype(np.float32)
        if self.options.sublinear_tf:
            tf = 1.0 + np.log(tf)
        w = tf * self.idf[uniq]
        norm = float(np.linalg.norm(w))
        return (uniq, w / norm) if norm > 0 else (NO_CODES, np.zeros(0, dtype=np.float32))

    def query_vector(self, query: Query) -> tuple[np.ndarray, np.ndarray]:
        """The query's weighted features as ``(feature ids, weights)``, sorted by id, unit norm.

        Built exactly like a fitted document (weighted sum of normalised paragraph vectors).  A
        plain string is the free text of a document of the opposite kind (a scenario when
        matching firms, a firm when matching scenarios).
        """
        doc = self._query_doc(query)
        alpha = self.options.word_weight
        shares = (math.sqrt(alpha), math.sqrt(max(0.0, 1.0 - alpha)))
        all_ids: list[np.ndarray] = []
        all_w: list[np.ndarray] = []
        for weight, words, chars in self._analyse(doc):
            if shares[0] > 0 and self.n_word_features:
                i, w = self._word_vector(words)
                all_ids.append(i)
                all_w.append(w * (weight * shares[0]))
            if shares[1] > 0 and self.char_codes.size:
                i, w = self._char_vector(chars)
                all_ids.append(i)
                all_w.append(w * (weight * shares[1]))
        if not all_ids:
            return NO_CODES, np.zeros(0, dtype=np.float32)
        ids = np.concatenate(all_ids)
        if ids.size == 0:
            return NO_CODES, np.zeros(0, dtype=np.float32)
        uniq, inv = np.unique(ids, return_inverse=True)
        wts = np.bincount(inv, weights=np.concatenate(all_w), minlength=uniq.size)
        norm = float(np.linalg.norm(wts))
        if norm > 0:
            wts /= norm
        return uniq, wts.astype(np.float32)

    # ------------------------------------------------------------------ scoring
    def scores_postings(self, idx: np.ndarray, weights: np.ndarray) -> np.ndarray:
        """Scores of all documents from the postings of the query's non-zero terms only.

        The postings of the query's terms are sliced out of ``Xᵀ`` (CSR rows) and accumulated
        with SciPy's compiled sparse-matrix × vector product; documents no query term reaches
        stay 0.
        """
        n = len(self.ids)
        if idx.size == 0 or n == 0:
            return np.zeros(n, dtype=np.float32)
        # Rows of Xᵀ for the query's terms (their postings), then Σ_t w_t · postings_t in C.
        return np.asarray(self.postings[idx].T @ weights.astype(np.float32))

    def _row_matrix(self) -> sp.csr_matrix:
        if self._rows is None:
            self._rows = self.postings.T.tocsr()
        return self._rows

    def scores_naive(self, idx: np.ndarray, weights: np.ndarray) -> np.ndarray:
        """Scores of all documents by the naive product ``X @ q`` over every row (for benchmarks)."""
        q = np.zeros(self.n_features, dtype=np.float32)
        q[idx] = weights
        return self._row_matrix() @ q

    def top_k_postings(self, idx: np.ndarray, weights: np.ndarray, k: int = 10) -> list[tuple[int, float]]:
        """Top-k ``(doc index, text score)``: postings accumulation + ``np.argpartition``.

        Documents with a zero score are left out (fewer than *k* results are possible).
        """
        if k <= 0 or idx.size == 0:
            return []
        return [(i, s) for i, s in top_k(self.scores_postings(idx, weights), k) if s > 0]

    def top_k_naive(self, idx: np.ndarray, weights: np.ndarray, k: int = 10) -> list[tuple[int, float]]:
        """Top-k ``(doc index, text score)`` via the naive full product ``X @ q``."""
        return top_k(self.scores_naive(idx, weights), k)

    def _expand(
        self, idx: np.ndarray, weights: np.ndarray, best: list[tuple[int, float]]
    ) -> tuple[np.ndarray, np.ndarray]:
        """Rocchio pseudo-relevance feedback from the top documents *best* ``(doc, score)``.

        The score-weighted centroid of those documents (their strongest terms only,
        ``prf_doc_terms`` each, then ``prf_terms`` overall) is normalised, scaled by
        ``prf_weight`` and added to the query, which is normalised again.
        """
        opts = self.options
        best = [(i, s) for i, s in best if s > 0]
        if not best:
            return idx, weights
        rows = (self._prf_rows if self._prf_rows is not None else self._row_matrix())[[i for i, _ in best]]
        coef = sp.csr_matrix(np.asarray([[s for _, s in best]], dtype=np.float32))
        centroid = (coef @ rows).tocsr()
        c_idx, c_val = centroid.indices.astype(np.int64), centroid.data.astype(np.float64)
        if c_idx.size > opts.prf_terms:
            keep = np.argpartition(-c_val, opts.prf_terms - 1)[: opts.prf_terms]
            c_idx, c_val = c_idx[keep], c_val[keep]
        norm = float(np.linalg.norm(c_val))
        if norm <= 0:
            return idx, weights
        all_idx = np.concatenate([idx, c_idx])
        all_val = np.concatenate([weights.astype(np.float64), c_val * (opts.prf_weight / norm)])
        uniq, inv = np.unique(all_idx, return_inverse=True)
        q = np.bincount(inv, weights=all_val, minlength=uniq.size)
        q /= max(float(np.linalg.norm(q)), 1e-12)
        return uniq, q.astype(np.float32)

    def _final_query(self, query: Query) -> tuple[np.ndarray, np.ndarray]:
        """Query vector, expanded by pseudo-relevance feedback when enabled."""
        return self._feedback(*self.query_vector(query))

    def _feedback(self, idx: np.ndarray, w: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The query expanded from its best documents.  Those are found from the query's features
        with short postings only (``prf_max_df``): the features of most documents cost most of the
        work and barely change which few documents come first."""
        opts = self.options
        if opts.prf_docs > 0 and idx.size:
            short = idx
            if opts.prf_max_df < 1.0 and len(self.ids) >= _MAX_DF_MIN_DOCS:
                indptr = self.postings.indptr
                keep = (indptr[idx + 1] - indptr[idx]) <= opts.prf_max_df * len(self.ids)
                if keep.any():
                    short, w_short = idx[keep], w[keep]
            best = self.top_k_postings(short, w if short is idx else w_short, opts.prf_docs)
            idx, w = self._expand(idx, w, best)
        return idx, w

    def text_scores(self, query: Query) -> np.ndarray:
        """Text score of every document for *query*: words (with feedback expansion) × topic factor.

        As :meth:`suggest` ranks: the topic factor re-ranks the ``topic_candidates`` best
        documents by words (:meth:`_best_by_words`); the others get the lowest factor (they are
        never suggested before those).
        """
        q_idx, q_w = self.query_vector(query)
        idx, w = self._feedback(q_idx, q_w)
        scores = self.scores_postings(idx, w)
        topic = self.topic_vector(q_idx, q_w)
        if topic is None:
            return scores
        cand, words = self._best_by_words(idx, w, self.options.topic_candidates)
        out = scores / ((1.0 + self.options.topic_weight) * (1.0 + max(0.0, self.options.neighbour_weight)))
        factor = self.agreement_factors(cand, words, topic)
        out[cand] = words * factor  # computed as in suggest(), so that equal scores stay equal
        return out

    def _best_by_words(
        self, idx: np.ndarray, w: np.ndarray, count: int, excluded: np.ndarray = NO_CODES, min_score: float = 0.0
    ) -> tuple[np.ndarray, np.ndarray]:
        """The *count* documents with the best word scores (above *min_score*, not *excluded*),
        best first, with their exact scores.

        With ≥ 1000 documents the features found in more than ``score_max_df`` of them — the
        longest postings, each of little weight — are left out of the pass over all documents
        and added for its ``score_pool`` best documents only, from a row-major copy of just those
        features (``_common_rows``, about a third of the postings).
        A document that owes nearly all its score to such features may be missed; the offline
        evaluation shows no difference (a query made mostly of them is scored in one exact pass).
        """
        opts = self.options
        common = None
        if self._common_rows is not None and self._common_features is not None and idx.size:
            pos = np.searchsorted(self._common_features, idx)
            pos[pos >= self._common_features.size] = 0
            common = self._common_features[pos] == idx
            if not common.any() or float(np.dot(w[common], w[common])) > 0.5:
                common = None
        if common is None:
            scores = self.scores_postings(idx, w)
            if excluded.size:
                scores[excluded] = 0.0
            if min_score > 0:
                scores[scores <= min_score] = 0.0
            top = top_indices(scores, count)
            return top, scores[top].astype(np.float64)
        scores = self.scores_postings(idx[~common], w[~common])
        if excluded.size:
            scores[excluded] = 0.0
        pool = np.sort(top_indices(scores, max(opts.score_pool, 4 * count)))
        q_common = np.zeros(self._common_features.size, dtype=np.float32)
        q_common[pos[common]] = w[common]
        exact = scores[pool].astype(np.float64) + self._common_rows[pool] @ q_common
        if min_score > 0:
            exact[exact <= min_score] = 0.0
        order = np.lexsort((pool, -exact))[:count]
        order = order[exact[order] > 0]
        return pool[order], exact[order]

    def rank_text(self, query: Query, k: int = 10) -> list[tuple[Any, float]]:
        """The *k* best documents by text score alone, as ``(id, score)``."""
        return [(self.ids[i], s) for i, s in top_k(self.text_scores(query), k) if s > 0]

    # ------------------------------------------------------------------ signals & suggestions
    def _boosts(
        self, cand: np.ndarray, doc: FirmProfile | ScenarioDoc, weights: Mapping[str, float]
    ) -> dict[str, np.ndarray]:
        out: dict[str, np.ndarray] = {}
        codes = [self._domain_codes[c] for c in _codes(doc.domain_codes) if c in self._domain_codes]
        w = float(weights.get("same_domain", 0.0))
        if codes and w:
            hit = np.asarray(self.domains[cand][:, codes].sum(axis=1)).ravel() > 0
            out["same_domain"] = hit * w
        w = float(weights.get("same_district", 0.0))
        dcode = self._district_codes.get(str(doc.district_code)) if doc.district_code else None
        if dcode is not None and w:
            out["same_district"] = (self.district[cand] == dcode) * w
        for name, arr in (("qualifications", self.qualifications), ("accepted_projects", self.projects)):
            w = float(weights.get(name, 0.0))
            if not w:
                continue
            cap = float(weights.get(f"{name}_cap", 5))
            vals = arr[cand]
            if vals.any():
                scale = np.minimum(1.0, np.log1p(np.maximum(vals, 0)) / math.log1p(max(cap, 1e-9)))
                out[name] = scale * w
        return out

    def _max_boost(self, weights: Mapping[str, float]) -> float:
        return sum(max(0.0, float(weights.get(n, 0.0))) for n in SIGNAL_LABELS)

    def suggest(
        self,
        query: Query,
        k: int = 10,
        weights: Mapping[str, float] | None = None,
        exclude_ids: Iterable[Any] = (),
        explain_terms: int = 6,
        min_text_score: float = 0.0,
    ) -> list[Suggestion]:
        """Top-*k* documents for *query*: text score × (1 + signal boosts), with explanations.

        *query* is a :class:`ScenarioDoc` (against a firm model), a :class:`FirmProfile` (against
        a scenario model), a mapping with those fields, or free text.  *weights* override
        :data:`DEFAULT_WEIGHTS`.  Documents whose id is in *exclude_ids*, or whose text score is
        not above *min_text_score*, are left out.
        """
        cfg = {**DEFAULT_WEIGHTS, **(weights or {})}
        doc = self._query_doc(query)
        q_idx, q_w = self.query_vector(doc)
        idx, w = self._feedback(q_idx, q_w)
        excluded = np.asarray([self._id_index[e] for e in exclude_ids if e in self._id_index], dtype=np.int64)
        topic = self.topic_vector(q_idx, q_w)
        if topic is not None:
            # The topic factor re-ranks the best documents by words (the others cannot come first).
            cand, words = self._best_by_words(idx, w, max(self.options.topic_candidates, 4 * k), excluded,
                                              min_text_score)
            factor = self.agreement_factors(cand, words, topic)
            boosts = self._boosts(cand, doc, cfg) if cand.size else {}
            final = words * factor * (1.0 + sum(boosts.values(), np.zeros(cand.size)))
        else:
            scores = self.scores_postings(idx, w)
            if excluded.size:
                scores[excluded] = 0.0
            if min_text_score > 0:
                scores[scores <= min_text_score] = 0.0
            cand, words, boosts, final = self._exact_candidates(scores, k, cfg, doc)
            factor = np.ones(cand.size)
        text = words * factor
        order = np.lexsort((cand, -final))[:k]
        chosen = cand[order]
        explained = (
            self._explain(q_idx, idx, w, chosen, explain_terms, {int(cand[j]): float(words[j]) for j in order})
            if explain_terms
            else {}
        )
        results = []
        for j in order:
            i = int(cand[j])
            signals = [
                (name, SIGNAL_LABELS[name], float(text[j] * b[j])) for name, b in boosts.items() if b[j] > 0
            ]
            results.append(
                Suggestion(
                    id=self.ids[i],
                    score=float(final[j]),
                    text_score=float(text[j]),
                    terms=explained.get(i, []),
                    signals=signals,
                    word_score=float(words[j]),
                    topic=float(factor[j]),
                )
            )
        return results

    def _exact_candidates(
        self, scores: np.ndarray, k: int, cfg: Mapping[str, float], doc: FirmProfile | ScenarioDoc
    ) -> tuple[np.ndarray, np.ndarray, dict[str, np.ndarray], np.ndarray]:
        """Candidates (word score, boosts, final score), widened until no document outside them
        could still reach the top *k* (exact; used without a topic model)."""
        bmax = self._max_boost(cfg)
        n = len(self.ids)
        m = min(n, max(4 * k, 50))
        while True:
            ranked = [(i, s) for i, s in top_k(scores, m + 1) if s > 0]
            cand = np.asarray([i for i, _ in ranked[:m]], dtype=np.int64)
            words = np.asarray([s for _, s in ranked[:m]], dtype=np.float64)
            boosts = self._boosts(cand, doc, cfg) if cand.size else {}
            final = words * (1.0 + sum(boosts.values(), np.zeros(cand.size)))
            if len(ranked) <= m:
                break
            # Exact: a document outside the candidates scores at most next_text × (1 + bmax).
            kth = float(np.sort(final)[-k]) if final.size >= k else 0.0
            if kth >= ranked[m][1] * (1.0 + bmax):
                break
            m = min(n, m * 4)
        return cand, words, boosts, final

    def shared_terms(
        self, idx: np.ndarray, weights: np.ndarray, doc: int, limit: int = 6
    ) -> list[tuple[str, float]]:
        """The words shared by the query ``(idx, weights)`` and document *doc* that weighed most.

        Each as ``(term, share of the text score)``, best first; see :meth:`_explain`.
        """
        return self._explain(idx, idx, weights, np.asarray([doc], dtype=np.int64), limit).get(doc, [])

    def _lookup(self, features: np.ndarray, targets: np.ndarray) -> np.ndarray:
        """Weights ``X[targets, features]`` as a ``len(features) × len(targets)`` array (0: absent).

        *targets* are sorted document indices; one binary search in each feature's postings.
        """
        out = np.zeros((features.size, targets.size), dtype=np.float64)
        p = self.postings
        indptr, indices, data = p.indptr, p.indices, p.data
        targets = targets.astype(indices.dtype)  # same dtype: searchsorted would copy each posting list
        for row, j in enumerate(features.tolist()):
            lo, hi = int(indptr[j]), int(indptr[j + 1])
            if hi == lo:
                continue
            plist = indices[lo:hi]
            pos = np.minimum(np.searchsorted(plist, targets), hi - lo - 1)
            hit = plist[pos] == targets
            out[row, hit] = data[lo + pos[hit]]
        return out

    def _term_grams(self, j: int) -> tuple[int, ...]:
        """Feature ids of the character n-grams inside word feature *j* (none for Latin terms); memoised."""
        cache = self.__dict__.setdefault("_grams", {})
        found = cache.get(j)
        if found is None:
            found = ()
            if self.char_codes.size:
                lo, hi = self.options.char_ngram_range
                codes = np.unique(char_codes(_NON_HAN_RE.sub(" ", self.terms[j]), lo, hi))
                pos = np.searchsorted(self.char_codes, codes)
                ok = pos < self.char_codes.size
                pos, codes = pos[ok], codes[ok]
                found = tuple((pos[self.char_codes[pos] == codes] + self.n_word_features).tolist())
            if len(cache) < 200_000:
                cache[j] = found
        return found

    def _explain(
        self,
        own: np.ndarray,
        idx: np.ndarray,
        weights: np.ndarray,
        docs: np.ndarray,
        limit: int,
        totals: Mapping[int, float] | None = None,
    ) -> dict[int, list[tuple[str, float]]]:
        """Up to *limit* shared words per document with their share of the document's text score.

        *own* are the query's own features (before feedback expansion): only words the query
        itself contains are shown.  ``(idx, weights)`` is the query the text score was computed
        with.  A word's contribution is ``q_w · d_w`` for the word feature plus the contributions
        of the character n-grams inside it (each n-gram split evenly among the shown words that
        contain it); its share is that contribution over the document's word score (*totals*, or
        the query · document product).  Components of a shown compound are skipped (交通 after
        智慧交通); numbers, stopwords and single characters are no features, so never shown.
        """
        out: dict[int, list[tuple[str, float]]] = {int(d): [] for d in docs}
        if not docs.size or limit <= 0 or not idx.size:
            return out
        targets = np.unique(docs.astype(np.int64))
        word_feats = np.intersect1d(own[own < self.n_word_features], idx)
        if not word_feats.size:
            return out
        q_at = dict(zip(idx.tolist(), weights.astype(np.float64).tolist(), strict=True))
        word_vals = self._lookup(word_feats, targets) * np.asarray([q_at[j] for j in word_feats.tolist()])[:, None]
        if totals is None:
            totals = dict(zip(targets.tolist(), (self._lookup(idx, targets) * weights[:, None]).sum(axis=0).tolist(),
                              strict=True))
        # Candidates per document: its strongest shared words; then the n-grams inside them.
        cands: dict[int, list[int]] = {}
        for col in range(targets.size):
            hits = np.flatnonzero(word_vals[:, col] > 0)
            cands[col] = hits[np.argsort(-word_vals[hits, col], kind="stable")][: 3 * limit].tolist()
        grams = {h: [g for g in self._term_grams(int(word_feats[h])) if g in q_at]
                 for h in set().union(*cands.values())}
        needed = sorted(set().union(*grams.values())) if grams else []
        gram_vals = dict(zip(needed, (self._lookup(np.asarray(needed, dtype=np.int64), targets)
                                      * np.asarray([q_at[g] for g in needed])[:, None]).tolist(), strict=True))
        for col, d in enumerate(targets.tolist()):
            scored = sorted(((word_vals[h, col] + sum(gram_vals[g][col] for g in grams[h]), h) for h in cands[col]),
                            key=lambda t: -t[0])
            chosen: list[int] = []
            for _value, h in scored:
                term = self.terms[int(word_feats[h])]
                if any(term in self.terms[int(word_feats[c])] for c in chosen):
                    continue
                chosen.append(h)
                if len(chosen) >= limit:
                    break
            users: defaultdict[int, int] = defaultdict(int)
            for h in chosen:
                for g in grams[h]:
                    users[g] += 1
            total = float(totals.get(d, 0.0)) or 1.0
            found = [(self.terms[int(word_feats[h])],
                      float((word_vals[h, col] + sum(gram_vals[g][col] / users[g] for g in grams[h])) / total))
                     for h in chosen]
            found.sort(key=lambda tv: -tv[1])
            out[d] = found
        return out

    def similar(
        self, query: Query, threshold: float = 0.5, k: int = 10, exclude_ids: Iterable[Any] = ()
    ) -> list[Suggestion]:
        """Near-duplicates of *query* among the fitted documents: text score ≥ *threshold*.

        Meant for a scenario model (scenario → scenarios); a plain string is a scenario text.
        Pass the query's own id in *exclude_ids* when it is itself in the model.  Plain cosine
        of the text vectors: no feedback expansion and no signals.
        """
        doc = _as_doc(query, self.kind)
        idx, w = self.query_vector(doc)
        excluded = {self._id_index[e] for e in exclude_ids if e in self._id_index}
        hits = [
            (i, s)
            for i, s in self.top_k_postings(idx, w, k + len(excluded))
            if s >= threshold and i not in excluded
        ][:k]
        terms = self._explain(idx, idx, w, np.asarray([i for i, _ in hits], dtype=np.int64), 6, dict(hits))
        return [Suggestion(id=self.ids[i], score=s, text_score=s, terms=terms[i]) for i, s in hits]

    def _query_doc(self, query: Query) -> FirmProfile | ScenarioDoc:
        return _as_doc(query, "scenario" if self.kind == "firm" else "firm")
