"""Time in one place: UTC inside, Asia/Shanghai for people."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

#: The platform's civil time zone (the programme runs in Chongqing).
LOCAL_TZ = ZoneInfo("Asia/Shanghai")


def now() -> datetime:
    """Current time, timezone-aware UTC. Tests may monkeypatch this function."""
    return datetime.now(UTC)


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
