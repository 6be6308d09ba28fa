"""Issue 13.6, Whoosh speed: the faster paths give what the plain ones gave.

The rebuild's segment writer writes what Whoosh's own writer writes; posting lists, lengths and
numbers read in bulk equal Whoosh's per-document reads; highlight spans equal the tokens'.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import pytest
from whoosh import query, writing
from whoosh.filedb.filestore import RamStorage

from marketplace.search.analysis import analyse, index_positions, index_tokens, shingle
from marketplace.search.documents import SearchDocument, SearchQuery
from marketplace.search.whoosh_backend import (
    WhooshBackend,
    _codec,
    _Evaluator,
    _fields_of,
    build_schema,
)
from marketplace.search.whoosh_reading import read_postings
from marketplace.search.whoosh_writer import RebuildSegmentWriter
from marketplace.text.tokenizer import iter_tokens, token_spans

from .conftest import build_corpus

TEXT_FIELDS = ("title", "body", "extra")


def _documents() -> list[SearchDocument]:
    """The test corpus, then 300 variants of it: frequent terms get more postings than one
    block of the codec holds (128), and positions lists of several entries."""
    corpus = build_corpus()
    docs = list(corpus)
    for i in range(300):
        base = corpus[i % len(corpus)]
        docs.append(
            dataclasses.replace(
                base,
                doc_id=1000 + i,
                title=f"{base.title}（第{i}期）智慧交通",
                body=f"{base.body} 数据数据与数据，信息安全 ISO 27001、C++ 和 5G+ 平台{i % 7}。{base.body}",
                extra=base.extra if i % 3 else "",
                district=None if i % 5 == 0 else base.district,
                batches=() if i % 4 == 0 else (*base.batches, str(i % 9)),
            )
        )
    return docs


def _build(writer_class: type[writing.SegmentWriter], docs: list[SearchDocument]) -> Any:
    ix = RamStorage().create_index(build_schema())
    main = ix.writer(codec=_codec())
    sub = writer_class(ix, _lk=False, codec=_codec())
    for doc in docs:
        sub.add_document(**_fields_of(doc))
    segment = sub._finalize_segment()
    main.commit(mergetype=lambda _writer, _old: [segment])
    return ix


def _contents(ix: Any) -> dict[str, Any]:
    with ix.reader() as reader:
        postings: dict[tuple[str, bytes], list[tuple[int, float, bytes]]] = {}
        for fieldname in sorted(reader.indexed_field_names()):
            for term in reader.lexicon(fieldname):
                matcher = reader.postings(fieldname, term)
                found = []
                while matcher.is_active():
                    found.append((matcher.id(), matcher.weight(), matcher.value()))
                    matcher.next()
                postings[(fieldname, term)] = found
        size = reader.doc_count_all()
        return {
            "postings": postings,
            "stored": [reader.stored_fields(n) for n in range(size)],
            "columns": {name: list(reader.column_reader(name)) for name in ("nums", "fingerprint")},
            "lengths": {name: [reader.doc_field_length(n, name) for n in range(size)] for name in TEXT_FIELDS},
            "totals": {name: reader.field_length(name) for name in TEXT_FIELDS},
            "positions": {
                (name, term): list(reader.postings(name, term).items_as("positions"))
                for name in TEXT_FIELDS
                for term in list(reader.lexicon(name))[:200]
            },
        }


def test_the_rebuild_writer_writes_the_same_index_as_whoosh() -> None:
    docs = _documents()
    expected = _contents(_build(writing.SegmentWriter, docs))
    got = _contents(_build(RebuildSegmentWriter, docs))
    assert max(len(p) for p in expected["postings"].values()) > 2 * 128  # several blocks
    assert any(len(p) > 1 for p in expected["positions"].values())
    assert got["postings"].keys() == expected["postings"].keys()
    assert got == expected


def test_index_positions_groups_the_index_tokens() -> None:
    texts = ["", "信息与安全", "个人信息安全", "ISO 27001认证 数据数据数据", "智慧交通信号灯控制系统，工业互联网平台 5G+ C++"]
    for doc in _documents():
        texts += [doc.title, doc.body, doc.extra]
    for text in texts:
        expected: dict[str, list[int]] = {}
        for token in index_tokens(text):
            expected.setdefault(token.text, []).append(token.pos)
        assert index_positions(text) == expected
        assert index_positions(text) == expected  # (memoised for short texts)


def test_the_rebuild_writer_refuses_what_it_does_not_write() -> None:
    ix = RamStorage().create_index(build_schema())
    main = ix.writer(codec=_codec())
    sub = RebuildSegmentWriter(ix, _lk=False, codec=_codec())
    with pytest.raises(ValueError):
        sub.add_document(key="scenario:1", title="标题", _boost=2.0)
    sub._close_segment()
    main.cancel()


def test_posting_lists_read_a_block_at_a_time_are_the_whole_lists() -> None:
    ix = _build(RebuildSegmentWriter, _documents())
    with ix.reader() as reader:
        checked = 0
        for fieldname in ("title", "body", "extra", "district", "batches"):
            for term in reader.lexicon(fieldname):
                matcher = reader.postings(fieldname, term)
                expected_ids, expected_tf = [], []
                while matcher.is_active():
                    expected_ids.append(matcher.id())
                    expected_tf.append(matcher.weight())
                    matcher.next()
                ids, tf = read_postings(reader, fieldname, term.decode("utf-8"))
                assert ids.tolist() == expected_ids and tf.tolist() == expected_tf
                checked += len(expected_ids) > 128
        assert checked  # lists of several blocks
        assert read_postings(reader, "body", "没有的词")[0].tolist() == []


def test_segment_arrays_read_in_bulk_match_whoosh_per_document(tmp_path: Path) -> None:
    backend = WhooshBackend(tmp_path, rebuild_chunk=100)
    backend.rebuild(_documents())
    backend.index([dataclasses.replace(build_corpus()[0], title="更新后的标题", budget=None)])
    searcher = backend._searcher()
    checked = 0
    for sub, _offset in searcher.leaf_searchers():
        reader = sub.reader()
        size = reader.doc_count_all()
        data = backend._segment_data(sub)
        for name in TEXT_FIELDS:
            assert data.lengths[name].tolist() == [reader.doc_field_length(n, name, 0) or 0 for n in range(size)]
        raw = b"".join(reader.column_reader("nums", translate=False))
        assert data.nums.tobytes() == raw
        for term in list(reader.lexicon("title"))[:50]:  # (a segment with a deletion too)
            matcher = reader.postings("title", term)
            matcher = getattr(matcher, "child", matcher)
            expected = []
            while matcher.is_active():
                expected.append(matcher.id())
                matcher.next()
            assert read_postings(reader, "title", term.decode("utf-8"))[0].tolist() == expected
        checked += size
    assert checked == len(_documents()) + 1
    backend.close()


def test_token_spans_are_the_offsets_of_the_wanted_tokens() -> None:
    texts = ["基于ＡＩ的智慧交通（试点），ＩＳＯ　27001认证", "信息与安全", "", "ｃ＋＋ 与 C# 开发"]
    texts += [doc.body for doc in _documents()[:40]]
    wanted_sets = [{"交通"}, {"智慧交通", "智慧", "ai"}, {"iso", "27001", "信息"}, {"c++", "c#"}, {"没有"}, set()]
    for text in texts:
        for wanted in wanted_sets:
            expected = [(s, e) for tok, s, e in iter_tokens(text) if tok in wanted]
            assert token_spans(text, frozenset(wanted)) == expected


def test_consecutive_phrase_check_matches_whoosh_phrase_queries(tmp_path: Path) -> None:
    backend = WhooshBackend(tmp_path, rebuild_chunk=120)
    docs = _documents()
    backend.rebuild(docs)
    backend.index([dataclasses.replace(docs[0], body="智慧交通信号灯控制系统")])  # a deletion too
    searcher = backend._searcher()
    evaluator = _Evaluator(backend, searcher, backend._view(searcher))
    everything = backend._view(searcher).live.copy()
    checked = 0
    for phrase in ("信息安全平台", "数据数据数据", "智慧交通信号灯", "平台3", "交通信号灯控制系统", "安全 ISO 27001"):
        leaves = [w.text for word in analyse(phrase) for w in word.leaves]
        tokens = [shingle(a, b) for a, b in zip(leaves, leaves[1:], strict=False)]
        for fieldname in TEXT_FIELDS:
            expected = sorted(evaluator._match_ids(query.Phrase(fieldname, tokens)).tolist())
            assert sorted(evaluator._consecutive_ids(fieldname, tokens, everything).tolist()) == expected
            checked += len(expected)
    assert checked
    backend.close()


def test_the_rebuild_pauses_the_cyclic_gc_and_restores_it(tmp_path: Path) -> None:
    import gc

    seen: list[bool] = []

    def docs() -> Any:
        for doc in build_corpus():
            seen.append(gc.isenabled())
            yield doc

    assert gc.isenabled()
    WhooshBackend(tmp_path).rebuild(docs())
    assert seen and not any(seen)
    assert gc.isenabled()
    gc.disable()
    try:
        WhooshBackend(tmp_path).rebuild(build_corpus())
        assert not gc.isenabled()  # (left as it was)
    finally:
        gc.enable()


def _contents_by_key(backend: WhooshBackend) -> dict[str, Any]:
    """Every live document's stored fields, postings (weight and positions), numbers and
    field lengths, by key (independent of which segment holds it)."""
    ix = backend._open_index()
    found: dict[str, Any] = {}
    with ix.reader() as reader:
        keys = {n: fields["key"] for n, fields in reader.iter_docs()}
        for docnum, key in keys.items():
            found[key] = {
                "stored": reader.stored_fields(docnum),
                "lengths": [reader.doc_field_length(docnum, name) for name in TEXT_FIELDS],
                "nums": reader.column_reader("nums", translate=False)[docnum],
                "postings": {},
            }
        for fieldname in sorted(reader.indexed_field_names()):
            for term in reader.lexicon(fieldname):
                matcher = reader.postings(fieldname, term)
                while matcher.is_active():
                    posting = (matcher.weight(), matcher.value())
                    found[keys[matcher.id()]]["postings"][(fieldname, term)] = posting
                    matcher.next()
        segments = len(ix._segments())
    return {"documents": found, "segments": segments}


def _spy_workers(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    import marketplace.search.whoosh_backend as whoosh_backend

    started: list[int] = []
    real = whoosh_backend.SegmentWorkers

    def spy(*args: Any, **kwargs: Any) -> Any:
        started.append(args[3])
        return real(*args, **kwargs)

    monkeypatch.setattr(whoosh_backend, "SegmentWorkers", spy)
    # (Fork even if another test left a thread running: these tests start none.)
    monkeypatch.setattr(
        whoosh_backend, "fork_workers", lambda wanted=None: wanted if wanted and wanted > 1 else 0
    )
    return started


def test_a_rebuild_in_worker_processes_indexes_the_same_documents(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import multiprocessing
    import threading

    started = _spy_workers(monkeypatch)
    docs = _documents()
    serial = WhooshBackend(tmp_path / "one", rebuild_chunk=100, rebuild_workers=1)
    assert serial.rebuild(docs) == len(docs)
    assert started == []
    parallel = WhooshBackend(tmp_path / "two", rebuild_chunk=100, rebuild_workers=2, rebuild_parallel_min=50)
    progress: list[int] = []
    assert parallel.rebuild(docs, progress=progress.append) == len(docs)
    assert started == [2]
    assert progress[-1] == len(docs)
    assert not multiprocessing.active_children()
    # (No queue thread left behind: a next rebuild in this process may fork.)
    assert not [t for t in threading.enumerate() if t.name == "QueueFeederThread"]
    assert parallel.rebuild(docs) == len(docs)
    assert started == [2, 2]
    expected, got = _contents_by_key(serial), _contents_by_key(parallel)
    assert got["segments"] >= 4  # (each worker's 100-document segments and its last one)
    assert len(got["documents"]) == len(docs)
    assert got["documents"] == expected["documents"]
    for q in ("智慧交通", '"信息安全"', "数据 -交通", ""):
        query_ = SearchQuery(q=q, per_page=50)
        a, b = serial.query(query_), parallel.query(query_)
        assert (a.total, a.facets) == (b.total, b.facets)
        assert [(h.doc_type, h.doc_id) for h in a.hits] == [(h.doc_type, h.doc_id) for h in b.hits]
    serial.close()
    parallel.close()


def test_a_failing_worker_fails_the_rebuild_and_keeps_the_index(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import multiprocessing

    from marketplace.search.backend import SearchUnavailable
    from marketplace.search.documents import SearchQuery

    _spy_workers(monkeypatch)
    backend = WhooshBackend(tmp_path, rebuild_chunk=100, rebuild_workers=2, rebuild_parallel_min=50)
    corpus = build_corpus()
    backend.rebuild(corpus)  # (small: one process)
    before = backend.query(SearchQuery(q="", per_page=50))
    real = RebuildSegmentWriter.add_document

    def failing(self: Any, **fields: Any) -> None:
        if fields["key"] == "scenario:1200":
            raise ValueError("broken record")
        real(self, **fields)

    monkeypatch.setattr(RebuildSegmentWriter, "add_document", failing)  # (inherited by the forked workers)
    with pytest.raises((RuntimeError, SearchUnavailable), match="broken record"):
        backend.rebuild(_documents())
    assert not multiprocessing.active_children()
    after = WhooshBackend(tmp_path).query(SearchQuery(q="", per_page=50))
    assert after.total == before.total == len(corpus)
    assert WhooshBackend(tmp_path).state()["state"] == "ok"


def test_worker_processes_only_where_forking_is_safe(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import threading

    import marketplace.search.whoosh_writer as whoosh_writer
    from marketplace.search.whoosh_writer import fork_workers

    with monkeypatch.context() as patched:
        patched.setattr(whoosh_writer.threading, "active_count", lambda: 1)  # (whatever other tests left)
        assert fork_workers(2) == 2
        assert fork_workers(1) == 0
    stop = threading.Event()
    thread = threading.Thread(target=stop.wait)
    thread.start()
    try:
        assert fork_workers(2) == 0  # another thread may hold a lock the child would inherit
        started = _spy_workers(monkeypatch)
        import marketplace.search.whoosh_backend as whoosh_backend

        monkeypatch.setattr(whoosh_backend, "fork_workers", fork_workers)  # (the real one)
        backend = WhooshBackend(tmp_path, rebuild_workers=2, rebuild_parallel_min=50)
        assert backend.rebuild(_documents()) == len(_documents())
        assert started == []
    finally:
        stop.set()
        thread.join()
    memory = WhooshBackend(":memory:", rebuild_workers=2, rebuild_parallel_min=50)
    assert memory.rebuild(_documents()) == len(_documents())  # (workers cannot reach memory)
    assert started == []


def test_term_arrays_of_rebuilt_segments_are_the_posting_lists(tmp_path: Path) -> None:
    from marketplace.search.whoosh_reading import TERM_ARRAYS_EXT, TermArrays

    for backend in (WhooshBackend(tmp_path, rebuild_chunk=100), WhooshBackend(":memory:", rebuild_chunk=100)):
        backend.rebuild(_documents())
        backend.index([dataclasses.replace(build_corpus()[0], title="更新后的标题")])  # a segment without
        searcher = backend._searcher()
        backend._view(searcher)
        with_arrays = checked = 0
        for sub, _offset in searcher.leaf_searchers():
            reader = sub.reader()
            segid = reader.segment().segment_id()
            arrays = backend._term_arrays(segid)
            if arrays is None:
                continue
            with_arrays += 1
            assert arrays.doc_count == reader.doc_count_all()
            deleted = set(reader.segment().deleted_docs() or ())
            for fieldname in TEXT_FIELDS:
                terms = [t.decode("utf-8") for t in reader.lexicon(fieldname)]
                for token in [*terms, "没有的词", "", "\uffff", terms[0][:1]]:
                    expected = read_postings(reader, fieldname, token)
                    got = arrays.postings(fieldname, token)
                    if deleted:  # (the deletion filter may skip deleted documents: masked anyway)
                        keep = [i for i, n in enumerate(got[0].tolist()) if n not in deleted]
                        got = (got[0][keep], got[1][keep])
                        keep = [i for i, n in enumerate(expected[0].tolist()) if n not in deleted]
                        expected = (expected[0][keep], expected[1][keep])
                    assert got[0].tolist() == expected[0].tolist(), token
                    assert got[1].tolist() == expected[1].tolist(), token
                    assert got[0].dtype == expected[0].dtype and got[1].dtype == expected[1].dtype
                    checked += 1
        assert with_arrays == 4 and checked  # (the rebuild's 4 segments; not the update's)
        assert backend.query(SearchQuery(q="更新后的标题")).total == 1
        files = set(backend._storage().list())
        backend.rebuild(build_corpus())
        backend._view(backend._searcher())
        left = {name for name in backend._storage().list() if name.endswith(TERM_ARRAYS_EXT)}
        assert len(left) == 1 and not left & files  # (removed with their segments)
        assert TermArrays.open(backend._storage(), "MAIN_none.tfs") is None
        backend.close()
