"""Background jobs: RQ on Redis when ``REDIS_URL`` is set, in-process otherwise (DESIGN §8).

* :func:`enqueue` puts a job on the queue now; areas that want work done after *their* transaction
  commits send :data:`marketplace.signals.job_requested` instead (dropped if it rolls back).
* ``flask jobs worker`` (``make worker``) runs an RQ worker with RQ's scheduler, which releases the
  planned periodic jobs (:mod:`marketplace.jobs.schedule`) and the retries.
* ``/admin/jobs`` lists failed jobs for city staff, with a button to requeue each.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Flask, current_app, has_app_context
from sqlalchemy import event

from marketplace import signals
from marketplace.extensions import db
from marketplace.jobs.runners import InProcessRunner, RQRunner
from marketplace.jobs.tasks import JOBS

bp = Blueprint("jobs", __name__, url_prefix="/admin/jobs")

EXTENSION = "marketplace.jobs"
_PENDING = "marketplace.jobs.pending"

from marketplace.jobs import routes  # noqa: E402,F401


def get_runner(app: Flask | None = None) -> InProcessRunner | RQRunner:
    """The job runner of *app* (default: the current app)."""
    return (app or current_app).extensions[EXTENSION]


def enqueue(name: str, kwargs: dict[str, Any] | None = None) -> str | None:
    """Run job *name* in the background (RQ) or after this request (in-process)."""
    if name not in JOBS:
        raise KeyError(name)
    return get_runner().enqueue(name, kwargs)


def _requested(sender: Any, session: Any, job: str, job_kwargs: dict[str, Any] | None = None, **_: Any) -> None:
    """Keep a requested job until the session commits (``session=None``: enqueue it now)."""
    if job not in JOBS:
        return
    if session is None:
        if has_app_context():
            get_runner().enqueue(job, job_kwargs)
    else:
        pending = session.info.setdefault(_PENDING, [])
        if (job, job_kwargs) not in pending:
            pending.append((job, job_kwargs))


def _after_commit(session: Any) -> None:
    pending = session.info.pop(_PENDING, None)
    if pending and has_app_context():
        runner = get_runner()
        for job, job_kwargs in pending:
            runner.enqueue(job, job_kwargs)


def _after_rollback(session: Any) -> None:
    if not session.in_nested_transaction():
        session.info.pop(_PENDING, None)


_attached: list[Any] = []


def init_app(app: Flask) -> None:
    """Create the app's runner, hook the session and register the admin page."""
    url = app.config.get("REDIS_URL")
    runner: InProcessRunner | RQRunner
    if url:
        runner = RQRunner(app, url, app.config.get("JOBS_QUEUE", "marketplace"))
    else:
        runner = InProcessRunner(app)
    app.extensions[EXTENSION] = runner
    # With a queue, web workers only load fitted matching models: refits are jobs.
    app.config.setdefault("MATCH_REFIT_IN_WORKER", bool(url))
    signals.job_requested.connect(_requested)
    if not any(t is db.session for t in _attached):
        event.listen(db.session, "after_commit", _after_commit)
        event.listen(db.session, "after_rollback", _after_rollback)
        _attached.append(db.session)
    app.register_blueprint(bp)

    if isinstance(runner, InProcessRunner):
        @app.teardown_request
        def _run_after_request(_error: BaseException | None) -> None:
            runner.run_after_request()

        if app.config.get("JOBS_SCHEDULER", True) and not app.config.get("TESTING"):
            @app.before_request
            def _start_scheduler() -> None:
                runner.start_scheduler()
