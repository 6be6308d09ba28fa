import pytest
import sqlalchemy as sa

from marketplace.extensions import db
from marketplace.models import ApprovalStatus, AuditEvent, LoginAttempt, OutboxMessage, Role, User
from tests.conftest import ON_POSTGRES, PASSWORD
from tests.races import second_waits_for_first

VALID_USCC = "91350100M000100Y43"


def enterprise_form(**overrides):
    data = {
        "organisation_name": "重庆测试数智科技有限公司", "uscc": VALID_USCC, "district": "yubei",
        "name": "王芳", "email": "wang.fang@firm.cq", "phone": "13800138000",
        "password": "secret-pass-1", "password2": "secret-pass-1", "consent": "y",
    }
    data.update(overrides)
    return data


def test_login_page_has_named_fields(client):
    html = client.get("/auth/login").get_data(as_text=True)
    assert 'name="email"' in html and 'name="password"' in html
    assert "登录" in html


def test_login_and_logout(client, make_user):
    user = make_user("owner")
    response = client.post("/auth/login", data={"email": user.email.upper(), "password": PASSWORD})
    assert response.status_code == 302 and response.headers["Location"].endswith("/dashboard")
    assert client.get("/dashboard").status_code == 200
    assert db.session.get(User, user.id).last_login_at is not None
    client.post("/auth/logout")
    assert client.get("/dashboard").status_code == 302


def test_logout_is_post_only(client, make_user, login):
    login(make_user("owner"))
    response = client.get("/auth/logout")
    assert response.status_code == 405 and "POST" in response.headers["Allow"]
    assert client.get("/dashboard").status_code == 200  # still signed in: a link or an <img> cannot sign out
    response = client.post("/auth/logout")
    assert response.status_code == 302 and response.headers["Location"] == "/"
    assert client.get("/dashboard").status_code == 302


def test_the_menu_signs_out_with_a_form(client, make_user, login):
    login(make_user("owner"))
    html = client.get("/dashboard").get_data(as_text=True)
    assert '<form method="post" action="/auth/logout">' in html
    assert 'href="/auth/logout"' not in html


def test_wrong_password_gets_a_clear_message(client, make_user):
    user = make_user("owner")
    response = client.post("/auth/login", data={"email": user.email, "password": "wrong"})
    assert response.status_code == 200
    assert "邮箱或密码不正确" in response.get_data(as_text=True)


def test_login_is_throttled_after_repeated_failures(client, make_user, app):
    user = make_user("enterprise")
    for _ in range(app.config["LOGIN_MAX_FAILURES"]):
        client.post("/auth/login", data={"email": user.email, "password": "wrong"})
    response = client.post("/auth/login", data={"email": user.email, "password": PASSWORD})
    assert response.status_code == 429 and int(response.headers["Retry-After"]) >= 1
    assert "登录失败次数过多" in response.get_data(as_text=True)
    assert client.get("/dashboard").status_code == 302
    # The refused attempt is not even checked, so it is not recorded.
    assert db.session.scalar(sa.select(sa.func.count(LoginAttempt.id))) == app.config["LOGIN_MAX_FAILURES"]


@pytest.mark.parametrize("target", ["https://evil.example/x", "//evil.example", "//evil.example/x", "/\\evil.example",
                                    "http://localhost@evil.example/", "http://localhost.evil.example/",
                                    "javascript:alert(1)"])
def test_next_parameter_only_redirects_locally(client, make_user, target):
    user = make_user("owner")
    response = client.post("/auth/login", query_string={"next": target},
                           data={"email": user.email, "password": PASSWORD})
    assert response.status_code == 302 and response.headers["Location"] == "/dashboard"


def test_next_parameter_on_this_site_is_followed(client, make_user):
    user = make_user("owner")
    response = client.post("/auth/login", query_string={"next": "/scenarios?q=1"},
                           data={"email": user.email, "password": PASSWORD})
    assert response.status_code == 302 and response.headers["Location"] == "/scenarios?q=1"


def _mailed_path(to: str, marker: str) -> str:
    message = db.session.execute(sa.select(OutboxMessage).where(OutboxMessage.to_address == to)
                                 .order_by(OutboxMessage.id.desc())).scalars().first()
    line = next(line for line in message.body.splitlines() if marker in line)
    return line[line.index(marker):].strip()


def register_and_confirm(client, **overrides):
    """Register a firm through the form and open the confirmation link mailed to it (signs in)."""
    form = enterprise_form(**overrides)
    assert client.post("/auth/register/enterprise", data=form).status_code == 302
    response = client.post(_mailed_path(form["email"], "/auth/confirm/"))
    assert response.status_code == 302 and response.headers["Location"].endswith("/dashboard")


def test_enterprise_registration_signs_in_after_the_mailed_link(client):
    response = client.post("/auth/register/enterprise", data=enterprise_form(), follow_redirects=True)
    assert "请查收邮件" in response.get_data(as_text=True)
    user = db.session.execute(sa.select(User).where(User.email == "wang.fang@firm.cq")).scalar_one()
    assert user.role == Role.ENTERPRISE and not user.email_confirmed
    assert user.organisation.uscc == VALID_USCC and user.organisation.district.code == "yubei"
    assert user.password_hash.startswith("pbkdf2:") or user.password_hash.startswith("scrypt:")
    assert db.session.scalar(sa.select(AuditEvent).where(AuditEvent.action == "user.register"))
    # Not yet: the answer is the one for a wrong password (it must not tell that the address is new).
    response = client.post("/auth/login", data={"email": "wang.fang@firm.cq", "password": "secret-pass-1"})
    assert response.status_code == 200 and "邮箱或密码不正确" in response.get_data(as_text=True)
    path = _mailed_path("wang.fang@firm.cq", "/auth/confirm/")
    assert client.get(path).status_code == 200  # a page with a button: GET never writes
    assert not db.session.get(User, user.id).email_confirmed
    response = client.post(path)
    assert response.status_code == 302 and response.headers["Location"].endswith("/dashboard")
    assert client.get("/dashboard").status_code == 200
    assert db.session.get(User, user.id).email_confirmed
    client.post("/auth/logout")
    response = client.post(path, follow_redirects=True)  # single use: not a standing sign-in link
    assert "已确认，请直接登录" in response.get_data(as_text=True)
    assert client.get("/dashboard").status_code == 302


def test_bad_uscc_is_refused_on_the_field(client):
    response = client.post("/auth/register/enterprise", data=enterprise_form(uscc="91350100M000100Y44"))
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "校验位不正确" in html and "is-invalid" in html
    assert 'value="重庆测试数智科技有限公司"' in html  # the rest of the form is kept
    assert db.session.scalar(sa.select(sa.func.count(User.id))) == 0


def test_registering_a_taken_address_answers_as_for_a_new_one_and_tells_its_owner(client, make_user):
    make_user("owner", email="taken@firm.cq")
    taken = client.post("/auth/register/enterprise", data=enterprise_form(email="taken@firm.cq"),
                        follow_redirects=True)
    fresh = client.post("/auth/register/enterprise",
                        data=enterprise_form(email="new@firm.cq", uscc="91350100M000100Y43",
                                             organisation_name="另一家测试公司"), follow_redirects=True)
    assert taken.status_code == fresh.status_code == 200
    assert "请查收邮件" in taken.get_data(as_text=True)
    assert taken.get_data() == fresh.get_data()  # the same page, word for word
    assert db.session.scalar(sa.select(sa.func.count(User.id)).where(User.email == "taken@firm.cq")) == 1
    notice = db.session.execute(sa.select(OutboxMessage).where(OutboxMessage.to_address == "taken@firm.cq")
                                ).scalar_one()
    assert "尝试用您的邮箱" in notice.subject and "/auth/reset" in notice.body
    # the firm of the refused attempt was not created
    assert db.session.scalar(sa.select(sa.func.count(User.id))) == 2


def test_duplicate_uscc_is_refused(client, make_org):
    make_org("software_enterprise", uscc=VALID_USCC)
    response = client.post("/auth/register/enterprise", data=enterprise_form())
    assert "已有企业注册" in response.get_data(as_text=True)


def test_owner_registration_waits_for_approval(client, make_user, login):
    response = client.post("/auth/register/owner", data={
        "organisation_id": "0", "new_organisation_name": "重庆市测试局", "new_organisation_kind": "government",
        "district": "yuzhong", "name": "李强", "email": "li.qiang@gov.cq", "phone": "023-63001234",
        "password": "owner-pass-1", "password2": "owner-pass-1", "consent": "y",
    })
    assert response.status_code == 302
    user = db.session.execute(sa.select(User).where(User.email == "li.qiang@gov.cq")).scalar_one()
    assert user.approval_status == ApprovalStatus.PENDING
    response = client.post(_mailed_path("li.qiang@gov.cq", "/auth/confirm/"))
    assert response.status_code == 302 and response.headers["Location"].endswith("/auth/login")
    response = client.post("/auth/login", data={"email": "li.qiang@gov.cq", "password": "owner-pass-1"})
    assert "等待区县或市级工作人员审核" in response.get_data(as_text=True)

    # Staff of another district may not approve; staff of the owner's district may.
    other = make_user("district_staff", district="yubei")
    login(other)
    assert "li.qiang@gov.cq" not in client.get("/admin/approvals").get_data(as_text=True)
    assert client.post(f"/admin/approvals/{user.id}/approve").status_code == 404  # as for a missing account
    assert client.post(f"/admin/approvals/{user.id + 1000}/approve").status_code == 404
    db.session.expire_all()
    assert user.approval_status == ApprovalStatus.PENDING
    client.post("/auth/logout")
    staff = make_user("district_staff", district="yuzhong")
    login(staff)
    assert "li.qiang@gov.cq" in client.get("/admin/approvals").get_data(as_text=True)
    assert client.post(f"/admin/approvals/{user.id}/approve").status_code == 302
    client.post("/auth/logout")
    assert client.post("/auth/login", data={"email": "li.qiang@gov.cq", "password": "owner-pass-1"}).status_code == 302
    assert db.session.scalar(sa.select(sa.func.count(OutboxMessage.id))) == 2  # confirmation, approval


def test_rejection_needs_a_reason(client, make_user, login):
    pending = make_user("owner", approval_status=ApprovalStatus.PENDING)
    login(make_user("city_staff"))
    client.post(f"/admin/approvals/{pending.id}/reject", data={"reason": ""})
    assert db.session.get(User, pending.id).approval_status == ApprovalStatus.PENDING
    client.post(f"/admin/approvals/{pending.id}/reject", data={"reason": "单位信息不完整"})
    assert db.session.get(User, pending.id).approval_status == ApprovalStatus.REJECTED


def test_password_change(client, make_user, login):
    user = make_user("expert")
    login(user)
    response = client.post("/auth/password", data={"current_password": "nope", "password": "new-pass-123",
                                                    "password2": "new-pass-123"})
    assert "当前密码不正确" in response.get_data(as_text=True)
    client.post("/auth/password", data={"current_password": PASSWORD, "password": "new-pass-123",
                                        "password2": "new-pass-123"})
    client.post("/auth/logout")
    login(user, "new-pass-123")


def test_password_reset_by_token_is_single_use(client, make_user):
    user = make_user("enterprise")
    client.post("/auth/reset", data={"email": user.email})
    message = db.session.execute(sa.select(OutboxMessage)).scalar_one()
    assert message.to_address == user.email
    link = next(line for line in message.body.splitlines() if "/auth/reset/" in line)
    path = link[link.index("/auth/reset/"):].strip()
    assert client.get(path).status_code == 200
    response = client.post(path, data={"password": "reset-pass-1", "password2": "reset-pass-1"})
    assert response.status_code == 302
    assert client.post("/auth/login", data={"email": user.email, "password": "reset-pass-1"}).status_code == 302
    client.post("/auth/logout")
    assert client.get(path).status_code == 302  # spent: redirected with a message


def test_reset_request_for_unknown_email_reveals_nothing(client):
    response = client.post("/auth/reset", data={"email": "nobody@nowhere.cq"}, follow_redirects=True)
    assert "如果该邮箱已注册" in response.get_data(as_text=True)
    assert db.session.scalar(sa.select(sa.func.count(OutboxMessage.id))) == 0


def test_disabled_account_cannot_sign_in(client, make_user):
    user = make_user("owner", active=False)
    response = client.post("/auth/login", data={"email": user.email, "password": PASSWORD})
    assert "已被停用" in response.get_data(as_text=True)


@pytest.mark.postgres
@pytest.mark.skipif(not ON_POSTGRES, reason="row locks: PostgreSQL only (SQLite writes are serial)")
def test_a_registration_decision_waits_for_a_concurrent_one_and_is_refused(client, make_user, login):
    """Two staff members decide one registration at once: the second waits and is refused (without the lock
    it overwrote the first: approved, mailed "approved", then rejected and mailed "rejected")."""

    from sqlalchemy.orm import Session

    from marketplace.admin import services

    pending = make_user("owner", approval_status=ApprovalStatus.PENDING)
    first, second = (make_user("district_staff", district="yuzhong") for _ in range(2))
    login(second)
    with Session(db.engine) as other:
        services.decide_registration(other, other.get(User, first.id), pending.id, True, None, None)
        answer = second_waits_for_first(other, lambda:
            client.post(f"/admin/approvals/{pending.id}/reject", data={"reason": "单位信息不符。"}), "the second decision")
    assert answer.status_code in (303, 409), answer.status_code
    db.session.expire_all()
    assert pending.approval_status == ApprovalStatus.APPROVED and pending.approved_by_id == first.id
    assert db.session.scalar(sa.select(sa.func.count(AuditEvent.id)).where(AuditEvent.action == "user.reject")) == 0
