"""The Flask glue, on a bare Flask app (not the project's app factory)."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa
from flask import Flask
from sqlalchemy.orm import sessionmaker

from marketplace import search
from marketplace.search.backend import NullBackend
from marketplace.search.documents import SearchDocument, SearchQuery
from marketplace.search.sync import SearchSync
from marketplace.search.whoosh_backend import WhooshBackend


def make_app(tmp_path: Path, **config) -> Flask:
    app = Flask("search_test", instance_path=str(tmp_path / "instance"))
    app.config.update(config)
    return app


def test_whoosh_is_the_default_and_created_lazily_once_per_process(tmp_path: Path) -> None:
    app = make_app(tmp_path)
    state = search.init_app(app)
    assert app.extensions["search"] is state and state.kind == "whoosh"
    assert app.config["SEARCH_INDEX_DIR"] == str(tmp_path / "instance" / "search-index")
    assert state._backend is None
    with app.app_context():
        backend = search.get_backend()
        assert isinstance(backend, WhooshBackend) and search.get_backend() is backend
        results = search.search(SearchQuery(q="交通"))
        assert results.total == 0 and results.notice  # no index yet: notice, no exception
        backend.rebuild([SearchDocument("scenario", 1, "智慧交通", "")])
        assert search.search(SearchQuery(q="交通")).total == 1
        state._pid = -1  # as seen from a forked worker
        assert search.get_backend() is not backend
    state.reset()


def test_search_can_be_switched_off(tmp_path: Path) -> None:
    app = make_app(tmp_path, SEARCH_BACKEND="none")
    search.init_app(app)
    with app.app_context():
        assert isinstance(search.get_backend(), NullBackend)
        results = search.search(SearchQuery(q="交通"))
        assert results.total == 0 and results.notice == NullBackend.NOTICE


def test_unknown_backend_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="SEARCH_BACKEND"):
        search.init_app(make_app(tmp_path, SEARCH_BACKEND="elastic"))


def test_postgres_backend_refuses_sqlite(tmp_path: Path) -> None:
    engine = sa.create_engine("sqlite://")
    app = make_app(tmp_path, SEARCH_BACKEND="postgres")
    search.init_app(app, engine=lambda: engine)
    with app.app_context():
        with pytest.raises(ValueError, match="PostgreSQL"):
            search.get_backend()
        assert search.search(SearchQuery(q="x")).notice  # reported, not raised
    engine.dispose()


def test_uninitialised_app_has_search_off(tmp_path: Path) -> None:
    with make_app(tmp_path).app_context():
        assert isinstance(search.get_backend(), NullBackend)


def test_init_app_attaches_the_commit_hooks(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from .test_sync import Item, ToyBase, item_document

    registry = SearchSync()
    monkeypatch.setattr(search, "registry", registry)
    registry.register(Item, doc_type="scenario", to_document=item_document)
    engine = sa.create_engine("sqlite://")
    ToyBase.metadata.create_all(engine)
    factory = sessionmaker(engine)
    app = make_app(tmp_path, SEARCH_INDEX_DIR=":memory:")
    search.init_app(app, factory)
    try:
        with factory() as session:
            session.add(Item(title="无应用上下文时提交"))
            session.commit()  # outside an app context: hooks do nothing, commit works
            with app.app_context():
                session.add(Item(title="应用上下文中提交"))
                session.commit()
                assert search.search(SearchQuery(q="应用上下文")).total == 1
                assert set(search.get_backend().keys_and_versions()) == {("scenario", 2)}
    finally:
        registry.detach()
        engine.dispose()
