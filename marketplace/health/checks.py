"""Readiness checks for ``/readyz``: can this process serve requests right now?

Each check returns ``None`` when fine, else a short reason. ``/healthz`` (liveness) checks nothing
but that the process answers, so a load balancer does not restart a server for a database outage.
"""

from __future__ import annotations

from collections.abc import Callable

import sqlalchemy as sa
from flask import current_app

from marketplace import jobs, search
from marketplace.extensions import db
from marketplace.matching import freshness


def check_database() -> str | None:
    try:
        db.session.execute(sa.text("SELECT 1"))
    except Exception as error:
        db.session.rollback()
        return f"unavailable: {type(error).__name__}"
    return None


def check_redis() -> str | None:
    if not current_app.config.get("REDIS_URL"):
        return None
    try:
        jobs.get_runner().ping()
    except Exception as error:
        return f"unavailable: {type(error).__name__}: {error}"
    return None


def check_search() -> str | None:
    try:
        backend = search.get_backend()
        if not backend.healthy():
            return f"{backend.name} index unreadable; run `flask search reindex`"
    except Exception as error:
        return f"unavailable: {type(error).__name__}"
    return None


def check_match_model() -> str | None:
    """With refits in a worker, every model must have a saved file to load (else this server would fit)."""
    if not current_app.config.get("MATCH_REFIT_IN_WORKER"):
        return None  # fitted on demand in this process
    cache = freshness.get_cache()
    missing = [name for name in freshness.MODEL_KEYS if name not in cache.entries and not cache.saved_files(name)]
    if missing:
        return f"no fitted model for {', '.join(missing)} in {cache.model_dir}; run `flask match rebuild`"
    return None


CHECKS: dict[str, Callable[[], str | None]] = {
    "database": check_database,
    "redis": check_redis,
    "search": check_search,
    "match_model": check_match_model,
}


def readiness() -> tuple[bool, dict[str, str]]:
    """(ready, {part: "ok" | "skipped" | reason})."""
    parts: dict[str, str] = {}
    for name, check in CHECKS.items():
        if name == "redis" and not current_app.config.get("REDIS_URL"):
            parts[name] = "not configured"
            continue
        problem = check()
        parts[name] = problem or "ok"
    ready = all(value in ("ok", "not configured") for value in parts.values())
    return ready, parts
