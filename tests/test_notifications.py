"""Notifications: the centre and unread count, privacy, e-mail modes, follows, saved searches,
deadline reminders, the daily digest, the CLI jobs and the access rules of every route."""

from __future__ import annotations

import re
from datetime import datetime, time, timedelta

import pytest
import sqlalchemy as sa

from marketplace import clock
from marketplace.errors import InvalidTransition, NotFound, PermissionDenied, ValidationFailed
from marketplace.extensions import db
from marketplace.models import Follow, Notification, OutboxMessage, SavedSearch, Scenario
from marketplace.notifications import jobs, services
from tests.conftest import ON_POSTGRES, PASSWORD, make_test_app

ROLES = ["owner", "enterprise", "district_staff", "city_staff", "expert"]


def switch_to(client, user):
    """Sign the client out and in again as ``user`` (tests with several users)."""
    client.post("/auth/logout")
    response = client.post("/auth/login", data={"email": user.email, "password": PASSWORD})
    assert response.status_code == 302


def notifications_of(user, kind=None):
    query = sa.select(Notification).where(Notification.user_id == user.id).order_by(Notification.id)
    if kind:
        query = query.where(Notification.kind == kind)
    return list(db.session.execute(query).scalars())


def outbox_to(user):
    return list(db.session.execute(
        sa.select(OutboxMessage).where(OutboxMessage.to_address == user.email).order_by(OutboxMessage.id)).scalars())


def add_notification(user, title="测试通知", url="/scenarios", kind="application.selected", **fields):
    notification = Notification(user_id=user.id, kind=kind, title=title, body=fields.pop("body", "正文"), url=url,
                                **fields)
    db.session.add(notification)
    db.session.commit()
    return notification


# ------------------------------------------------------------------ access rules

#: (method, path) of every route; ids are filled in by the test.
ROUTES = [
    ("GET", "/notifications"),
    ("POST", "/notifications/1/open"),
    ("POST", "/notifications/1/read"),
    ("POST", "/notifications/read-all"),
    ("GET", "/notifications/settings"),
    ("POST", "/notifications/settings"),
    ("POST", "/notifications/follows/1"),
    ("POST", "/notifications/follows/1/delete"),
    ("POST", "/notifications/searches"),
    ("POST", "/notifications/searches/1/rename"),
    ("POST", "/notifications/searches/1/delete"),
]


@pytest.mark.parametrize(("method", "path"), ROUTES)
def test_anonymous_is_sent_to_login(client, method, path):
    response = client.open(path, method=method)
    assert response.status_code == 302
    assert "/auth/login" in response.headers["Location"]


@pytest.mark.parametrize("role", ROLES)
def test_every_role_has_a_centre_and_settings(client, make_user, login, role):
    login(make_user(role))
    assert client.get("/notifications").status_code == 200
    html = client.get("/notifications/settings").get_data(as_text=True)
    assert "邮件通知" in html and "关注的场景" in html
    # Saved searches are for firms only.
    assert ("场景订阅" in html) == (role == "enterprise")


@pytest.mark.parametrize("role", ROLES)
def test_only_enterprises_save_searches(client, make_user, login, role):
    user = make_user(role)
    login(user)
    response = client.post("/notifications/searches", data={"name": "渝中区", "district": "yuzhong"})
    assert response.status_code == (302 if role == "enterprise" else 403)
    assert len(services.saved_searches(db.session, user)) == (1 if role == "enterprise" else 0)


@pytest.mark.parametrize("role", ROLES)
def test_every_role_may_follow_a_public_scenario(client, make_user, login, make_scenario, role):
    scenario = make_scenario("published")
    user = make_user(role)
    login(user)
    response = client.post(f"/notifications/follows/{scenario.id}")
    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"/scenarios/{scenario.id}")
    assert services.is_following(db.session, user, scenario.id)


# ------------------------------------------------------------------ the centre and the unread count

def test_centre_lists_newest_first_highlights_unread_and_counts_in_navigation(client, make_user, login):
    user = make_user("enterprise")
    now = clock.now()
    old = add_notification(user, "较早的通知", created_at=now - timedelta(hours=2), read_at=now - timedelta(hours=1))
    new = add_notification(user, "最新的通知", created_at=now)
    add_notification(user, "另一条未读", created_at=now - timedelta(minutes=5))
    login(user)
    html = client.get("/notifications").get_data(as_text=True)
    assert html.index("最新的通知") < html.index("另一条未读") < html.index("较早的通知")
    assert f'data-notification-id="{new.id}"\n      data-unread="true"' in html
    assert f'data-notification-id="{old.id}"\n      data-unread="false"' in html
    assert re.search(r'id="unread-count">2<', html)
    assert "通知（2 条未读）" in html
    # The unread tab shows unread ones only.
    html = client.get("/notifications?filter=unread").get_data(as_text=True)
    assert "最新的通知" in html and "较早的通知" not in html


def test_no_badge_without_unread_and_no_bell_for_anonymous(client, make_user, login):
    assert 'data-nav="notifications"' not in client.get("/").get_data(as_text=True)
    login(make_user("owner"))
    html = client.get("/").get_data(as_text=True)
    assert 'data-nav="notifications"' in html and 'id="unread-count"' not in html


def test_opening_marks_read_and_redirects_to_the_local_url(client, make_user, login):
    user = make_user("enterprise")
    notification = add_notification(user, url="/scenarios/42#qa")
    login(user)
    response = client.post(f"/notifications/{notification.id}/open")
    assert response.status_code == 303 and response.headers["Location"] == "/scenarios/42#qa"
    db.session.refresh(notification)
    assert notification.read_at is not None
    assert services.unread_count(db.session, user) == 0


def test_reading_the_centre_and_the_panel_writes_nothing(client, make_user, login):
    user = make_user("enterprise")
    notification = add_notification(user, "一条未读通知")
    login(user)
    for path in ("/notifications", "/notifications?filter=unread", "/dashboard", f"/notifications/{notification.id}"):
        client.get(path)
    db.session.refresh(notification)
    assert notification.read_at is None
    # Opening is a small form (POST) in the centre and in the workspace panel, never a link.
    action = f'action="/notifications/{notification.id}/open"'
    for path in ("/notifications", "/dashboard"):
        html = client.get(path).get_data(as_text=True)
        assert f'<form method="post" {action}' in html, path
        assert f'href="/notifications/{notification.id}' not in html
    assert client.get(f"/notifications/{notification.id}/open").status_code == 405


@pytest.mark.parametrize("url", ["https://evil.example/phish", "//evil.example/x", "/\\evil.example", "javascript:alert(1)",
                                 None])
def test_opening_never_redirects_off_site(client, make_user, login, url):
    user = make_user("enterprise")
    notification = add_notification(user, url=url)
    login(user)
    response = client.post(f"/notifications/{notification.id}/open")
    assert response.status_code == 303 and response.headers["Location"] == "/notifications"


def test_mark_one_and_mark_all_read(client, make_user, login):
    user = make_user("enterprise")
    first, second, third = (add_notification(user, f"通知{i}") for i in range(3))
    other = make_user("enterprise")
    theirs = add_notification(other)
    login(user)
    assert client.post(f"/notifications/{first.id}/read").status_code == 302
    assert services.unread_count(db.session, user) == 2
    response = client.post("/notifications/read-all", follow_redirects=True)
    assert "已将 2 条通知标为已读" in response.get_data(as_text=True)
    assert services.unread_count(db.session, user) == 0
    # Someone else's notifications are untouched.
    db.session.refresh(theirs)
    assert theirs.read_at is None


def test_another_users_notification_is_not_found(client, make_user, login):
    owner_of_it = make_user("enterprise")
    notification = add_notification(owner_of_it, "私密通知")
    login(make_user("enterprise"))
    assert client.post(f"/notifications/{notification.id}/open").status_code == 404
    assert client.post(f"/notifications/{notification.id}/read").status_code == 404
    assert client.post("/notifications/999999/open").status_code == 404
    assert "私密通知" not in client.get("/notifications").get_data(as_text=True)
    db.session.refresh(notification)
    assert notification.read_at is None


def test_pagination(client, make_user, login):
    user = make_user("enterprise")
    now = clock.now()
    for i in range(25):
        add_notification(user, f"第{i:02d}条", created_at=now - timedelta(minutes=i))
    login(user)
    first = client.get("/notifications").get_data(as_text=True)
    assert first.count("data-notification-id=") == 20 and "第00条" in first
    second = client.get("/notifications?page=2").get_data(as_text=True)
    assert second.count("data-notification-id=") == 5 and "第24条" in second
    # A bad page number is not an error.
    assert client.get("/notifications?page=abc").status_code == 200
    assert client.get("/notifications?page=99").status_code == 200


# ------------------------------------------------------------------ what the centre says about e-mail

MAIL_SENT, MAIL_RECORDED = "已发送邮件", "已记录，未配置邮件服务"


@pytest.mark.parametrize(("role", "without_server"), [
    ("owner", MAIL_RECORDED), ("district_staff", MAIL_RECORDED), ("city_staff", MAIL_RECORDED),
    ("enterprise", None), ("expert", None),
])
def test_mail_note_says_whether_a_mail_server_delivered_it(app, client, login, make_user, role, without_server):
    """Issue 15.10: "已发送邮件" only with a mail server; without one staff read that the mail was only
    recorded, and firms (and experts) read nothing about e-mail."""
    user = make_user(role, district=None if role in ("city_staff", "expert") else "yuzhong",
                     notification_mode="immediate")
    services.notify(db.session, [user], "application.selected", "入选通知测试", "正文", "/scenarios")
    db.session.commit()
    assert notifications_of(user)[0].emailed_at is not None
    login(user)
    saved = app.config.get("MAIL_SERVER")
    try:
        app.config["MAIL_SERVER"] = ""
        html = client.get("/notifications").get_data(as_text=True)
        assert MAIL_SENT not in html
        if without_server:
            assert without_server in html and "data-mail-note" in html
        else:
            assert "data-mail-note" not in html and "邮件" not in html.split('id="notification-list"')[1]
        app.config["MAIL_SERVER"] = "smtp.example.test"
        html = client.get("/notifications").get_data(as_text=True)
        assert MAIL_SENT in html and MAIL_RECORDED not in html
    finally:
        app.config["MAIL_SERVER"] = saved


def test_no_mail_note_on_a_notification_that_was_not_mailed(app, client, login, make_user):
    user = make_user("owner", notification_mode="off")
    services.notify(db.session, [user], "application.selected", "不发邮件", "正文", "/scenarios")
    db.session.commit()
    login(user)
    html = client.get("/notifications").get_data(as_text=True)
    assert "不发邮件" in html and "data-mail-note" not in html


# ------------------------------------------------------------------ e-mail modes and settings

@pytest.mark.parametrize(("mode", "mailed"), [("immediate", True), ("daily", False), ("off", False)])
def test_notify_mails_immediately_only_for_immediate_users(make_user, mode, mailed):
    user = make_user("enterprise", notification_mode=mode)
    created = services.notify(db.session, [user, user], "application.selected", "已入选", "恭喜", "/scenarios/1")
    db.session.commit()
    assert len(created) == 1
    assert (created[0].emailed_at is not None) == mailed
    messages = outbox_to(user)
    assert len(messages) == (1 if mailed else 0)
    if mailed:
        assert messages[0].subject == "已入选" and "http://127.0.0.1:5000/scenarios/1" in messages[0].body


def test_notify_skips_inactive_users(make_user):
    user = make_user("enterprise", active=False)
    assert services.notify(db.session, [user], "x.y", "t") == []


def test_settings_change_the_mode(client, make_user, login):
    user = make_user("enterprise")
    login(user)
    html = client.get("/notifications/settings").get_data(as_text=True)
    assert re.search(r'value="immediate"[^>]*checked|checked[^>]*value="immediate"', html)
    response = client.post("/notifications/settings", data={"mode": "daily"})
    assert response.status_code == 302
    db.session.refresh(user)
    assert user.notification_mode == "daily"
    response = client.post("/notifications/settings", data={"mode": "weekly"})
    assert response.status_code == 422
    assert "请选择有效的邮件通知方式" in response.get_data(as_text=True)
    db.session.refresh(user)
    assert user.notification_mode == "daily"


# ------------------------------------------------------------------ follows

def test_follow_and_unfollow_through_the_scenario_page(client, make_user, login, make_scenario):
    scenario = make_scenario("published")
    user = make_user("enterprise")
    login(user)
    html = client.get(f"/scenarios/{scenario.id}").get_data(as_text=True)
    assert 'data-following="false"' in html
    response = client.post(f"/notifications/follows/{scenario.id}", data={"next": f"/scenarios/{scenario.id}"},
                           follow_redirects=True)
    assert "已关注" in response.get_data(as_text=True)
    assert 'data-following="true"' in response.get_data(as_text=True)
    # Following twice is harmless.
    client.post(f"/notifications/follows/{scenario.id}")
    assert db.session.execute(sa.select(sa.func.count()).select_from(Follow)).scalar_one() == 1
    # The settings page lists it, with an unfollow button.
    html = client.get("/notifications/settings").get_data(as_text=True)
    assert f'data-follow-scenario="{scenario.id}"' in html
    response = client.post(f"/notifications/follows/{scenario.id}/delete",
                           data={"next": "/notifications/settings#follows"})
    assert response.headers["Location"] == "/notifications/settings#follows"
    assert not services.is_following(db.session, user, scenario.id)
    # Unfollowing again says so, without an error.
    response = client.post(f"/notifications/follows/{scenario.id}/delete", follow_redirects=True)
    assert "您没有关注此场景" in response.get_data(as_text=True)


def test_anonymous_visitors_see_a_login_link_instead_of_the_follow_button(client, make_scenario):
    scenario = make_scenario("published")
    html = client.get(f"/scenarios/{scenario.id}").get_data(as_text=True)
    assert "后可关注此场景" in html and 'id="follow-form"' not in html


def test_only_public_scenarios_can_be_followed(client, make_user, login, make_scenario):
    draft = make_scenario("draft")
    submitted = make_scenario("submitted")
    owner = make_user("owner", organisation=submitted.owner)
    login(make_user("enterprise"))
    assert client.post(f"/notifications/follows/{draft.id}").status_code == 404  # not visible at all
    assert client.post("/notifications/follows/999999").status_code == 404
    assert client.post("/notifications/follows/999999/delete").status_code == 404
    # The owner sees its submitted scenario but cannot follow it until it is published.
    switch_to(client, owner)
    page = f"http://localhost/scenarios/{submitted.id}"
    response = client.post(f"/notifications/follows/{submitted.id}", headers={"Referer": page})
    assert response.status_code == 303 and response.headers["Location"] == page  # refused: back, with a message
    assert "只能关注已发布的场景" in client.get(page).get_data(as_text=True)
    response = client.post(f"/notifications/follows/{submitted.id}", follow_redirects=True)
    assert "只能关注已发布的场景" in response.get_data(as_text=True)
    assert not services.is_following(db.session, owner, submitted.id)
    with pytest.raises(InvalidTransition):
        services.follow(db.session, owner, submitted.id)


def test_follow_needs_a_csrf_token(app, make_user, make_scenario, tmp_path):
    scenario = make_scenario("published")
    user = make_user("enterprise")
    strict = make_test_app(app.config["SQLALCHEMY_DATABASE_URI"], tmp_path, WTF_CSRF_ENABLED=True).test_client()
    html = strict.get("/auth/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', html).group(1)
    strict.post("/auth/login", data={"email": user.email, "password": PASSWORD, "csrf_token": token})
    response = strict.post(f"/notifications/follows/{scenario.id}")
    assert response.status_code == 400 and "CSRF" in response.get_data(as_text=True)
    assert not services.is_following(db.session, user, scenario.id)
    html = strict.get(f"/scenarios/{scenario.id}").get_data(as_text=True)
    token = re.search(r'id="follow-form">\s*<input type="hidden" name="csrf_token" value="([^"]+)"', html).group(1)
    assert strict.post(f"/notifications/follows/{scenario.id}", data={"csrf_token": token}).status_code == 302
    assert services.is_following(db.session, user, scenario.id)


def test_followers_hear_of_substantive_changes(make_user, make_scenario):
    from marketplace.scenarios import services as scenario_services

    scenario = make_scenario("published")
    owner = make_user("owner", organisation=scenario.owner)
    firm = make_user("enterprise")
    services.follow(db.session, firm, scenario.id)
    db.session.commit()
    scenario_services.update(db.session, owner, scenario, {"summary": "只改简介"})
    db.session.commit()
    assert notifications_of(firm) == []  # a minor edit is not news
    scenario_services.update(db.session, owner, scenario, {"boundary": "包括：80个路口信号优化。不包括：土建。"})
    db.session.commit()
    [notice] = notifications_of(firm, "scenario.changed")
    assert scenario.title in notice.title and notice.url == f"/scenarios/{scenario.id}"
    assert notifications_of(owner) == []


def test_question_answered_notifies_the_asker_and_followers(make_user, make_scenario):
    from marketplace.scenarios import services as scenario_services

    scenario = make_scenario("published")
    owner = make_user("owner", organisation=scenario.owner)
    asker, follower = make_user("enterprise"), make_user("enterprise")
    for user in (asker, follower):
        services.follow(db.session, user, scenario.id)
    question = scenario_services.ask(db.session, asker, scenario, "是否需要支持国产数据库？")
    db.session.commit()
    scenario_services.answer(db.session, owner, question.id, "需要，至少支持两种。")  # notifies
    db.session.commit()
    [answered] = notifications_of(asker)
    assert answered.kind == "question.answered" and "需要，至少支持两种" in answered.body
    assert answered.url == f"/scenarios/{scenario.id}#qa"
    [published] = notifications_of(follower)
    assert published.kind == "scenario.answered"
    assert asker.name not in published.body and asker.organisation.name not in published.body


# ------------------------------------------------------------------ deadline reminders

def test_deadline_reminders_once_per_follow(make_user, make_scenario):
    soon = make_scenario("published", deadline=clock.now() + timedelta(hours=30))
    later = make_scenario("published", deadline=clock.now() + timedelta(days=10))
    closed = make_scenario("published", deadline=clock.now() - timedelta(hours=1))
    withdrawn = make_scenario("withdrawn", deadline=clock.now() + timedelta(hours=5))
    firms = [make_user("enterprise"), make_user("enterprise")]
    for firm in firms:
        for scenario in (soon, later, closed):
            services.follow(db.session, firm, scenario.id)
    db.session.add(Follow(user_id=firms[0].id, scenario_id=withdrawn.id))
    db.session.commit()
    assert jobs.remind_deadlines(db.session) == 2
    db.session.commit()
    for firm in firms:
        [reminder] = notifications_of(firm)
        assert reminder.kind == "deadline.approaching" and soon.title in reminder.title
        assert reminder.url == f"/scenarios/{soon.id}"
    assert jobs.remind_deadlines(db.session) == 0  # idempotent
    # Later, the other scenario enters the window and is reminded once too.
    assert jobs.remind_deadlines(db.session, now=clock.now() + timedelta(days=9)) == 2


def test_reminder_window_is_configurable(app, monkeypatch, make_user, make_scenario):
    scenario = make_scenario("published", deadline=clock.now() + timedelta(hours=30))
    firm = make_user("enterprise")
    services.follow(db.session, firm, scenario.id)
    monkeypatch.setitem(app.config, "REMINDER_HOURS", 24)
    assert jobs.remind_deadlines(db.session) == 0
    monkeypatch.setitem(app.config, "REMINDER_HOURS", 72)
    assert jobs.remind_deadlines(db.session) == 1


def test_a_moved_deadline_rearms_the_reminder(make_user, make_scenario):
    from marketplace.scenarios import services as scenario_services

    scenario = make_scenario("published", deadline=clock.now() + timedelta(hours=20))
    owner = make_user("owner", organisation=scenario.owner)
    firm = make_user("enterprise")
    services.follow(db.session, firm, scenario.id)
    assert jobs.remind_deadlines(db.session) == 1
    db.session.commit()
    # At least MIN_APPLICATION_DAYS (10) after the first publication (a day ago).
    new_deadline = clock.to_local(clock.now() + timedelta(days=10)).replace(tzinfo=None, microsecond=0)
    scenario_services.update(db.session, owner, scenario, {"deadline": new_deadline})
    db.session.commit()
    assert db.session.get(Follow, (firm.id, scenario.id)).reminded_at is None
    scenario.status = scenario.status.PUBLISHED  # re-published after review
    db.session.commit()
    assert jobs.remind_deadlines(db.session, now=clock.now() + timedelta(days=9)) == 1


# ------------------------------------------------------------------ saved searches

def test_save_search_from_the_list_page(client, make_user, login):
    user = make_user("enterprise")
    login(user)
    html = client.get("/scenarios?district=yuzhong&district=jiangbei&domain=ai&budget_min=100&status=open").get_data(
        as_text=True)
    form = re.search(r'<form method="post" action="/notifications/searches".*?</form>', html, re.S).group(0)
    hidden = dict(re.findall(r'<input type="hidden" name="(\w+)" value="([^"]*)"', form))
    assert hidden["domain"] == "ai" and hidden["budget_min"] == "100"
    assert form.count('name="district"') == 2
    response = client.post("/notifications/searches", data={
        "name": "两区人工智能", "district": ["yuzhong", "jiangbei"], "domain": "ai", "budget_min": "100.00",
        "status": "open", "sort": "deadline"})
    assert response.status_code == 302
    assert "/scenarios?" in response.headers["Location"] and "domain=ai" in response.headers["Location"]
    [search] = services.saved_searches(db.session, user)
    assert search.name == "两区人工智能"
    # Status, sort and paging are not part of a subscription; values are JSON-safe.
    assert search.query == {"district": ["jiangbei", "yuzhong"], "domain": "ai", "budget_min": "100"}
    html = client.get("/notifications/settings").get_data(as_text=True)
    assert "两区人工智能" in html and "区县：江北区、渝中区" in html and "领域：人工智能" in html
    # The same conditions again are refused with a clear message.
    response = client.post("/notifications/searches", data={"name": "重复", "district": ["jiangbei", "yuzhong"],
                                                           "domain": "ai", "budget_min": "100"}, follow_redirects=True)
    assert "已保存过相同条件的订阅" in response.get_data(as_text=True)


def test_list_page_offers_saving_to_enterprises_only(client, make_user, login):
    assert "企业用户登录后可保存此搜索" in client.get("/scenarios").get_data(as_text=True)
    login(make_user("owner"))
    assert 'id="save-search"' not in client.get("/scenarios").get_data(as_text=True)


@pytest.mark.parametrize(("data", "message"), [
    ({"name": "", "domain": "ai"}, "请为订阅填写名称"),
    ({"name": "x" * 101}, "不能超过 100 个字"),
    ({"name": "坏预算", "budget_min": "abc"}, "budget_min"),
    ({"name": "坏天数", "due_within": "0"}, "due_within"),
])
def test_bad_saved_search_input_gets_a_message(client, make_user, login, data, message):
    user = make_user("enterprise")
    login(user)
    response = client.post("/notifications/searches", data=data, follow_redirects=True)
    assert response.status_code == 200
    assert message in response.get_data(as_text=True)
    assert services.saved_searches(db.session, user) == []


def test_saved_search_limit(make_user):
    user = make_user("enterprise")
    for i in range(services.MAX_SAVED_SEARCHES):
        services.save_search(db.session, user, f"订阅{i}", {"due_within": str(i + 1)})
    with pytest.raises(InvalidTransition):
        services.save_search(db.session, user, "再来一个", {"q": "交通"})


def test_rename_and_delete_only_own_searches(client, make_user, login):
    owner_of_it = make_user("enterprise")
    search = services.save_search(db.session, owner_of_it, "原名", {"q": "交通"})
    db.session.commit()
    login(make_user("enterprise"))
    assert client.post(f"/notifications/searches/{search.id}/rename", data={"name": "偷改"}).status_code == 404
    assert client.post(f"/notifications/searches/{search.id}/delete").status_code == 404
    switch_to(client, owner_of_it)
    response = client.post(f"/notifications/searches/{search.id}/rename", data={"name": "  "}, follow_redirects=True)
    assert "请为订阅填写名称" in response.get_data(as_text=True)
    client.post(f"/notifications/searches/{search.id}/rename", data={"name": "智慧交通"})
    db.session.refresh(search)
    assert search.name == "智慧交通"
    client.post(f"/notifications/searches/{search.id}/delete")
    assert db.session.get(SavedSearch, search.id) is None
    with pytest.raises(NotFound):
        services.rename_search(db.session, owner_of_it, search.id, "x")


def test_save_search_service_refuses_other_roles(make_user):
    with pytest.raises(PermissionDenied):
        services.save_search(db.session, make_user("owner"), "x", {})
    with pytest.raises(ValidationFailed):
        services.save_search(db.session, make_user("enterprise"), "x", {"status": "nonsense"})


def _search(user, query, checked_minutes_ago=30):
    search = services.save_search(db.session, user, "订阅", query)
    search.last_checked_at = clock.now() - timedelta(minutes=checked_minutes_ago)
    db.session.commit()
    return search


def test_saved_search_notifies_each_new_match_once(make_user, make_scenario):
    firm = make_user("enterprise")
    search = _search(firm, {"district": "yuzhong", "domain": "ai"})
    recent = clock.now() - timedelta(minutes=10)
    match = make_scenario("published", published_at=recent, title="渝中区人工智能新场景")
    make_scenario("published", published_at=recent, district="yubei", title="渝北区的场景")
    make_scenario("published", published_at=clock.now() - timedelta(days=3), title="早已发布的场景")
    make_scenario("draft", title="草稿场景")
    make_scenario("submitted", published_at=recent, title="待审核场景")
    make_scenario("withdrawn", published_at=recent, title="已撤回场景")
    make_scenario("published", published_at=recent, deadline=clock.now() - timedelta(minutes=1), title="已截止场景")
    report = jobs.scan(db.session)
    db.session.commit()
    assert (report.searches_checked, report.search_notifications, report.matched_scenarios) == (1, 1, 1)
    [notice] = notifications_of(firm)
    assert notice.kind == "search.match" and "渝中区人工智能新场景" in notice.title
    assert notice.url == f"/scenarios/{match.id}"
    db.session.refresh(search)
    assert search.last_checked_at > recent
    # Running again finds nothing new.
    report = jobs.scan(db.session)
    db.session.commit()
    assert report.search_notifications == 0 and len(notifications_of(firm)) == 1


def test_scenarios_still_committing_are_left_for_the_next_run(make_user, make_scenario):
    firm = make_user("enterprise")
    _search(firm, {}, checked_minutes_ago=30)
    just_now = make_scenario("published", published_at=clock.now() - timedelta(seconds=5))
    assert jobs.scan(db.session).search_notifications == 0
    db.session.commit()
    report = jobs.scan(db.session, now=clock.now() + timedelta(minutes=5))
    db.session.commit()
    assert report.search_notifications == 1
    assert notifications_of(firm)[0].url == f"/scenarios/{just_now.id}"


def test_several_matches_make_one_notification(make_user, make_scenario):
    firm = make_user("enterprise", notification_mode="immediate")
    _search(firm, {"q": "交通"})
    recent = clock.now() - timedelta(minutes=10)
    for i in range(3):
        make_scenario("published", published_at=recent, title=f"智慧交通场景{i}")
    report = jobs.scan(db.session)
    db.session.commit()
    assert (report.search_notifications, report.matched_scenarios) == (1, 3)
    [notice] = notifications_of(firm)
    assert "3 个新场景" in notice.title and all(f"智慧交通场景{i}" in notice.body for i in range(3))
    assert notice.url.startswith("/scenarios?") and "status=open" in notice.url
    assert len(outbox_to(firm)) == 1


def test_each_search_is_notified_separately(make_user, make_scenario):
    firm = make_user("enterprise")
    _search(firm, {"domain": "ai"})
    _search(firm, {"district": "yuzhong"})
    make_scenario("published", published_at=clock.now() - timedelta(minutes=10))
    assert jobs.scan(db.session).search_notifications == 2
    db.session.commit()
    assert jobs.scan(db.session).search_notifications == 0


# ------------------------------------------------------------------ the daily digest

def test_digest_groups_and_marks_emailed(make_user):
    daily = make_user("enterprise", notification_mode="daily", name="王经理")
    off = make_user("enterprise", notification_mode="off")
    now = clock.now()
    services.notify(db.session, [daily, off], "deadline.approaching", "关注的场景即将截止：甲", "明天截止", "/scenarios/1")
    services.notify(db.session, [daily, off], "search.match", "订阅有新场景：乙", "", "/scenarios/2")
    services.notify(db.session, [daily], "application.selected", "揭榜结果：丙", "已入选")
    stale = add_notification(daily, "两天前的通知", created_at=now - timedelta(days=2))
    db.session.commit()
    assert outbox_to(daily) == [] and outbox_to(off) == []

    report = jobs.send_daily_digests(db.session)
    db.session.commit()
    assert (report.users, report.notifications) == (1, 3)
    [message] = outbox_to(daily)
    assert "3 条新通知" in message.subject
    body = message.body
    assert body.startswith("王经理，您好")
    assert body.index("【截止提醒】") < body.index("关注的场景即将截止：甲") < body.index("【订阅的新场景】")
    assert "【揭榜申请】" in body and "http://127.0.0.1:5000/scenarios/1" in body
    assert "/notifications/settings" in body and "两天前的通知" not in body
    assert all(n.emailed_at is not None for n in notifications_of(daily) if n.id != stale.id)
    db.session.refresh(stale)
    assert stale.emailed_at is None
    # "off" users never get e-mail; a second run the same day sends nothing.
    assert outbox_to(off) == []
    assert all(n.emailed_at is None for n in notifications_of(off))
    services.notify(db.session, [daily], "search.match", "当天稍后的通知")
    report = jobs.send_daily_digests(db.session)
    assert (report.users, report.skipped_today) == (0, 1)
    assert len(outbox_to(daily)) == 1
    # The next (local) day the later notification goes out.
    tomorrow = clock.local_to_utc(datetime.combine(clock.local_today() + timedelta(days=1), time(8, 0)))
    later = notifications_of(daily)[-1]
    later.created_at = tomorrow - timedelta(hours=9)  # after the first digest, within a day of the next
    db.session.commit()
    report = jobs.send_daily_digests(db.session, now=tomorrow)
    db.session.commit()
    assert (report.users, report.notifications) == (1, 1)
    assert "当天稍后的通知" in outbox_to(daily)[-1].body


def test_digest_without_notifications_sends_nothing(make_user):
    make_user("enterprise", notification_mode="daily")
    assert jobs.send_daily_digests(db.session).users == 0
    assert db.session.execute(sa.select(sa.func.count()).select_from(OutboxMessage)).scalar_one() == 0


# ------------------------------------------------------------------ the CLI

def test_cli_scan_and_digest(runner, monkeypatch, make_user, make_scenario):
    firm = make_user("enterprise", notification_mode="daily")
    scenario = make_scenario("published", deadline=clock.now() + timedelta(hours=20))
    services.follow(db.session, firm, scenario.id)
    _search(firm, {"domain": "ai"})
    make_scenario("published", published_at=clock.now() - timedelta(minutes=10))
    db.session.commit()

    result = runner.invoke(args=["notifications", "scan"])
    assert result.exit_code == 0, result.output
    assert "deadline reminders: 1" in result.output and "notifications: 1 (1 new scenarios)" in result.output
    result = runner.invoke(args=["notifications", "scan"])
    assert "deadline reminders: 0" in result.output and "notifications: 0" in result.output

    result = runner.invoke(args=["notifications", "digest"])
    assert result.exit_code == 0, result.output
    assert "digests sent: 1 (2 notifications)" in result.output
    result = runner.invoke(args=["notifications", "digest"])
    assert "digests sent: 0" in result.output
    db.session.expire_all()
    assert len(outbox_to(firm)) == 1

    later = clock.now() + timedelta(hours=30)
    monkeypatch.setattr(clock, "now", lambda: later)
    result = runner.invoke(args=["notifications", "scan", "--hours", "1"])
    assert result.exit_code == 0 and "deadline reminders: 0" in result.output


# ------------------------------------------------------------------ the workspace panel

def test_workspace_panel(client, make_user, login, make_scenario):
    user = make_user("enterprise")
    scenario = make_scenario("published", title="被关注的场景")
    services.follow(db.session, user, scenario.id)
    add_notification(user, "工作台上的通知")
    login(user)
    html = client.get("/dashboard").get_data(as_text=True)
    assert 'id="notifications-panel"' in html and "工作台上的通知" in html and "被关注的场景" in html
    assert "1 条未读" in html


def test_unread_count_is_one_cheap_query(client, make_user, login):
    user = make_user("enterprise")
    add_notification(user)
    login(user)
    statements = []

    def record(conn, cursor, statement, *args):
        statements.append(statement)

    sa.event.listen(db.engine, "before_cursor_execute", record)
    try:
        client.get("/auth/password")
    finally:
        sa.event.remove(db.engine, "before_cursor_execute", record)
    counts = [s for s in statements if "notifications" in s]
    assert len(counts) == 1 and "count(" in counts[0].lower()


def test_scenario_model_is_untouched_by_following(make_user, make_scenario):
    scenario = make_scenario("published")
    before = scenario.updated_at
    services.follow(db.session, make_user("enterprise"), scenario.id)
    db.session.commit()
    assert db.session.get(Scenario, scenario.id).updated_at == before


@pytest.mark.skipif(not ON_POSTGRES, reason="concurrent writers need PostgreSQL (SQLite serialises them)")
def test_concurrent_scans_notify_once(app, make_user, make_scenario):
    import threading

    soon = make_scenario("published", deadline=clock.now() + timedelta(hours=10))
    firms = [make_user("enterprise", notification_mode="off") for _ in range(30)]
    for firm in firms:
        services.follow(db.session, firm, soon.id)
        _search(firm, {"district": "yuzhong"})
    make_scenario("published", published_at=clock.now() - timedelta(minutes=10))
    db.session.commit()
    barrier, errors = threading.Barrier(4), []

    def run() -> None:
        with app.app_context():
            try:
                barrier.wait()
                jobs.scan(db.session)
                db.session.commit()
            except Exception as exc:  # reported below
                errors.append(exc)
            finally:
                db.session.remove()

    threads = [threading.Thread(target=run) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert errors == []
    db.session.expire_all()
    for firm in firms:
        kinds = sorted(n.kind for n in notifications_of(firm))
        assert kinds == ["deadline.approaching", "search.match"], firm.id
