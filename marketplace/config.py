"""Configuration: the one place that reads the environment.

Every setting has a working default for a laptop (SQLite file and Whoosh index
under ``instance/``). ``MARKETPLACE_ENV=production`` makes ``SECRET_KEY``
mandatory and the session cookie Secure.
"""

from __future__ import annotations

import json
import os
import secrets
from collections.abc import Mapping
from pathlib import Path
from typing import Any

#: The project root (the folder holding ``wsgi.py``).
PROJECT_ROOT = Path(__file__).resolve().parent.parent
#: Default instance folder for the SQLite file, the search index and uploads.
DEFAULT_INSTANCE = PROJECT_ROOT / "instance"


def normalise_database_url(url: str) -> str:
    """Use psycopg 3 for PostgreSQL URLs given in the common short forms."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    return url


def _secret_key(env: Mapping[str, str], instance: Path, production: bool) -> str:
    key = env.get("SECRET_KEY")
    if key:
        return key
    if production:
        raise RuntimeError("SECRET_KEY must be set when MARKETPLACE_ENV=production")
    path = instance / "secret_key"
    if path.exists():
        return path.read_text().strip()
    instance.mkdir(parents=True, exist_ok=True)
    key = secrets.token_hex(32)
    path.write_text(key)
    path.chmod(0o600)
    return key


def _audit_key(env: Mapping[str, str], instance: Path) -> str:
    """``AUDIT_KEY`` keys the audit chain and signs its checkpoints. Keep it apart from the database
    (and its backups): whoever holds both could rewrite the log. Default: generated once into
    ``instance/audit_key`` (mode 0600), like the secret key."""
    key = env.get("AUDIT_KEY")
    if key:
        return key
    path = instance / "audit_key"
    if path.exists():
        return path.read_text().strip()
    instance.mkdir(parents=True, exist_ok=True)
    key = secrets.token_hex(32)
    path.write_text(key)
    path.chmod(0o600)
    return key


def _rate_limit_storage(env: Mapping[str, str]) -> str:
    """Where rate limits and sign-in counters live: ``RATELIMIT_STORAGE_URI``, else Redis when
    ``REDIS_URL`` is set (shared by every app server), else this process's memory."""
    return env.get("RATELIMIT_STORAGE_URI") or env.get("REDIS_URL") or "memory://"


def default_site_url(env: Mapping[str, str]) -> str:
    """``SITE_URL`` when unset: this machine on the port the site is served on (``PORT``, as ``make run
    PORT=5123`` and ``make serve`` set it; 5000 otherwise), so links in mail reach the running site."""
    port = (env.get("PORT") or "").strip()
    return f"http://127.0.0.1:{port if port.isdigit() else '5000'}"


def _site_url(env: Mapping[str, str], production: bool) -> str:
    """``SITE_URL``; required in production, where the default (this machine's loopback address) would mail
    every reset and confirmation link to an address nobody else can open."""
    url = (env.get("SITE_URL") or "").strip()
    if url:
        return url
    if production:
        raise RuntimeError("SITE_URL must be set when MARKETPLACE_ENV=production (the public address mailed in links)")
    return default_site_url(env)


def _bool(value: str | None, default: bool = False) -> bool:
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


#: Default matching signal weights (boost factors) and caps; the same values as
#: ``marketplace.matching.matcher.DEFAULT_WEIGHTS`` (not imported here: it would load scikit-learn).
DEFAULT_MATCH_WEIGHTS: dict[str, float] = {
    "same_domain": 0.15,
    "same_district": 0.10,
    "qualifications": 0.10,
    "qualifications_cap": 5,
    "accepted_projects": 0.10,
    "accepted_projects_cap": 5,
}


def _match_weights(value: str | None) -> dict[str, float]:
    """``MATCH_WEIGHTS`` as JSON (e.g. ``{"same_district": 0.3}``) over the defaults."""
    weights = dict(DEFAULT_MATCH_WEIGHTS)
    if value:
        weights.update({str(k): float(v) for k, v in json.loads(value).items()})
    return weights


#: Stand-in ocid prefix until the publisher registers its own with the Open Contracting Partnership.
OCDS_PLACEHOLDER_PREFIX = "placeholder"


def normalise_ocds_prefix(value: str) -> str:
    """``OCDS_PREFIX`` without a leading ``ocds-`` (both ``213czf`` and ``ocds-213czf`` are accepted)."""
    value = value.strip()
    return value[len("ocds-"):] if value.lower().startswith("ocds-") else value


def load_config(env: Mapping[str, str] | None = None) -> dict[str, Any]:
    """Build the Flask configuration from the environment."""
    env = os.environ if env is None else env
    production = env.get("MARKETPLACE_ENV", "development") == "production"
    instance = Path(env.get("MARKETPLACE_INSTANCE", str(DEFAULT_INSTANCE)))
    database_url = normalise_database_url(
        env.get("DATABASE_URL", f"sqlite:///{instance / 'marketplace.sqlite3'}")
    )
    return {
        "MARKETPLACE_ENV": "production" if production else env.get("MARKETPLACE_ENV", "development"),
        "INSTANCE_DIR": str(instance),
        "SECRET_KEY": _secret_key(env, instance, production),
        "SQLALCHEMY_DATABASE_URI": database_url,
        "SQLALCHEMY_ENGINE_OPTIONS": engine_options(database_url),
        "SEARCH_BACKEND": env.get("SEARCH_BACKEND", "whoosh"),
        "SEARCH_INDEX_DIR": env.get("SEARCH_INDEX_DIR", str(instance / "search-index")),
        "UPLOAD_DIR": env.get("UPLOAD_DIR", str(instance / "uploads")),
        "MATCH_MODEL_DIR": env.get("MATCH_MODEL_DIR", str(instance / "match-model")),
        # Matching (marketplace.matching.services): signal weights, near-duplicate threshold, freshness.
        "MATCH_WEIGHTS": _match_weights(env.get("MATCH_WEIGHTS")),
        "MATCH_DUPLICATE_THRESHOLD": float(env.get("MATCH_DUPLICATE_THRESHOLD", "0.5")),
        # A fitted model is never served longer than this after a committed change (then rebuilt inline).
        "MATCH_MAX_STALENESS_SECONDS": float(env.get("MATCH_MAX_STALENESS_SECONDS", "60")),
        # Each process reads the model version stamp at most this often (one indexed query).
        "MATCH_CHECK_SECONDS": float(env.get("MATCH_CHECK_SECONDS", "3")),
        # Refit stale models in a background thread (serving the previous one meanwhile).
        "MATCH_BACKGROUND_REBUILD": _bool(env.get("MATCH_BACKGROUND_REBUILD"), default=True),
        # Web processes never fit: a job does (default: on when REDIS_URL is set). See matching.freshness.
        **({"MATCH_REFIT_IN_WORKER": _bool(env["MATCH_REFIT_IN_WORKER"])} if "MATCH_REFIT_IN_WORKER" in env else {}),
        "REDIS_URL": env.get("REDIS_URL") or None,
        # Log lines: "json" (one object per line, for a collector) or "text"; JSON by default in production.
        "LOG_FORMAT": env.get("LOG_FORMAT", "json" if production else "text"),
        # Background jobs (marketplace.jobs): the RQ queue's name, and whether a process without Redis
        # runs the periodic jobs in a thread (started by its first request).
        "JOBS_QUEUE": env.get("JOBS_QUEUE", "marketplace"),
        "JOBS_SCHEDULER": _bool(env.get("JOBS_SCHEDULER"), default=True),
        # Only one process per instance folder runs them (a lock file there); the others try to take
        # the lock this often, so the schedule survives its holder being recycled or killed.
        "JOBS_SCHEDULER_RETRY_SECONDS": float(env.get("JOBS_SCHEDULER_RETRY_SECONDS", "30")),
        # Anonymous public pages are cached (marketplace.pagecache); PAGE_CACHE=off disables it.
        "PAGE_CACHE": _bool(env.get("PAGE_CACHE"), default=True),
        # Longest life of a cached page (shorter when a deadline comes first).
        "PAGE_CACHE_SECONDS": int(env.get("PAGE_CACHE_SECONDS", "300")),
        # The release's part of every page-cache key; unset: a digest of the code, templates and static files.
        "PAGE_CACHE_CODE": env.get("PAGE_CACHE_CODE", ""),
        # Attachment bytes: "local" (UPLOAD_DIR) or "s3" (S3_BUCKET, S3_ENDPOINT_URL; AWS_* credentials).
        "STORAGE": env.get("STORAGE", "local").strip().lower(),
        "S3_BUCKET": env.get("S3_BUCKET") or None,
        "S3_ENDPOINT_URL": env.get("S3_ENDPOINT_URL") or None,
        "S3_PREFIX": env.get("S3_PREFIX", "attachments/"),
        "MAIL_SERVER": env.get("MAIL_SERVER") or None,
        "MAIL_PORT": int(env.get("MAIL_PORT", "25")),
        "MAIL_USE_TLS": _bool(env.get("MAIL_USE_TLS")),
        "MAIL_USERNAME": env.get("MAIL_USERNAME") or None,
        "MAIL_PASSWORD": env.get("MAIL_PASSWORD") or None,
        "MAIL_SENDER": env.get("MAIL_SENDER", "noreply@scenarios.cq.example"),
        # The site's public address, for links in mail and open data (default: default_site_url()).
        "SITE_URL": _site_url(env, production),
        # The footer of every page: who runs the site, how to reach them, the ICP filing number (备案号).
        # Empty values leave the line out (the filing number is required once the site is public in China).
        "SITE_OPERATOR": env.get("SITE_OPERATOR", ""),
        "SITE_CONTACT": env.get("SITE_CONTACT", ""),
        "SITE_ICP": env.get("SITE_ICP", ""),
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "SESSION_COOKIE_SECURE": production,
        "REMEMBER_COOKIE_HTTPONLY": True,
        "REMEMBER_COOKIE_SECURE": production,
        "REMEMBER_COOKIE_SAMESITE": "Lax",
        "WTF_CSRF_TIME_LIMIT": None,
        # 20 MB per attachment plus the rest of the form.
        "MAX_CONTENT_LENGTH": 25 * 1024 * 1024,
        # Spreadsheet import (/scenarios/import), checked before parsing (marketplace.scenarios.import_limits):
        # rows and columns the sheet may declare or hold, bytes its zip may unpack to, and the largest
        # unpacked/packed ratio of any big member (a "zip bomb" packs 300 MB of strings into 300 KB).
        "IMPORT_MAX_ROWS": int(env.get("IMPORT_MAX_ROWS", "5000")),
        "IMPORT_MAX_COLUMNS": int(env.get("IMPORT_MAX_COLUMNS", "100")),
        "IMPORT_MAX_UNPACKED_MB": int(env.get("IMPORT_MAX_UNPACKED_MB", "50")),
        "IMPORT_MAX_RATIO": int(env.get("IMPORT_MAX_RATIO", "100")),
        "BABEL_DEFAULT_LOCALE": "zh_CN",
        "BABEL_DEFAULT_TIMEZONE": "Asia/Shanghai",
        "LANGUAGES": {"zh_CN": "中文", "en": "English"},
        # Login throttling: failures allowed per e-mail / per IP within the window.
        "LOGIN_MAX_FAILURES": int(env.get("LOGIN_MAX_FAILURES", "5")),
        "LOGIN_MAX_FAILURES_PER_IP": int(env.get("LOGIN_MAX_FAILURES_PER_IP", "30")),
        "LOGIN_WINDOW_SECONDS": int(env.get("LOGIN_WINDOW_SECONDS", "900")),
        # Past the allowance each failure doubles the wait (2 s, 4 s, 8 s … up to the cap); see auth/throttle.py.
        "LOGIN_DELAY_SECONDS": int(env.get("LOGIN_DELAY_SECONDS", "2")),
        "LOGIN_MAX_DELAY_SECONDS": int(env.get("LOGIN_MAX_DELAY_SECONDS", "900")),
        # A browser that signed in to an account keeps a device cookie this long (not locked out by others).
        "LOGIN_DEVICE_COOKIE_DAYS": int(env.get("LOGIN_DEVICE_COOKIE_DAYS", "180")),
        "PASSWORD_RESET_MAX_AGE": 3600,
        # Award process (README "Award process: deadlines, sealing, evaluations"): a scenario is published
        # with at least MIN_APPLICATION_DAYS for applications; a substantive change leaves at least
        # MIN_DAYS_AFTER_CHANGE days before the deadline.
        "MIN_APPLICATION_DAYS": int(env.get("MIN_APPLICATION_DAYS", "10")),
        "MIN_DAYS_AFTER_CHANGE": int(env.get("MIN_DAYS_AFTER_CHANGE", "5")),
        "EMAIL_CONFIRM_MAX_AGE": 7 * 86400,
        "EMAIL_CHANGE_MAX_AGE": 86400,
        # Reverse proxies in front of the app (nginx: 1): X-Forwarded-For/-Proto/-Host are trusted from
        # that many hops; 0 ignores them (a client could forge them).
        "TRUSTED_PROXIES": int(env.get("TRUSTED_PROXIES", "0")),
        # Behind such a proxy its "X-Request-Start: t=<epoch s>" stamp is the request's arrival time (deadlines
        # are judged by arrival), counted at most this many seconds before the app received the request.
        "REQUEST_START_MAX_LAG_SECONDS": float(env.get("REQUEST_START_MAX_LAG_SECONDS", "30")),
        # The audit chain's HMAC key and the file its signed checkpoints are appended to (keep both
        # outside the database and its backups' reach).
        "AUDIT_KEY": _audit_key(env, instance),
        "AUDIT_CHECKPOINT_FILE": env.get("AUDIT_CHECKPOINT_FILE", str(instance / "audit-checkpoints.log")),
        # Checkpoints written by a background thread of each process (coalesced, off the request path)
        # instead of synchronously after each commit that wrote audit events.
        "AUDIT_CHECKPOINT_ASYNC": _bool(env.get("AUDIT_CHECKPOINT_ASYNC"), default=True),
        # Rate limits (Flask-Limiter; "N/second|minute|hour|day", several joined with ";").
        "RATELIMIT_ENABLED": _bool(env.get("RATELIMIT_ENABLED"), default=True),
        "RATELIMIT_STORAGE_URI": _rate_limit_storage(env),
        "RATELIMIT_KEY_PREFIX": env.get("RATELIMIT_KEY_PREFIX", "mp"),
        "RATELIMIT_HEADERS_ENABLED": True,
        # Redis unreachable: limits fall back to this process's memory instead of failing the request.
        "RATELIMIT_IN_MEMORY_FALLBACK_ENABLED": True,
        "RATELIMIT_SWALLOW_ERRORS": True,
        "RATELIMIT_LOGIN": env.get("RATELIMIT_LOGIN", "20/minute;200/hour"),
        "RATELIMIT_REGISTER": env.get("RATELIMIT_REGISTER", "5/minute;30/hour"),
        "RATELIMIT_PASSWORD_RESET": env.get("RATELIMIT_PASSWORD_RESET", "5/minute;30/hour"),
        "RATELIMIT_QUESTIONS": env.get("RATELIMIT_QUESTIONS", "10/minute;60/hour"),
        "RATELIMIT_OBJECTIONS": env.get("RATELIMIT_OBJECTIONS", "5/minute;30/hour"),
        "RATELIMIT_SEARCH": env.get("RATELIMIT_SEARCH", "60/minute"),
        "RATELIMIT_API": env.get("RATELIMIT_API", "60/minute"),
        # Questions close this many hours before a scenario's deadline.
        "QUESTION_CUTOFF_HOURS": int(env.get("QUESTION_CUTOFF_HOURS", "48")),
        # Followers are reminded this many hours before a deadline (flask notifications scan).
        "REMINDER_HOURS": int(env.get("REMINDER_HOURS", "48")),
        # Saved searches look only at scenarios published at least this long ago (commit lag).
        "SAVED_SEARCH_LAG_SECONDS": int(env.get("SAVED_SEARCH_LAG_SECONDS", "120")),
        # 公示: an award is publicised this many calendar days (to the second) before it becomes final.
        "PUBLICITY_DAYS": int(env.get("PUBLICITY_DAYS", "5")),
        # Confirmation tokens of irreversible actions (marketplace.confirmation) expire after this many seconds.
        "CONFIRMATION_MAX_AGE": int(env.get("CONFIRMATION_MAX_AGE", "600")),
        # Open data (marketplace.opendata). OCDS_PREFIX is the ocid prefix the Open Contracting Partnership
        # registers for this publisher (ocids read "ocds-<prefix>-<scenario id>"). PLACEHOLDER: the default
        # below is not registered; set the real one before publishing (the /open-data page warns meanwhile).
        "OCDS_PREFIX": normalise_ocds_prefix(env.get("OCDS_PREFIX", OCDS_PLACEHOLDER_PREFIX)),
        "OCDS_PUBLISHER": env.get("OCDS_PUBLISHER", "重庆市应用场景揭榜平台"),
        # Licence of the published data (a canonical licence URL); CC BY 4.0 unless the city decides otherwise.
        "OPEN_DATA_LICENSE": env.get("OPEN_DATA_LICENSE", "https://creativecommons.org/licenses/by/4.0/"),
    }


def engine_options(database_url: str) -> dict[str, Any]:
    """SQLAlchemy engine options per database."""
    if database_url.startswith("sqlite"):
        return {"connect_args": {"timeout": 30}}
    return {"pool_pre_ping": True}


def testing_overrides(database_url: str, instance: Path) -> dict[str, Any]:
    """Settings for the test suite: external services off, fast hashing."""
    return {
        "TESTING": True,
        "SECRET_KEY": "test-secret-key",
        "SQLALCHEMY_DATABASE_URI": database_url,
        "SQLALCHEMY_ENGINE_OPTIONS": engine_options(database_url),
        "INSTANCE_DIR": str(instance),
        "SEARCH_INDEX_DIR": str(instance / "search-index"),
        "UPLOAD_DIR": str(instance / "uploads"),
        "MATCH_MODEL_DIR": str(instance / "match-model"),
        "WTF_CSRF_ENABLED": False,
        "MAIL_SERVER": None,
        "SERVER_NAME": None,
        # Pages are cached only in the tests about caching (tests/test_pagecache.py turns it on).
        "PAGE_CACHE": False,
        "STORAGE": "local",
        "AUDIT_KEY": "test-audit-key",
        "AUDIT_CHECKPOINT_FILE": str(instance / "audit-checkpoints.log"),
        # Synchronous checkpoints, so tests read the file right after a commit (tests/test_audit.py covers both).
        "AUDIT_CHECKPOINT_ASYNC": False,
        # Rate limits off unless a test turns them on; sign-in throttling stays on (memory store).
        "RATELIMIT_ENABLED": False,
        "RATELIMIT_STORAGE_URI": "memory://",
    }
