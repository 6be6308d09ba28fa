"""The ``search_entries`` table and the PostgreSQL literals."""

from __future__ import annotations

import sqlalchemy as sa

from marketplace.models.search import SearchEntry
from marketplace.search.postgres_backend import _quote, tsquery_literal, tsvector_literal
from marketplace.search.query import parse_query


def test_table_is_creatable_on_sqlite_without_the_gin_index() -> None:
    engine = sa.create_engine("sqlite://")
    SearchEntry.metadata.create_all(engine, tables=[SearchEntry.__table__])
    inspector = sa.inspect(engine)
    assert {c["name"] for c in inspector.get_columns("search_entries")} >= {"tsv", "batches", "fingerprint"}
    assert "ix_search_entries_tsv" not in {i["name"] for i in inspector.get_indexes("search_entries")}
    engine.dispose()


def test_tsvector_literal_weights_fields_and_keeps_positions() -> None:
    literal = tsvector_literal("信息安全", "安全", "")
    # Title from position 1 (label A), body after a gap of 10 (label B); the compound and its
    # first component share a position; the shingle '信息 安全' stands at the first leaf.
    assert literal == "'信息安全':1A '信息':1A '安全':2A,13B '信息 安全':1A"


def test_tsquery_literal_for_words_phrases_and_alternatives() -> None:
    assert tsquery_literal(parse_query('"信息安全"').must) == "'信息 安全'"
    assert tsquery_literal(parse_query('"网络信息安全"').must) == "('网络 信息' <-> '信息 安全')"
    assert tsquery_literal(parse_query('"信息与安全"').must) == "('信息' <2> '安全')"
    assert tsquery_literal(parse_query("人工智能 5G").must) == "('人工智能' | '人工 智能') & '5g'"
    assert tsquery_literal(parse_query("人工智能 5G").must, "or") == "('人工智能' | '人工 智能') | '5g'"


def test_quotes_and_backslashes_are_escaped(pg_engine: sa.Engine) -> None:
    odd = "it's\\x"
    assert _quote(odd) == "'it''s\\\\x'"
    with pg_engine.connect() as con:
        vector = con.execute(
            sa.text("SELECT CAST(:v AS tsvector)::text"), {"v": f"{_quote(odd)}:1A"}
        ).scalar()
        matched = con.execute(
            sa.text("SELECT CAST(:v AS tsvector) @@ CAST(:q AS tsquery)"),
            {"v": f"{_quote(odd)}:1A", "q": _quote(odd)},
        ).scalar()
    assert vector == "'it''s\\\\x':1A" and matched is True
