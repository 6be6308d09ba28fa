"""Every role reaches only its pages: parametrised over every role and protected route."""

import pytest

from tests.conftest import ON_POSTGRES
from tests.races import second_waits_for_first

ROLES = ["owner", "enterprise", "district_staff", "city_staff", "expert"]
ALL = set(ROLES)
STAFF = {"district_staff", "city_staff"}

#: (path, roles allowed)
PROTECTED = [
    ("/dashboard", ALL),
    ("/auth/password", ALL),
    ("/admin/approvals", STAFF),
    ("/admin/users", {"city_staff"}),
    ("/admin/users/new", {"city_staff"}),
    ("/admin/organisations", {"city_staff"}),
    ("/admin/organisations/new", {"city_staff"}),
]


@pytest.mark.parametrize("path", [p for p, _ in PROTECTED])
def test_anonymous_is_sent_to_login(client, path):
    response = client.get(path)
    assert response.status_code == 302
    assert "/auth/login" in response.headers["Location"]


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize(("path", "allowed"), PROTECTED)
def test_role_access(client, make_user, login, role, path, allowed):
    login(make_user(role))
    response = client.get(path)
    assert response.status_code == (200 if role in allowed else 403), (role, path)
    if role not in allowed:
        assert "没有权限" in response.get_data(as_text=True)


@pytest.mark.parametrize("role", ROLES)
def test_navigation_changes_with_role(client, make_user, login, role):
    login(make_user(role))
    html = client.get("/dashboard").get_data(as_text=True)
    assert ('data-nav="users"' in html) == (role == "city_staff")
    assert ('data-nav="approvals"' in html) == (role in STAFF)
    assert f'data-role="{role}"' in html


@pytest.mark.parametrize("role", [r for r in ROLES if r != "city_staff"])
def test_only_city_staff_may_post_admin_forms(client, make_user, login, role):
    login(make_user(role))
    assert client.post("/admin/users/new", data={"name": "x", "email": "x@x.cq", "role": "city_staff"}).status_code == 403
    assert client.post("/admin/organisations/new", data={"name": "x", "kind": "government"}).status_code == 403


def test_city_staff_manage_users_and_organisations(client, make_user, login):
    from marketplace.extensions import db
    from marketplace.models import Organisation, User

    login(make_user("city_staff"))
    response = client.post("/admin/organisations/new", data={"name": "渝北区经济信息委", "kind": "district_office",
                                                              "district": "yubei", "active": "y"})
    assert response.status_code == 302
    org = db.session.query(Organisation).filter_by(name="渝北区经济信息委").one()
    response = client.post("/admin/users/new", data={"name": "赵敏", "email": "zhao@yubei.cq", "role": "district_staff",
                                                      "organisation_id": str(org.id), "active": "y",
                                                      "password": "staff-pass-1"})
    assert response.status_code == 302
    assert db.session.query(User).filter_by(email="zhao@yubei.cq").one().district.code == "yubei"
    # A district-staff account must belong to a district office.
    enterprise = make_user("enterprise")
    response = client.post("/admin/users/new", data={"name": "钱", "email": "qian@x.cq", "role": "district_staff",
                                                      "organisation_id": str(enterprise.organisation_id),
                                                      "password": "staff-pass-1"})
    assert "该角色的用户必须属于" in response.get_data(as_text=True)


@pytest.mark.postgres
@pytest.mark.skipif(not ON_POSTGRES, reason="concurrent transactions: PostgreSQL only (SQLite writes are serial)")
@pytest.mark.parametrize("what", ["user", "organisation"])
def test_an_account_or_organisation_saved_twice_at_once_gets_a_field_message(client, make_user, login, what):
    """Two city staff (or a double click) create the same e-mail / organisation name at the same moment: the second
    waits on the unique index and gets the field message (was a unique-constraint 500)."""

    from sqlalchemy.orm import Session

    from marketplace.admin import services
    from marketplace.extensions import db
    from marketplace.models import Organisation, User

    first = make_user("city_staff")
    login(make_user("city_staff"))
    if what == "user":
        url = "/admin/users/new"
        data = {"name": "赵敏", "email": "zhao@x.cq", "role": "expert", "active": "y", "password": "staff-pass-1"}
        save = lambda other: services.save_user(other, other.get(User, first.id), None, {  # noqa: E731
            "name": "赵敏", "email": "zhao@x.cq", "role": "expert", "active": True, "password": "staff-pass-1"}, None)
        message = "该邮箱已被其他账号使用"
    else:
        url = "/admin/organisations/new"
        data = {"name": "渝北区经济信息委", "kind": "district_office", "district": "yubei", "active": "y"}
        save = lambda other: services.save_organisation(other, other.get(User, first.id), None, {  # noqa: E731
            "name": "渝北区经济信息委", "kind": "district_office", "district": "yubei", "active": True}, None)
        message = "已被其他单位使用"
    with Session(db.engine) as other:
        save(other)  # saved, not yet committed
        answer = second_waits_for_first(other, lambda: client.post(url, data=data), "the second save")
    assert answer.status_code == 422, answer.status_code
    assert message in answer.get_data(as_text=True)
    model, column, value = (User, User.email, "zhao@x.cq") if what == "user" else \
        (Organisation, Organisation.name, "渝北区经济信息委")
    assert db.session.query(model).filter(column == value).count() == 1
