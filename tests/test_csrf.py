"""CSRF protection is on for every form when the app runs normally."""

import pytest

from tests.conftest import make_test_app

FORMS = ["/auth/login", "/auth/register/enterprise", "/auth/register/owner", "/auth/reset", "/auth/password",
         "/admin/users/new", "/admin/organisations/new", "/admin/approvals/1/approve", "/auth/logout"]


@pytest.fixture
def csrf_client(app, tmp_path):
    strict = make_test_app(app.config["SQLALCHEMY_DATABASE_URI"], tmp_path, WTF_CSRF_ENABLED=True)
    return strict.test_client()


@pytest.mark.parametrize("path", FORMS)
def test_post_without_token_is_refused(csrf_client, path):
    response = csrf_client.post(path, data={"email": "a@b.cq", "password": "x"})
    assert response.status_code == 400
    assert "CSRF" in response.get_data(as_text=True)


def test_post_with_token_is_accepted(csrf_client, make_user):
    import re

    user = make_user("owner")
    html = csrf_client.get("/auth/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', html).group(1)
    response = csrf_client.post("/auth/login", data={"email": user.email, "password": "pw-12345678",
                                                     "csrf_token": token})
    assert response.status_code == 302
