"""Commit hooks: the index follows committed data only.  Uses toy models on in-memory SQLite."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator
from datetime import datetime

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column, relationship, sessionmaker

from marketplace.search.backend import RawPage, SearchBackend
from marketplace.search.documents import DocKey, SearchDocument, SearchQuery
from marketplace.search.query import ParsedQuery
from marketplace.search.sync import SearchSync
from marketplace.search.whoosh_backend import WhooshBackend

#: Where the hooks keep a transaction's changes (``session.info``).
_INFO_KEY = "marketplace.search.changes"


class ToyBase(DeclarativeBase):
    pass


class Batch(ToyBase):
    __tablename__ = "toy_batches"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str]
    items: Mapped[list[Item]] = relationship(back_populates="batch")


class Item(ToyBase):
    __tablename__ = "toy_items"
    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str]
    body: Mapped[str] = mapped_column(default="")
    status: Mapped[str] = mapped_column(default="draft")
    batch_id: Mapped[int | None] = mapped_column(sa.ForeignKey("toy_batches.id"))
    batch: Mapped[Batch | None] = relationship(back_populates="items")


class Note(ToyBase):
    """Not searchable: its changes must not disturb anything."""

    __tablename__ = "toy_notes"
    id: Mapped[int] = mapped_column(primary_key=True)
    text: Mapped[str]


def item_document(item: Item) -> SearchDocument:
    return SearchDocument(
        "scenario",
        item.id,
        item.title,
        item.body,
        extra=item.batch.name if item.batch else "",
        status=item.status,
        batches=(str(item.batch_id),) if item.batch_id else (),
    )


class RecordingBackend(SearchBackend):
    """Keeps documents in a dict and records every apply() call."""

    name = "recording"

    def __init__(self) -> None:
        self.docs: dict[DocKey, SearchDocument] = {}
        self.calls: list[tuple[list[DocKey], list[DocKey]]] = []
        self.fail = False

    def apply(self, upserts: Iterable[SearchDocument], removals: Iterable[DocKey]) -> None:
        upserts, removals = list(upserts), list(removals)
        self.calls.append(([d.key for d in upserts], removals))
        if self.fail:
            raise RuntimeError("index down")
        for key in removals:
            self.docs.pop(key, None)
        for doc in upserts:
            self.docs[doc.key] = doc

    def rebuild(self, docs, progress=None) -> int:
        self.docs = {d.key: d for d in docs}
        return len(self.docs)

    def clear(self) -> None:
        self.docs = {}

    def keys_and_versions(self) -> dict[DocKey, str]:
        return {k: d.fingerprint for k, d in self.docs.items()}

    def healthy(self) -> bool:
        return True

    def _execute(self, parsed: ParsedQuery, query: SearchQuery, mode, now: datetime) -> RawPage:
        return RawPage(0, [])


@pytest.fixture
def engine() -> Iterator[sa.Engine]:
    engine = sa.create_engine("sqlite://")

    # pysqlite needs this for SAVEPOINTs to behave (SQLAlchemy's documented recipe).
    @sa.event.listens_for(engine, "connect")
    def _no_implicit_transactions(dbapi_connection, _record) -> None:
        dbapi_connection.isolation_level = None

    @sa.event.listens_for(engine, "begin")
    def _begin(conn) -> None:
        conn.exec_driver_sql("BEGIN")

    ToyBase.metadata.create_all(engine)
    yield engine
    engine.dispose()


@pytest.fixture
def index() -> RecordingBackend:
    return RecordingBackend()


@pytest.fixture
def sync(index: RecordingBackend) -> Iterator[SearchSync]:
    sync = SearchSync(lambda: index)
    sync.register(
        Item,
        doc_type="scenario",
        to_document=item_document,
        is_public=lambda item: item.status in ("published", "awarded"),
    )
    sync.register_related(Batch, lambda batch: batch.items)
    yield sync
    sync.detach()


@pytest.fixture
def session(engine: sa.Engine, sync: SearchSync) -> Iterator[Session]:
    factory = sessionmaker(engine)
    sync.attach(factory)
    with factory() as session:
        yield session


def test_committed_public_records_are_indexed_drafts_are_not(
    session: Session, index: RecordingBackend
) -> None:
    session.add_all([Item(title="智慧交通", status="published"), Item(title="草稿场景", status="draft")])
    session.flush()
    assert index.calls == []  # nothing before commit
    session.commit()
    assert set(index.docs) == {("scenario", 1)}
    assert index.docs[("scenario", 1)].title == "智慧交通"
    assert len(index.calls) == 1  # one write per commit


def test_rollback_never_reaches_the_index(session: Session, index: RecordingBackend) -> None:
    session.add(Item(title="回滚的场景", status="published"))
    session.flush()
    session.rollback()
    session.add(Note(text="无关"))
    session.commit()
    assert index.calls == [] and index.docs == {}


def test_unflushed_changes_are_indexed_at_commit(session: Session, index: RecordingBackend) -> None:
    item = Item(title="直接提交", status="published")
    session.add(item)
    session.commit()
    assert set(index.docs) == {("scenario", item.id)}


def test_update_withdraw_and_delete(session: Session, index: RecordingBackend) -> None:
    item = Item(title="原标题", status="published")
    session.add(item)
    session.commit()
    item.title = "新标题"
    session.commit()
    assert index.docs[("scenario", item.id)].title == "新标题"
    item.status = "withdrawn"
    session.commit()
    assert index.docs == {}
    assert index.calls[-1] == ([], [("scenario", item.id)])
    item.status = "published"
    session.commit()
    session.delete(item)
    session.commit()
    assert index.docs == {}


def test_savepoint_rollback_is_not_indexed_but_the_rest_is(session: Session, index: RecordingBackend) -> None:
    kept = Item(title="保留", status="published")
    session.add(kept)
    session.commit()
    index.calls.clear()

    kept.title = "保留（改）"
    with session.begin_nested() as savepoint:
        ghost = Item(title="幽灵", status="published")
        session.add(ghost)
        kept.body = "保存点里改的正文"
        session.flush()
        savepoint.rollback()
    session.commit()
    assert set(index.docs) == {("scenario", kept.id)}
    assert index.docs[("scenario", kept.id)].title == "保留（改）"
    assert index.docs[("scenario", kept.id)].body == ""  # the savepoint's change was undone


def test_renamed_batch_reindexes_its_records(session: Session, index: RecordingBackend) -> None:
    batch = Batch(name="第一批")
    session.add_all([batch, Item(title="甲", status="published", batch=batch), Item(title="乙", batch=batch)])
    session.commit()
    assert index.docs[("scenario", 1)].extra == "第一批"
    batch.name = "第一批（城市）"
    session.commit()
    assert index.docs[("scenario", 1)].extra == "第一批（城市）"
    assert index.calls[-1] == ([("scenario", 1)], [("scenario", 2)])  # the draft stays out


def test_deleted_related_object_reindexes_its_former_records(
    session: Session, index: RecordingBackend
) -> None:
    batch = Batch(name="第二批")
    item = Item(title="丙", status="published", batch=batch)
    session.add_all([batch, item])
    session.commit()
    item.batch = None
    session.delete(batch)
    session.commit()
    assert index.docs[("scenario", item.id)].extra == ""


def test_index_failure_after_commit_is_logged_not_raised(
    session: Session, index: RecordingBackend, caplog: pytest.LogCaptureFixture
) -> None:
    index.fail = True
    with caplog.at_level(logging.ERROR, logger="marketplace.search"):
        session.add(Item(title="写索引失败", status="published"))
        session.commit()
    assert "index update failed after commit" in caplog.text
    assert session.scalar(sa.select(sa.func.count()).select_from(Item)) == 1


def test_broken_to_document_is_logged_and_others_still_indexed(
    engine: sa.Engine, index: RecordingBackend, caplog: pytest.LogCaptureFixture
) -> None:
    sync = SearchSync(lambda: index)

    def to_document(item: Item) -> SearchDocument:
        if item.title == "坏":
            raise ValueError("broken")
        return item_document(item)

    sync.register(Item, doc_type="scenario", to_document=to_document)
    factory = sessionmaker(engine)
    sync.attach(factory)
    try:
        with factory() as session, caplog.at_level(logging.ERROR, logger="marketplace.search"):
            session.add_all([Item(title="坏"), Item(title="好")])
            session.commit()
    finally:
        sync.detach()
    assert set(index.docs) == {("scenario", 2)}
    assert "could not build the document" in caplog.text


def test_search_disabled_does_nothing(engine: sa.Engine) -> None:
    built: list[int] = []

    def to_document(item: Item) -> SearchDocument:
        built.append(item.id)
        return item_document(item)

    sync = SearchSync(lambda: None)
    sync.register(Item, doc_type="scenario", to_document=to_document)
    factory = sessionmaker(engine)
    sync.attach(factory)
    sync.attach(factory)  # attaching twice is harmless
    try:
        with factory() as session:
            session.add(Item(title="关闭搜索", status="published"))
            session.commit()
            assert _INFO_KEY not in session.info
    finally:
        sync.detach()
    assert built == []


def test_reindex_and_check_from_the_database(session: Session, sync: SearchSync) -> None:
    session.add_all(
        [Item(title="一", status="published"), Item(title="二"), Item(title="三", status="awarded")]
    )
    session.commit()
    target = RecordingBackend()
    assert sync.reindex(session, target) == 2
    assert set(target.docs) == {("scenario", 1), ("scenario", 3)}
    assert sync.check(session, target).ok
    target.docs.pop(("scenario", 3))
    assert sync.check(session, target).missing == [("scenario", 3)]


def test_end_to_end_with_a_real_index(engine: sa.Engine) -> None:
    backend = WhooshBackend(":memory:")
    sync = SearchSync(lambda: backend)
    sync.register(
        Item, doc_type="scenario", to_document=item_document, is_public=lambda i: i.status == "published"
    )
    factory = sessionmaker(engine)
    sync.attach(factory)
    try:
        with factory() as session:
            session.add(Item(title="长江水质在线监测", status="published"))
            session.commit()
            assert backend.query(SearchQuery(q="水质")).total == 1
            session.add(Item(title="水质化验室改造", status="published"))
            session.flush()
            session.rollback()
            assert backend.query(SearchQuery(q="水质")).total == 1
    finally:
        sync.detach()


def test_an_unavailable_index_after_commit_is_a_warning_not_an_error(
    session: Session, index: RecordingBackend, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A missing index is a known state (reindex repairs it): one warning line, no traceback, data committed."""
    from marketplace.search.backend import SearchUnavailable

    def unavailable(*_args, **_kwargs):
        raise SearchUnavailable("search index missing: not created implicitly")

    monkeypatch.setattr(index, "apply", unavailable)
    with caplog.at_level(logging.WARNING, logger="marketplace.search"):
        session.add(Item(title="索引缺失", status="published"))
        session.commit()
    assert [r.levelno for r in caplog.records] == [logging.WARNING]
    assert "left to the next reindex" in caplog.text and caplog.records[0].exc_info is None
    assert session.scalar(sa.select(sa.func.count()).select_from(Item)) == 1
