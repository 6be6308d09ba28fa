"""``wsgi:app`` with per-request phase timestamps, for ``bench_throughput.py --phases`` (never in production).

Each request appends one JSON line to ``PHASE_LOG``: the request id (``X-Request-ID``), method, path, status,
pid and wall-clock stamps (``time.time()``, comparable with the client's on the same host) of

* ``wsgi``: the worker called the app (after gunicorn accepted the connection and parsed the request);
* ``commit``: the unit of work began its commit (the ``before_commit`` hooks: audit chaining, version bump);
* ``lock_req`` / ``lock_got``: before and after the statement taking ``pg_advisory_xact_lock`` (the audit
  chain's append lock; the same query also reads the chain's head);
* ``db_commit``: the ``COMMIT`` was sent; ``committed``: the session's ``after_commit`` ran;
* ``end``: the response was fully produced and closed;

plus ``cpu_ms`` (the request thread's CPU, ``time.thread_time``) and ``statements``.

    gunicorn --config gunicorn.conf.py scripts.submit_phases_wsgi:app   # with PHASE_LOG=/tmp/phases.jsonl
"""

from __future__ import annotations

import json
import os
import threading
import time
from collections.abc import Callable, Iterable
from typing import Any

import sqlalchemy as sa

from marketplace.extensions import db
from wsgi import app as flask_app

_current = threading.local()
_LOG = os.environ.get("PHASE_LOG", "/tmp/submit-phases.jsonl")


def _mark(name: str) -> None:
    record = getattr(_current, "record", None)
    if record is not None and name not in record:
        record[name] = time.time()


def _before_cursor(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
    record = getattr(_current, "record", None)
    if record is None:
        return
    record["statements"] = record.get("statements", 0) + 1
    if "pg_advisory_xact_lock" in statement:
        _mark("lock_req")


def _after_cursor(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
    if "pg_advisory_xact_lock" in statement:
        _mark("lock_got")


sa.event.listen(sa.Engine, "before_cursor_execute", _before_cursor)
sa.event.listen(sa.Engine, "after_cursor_execute", _after_cursor)
sa.event.listen(sa.Engine, "commit", lambda conn: _mark("db_commit"))
sa.event.listen(db.session, "before_commit", lambda session: _mark("commit"), insert=True)
sa.event.listen(db.session, "after_commit", lambda session: _mark("committed"))


class _Closing:
    def __init__(self, body: Iterable[bytes], done: Callable[[], None]) -> None:
        self.body, self.done = body, done

    def __iter__(self):
        return iter(self.body)

    def close(self) -> None:
        try:
            if hasattr(self.body, "close"):
                self.body.close()
        finally:
            self.done()


def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
    record: dict[str, Any] = {"rid": environ.get("HTTP_X_REQUEST_ID"), "method": environ["REQUEST_METHOD"],
                              "path": environ.get("PATH_INFO"), "pid": os.getpid(), "wsgi": time.time()}
    _current.record = record
    cpu = time.thread_time()

    def respond(status: str, headers: list, *rest: Any) -> Any:
        record["status"] = int(status.split()[0])
        return start_response(status, headers, *rest)

    def done() -> None:
        record["end"] = time.time()
        record["cpu_ms"] = round((time.thread_time() - cpu) * 1000, 2)
        _current.record = None
        fd = os.open(_LOG, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        try:
            os.write(fd, (json.dumps(record) + "\n").encode())
        finally:
            os.close(fd)

    return _Closing(flask_app(environ, start_response=respond), done)
