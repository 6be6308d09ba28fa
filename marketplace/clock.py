"""Time in one place: UTC inside, Asia/Shanghai for people; and when the current request arrived.

Deadlines are judged by the time a request *arrived*, not the moment a busy worker got round to it
(:func:`request_time`): :class:`ArrivalStamp`, the outermost WSGI layer, notes the arrival before
any work. Behind a trusted reverse proxy (``TRUSTED_PROXIES`` ≥ 1) the proxy's own stamp
``X-Request-Start: t=<epoch seconds>`` (nginx: ``t=${msec}``) is used instead, bounded: never in the
future of the app's clock and never more than ``REQUEST_START_MAX_LAG_SECONDS`` (30 s) before it.
Without a trusted proxy the header is ignored (a client could forge it).
"""

from __future__ import annotations

import time as _time
from collections.abc import Callable, Iterable
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from flask import has_request_context, request

#: The platform's civil time zone (the programme runs in Chongqing).
LOCAL_TZ = ZoneInfo("Asia/Shanghai")


def now() -> datetime:
    """Current time, timezone-aware UTC. Tests may monkeypatch this function."""
    return datetime.now(UTC)


#: WSGI environ key of the request's arrival time (aware UTC datetime).
ARRIVAL_KEY = "marketplace.arrived_at"


def parse_request_start(value: str | None) -> float | None:
    """Epoch seconds from ``X-Request-Start`` (``t=1733365123.456`` or a bare number; milli- and
    microseconds are recognised by their size); None when absent or unreadable."""
    if not value:
        return None
    text = value.strip().removeprefix("t=").strip()
    try:
        stamp = float(text)
    except ValueError:
        return None
    if stamp != stamp or stamp <= 0 or stamp == float("inf"):  # NaN, negative, infinite
        return None
    while stamp > 1e11:  # ms or µs since the epoch
        stamp /= 1000
    return stamp


class ArrivalStamp:
    """Outermost WSGI middleware: record when each request arrived, before any other work.

    ``trust_header``: take the proxy's ``X-Request-Start`` (only when every request comes through a
    proxy that sets it, i.e. ``TRUSTED_PROXIES`` ≥ 1); ``max_lag``: the proxy's stamp counts at most
    this many seconds before the app received the request, and never after.
    """

    def __init__(self, app: Callable[..., Iterable[bytes]], *, trust_header: bool, max_lag: float = 30.0) -> None:
        self.app = app
        self.trust_header = trust_header
        self.max_lag = max_lag

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        arrived = now()
        if self.trust_header:
            stamp = parse_request_start(environ.get("HTTP_X_REQUEST_START"))
            if stamp is not None:
                # How long the request waited between the proxy and this process (queued for a worker).
                lag = min(max(_time.time() - stamp, 0.0), self.max_lag)
                arrived -= timedelta(seconds=lag)
        environ[ARRIVAL_KEY] = arrived
        return self.app(environ, start_response)


def request_time() -> datetime:
    """When the current request arrived (see the module docstring); :func:`now` outside a request."""
    if has_request_context():
        arrived = request.environ.get(ARRIVAL_KEY)
        if arrived is not None:
            return arrived
    return now()


def to_local(value: datetime) -> datetime:
    """Convert an aware datetime to Asia/Shanghai."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(LOCAL_TZ)


def local_to_utc(value: datetime) -> datetime:
    """Interpret a naive datetime as Asia/Shanghai wall time and return it in UTC."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=LOCAL_TZ)
    return value.astimezone(UTC)


def local_day_end(day: date) -> datetime:
    """23:59:59 of a local calendar day, in UTC."""
    return local_to_utc(datetime.combine(day, time(23, 59, 59)))


def local_today() -> date:
    """Today's date in Asia/Shanghai."""
    return to_local(now()).date()


def iso_local(value: datetime | None) -> str | None:
    """An aware datetime as ISO 8601 in Asia/Shanghai, e.g. ``2025-12-31T17:00:00+08:00`` (None stays None)."""
    return to_local(value).isoformat(timespec="seconds") if value is not None else None
