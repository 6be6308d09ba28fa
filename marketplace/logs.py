"""Logging, configured once per process (by ``wsgi.py`` for gunicorn and the ``flask`` command), and
the request id.

The application's own loggers (``marketplace.*``) log at INFO; third-party libraries that chatter at
INFO on every start (alembic's plugin set-up, whoosh, jieba) are kept at WARNING. A process that has
already configured logging (pytest, a host application) is left alone.

``LOG_FORMAT=json`` (the default when ``MARKETPLACE_ENV=production``) writes one JSON object per line
(time, level, logger, message, request_id, exception) for a log collector; ``text`` is for people.

Every request carries an id: the ``X-Request-ID`` header the proxy sent (nginx ``$request_id``), or
a new one; it is echoed in the response, stamped on every log record written while the request runs,
and gunicorn's access log prints it (``gunicorn.conf.py``), so one id ties the three together.
"""

from __future__ import annotations

import json
import logging
import re
import time
import uuid

from flask import Flask, Response, g, has_request_context, request

#: Third-party loggers kept at WARNING.
QUIET = ("alembic", "alembic.runtime.plugins", "flask_migrate", "whoosh", "jieba", "urllib3", "botocore",
         "boto3", "rq.scheduler", "numba")

FORMAT = "%(asctime)s %(levelname)s %(name)s [%(request_id)s]: %(message)s"
REQUEST_ID_HEADER = "X-Request-ID"
#: An incoming id is kept only when it looks like one (no log injection through the header).
_VALID_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")


def current_request_id() -> str:
    """The id of the request being served, or ``-``."""
    if has_request_context():
        return g.get("request_id", "-")
    return "-"


class RequestIdFilter(logging.Filter):
    """Adds ``record.request_id`` to every record (``-`` outside a request)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not hasattr(record, "request_id"):
            record.request_id = current_request_id()
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per line (times in UTC)."""

    converter = time.gmtime

    def format(self, record: logging.LogRecord) -> str:
        data = {
            "time": self.formatTime(record, "%Y-%m-%dT%H:%M:%S") + f".{int(record.msecs):03d}Z",
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": getattr(record, "request_id", "-"),
        }
        if record.exc_info:
            data["exception"] = self.formatException(record.exc_info)
        return json.dumps(data, ensure_ascii=False)




def configure_logging(level: int = logging.INFO, json_format: bool = False) -> None:
    """Set up the root handler (unless one exists) and quiet the chatty libraries; idempotent."""
    root = logging.getLogger()
    if not root.handlers:
        handler = logging.StreamHandler()
        handler.setFormatter(JsonFormatter() if json_format else logging.Formatter(FORMAT))
        handler.addFilter(RequestIdFilter())
        root.addHandler(handler)
        root.setLevel(logging.WARNING)
    logging.getLogger("marketplace").setLevel(level)
    for name in QUIET:
        logging.getLogger(name).setLevel(logging.WARNING)


def valid_request_id(value: str) -> bool:
    """Whether an incoming ``X-Request-ID`` is kept (letters, digits and ``._:-``, at most 128)."""
    return bool(_VALID_ID.match(value))


def init_app(app: Flask) -> None:
    """Give every request an id (kept from ``X-Request-ID`` when valid) and echo it in the response."""

    @app.before_request
    def _request_id() -> None:
        incoming = request.headers.get(REQUEST_ID_HEADER, "")
        g.request_id = incoming if valid_request_id(incoming) else uuid.uuid4().hex

    @app.after_request
    def _echo_request_id(response: Response) -> Response:
        response.headers[REQUEST_ID_HEADER] = g.get("request_id") or uuid.uuid4().hex
        return response
