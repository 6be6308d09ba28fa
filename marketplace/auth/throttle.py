"""Sign-in throttling with device cookies (OWASP, "Slow Down Online Guessing Attacks with Device Cookies").

* A successful sign-in gives the browser a signed **device cookie** for that account.
* A browser presenting a valid device cookie for the account is **trusted**: failures made elsewhere
  (by anyone guessing the firm's password from other machines, or sharing its IP address) never
  refuse it. Its own failures are counted per device cookie and slow down only that browser.
* Every other (untrusted) client is throttled **per account** and **per client IP**: after
  ``LOGIN_MAX_FAILURES`` (account) or ``LOGIN_MAX_FAILURES_PER_IP`` (IP) failures within
  ``LOGIN_WINDOW_SECONDS``, each further failure doubles a delay (``LOGIN_DELAY_SECONDS``, 2, 4, 8 …
  capped at ``LOGIN_MAX_DELAY_SECONDS``) during which sign-in is answered 429 with ``Retry-After``
  instead of sleeping.

Counters live in the rate-limit store (``limits`` storage, the one Flask-Limiter uses): Redis when
``REDIS_URL`` / ``RATELIMIT_STORAGE_URI`` names it, so every app server sees the same counts; memory
otherwise. When the store cannot be reached the process falls back to its own memory and logs it.
"""

from __future__ import annotations

import hashlib
import logging
import math
import secrets
import time
from dataclasses import dataclass

from flask import Flask, Request, Response, current_app
from flask_babel import gettext as _
from itsdangerous import BadSignature, URLSafeTimedSerializer
from limits.storage import MemoryStorage, storage_from_string

from marketplace.errors import DomainError

log = logging.getLogger(__name__)

_EXTENSION = "login_throttle"
_COOKIE_PREFIX = "mp_device_"


class LoginThrottled(DomainError):
    """Too many failed sign-ins: try again after ``retry_after`` seconds."""

    status_code = 429

    def __init__(self, retry_after: int) -> None:
        self.retry_after = max(1, int(retry_after))
        wait = _("%(n)d 秒", n=self.retry_after) if self.retry_after < 120 else \
            _("%(n)d 分钟", n=math.ceil(self.retry_after / 60))
        super().__init__(_("登录失败次数过多，请 %(wait)s后再试，或通过“忘记密码”重置。", wait=wait))


# ------------------------------------------------------------------ store


def init_app(app: Flask, storage_uri: str) -> None:
    """Open the counter store for this app (the rate limits' store)."""
    app.extensions[_EXTENSION] = {"storage": storage_from_string(storage_uri), "fallback": MemoryStorage()}


def _stores() -> dict:
    return current_app.extensions[_EXTENSION]


def reset(app: Flask) -> None:
    """Forget every counter (tests; an operator after an incident)."""
    for store in app.extensions[_EXTENSION].values():
        store.reset()


def _call(method: str, *args):
    stores = _stores()
    try:
        return getattr(stores["storage"], method)(*args)
    except Exception:  # Redis down: degrade to this process's memory rather than refusing sign-in
        log.warning("login throttle store unavailable; using process memory", exc_info=True)
        return getattr(stores["fallback"], method)(*args)


def _prefix() -> str:
    return current_app.config.get("RATELIMIT_KEY_PREFIX") or "mp"


def _digest(value: str) -> str:
    return hashlib.sha256(value.encode("utf-8")).hexdigest()[:32]


@dataclass(frozen=True)
class _Scope:
    """One thing failures are counted for: an account (untrusted clients), an IP, or a device cookie."""

    kind: str
    value: str
    free: int

    @property
    def counter(self) -> str:
        return f"{_prefix()}:login:fail:{self.kind}:{_digest(self.value)}"

    @property
    def block(self) -> str:
        return f"{_prefix()}:login:block:{self.kind}:{_digest(self.value)}"


def _scopes(email: str, ip: str, device: str | None) -> list[_Scope]:
    config = current_app.config
    if device:
        return [_Scope("device", device, config["LOGIN_MAX_FAILURES"])]
    return [_Scope("account", email, config["LOGIN_MAX_FAILURES"]),
            _Scope("ip", ip, config["LOGIN_MAX_FAILURES_PER_IP"])]


def delay_for(failures: int, free: int) -> int:
    """Seconds to refuse sign-in after the *failures*-th failure (0 while under the free allowance)."""
    if failures < free:
        return 0
    config = current_app.config
    return int(min(config["LOGIN_DELAY_SECONDS"] * 2 ** (failures - free), config["LOGIN_MAX_DELAY_SECONDS"]))


def check(email: str, ip: str, device: str | None) -> None:
    """Raise :class:`LoginThrottled` while a delay runs for this client."""
    wait = 0.0
    for scope in _scopes(email, ip, device):
        if _call("get", scope.block) > 0:
            wait = max(wait, _call("get_expiry", scope.block) - time.time())
    if wait > 0:
        raise LoginThrottled(math.ceil(wait))


def failed(email: str, ip: str, device: str | None) -> None:
    """Count a failed sign-in and start the next delay when the allowance is used up."""
    window = current_app.config["LOGIN_WINDOW_SECONDS"]
    for scope in _scopes(email, ip, device):
        failures = _call("incr", scope.counter, window, 1)
        delay = delay_for(failures, scope.free)
        if delay:
            _call("clear", scope.block)
            _call("incr", scope.block, delay, 1)


# ------------------------------------------------------------------ device cookies


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt="device-cookie")


def cookie_name(email: str) -> str:
    return _COOKIE_PREFIX + _digest(email)[:16]


def trusted_device(request: Request, email: str) -> str | None:
    """The device id of a valid device cookie this browser holds for *email*, or None."""
    token = request.cookies.get(cookie_name(email))
    if not token:
        return None
    max_age = current_app.config["LOGIN_DEVICE_COOKIE_DAYS"] * 86400
    try:
        data = _serializer().loads(token, max_age=max_age)
    except BadSignature:
        return None
    if not isinstance(data, dict) or data.get("e") != email or not isinstance(data.get("d"), str):
        return None
    return data["d"]


def issue_device_cookie(response: Response, email: str) -> None:
    """After a successful sign-in: remember this browser for the account."""
    config = current_app.config
    token = _serializer().dumps({"e": email, "d": secrets.token_urlsafe(16)})
    response.set_cookie(cookie_name(email), token, max_age=config["LOGIN_DEVICE_COOKIE_DAYS"] * 86400,
                        httponly=True, secure=config.get("SESSION_COOKIE_SECURE", False), samesite="Lax",
                        path="/auth/")
