"""Search inside PostgreSQL (``SEARCH_BACKEND=postgres``): no index files on any app server.

PostgreSQL's ``simple`` parser would turn a whole Chinese sentence into one token, so text is
segmented in the application with the project tokeniser (:mod:`marketplace.search.analysis`,
the same tokens and positions as the Whoosh index, shingles included) and stored as a weighted
``tsvector`` literal: title ``A``, body ``B``, extra ``C``.  Queries become ``tsquery`` literals
built from the same parsed tree (phrases with ``<->``, exclusion with ``!``), matched through
the GIN index and ranked with ``ts_rank_cd``.  Both literals are passed as bound parameters and
cast, never spliced into SQL; lexemes are quoted and escaped.

A query is at most four statements in one read transaction: the total and the facets whose
own filter is off in one ``GROUPING SETS`` pass; the facets whose filter is on (disjunctive
counts need their own ``WHERE``) in one ``UNION ALL``; the ranked page of ids; the page's rows.
Only the page query computes ``ts_rank_cd`` (it reads every matching tsvector).  Text queries
run with ``SET LOCAL enable_seqscan = off`` so they always go through the GIN index, which the
planner, blind to the cost of decompressing each tsvector, would otherwise often skip.

Writes happen in their own transaction on the engine (after the caller's commit), never in the
caller's session.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
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
    BUDGET_BANDS,
    CLOSED,
    FIELD_WEIGHTS,
    OPEN,
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


def _node_tsquery(node: Node) -> str:
    if isinstance(node, TermNode):
        return _quote(node.token)
    if isinstance(node, PhraseNode):
        if node.consecutive:
            shingles = [_quote(shingle(a, b)) for a, b in zip(node.tokens, node.tokens[1:], strict=False)]
            if len(shingles) == 1:
                return shingles[0]
            return "(" + (" <-> " if node.exact else " & ").join(shingles) + ")"
        parts = [_quote(node.tokens[0])]
        for i in range(1, len(node.tokens)):
            parts.append(f"<{node.offsets[i] - node.offsets[i - 1]}>")
            parts.append(_quote(node.tokens[i]))
        return "(" + " ".join(parts) + ")"
    operator = " & " if isinstance(node, AllOf) else " | "
    return "(" + operator.join(_node_tsquery(child) for child in node.children) + ")"


def tsquery_literal(nodes: Iterable[Node], mode: Mode = "and") -> str:
    """The ``tsquery`` literal of *nodes* joined with ``&`` (or ``|`` in ``or`` mode)."""
    parts = [_node_tsquery(node) for node in nodes]
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
        "url": doc.url,
        "fingerprint": doc.fingerprint,
        "tsv_literal": tsvector_literal(doc.title, doc.body, doc.extra),
    }


def _insert() -> Any:
    """``INSERT … ON CONFLICT (doc_type, doc_id) DO UPDATE`` with the tsvector cast."""
    stmt = postgresql.insert(_table).values(
        {
            **{name: sa.bindparam(name) for name in _ROW_COLUMNS},
            "tsv": sa.cast(sa.bindparam("tsv_literal", type_=sa.Text), postgresql.TSVECTOR),
        }
    )
    excluded = stmt.excluded
    return stmt.on_conflict_do_update(
        index_elements=[_c.doc_type, _c.doc_id],
        set_={
            **{name: excluded[name] for name in _ROW_COLUMNS if name not in ("doc_type", "doc_id")},
            "tsv": excluded.tsv,
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
    "url",
    "fingerprint",
)


def _facet_value(facet: str, value: str) -> str:
    """Budget bands come back as band numbers (``width_bucket``); everything else as is."""
    return BUDGET_BANDS[int(value)].label if facet == "budget" else value


class PostgresBackend(SearchBackend):
    """Search over the ``search_entries`` table (see the module docstring).

    *bind* is an engine, or a session whose engine is used (writes always run in their own
    transaction, so they can be called from an ``after_commit`` hook).
    """

    name = "postgres"

    def __init__(self, bind: sa.Engine | Session) -> None:
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
        with self.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as con:
            con.execute(sa.text("ANALYZE search_entries"))
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
        conditions: list[Any] = []
        score: Any = sa.literal(0.0)
        if parsed.must:
            tsq = sa.cast(sa.literal(tsquery_literal(parsed.must, mode), sa.Text), postgresql.TSQUERY)
            conditions.append(_c.tsv.bool_op("@@")(tsq))
            weights = sa.literal(_RANK_WEIGHTS, postgresql.ARRAY(sa.REAL))
            score = sa.func.ts_rank_cd(weights, _c.tsv, tsq, 1)
        if parsed.must_not:
            neg = sa.cast(sa.literal(tsquery_literal(parsed.must_not, "or"), sa.Text), postgresql.TSQUERY)
            # Excluded ids come from the GIN index (a hashed NOT IN) rather than from testing
            # every candidate's tsvector.
            excluded = sa.select(_c.id).where(_c.tsv.bool_op("@@")(neg))
            conditions.append(_c.id.not_in(excluded))

        derived = sa.case(
            (sa.and_(_c.status == PUBLISHED, sa.or_(_c.deadline.is_(None), _c.deadline > now)), OPEN),
            (_c.status == PUBLISHED, CLOSED),
            else_=_c.status,
        )
        # Band number (0 = first band): how many band boundaries the budget reaches.
        band = sa.func.width_bucket(
            _c.budget,
            sa.literal(
                [Decimal(str(b.low)) for b in BUDGET_BANDS if b.low is not None], postgresql.ARRAY(sa.Numeric)
            ),
        )
        sort = query.sort if parsed.must else ("newest" if query.sort == "relevance" else query.sort)

        def matches(name: str, ranked: bool) -> Any:
            # ts_rank_cd reads (detoasts) every matching tsvector: only the page query ranks.
            # The counts read a CTE; the page a plain subquery, which PostgreSQL flattens (so
            # browsing "newest" walks ix_search_entries_newest and stops after one page).
            stmt = sa.select(
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
                (score if ranked else sa.literal(0.0)).label("score"),
            ).where(*conditions)
            return stmt.cte(name) if name == "matched" else stmt.subquery(name)

        matched = matches("matched", ranked=False)
        m = matched.c
        filters = self._filters(m, query)

        def where_except(name: str | None) -> list[Any]:
            return [cond for key, cond in filters.items() if key != name]

        facet_columns = {
            "type": m.doc_type,
            "district": m.district,
            "domain": m.domain,
            "theme": m.theme,
            "status": m.derived,
            "budget": m.band,
        }
        if not query.with_facets:
            facet_columns = {}
        # Facets whose own filter is off share one scan (GROUPING SETS, with the total as the
        # empty set); a facet whose filter is on needs its own WHERE (disjunctive counts).
        shared = [name for name in facet_columns if name not in filters]
        shared_cols = [facet_columns[name] for name in shared]
        grouped = (
            sa.select(
                sa.func.grouping(*shared_cols).label("g") if shared_cols else sa.literal(0).label("g"),
                *[sa.cast(c, sa.Text) for c in shared_cols],
                sa.func.count().label("n"),
            )
            .select_from(matched)
            .where(*where_except(None))
        )
        if shared_cols:
            grouped = grouped.group_by(
                sa.func.grouping_sets(*[sa.tuple_(c) for c in shared_cols], sa.tuple_())
            )
        separate = [
            sa.select(sa.literal(name), sa.cast(column, sa.Text), sa.func.count())
            .where(column.is_not(None), *where_except(name))
            .group_by(column)
            for name, column in facet_columns.items()
            if name in filters
        ]
        if query.with_facets:
            batch_values = (
                sa.select(
                    sa.func.unnest(sa.func.string_to_array(sa.func.btrim(m.batches), " ")).label("value")
                )
                .where(*where_except("batch"))
                .subquery("batch_values")
            )
            separate.append(
                sa.select(sa.literal("batch"), batch_values.c.value, sa.func.count())
                .where(batch_values.c.value != "")
                .group_by(batch_values.c.value)
            )
        facets: dict[str, dict[str, int]] = {}
        total = 0
        ranked_matches = matches("ranked", ranked=sort == "relevance" and bool(parsed.must))
        r = ranked_matches.c
        page = (
            sa.select(r.id, r.score)
            .where(*self._filters(r, query).values())
            .order_by(*self._order(r, sort, now))
            .limit(query.per_page)
            .offset(query.offset)
        )
        with self.engine.begin() as con:
            if parsed.must:
                # Text matches always come through the GIN index; the planner, blind to the
                # cost of reading each tsvector, would often scan the table instead (10x slower
                # for a word in 20% of the records).
                con.execute(sa.text("SET LOCAL enable_seqscan = off"))
            everything = grouped.add_cte(matched)
            width = len(shared_cols)
            for row in con.execute(everything):
                bits, values, count = row[0], row[1 : 1 + width], int(row[-1])
                if bits == (1 << width) - 1:  # the empty grouping set: the total
                    total = count
                    continue
                # GROUPING() has a 0 bit (most significant first) for the grouped column.
                i = next(i for i in range(width) if not bits & (1 << (width - 1 - i)))
                if values[i] is not None:
                    facets.setdefault(shared[i], {})[_facet_value(shared[i], values[i])] = count
            if separate:
                for facet, value, count in con.execute(sa.union_all(*separate).add_cte(matched)):
                    if value is not None:
                        facets.setdefault(facet, {})[_facet_value(facet, value)] = int(count)
            if not total:
                return RawPage(0, [], facets)
            ranked = con.execute(page).all()
            ids = [row.id for row in ranked]
            rows = {
                row.id: row
                for row in con.execute(
                    sa.select(
                        _c.id,
                        _c.doc_type,
                        _c.doc_id,
                        _c.title,
                        _c.body,
                        _c.url,
                        _c.status,
                        _c.deadline,
                    ).where(_c.id.in_(ids))
                )
            }
        hits = []
        for entry_id, entry_score in ranked:
            row = rows[entry_id]
            hits.append(
                RawHit(
                    doc_type=row.doc_type,
                    doc_id=int(row.doc_id),
                    score=float(entry_score or 0.0),
                    title=row.title,
                    body=row.body,
                    url=row.url,
                    status=row.status,
                    deadline=row.deadline,
                )
            )
        return RawPage(total, hits, facets)

    @staticmethod
    def _filters(m: Any, query: SearchQuery) -> dict[str, Any]:
        filters: dict[str, Any] = {}
        if query.types:
            filters["type"] = m.doc_type.in_(list(query.types))
        if query.districts:
            filters["district"] = m.district.in_(list(query.districts))
        if query.domains:
            filters["domain"] = m.domain.in_(list(query.domains))
        if query.themes:
            filters["theme"] = m.theme.in_(list(query.themes))
        if query.statuses:
            wanted = set(query.statuses)
            if PUBLISHED in wanted:
                wanted |= {OPEN, CLOSED}
            filters["status"] = m.derived.in_(sorted(wanted))
        if query.batch is not None:
            filters["batch"] = m.batches.contains(f" {query.batch} ", autoescape=True)
        if query.budget_min is not None or query.budget_max is not None:
            conds = [m.budget.is_not(None)]
            if query.budget_min is not None:
                conds.append(m.budget >= Decimal(str(query.budget_min)))
            if query.budget_max is not None:
                conds.append(m.budget <= Decimal(str(query.budget_max)))
            filters["budget"] = sa.and_(*conds)
        return filters

    @staticmethod
    def _order(m: Any, sort: str, now: datetime) -> list[Any]:
        """ORDER BY for *sort*; ties: newest, then doc type and id (as the Whoosh backend)."""
        newest = m.published_at.desc().nulls_last()
        tail = [m.doc_type, m.doc_id]
        if sort == "relevance":
            return [sa.func.round(sa.cast(m.score, sa.Numeric), 9).desc(), newest, *tail]
        if sort == "deadline":
            group = sa.case((m.deadline.is_(None), 2), (m.deadline > now, 0), else_=1)
            upcoming = sa.case((m.deadline > now, m.deadline), else_=None)
            passed = sa.case((m.deadline <= now, m.deadline), else_=None)
            return [group, upcoming.asc(), passed.desc(), newest, *tail]
        if sort == "budget":
            return [m.budget.desc().nulls_last(), newest, *tail]
        return [newest, *tail]
