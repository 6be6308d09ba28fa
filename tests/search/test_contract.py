"""The search contract, run against every backend (see ``conftest.backend``)."""

from __future__ import annotations

import math
from collections import Counter
from datetime import timedelta

import pytest

from marketplace.search.backend import SearchBackend, check_index
from marketplace.search.documents import (
    ANY_WORD_NOTICE,
    BUDGET_BANDS,
    SearchDocument,
    SearchQuery,
    budget_band,
    derive_status,
)

from .conftest import LIANGJIANG, NOW, YUBEI, YUZHONG, build_corpus


def ask(backend: SearchBackend, q: str = "", **kwargs) -> object:
    kwargs.setdefault("now", NOW)
    return backend.query(SearchQuery(q=q, **kwargs))


def ids(results) -> list[int]:
    return [hit.doc_id for hit in results.hits]


# -- relevance --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("q", "expected"),
    [
        ("人工智能", 1),
        ("智慧交通", 2),
        ("医疗", 3),
        ("算法", 4),
        ('"信息安全"', 5),
        ("工业互联网 -数字孪生", 6),
        ("区块链", 9),
        ("养老", 11),
        ("数据共享", 8),
        ("应急指挥", 14),
        ("5G", 10),
        ("监测预警", 12),
    ],
)
def test_expected_record_ranks_first(loaded: SearchBackend, q: str, expected: int) -> None:
    results = ask(loaded, q)
    assert results.hits, f"{q!r} found nothing"
    assert results.hits[0].doc_id == expected, [(h.doc_id, h.score) for h in results.hits]
    assert results.notice is None


def test_title_outranks_body(backend: SearchBackend) -> None:
    backend.index(
        [
            SearchDocument("scenario", 1, "城市运行监测平台", "建设内容包括区块链存证和数据归集。"),
            SearchDocument("scenario", 2, "区块链存证服务", "建设内容包括城市运行监测和数据归集。"),
        ]
    )
    assert ids(ask(backend, "区块链")) == [2, 1]
    assert ids(ask(backend, "监测")) == [1, 2]


def test_two_character_words_inside_compounds_are_found(loaded: SearchBackend) -> None:
    # 交通 inside 智慧交通, 医疗 inside 医疗影像, 算法 inside 推荐算法.
    assert set(ids(ask(loaded, "交通"))) == {2, 201}
    assert 3 in ids(ask(loaded, "医疗"))
    assert ids(ask(loaded, "算法")) == [4]


def test_word_nested_in_a_longer_dictionary_word(backend: SearchBackend) -> None:
    # jieba keeps 工业互联网平台 as one word; 工业互联网 must still find it.
    backend.index([SearchDocument("scenario", 1, "园区工业互联网平台运营", "")])
    assert ids(ask(backend, "工业互联网")) == [1]
    assert ids(ask(backend, '"互联网平台"')) == [1]


def test_phrase_requires_adjacent_words(loaded: SearchBackend) -> None:
    # 15 has 信息化 … 安全生产 far apart; 5 and 13 contain 信息安全.
    assert set(ids(ask(loaded, '"信息安全"'))) == {5, 13}
    assert 15 in ids(ask(loaded, "信息 安全"))
    assert set(ids(ask(loaded, "“信息安全”"))) == {5, 13}  # Chinese quotes


def test_phrase_across_words_and_with_stop_word(backend: SearchBackend) -> None:
    backend.index(
        [
            SearchDocument("scenario", 1, "数据共享交换平台建设", ""),
            SearchDocument("scenario", 2, "交换机采购与数据共享", ""),
            SearchDocument("scenario", 3, "信息与安全培训", ""),
        ]
    )
    assert ids(ask(backend, '"共享交换平台"')) == [1]
    assert ids(ask(backend, '"数据共享交换"')) == [1]
    assert ids(ask(backend, '"信息与安全"')) == [3]
    assert ids(ask(backend, '"信息安全"')) == []


def test_exclusion(loaded: SearchBackend) -> None:
    assert set(ids(ask(loaded, "工业互联网"))) == {6, 7}
    assert ids(ask(loaded, "工业互联网 -数字孪生")) == [6]
    assert ids(ask(loaded, '工业互联网 -"数字孪生"')) == [6]
    only_negative = ask(loaded, "-数字孪生")
    assert only_negative.total == len(build_corpus()) - 1


def test_every_word_must_match_else_any_word_with_notice(loaded: SearchBackend) -> None:
    both = ask(loaded, "数字孪生 工业互联网")
    assert ids(both) == [7] and both.notice is None
    relaxed = ask(loaded, "区块链 养老")
    assert set(ids(relaxed)) == {9, 11}
    assert relaxed.notice == ANY_WORD_NOTICE


def test_stop_words_only_browses(loaded: SearchBackend) -> None:
    assert ask(loaded, "的 了").total == len(build_corpus())


# -- filters, facets, derived status ----------------------------------------------------------


def oracle(
    q_filter=None,
    *,
    now=NOW,
    statuses=(),
    districts=(),
    domains=(),
    types=(),
    batch=None,
    bmin=None,
    bmax=None,
):
    """Expected records and disjunctive facets for an empty query, computed in plain Python."""
    docs = build_corpus()

    def passes(doc: SearchDocument, skip: str | None = None) -> bool:
        checks = {
            "type": not types or doc.doc_type in types,
            "district": not districts or doc.district in districts,
            "domain": not domains or doc.domain in domains,
            "status": not statuses
            or derive_status(doc.status, doc.deadline, now) in statuses
            or ("published" in statuses and doc.status == "published"),
            "batch": batch is None or batch in doc.batches,
            "budget": (bmin is None and bmax is None)
            or (
                doc.budget is not None
                and (bmin is None or doc.budget >= bmin)
                and (bmax is None or doc.budget <= bmax)
            ),
        }
        return all(ok for name, ok in checks.items() if name != skip)

    chosen = [d for d in docs if passes(d)]
    facets = {
        "type": Counter(d.doc_type for d in docs if passes(d, "type")),
        "district": Counter(d.district for d in docs if passes(d, "district") and d.district),
        "domain": Counter(d.domain for d in docs if passes(d, "domain") and d.domain),
        "status": Counter(
            derive_status(d.status, d.deadline, now) for d in docs if passes(d, "status") and d.status
        ),
        "batch": Counter(b for d in docs if passes(d, "batch") for b in d.batches),
        "budget": Counter(
            budget_band(d.budget) for d in docs if passes(d, "budget") and d.budget is not None
        ),
    }
    return chosen, {name: dict(counts) for name, counts in facets.items()}


FILTER_CASES = [
    {},
    {"districts": [LIANGJIANG]},
    {"districts": [YUZHONG, YUBEI], "domains": ["ai", "security", "data"]},
    {"types": ["scenario"], "statuses": ["open"]},
    {"statuses": ["closed", "awarded"]},
    {"statuses": ["published"]},
    {"batch": "3"},
    {"batch": "2", "districts": [YUZHONG]},
    {"budget_min": 200, "budget_max": 1000},
    {"budget_min": 1000},
]


@pytest.mark.parametrize("filters", FILTER_CASES, ids=lambda f: ",".join(f) or "none")
def test_filters_and_facet_counts(loaded: SearchBackend, filters: dict) -> None:
    results = ask(loaded, per_page=100, **filters)
    expected, facets = oracle(
        statuses=filters.get("statuses", ()),
        districts=filters.get("districts", ()),
        domains=filters.get("domains", ()),
        types=filters.get("types", ()),
        batch=filters.get("batch"),
        bmin=filters.get("budget_min"),
        bmax=filters.get("budget_max"),
    )
    assert results.total == len(expected)
    assert sorted(h.key for h in results.hits) == sorted(d.key for d in expected)
    for name, counts in facets.items():
        assert results.facets[name] == counts, name


def test_budget_facet_uses_the_defined_bands_in_order(loaded: SearchBackend) -> None:
    labels = list(ask(loaded).facets["budget"])
    assert labels == [b.label for b in BUDGET_BANDS if b.label in labels]
    assert ask(loaded).facets["budget"]["≥1000万"] == 3  # 1500, 1200, 2300


def test_facets_count_the_text_matches(loaded: SearchBackend) -> None:
    results = ask(loaded, "工业互联网")
    assert results.facets["type"] == {"scenario": 2}
    assert results.facets["district"] == {LIANGJIANG: 2}
    assert results.facets["theme"] == {"manufacturing": 2}


def test_open_and_closed_follow_the_clock_without_reindexing(loaded: SearchBackend) -> None:
    # Scenario 2's deadline is NOW + 5 days.
    assert ask(loaded, "智慧交通").hits[0].status == "open"
    later = ask(loaded, "智慧交通", now=NOW + timedelta(days=6))
    assert later.hits[0].status == "closed"
    assert 2 in ids(ask(loaded, statuses=["closed"], now=NOW + timedelta(days=6), per_page=100))
    assert 2 not in ids(ask(loaded, statuses=["open"], now=NOW + timedelta(days=6), per_page=100))
    # Scenario 4 closed 3 days ago; a week earlier it was open.
    assert ask(loaded, "推荐算法").hits[0].status == "closed"
    assert ask(loaded, "推荐算法", now=NOW - timedelta(days=7)).hits[0].status == "open"
    # No deadline (13) counts as open; other statuses pass through.
    open_ids = ids(ask(loaded, statuses=["open"], per_page=100))
    assert 13 in open_ids and 8 not in open_ids
    assert ask(loaded, "数据共享").hits[0].status == "awarded"


# -- sorting and paging -----------------------------------------------------------------------


def _expected_order(sort: str) -> list[tuple[str, int]]:
    docs = build_corpus()
    now_ts = NOW.timestamp()

    def newest(d: SearchDocument) -> float:
        return -d.published_at.timestamp() if d.published_at else math.inf

    def key(d: SearchDocument):
        tail = (newest(d), d.doc_type, d.doc_id)
        if sort == "budget":
            return (-(d.budget if d.budget is not None else -math.inf), *tail)
        if sort == "deadline":
            if d.deadline is None:
                return (2, 0.0, *tail)
            ts = d.deadline.timestamp()
            return (0, ts, *tail) if ts > now_ts else (1, -ts, *tail)
        return tail

    return [d.key for d in sorted(docs, key=key)]


@pytest.mark.parametrize("sort", ["newest", "deadline", "budget", "relevance"])
def test_sorting_of_browse_results(loaded: SearchBackend, sort: str) -> None:
    results = ask(loaded, sort=sort, per_page=100)
    expected = _expected_order("newest" if sort == "relevance" else sort)
    assert [h.key for h in results.hits] == expected


def test_sort_applies_to_text_matches(loaded: SearchBackend) -> None:
    assert ids(ask(loaded, "平台", sort="budget"))[:3] == [14, 5, 7]
    assert ids(ask(loaded, "平台", sort="newest"))[0] == 3


def test_pagination(loaded: SearchBackend) -> None:
    full = [h.key for h in ask(loaded, sort="deadline", per_page=100).hits]
    pages = [ask(loaded, sort="deadline", page=p, per_page=5) for p in (1, 2, 3, 4)]
    assert [len(p.hits) for p in pages] == [5, 5, 5, 2]
    assert [h.key for p in pages for h in p.hits] == full
    assert all(p.total == 17 and p.pages == 4 for p in pages)
    beyond = ask(loaded, page=9, per_page=5)
    assert beyond.hits == [] and beyond.total == 17


def test_query_parameters_are_normalised() -> None:
    q = SearchQuery(page=-3, per_page=10_000, sort="nonsense", types="scenario", districts=["", YUBEI])
    assert (q.page, q.per_page, q.sort) == (1, 100, "relevance")
    assert (q.types, q.districts) == (("scenario",), (YUBEI,))


# -- highlighting and escaping ----------------------------------------------------------------


def test_highlighting_marks_matched_words(loaded: SearchBackend) -> None:
    hit = ask(loaded, "人工智能").hits[0]
    assert hit.title_html == "<mark>人工智能</mark>辅助行政审批系统建设"
    assert "利用<mark>人工智能</mark>技术" in hit.snippet_html
    compound = ask(loaded, "交通").hits[0]
    assert compound.title_html == "智慧<mark>交通</mark>信号灯控制系统升级"
    assert hit.url == "/scenarios/1"


def test_document_text_is_html_escaped(backend: SearchBackend) -> None:
    backend.index(
        [
            SearchDocument(
                "scenario",
                1,
                '<script>alert("x")</script>数据治理',
                "数据治理 & <b>清洗</b>，比较 a<b 且 c>d。",
            )
        ]
    )
    hit = ask(backend, "数据治理").hits[0]
    assert hit.title_html == "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;<mark>数据治理</mark>"
    assert hit.snippet_html.startswith("<mark>数据治理</mark> &amp; &lt;b&gt;清洗&lt;/b&gt;")
    assert "<b>" not in hit.snippet_html and "<script" not in hit.title_html


# -- maintenance ------------------------------------------------------------------------------


def test_update_remove_and_versions(backend: SearchBackend) -> None:
    first = SearchDocument("scenario", 1, "智慧停车诱导系统", "")
    backend.index([first, SearchDocument("enterprise", 1, "重庆停车科技有限公司", "")])
    assert sorted(ids(ask(backend, "停车"))) == [1, 1]
    changed = SearchDocument("scenario", 1, "智慧公交调度系统", "")
    backend.index([changed])
    assert [h.key for h in ask(backend, "停车").hits] == [("enterprise", 1)]
    assert backend.keys_and_versions() == {
        ("scenario", 1): changed.fingerprint,
        ("enterprise", 1): SearchDocument("enterprise", 1, "重庆停车科技有限公司", "").fingerprint,
    }
    backend.remove([("enterprise", 1), ("enterprise", 999)])
    assert ask(backend, "停车").total == 0
    assert set(backend.keys_and_versions()) == {("scenario", 1)}
    backend.apply([SearchDocument("scenario", 2, "停车", "")], [("scenario", 1)])
    assert set(backend.keys_and_versions()) == {("scenario", 2)}
    backend.clear()
    assert backend.keys_and_versions() == {} and backend.healthy()


def test_check_reports_missing_stale_and_orphaned(
    loaded: SearchBackend, corpus: list[SearchDocument]
) -> None:
    assert check_index(loaded, corpus).ok
    database = [d for d in corpus if d.doc_id != 9]  # 9 withdrawn: still indexed
    database.append(SearchDocument("scenario", 99, "新场景", ""))  # never indexed
    database = [
        SearchDocument("scenario", 1, "人工智能审批（改）", "") if d.doc_id == 1 else d for d in database
    ]
    report = check_index(loaded, database)
    assert report.missing == [("scenario", 99)]
    assert report.stale == [("scenario", 1)]
    assert report.orphaned == [("scenario", 9)]
    assert not report.ok


def test_rebuild_replaces_everything(loaded: SearchBackend) -> None:
    assert loaded.rebuild([SearchDocument("scenario", 7, "只剩这一条", "")]) == 1
    assert ask(loaded).total == 1
    progress: list[int] = []
    assert loaded.rebuild(build_corpus(), progress=progress.append) == 17
    assert progress[-1] == 17 and ask(loaded).total == 17
