"""Logging, configured once per process (by ``wsgi.py`` for gunicorn and the ``flask`` command).

The application's own loggers (``marketplace.*``) log at INFO; third-party libraries that chatter at
INFO on every start (alembic's plugin set-up, whoosh, jieba) are kept at WARNING. A process that has
already configured logging (pytest, a host application) is left alone.
"""

from __future__ import annotations

import logging

#: Third-party loggers kept at WARNING.
QUIET = ("alembic", "alembic.runtime.plugins", "flask_migrate", "whoosh", "jieba", "urllib3", "botocore",
         "boto3", "rq.scheduler", "numba")

FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


def configure_logging(level: int = logging.INFO) -> None:
    """Set up the root handler (unless one exists) and quiet the chatty libraries; idempotent."""
    root = logging.getLogger()
    if not root.handlers:
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter(FORMAT))
        root.addHandler(handler)
        root.setLevel(logging.WARNING)
    logging.getLogger("marketplace").setLevel(level)
    for name in QUIET:
        logging.getLogger(name).setLevel(logging.WARNING)
