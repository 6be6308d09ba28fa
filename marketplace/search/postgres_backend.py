"""Search inside PostgreSQL (``SEARCH_BACKEND=postgres``): no index files on any app server.

PostgreSQL's ``simple`` parser would turn a whole Chinese sentence into one token, so text is
segmented in the application with the project tokeniser (:mod:`marketplace.search.analysis`,
the same tokens and positions as the Whoosh index, shingles included) and stored as a weighted
``tsvector`` literal: title ``A``, body ``B``, extra ``C``.  Queries become ``tsquery`` literals
built from the same parsed tree (phrases with ``<->``, exclusion with ``!``), matched through
the GIN index and ranked with ``ts_rank_cd``.  Both literals are passed as bound parameters and
cast, never spliced into SQL; lexemes are quoted and escaped.

A query reads at most ``exact_limit + 1`` (1,000 + 1) matching records for its counts, through
the GIN index in physical order and without reading any ``tsvector``: one statement over that
sample (a CTE) returns the total, every facet's disjunctive counts and, when the sample holds
every match, the page in the requested order.  Past the limit, total and facets are scaled to
the planner's row estimate and flagged (``RawPage.estimated``).  ``ts_rank_cd`` reads each
ranked record's large, TOASTed ``tsvector``, so relevance ranks every match only up to
``rank_limit``; past it, a bounded candidate set: records whose title holds a query word (the
small inline ``title_tsv`` and its GIN index) and others, ``rank_candidates`` of each, growing
with the page asked for, ranked inside the sample's statement (each candidate list is taken from
the sample when it holds it).  A page taken from the sample comes with its hit columns, and so
does a page read from the table.  The other orders stay exact; past the limit their page is read from
a window of the order index (newest, budget, upcoming deadlines) intersected with the GIN
bitmap, or from every match when the window falls short (:meth:`PostgresBackend._windowed_page`).
Words and exclusions are one tsquery (``a & !b``), answered by the GIN index alone.  Each query
*shape* (text, exclusion, filters, facets, order) has its statements built once per process,
with every value bound, so a query costs no SQL building or compiling.  Text queries run with
``enable_seqscan = off`` (the planner, blind to the cost of decompressing each tsvector, would
often scan the table) and every query with ``jit = off``.

Writes happen in their own transaction on the engine (after the caller's commit), never in the
caller's session.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from sqlalchemy.orm import Session

from marketplace.models.search import SearchEntry
from marketplace.search.analysis import index_tokens, shingle
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
)
from marketplace.search.query import AllOf, Node, ParsedQuery, PhraseNode, TermNode

__all__ = ["PostgresBackend", "tsquery_literal", "tsvector_literal"]

log = logging.getLogger("marketplace.search")

#: tsvector labels of the text fields.
_LABELS = {"title": "A", "body": "B", "extra": "C"}
#: Positions left empty between fields so that a phrase never spans two fields.
_FIELD_GAP = 10
#: PostgreSQL limits: positions are clamped to 16383; at most 256 positions per lexeme.
_MAX_POS = 16383
_MAX_POSITIONS = 256
#: ``ts_rank_cd`` weights for labels {D, C, B, A}, from FIELD_WEIGHTS scaled to title = 1.
_RANK_WEIGHTS = [
    0.0,
    FIELD_WEIGHTS["extra"] / FIELD_WEIGHTS["title"],
    FIELD_WEIGHTS["body"] / FIELD_WEIGHTS["title"],
    1.0,
]
_BATCH_SIZE = 500

_table = SearchEntry.__table__
_c = _table.c


def _quote(lexeme: str) -> str:
    """A lexeme as a quoted tsvector / tsquery literal (quotes doubled, backslashes escaped)."""
    return "'" + lexeme.replace("\\", "\\\\").replace("'", "''") + "'"


def tsvector_literal(title: str, body: str, extra: str) -> str:
    """The weighted ``tsvector`` literal of a document's three text fields.

    Tokens and positions come from :func:`marketplace.search.analysis.index_tokens` (positions
    start at 1 and each field starts ``_FIELD_GAP`` after the previous one ends).
    """
    positions: dict[str, list[str]] = {}
    base = 1
    for name, text in (("title", title), ("body", body), ("extra", extra)):
        label = _LABELS[name]
        last = -1
        for token in index_tokens(text):
            pos = min(base + token.pos, _MAX_POS)
            entries = positions.setdefault(token.text, [])
            if len(entries) < _MAX_POSITIONS:
                entries.append(f"{pos}{label}")
            last = max(last, token.pos)
        base += last + 1 + _FIELD_GAP
    return " ".join(f"{_quote(lexeme)}:{','.join(pos)}" for lexeme, pos in positions.items())


def _node_tsquery(node: Node, positions: bool = True) -> str:
    if isinstance(node, TermNode):
        return _quote(node.token)
    if isinstance(node, PhraseNode):
        if node.consecutive:
            shingles = [_quote(shingle(a, b)) for a, b in zip(node.tokens, node.tokens[1:], strict=False)]
            if len(shingles) == 1:
                return shingles[0]
            return "(" + (" <-> " if node.exact and positions else " & ").join(shingles) + ")"
        if not positions:
            return "(" + " & ".join(_quote(token) for token in node.tokens) + ")"
        parts = [_quote(node.tokens[0])]
        for i in range(1, len(node.tokens)):
            parts.append(f"<{node.offsets[i] - node.offsets[i - 1]}>")
            parts.append(_quote(node.tokens[i]))
        return "(" + " ".join(parts) + ")"
    operator = " & " if isinstance(node, AllOf) else " | "
    return "(" + operator.join(_node_tsquery(child, positions) for child in node.children) + ")"


def tsquery_literal(nodes: Iterable[Node], mode: Mode = "and", positions: bool = True) -> str:
    """The ``tsquery`` literal of *nodes* joined with ``&`` (or ``|`` in ``or`` mode).

    Without *positions*, phrases become their words (or shingles) joined with ``&``: a query
    that every match of the literal with positions also matches, answered by the GIN index
    without reading any ``tsvector``."""
    parts = [_node_tsquery(node, positions) for node in nodes]
    return (" & " if mode == "and" else " | ").join(parts)


def _row(doc: SearchDocument) -> dict[str, Any]:
    return {
        "doc_type": doc.doc_type,
        "doc_id": doc.doc_id,
        "title": doc.title,
        "body": doc.body,
        "extra": doc.extra,
        "district": doc.district,
        "domain": doc.domain,
        "status": doc.status,
        "theme": doc.theme,
        "batches": " " + " ".join(doc.batches) + " " if doc.batches else " ",
        "budget": Decimal(str(round(doc.budget, 2))) if doc.budget is not None else None,
        "published_at": doc.published_at,
        "deadline": doc.deadline,
        "publicity_until": doc.publicity_until,
        "url": doc.url,
        "fingerprint": doc.fingerprint,
        "tsv_literal": tsvector_literal(doc.title, doc.body, doc.extra),
        "title_tsv_literal": tsvector_literal(doc.title, "", ""),
    }


def _insert() -> Any:
    """``INSERT … ON CONFLICT (doc_type, doc_id) DO UPDATE`` with the tsvector cast."""
    stmt = postgresql.insert(_table).values(
        {
            **{name: sa.bindparam(name) for name in _ROW_COLUMNS},
            "tsv": sa.cast(sa.bindparam("tsv_literal", type_=sa.Text), postgresql.TSVECTOR),
            "title_tsv": sa.cast(sa.bindparam("title_tsv_literal", type_=sa.Text), postgresql.TSVECTOR),
        }
    )
    excluded = stmt.excluded
    return stmt.on_conflict_do_update(
        index_elements=[_c.doc_type, _c.doc_id],
        set_={
            **{name: excluded[name] for name in _ROW_COLUMNS if name not in ("doc_type", "doc_id")},
            "tsv": excluded.tsv,
            "title_tsv": excluded.title_tsv,
            "updated_at": sa.func.now(),
        },
    )


_ROW_COLUMNS = (
    "doc_type",
    "doc_id",
    "title",
    "body",
    "extra",
    "district",
    "domain",
    "status",
    "theme",
    "batches",
    "budget",
    "published_at",
    "deadline",
    "publicity_until",
    "url",
    "fingerprint",
)


class _Columns:
    """The filterable columns, with the clock-derived status, for :func:`_filters`."""

    def __init__(self, derived: Any) -> None:
        self.doc_type = _c.doc_type
        self.district = _c.district
        self.domain = _c.domain
        self.theme = _c.theme
        self.batches = _c.batches
        self.budget = _c.budget
        self.derived = derived


#: Facet name → (sample column, filter that the facet's own counts ignore).
_FACETS = {
    "type": ("doc_type", "type"),
    "district": ("district", "district"),
    "domain": ("domain", "domain"),
    "theme": ("theme", "theme"),
    "status": ("derived", "status"),
    "budget": ("band", "budget"),
}


def _scaled(count: int, scale: float) -> int:
    """*count* × *scale*, rounded to two significant digits (no false precision)."""
    value = count * scale
    if value < 100:
        return max(count, round(value))
    digits = len(str(int(value))) - 2
    return max(count, int(round(value, -digits)))


class PostgresBackend(SearchBackend):
    """Search over the ``search_entries`` table (see the module docstring).

    *bind* is an engine, or a session whose engine is used (writes always run in their own
    transaction, so they can be called from an ``after_commit`` hook).
    """

    name = "postgres"

    #: Up to this many matching records, total and facets are exact; past it they are
    #: estimated from that many (``RawPage.estimated``).
    exact_limit = 1000
    #: Up to this many matches, every one is ranked; past it, a bounded candidate set is.
    rank_limit = 200
    #: Candidates of each kind (title matches, others) when ranking is bounded.
    rank_candidates = 60
    #: Rank the bounded candidate set in the sample's statement (off: with the separate
    #: statement of ``_Statements._ranked``; the results are the same, the tests compare them).
    rank_in_sample = True

    def __init__(
        self,
        bind: sa.Engine | Session,
        *,
        exact_limit: int | None = None,
        rank_limit: int | None = None,
        rank_candidates: int | None = None,
    ) -> None:
        if exact_limit is not None:
            self.exact_limit = exact_limit
        if rank_limit is not None:
            self.rank_limit = rank_limit
        if rank_candidates is not None:
            self.rank_candidates = rank_candidates
        engine = bind.get_bind() if isinstance(bind, Session) else bind
        if not isinstance(engine, sa.Engine):
            engine = engine.engine
        if engine.dialect.name != "postgresql":
            raise ValueError("the PostgreSQL search backend needs a PostgreSQL database")
        self.engine: sa.Engine = engine

    # -- writing --------------------------------------------------------------------------
    def apply(self, upserts: Iterable[SearchDocument], removals: Iterable[DocKey]) -> None:
        """Upsert and delete in one transaction."""
        rows = {doc.key: _row(doc) for doc in upserts}
        gone = [key for key in dict.fromkeys(removals) if key not in rows]
        if not rows and not gone:
            return
        try:
            with self.engine.begin() as con:
                if gone:
                    con.execute(sa.delete(_table).where(sa.tuple_(_c.doc_type, _c.doc_id).in_(gone)))
                if rows:
                    con.execute(_insert(), list(rows.values()))
        except sa.exc.SQLAlchemyError as exc:
            log.exception("search entries: write failed")
            raise SearchUnavailable(str(exc)) from exc

    def rebuild(self, docs: Iterable[SearchDocument], progress: ProgressCallback | None = None) -> int:
        """Replace every entry in one transaction (readers see the old entries until commit)."""
        count = 0
        with self.engine.begin() as con:
            con.execute(sa.delete(_table))
            for chunk in chunked(docs, _BATCH_SIZE):
                rows = {doc.key: _row(doc) for doc in chunk}
                con.execute(_insert(), list(rows.values()))
                count += len(chunk)
                if progress is not None:
                    progress(count)
        # VACUUM sets the visibility map, so that reading the order indexes (browsing, the
        # order windows) needs no visit of the table; ANALYZE the statistics.
        with self.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as con:
            con.execute(sa.text("VACUUM ANALYZE search_entries"))
        return count

    def clear(self) -> None:
        """Delete every entry."""
        with self.engine.begin() as con:
            con.execute(sa.delete(_table))

    # -- reading --------------------------------------------------------------------------
    def keys_and_versions(self) -> dict[DocKey, str]:
        """``{(doc_type, doc_id): fingerprint}`` of every entry."""
        with self.engine.connect() as con:
            rows = con.execute(sa.select(_c.doc_type, _c.doc_id, _c.fingerprint))
            return {(t, int(i)): f for t, i, f in rows}

    def healthy(self) -> bool:
        """Whether the table can be read."""
        try:
            with self.engine.connect() as con:
                con.execute(sa.select(_c.id).limit(1)).all()
            return True
        except sa.exc.SQLAlchemyError:
            return False

    def state(self) -> dict[str, Any]:
        """``ok`` with the entry count, or ``unavailable`` when the table cannot be read."""
        try:
            with self.engine.connect() as con:
                documents = con.execute(sa.select(sa.func.count()).select_from(_table)).scalar_one()
        except sa.exc.SQLAlchemyError as exc:
            return {"backend": self.name, "state": "unavailable", "documents": None,
                    "detail": type(exc).__name__}
        return {"backend": self.name, "state": "ok", "documents": int(documents)}

    def close(self) -> None:
        """Nothing to release: connections belong to the engine's pool."""

    def _execute(self, parsed: ParsedQuery, query: SearchQuery, mode: Mode, now: datetime) -> RawPage:
        has_text = bool(parsed.must)
        sort = query.sort if has_text else ("newest" if query.sort == "relevance" else query.sort)
        match_q = prefilter_q = ""
        if has_text:
            match_q = prefilter_q = tsquery_literal(parsed.must, mode)
            relaxed = tsquery_literal(parsed.must, mode, positions=False)
            if parsed.must_not:
                # Matching and exclusion in one tsquery: GIN answers ``a & !b`` from the index
                # alone (no record's tsvector is read unless a phrase needs its positions).
                negative = tsquery_literal(parsed.must_not, "or")
                match_q = f"({match_q}) & !({negative})"
                # (an excluded phrase needs positions: the prefilter leaves it to the check)
                relaxed = f"({relaxed}) & !({negative})" if "<" not in negative else relaxed
            prefilter_q = relaxed
        shape = _Shape(
            text=has_text,
            phrase=prefilter_q != match_q,
            exclude=bool(parsed.must_not),
            filters=_filter_shape(query),
            facets=query.with_facets,
            sort=sort,
        )
        limit = self.exact_limit
        wanted = query.offset + query.per_page
        params: dict[str, Any] = {
            "now": now,
            "sample_limit": limit + 1,
            "small_limit": self.rank_limit if shape.relevance else limit,
            "rank_size": max(self.rank_candidates, wanted),
            "wanted": wanted,
            "page_limit": query.per_page,
            "page_offset": query.offset,
            **_filter_params(query),
        }
        if has_text:
            params["tsq"] = tsquery_literal(parsed.must, mode)
            params["match_q"] = match_q
            if shape.phrase:
                params["prefilter_q"] = prefilter_q
            params["title_q"] = tsquery_literal(parsed.must, "or")
        elif parsed.must_not:
            params["neg"] = tsquery_literal(parsed.must_not, "or")
        statements = _statements(shape)
        with self.engine.begin() as con:
            # JIT compilation costs 50-200 ms on this kind of query and never pays back here.
            # Text matches always come through the GIN index; the planner, blind to the cost
            # of reading each tsvector, would often scan the table instead.  (One round trip.)
            con.execute(_SETTINGS, {"seqscan": "off" if has_text else "on"})
            total, sampled, last_block, blocks, rows_total = 0, 0, 0, 0.0, 0.0
            facets: dict[str, dict[str, int]] = {}
            ordered: list[tuple[int, int, float]] = []
            from_sample: list[tuple[int, int, float]] = []
            known: dict[int, Any] = {}
            for kind, value, n, score, block, tuples, *hit in con.execute(statements.sample, params).all():
                if hit and hit[0] is not None:  # (a page row of the requested page, with its hit columns)
                    known[int(value)] = hit
                if kind == "#":
                    total, sampled, last_block = int(n), int(value), int(block or 0)
                    blocks, rows_total = float(score or 0.0), float(tuples or 0.0)
                elif kind == "page":
                    ordered.append((int(n), int(value), float(score or 0.0)))
                elif kind == "ranked":
                    from_sample.append((int(n), int(value), float(score or 0.0)))
                else:
                    label = BUDGET_BANDS[int(value)].label if kind == "budget" else value
                    facets.setdefault(kind, {})[label] = int(n)
            exact = sampled <= limit
            estimate = 0.0
            if not exact:
                # The planner's estimate of the matches (the text's lexeme frequencies and the
                # columns' statistics, kept by ANALYZE): the sample's counts are scaled to it.
                sql, explain_params = statements.explain_args(con, params)
                plan = con.exec_driver_sql(sql, explain_params).scalar_one()
                if isinstance(plan, str):
                    plan = json.loads(plan)
                estimate = float(plan[0]["Plan"]["Plan Rows"])
                if total and estimate >= total:
                    scale = max(1.0, estimate / total)
                else:
                    # No match in the sample passes every filter, or the planner estimates fewer
                    # matches than the sample already holds (a phrase's positions, which it
                    # cannot see, say): scale by the share of the heap read.
                    scale = max(1.0, blocks / (last_block + 1))
                facets = {f: {k: _scaled(v, scale) for k, v in values.items()} for f, values in facets.items()}
                total = _scaled(total, scale)
            elif not total:
                return RawPage(0, [], facets)

            # 2. The page: from the sample when it holds every match (and, for relevance, few
            #    enough to rank them all), else from the table.
            ranked: list[tuple[int, float]]
            if exact and ordered:
                ranked = [(entry_id, score) for _, entry_id, score in sorted(ordered)[query.offset : wanted]]
            elif shape.relevance and self.rank_in_sample:
                # Ranked among the bounded candidate set in the sample's statement.
                ranked = [(entry_id, score) for _, entry_id, score in sorted(from_sample)[query.offset : wanted]]
            elif shape.relevance:
                ranked = [(row[0], float(row[1] or 0.0)) for row in con.execute(statements.ranked, params)]
            elif exact:
                ranked = []  # (the page lies past the matches)
            else:
                rows = self._windowed_page(con, statements, params, query, estimate, rows_total)
                if rows is None:
                    # Sparse matches: walking an order index would test the tsvector of ten
                    # records or more per hit; collect the matches through the GIN index first.
                    sparse = has_text and estimate < 0.1 * max(rows_total, 1.0)
                    page = statements.sparse_page if sparse else statements.page
                    rows = con.execute(page, params).all()
                # (each row: the id, then the hit columns)
                ranked = [(row[0], 0.0) for row in rows]
                known.update((row[0], row[1:]) for row in rows)
            if not exact:
                # An estimate is never below what is known to exist.
                total = max(total, query.offset + len(ranked) + (1 if len(ranked) == query.per_page else 0))
            missing = [entry_id for entry_id, _ in ranked if entry_id not in known]
            if missing:
                for row in con.execute(_ROWS, {"ids": missing}):
                    known[row.id] = row[1:]
        hits = []
        for entry_id, entry_score in ranked:
            doc_type, doc_id, title, body, url, status, deadline, publicity_until = known[entry_id]
            hits.append(RawHit(doc_type, int(doc_id), entry_score, title, body, url, status, deadline, publicity_until))
        return RawPage(total, hits, facets, estimated=not exact)


    @staticmethod
    def _windowed_page(
        con: sa.Connection,
        statements: _Statements,
        params: dict[str, Any],
        query: SearchQuery,
        estimate: float,
        rows_total: float,
    ) -> list[Any] | None:
        """The page (rows: the id, then the hit columns) of a text query with many matches in
        ``newest``, ``budget`` or ``deadline`` order, read from a window of the order: the
        matches whose sort key comes no later than the key of the table's K-th record in that
        order (for ``deadline``: the K-th upcoming deadline), K sized from the estimated share of
        matches so that the window likely holds the page.  PostgreSQL intersects the text's GIN bitmap with the window's
        range on the order index and visits only the records in both, instead of every match.
        Every match before the window's end is in it (ties included, blanks last), so a full
        page from it is the exact page; otherwise ``None`` (the caller reads all matches)."""
        if statements.threshold is None or rows_total <= 0:
            return None
        wanted = query.offset + query.per_page
        share = max(estimate, 1.0) / rows_total
        k = int(min(rows_total, 2 * wanted / share + 100))
        threshold = con.execute(statements.threshold, {"k": k, "now": params["now"]}).scalar()
        if threshold is None:
            return None
        rows = con.execute(statements.window_page, {**params, "threshold": threshold}).all()
        if len(rows) < query.per_page:
            return None
        return rows

# -- query statements: built once per shape, values bound at execution ------------------------
#
# A query's statements depend on its *shape* (text or not, exclusion, which filters, facets,
# order); the values (tsquery literals, filter values, clock, limits) are bound parameters.  Each
# shape's statements are built once per process and kept, so SQLAlchemy reuses their memoised
# cache keys and compiled SQL: a query costs no statement building or compiling.


@dataclass(frozen=True, slots=True)
class _Shape:
    text: bool
    #: Whether matching needs word positions (a quoted phrase): see ``_Statements``.
    phrase: bool
    exclude: bool
    #: Active filter names; ``budget`` carries which bounds are given (``budget:10``).
    filters: tuple[str, ...]
    facets: bool
    sort: str

    @property
    def relevance(self) -> bool:
        return self.sort == "relevance" and self.text


def _bp(name: str, type_: Any) -> Any:
    return sa.bindparam(name, type_=type_)


_TEXT_ARRAY = postgresql.ARRAY(sa.String)
_NOW = sa.bindparam("now", type_=_c.deadline.type)
#: (``synchronize_seqscans`` off: a sample read by a sequential scan, as browsing's, starts at the
#: table's first block, not where another scan happens to be, so the same query gives the same
#: estimated counts.)
_SETTINGS = sa.text(
    "SELECT set_config('jit', 'off', true), set_config('enable_seqscan', :seqscan, true),"
    " set_config('synchronize_seqscans', 'off', true)"
)
#: The columns a hit is built from (:class:`RawHit`), and typed blanks for rows that are no hit.
_HIT_COLUMNS = ("doc_type", "doc_id", "title", "body", "url", "status", "deadline", "publicity_until")
_NO_HIT = [sa.null().cast(_c[name].type).label(f"hit_{name}") for name in _HIT_COLUMNS]


_ROWS = sa.select(_c.id, *(_c[name] for name in _HIT_COLUMNS)).where(
    _c.id == sa.any_(sa.bindparam("ids", type_=postgresql.ARRAY(sa.Integer)))
)


def _tsquery(name: str) -> Any:
    return sa.cast(sa.bindparam(name, type_=sa.Text), postgresql.TSQUERY)


def _filter_shape(query: SearchQuery) -> tuple[str, ...]:
    names = [
        name
        for name, active in (
            ("type", query.types),
            ("district", query.districts),
            ("domain", query.domains),
            ("theme", query.themes),
            ("status", query.statuses),
            ("batch", query.batch is not None),
        )
        if active
    ]
    if query.budget_min is not None or query.budget_max is not None:
        names.append(f"budget:{int(query.budget_min is not None)}{int(query.budget_max is not None)}")
    return tuple(names)


def _filter_params(query: SearchQuery) -> dict[str, Any]:
    params: dict[str, Any] = {
        "types": list(query.types),
        "districts": list(query.districts),
        "domains": list(query.domains),
        "themes": list(query.themes),
    }
    if query.statuses:
        wanted = set(query.statuses)
        if PUBLISHED in wanted:
            wanted |= {OPEN, CLOSED}
        params["statuses"] = sorted(wanted)
    if query.batch is not None:
        escaped = query.batch.replace("/", "//").replace("%", "/%").replace("_", "/_")
        params["batch_like"] = f"% {escaped} %"
    if query.budget_min is not None:
        params["budget_min"] = Decimal(str(query.budget_min))
    if query.budget_max is not None:
        params["budget_max"] = Decimal(str(query.budget_max))
    return params


def _filters(m: Any, names: tuple[str, ...]) -> dict[str, Any]:
    """The filter conditions of a shape, by filter name (values bound at execution)."""
    filters: dict[str, Any] = {}
    for name in names:
        if name == "type":
            filters["type"] = m.doc_type == sa.any_(_bp("types", _TEXT_ARRAY))
        elif name in ("district", "domain", "theme"):
            filters[name] = getattr(m, name) == sa.any_(_bp(f"{name}s", _TEXT_ARRAY))
        elif name == "status":
            filters["status"] = m.derived == sa.any_(_bp("statuses", _TEXT_ARRAY))
        elif name == "batch":
            filters["batch"] = m.batches.like(_bp("batch_like", sa.Text), escape="/")
        else:
            conds = [m.budget.is_not(None)]
            if name[-2] == "1":
                conds.append(m.budget >= _bp("budget_min", sa.Numeric))
            if name[-1] == "1":
                conds.append(m.budget <= _bp("budget_max", sa.Numeric))
            filters["budget"] = sa.and_(*conds)
    return filters


def _relevance_rows(label: str, scored: Any, score: Any, limit: Any, none_i: Any, none_f: Any) -> sa.Select:
    """``(label, id, position, score, NULL, NULL)`` rows of *scored* in relevance order, the first *limit*."""
    order = _order(scored.c, "relevance")
    return (sa.select(sa.literal(label), sa.cast(scored.c.id, sa.Text), sa.func.row_number().over(order_by=order),
                      score, none_i, none_f)
            .order_by(*order).limit(limit))


def _order(m: Any, sort: str) -> list[Any]:
    """ORDER BY for *sort*; ties: newest, then doc type and id (as the Whoosh backend)."""
    newest = m.published_at.desc().nulls_last()
    tail = [m.doc_type, m.doc_id]
    if sort == "relevance":
        return [sa.func.round(sa.cast(m.score, sa.Numeric), 9).desc(), newest, *tail]
    if sort == "deadline":
        group = sa.case((m.deadline.is_(None), 2), (m.deadline > _NOW, 0), else_=1)
        upcoming = sa.case((m.deadline > _NOW, m.deadline), else_=None)
        passed = sa.case((m.deadline <= _NOW, m.deadline), else_=None)
        return [group, upcoming.asc(), passed.desc(), newest, *tail]
    if sort == "budget":
        return [m.budget.desc().nulls_last(), newest, *tail]
    return [newest, *tail]


def _rank_score(tsv: Any) -> Any:
    return sa.func.ts_rank_cd(sa.literal(_RANK_WEIGHTS, postgresql.ARRAY(sa.REAL)), tsv, _tsquery("tsq"), 1)


class _Statements:
    """The statements of one query shape (see :func:`_statements`)."""

    def __init__(self, shape: _Shape) -> None:
        self.shape = shape
        # Text conditions: one tsquery for words and exclusions; an exclusion alone (no word to
        # match) takes the excluded ids from the GIN index (a hashed NOT IN).
        text: list[Any] = []
        # A quoted phrase needs each candidate's positions, in its large TOASTed tsvector: the
        # GIN index answers the query without positions (``prefilter_q``), and the phrase is
        # checked (as a function call, which the planner never makes an index condition) after
        # every cheaper condition, so that only records passing them are read.
        positions: list[Any] = []
        if shape.text and shape.phrase:
            text.append(_c.tsv.bool_op("@@")(_tsquery("prefilter_q")))
            positions.append(sa.func.ts_match_vq(_c.tsv, _tsquery("match_q")))
        elif shape.text:
            text.append(_c.tsv.bool_op("@@")(_tsquery("match_q")))
        elif shape.exclude:
            text.append(_c.id.not_in(sa.select(_c.id).where(_c.tsv.bool_op("@@")(_tsquery("neg")))))
        derived = sa.case(
            (sa.and_(_c.status == PUBLISHED, sa.or_(_c.deadline.is_(None), _c.deadline > _NOW)), OPEN),
            (_c.status == PUBLISHED, CLOSED),
            (sa.and_(_c.status == AWARDED, _c.publicity_until > _NOW), PUBLICITY),
            else_=_c.status,
        )
        filters = _filters(_Columns(derived), shape.filters)
        self.text, self.filters = [*text, *positions], filters
        self.sample = self._sample(derived, text, positions, filters)
        # The planner's row estimate of every match (EXPLAIN, compiled once, see explain_args),
        # from the one text condition (its estimate of a phrase is the operator's).
        if shape.phrase:
            text_estimate = [_c.tsv.bool_op("@@")(_tsquery("match_q"))]
        else:
            text_estimate = text
        self.estimate = sa.select(_c.id).where(*text_estimate, *filters.values())
        self._explain: tuple[str, Any] | None = None
        self.ranked = self._ranked() if shape.relevance else None
        if not shape.relevance:
            # Filters first: PostgreSQL tests quals of equal cost in the order written, and the
            # text test reads the record's tsvector.
            matches = sa.select(_c.id, _c.published_at, _c.deadline, _c.budget, _c.doc_type, _c.doc_id).where(
                *filters.values(), *text, *positions
            )
            self.page = self._with_hits(self._page(matches.subquery("matches")))
            self.sparse_page = self._with_hits(self._page(matches.cte("matches").prefix_with("MATERIALIZED")))
        # newest / budget: the window of the order index (see PostgresBackend._windowed_page).
        self.threshold: Any = None
        self.window_page: Any = None
        # deadline: the window of upcoming deadlines (they come first, soonest first); also
        # when browsing, since no index walks that order.
        if shape.sort == "deadline" or (shape.text and shape.sort in ("newest", "budget")):
            k = _bp("k", sa.Integer)
            if shape.sort == "deadline":
                key = _c.deadline
                self.threshold = sa.select(key).where(key > _NOW).order_by(key).offset(k).limit(1)
                window = sa.and_(key > _NOW, key <= sa.bindparam("threshold", type_=key.type))
            else:
                key = _c.published_at if shape.sort == "newest" else _c.budget
                self.threshold = sa.select(key).order_by(key.desc().nulls_last()).offset(k).limit(1)
                window = key >= sa.bindparam("threshold", type_=key.type)
            self.window_page = self._with_hits(
                sa.select(_c.id, _c.published_at, _c.deadline, _c.budget, _c.doc_type, _c.doc_id)
                .where(*filters.values(), *text, window, *positions)
                .order_by(*_order(_c, shape.sort))
                .limit(_bp("page_limit", sa.Integer))
                .offset(_bp("page_offset", sa.Integer))
            )

    def explain_args(self, con: sa.Connection, params: dict[str, Any]) -> tuple[str, Any]:
        """``EXPLAIN (FORMAT JSON)`` of the estimate statement and its parameters for *params*."""
        if self._explain is None:
            compiled = self.estimate.compile(dialect=con.dialect)
            self._explain = ("EXPLAIN (FORMAT JSON) " + str(compiled), compiled)
        sql, compiled = self._explain
        return sql, compiled.construct_params(params)

    def _with_hits(self, page: Any) -> Any:
        """*page* (ids with their order keys), joined to each record's hit columns (``_HIT_COLUMNS``)
        and put back in order: the page comes with its hits, no second statement (the page's
        own plan is unchanged, a subquery under its ``LIMIT``)."""
        ids = page.subquery("page_ids")
        return (
            sa.select(ids.c.id, *(_c[name] for name in _HIT_COLUMNS))
            .join_from(ids, _table, _c.id == ids.c.id)
            .order_by(*_order(ids.c, self.shape.sort))
        )

    def _page(self, matches: Any) -> Any:
        m = matches.c
        return (
            sa.select(m.id, m.published_at, m.deadline, m.budget, m.doc_type, m.doc_id)
            .order_by(*_order(matches.c, self.shape.sort))
            .limit(_bp("page_limit", sa.Integer))
            .offset(_bp("page_offset", sa.Integer))
        )

    def _sample(self, derived: Any, text: list[Any], positions: list[Any], filters: dict[str, Any]) -> Any:
        """One statement over the sample (a CTE, read once): ``(kind, value, n, score, block,
        tuples)`` rows — ``#``: matches passing every filter, the sample's size, the table's
        size in blocks (``score``), the sample's last heap block and the table's row count;
        one row per facet value (``kind`` the facet): rows passing every filter but the facet's
        own; ``page``: the first page's worth of ids in the requested order (``n`` the rank),
        computed only when the sample holds few enough matches to rank them all; ``ranked``
        (relevance): the page ranked among the bounded candidate set
        (:meth:`_ranked_from_sample`).  For relevance every row ends with the hit columns
        (``_HIT_COLUMNS``), set on the page rows from ``page_offset`` on, blank elsewhere.

        The sample: up to ``exact_limit + 1`` records matching the text and all filters but at
        most one (what the disjunctive facet counts need), in physical order, which the bitmap
        heap scan reads page by page and stops early.  No tsvector is read."""
        shape = self.shape
        # Band number (0 = first band): how many band boundaries the budget reaches.
        band = sa.func.width_bucket(
            _c.budget,
            sa.literal(
                [Decimal(str(b.low)) for b in BUDGET_BANDS if b.low is not None], postgresql.ARRAY(sa.Numeric)
            ),
        )
        names = list(filters)
        flags = [sa.case((filters[name], 1), else_=0).label(f"f_{name}") for name in names]
        where = list(text)
        if len(flags) >= 2:
            where.append(sa.func.coalesce(sum((f.element for f in flags), sa.literal(0)), 0) >= len(flags) - 1)
        where.extend(positions)
        sample = (
            sa.select(
                _c.id,
                _c.doc_type,
                _c.doc_id,
                _c.district,
                _c.domain,
                _c.theme,
                _c.batches,
                _c.budget,
                _c.published_at,
                _c.deadline,
                derived.label("derived"),
                band.label("band"),
                sa.literal_column("search_entries.ctid").label("tid"),
                *flags,
                # Relevance: whether the title holds a query word (``title_tsv`` is small and
                # inline), so that the bounded candidate set can come from the sample.
                *([_c.title_tsv.bool_op("@@")(_tsquery("title_q")).label("title_hit")] if shape.relevance else []),
            )
            .where(*where)
            .limit(_bp("sample_limit", sa.Integer))
        )
        cte = sample.cte("sample")
        s = cte.c
        none_i, none_f = sa.null().cast(sa.Integer), sa.null().cast(sa.Float)

        def passes(own: str | None = None) -> Any:
            return sa.and_(sa.true(), *[s[f"f_{n}"] == 1 for n in names if n != own])

        branches: list[Any] = [
            sa.select(
                sa.literal("#"),
                sa.cast(sa.func.count(), sa.Text),
                sa.func.count().filter(passes()),
                sa.cast(
                    sa.text(
                        "(SELECT pg_relation_size('search_entries') / current_setting('block_size')::int)"
                    ),
                    sa.Float,
                ),
                # The last block read (tids order by block first; one conversion, not one per row).
                sa.cast(sa.text("(max(sample.tid)::text::point)[0]"), sa.Integer),
                sa.cast(
                    sa.text("(SELECT reltuples FROM pg_class WHERE oid = 'search_entries'::regclass)"), sa.Float
                ),
            ).select_from(cte)
        ]
        if shape.facets:
            for facet, (column, own) in _FACETS.items():
                col = s[column]
                branches.append(
                    sa.select(sa.literal(facet), sa.cast(col, sa.Text), sa.func.count(), none_f, none_i, none_f)
                    .where(passes(own), col.is_not(None))
                    .group_by(col)
                )
            values = (
                sa.select(sa.func.unnest(sa.func.string_to_array(sa.func.btrim(s.batches), " ")).label("v"))
                .where(passes("batch"))
                .subquery("batch_values")
            )
            branches.append(
                sa.select(sa.literal("batch"), values.c.v, sa.func.count(), none_f, none_i, none_f)
                .where(values.c.v != "")
                .group_by(values.c.v)
            )
        # The sample's counts, once (guards of the page branches; one row).
        counts = sa.select(
            sa.func.count().label("sampled"),
            sa.func.count().filter(passes()).label("passing"),
            *([sa.func.count().filter(passes(), s.title_hit).label("titles")] if shape.relevance else []),
        ).cte("counts")
        small = sa.select(counts.c.passing).scalar_subquery() <= _bp("small_limit", sa.Integer)
        wanted = _bp("wanted", sa.Integer)
        if shape.relevance:
            scored = (
                sa.select(s.id, _rank_score(_c.tsv).label("score"), s.published_at, s.doc_type, s.doc_id)
                .join_from(cte, _table, _c.id == s.id)
                .where(passes(), small)
                .subquery("scored")
            )
            page = _relevance_rows("page", scored, sa.cast(scored.c.score, sa.Float), wanted, none_i, none_f)
        else:
            order = _order(s, shape.sort)
            page = (
                sa.select(
                    sa.literal("page"),
                    sa.cast(s.id, sa.Text),
                    sa.func.row_number().over(order_by=order),
                    none_f,
                    none_i,
                    none_f,
                )
                .where(passes(), small)
                .order_by(*order)
                .limit(wanted)
            )
        if not shape.relevance:
            # (the page of other orders comes from the sample only up to the exact limit; the
            # hit columns would cost every other query more than the row fetch they save)
            branches.append(page.subquery("page_ids").select())
            return sa.union_all(*branches)
        # Relevance: the page always comes from this statement (the sample's exact page or the
        # ranked candidates), so every row carries the hit columns (``_HIT_COLUMNS``), set on
        # the page rows from the requested page on: no other statement is needed.
        pages = [page.subquery("page_ids"), self._ranked_from_sample(cte, counts, passes, small)]
        first, *others = branches
        return sa.union_all(
            first.add_columns(*_NO_HIT),
            *(branch.add_columns(*[sa.null()] * len(_HIT_COLUMNS)) for branch in others),
            *(
                sa.select(*ids.c, *(_c[name] for name in _HIT_COLUMNS)).select_from(
                    ids.outerjoin(
                        _table,
                        sa.and_(
                            _c.id == sa.cast(ids.c[1], sa.Integer), ids.c[2] > _bp("page_offset", sa.Integer)
                        ),
                    )
                )
                for ids in pages
            ),
        )

    def _ranked_from_sample(self, cte: Any, counts_cte: Any, passes: Any, small: Any) -> Any:
        """Relevance past ``rank_limit``: the page ranked among the bounded candidate set of
        :meth:`_ranked`, in the sample's statement (``ranked`` rows, ``n`` the rank).  Each of
        the two candidate lists (the first ``rank_size`` matches in physical order whose title
        holds a query word; the first ``rank_size`` matches) comes from the sample, which holds
        the first matches in that order, when it holds the whole list (every match, or at least
        ``rank_size`` of that kind passing every filter); otherwise from the table as
        :meth:`_ranked` takes it (a guarded subquery, run only then).  The same candidates, so
        the same page, while building the text's GIN bitmap once or twice less and saving a
        round trip."""
        s = cte.c
        none_i, none_f = sa.null().cast(sa.Integer), sa.null().cast(sa.Float)
        size = _bp("rank_size", sa.Integer)
        counts = counts_cte.c
        titles = sa.select(counts.titles).scalar_subquery()
        passing = sa.select(counts.passing).scalar_subquery()
        complete = sa.select(counts.sampled).scalar_subquery() < _bp("sample_limit", sa.Integer)
        needed = sa.not_(sa.and_(complete, small))  # (else the sample's exact page is used)
        titles_inside = sa.or_(complete, titles >= size)
        others_inside = sa.or_(complete, passing >= size)
        title_q = _c.title_tsv.bool_op("@@")(_tsquery("title_q"))
        arms = [
            sa.select(s.id).where(passes(), s.title_hit, needed, titles_inside).order_by(s.tid).limit(size),
            sa.select(_c.id)
            .where(*self.filters.values(), title_q, *self.text, needed, sa.not_(titles_inside))
            .limit(size),
            sa.select(s.id).where(passes(), needed, others_inside).order_by(s.tid).limit(size),
            sa.select(_c.id)
            .where(*self.filters.values(), *self.text, needed, sa.not_(others_inside))
            .limit(size),
        ]
        candidates = sa.union(*(arm.subquery().select() for arm in arms)).subquery("candidates")
        scored = (
            sa.select(_c.id, _rank_score(_c.tsv).label("score"), _c.published_at, _c.doc_type, _c.doc_id)
            .join_from(candidates, _table, _c.id == candidates.c.id)
            .subquery("sample_ranked")
        )
        # (the score through text: the ``real`` as the other statement returns it, not widened)
        ranked = _relevance_rows("ranked", scored, sa.cast(sa.cast(scored.c.score, sa.Text), sa.Float),
                                 _bp("wanted", sa.Integer), none_i, none_f)
        return ranked.subquery("sample_ranked_ids")

    def _ranked(self) -> Any:
        """The page ranked among a bounded candidate set (see :meth:`PostgresBackend._execute`):
        up to ``rank_size`` records whose title holds a query word (through the title's own
        small GIN index) and up to ``rank_size`` others, both in physical order.  Only these
        read their large ``tsv`` for ``ts_rank_cd``."""
        size = _bp("rank_size", sa.Integer)
        in_title = (
            sa.select(_c.id)
            .where(*self.filters.values(), _c.title_tsv.bool_op("@@")(_tsquery("title_q")), *self.text)
            .limit(size)
        )
        anywhere = sa.select(_c.id).where(*self.filters.values(), *self.text).limit(size)
        candidates = sa.union(in_title.subquery().select(), anywhere.subquery().select())
        ranked = (
            sa.select(_c.id, _rank_score(_c.tsv).label("score"), _c.published_at, _c.doc_type, _c.doc_id)
            .where(_c.id.in_(candidates))
            .subquery("ranked")
        )
        return (
            sa.select(ranked.c.id, ranked.c.score)
            .order_by(*_order(ranked.c, "relevance"))
            .limit(_bp("page_limit", sa.Integer))
            .offset(_bp("page_offset", sa.Integer))
        )


_STATEMENTS: dict[_Shape, _Statements] = {}


def _statements(shape: _Shape) -> _Statements:
    """The statements of *shape*, built on first use and kept (a few hundred shapes at most:
    filter combinations × orders × facets)."""
    found = _STATEMENTS.get(shape)
    if found is None:
        found = _STATEMENTS[shape] = _Statements(shape)
    return found
