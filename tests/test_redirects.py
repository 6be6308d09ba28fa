"""The outside probe's open-redirect cases, on the host and port it used (127.0.0.1:5000): the language
switch's Referer and the sign-in ``next=`` go through one :func:`marketplace.redirects.is_safe_redirect`."""

from __future__ import annotations

import pytest

from tests.conftest import PASSWORD

BASE = "http://127.0.0.1:5000"
OFF_SITE = [
    "http://127.0.0.1:5000@evil.example/",  # user info: the host is evil.example
    "http://127.0.0.1:50000/",  # a port that merely starts with 5000
    "http://127.0.0.1:5000.evil.example/",  # not a port: was a 500
    "https://127.0.0.1:5000/",  # another scheme
    "http://127.0.0.1/",  # default port 80, not 5000
    "//evil.example/",
    "/\\evil.example",
    "javascript:alert(1)",
]


@pytest.fixture
def reset_language(client):
    yield
    from flask_babel import refresh

    client.get("/lang/zh_CN", base_url=BASE)
    refresh()


@pytest.mark.parametrize("referer", OFF_SITE)
def test_language_switch_refuses_off_site_referers(client, reset_language, referer):
    response = client.get("/lang/en", headers={"Referer": referer}, base_url=BASE)
    assert response.status_code == 302
    assert response.headers["Location"] == "/"


def test_language_switch_goes_back_on_the_same_origin(client, reset_language):
    response = client.get("/lang/en", headers={"Referer": f"{BASE}/scenarios?page=2"}, base_url=BASE)
    assert response.headers["Location"] == f"{BASE}/scenarios?page=2"


@pytest.mark.parametrize("target", OFF_SITE)
def test_sign_in_next_refuses_off_site_targets(client, make_user, target):
    user = make_user("owner")
    response = client.post("/auth/login", query_string={"next": target}, base_url=BASE,
                           data={"email": user.email, "password": PASSWORD})
    assert response.status_code == 302
    assert response.headers["Location"] == "/dashboard"


def test_sign_in_next_keeps_a_same_origin_target(client, make_user):
    user = make_user("owner")
    response = client.post("/auth/login", query_string={"next": f"{BASE}/scenarios"}, base_url=BASE,
                           data={"email": user.email, "password": PASSWORD})
    assert response.headers["Location"] == f"{BASE}/scenarios"


@pytest.mark.parametrize("target", OFF_SITE)
def test_is_safe_redirect_is_the_one_check(app, target):
    from marketplace.redirects import is_safe_redirect

    with app.test_request_context("/", base_url=BASE):
        assert not is_safe_redirect(target)
        assert is_safe_redirect(f"{BASE}/x") and is_safe_redirect("/x")


def test_a_refusal_on_a_confirmation_page_goes_back_to_a_page_that_answers_get(make_scenario, make_user, client,
                                                                                login):
    """The confirmation step is a page rendered in answer to a POST: its own URL answers only POST. When the
    confirmed action is then refused (here: a colleague published the scenario in the meantime), the browser
    goes back to the scenario with the reason — not to the confirmation URL, where a GET is a 405."""
    from tests.confirm_support import post_confirmed, token_of

    scenario = make_scenario("submitted")
    login(make_user("district_staff"))
    url = f"/scenarios/{scenario.id}/publish"
    data = {"batch_id": "0", "new_batch_name": "第九批", "new_batch_stage": "collect"}
    token = token_of(client.post(url, data=data, headers={"Referer": f"/scenarios/{scenario.id}"})
                     .get_data(as_text=True))
    assert post_confirmed(client, url, data=data).status_code == 302  # the colleague's publish
    late = client.post(url, data={**data, "confirm_token": token}, headers={"Referer": f"http://localhost{url}"})
    assert late.status_code == 303
    assert late.headers["Location"].endswith(f"/scenarios/{scenario.id}")
    page = client.get(late.headers["Location"])
    assert page.status_code == 200


def test_language_switch_from_a_page_rendered_for_a_form_goes_to_a_page_that_answers_get(client, reset_language):
    """A form's field errors are shown at the form's URL, which answers only POST: switching the language
    there went back to it with a GET — a 405 page."""
    response = client.get("/lang/en", headers={"Referer": f"{BASE}/scenarios/5/publish"}, base_url=BASE)
    assert response.headers["Location"] == "/scenarios/5"
    response = client.get("/lang/en", headers={"Referer": f"{BASE}/reviews/7/declare"}, base_url=BASE)
    assert response.headers["Location"] == "/reviews/7"


def test_the_legal_banner_from_a_page_rendered_for_a_form_goes_to_a_page_that_answers_get(client, make_user, login):
    """The consent banner's 同意 sends the browser to ``next``, the page it was on: not to a POST-only URL."""
    login(make_user("owner"))
    response = client.post("/legal/accept", data={"next": "/objections/4/answer"})
    assert response.status_code == 302 and response.headers["Location"] == "/objections"
    assert client.get(response.headers["Location"]).status_code == 200


def test_typed_account_addresses_lead_to_the_account_pages(client):
    """``/login`` and ``/register`` were 404s (the pages live under ``/auth``); ``next`` survives only when safe."""
    response = client.get("/login")
    assert response.status_code == 301 and response.headers["Location"].endswith("/auth/login")
    assert client.get("/register").headers["Location"].endswith("/auth/register")
    kept = client.get("/login?next=/my/applications")
    assert kept.status_code == 302 and kept.headers["Location"].endswith("/auth/login?next=/my/applications")
    dropped = client.get("/login?next=https://evil.example/")
    assert dropped.headers["Location"].endswith("/auth/login")
    assert client.get("/auth/login").status_code == 200
