"""用户协议 / 隐私政策: public pages, versions published by city staff, consent at registration and after."""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa

from marketplace.extensions import db
from marketplace.models import AuditEvent, Consent, LegalDocument, LegalKind, User
from tests.test_auth import enterprise_form

NEW_TERMS = "第二版用户协议。" + "平台用户应当遵守本协议的各项规定，如实填写信息，妥善保管账号密码。" * 3


def _consents(user_id: int) -> dict[str, int]:
    rows = db.session.execute(sa.select(Consent.kind, Consent.version).where(Consent.user_id == user_id)).all()
    return {kind.value: version for kind, version in rows}


@pytest.mark.parametrize("kind, title", [("terms", "用户协议"), ("privacy", "隐私政策")])
def test_anonymous_visitors_read_version_one_of_both_documents(client, kind, title):
    html = client.get(f"/legal/{kind}").get_data(as_text=True)
    assert f"<h1 class=\"h3 mb-2\">{title}</h1>" in html
    assert 'data-version="1"' in html and "第 1 版" in html
    assert "联系方式见本页末尾" in html or "本页末尾的联系方式" in html
    # linked from the footer of every page
    home = client.get("/").get_data(as_text=True)
    assert 'href="/legal/terms"' in home and 'href="/legal/privacy"' in home


def test_without_stored_rows_version_one_stands_in(app):
    """The migration inserts version 1 (tests/test_migrations.py); an emptied table falls back to the same text."""
    from marketplace.legal import initial, services

    db.session.execute(sa.delete(LegalDocument))
    assert services.current_versions(db.session) == {LegalKind.TERMS: 1, LegalKind.PRIVACY: 1}
    privacy = services.current(db.session, LegalKind.PRIVACY)
    assert privacy.version == 1 and privacy.body == initial.PRIVACY_BODY


def test_the_contact_setting_is_shown_under_the_text(app, client):
    app.config["SITE_CONTACT"] = "023-12345678 / service@cq.example"
    try:
        html = client.get("/legal/privacy").get_data(as_text=True)
    finally:
        app.config["SITE_CONTACT"] = ""
    assert "023-12345678 / service@cq.example" in html


def test_registration_without_consent_is_refused_on_the_field(client):
    form = enterprise_form()
    del form["consent"]
    response = client.post("/auth/register/enterprise", data=form)
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "请阅读并同意《用户协议》和《隐私政策》。" in html and 'id="consent-error"' in html
    assert db.session.scalar(sa.select(sa.func.count(User.id))) == 0


def test_the_service_refuses_a_registration_without_consent(app):
    from marketplace.auth import services
    from marketplace.errors import ValidationFailed

    person = services.Registration("王芳", "wang@firm.cq", "13800138000", "secret-pass-1")  # consent=False
    with app.test_request_context(), pytest.raises(ValidationFailed) as refused:
        services.register_enterprise(db.session, person, "某公司", "91350100M000100Y43", "yubei", None)
    assert "consent" in refused.value.field_errors


def test_registration_forms_link_both_documents(client):
    for url in ("/auth/register/enterprise", "/auth/register/owner"):
        html = client.get(url).get_data(as_text=True)
        assert 'name="consent"' in html
        assert re.search(r'href="/legal/terms"[^>]*>《用户协议》', html) and re.search(
            r'href="/legal/privacy"[^>]*>《隐私政策》', html)


def test_registration_records_the_versions_accepted_with_time_and_address(client):
    from marketplace import clock

    before = clock.now()
    assert client.post("/auth/register/enterprise", data=enterprise_form(),
                       environ_base={"REMOTE_ADDR": "10.1.2.3"}).status_code == 302
    user = db.session.execute(sa.select(User).where(User.email == "wang.fang@firm.cq")).scalar_one()
    rows = db.session.execute(sa.select(Consent).where(Consent.user_id == user.id)).scalars().all()
    assert {(c.kind.value, c.version) for c in rows} == {("terms", 1), ("privacy", 1)}
    assert all(before <= c.accepted_at <= clock.now() and c.ip == "10.1.2.3" for c in rows)


def test_owner_registration_records_consent(client):
    response = client.post("/auth/register/owner", data={
        "organisation_id": "0", "new_organisation_name": "重庆市测试局", "new_organisation_kind": "government",
        "district": "yuzhong", "name": "李强", "email": "li.qiang@gov.cq", "phone": "023-63001234",
        "password": "owner-pass-1", "password2": "owner-pass-1", "consent": "y",
    })
    assert response.status_code == 302
    user = db.session.execute(sa.select(User).where(User.email == "li.qiang@gov.cq")).scalar_one()
    assert _consents(user.id) == {"terms": 1, "privacy": 1}


def test_city_staff_publish_a_new_version_and_users_are_asked_to_accept_it(client, make_user, login):
    firm = make_user("enterprise")
    from marketplace.legal import services

    services.record_consent(db.session, firm, "10.0.0.1")
    db.session.commit()
    login(firm)
    assert 'id="consent-banner"' not in client.get("/dashboard").get_data(as_text=True)
    client.post("/auth/logout")

    staff = make_user("city_staff")
    login(staff)
    form = client.get("/admin/legal/terms").get_data(as_text=True)
    assert "第 1 版" in form and "保存后将发布为第 2 版" in form
    response = client.post("/admin/legal/terms", data={"title": "用户协议", "body": NEW_TERMS})
    assert response.status_code == 302 and response.headers["Location"].endswith("/legal/terms")
    documents = db.session.execute(sa.select(LegalDocument).where(LegalDocument.kind == LegalKind.TERMS)
                                   .order_by(LegalDocument.version)).scalars().all()
    assert [d.version for d in documents][-1] == 2 and documents[-1].published_by_id == staff.id
    assert documents[-1].body == NEW_TERMS
    event = db.session.execute(sa.select(AuditEvent).where(AuditEvent.action == "legal.publish")).scalar_one()
    assert event.after["version"] == 2 and event.actor_id == staff.id
    page = client.get("/legal/terms").get_data(as_text=True)
    assert 'data-version="2"' in page and "第二版用户协议" in page
    old = client.get("/legal/terms?version=1").get_data(as_text=True)
    assert "此为历史版本" in old and 'data-version="1"' in old
    client.post("/auth/logout")

    login(firm)
    html = client.get("/dashboard").get_data(as_text=True)
    assert 'id="consent-banner"' in html and "《用户协议》" in html and "（第 2 版）" in html
    assert "《隐私政策》" not in html.split('id="consent-banner"')[1].split("</form>")[0]  # privacy unchanged
    response = client.post("/legal/accept", data={"next": "/dashboard"})
    assert response.status_code == 302 and response.headers["Location"] == "/dashboard"
    assert _consents(firm.id) == {"terms": 2, "privacy": 1}
    accepted = db.session.execute(sa.select(Consent).where(Consent.user_id == firm.id, Consent.version == 2)
                                  ).scalar_one()
    assert accepted.kind == LegalKind.TERMS and accepted.accepted_at is not None
    assert 'id="consent-banner"' not in client.get("/dashboard").get_data(as_text=True)
    # the older acceptance stays (history)
    assert db.session.scalar(sa.select(sa.func.count(Consent.id)).where(Consent.user_id == firm.id)) == 3


def test_a_user_with_no_recorded_consent_is_asked_too(client, make_user, login):
    login(make_user("owner"))
    html = client.get("/dashboard").get_data(as_text=True)
    assert 'id="consent-banner"' in html and "《用户协议》" in html and "《隐私政策》" in html


def test_anonymous_visitors_see_no_banner_and_cannot_accept(client):
    assert 'id="consent-banner"' not in client.get("/").get_data(as_text=True)
    response = client.post("/legal/accept")
    assert response.status_code == 302 and "/auth/login" in response.headers["Location"]


@pytest.mark.parametrize("role", ["enterprise", "owner", "district_staff", "expert"])
def test_only_city_staff_edit_the_documents(client, make_user, login, role):
    login(make_user(role))
    assert client.get("/admin/legal").status_code == 403
    assert client.get("/admin/legal/terms").status_code == 403
    assert client.post("/admin/legal/privacy", data={"title": "隐私政策", "body": NEW_TERMS}).status_code == 403
    assert db.session.scalar(sa.select(sa.func.count(LegalDocument.id)).where(LegalDocument.version > 1)) == 0


def test_the_service_refuses_others_too(app, make_user):
    from marketplace.errors import PermissionDenied
    from marketplace.legal import services

    with pytest.raises(PermissionDenied):
        services.publish(db.session, make_user("district_staff"), LegalKind.TERMS, "用户协议", NEW_TERMS, None)


@pytest.mark.parametrize("data, field, message", [
    ({"title": "用户协议", "body": "太短了"}, "body", "正文应为 50 至 50000 个字"),
    ({"title": "", "body": NEW_TERMS}, "title", "请输入标题"),
    ({"title": "用户协议", "body": ""}, "body", "请输入正文"),
])
def test_bad_input_gets_field_errors(client, make_user, login, data, field, message):
    login(make_user("city_staff"))
    response = client.post("/admin/legal/terms", data=data)
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and message in html and f'id="{field}-error"' in html
    assert db.session.scalar(sa.select(sa.func.count(LegalDocument.id)).where(LegalDocument.version > 1)) == 0


def test_publishing_the_same_text_again_is_refused(client, make_user, login):
    from marketplace.legal import services

    login(make_user("city_staff"))
    current = services.current(db.session, LegalKind.PRIVACY)
    response = client.post("/admin/legal/privacy", data={"title": current.title, "body": current.body})
    assert response.status_code == 422 and "内容与现行版本相同" in response.get_data(as_text=True)


def test_unknown_versions_and_kinds_are_not_found(client):
    assert client.get("/legal/terms?version=7").status_code == 404
    assert client.get("/legal/terms?version=x").status_code == 404
    assert client.get("/legal/cookies").status_code == 404
