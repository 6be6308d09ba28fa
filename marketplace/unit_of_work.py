"""One unit of work per request (and per CLI command): commit once at the end, or roll back.

As in Indico's request handler, views and services never call ``commit()``:

* a request whose view returned normally with a status below 400 commits once, after the view;
* a request that raised, or answered with an error status, rolls back: the error handlers in
  :mod:`marketplace.errors` roll back *before* they render, since rendering reads the session
  (the base template asks for the unread-notification count);
* ``GET``/``HEAD``/``OPTIONS`` never commit: whatever such a request flushed is rolled back and
  logged as a bug (DESIGN §7: GET never writes);
* a view that must re-render a form after a refused service call says so explicitly with
  :func:`discard` (roll back now, then render); a view that answers with an error status but must
  keep what it wrote (rare) calls :func:`keep`.

CLI commands get the same through :func:`transactional`.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from typing import Any, TypeVar

import sqlalchemy as sa
from flask import Flask, Response, current_app, g, has_request_context, request
from sqlalchemy.orm import Session

from marketplace.extensions import db

log = logging.getLogger(__name__)

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
#: ``app.extensions`` key of the callable answering (body, status, headers) when the commit finds the database gone.
UNAVAILABLE_RESPONSE = "marketplace.unit_of_work.unavailable_response"

F = TypeVar("F", bound=Callable[..., Any])


def keep() -> None:
    """Commit this request's changes even though the response carries an error status."""
    g.uow_keep = True


def discard() -> None:
    """Roll back now: the view is about to re-render a form after a refused change."""
    db.session.rollback()
    g.uow_discarded = True


def rollback() -> None:
    """Roll back for an error response (used by the error handlers before they render)."""
    try:
        db.session.rollback()
    except Exception:  # the connection itself may be gone; the error page must still render
        log.exception("rollback failed")
    if has_request_context():
        g.uow_discarded = True


_FLAGS = ("uow_keep", "uow_discarded", "uow_flushed")


def _begin() -> None:
    """``before_request``: start with clean flags. ``g`` belongs to the application context, which a
    request shares with whatever context was already pushed (the test suite pushes one per test), so a
    previous request's "discarded" must not roll back this one's work."""
    for flag in _FLAGS:
        g.pop(flag, None)


def _quiet_rollback() -> None:
    """Roll back; a connection the database already dropped (a restart) is only logged."""
    try:
        db.session.rollback()
    except sa.exc.SQLAlchemyError as error:
        log.warning("rollback at the end of %s %s failed: %s", request.method, request.path,
                    str(error).splitlines()[0][:200])


def _finish(response: Response) -> Response:
    """``after_request``: commit a successful non-GET request's work, roll back anything else.

    A commit that fails because the database went away answers 503 (nothing saved) instead of the view's
    response; other commit errors propagate (a 500)."""
    if request.method in SAFE_METHODS:
        if g.get("uow_flushed"):
            log.error("%s %s wrote %s; the change is rolled back (GET never writes)",
                      request.method, request.path, ", ".join(g.uow_flushed) or "rows")
        _quiet_rollback()
        return response
    if g.get("uow_discarded") and not g.get("uow_keep"):
        _quiet_rollback()
        return response
    if response.status_code < 400 or g.get("uow_keep"):
        try:
            db.session.commit()
        except (sa.exc.OperationalError, sa.exc.InterfaceError) as error:
            log.warning("commit of %s %s failed, the database is unavailable: %s", request.method, request.path,
                        str(error).splitlines()[0][:200])
            _quiet_rollback()
            # The answer is rendered by the error area (marketplace.errors registers it: no import back).
            body, status, headers = current_app.extensions[UNAVAILABLE_RESPONSE]()
            failed = Response(body, status, headers) if isinstance(body, str) else body
            failed.status_code = status
            failed.headers.update(headers)
            return failed
    else:
        _quiet_rollback()
    return response


def _note_flush(session: Session, flush_context: Any) -> None:
    """Remember what a GET request flushed (to name it in the log)."""
    if has_request_context() and request.method in SAFE_METHODS:
        written = {type(o).__name__ for o in (*session.new, *session.dirty, *session.deleted)}
        g.uow_flushed = sorted(written | set(g.get("uow_flushed") or ()))


def init_app(app: Flask) -> None:
    """Install the request-end commit/rollback."""
    app.before_request(_begin)
    app.after_request(_finish)
    if not getattr(init_app, "_listening", False):
        sa.event.listen(db.session, "after_flush", _note_flush)
        init_app._listening = True  # type: ignore[attr-defined]


def transactional(command: F) -> F:
    """Decorate a CLI command: commit once when it returns, roll back when it raises."""

    @functools.wraps(command)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        try:
            result = command(*args, **kwargs)
        except BaseException:
            db.session.rollback()
            raise
        db.session.commit()
        return result

    return wrapped  # type: ignore[return-value]
