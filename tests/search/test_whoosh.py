"""Whoosh-only behaviour: several writing processes, lock timeouts, broken index directories."""

from __future__ import annotations

import logging
import multiprocessing
from pathlib import Path

import pytest
from whoosh.filedb.filestore import FileStorage

from marketplace.search.backend import SearchUnavailable
from marketplace.search.documents import INDEX_UNAVAILABLE_NOTICE, SearchDocument, SearchQuery
from marketplace.search.whoosh_backend import INDEX_NAME, WhooshBackend

from .conftest import build_corpus

WORKERS = 4
DOCS_PER_WORKER = 25


def _write_docs(index_dir: str, worker: int, start: multiprocessing.synchronize.Event) -> None:
    """Child process: 25 documents, one commit each, as a gunicorn worker would after requests."""
    backend = WhooshBackend(index_dir, writer_timeout=30)
    start.wait()
    for i in range(DOCS_PER_WORKER):
        doc_id = worker * 1000 + i
        backend.index([SearchDocument("scenario", doc_id, f"并发写入测试场景{doc_id}", "智慧城市")])
    backend.close()


def _context() -> multiprocessing.context.BaseContext:
    methods = multiprocessing.get_all_start_methods()
    return multiprocessing.get_context("fork" if "fork" in methods else "spawn")


def test_concurrent_writer_processes_lose_no_update(tmp_path: Path) -> None:
    index_dir = str(tmp_path / "index")
    WhooshBackend(index_dir).rebuild([])
    ctx = _context()
    start = ctx.Event()
    workers = [ctx.Process(target=_write_docs, args=(index_dir, w, start)) for w in range(WORKERS)]
    for process in workers:
        process.start()
    start.set()
    for process in workers:
        process.join(timeout=120)
    assert [p.exitcode for p in workers] == [0] * WORKERS
    backend = WhooshBackend(index_dir)
    keys = backend.keys_and_versions()
    assert len(keys) == WORKERS * DOCS_PER_WORKER
    assert {doc_id for _, doc_id in keys} == {
        w * 1000 + i for w in range(WORKERS) for i in range(DOCS_PER_WORKER)
    }
    assert backend.query(SearchQuery(q="智慧城市", per_page=5)).total == 100
    backend.close()


def test_lock_timeout_is_reported_and_the_change_retried(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    backend = WhooshBackend(tmp_path, writer_timeout=0.2)
    backend.rebuild([])
    lock = FileStorage(str(tmp_path)).lock(f"{INDEX_NAME}_WRITELOCK")
    assert lock.acquire(blocking=False)
    try:
        with caplog.at_level(logging.ERROR, logger="marketplace.search"), pytest.raises(SearchUnavailable):
            backend.index([SearchDocument("scenario", 1, "被锁住的写入", "")])
        assert "lock not obtained" in caplog.text
    finally:
        lock.release()
    backend.index([SearchDocument("scenario", 2, "下一次写入", "")])
    assert set(backend.keys_and_versions()) == {("scenario", 1), ("scenario", 2)}
    backend.close()


def test_missing_directory_gives_a_notice_then_rebuild_repairs(tmp_path: Path) -> None:
    index_dir = tmp_path / "index"
    backend = WhooshBackend(index_dir)
    backend.rebuild(build_corpus())
    assert backend.query(SearchQuery(q="区块链")).total == 1
    for child in index_dir.iterdir():
        child.unlink()
    index_dir.rmdir()

    results = backend.query(SearchQuery(q="区块链"))
    assert results.total == 0 and results.hits == []
    assert results.notice == INDEX_UNAVAILABLE_NOTICE
    assert not backend.healthy()

    backend.rebuild(build_corpus())
    assert backend.healthy()
    results = backend.query(SearchQuery(q="区块链"))
    assert results.total == 1 and results.notice is None
    backend.close()


def test_corrupt_segment_files_give_a_notice_then_rebuild_repairs(tmp_path: Path) -> None:
    WhooshBackend(tmp_path).rebuild(build_corpus())
    segments = [p for p in tmp_path.iterdir() if p.name.startswith(f"{INDEX_NAME}_")]
    assert segments
    for path in segments:
        path.write_bytes(b"\x00garbage\xff" * 64)

    backend = WhooshBackend(tmp_path)  # a fresh process opening the damaged index
    results = backend.query(SearchQuery(q="区块链"))
    assert results.notice == INDEX_UNAVAILABLE_NOTICE and results.total == 0
    assert not backend.healthy()
    with pytest.raises(SearchUnavailable):
        backend.index([SearchDocument("scenario", 1, "写不进去", "")])

    assert backend.rebuild(build_corpus()) == 17
    assert backend.healthy()
    assert [h.doc_id for h in backend.query(SearchQuery(q="区块链")).hits] == [9]
    backend.close()


def test_garbage_table_of_contents_is_rebuilt(tmp_path: Path) -> None:
    WhooshBackend(tmp_path).rebuild(build_corpus())
    for toc in tmp_path.glob(f"_{INDEX_NAME}_*.toc"):
        toc.write_bytes(b"not a toc")
    backend = WhooshBackend(tmp_path)
    assert backend.query(SearchQuery(q="养老")).notice == INDEX_UNAVAILABLE_NOTICE
    backend.rebuild(build_corpus())
    assert [h.doc_id for h in backend.query(SearchQuery(q="养老")).hits] == [11]
    backend.close()


def test_a_long_lived_reader_sees_other_processes_writes(tmp_path: Path) -> None:
    reader = WhooshBackend(tmp_path)
    writer = WhooshBackend(tmp_path)  # stands for another worker process
    writer.rebuild(build_corpus())
    assert reader.query(SearchQuery(q="养老")).total == 1
    writer.remove([("scenario", 11)])
    assert reader.query(SearchQuery(q="养老")).total == 0
    writer.index([SearchDocument("scenario", 11, "居家养老服务", "")])
    assert reader.query(SearchQuery(q="养老")).total == 1
    reader.close()
    writer.close()


def test_in_memory_index() -> None:
    backend = WhooshBackend(":memory:")
    assert backend.healthy() and backend.query(SearchQuery()).total == 0
    backend.index(build_corpus())
    assert backend.query(SearchQuery(q="应急")).hits[0].doc_id == 14
    backend.clear()
    assert backend.query(SearchQuery()).total == 0


def test_rebuild_writes_chunks_as_segments_published_together(tmp_path: Path) -> None:
    backend = WhooshBackend(tmp_path, rebuild_chunk=5)
    backend.rebuild(build_corpus())
    with backend._open_index().searcher() as searcher:
        assert len(searcher.leaf_searchers()) == 4  # 17 documents in chunks of 5
    assert len(backend.keys_and_versions()) == 17
    assert [h.doc_id for h in backend.query(SearchQuery(q="区块链")).hits] == [9]
    backend.index([SearchDocument("scenario", 9, "区块链存证（更新）", "")])
    assert backend.query(SearchQuery(q="区块链")).total == 1
    backend.rebuild(build_corpus()[:3])
    assert len(backend.keys_and_versions()) == 3
    segment_files = {p.name for p in tmp_path.glob("*.seg")}
    assert len(segment_files) == 1  # the old segments' files are gone
    backend.close()


def test_a_writer_never_creates_a_missing_index(tmp_path: Path) -> None:
    """Issue 12.10: a write that finds no index fails (the caller logs it) and leaves the index
    missing, so searches keep their notice until a rebuild; nothing answers "1 result"."""
    index_dir = tmp_path / "index"
    backend = WhooshBackend(index_dir)
    assert backend.state() == {"backend": "whoosh", "state": "missing", "documents": None}
    with pytest.raises(SearchUnavailable):
        backend.index([SearchDocument("scenario", 1, "区块链电子证照", "")])
    assert not index_dir.exists()
    assert backend.query(SearchQuery(q="区块链")).notice == INDEX_UNAVAILABLE_NOTICE
    assert backend.state()["state"] == "missing"

    assert backend.rebuild(build_corpus()) == 17
    assert backend.state() == {"backend": "whoosh", "state": "ok", "documents": 17}
    backend.index([SearchDocument("scenario", 1000, "区块链电子证照", "")])
    assert backend.state()["documents"] == 18
    backend.close()


def test_a_rebuild_from_nothing_is_not_searchable_until_it_commits(tmp_path: Path) -> None:
    """While a rebuild of a missing index runs, its first empty commit is not served as an empty
    site: readers see "rebuilding"; a rebuild that died half-way leaves "incomplete"."""
    backend = WhooshBackend(tmp_path / "index")
    seen: list[tuple[str, str | None]] = []

    def docs():
        for i, doc in enumerate(build_corpus()):
            if i == 5:
                results = backend.query(SearchQuery(q="区块链"))
                seen.append((backend.state()["state"], results.notice))
            yield doc

    assert backend.rebuild(docs()) == 17
    assert seen == [("rebuilding", INDEX_UNAVAILABLE_NOTICE)]
    assert backend.query(SearchQuery(q="区块链")).total == 1

    # A rebuild that fails before its commit leaves a marked, unsearchable index.
    other = WhooshBackend(tmp_path / "other")

    def failing():
        yield from build_corpus()[:3]
        raise RuntimeError("database went away")

    with pytest.raises(RuntimeError):
        other.rebuild(failing())
    assert other.state()["state"] == "incomplete"
    assert other.query(SearchQuery(q="区块链")).notice == INDEX_UNAVAILABLE_NOTICE
    assert not other.healthy()
    assert other.rebuild(build_corpus()) == 17
    assert other.state() == {"backend": "whoosh", "state": "ok", "documents": 17}
    backend.close()
    other.close()


def test_state_names_a_corrupt_index(tmp_path: Path) -> None:
    WhooshBackend(tmp_path).rebuild(build_corpus())
    for toc in tmp_path.glob(f"_{INDEX_NAME}_*.toc"):
        toc.write_bytes(b"not a toc")
    assert WhooshBackend(tmp_path).state()["state"] == "corrupt"
