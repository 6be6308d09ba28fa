"""The rebuild's worker processes under ``flask search reindex`` and the RQ reindex job."""

from __future__ import annotations

from typing import Any

import pytest

from tests.search.test_whoosh_perf import _spy_workers


@pytest.fixture
def spied_workers(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Rebuilds of any size use worker processes; the list gets each rebuild's worker count."""
    import marketplace.search.whoosh_backend as whoosh_backend

    started = _spy_workers(monkeypatch)
    monkeypatch.setattr(whoosh_backend, "REBUILD_PARALLEL_MIN", 1)
    # (Two workers even on a one-CPU machine, and whatever threads other tests left running.)
    monkeypatch.setattr(whoosh_backend, "fork_workers", lambda wanted=None: 2)
    return started


def test_flask_search_reindex_and_the_reindex_job_write_in_worker_processes(
    app: Any, runner: Any, make_scenario: Any, spied_workers: list[int]
) -> None:
    import multiprocessing

    from marketplace import search
    from marketplace.extensions import db
    from marketplace.jobs.tasks import run_job

    scenarios = [make_scenario(status="published") for _ in range(3)]
    db.session.commit()
    search.get_backend().clear()
    result = runner.invoke(args=["search", "reindex"])
    assert result.exit_code == 0, result.output
    assert spied_workers == [2]
    assert not multiprocessing.active_children()
    keys = search.get_backend().keys_and_versions()
    assert {("scenario", s.id) for s in scenarios} <= set(keys)

    search.get_backend().clear()
    assert run_job(app, "search_reindex")["reindexed"] >= 3
    assert spied_workers == [2, 2]
    assert {("scenario", s.id) for s in scenarios} <= set(search.get_backend().keys_and_versions())
