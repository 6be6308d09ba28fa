"""The background jobs: what each does, how often it may retry, and the one entry point RQ calls.

Every job is idempotent (safe to run twice, even at once):

``match_refit``
    fits each matching model whose file for the current database version stamp is missing
    (``MATCH_MODEL_DIR``); a second run finds the file and loads nothing.
``search_repair`` / ``search_reindex``
    compare the search index with the database and rebuild it when anything is missing, stale or
    orphaned (repair), or rebuild it unconditionally (reindex); the database is the source of truth.
``notifications_scan`` / ``notifications_digest``
    :mod:`marketplace.notifications.jobs` claims each piece of work with a conditional UPDATE, and a
    digest goes out at most once per local day.
``outbox_send``
    delivers pending outbox mail; each message is claimed (``FOR UPDATE SKIP LOCKED`` on PostgreSQL)
    and marked sent in the same transaction; a temporary SMTP failure raises, so RQ retries the job.
``audit_checkpoint``
    appends a signed checkpoint of the audit chain to ``AUDIT_CHECKPOINT_FILE`` (commits that write
    audit events already do; the job covers a process that died between commit and checkpoint).

A job runs as one unit of work: committed when it returns, rolled back when it raises.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from flask import Flask, current_app, has_app_context

from marketplace import audit, mail, search
from marketplace.extensions import db
from marketplace.jobs.schedule import periodic
from marketplace.matching import freshness
from marketplace.notifications import jobs as notification_jobs
from marketplace.search import sync

log = logging.getLogger("marketplace.jobs")


def N_(text: str) -> str:
    """Marks a job label for extraction; it is translated where it is shown (the jobs page)."""
    return text


@dataclass(frozen=True)
class JobSpec:
    """One kind of job: its function (``func(session, **kwargs) -> result``), label and retry policy."""

    name: str
    func: Callable[..., Any]
    label: str
    #: Seconds to wait before each retry (one entry per retry): exponential backoff.
    retry_intervals: tuple[int, ...] = (10, 60, 300)
    timeout: int = 600


def match_refit(session, name: str | None = None) -> dict[str, str]:
    """Fit the matching models that have no saved file for the current version stamp."""
    cache = freshness.get_cache()
    done: dict[str, str] = {}
    for model in [name] if name else list(freshness.MODEL_KEYS):
        stamp = freshness.read_stamp(session, freshness.MODEL_KEYS[model])
        if cache.load(model, stamp) is not None:
            done[model] = f"current {stamp.token}"
            continue
        entry = cache.rebuild(session, model)
        done[model] = f"fitted {entry.stamp.token}"
    return done


def search_repair(session) -> dict[str, int]:
    """Rebuild the search index when it disagrees with the database (or cannot be read)."""
    backend = search.get_backend()
    if isinstance(backend, search.NullBackend):
        return {"reindexed": 0}
    try:
        report = sync.check(session, backend)
        if report.ok:
            return {"reindexed": 0}
        log.warning("search index out of date (missing %d, stale %d, orphaned %d): rebuilding",
                    len(report.missing), len(report.stale), len(report.orphaned))
    except Exception:
        log.exception("search index unreadable: rebuilding")
    return {"reindexed": sync.reindex(session, backend)}


def search_reindex(session) -> dict[str, int]:
    """Rebuild the whole search index from the database."""
    backend = search.get_backend()
    if isinstance(backend, search.NullBackend):
        return {"reindexed": 0}
    return {"reindexed": sync.reindex(session, backend)}


def notifications_scan(session) -> dict[str, int]:
    """Deadline reminders and saved-search matches (``flask notifications scan``)."""
    report = notification_jobs.scan(session)
    return {"reminders": report.reminders, "search_notifications": report.search_notifications}


def notifications_digest(session) -> dict[str, int]:
    """Daily digests (``flask notifications digest``); at most one per user and local day."""
    report = notification_jobs.send_daily_digests(session)
    return {"users": report.users, "notifications": report.notifications}


class RetryLater(Exception):
    """Commit what the job did so far, then fail this attempt so that the queue retries the job."""


def outbox_send(session) -> dict[str, int]:
    """Deliver pending outbox mail; a temporary SMTP failure keeps what was sent and retries the rest."""
    try:
        sent, failed = mail.send_pending(session)
    except mail.TemporaryMailFailure as error:
        raise RetryLater(f"SMTP temporarily unavailable after {error.sent} sent: {error}") from error
    return {"sent": sent, "failed": failed}


def audit_checkpoint(session) -> Any:
    """Write a signed audit checkpoint outside the database (``marketplace.audit.write_checkpoint``)."""
    return audit.write_checkpoint()


def fail(session, message: str = "故意失败的任务") -> None:
    """Always fails: lets city staff (and the tests) see the retry and failed-job path work end to end."""
    raise RuntimeError(message)


_SPECS = [
    JobSpec("match_refit", match_refit, N_("匹配模型重新拟合"), timeout=3600),
    JobSpec("search_repair", search_repair, N_("检索索引检查与修复"), timeout=3600),
    JobSpec("search_reindex", search_reindex, N_("检索索引重建"), timeout=3600),
    JobSpec("notifications_scan", notifications_scan, N_("截止提醒与订阅检索扫描")),
    JobSpec("notifications_digest", notifications_digest, N_("每日摘要邮件")),
    JobSpec("outbox_send", outbox_send, N_("发送待发邮件"), retry_intervals=(30, 120, 600, 1800)),
    JobSpec("audit_checkpoint", audit_checkpoint, N_("审计日志检查点")),
    JobSpec("fail", fail, N_("故障演练（总是失败）"), retry_intervals=(1, 2)),
]

#: Every job by name.
JOBS: dict[str, JobSpec] = {spec.name: spec for spec in _SPECS}

_worker_app: Flask | None = None


def _app() -> Flask:
    """The app a job runs in: the current one (``flask jobs worker``, tests), or one built once per process."""
    global _worker_app
    if has_app_context():
        return current_app._get_current_object()  # type: ignore[attr-defined]
    if _worker_app is None:
        from marketplace import create_app

        _worker_app = create_app()
    return _worker_app


def run_job(app: Flask, name: str, kwargs: dict[str, Any] | None = None) -> Any:
    """Run job *name* as one unit of work in a fresh application context of *app*."""
    spec = JOBS[name]
    with app.app_context():
        state = app.extensions.setdefault("marketplace.jobs.pid", {"pid": os.getpid()})
        if state["pid"] != os.getpid():  # a forked work horse: never share the parent's pooled connections
            db.engine.dispose(close=False)
            state["pid"] = os.getpid()
        try:
            result = spec.func(db.session, **(kwargs or {}))
            db.session.commit()
        except RetryLater:
            db.session.commit()
            raise
        except BaseException:
            db.session.rollback()
            raise
        finally:
            db.session.remove()
    log.info("job %s done: %s", name, result)
    return result


def execute(name: str, kwargs: dict[str, Any] | None = None) -> Any:
    """The function RQ calls for every job (``marketplace.jobs.tasks.execute``).

    A periodic job first plans its next run, so a failing run never breaks the chain.
    """
    app = _app()
    if periodic(name) is not None:
        app.extensions["marketplace.jobs"].plan(names=[name])
    return run_job(app, name, kwargs)
