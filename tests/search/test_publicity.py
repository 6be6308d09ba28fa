"""公示中 (``publicity``) in the search contract, on every backend: an awarded record whose award notice
is still running is shown, counted in the status facet and filtered as ``publicity``, apart from the final
``awarded`` (已揭榜); the clock decides, as for open / closed, without re-indexing."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from marketplace.search.backend import SearchBackend, check_index
from marketplace.search.documents import UNTIL_DECIDED, SearchDocument, SearchQuery, derive_status

from .conftest import NOW, both_backends, build_corpus

DAY = timedelta(days=1)


def _awarded(doc_id: int, title: str, publicity_until=None, status: str = "awarded") -> SearchDocument:
    return SearchDocument(
        "scenario", doc_id, title, "城市治理场景，已确定揭榜单位。", district="500103", domain="data", status=status,
        budget=300, published_at=NOW - 40 * DAY, deadline=NOW - 10 * DAY, url=f"/scenarios/{doc_id}",
        publicity_until=publicity_until)


def publicity_docs() -> list[SearchDocument]:
    """Awarded scenarios in every 公示 state, and an open call."""
    return [
        _awarded(301, "智慧水务管网漏损监测", NOW + 2 * DAY),  # notice runs two more days
        _awarded(302, "智慧水务二次供水监管", NOW - DAY),  # notice ended yesterday: final
        _awarded(303, "智慧水务用水量预测", None),  # awarded before notices existed: final
        _awarded(304, "智慧水务泵站巡检机器人", UNTIL_DECIDED),  # ended, objection undecided
        _awarded(305, "智慧水务水质数据中台", NOW + 3 * DAY, status="in_delivery"),  # (only awarded is derived)
        SearchDocument("scenario", 306, "智慧水务客服热线智能化", "征集中的场景。", district="500103", domain="data",
                       status="published", budget=80, published_at=NOW - DAY, deadline=NOW + 5 * DAY,
                       url="/scenarios/306"),
    ]


def ask(backend: SearchBackend, q: str = "", **kwargs):
    kwargs.setdefault("now", NOW)
    kwargs.setdefault("per_page", 100)
    return backend.query(SearchQuery(q=q, **kwargs))


def statuses(results) -> dict[int, str | None]:
    return {hit.doc_id: hit.status for hit in results.hits}


@pytest.fixture
def loaded(backend: SearchBackend) -> SearchBackend:
    backend.rebuild(publicity_docs())
    return backend


def test_derive_status_splits_awarded_by_the_notice() -> None:
    assert derive_status("awarded", None, NOW, NOW + DAY) == "publicity"
    assert derive_status("awarded", None, NOW, NOW) == "awarded"  # ends at NOW: over
    assert derive_status("awarded", None, NOW, None) == "awarded"
    assert derive_status("awarded", None, NOW, UNTIL_DECIDED) == "publicity"
    assert derive_status("in_delivery", None, NOW, NOW + DAY) == "in_delivery"
    assert derive_status("published", NOW + DAY, NOW, NOW + DAY) == "open"


def test_hits_facet_and_filters_keep_publicity_apart(loaded: SearchBackend) -> None:
    everything = ask(loaded)
    assert statuses(everything) == {301: "publicity", 302: "awarded", 303: "awarded", 304: "publicity",
                                    305: "in_delivery", 306: "open"}
    assert everything.facets["status"] == {"awarded": 2, "publicity": 2, "in_delivery": 1, "open": 1}

    in_publicity = ask(loaded, statuses=["publicity"])
    assert sorted(statuses(in_publicity)) == [301, 304] and in_publicity.total == 2
    # The status facet ignores its own filter (the other values stay visible); the others apply it.
    assert in_publicity.facets["status"] == everything.facets["status"]
    assert in_publicity.facets["type"] == {"scenario": 2}
    final = ask(loaded, statuses=["awarded"])
    assert sorted(statuses(final)) == [302, 303] and set(statuses(final).values()) == {"awarded"}
    assert ask(loaded, statuses=["awarded", "publicity"]).total == 4
    assert ask(loaded, statuses=["published"]).total == 1  # (published = open or closed only)


def test_facet_counts_the_text_matches(loaded: SearchBackend) -> None:
    results = ask(loaded, "漏损 巡检")  # no record holds both: any word, with a notice
    assert results.notice and sorted(statuses(results)) == [301, 304]
    assert results.facets["status"] == {"publicity": 2}
    assert ask(loaded, "管网漏损").facets["status"] == {"publicity": 1}
    assert ask(loaded, "二次供水").facets["status"] == {"awarded": 1}


def test_the_notice_ending_makes_the_award_final_without_reindexing(loaded: SearchBackend) -> None:
    later = NOW + 2 * DAY + timedelta(seconds=1)
    assert statuses(ask(loaded, "管网漏损", now=later)) == {301: "awarded"}
    assert ask(loaded, now=later).facets["status"] == {"awarded": 3, "publicity": 1, "in_delivery": 1, "open": 1}
    assert sorted(statuses(ask(loaded, statuses=["awarded"], now=later))) == [301, 302, 303]
    assert sorted(statuses(ask(loaded, statuses=["publicity"], now=later))) == [304]  # objection undecided
    # A year on, the undecided objection still holds the award in 公示.
    assert statuses(ask(loaded, "泵站", now=NOW + 365 * DAY)) == {304: "publicity"}
    # Before the award notice of 302 ended, it was in 公示 too.
    assert statuses(ask(loaded, "二次供水", now=NOW - 2 * DAY)) == {302: "publicity"}


def test_withdrawal_and_decision_are_reindexed(loaded: SearchBackend) -> None:
    # An upheld objection withdraws 301's notice: the scenario is evaluated again (closed call, no notice).
    withdrawn = _awarded(301, "智慧水务管网漏损监测", None, status="published")
    # 304's objection dismissed: the notice (ended) no longer holds the award.
    dismissed = _awarded(304, "智慧水务泵站巡检机器人", NOW - DAY)
    assert not check_index(loaded, [withdrawn, dismissed, *publicity_docs()[1:3], *publicity_docs()[4:]]).ok
    loaded.index([withdrawn, dismissed])
    assert statuses(ask(loaded, "管网漏损")) == {301: "closed"}
    assert statuses(ask(loaded, "泵站")) == {304: "awarded"}
    assert "publicity" not in ask(loaded).facets["status"]
    assert ask(loaded, statuses=["publicity"]).total == 0


def test_the_end_of_the_notice_is_part_of_the_fingerprint() -> None:
    plain = _awarded(1, "标题")
    assert plain.fingerprint != _awarded(1, "标题", NOW).fingerprint != _awarded(1, "标题", UNTIL_DECIDED).fingerprint
    # Records without a notice keep the fingerprint they had before the field existed.
    assert plain.fingerprint == SearchDocument(
        "scenario", 1, "标题", "城市治理场景，已确定揭榜单位。", district="500103", domain="data", status="awarded",
        budget=300, published_at=NOW - 40 * DAY, deadline=NOW - 10 * DAY, url="/scenarios/1").fingerprint
    with pytest.raises(ValueError, match="publicity_until"):
        SearchDocument("scenario", 1, "标题", publicity_until=NOW.replace(tzinfo=None))


# -- both backends agree ------------------------------------------------------------------------

PARITY_QUERIES = [
    {},
    {"statuses": ["publicity"]},
    {"statuses": ["awarded"]},
    {"statuses": ["awarded", "open"], "sort": "deadline"},
    {"q": "智慧水务", "statuses": ["publicity"]},
    {"q": "智慧水务", "now": NOW + 2 * DAY + timedelta(seconds=1)},
    {"statuses": ["publicity"], "now": NOW + 30 * DAY},
    {"q": "平台", "statuses": ["awarded", "closed"]},
]


@pytest.fixture
def both(tmp_path: Path, pg_engine: sa.Engine) -> Iterator[tuple[SearchBackend, SearchBackend]]:
    yield from both_backends(tmp_path, pg_engine, [*build_corpus(), *publicity_docs()])


@pytest.mark.parametrize("params", PARITY_QUERIES, ids=repr)
def test_backends_agree_on_publicity(both: tuple[SearchBackend, SearchBackend], params: dict) -> None:
    whoosh, postgres = (ask(b, **params) for b in both)
    assert whoosh.total == postgres.total
    assert whoosh.facets["status"] == postgres.facets["status"]
    assert statuses(whoosh) == statuses(postgres)


def test_a_whoosh_index_written_before_the_column_reads_as_no_notice(tmp_path: Path, monkeypatch) -> None:
    """Upgrading keeps the existing Whoosh index readable: its segments have no ``publicity`` column, so their
    awards read as final until ``flask search reindex`` (or the record's next write)."""
    import marketplace.search.whoosh_backend as whoosh_backend

    current_schema, current_fields = whoosh_backend.build_schema, whoosh_backend._fields_of

    def schema_before():
        schema = current_schema()
        schema.remove("publicity")
        return schema

    monkeypatch.setattr(whoosh_backend, "build_schema", schema_before)
    monkeypatch.setattr(whoosh_backend, "_fields_of",
                        lambda doc: {k: v for k, v in current_fields(doc).items() if k != "publicity"})
    before = whoosh_backend.WhooshBackend(tmp_path, rebuild_workers=0)
    before.rebuild(publicity_docs())
    before.close()
    monkeypatch.undo()

    upgraded = whoosh_backend.WhooshBackend(tmp_path)
    results = ask(upgraded)
    assert results.total == 6 and statuses(results)[301] == "awarded"
    assert "publicity" not in results.facets["status"]
    upgraded.index([publicity_docs()[0]])  # written again: in the new segment, with its column
    assert statuses(ask(upgraded))[301] == "publicity" and ask(upgraded).facets["status"]["publicity"] == 1
    upgraded.close()
