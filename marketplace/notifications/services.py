"""Notifications: creating them, the centre, e-mail preferences, follows and saved searches.

Other areas call :func:`notify`; nothing here commits. Scenario events arrive through
:mod:`marketplace.signals` (connected in :func:`marketplace.notifications.init_app`), so the
scenarios area never imports this one. The periodic work (deadline reminders, saved-search
matches, daily digests) lives in :mod:`marketplace.notifications.jobs`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any
from urllib.parse import urlsplit

import sqlalchemy as sa
from flask import current_app, has_request_context, url_for
from flask_babel import force_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Session
from werkzeug.datastructures import MultiDict

from marketplace import clock, mail
from marketplace.errors import InvalidTransition, NotFound, PermissionDenied, ValidationFailed
from marketplace.models import (
    Batch,
    District,
    Domain,
    Follow,
    Notification,
    Question,
    Role,
    SavedSearch,
    Scenario,
    Theme,
    User,
)
from marketplace.models.base import insert_or_ignore
from marketplace.scenarios import listing, policy

#: ``User.notification_mode`` values and what they mean to the user.
MODE_LABELS = {
    "immediate": _l("即时邮件：每条通知都立即发送邮件"),
    "daily": _l("每日摘要：每天一封邮件汇总前一天的通知"),
    "off": _l("不发邮件：只在站内通知中心查看"),
}
NOTIFICATION_MODES = tuple(MODE_LABELS)

#: Labels of notification kinds (exact kinds first, then ``area.`` prefixes), for the centre and digests.
KIND_LABELS = {
    "deadline.approaching": _l("截止提醒"),
    "search.match": _l("订阅的新场景"),
    "scenario.changed": _l("关注的场景有修改"),
    "scenario.answered": _l("关注的场景有新答疑"),
    "question.answered": _l("提问已答复"),
    "invitation": _l("邀请"),
    "application.": _l("揭榜申请"),
    "evaluation.": _l("评审"),
    "delivery.": _l("实施与验收"),
    "invitation.": _l("邀请"),
}
OTHER_KIND_LABEL = _l("其他通知")

#: A firm may keep this many saved searches.
MAX_SAVED_SEARCHES = 20
#: Query arguments a saved search keeps: new scenarios are always open ones, so status,
#: sort order and paging from the list page do not belong to a subscription.
SEARCH_KEYS = ("district", "domain", "theme", "budget_min", "budget_max", "due_within", "batch", "q")

#: Hours before the deadline at which followers are reminded, unless ``REMINDER_HOURS`` says otherwise.
DEFAULT_REMINDER_HOURS = 48

# Column sizes of the notification model.
TITLE_MAX = 200
URL_MAX = 500


def kind_label(kind: str) -> str:
    """A readable label for a notification kind (``application.selected`` → "揭榜申请")."""
    if kind in KIND_LABELS:
        return str(KIND_LABELS[kind])
    for prefix, label in KIND_LABELS.items():
        if prefix.endswith(".") and kind.startswith(prefix):
            return str(label)
    return str(OTHER_KIND_LABEL)


def clip(text: str, limit: int) -> str:
    """Shorten text to fit a column, marking the cut with an ellipsis."""
    text = text or ""
    return text if len(text) <= limit else text[: limit - 1] + "…"


def site_path(endpoint: str, **values: Any) -> str:
    """Site-relative URL of an endpoint, inside a request or in a CLI job (no SERVER_NAME needed)."""
    if has_request_context():
        return url_for(endpoint, **values)
    anchor = values.pop("_anchor", None)
    path = current_app.url_map.bind("localhost").build(endpoint, values)
    return f"{path}#{anchor}" if anchor else path


def stored_locale():
    """Stored notification text is written in the platform's language, whatever the actor's UI language."""
    return force_locale(current_app.config.get("BABEL_DEFAULT_LOCALE", "zh_CN"))


# ------------------------------------------------------------------ creating notifications

def notify(session: Session, recipients: Iterable[User], kind: str, title: str, body: str = "",
           url: str | None = None) -> list[Notification]:
    """Put a notification in each active recipient's centre; e-mail it now to those who chose "immediate"."""
    created = []
    seen: set[int] = set()
    now = clock.now()
    for user in recipients:
        if user is None or user.id in seen or not user.active:
            continue
        seen.add(user.id)
        notification = Notification(user=user, kind=kind, title=clip(title, TITLE_MAX), body=body,
                                    url=url if url and len(url) <= URL_MAX else None, created_at=now)
        if user.notification_mode == "immediate":
            link = f"{current_app.config['SITE_URL'].rstrip('/')}{url}" if url else ""
            mail.enqueue(session, user.email, clip(title, TITLE_MAX), f"{body}\n\n{link}".strip())
            notification.emailed_at = now
        session.add(notification)
        created.append(notification)
    session.flush()
    return created


#: Roles told that a notification's e-mail was only recorded because no mail server is configured.
#: Firms and experts are told nothing about e-mail then: nothing reached them, and the platform's set-up is
#: not their concern.
MAIL_RECORDED_NOTE_ROLES = (Role.OWNER, Role.DISTRICT_STAFF, Role.CITY_STAFF)


def mail_note(user: User) -> str | None:
    """What the centre says beside a notification that went to the e-mail outbox (``emailed_at`` set).

    With an SMTP server configured the outbox delivers it: "已发送邮件". Without one the message is
    only written to the log and kept in the outbox, so staff read "已记录，未配置邮件服务" and
    everyone else reads nothing (``None``).
    """
    if mail.server_configured():
        return _("已发送邮件")
    if user.role in MAIL_RECORDED_NOTE_ROLES:
        return _("已记录，未配置邮件服务")
    return None


def organisation_users(session: Session, organisation_id: int, role: Role | None = None) -> list[User]:
    """Active users of an organisation (e.g. every user of a firm, or the owner's staff)."""
    query = sa.select(User).where(User.organisation_id == organisation_id, User.active)
    if role is not None:
        query = query.where(User.role == role)
    return list(session.execute(query).scalars())


# ------------------------------------------------------------------ the notification centre

def inbox_query(user: User, unread_only: bool = False) -> sa.Select:
    """The user's notifications, newest first (the view pages it)."""
    query = sa.select(Notification).where(Notification.user_id == user.id)
    if unread_only:
        query = query.where(Notification.read_at.is_(None))
    return query.order_by(Notification.created_at.desc(), Notification.id.desc())


def unread_count(session: Session, user: User) -> int:
    """Unread notifications of a user: one COUNT on the (user_id, read_at) index."""
    return session.execute(
        sa.select(sa.func.count(Notification.id))
        .where(Notification.user_id == user.id, Notification.read_at.is_(None))
    ).scalar_one()


def unread_count_for_navigation(session: Session, user: Any) -> int | None:
    """The navigation's unread count; None for anonymous users.

    A failing query (say, in a request that is rendering its own error page after a database
    error) shows no count rather than turning the error page into a second error.
    """
    if user is None or not getattr(user, "is_authenticated", False):
        return None
    try:
        return unread_count(session, user)
    except sa.exc.SQLAlchemyError:
        current_app.logger.warning("unread notification count unavailable", exc_info=True)
        return None


def own_notification(session: Session, user: User, notification_id: int) -> Notification:
    """A notification of this user; anyone else's is "not found", never "forbidden"."""
    notification = session.get(Notification, notification_id)
    if notification is None or notification.user_id != user.id:
        raise NotFound(_("找不到该通知。"))
    return notification


def safe_local_url(url: str | None) -> str | None:
    """The URL when it is a path on this site, else None (never redirect off-site)."""
    if not url or not url.startswith("/") or url.startswith("//") or "\\" in url:
        return None
    parts = urlsplit(url)
    if parts.scheme or parts.netloc:
        return None
    return url


def mark_read(session: Session, user: User, notification_id: int) -> Notification:
    """Mark one of the user's notifications read (idempotent)."""
    notification = own_notification(session, user, notification_id)
    if notification.read_at is None:
        notification.read_at = clock.now()
        session.flush()
    return notification


def open_notification(session: Session, user: User, notification_id: int) -> str | None:
    """Mark a notification read and return where it points (a local path), or None."""
    return safe_local_url(mark_read(session, user, notification_id).url)


def mark_all_read(session: Session, user: User) -> int:
    """Mark every unread notification of the user read; returns how many changed."""
    result = session.execute(
        sa.update(Notification)
        .where(Notification.user_id == user.id, Notification.read_at.is_(None))
        .values(read_at=clock.now())
        .execution_options(synchronize_session="fetch")
    )
    return result.rowcount or 0


def set_mode(session: Session, user: User, mode: str) -> None:
    """Choose how notifications reach the user by e-mail: immediately, as a daily digest, or not at all."""
    if mode not in NOTIFICATION_MODES:
        raise ValidationFailed(_("请选择有效的邮件通知方式。"), {"mode": [_("请选择有效的邮件通知方式。")]})
    user.notification_mode = mode
    session.flush()


# ------------------------------------------------------------------ follows

def reminder_hours() -> int:
    """Hours before the deadline at which followers are reminded (config ``REMINDER_HOURS``, default 48)."""
    return int(current_app.config.get("REMINDER_HOURS", DEFAULT_REMINDER_HOURS))


def can_follow(user: User | None, scenario: Scenario) -> bool:
    """Any signed-in user may follow a public (published or later) scenario."""
    return user is not None and user.is_authenticated and scenario.is_public


def is_following(session: Session, user: User | None, scenario_id: int) -> bool:
    if user is None or not user.is_authenticated:
        return False
    return session.get(Follow, (user.id, scenario_id)) is not None


def follow(session: Session, user: User, scenario_id: int) -> bool:
    """Follow a public scenario; returns False when the user already follows it."""
    scenario = session.get(Scenario, scenario_id)
    if scenario is None or not policy.can_view(user, scenario):
        raise NotFound(_("找不到该场景。"))
    if not can_follow(user, scenario):
        raise InvalidTransition(_("只能关注已发布的场景。"))
    if session.get(Follow, (user.id, scenario.id)) is not None:
        return False
    # A double click may race a second request: the primary key decides and the loser inserts nothing,
    # instead of failing at commit time.
    now = clock.now()
    values = {"user_id": user.id, "scenario_id": scenario.id, "created_at": now, "updated_at": now}
    return insert_or_ignore(session, Follow, values, ("user_id", "scenario_id")) == 1


def unfollow(session: Session, user: User, scenario_id: int) -> bool:
    """Stop following; returns False when the user did not follow it. Works whatever the scenario's state."""
    existing = session.get(Follow, (user.id, scenario_id))
    if existing is None:
        if session.get(Scenario, scenario_id) is None:
            raise NotFound(_("找不到该场景。"))
        return False
    session.delete(existing)
    session.flush()
    return True


def followed(session: Session, user: User) -> list[tuple[Follow, Scenario]]:
    """The user's follows with their scenarios, soonest deadline first."""
    rows = session.execute(
        sa.select(Follow, Scenario).join(Scenario, Follow.scenario_id == Scenario.id)
        .where(Follow.user_id == user.id)
        .order_by(Scenario.deadline.is_(None), Scenario.deadline, Scenario.id)
    ).all()
    return [(f, s) for f, s in rows]


def followers(session: Session, scenario_id: int) -> list[User]:
    """Active users who follow a scenario."""
    return list(session.execute(
        sa.select(User).join(Follow, Follow.user_id == User.id)
        .where(Follow.scenario_id == scenario_id, User.active).order_by(User.id)
    ).scalars())


def scenario_facts(scenario: Scenario) -> str:
    """One line about a scenario for notification bodies: owner, budget, deadline."""
    parts = [scenario.owner.name if scenario.owner else ""]
    if scenario.budget_wan is not None:
        parts.append(_("预算 %(amount)s 万元", amount=f"{scenario.budget_wan:,.2f}"))
    if scenario.deadline is not None:
        parts.append(_("截止 %(time)s", time=clock.to_local(scenario.deadline).strftime("%Y-%m-%d %H:%M")))
    return " · ".join(p for p in parts if p)


def notify_followers_of_change(scenario: Scenario, session: Session, **_signal: Any) -> list[Notification]:
    """Receiver of :data:`~marketplace.signals.scenario_changed`: tell followers, and re-arm their deadline reminder when the deadline moved."""
    if scenario.deadline is not None:
        # A reminder sent at ``reminded_at`` covered deadlines up to ``reminded_at + window``; a deadline
        # moved beyond that is a new deadline, worth a new reminder.
        window = timedelta(hours=reminder_hours())
        reminded = session.execute(
            sa.select(Follow).where(Follow.scenario_id == scenario.id, Follow.reminded_at.is_not(None))).scalars()
        for follow_row in reminded:
            if scenario.deadline > follow_row.reminded_at + window:
                follow_row.reminded_at = None
    recipients = [u for u in followers(session, scenario.id) if u.organisation_id != scenario.owner_id]
    with stored_locale():
        return notify(
            session, recipients, "scenario.changed",
            _("关注的场景有实质性修改：%(title)s", title=scenario.title),
            _("业主单位修改了“%(title)s”的实质内容（如建设需求、预算或截止时间）。场景正在重新审核，"
              "审核通过后将重新公开，请届时查看最新内容。", title=scenario.title),
            site_path("scenarios.detail", scenario_id=scenario.id),
        )


def notify_question_answered(question: Question, session: Session, **_signal: Any) -> list[Notification]:
    """Receiver of :data:`~marketplace.signals.question_answered`: after the owner answers, the asking firm gets ``question.answered``, other followers ``scenario.answered``.

    The asker is never named to anyone else (answers are published without the firm's name).
    """
    if not question.answer:
        return []
    scenario = question.scenario
    url = site_path("scenarios.detail", scenario_id=scenario.id, _anchor="qa")
    with stored_locale():
        qa = _("问：%(q)s\n答：%(a)s", q=question.text, a=question.answer)
        created = notify(session, [question.asked_by], "question.answered",
                         _("您的提问已获答复：%(title)s", title=scenario.title), qa, url)
        others = [u for u in followers(session, scenario.id)
                  if u.id != question.asked_by_id and u.organisation_id != scenario.owner_id]
        created += notify(session, others, "scenario.answered",
                          _("关注的场景有新的答疑：%(title)s", title=scenario.title), qa, url)
    return created


# ------------------------------------------------------------------ saved searches

def _json_value(value: object) -> object:
    if isinstance(value, Decimal):
        return format(value.normalize(), "f")
    if isinstance(value, list):
        return sorted(str(v) for v in value)
    return value


def normalise_query(args: Mapping[str, Any] | MultiDict) -> dict[str, Any]:
    """Validate list-page arguments with the list page's own parser and keep what a subscription needs.

    Bad values raise :class:`ValidationFailed` naming the parameter, exactly as on the list page.
    """
    filters = listing.parse_filters(args if isinstance(args, MultiDict) else MultiDict(_pairs(args)))
    kept = {k: v for k, v in filters.args().items() if k in SEARCH_KEYS}
    return {k: _json_value(v) for k, v in kept.items()}


def _pairs(query: Mapping[str, Any]) -> list[tuple[str, str]]:
    pairs = []
    for key, value in query.items():
        for item in value if isinstance(value, list | tuple) else [value]:
            if item is not None:
                pairs.append((key, str(item)))
    return pairs


def filters_of(search: SavedSearch):
    """The :class:`~marketplace.scenarios.listing.ScenarioFilters` a saved search stands for."""
    return listing.parse_filters(MultiDict(_pairs(search.query or {})))


def _clean_name(name: str | None) -> str:
    name = (name or "").strip()
    if not name:
        raise ValidationFailed(_("请为订阅填写名称。"), {"name": [_("请为订阅填写名称。")]})
    if len(name) > 100:
        raise ValidationFailed(_("订阅名称不能超过 100 个字。"), {"name": [_("订阅名称不能超过 100 个字。")]})
    return name


def save_search(session: Session, user: User, name: str | None, args: Mapping[str, Any] | MultiDict) -> SavedSearch:
    """An enterprise user saves the list page's current filters under a name."""
    if user.role != Role.ENTERPRISE:
        raise PermissionDenied(_("只有企业用户可以订阅场景搜索。"))
    name = _clean_name(name)
    query = normalise_query(args)
    existing = list(session.execute(sa.select(SavedSearch).where(SavedSearch.user_id == user.id)).scalars())
    for search in existing:
        if search.query == query:
            raise InvalidTransition(_("您已保存过相同条件的订阅“%(name)s”。", name=search.name))
    if len(existing) >= MAX_SAVED_SEARCHES:
        raise InvalidTransition(_("最多保存 %(n)d 个订阅，请先删除不再需要的订阅。", n=MAX_SAVED_SEARCHES))
    now = clock.now()
    search = SavedSearch(user_id=user.id, name=name, query=query, created_at=now, last_checked_at=now)
    session.add(search)
    session.flush()
    return search


def own_search(session: Session, user: User, search_id: int) -> SavedSearch:
    """A saved search of this user; anyone else's is "not found"."""
    search = session.get(SavedSearch, search_id)
    if search is None or search.user_id != user.id:
        raise NotFound(_("找不到该订阅。"))
    return search


def rename_search(session: Session, user: User, search_id: int, name: str | None) -> SavedSearch:
    search = own_search(session, user, search_id)
    search.name = _clean_name(name)
    session.flush()
    return search


def delete_search(session: Session, user: User, search_id: int) -> None:
    session.delete(own_search(session, user, search_id))
    session.flush()


def saved_searches(session: Session, user: User) -> list[SavedSearch]:
    return list(session.execute(
        sa.select(SavedSearch).where(SavedSearch.user_id == user.id).order_by(SavedSearch.created_at, SavedSearch.id)
    ).scalars())


def describe_query(session: Session, query: Mapping[str, Any]) -> str:
    """A saved search's conditions in words, e.g. "区县：渝中区、江北区；领域：人工智能；关键词：交通"."""
    def names(model, codes: list[str]) -> str:
        rows = session.execute(sa.select(model.code, model.name).where(model.code.in_(codes))).all()
        found = dict(rows)
        return "、".join(found.get(c, c) for c in codes)

    parts = []
    if query.get("district"):
        parts.append(_("区县：%(v)s", v=names(District, list(query["district"]))))
    if query.get("domain"):
        parts.append(_("领域：%(v)s", v=names(Domain, [query["domain"]])))
    if query.get("theme"):
        parts.append(_("主题：%(v)s", v=names(Theme, [query["theme"]])))
    if query.get("batch"):
        batch = session.get(Batch, int(query["batch"]))
        parts.append(_("批次：%(v)s", v=batch.name if batch else query["batch"]))
    if query.get("budget_min") is not None or query.get("budget_max") is not None:
        parts.append(_("预算：%(lo)s–%(hi)s 万元", lo=query.get("budget_min", "0"), hi=query.get("budget_max", "∞")))
    if query.get("due_within"):
        parts.append(_("%(n)s 天内截止", n=query["due_within"]))
    if query.get("q"):
        parts.append(_("关键词：%(v)s", v=query["q"]))
    return "；".join(parts) or _("全部新发布的场景")


def list_url_args(search: SavedSearch) -> dict[str, Any]:
    """List-page arguments that show a saved search's open scenarios, newest first."""
    return {**(search.query or {}), "status": "open"}


def panel_data(session: Session, user: User) -> dict[str, Any]:
    """The workspace panel: unread count, latest notifications, followed scenarios still open."""
    now = clock.now()
    latest = list(session.execute(inbox_query(user).limit(5)).scalars())
    follows = [(f, s) for f, s in followed(session, user) if s.is_open(now)][:5]
    return {"unread": unread_count(session, user), "latest": latest, "follows": follows}


def local_dt(value: datetime | None) -> str:
    return clock.to_local(value).strftime("%Y-%m-%d %H:%M") if value else ""
