"""The ``search_entries`` table and the PostgreSQL literals."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from marketplace.models.search import SearchEntry
from marketplace.search.documents import SearchDocument, SearchQuery
from marketplace.search.postgres_backend import PostgresBackend, _quote, tsquery_literal, tsvector_literal
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


# -- many matches: bounded counting and ranking (issue 13, PostgreSQL search at 100k records) ----

DISTRICTS = ("500103", "500105", "500112", "500199")


def _many() -> list[SearchDocument]:
    """240 records holding 数据; 区块链 in the titles of exactly three, in the body of 59 more."""
    start = datetime(2025, 1, 1, tzinfo=UTC)
    docs = []
    for i in range(1, 241):
        in_title = i in (37, 121, 200)
        title = f"区块链电子证照{i}号系统" if in_title else f"数据共享交换平台{i}号"
        body = "政务数据归集、治理和开放。" + ("采用区块链存证。" if i % 4 == 0 and not in_title else "")
        docs.append(
            SearchDocument(
                "scenario", i, title, body, extra="市大数据发展局",
                district=DISTRICTS[i % 4], domain="data" if i % 3 else "ai", status="published",
                budget=float(10 * (i % 17) + 5) if i % 5 else None,
                published_at=start + timedelta(days=i * 7 % 240, hours=i),
                deadline=start + timedelta(days=200 + i % 90),
            )
        )
    return docs


@pytest.fixture
def many(pg_engine: sa.Engine) -> tuple[PostgresBackend, PostgresBackend]:
    """The same 240 records seen by a default backend (everything exact at this size) and by one
    whose limits are tiny, so that it counts from a sample and ranks a bounded candidate set."""
    exact = PostgresBackend(pg_engine)
    exact.rebuild(_many())
    return exact, PostgresBackend(pg_engine, exact_limit=40, rank_limit=10, rank_candidates=15)


NOW = datetime(2025, 6, 1, tzinfo=UTC)


def test_past_the_limit_totals_and_facets_are_flagged_estimates(many) -> None:
    exact, bounded = many
    for q, filters in (("数据", {}), ("", {}), ("数据", {"districts": ("500105",)}),
                       ("区块链", {"domains": ("data",)})):
        query = SearchQuery(q=q, now=NOW, **filters)
        truth, guess = exact.query(query), bounded.query(query)
        assert truth.total_is_estimate is False
        assert guess.total_is_estimate is (truth.total > 40), q
        assert 0.6 * truth.total <= guess.total <= 1.5 * truth.total, (q, truth.total, guess.total)
        for facet, counts in guess.facets.items():
            assert set(counts) <= set(truth.facets[facet]), facet
            for value, count in counts.items():
                assert count <= 2 * truth.facets[facet][value] + 10, (facet, value)


def test_under_the_limit_everything_is_exact_and_identical(many) -> None:
    exact, _ = many
    small = PostgresBackend(exact.engine, exact_limit=100)
    for q in ("区块链", "区块链 -证照", '"区块链存证"', "政务 区块链"):
        query = SearchQuery(q=q, now=NOW, per_page=10)
        a, b = exact.query(query), small.query(query)
        assert not b.total_is_estimate and a.total == b.total and a.facets == b.facets, q
        assert [h.doc_id for h in a.hits] == [h.doc_id for h in b.hits], q


@pytest.mark.parametrize("sort", ["newest", "deadline", "budget"])
def test_orders_other_than_relevance_stay_exact_past_the_limit(many, sort) -> None:
    exact, bounded = many
    for page in (1, 2, 7):
        query = SearchQuery(q="数据", sort=sort, page=page, per_page=10, now=NOW)
        assert [h.doc_id for h in bounded.query(query).hits] == [h.doc_id for h in exact.query(query).hits]


def test_bounded_ranking_still_puts_title_matches_first(many) -> None:
    exact, bounded = many
    query = SearchQuery(q="区块链", now=NOW, per_page=5)
    truth, guess = exact.query(query), bounded.query(query)
    assert truth.total == 62 and guess.total_is_estimate
    assert {h.doc_id for h in guess.hits[:3]} == {37, 121, 200} == {h.doc_id for h in truth.hits[:3]}
    # Deeper pages are filled too (the candidate set grows with the page asked for).
    deep = bounded.query(SearchQuery(q="区块链", now=NOW, per_page=10, page=4))
    assert len(deep.hits) == 10 and not {h.doc_id for h in deep.hits} & {37, 121, 200}


def test_index_state_counts_the_entries(many) -> None:
    exact, _ = many
    assert exact.state() == {"backend": "postgres", "state": "ok", "documents": 240}
    broken = PostgresBackend(sa.create_engine("postgresql+psycopg://postgres@127.0.0.1:1/nowhere"))
    assert broken.state()["state"] == "unavailable"


def test_exclusions_join_the_words_in_one_tsquery(many) -> None:
    exact, bounded = many
    # 区块链: 3 titles (all 区块链电子证照…) and 59 bodies; the titles hold 证照.
    for backend in (exact, bounded):
        result = backend.query(SearchQuery(q="区块链 -证照", now=NOW, per_page=100))
        assert not result.total_is_estimate or backend is bounded
        if backend is exact:
            assert result.total == 59
            assert not {h.doc_id for h in result.hits} & {37, 121, 200}
    only_excluded = exact.query(SearchQuery(q="-区块链", now=NOW))
    assert only_excluded.total == 240 - 62


@pytest.mark.parametrize("sort", ["newest", "deadline", "budget"])
def test_order_windows_give_the_exact_page_or_fall_back(many, sort, monkeypatch) -> None:
    """Past the limit, newest / budget / deadline pages come from a window of the order index
    when it holds the page (else every match is read): the same pages as the exact backend."""
    exact, bounded = many
    outcomes: list[bool] = []
    original = PostgresBackend._windowed_page

    def spy(*args, **kwargs):
        found = original(*args, **kwargs)
        outcomes.append(found is not None)
        return found

    monkeypatch.setattr(PostgresBackend, "_windowed_page", staticmethod(spy))
    for q in ("数据", "数据 -区块链", ""):
        for filters in ({}, {"districts": ("500105",)}, {"statuses": ("open",)}):
            for page in (1, 2, 5, 12):
                query = SearchQuery(q=q, sort=sort, page=page, per_page=10, now=NOW, **filters)
                want = [h.doc_id for h in exact.query(query).hits]
                assert [h.doc_id for h in bounded.query(query).hits] == want, (q, filters, page)
    assert True in outcomes and False in outcomes


def test_statements_are_built_once_per_query_shape(many) -> None:
    from marketplace.search import postgres_backend as pb

    exact, _ = many
    exact.query(SearchQuery(q="数据", sort="budget", districts=("500105",), now=NOW))
    before = len(pb._STATEMENTS)
    for district in DISTRICTS:
        exact.query(SearchQuery(q="区块链 政务", sort="budget", districts=(district,), now=NOW))
    assert len(pb._STATEMENTS) == before


def test_bounded_ranking_takes_its_candidates_from_the_sample(many, monkeypatch) -> None:
    """Past ``rank_limit`` the page is ranked in the sample's statement, its candidates taken
    from the sample when it holds them (enough title matches and others, or every match), else
    from the table (区块链: 3 title matches; a district filter): the same hits and scores as the
    separate ranking statement, without running it."""
    from marketplace.search import postgres_backend as pb

    _, bounded = many
    queries = [
        SearchQuery(q=q, now=NOW, per_page=10, page=page, **filters)
        for q in ("数据", "数据 -区块链", "政务 数据", "区块链")
        for filters in ({}, {"districts": ("500105",)})
        for page in (1, 2, 3)
    ]
    statements: list[str] = []

    def spy(conn, cursor, statement, *args) -> None:
        statements.append(statement)

    def run() -> tuple[list, int]:
        statements.clear()
        hits = [[(h.doc_id, h.score) for h in bounded.query(q).hits] for q in queries]
        return hits, sum(1 for s in statements if s.startswith("SELECT ranked.id"))

    sa.event.listen(bounded.engine, "before_cursor_execute", spy)
    try:
        monkeypatch.setattr(pb, "_STATEMENTS", {})
        got, separate = run()
        monkeypatch.setattr(bounded, "rank_in_sample", False)
        want, always = run()
    finally:
        sa.event.remove(bounded.engine, "before_cursor_execute", spy)
    assert got == want
    assert always == len(queries) and separate == 0, (separate, always)


def test_a_page_from_the_sample_comes_with_its_hits_in_one_statement(many) -> None:
    """A relevance page (the sample's exact page, or the ranked candidates) comes with the hit
    columns: the query runs the settings and the sample statement only (and the estimate's
    EXPLAIN past the limit), and the hits hold the same values as the records.  So does the
    page of another order past the limit (from its window, or from every match)."""
    exact, bounded = many
    statements: list[str] = []

    def spy(conn, cursor, statement, *args) -> None:
        statements.append(statement)

    sa.event.listen(exact.engine, "before_cursor_execute", spy)
    try:
        for backend, q, sort, page, count in (
            (exact, "区块链", "relevance", 1, 2),
            (exact, "区块链", "relevance", 3, 2),
            (exact, "数据", "budget", 2, 3),  # (other orders: the rows fetched apart),
            (bounded, "数据", "relevance", 2, 3),
            # other orders past the limit: the window's page (after its threshold), or the page
            # read from every match, comes with its hits too (no statement fetching the rows)
            (bounded, "数据", "newest", 2, 5),
            (bounded, "数据", "deadline", 5, 5),
            (bounded, "", "budget", 2, 4),
        ):
            statements.clear()
            query = SearchQuery(q=q, sort=sort, page=page, per_page=10, now=NOW)
            raw = backend._execute(parse_query(q), query, "and", NOW)
            assert len(raw.hits) == 10 and len(statements) == count, (q, sort, page, statements)
            with backend.engine.connect() as con:
                for hit in raw.hits:
                    table = SearchEntry.__table__
                    row = con.execute(sa.select(table).where(table.c.doc_id == hit.doc_id)).one()
                    assert (hit.doc_type, hit.title, hit.body, hit.url, hit.status, hit.deadline) == (
                        row.doc_type, row.title, row.body, row.url, row.status, row.deadline
                    )
                    assert hit.deadline.tzinfo is not None
    finally:
        sa.event.remove(exact.engine, "before_cursor_execute", spy)


def test_query_settings_read_samples_from_the_first_block(pg_engine: sa.Engine) -> None:
    """A sample read by a sequential scan (browsing past the limit) must not start wherever a
    concurrent scan of the table is (synchronised scans), or the same query would give
    different estimated counts."""
    from marketplace.search.postgres_backend import _SETTINGS

    with pg_engine.begin() as con:
        con.execute(_SETTINGS, {"seqscan": "on"})
        assert con.execute(sa.text("SHOW synchronize_seqscans")).scalar() == "off"
        assert con.execute(sa.text("SHOW jit")).scalar() == "off"
    with pg_engine.connect() as con:  # (local to the query's transaction)
        assert con.execute(sa.text("SHOW synchronize_seqscans")).scalar() == "on"


def test_tsquery_literal_without_positions_keeps_the_words_of_phrases() -> None:
    assert tsquery_literal(parse_query('"网络信息安全"').must, positions=False) == "('网络 信息' & '信息 安全')"
    assert tsquery_literal(parse_query('"信息与安全"').must, positions=False) == "('信息' & '安全')"
    assert tsquery_literal(parse_query('"信息安全" 5G').must, positions=False) == "'信息 安全' & '5g'"


@pytest.mark.parametrize("sort", ["relevance", "newest", "deadline", "budget"])
def test_phrases_are_matched_through_the_index_then_checked_after_the_filters(many, sort) -> None:
    """A phrase's positions are read from the TOASTed tsvector only for the records that pass
    the GIN index (the phrase's words), the filters and the order window: the same matches."""
    from marketplace.search import postgres_backend as pb

    exact, bounded = many
    everything = set(range(1, 241))
    in_500105 = {i for i in everything if DISTRICTS[i % 4] == "500105"}
    for q, filters, expected in (
        ('"政务数据归集"', {}, everything),
        ('"政务数据归集"', {"districts": ("500105",)}, in_500105),
        ('"区块链电子证照"', {}, {37, 121, 200}),
        ('"区块链电子证照" -"政务数据"', {}, set()),
    ):
        truth = exact.query(SearchQuery(q=q, sort=sort, per_page=100, now=NOW, **filters))
        assert truth.total == len(expected) and {h.doc_id for h in truth.hits} <= expected, (q, filters)
        paged = [
            h.doc_id
            for page in (1, 2, 3)
            for h in bounded.query(SearchQuery(q=q, sort=sort, per_page=10, page=page, now=NOW, **filters)).hits
        ]
        assert set(paged) <= expected
        if sort != "relevance":  # (bounded relevance ranks a candidate set)
            assert paged == [h.doc_id for h in truth.hits][:30], (q, filters)
    shape = next(s for s in pb._STATEMENTS if s.phrase and s.sort == sort)
    sql = str(pb._statements(shape).sample.compile(dialect=exact.engine.dialect))
    assert "@@ CAST(%(prefilter_q)s" in sql and "ts_match_vq(search_entries.tsv, CAST(%(match_q)s" in sql


def test_bench_steady_state_takes_each_querys_least_cost() -> None:
    """``scripts/bench_search.py --pg-repeat``: per query, the least server CPU over the runs."""
    import importlib.util
    from pathlib import Path

    path = Path(__file__).resolve().parents[2] / "scripts" / "bench_search.py"
    spec = importlib.util.spec_from_file_location("bench_search", path)
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    clock = {"t": 0.0}
    costs = iter([0.009, 0.004, 0.002, 0.007, 0.005, 0.001])  # query 1, 2, 3; then again

    def run(query: SearchQuery) -> None:
        clock["t"] += next(costs)

    result = bench._steady_state(run, [SearchQuery()] * 3, lambda: clock["t"], 2)
    assert result["steady_server_cpu_p50_ms"] == 4.0 and result["steady_server_cpu_p95_ms"] == 7.0
    assert set(result) >= {"steady_cpu_p50_ms", "steady_total_cpu_p95_ms"}


def test_an_estimate_below_what_the_sample_holds_is_not_used(many, monkeypatch) -> None:
    """Past the limit the sample's counts are scaled to the planner's estimate, unless that
    estimate is below the matches the sample already holds (it cannot see a phrase's positions,
    e.g. 3,112 matches estimated as 211): then by the share of the heap read."""
    from marketplace.search import postgres_backend as pb

    exact, bounded = many
    truth = exact.query(SearchQuery(q="数据", now=NOW))
    monkeypatch.setattr(pb._Statements, "explain_args", lambda self, con, params: (
        "EXPLAIN (FORMAT JSON) SELECT 1 WHERE false", {}
    ))
    guess = bounded.query(SearchQuery(q="数据", now=NOW))
    assert guess.total_is_estimate and truth.total == 240
    assert 41 < guess.total <= 1.5 * truth.total, guess.total
