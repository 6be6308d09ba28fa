"""Where jobs run: RQ on Redis when ``REDIS_URL`` is set, otherwise in this process.

Both runners have the same face: :meth:`enqueue`, :meth:`plan` (the periodic jobs), :meth:`failures`
and :meth:`requeue` (the admin page), :meth:`status` and :meth:`ping` (``/readyz``).

In-process (``make run``, tests): a job requested during a request runs after the response, in its
own application context and transaction (when the request context is torn down); one requested
elsewhere (a CLI command) runs at once. A failing job is retried at once up to its retry count, then
recorded in this process's list of failures (shown on ``/admin/jobs`` until the process ends). The
periodic jobs run in a daemon thread started by each serving process's first request, but only the
thread that holds the host's scheduler lock (:class:`SchedulerLock`, a file in the instance folder) runs
them: under gunicorn with N workers each job runs once per host, not N times. The other workers' threads
try to take the lock every ``JOBS_SCHEDULER_RETRY_SECONDS``, so the schedule survives its holder being
recycled (``max_requests``) or killed (the kernel drops a dead process's lock).
"""

from __future__ import annotations

import contextlib
import fcntl
import inspect
import logging
import os
import threading
import traceback
import uuid
from collections import deque
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import redis
from flask import Flask, g, has_request_context
from flask_babel import gettext as _
from redis.client import PubSubWorkerThread
from rq import Queue, Retry, Worker
from rq.job import Job
from rq.registry import FailedJobRegistry, ScheduledJobRegistry, StartedJobRegistry

from marketplace.errors import NotFound
from marketplace.jobs.schedule import PERIODIC
from marketplace.jobs.tasks import JOBS, execute, run_job

log = logging.getLogger("marketplace.jobs")

#: Failed jobs are kept this long in RQ's failed registry (seconds).
FAILURE_TTL = 30 * 24 * 3600
#: Results (and the ids of planned periodic runs) are kept this long (seconds).
RESULT_TTL = 24 * 3600


@dataclass
class FailedJob:
    """One failed job as the admin page lists it."""

    id: str
    name: str
    label: str
    error: str
    failed_at: datetime | None
    attempts: int
    kwargs: dict[str, Any]


def _now() -> datetime:
    return datetime.now(UTC)


def _last_line(text: str | None) -> str:
    lines = [line for line in (text or "").strip().splitlines() if line.strip()]
    return lines[-1] if lines else ""


class SchedulerLock:
    """One holder per lock file across processes: a non-blocking ``flock`` on *path*.

    ``flock`` belongs to the open file, so two holders in one process exclude each other as well, and
    the kernel releases it when the holder's process ends however it ends (SIGKILL included). Nothing
    is written in the file; it is never deleted (deleting it would let a second holder lock a new file).
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self._fd: int | None = None

    @property
    def held(self) -> bool:
        return self._fd is not None

    def acquire(self) -> bool:
        """Take the lock if nobody holds it; True when this holder has it (now or already)."""
        if self._fd is not None:
            return True
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:  # BlockingIOError: another holder has it
            os.close(fd)
            return False
        self._fd = fd
        return True

    def release(self) -> None:
        fd, self._fd = self._fd, None
        if fd is not None:
            os.close(fd)  # closing the file drops the flock


class InProcessRunner:
    """Runs jobs in this process (no Redis)."""

    mode = "in-process"

    def __init__(self, app: Flask) -> None:
        self.app = app
        self._failed: deque[FailedJob] = deque(maxlen=200)
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        self.scheduler_lock = SchedulerLock(
            Path(app.config.get("INSTANCE_DIR") or app.instance_path) / "jobs-scheduler.lock")

    def enqueue(self, name: str, kwargs: dict[str, Any] | None = None, job_id: str | None = None) -> str:
        """Run *name* after the current request (or now, outside a request)."""
        job_id = job_id or f"{name}-{uuid.uuid4().hex[:12]}"
        if has_request_context():
            g.setdefault("jobs_after_request", []).append((job_id, name, kwargs))
        else:
            self.run(job_id, name, kwargs)
        return job_id

    def run(self, job_id: str, name: str, kwargs: dict[str, Any] | None = None) -> bool:
        """Run one job with its retries (immediately, no backoff in-process); record a final failure."""
        attempts = 1 + len(JOBS[name].retry_intervals)
        for attempt in range(1, attempts + 1):
            try:
                run_job(self.app, name, kwargs)
                return True
            except Exception as error:
                log.warning("job %s (%s) failed, attempt %d of %d: %s", name, job_id, attempt, attempts, error)
                if attempt == attempts:
                    with self._lock:
                        self._failed.appendleft(FailedJob(job_id, name, JOBS[name].label, traceback.format_exc(),
                                                          _now(), attempts, dict(kwargs or {})))
        return False

    def run_after_request(self) -> None:
        """``teardown_request``: run what the request asked for, each in its own unit of work."""
        for job_id, name, kwargs in g.pop("jobs_after_request", []):
            self.run(job_id, name, kwargs)

    def plan(self, names: list[str] | None = None) -> None:
        """Nothing to plan: the scheduler thread computes the slots."""

    def failures(self) -> list[FailedJob]:
        with self._lock:
            return list(self._failed)

    def requeue(self, job_id: str) -> str:
        """Run a recorded failure again (it leaves the list; a new failure is recorded anew)."""
        with self._lock:
            found = next((f for f in self._failed if f.id == job_id), None)
            if found is None:
                raise NotFound(_("没有这个失败的任务。"))
            self._failed.remove(found)
        self.enqueue(found.name, found.kwargs, job_id=found.id)
        return found.id

    def status(self) -> dict[str, Any]:
        running = bool(self._thread and self._thread.is_alive())
        # scheduler: this process runs the periodic jobs (holds the host's lock); waiting: it would take over.
        return {"mode": self.mode, "scheduler": running and self.scheduler_lock.held,
                "scheduler_waiting": running and not self.scheduler_lock.held}

    def ping(self) -> None:
        """Always ready."""

    # -- the scheduler thread (make run, make serve without REDIS_URL)
    def start_scheduler(self) -> None:
        """Start the periodic-job thread once per process (it runs jobs only while it holds the lock)."""
        with self._lock:
            if self._thread is not None and self._thread.is_alive():
                return
            self._stop.clear()
            self._thread = threading.Thread(target=self._loop, name="jobs-scheduler", daemon=True)
            self._thread.start()

    def _loop(self) -> None:
        retry = float(self.app.config.get("JOBS_SCHEDULER_RETRY_SECONDS", 30))
        try:
            while not self._stop.is_set():
                try:
                    acquired = self.scheduler_lock.acquire()
                except OSError as error:  # instance folder not writable: no schedule rather than N of them
                    log.warning("jobs scheduler lock %s unavailable: %s", self.scheduler_lock.path, error)
                    acquired = False
                if acquired:
                    log.info("this process (pid %d) runs the periodic jobs", os.getpid())
                    self._run_schedule()
                else:
                    self._stop.wait(retry)
        finally:
            self.scheduler_lock.release()

    def _run_schedule(self) -> None:
        """Run the periodic jobs at their slots until stopped (the caller holds the lock)."""
        due = {p.job: p.next_slot(_now()) for p in PERIODIC if p.job in JOBS}
        while not self._stop.is_set():
            now = _now()
            for periodic in PERIODIC:
                if periodic.job in due and due[periodic.job] <= now:
                    due[periodic.job] = periodic.next_slot(now)
                    self.run(periodic.slot_id(now), periodic.job)
            wait = min(due.values()) - _now() if due else None
            self._stop.wait(max(1.0, wait.total_seconds()) if wait is not None else 60.0)

    def stop(self, timeout: float | None = 5.0) -> None:
        """Stop the scheduler thread; it releases the lock (another process takes over at its next try)."""
        self._stop.set()
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout)


def _tell_to_stop(thread: PubSubWorkerThread) -> None:
    """Clear a redis-py pub/sub thread's running flag without waiting for it (redis-py 8's ``stop`` joins the
    thread, with no time limit unless given one; earlier versions only clear the flag)."""
    if "timeout" in inspect.signature(thread.stop).parameters:
        thread.stop(timeout=0)
    else:
        thread.stop()


class MarketplaceWorker(Worker):
    """An RQ worker that re-plans the periodic jobs at each maintenance pass (about every 10 minutes), and
    stops its command channel without waiting out the channel's 60 s poll."""

    runner: RQRunner | None = None

    def unsubscribe(self) -> None:
        """Stop listening for commands (shut down, stop a job) at once, as the worker ends.

        RQ sends UNSUBSCRIBE first and only then tells its pub/sub thread to stop, and waits for it. If the
        thread reads the server's reply in between (the main thread loses the CPU for a moment: a busy host),
        it goes round its loop once more, finds nothing subscribed and waits for a subscription for a whole
        poll, 60 s, and the worker with it: a ``flask jobs worker --burst`` took a minute more once in a few
        hundred runs on a quiet host, up to once in six on a busy one, and so could any worker's shutdown.
        Told to stop first, the thread takes the reply to UNSUBSCRIBE as its last message and ends.

        Any other message that reaches the thread first (a late subscription reply, a command) ends it too, and
        it closes the channel's connection as it goes: an UNSUBSCRIBE sent on that closed connection fails
        (``Bad file descriptor``), which is fine — a closed connection has no subscription left.
        """
        thread = self.pubsub_thread
        if thread is None:
            return
        self.log.info("Worker %s: unsubscribing from channel %s", self.name, self.pubsub_channel_name)
        _tell_to_stop(thread)
        if thread.is_alive():
            # the thread may end meanwhile and close the connection: then nothing is left subscribed
            with contextlib.suppress(redis.exceptions.ConnectionError):
                self.pubsub.unsubscribe()
        thread.join(timeout=5)
        self.pubsub.close()

    def run_maintenance_tasks(self) -> None:
        super().run_maintenance_tasks()
        if self.runner is not None:
            try:
                self.runner.plan()
            except redis.RedisError:
                log.exception("could not plan the periodic jobs")


class RQRunner:
    """Jobs on RQ (Redis): retried with backoff, failures kept in RQ's failed-job registry."""

    mode = "rq"

    def __init__(self, app: Flask, url: str, queue_name: str) -> None:
        self.app = app
        self.url = url
        # Short timeouts: a web request must not hang on a Redis that is down.
        self.connection = redis.Redis.from_url(url, socket_connect_timeout=2, socket_timeout=5)
        self.queue = Queue(queue_name, connection=self.connection)

    def enqueue(self, name: str, kwargs: dict[str, Any] | None = None, job_id: str | None = None,
                at: datetime | None = None) -> str | None:
        """Put *name* on the queue (at *at*, if given); ``None`` when Redis cannot be reached (the job
        waits for its next periodic run or the next request for it: the database keeps the work)."""
        spec = JOBS[name]
        options: dict[str, Any] = {
            "job_id": job_id or f"{name}-{uuid.uuid4().hex[:12]}",
            "job_timeout": spec.timeout, "result_ttl": RESULT_TTL, "failure_ttl": FAILURE_TTL,
            "description": spec.label, "meta": {"job": name},
            "retry": Retry(max=len(spec.retry_intervals), interval=list(spec.retry_intervals)),
        }
        try:
            if at is None:
                job = self.queue.enqueue(execute, name, kwargs or {}, **options)
            else:
                job = self.queue.enqueue_at(at, execute, name, kwargs or {}, **options)
        except redis.RedisError as error:
            log.warning("job %s not queued, Redis unavailable: %s", name, error)
            return None
        return job.id

    def plan(self, names: list[str] | None = None) -> list[str]:
        """Schedule the next run of each periodic job unless that slot is planned already."""
        planned = []
        now = _now()
        for periodic in PERIODIC:
            if periodic.job not in JOBS or (names is not None and periodic.job not in names):
                continue
            slot = periodic.next_slot(now)
            job_id = f"{self.queue.name}-{periodic.slot_id(slot)}"  # one Redis may serve several sites
            if Job.exists(job_id, connection=self.connection):
                continue
            if self.enqueue(periodic.job, job_id=job_id, at=slot):
                planned.append(job_id)
        return planned

    def failures(self) -> list[FailedJob]:
        registry = FailedJobRegistry(queue=self.queue)
        found = []
        for job in Job.fetch_many(registry.get_job_ids(desc=True), connection=self.connection):
            if job is None:
                continue
            name = job.meta.get("job") or (job.args[0] if job.args else job.func_name)
            result = job.latest_result()
            error = result.exc_string if result is not None else ""
            spec = JOBS.get(name)
            found.append(FailedJob(job.id, name, spec.label if spec else name, error or "", job.ended_at,
                                   1 + (len(spec.retry_intervals) if spec else 0) - (job.retries_left or 0),
                                   dict(job.args[1] if len(job.args) > 1 else {})))
        return found

    def requeue(self, job_id: str) -> str:
        registry = FailedJobRegistry(queue=self.queue)
        if job_id not in registry.get_job_ids():
            raise NotFound(_("没有这个失败的任务。"))
        registry.requeue(job_id)
        return job_id

    def status(self) -> dict[str, Any]:
        return {
            "mode": self.mode,
            "queued": self.queue.count,
            "started": StartedJobRegistry(queue=self.queue).count,
            "scheduled": ScheduledJobRegistry(queue=self.queue).count,
            "workers": len(Worker.all(queue=self.queue)),
        }

    def ping(self) -> None:
        """Raises when Redis cannot be reached."""
        self.connection.ping()

    def worker(self, name: str | None = None) -> MarketplaceWorker:
        """A worker on this queue, on its own connection (blocking reads need no socket timeout)."""
        connection = redis.Redis.from_url(self.url)
        worker = MarketplaceWorker([Queue(self.queue.name, connection=connection)], connection=connection,
                                   name=name)
        worker.runner = self
        return worker
