"""Flask extensions, created unbound and bound in :func:`marketplace.create_app`."""

from __future__ import annotations

import sqlite3

from flask import current_app
from flask_babel import Babel
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_wtf import CSRFProtect
from sqlalchemy import event
from sqlalchemy.engine import Engine

from marketplace.models.base import Base

db = SQLAlchemy(model_class=Base)
migrate = Migrate()
login_manager = LoginManager()
csrf = CSRFProtect()
babel = Babel()
#: Rate limits (Flask-Limiter), keyed by client IP (right behind a proxy when ``TRUSTED_PROXIES`` is set).
#: Storage: ``RATELIMIT_STORAGE_URI`` (Redis when ``REDIS_URL`` is set, shared by every app server;
#: memory otherwise). A limited request is answered 429 with ``Retry-After`` (marketplace.errors).
limiter = Limiter(key_func=get_remote_address)

#: Settings naming each form's limit (see ``marketplace.config``); a new form gets a limit in one line:
#: ``@rate_limit(OBJECTIONS)`` under its ``@bp.route`` (POST only by default).
LOGIN = "RATELIMIT_LOGIN"
REGISTER = "RATELIMIT_REGISTER"
PASSWORD_RESET = "RATELIMIT_PASSWORD_RESET"
QUESTIONS = "RATELIMIT_QUESTIONS"
OBJECTIONS = "RATELIMIT_OBJECTIONS"
SEARCH = "RATELIMIT_SEARCH"
API = "RATELIMIT_API"


def rate_limit(setting: str, methods: tuple[str, ...] | None = ("POST",), exempt_when=None,
               shared: str | None = None):
    """Decorate a view (or a blueprint) with the limit named by the config key *setting*, per client
    IP; *methods* None limits every method. Flask-Limiter counts a limit per route, even on a blueprint;
    *shared* names one count for every route it decorates (a blueprint's whole allowance)."""
    if shared:
        return limiter.shared_limit(lambda: current_app.config[setting], scope=shared,
                                    methods=list(methods) if methods else None, exempt_when=exempt_when)
    return limiter.limit(lambda: current_app.config[setting], methods=list(methods) if methods else None,
                         exempt_when=exempt_when)


@event.listens_for(Engine, "connect")
def _sqlite_pragmas(dbapi_connection, connection_record) -> None:
    """SQLite: write-ahead log for concurrent readers, and enforce foreign keys."""
    if isinstance(dbapi_connection, sqlite3.Connection):
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.close()
