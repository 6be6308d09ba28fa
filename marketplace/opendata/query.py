"""Parameters of the OCDS release list: a time window (``since``, ``until``) and a page."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from flask_babel import gettext as _
from werkzeug.datastructures import MultiDict

from marketplace import clock
from marketplace.errors import BadParameters
from marketplace.queryargs import int_arg

#: Releases per page at most (and by default).
MAX_PER_PAGE = 100
MAX_PAGE = 100_000


@dataclass(frozen=True)
class ReleaseQuery:
    """A validated window and page (times in UTC; both ends included; ``until`` before ``since`` is empty)."""

    since: datetime | None = None
    until: datetime | None = None
    page: int = 1
    per_page: int = MAX_PER_PAGE

    def args(self, **changes) -> dict[str, object]:
        """Query-string arguments reproducing this query (for ``links``)."""
        data: dict[str, object] = {"since": clock.iso_local(self.since), "until": clock.iso_local(self.until),
                                   "page": self.page,
                                   "per_page": self.per_page if self.per_page != MAX_PER_PAGE else None}
        data.update(changes)
        return {k: v for k, v in data.items() if v is not None}


def parse_time(raw: str, end_of_day: bool) -> datetime | None:
    """``2025-06-30`` (a Beijing day: its start, or its end when ``end_of_day``) or an ISO 8601 date-time
    (without an offset it is Beijing time). None when the text is neither."""
    text = raw.strip()
    if len(text) > 40:
        return None
    try:
        if len(text) == 10:
            day = date.fromisoformat(text)
            if end_of_day:
                return clock.local_day_end(day) + timedelta(microseconds=999_999)
            return clock.local_to_utc(datetime.combine(day, time(0, 0)))
        return clock.local_to_utc(datetime.fromisoformat(text))
    except (ValueError, OverflowError):  # not a date, or a year next to 1 or 9999 that leaves the calendar
        return None


def parse_release_query(args: MultiDict) -> ReleaseQuery:
    """Read ``since``, ``until``, ``page`` and ``per_page``; bad values raise :class:`BadParameters` (400)."""
    errors: dict[str, list[str]] = {}
    window: dict[str, datetime | None] = {}
    for name, end_of_day in (("since", False), ("until", True)):
        raw = (args.get(name) or "").strip()
        window[name] = parse_time(raw, end_of_day) if raw else None
        if raw and window[name] is None:
            errors[name] = [_("时间格式应为 ISO 8601，例如 2025-06-30 或 2025-06-30T08:00:00+08:00。")]
    page = int_arg(args, "page", errors, 1, MAX_PAGE) or 1
    per_page = int_arg(args, "per_page", errors, 1, MAX_PER_PAGE) or MAX_PER_PAGE
    if errors:
        detail = "；".join(f"{k}: {' '.join(v)}" for k, v in errors.items())
        raise BadParameters(_("参数有误：%(detail)s", detail=detail), errors)
    return ReleaseQuery(window["since"], window["until"], page, per_page)
