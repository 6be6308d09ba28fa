"""Periodic notification work, run by ``flask notifications scan`` and ``flask notifications digest``.

Every job is idempotent and safe to run from cron every few minutes, even twice at once:
each piece of work is *claimed* with a conditional UPDATE (``… WHERE reminded_at IS NULL``,
``… WHERE last_checked_at = <what we read>``, ``… WHERE emailed_at IS NULL``) before anything
is sent, so a concurrent run that loses the race finds nothing left to do. Jobs flush; the
command commits once.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, time, timedelta

import sqlalchemy as sa
from flask import current_app
from flask_babel import gettext as _
from sqlalchemy.orm import Session

from marketplace import clock, mail
from marketplace.errors import ValidationFailed
from marketplace.models import Follow, Notification, SavedSearch, Scenario, ScenarioStatus, User
from marketplace.notifications import services
from marketplace.scenarios import listing

log = logging.getLogger("marketplace.notifications")

#: Saved searches look only at scenarios published at least this long ago (config
#: ``SAVED_SEARCH_LAG_SECONDS``), so that a publication whose transaction is still
#: committing when the scan runs is not skipped for ever: ``published_at`` is stamped
#: before the commit makes the row visible.
DEFAULT_SEARCH_LAG_SECONDS = 120
#: A digest covers the un-e-mailed notifications of this many hours.
DIGEST_HOURS = 24
#: At most this many scenarios are listed in one saved-search notification.
MATCH_LIST_LIMIT = 20


@dataclass
class ScanReport:
    """What one ``scan`` did."""

    reminders: int = 0
    searches_checked: int = 0
    search_notifications: int = 0
    matched_scenarios: int = 0


@dataclass
class DigestReport:
    """What one ``digest`` did."""

    users: int = 0
    notifications: int = 0
    skipped_today: int = 0


def _absolute(path: str) -> str:
    return f"{current_app.config['SITE_URL'].rstrip('/')}{path}"


# ------------------------------------------------------------------ deadline reminders

def remind_deadlines(session: Session, now: datetime | None = None, hours: int | None = None) -> int:
    """Remind followers of open scenarios whose deadline is within ``hours``; once per follow.

    A substantive change that moves the deadline beyond the reminded window re-arms the reminder
    (see :func:`services.notify_followers_of_change`).
    """
    now = now or clock.now()
    hours = hours if hours is not None else services.reminder_hours()
    due = session.execute(
        sa.select(Follow, Scenario).join(Scenario, Follow.scenario_id == Scenario.id)
        .where(Follow.reminded_at.is_(None), Scenario.status == ScenarioStatus.PUBLISHED,
               Scenario.deadline > now, Scenario.deadline <= now + timedelta(hours=hours))
        .order_by(Scenario.deadline, Follow.user_id)
    ).all()
    sent = 0
    for follow, scenario in due:
        claimed = session.execute(
            sa.update(Follow)
            .where(Follow.user_id == follow.user_id, Follow.scenario_id == follow.scenario_id,
                   Follow.reminded_at.is_(None))
            .values(reminded_at=now)
            .execution_options(synchronize_session="fetch")
        ).rowcount
        if claimed != 1:
            continue  # another run reminded this follow a moment ago
        left = max(1, int((scenario.deadline - now).total_seconds() // 3600))
        with services.stored_locale():
            created = services.notify(
                session, [follow.user], "deadline.approaching",
                _("关注的场景即将截止：%(title)s", title=scenario.title),
                _("“%(title)s”将于 %(time)s（北京时间）截止揭榜，距今约 %(h)d 小时。如需揭榜，请在截止前提交申请。\n%(facts)s",
                  title=scenario.title, time=services.local_dt(scenario.deadline), h=left,
                  facts=services.scenario_facts(scenario)),
                services.site_path("scenarios.detail", scenario_id=scenario.id),
            )
        sent += len(created)
    return sent


# ------------------------------------------------------------------ saved searches

def match_saved_searches(session: Session, now: datetime | None = None, report: ScanReport | None = None) -> ScanReport:
    """Notify each saved search's owner of open scenarios published since it was last checked.

    The window ``(last_checked_at, now - lag]`` of every search is claimed and then advanced, so a
    scenario falls into exactly one window of each search: it is notified once per search.
    Matching reuses the list page's own :func:`listing.filtered_query` (public scenarios only).
    """
    now = now or clock.now()
    report = report or ScanReport()
    lag = int(current_app.config.get("SAVED_SEARCH_LAG_SECONDS", DEFAULT_SEARCH_LAG_SECONDS))
    upper = now - timedelta(seconds=lag)
    searches = list(session.execute(
        sa.select(SavedSearch).where(SavedSearch.last_checked_at < upper).order_by(SavedSearch.id)
    ).scalars())
    if not searches:
        return report
    lower = min(s.last_checked_at for s in searches)
    new_ids = list(session.execute(
        sa.select(Scenario.id).where(Scenario.status == ScenarioStatus.PUBLISHED, Scenario.deadline > now,
                                     Scenario.published_at > lower, Scenario.published_at <= upper)
    ).scalars())
    if not new_ids:
        # Nothing was published: move every window forward in one statement.
        result = session.execute(
            sa.update(SavedSearch).where(SavedSearch.last_checked_at < upper).values(last_checked_at=upper)
            .execution_options(synchronize_session="fetch"))
        report.searches_checked += result.rowcount or 0
        return report
    for search in searches:
        previous = search.last_checked_at
        claimed = session.execute(
            sa.update(SavedSearch).where(SavedSearch.id == search.id, SavedSearch.last_checked_at == previous)
            .values(last_checked_at=upper).execution_options(synchronize_session="fetch")
        ).rowcount
        if claimed != 1:
            continue  # another run has just checked this search
        report.searches_checked += 1
        try:
            filters = services.filters_of(search)
        except ValidationFailed:
            log.warning("saved search %s has invalid filters %r; skipped", search.id, search.query)
            continue
        query = (listing.filtered_query(session, filters)
                 .where(Scenario.id.in_(new_ids), Scenario.status == ScenarioStatus.PUBLISHED,
                        Scenario.deadline > now, Scenario.published_at > previous, Scenario.published_at <= upper)
                 .order_by(Scenario.published_at, Scenario.id))
        matches = list(session.execute(query).scalars())
        if matches:
            report.search_notifications += len(_notify_matches(session, search, matches))
            report.matched_scenarios += len(matches)
    return report


def _notify_matches(session: Session, search: SavedSearch, matches: list[Scenario]) -> list[Notification]:
    """One notification per search and run: the scenario itself, or a list linking to the filtered page."""
    with services.stored_locale():
        if len(matches) == 1:
            scenario = matches[0]
            body = "\n".join(p for p in (services.scenario_facts(scenario), services.clip(scenario.summary, 300)) if p)
            return services.notify(
                session, [search.user], "search.match",
                _("订阅“%(name)s”有新场景：%(title)s", name=search.name, title=scenario.title), body,
                services.site_path("scenarios.detail", scenario_id=scenario.id))
        lines = [f"· {s.title}（{services.scenario_facts(s)}）" for s in matches[:MATCH_LIST_LIMIT]]
        if len(matches) > MATCH_LIST_LIMIT:
            lines.append(_("……共 %(n)d 个", n=len(matches)))
        url = services.site_path("scenarios.index", **services.list_url_args(search))
        if len(url) > services.URL_MAX:
            url = services.site_path("scenarios.index", status="open")
        return services.notify(
            session, [search.user], "search.match",
            _("订阅“%(name)s”有 %(n)d 个新场景", name=search.name, n=len(matches)), "\n".join(lines), url)


def scan(session: Session, now: datetime | None = None, hours: int | None = None) -> ScanReport:
    """Deadline reminders and saved-search matches (``flask notifications scan``)."""
    now = now or clock.now()
    report = ScanReport(reminders=remind_deadlines(session, now, hours))
    return match_saved_searches(session, now, report)


# ------------------------------------------------------------------ daily digest

def _local_day_start(now: datetime) -> datetime:
    return clock.local_to_utc(datetime.combine(clock.to_local(now).date(), time.min))


def send_daily_digests(session: Session, now: datetime | None = None) -> DigestReport:
    """E-mail each "daily" user one message listing their un-e-mailed notifications of the last day.

    A user gets at most one digest per local (Asia/Shanghai) calendar day, so running the command
    more often than daily — by mistake, or from a cron shared with ``scan`` — sends nothing extra.
    """
    now = now or clock.now()
    since = now - timedelta(hours=DIGEST_HOURS)
    day_start = _local_day_start(now)
    window = (Notification.emailed_at.is_(None), Notification.created_at > since, Notification.created_at <= now)
    users = list(session.execute(
        sa.select(User).where(User.notification_mode == "daily", User.active,
                              User.id.in_(sa.select(Notification.user_id).where(*window)))
        .order_by(User.id)
    ).scalars())
    report = DigestReport()
    for user in users:
        last_sent = session.execute(
            sa.select(sa.func.max(Notification.emailed_at)).where(Notification.user_id == user.id)
        ).scalar_one()
        if last_sent is not None and last_sent >= day_start:
            report.skipped_today += 1
            continue
        claimed = list(session.execute(
            sa.update(Notification).where(Notification.user_id == user.id, *window)
            .values(emailed_at=now).returning(Notification.id)
            .execution_options(synchronize_session="fetch")
        ).scalars())
        if not claimed:
            continue
        items = list(session.execute(
            sa.select(Notification).where(Notification.id.in_(claimed))
            .order_by(Notification.created_at, Notification.id)
        ).scalars())
        with services.stored_locale():
            subject, body = digest_message(user, items, now)
        mail.enqueue(session, user.email, subject, body)
        report.users += 1
        report.notifications += len(items)
    return report


def digest_message(user: User, items: list[Notification], now: datetime) -> tuple[str, str]:
    """Subject and plain-text body of one digest, grouped by kind of notification."""
    groups: dict[str, list[Notification]] = {}
    for item in items:
        groups.setdefault(services.kind_label(item.kind), []).append(item)
    day = clock.to_local(now).strftime("%Y-%m-%d")
    subject = _("应用场景揭榜平台通知摘要（%(day)s）：%(n)d 条新通知", day=day, n=len(items))
    lines = [_("%(name)s，您好：", name=user.name), "",
             _("过去一天您在应用场景揭榜平台有 %(n)d 条新通知：", n=len(items)), ""]
    for label, group in groups.items():
        lines.append(f"【{label}】（{len(group)}）")
        for item in group:
            lines.append(f"· {services.local_dt(item.created_at)}  {item.title}")
            lines.extend(f"  {line}" for line in item.body.splitlines() if line.strip())
            if item.url:
                lines.append(f"  {_absolute(item.url)}")
        lines.append("")
    lines.append(_("查看全部通知：%(url)s", url=_absolute(services.site_path("notifications.index"))))
    lines.append(_("更改邮件通知方式：%(url)s", url=_absolute(services.site_path("notifications.settings"))))
    return subject, "\n".join(lines)
