"""When the periodic jobs run: every N minutes, or daily at a local time (Asia/Shanghai).

Why not ``rq cron``: rq 3.0's :class:`rq.cron.CronScheduler` reads cron expressions in the host's
local time zone and runs as one more process per host, with nothing stopping two hosts from both
enqueueing the same run. Instead each periodic job is *planned* as one RQ scheduled job per time
slot (``enqueue_at``) whose id names the slot (``periodic-notifications_scan-20261205T0805``): a
second worker planning the same slot finds the id taken, so several workers never double a run, and
RQ's own scheduler (``Worker(..., with_scheduler=True)``, one lock per queue) releases it on time.
Each run plans the next slot before it works, and every worker re-plans all periodic jobs at start
and at each maintenance pass (about every 10 minutes), so a lost slot is re-created.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

LOCAL = ZoneInfo("Asia/Shanghai")


@dataclass(frozen=True)
class Periodic:
    """A job run every ``minutes`` minutes (aligned to the hour), or daily at ``daily_at`` local time."""

    job: str
    minutes: int | None = None
    daily_at: time | None = None

    def next_slot(self, after: datetime) -> datetime:
        """The first slot strictly after *after* (UTC, aware)."""
        if self.minutes:
            step = self.minutes * 60
            epoch = int(after.timestamp())
            return datetime.fromtimestamp((epoch // step + 1) * step, UTC)
        assert self.daily_at is not None
        local = after.astimezone(LOCAL)
        slot = datetime.combine(local.date(), self.daily_at, tzinfo=LOCAL)
        if slot <= local:
            slot = datetime.combine(local.date() + timedelta(days=1), self.daily_at, tzinfo=LOCAL)
        return slot.astimezone(UTC)

    def slot_id(self, slot: datetime) -> str:
        """The RQ job id of the run at *slot* (one id per slot: planning twice is a no-op)."""
        return f"periodic-{self.job}-{slot.astimezone(UTC):%Y%m%dT%H%M}"


#: The periodic jobs (names are keys of :data:`marketplace.jobs.tasks.JOBS`).
PERIODIC: tuple[Periodic, ...] = (
    Periodic("notifications_scan", minutes=5),
    Periodic("notifications_digest", daily_at=time(8, 0)),
    Periodic("outbox_send", minutes=1),
    Periodic("search_repair", minutes=60),
    # A safety net behind the refit enqueued on every version bump (a bump made while Redis was down).
    Periodic("match_refit", minutes=10),
    # Commits that write audit events append a checkpoint themselves; this covers a process that died
    # between its commit and its checkpoint.
    Periodic("audit_checkpoint", minutes=5),
)


def periodic(job: str) -> Periodic | None:
    """The schedule of *job*, if it is periodic."""
    return next((p for p in PERIODIC if p.job == job), None)
