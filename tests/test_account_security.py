"""Accounts and sign-in security (issue 12: 3, 4, 5 and the account checks): timing, registration that
reveals nothing, device cookies and growing delays, ProxyFix, revocable sessions, password policy,
reset links, e-mail change confirmation."""

from __future__ import annotations

import statistics
import time

import pytest
import sqlalchemy as sa
from flask import g
from werkzeug.security import generate_password_hash

from marketplace.auth import passwords, throttle
from marketplace.extensions import db
from marketplace.models import OutboxMessage, User
from tests.conftest import PASSWORD, make_test_app

# ------------------------------------------------------------------ 12.3 timing


def test_unknown_email_is_checked_against_a_hash_of_the_same_method(client, make_user, app, monkeypatch):
    """The code path, not the clock: both answers run check_password_hash on a hash of the configured
    method and parameters (it was pbkdf2 with 1,000 rounds for unknown addresses, scrypt for real ones)."""
    monkeypatch.setitem(app.config, "PASSWORD_HASH_METHOD", "scrypt")
    user = make_user("enterprise")
    user.password_hash = generate_password_hash(PASSWORD, method="scrypt")
    db.session.commit()
    seen = []
    real = passwords.check_password_hash

    def recording(pwhash, password):
        seen.append(pwhash.split("$", 1)[0])
        return real(pwhash, password)

    monkeypatch.setattr(passwords, "check_password_hash", recording)
    client.post("/auth/login", data={"email": user.email, "password": "wrong-password-1"})
    client.post("/auth/login", data={"email": "nobody@nowhere.cq", "password": "wrong-password-1"})
    assert len(seen) == 2
    assert seen[0] == seen[1] == user.password_hash.split("$", 1)[0]
    assert seen[0].startswith("scrypt:")


def test_unknown_and_known_email_take_about_as_long(client, make_user, app, monkeypatch):
    monkeypatch.setitem(app.config, "PASSWORD_HASH_METHOD", "scrypt")
    monkeypatch.setitem(app.config, "LOGIN_MAX_FAILURES", 100)
    user = make_user("enterprise")
    user.password_hash = generate_password_hash(PASSWORD, method="scrypt")
    db.session.commit()
    passwords.dummy_hash()  # made once per process; not part of the measurement

    def timed(email):
        start = time.perf_counter()
        client.post("/auth/login", data={"email": email, "password": "wrong-password-1"})
        return time.perf_counter() - start

    known = statistics.median(timed(user.email) for _ in range(5))
    unknown = statistics.median(timed("nobody@nowhere.cq") for _ in range(5))
    assert 0.33 < unknown / known < 3, (known, unknown)  # was ≈ 0.09 (28 ms against 300 ms)


# ------------------------------------------------------------------ 12.4 device cookies and delays


def _fail(client, email, times, **kwargs):
    for _ in range(times):
        client.post("/auth/login", data={"email": email, "password": "wrong-password-1"}, **kwargs)


def test_a_browser_with_a_device_cookie_is_not_locked_out_by_failures_elsewhere(app, make_user):
    user = make_user("enterprise")
    firm = app.test_client()
    firm.post("/auth/login", data={"email": user.email, "password": PASSWORD})
    assert firm.get_cookie(throttle.cookie_name(user.email), path="/auth/") is not None
    firm.post("/auth/logout")

    attacker = app.test_client()
    _fail(attacker, user.email, 12)  # from the same IP, even
    refused = attacker.post("/auth/login", data={"email": user.email, "password": PASSWORD})
    assert refused.status_code == 429 and int(refused.headers["Retry-After"]) >= 1
    assert "登录失败次数过多" in refused.get_data(as_text=True)

    response = firm.post("/auth/login", data={"email": user.email, "password": PASSWORD})
    assert response.status_code == 302 and response.headers["Location"].endswith("/dashboard")


def test_a_device_cookie_for_another_account_or_forged_is_not_trusted(app, make_user):
    user, other = make_user("enterprise"), make_user("enterprise")
    browser = app.test_client()
    browser.post("/auth/login", data={"email": other.email, "password": PASSWORD})
    browser.post("/auth/logout")
    browser.set_cookie(throttle.cookie_name(user.email), "forged.value.sig", path="/auth/")
    _fail(app.test_client(), user.email, app.config["LOGIN_MAX_FAILURES"])
    assert browser.post("/auth/login", data={"email": user.email, "password": PASSWORD}).status_code == 429


def test_a_trusted_browser_guessing_is_slowed_down_itself(app, make_user):
    user = make_user("enterprise")
    browser = app.test_client()
    browser.post("/auth/login", data={"email": user.email, "password": PASSWORD})
    browser.post("/auth/logout")
    _fail(browser, user.email, app.config["LOGIN_MAX_FAILURES"])
    assert browser.post("/auth/login", data={"email": user.email, "password": PASSWORD}).status_code == 429
    # … while a fresh browser is not held up by the trusted browser's failures
    assert app.test_client().post("/auth/login", data={"email": user.email, "password": PASSWORD}).status_code == 302


def test_failures_from_one_ip_slow_down_untrusted_clients_of_that_ip_only(app, make_user, monkeypatch):
    monkeypatch.setitem(app.config, "LOGIN_MAX_FAILURES_PER_IP", 4)
    victim, regular = make_user("enterprise"), make_user("enterprise")
    trusted = app.test_client()
    trusted.post("/auth/login", data={"email": regular.email, "password": PASSWORD})
    trusted.post("/auth/logout")
    attacker = app.test_client()
    for n in range(4):
        _fail(attacker, f"guess{n}@test.cq", 1)  # different accounts, one IP
    nat = {"REMOTE_ADDR": "127.0.0.1"}
    assert app.test_client().post("/auth/login", data={"email": victim.email, "password": PASSWORD},
                                  environ_base=nat).status_code == 429
    assert app.test_client().post("/auth/login", data={"email": victim.email, "password": PASSWORD},
                                  environ_base={"REMOTE_ADDR": "10.1.2.3"}).status_code == 302
    assert trusted.post("/auth/login", data={"email": regular.email, "password": PASSWORD},
                        environ_base=nat).status_code == 302


def test_delays_grow_with_each_failure_up_to_the_cap(app):
    assert [throttle.delay_for(n, 5) for n in (0, 4, 5, 6, 7, 8)] == [0, 0, 2, 4, 8, 16]
    assert throttle.delay_for(40, 5) == app.config["LOGIN_MAX_DELAY_SECONDS"]


def test_the_refusal_ends_when_the_delay_has_run(app, make_user, monkeypatch):
    monkeypatch.setitem(app.config, "LOGIN_DELAY_SECONDS", 1)
    user = make_user("enterprise")
    client = app.test_client()
    _fail(client, user.email, app.config["LOGIN_MAX_FAILURES"])
    response = client.post("/auth/login", data={"email": user.email, "password": PASSWORD})
    assert response.status_code == 429 and response.headers["Retry-After"] == "1"
    time.sleep(1.1)
    assert client.post("/auth/login", data={"email": user.email, "password": PASSWORD}).status_code == 302


def test_x_forwarded_for_is_honoured_only_behind_trusted_proxies(app, database_url, tmp_path, make_user):
    user = make_user("enterprise")

    def locked_out_after_failures_from_another_forwarded_address(application):
        client = application.test_client()
        for n in range(3):
            client.post("/auth/login", data={"email": f"x{n}@test.cq", "password": "wrong-password-1"},
                        headers={"X-Forwarded-For": "203.0.113.7"})
        response = client.post("/auth/login", data={"email": user.email, "password": PASSWORD},
                               headers={"X-Forwarded-For": "198.51.100.9"})
        return response.status_code == 429

    direct = make_test_app(database_url, tmp_path / "direct", LOGIN_MAX_FAILURES_PER_IP=3)
    assert locked_out_after_failures_from_another_forwarded_address(direct)  # header ignored: one address
    proxied = make_test_app(database_url, tmp_path / "proxied", LOGIN_MAX_FAILURES_PER_IP=3, TRUSTED_PROXIES=1)
    assert not locked_out_after_failures_from_another_forwarded_address(proxied)  # two clients behind nginx


# ------------------------------------------------------------------ 12.5 revocable sessions


def _copied_session(app, client):
    thief = app.test_client()
    thief.set_cookie("session", client.get_cookie("session").value)
    return thief


def _as_a_new_request():
    """Requests of a test share the test's application context, and so ``g``, where Flask-Login keeps
    the user it loaded; in production each request starts without it. Drop it, so the next request
    loads the user from its own cookie (the app does this too, but the test must not rely on it)."""
    g.pop("_login_user", None)


def test_a_copied_session_cookie_is_refused_after_logout(app, client, make_user, login):
    login(make_user("owner"))
    thief = _copied_session(app, client)
    assert thief.get("/dashboard").status_code == 200  # the copy works while the session lives
    client.post("/auth/logout")
    _as_a_new_request()
    assert thief.get("/dashboard").status_code == 302


def test_a_password_change_ends_other_sessions_but_not_this_one(app, client, make_user, login):
    user = make_user("expert")
    login(user)
    thief = _copied_session(app, client)
    response = client.post("/auth/password", data={"current_password": PASSWORD, "password": "new-pass-1234",
                                                    "password2": "new-pass-1234"})
    assert response.status_code == 302
    assert client.get("/dashboard").status_code == 200
    assert thief.get("/dashboard").status_code == 302


def test_sign_out_everywhere(app, client, make_user, login):
    login(make_user("enterprise"))
    other = _copied_session(app, client)
    assert "退出所有设备" in client.get("/dashboard").get_data(as_text=True)
    response = client.post("/auth/sessions/end")
    assert response.status_code == 302 and response.headers["Location"].endswith("/auth/login")
    assert client.get("/dashboard").status_code == 302 and other.get("/dashboard").status_code == 302


def test_sign_out_everywhere_needs_a_signed_in_user(client):
    response = client.post("/auth/sessions/end")
    assert response.status_code == 302 and "/auth/login" in response.headers["Location"]


def test_role_change_and_deactivation_end_sessions(app, client, make_user, login):
    owner = make_user("owner")
    login(owner)
    theirs = _copied_session(app, client)
    client.post("/auth/logout")  # (this also ends theirs; sign in again for a fresh session)
    theirs = app.test_client()
    theirs.post("/auth/login", data={"email": owner.email, "password": PASSWORD})
    assert theirs.get("/dashboard").status_code == 200
    login(make_user("city_staff"))
    user = db.session.get(User, owner.id)
    response = client.post(f"/admin/users/{user.id}", data={
        "email": user.email, "name": user.name, "phone": "023-12345678", "role": "owner",
        "organisation_id": str(user.organisation_id), "active": "",
    })
    assert response.status_code in (302, 303), response.get_data(as_text=True)[:500]
    assert not db.session.get(User, owner.id).active
    assert theirs.get("/dashboard").status_code == 302


def test_reset_ends_sessions(app, client, make_user, login):
    user = make_user("enterprise")
    login(user)
    other = app.test_client()
    other.post("/auth/reset", data={"email": user.email})
    path = _mailed_path(user.email, "/auth/reset/")
    assert other.post(path, data={"password": "brand-new-pw-1", "password2": "brand-new-pw-1"}).status_code == 302
    assert client.get("/dashboard").status_code == 302


# ------------------------------------------------------------------ password policy and reset links


def _mailed_path(to: str, marker: str) -> str:
    message = db.session.execute(sa.select(OutboxMessage).where(OutboxMessage.to_address == to)
                                 .order_by(OutboxMessage.id.desc())).scalars().first()
    line = next(line for line in message.body.splitlines() if marker in line)
    return line[line.index(marker):].strip()


@pytest.mark.parametrize("password, message", [
    ("short-1", "至少 10 位"), ("password123", "过于常见"), ("qwertyuiop", "过于常见"), ("aaaaaaaaaaaa", "过于简单"),
])
def test_weak_passwords_are_refused_at_registration(client, password, message):
    response = client.post("/auth/register/enterprise", data={
        "organisation_name": "重庆测试数智科技有限公司", "uscc": "91350100M000100Y43", "district": "yubei",
        "name": "王芳", "email": "wang.fang@firm.cq", "phone": "13800138000",
        "password": password, "password2": password, "consent": "y",
    })
    assert response.status_code in (200, 422) and message in response.get_data(as_text=True)
    assert db.session.scalar(sa.select(sa.func.count(User.id))) == 0


def test_weak_passwords_are_refused_at_change_reset_and_by_staff(client, make_user, login):
    user = make_user("expert")
    login(user)
    response = client.post("/auth/password", data={"current_password": PASSWORD, "password": "1234567890",
                                                    "password2": "1234567890"})
    assert response.status_code == 422 and "过于常见" in response.get_data(as_text=True)
    client.post("/auth/logout")
    client.post("/auth/reset", data={"email": user.email})
    path = _mailed_path(user.email, "/auth/reset/")
    response = client.post(path, data={"password": "password123", "password2": "password123"})
    assert response.status_code == 422 and "过于常见" in response.get_data(as_text=True)
    with pytest.raises(Exception, match="过于常见"):
        passwords.check_policy("Password123")
    assert passwords.problem("a-long-unusual-phrase") is None


def test_reset_links_expire(client, make_user, app, monkeypatch):
    user = make_user("enterprise")
    client.post("/auth/reset", data={"email": user.email})
    path = _mailed_path(user.email, "/auth/reset/")
    monkeypatch.setitem(app.config, "PASSWORD_RESET_MAX_AGE", -1)
    response = client.post(path, data={"password": "brand-new-pw-1", "password2": "brand-new-pw-1"},
                           follow_redirects=True)
    assert "已过期" in response.get_data(as_text=True)
    assert db.session.get(User, user.id).password_hash == user.password_hash


# ------------------------------------------------------------------ e-mail change


def test_email_change_takes_effect_only_through_the_link_sent_to_the_new_address(client, make_user, login):
    user = make_user("enterprise")
    old = user.email
    login(user)
    response = client.post("/auth/email", data={"email": "Renamed@Firm.cq", "password": "wrong-password"})
    assert response.status_code == 422 and "当前密码不正确" in response.get_data(as_text=True)
    response = client.post("/auth/email", data={"email": "Renamed@Firm.cq", "password": PASSWORD})
    assert response.status_code == 302
    assert db.session.get(User, user.id).email == old  # not yet
    notice = db.session.execute(sa.select(OutboxMessage).where(OutboxMessage.to_address == old)).scalar_one()
    assert "renamed@firm.cq" in notice.body
    path = _mailed_path("renamed@firm.cq", "/auth/email/confirm/")
    assert client.get(path).status_code == 200
    assert db.session.get(User, user.id).email == old  # GET never writes
    assert client.post(path).status_code == 302
    assert db.session.get(User, user.id).email == "renamed@firm.cq"
    response = client.post(path, follow_redirects=True)  # spent: it names the old address
    assert "已使用或无效" in response.get_data(as_text=True)


def test_email_change_to_a_taken_address_reveals_nothing_and_changes_nothing(client, make_user, login):
    user, other = make_user("enterprise"), make_user("owner")
    login(user)
    response = client.post("/auth/email", data={"email": other.email, "password": PASSWORD}, follow_redirects=True)
    assert "请查收邮件" in response.get_data(as_text=True)
    notice = db.session.execute(sa.select(OutboxMessage).where(OutboxMessage.to_address == other.email)).scalar_one()
    assert "/auth/email/confirm/" not in notice.body
    assert db.session.get(User, user.id).email != other.email


def test_email_change_needs_a_signed_in_user(client):
    response = client.post("/auth/email", data={"email": "a@b.cq", "password": PASSWORD})
    assert response.status_code == 302 and "/auth/login" in response.headers["Location"]


# ------------------------------------------------------------------ links in mail never follow the Host header


def _mailed_links(to: str) -> list[str]:
    messages = db.session.execute(sa.select(OutboxMessage).where(OutboxMessage.to_address == to)).scalars()
    return [word for m in messages for word in m.body.split() if "://" in word]


def test_mailed_links_use_the_site_address_not_the_requests_host(app, client, make_user, login):
    """A reset requested with a forged ``Host`` (nginx hands any Host to its default server) must not mail the
    victim a genuine token on a link to the attacker's site: every mailed link starts with ``SITE_URL``."""
    site = app.config["SITE_URL"].rstrip("/")
    forged = {"Host": "evil.example"}
    victim = make_user("enterprise")
    client.post("/auth/reset", data={"email": victim.email}, headers=forged)  # reset link
    client.post("/auth/register/enterprise", headers=forged, data={  # "already registered" notice
        "organisation_name": "重庆测试数智科技有限公司", "uscc": "91350100M000100Y43", "district": "yubei",
        "name": "王芳", "email": victim.email, "phone": "13800138000",
        "password": "a-Strong-pass-42", "password2": "a-Strong-pass-42", "consent": "y"})
    client.post("/auth/register/enterprise", headers=forged, data={  # confirmation link of a new account
        "organisation_name": "重庆另一数智科技有限公司", "uscc": "91350100M000100Y43", "district": "yubei",
        "name": "李明", "email": "li.ming@firm.cq", "phone": "13800138001",
        "password": "a-Strong-pass-42", "password2": "a-Strong-pass-42", "consent": "y"})
    mover = make_user("enterprise")
    login(mover)
    # e-mail change (the session cookie belongs to the real host: this one shows the link is SITE_URL's)
    assert client.post("/auth/email", data={"email": "moved@firm.cq", "password": PASSWORD}).status_code == 302
    links = {to: _mailed_links(to) for to in (victim.email, "li.ming@firm.cq", "moved@firm.cq")}
    assert all(links.values()), links
    for found in links.values():
        assert all(link.startswith(site + "/auth/") and "evil.example" not in link for link in found), links
    reset = next(link for link in links[victim.email] if "/auth/reset/" in link)  # and the link works
    client.post("/auth/logout")
    assert client.get(reset[len(site):]).status_code == 200
