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


def _post_urls(app):
    """Every POST route of the app, with sample values for its arguments (ids need not exist)."""
    from flask import url_for
    from werkzeug.routing import AnyConverter, IntegerConverter

    urls = []
    with app.test_request_context():
        for rule in app.url_map.iter_rules():
            if "POST" not in rule.methods:
                continue
            values = {}
            for name, converter in rule._converters.items():
                values[name] = sorted(converter.items)[0] if isinstance(converter, AnyConverter) else (
                    1 if isinstance(converter, IntegerConverter) else "x")
            urls.append((rule.endpoint, url_for(rule.endpoint, **values)))
    return urls


def test_every_post_route_is_enumerated(csrf_client):
    """The walk below covers every POST route (a hand list would miss new ones)."""
    endpoints = {endpoint for endpoint, _url in _post_urls(csrf_client.application)}
    assert {"auth.login", "applications.objection_decide", "applications.evaluation_award"} <= endpoints
    assert len(endpoints) > 50


@pytest.mark.parametrize("signed_in", [False, True])
def test_every_post_route_refuses_a_missing_token(csrf_client, make_user, signed_in):
    """Anonymous or signed in (as city staff, who may use the most routes): no token, no state change — 400."""
    import re

    if signed_in:
        user = make_user("city_staff")
        html = csrf_client.get("/auth/login").get_data(as_text=True)
        token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', html).group(1)
        assert csrf_client.post("/auth/login", data={"email": user.email, "password": "pw-12345678",
                                                     "csrf_token": token}).status_code == 302
    wrong = []
    for endpoint, url in _post_urls(csrf_client.application):
        response = csrf_client.post(url, data={"email": "a@b.cq", "password": "x"})
        if response.status_code != 400 or "CSRF" not in response.get_data(as_text=True):
            wrong.append((endpoint, url, response.status_code))
    assert wrong == []
