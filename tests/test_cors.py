"""Cross-origin reads of the public API (marketplace.cors): ``Access-Control-Allow-Origin: *`` on anonymous
answers of the open endpoints, cached or not; never on personal endpoints, signed-in answers, requests with the
session cookie or ``Authorization``; preflights answered; never ``Access-Control-Allow-Credentials``."""

from __future__ import annotations

import pytest

from marketplace import cors
from tests.conftest import PASSWORD, make_test_app

ORIGIN = "https://dashboard.example.org"
ACAO = "Access-Control-Allow-Origin"
ACAC = "Access-Control-Allow-Credentials"
#: The endpoints whose answers belong to the signed-in user: never readable by another site.
PERSONAL = {"api.scenario_suggestions", "api.my_recommendations", "api.scenario_applications"}


def public_urls(scenario) -> list[str]:
    year = scenario.published_at.year
    return ["/api/v1/scenarios", f"/api/v1/scenarios/{scenario.id}", "/api/v1/enterprises", "/api/v1/statistics",
            "/api/v1/search?q=场景", "/api/v1/publicity", "/api/v1/demonstrations", "/api/v1/openapi.json",
            "/api/v1/ocds/releases", "/api/v1/ocds/bulk", f"/api/v1/ocds/bulk/{year}.csv"]


def personal_urls(scenario) -> list[str]:
    return [f"/api/v1/scenarios/{scenario.id}/suggestions", "/api/v1/my/recommendations",
            f"/api/v1/scenarios/{scenario.id}/applications"]


def _no_cors(response) -> None:
    assert ACAO not in response.headers
    assert "Access-Control-Allow-Methods" not in response.headers
    assert ACAC not in response.headers


def _open(response) -> None:
    assert response.headers[ACAO] == "*"
    assert ACAC not in response.headers
    assert {"cookie", "authorization"} <= {v.lower() for v in response.vary}


def test_every_api_endpoint_is_classified(app):
    """A new API view must say whether other sites may read it (this test names the personal ones)."""
    api = {rule.endpoint for rule in app.url_map.iter_rules() if rule.endpoint.startswith("api.")}
    opened = {endpoint for endpoint in api if cors.is_open(app.view_functions[endpoint])}
    assert api - opened == PERSONAL
    assert not any(cors.is_open(view) for endpoint, view in app.view_functions.items()
                   if not endpoint.startswith("api."))


def test_anonymous_answers_of_public_endpoints_are_readable_by_any_site(client, make_scenario):
    scenario = make_scenario()
    for url in public_urls(scenario):
        response = client.get(url, headers={"Origin": ORIGIN})
        assert response.status_code == 200, url
        _open(response)
        assert "ETag" in response.headers[("Access-Control-Expose-Headers")]
        _open(client.head(url, headers={"Origin": ORIGIN}))
    # errors too: the page can read the message of its bad request
    for url in ("/api/v1/scenarios/999999", "/api/v1/scenarios?per_page=9999"):
        response = client.get(url)
        assert response.status_code in (400, 404)
        _open(response)


def test_pages_and_personal_endpoints_are_not(client, make_scenario):
    scenario = make_scenario()
    for url in ["/scenarios", f"/scenarios/{scenario.id}", "/open-data", "/api/docs", *personal_urls(scenario)]:
        _no_cors(client.get(url, headers={"Origin": ORIGIN}))
        _no_cors(client.options(url, headers={"Origin": ORIGIN, "Access-Control-Request-Method": "GET"}))


@pytest.mark.parametrize("role", ["owner", "enterprise", "city_staff"])
def test_signed_in_answers_are_never_readable_by_other_sites(client, make_scenario, make_user, login, role):
    scenario = make_scenario()
    user = make_user(role)
    login(user)
    for url in public_urls(scenario) + personal_urls(scenario):
        _no_cors(client.get(url, headers={"Origin": ORIGIN}))


def test_requests_with_credentials_get_no_header(client, make_scenario):
    scenario = make_scenario()
    url = f"/api/v1/scenarios/{scenario.id}"
    _no_cors(client.get(url, headers={"Origin": ORIGIN, "Authorization": "Bearer abc"}))
    client.set_cookie("session", "anonymous-but-a-cookie")  # not a valid session: the visitor stays anonymous
    response = client.get(url, headers={"Origin": ORIGIN})
    _no_cors(response)
    assert "Cookie" in response.vary


def test_preflight_of_public_endpoints(client, make_scenario):
    scenario = make_scenario()
    for url in public_urls(scenario):
        response = client.options(url, headers={"Origin": ORIGIN, "Access-Control-Request-Method": "GET",
                                                "Access-Control-Request-Headers": "if-none-match"})
        assert response.status_code in (200, 204), url
        assert response.headers[ACAO] == "*"
        assert set(response.headers["Access-Control-Allow-Methods"].replace(" ", "").split(",")) == {"GET", "HEAD"}
        allowed = response.headers["Access-Control-Allow-Headers"].lower()
        assert "if-none-match" in allowed and "authorization" not in allowed
        assert int(response.headers["Access-Control-Max-Age"]) > 0
        assert ACAC not in response.headers
    # a plain OPTIONS (not a preflight) only lists the methods
    assert ACAO not in client.options("/api/v1/scenarios").headers


@pytest.fixture
def cached_app(app, database_url, tmp_path):
    from marketplace import pagecache

    instance = make_test_app(database_url, tmp_path / "cors", PAGE_CACHE=True)
    with instance.app_context():
        pagecache.clear()
    return instance


def test_cached_answers_carry_the_header_on_both_paths(cached_app, make_scenario, monkeypatch):
    """Miss, hit on the WSGI fast path, its 304, and a hit served by Flask (fast path skipped) all carry it."""
    from marketplace import pagecache

    scenario = make_scenario()
    client = cached_app.test_client()
    url = f"/api/v1/scenarios/{scenario.id}"
    first = client.get(url, headers={"Origin": ORIGIN})
    assert first.headers["X-Page-Cache"] == "miss"
    _open(first)
    hit = client.get(url, headers={"Origin": ORIGIN})
    assert hit.headers["X-Page-Cache"] == "hit"
    _open(hit)
    assert hit.headers.getlist(ACAO) == ["*"]
    not_modified = client.get(url, headers={"Origin": ORIGIN, "If-None-Match": hit.headers["ETag"]})
    assert not_modified.status_code == 304
    _open(not_modified)
    since = client.get(url, headers={"If-Modified-Since": "Sat, 01 Jan 2000 00:00:00 GMT"})  # werkzeug's branch
    _open(since)
    # a hit through Flask's before_request
    monkeypatch.setattr(pagecache.HitMiddleware, "hit", lambda self, environ: None)
    through_flask = client.get(url, headers={"Origin": ORIGIN})
    assert through_flask.headers["X-Page-Cache"] == "hit"
    _open(through_flask)


def test_the_header_is_never_stored_with_a_cached_page(cached_app, make_scenario):
    """An entry filled by a request with a session cookie (no header) still gives cookie-less readers the header,
    and an entry filled by a cookie-less request never gives it to one with the cookie."""
    scenario = make_scenario()
    with_cookie = cached_app.test_client()
    with_cookie.set_cookie("session", "anonymous-but-a-cookie")  # an anonymous visitor's (invalid) session cookie
    url = f"/api/v1/scenarios/{scenario.id}"
    filled = with_cookie.get(url)
    assert filled.headers["X-Page-Cache"] == "miss"
    _no_cors(filled)
    anonymous = cached_app.test_client().get(url)
    assert anonymous.headers["X-Page-Cache"] == "hit"
    _open(anonymous)
    again = with_cookie.get(url)
    assert again.headers["X-Page-Cache"] == "hit"
    _no_cors(again)
    # Authorization skips the fast path; the Flask hit gives no header either
    _no_cors(cached_app.test_client().get(url, headers={"Authorization": "Basic eDp5"}))


def test_signed_in_user_of_a_cached_app_gets_no_header(cached_app, make_scenario, make_user):
    scenario = make_scenario()
    url = f"/api/v1/scenarios/{scenario.id}"
    cached_app.test_client().get(url)  # an entry exists
    user = make_user("enterprise")
    client = cached_app.test_client()
    client.post("/auth/login", data={"email": user.email, "password": PASSWORD})
    response = client.get(url)
    assert response.status_code == 200 and "X-Page-Cache" not in response.headers
    _no_cors(response)
