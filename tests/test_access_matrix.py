"""The access matrix, generated from ``app.url_map``: every route × every role × anonymous.

Guarded views record the roles they admit (``view.allowed_roles``, set by
:func:`marketplace.permissions.roles_required`). For each route and method:

* anonymous visitors are sent to the sign-in page (pages) or get 401 (``/api/``);
* a role the view does not admit gets 403 — before the view reads anything, so ids need not exist;
* a role the view admits is never refused by the guard (no 401/403, no sign-in redirect, no 5xx):
  parameter-less pages answer 200 (or a redirect), pages of objects that do not exist 404.

A view without a guard must be listed in :data:`PUBLIC` below: adding a route without deciding who may
use it fails this test.
"""

from __future__ import annotations

import pytest
from werkzeug.routing import AnyConverter, IntegerConverter

ROLES = ["owner", "enterprise", "district_staff", "city_staff", "expert"]

#: Endpoints open to everyone; object-level rules inside them are tested in each area's tests.
PUBLIC = {
    "main.index", "main.favicon", "health.healthz", "health.readyz", "main.set_language", "main.shortcut", "main.download",
    "auth.login", "auth.logout", "auth.register", "auth.register_enterprise", "auth.register_owner",
    "auth.request_reset", "auth.reset_password", "auth.confirm_email", "auth.confirm_email_change",
    "scenarios.index", "scenarios.detail", "scenarios.batches", "scenarios.batch", "scenarios.export",
    "scenarios.print_view", "scenarios.document",
    "enterprises.index", "enterprises.detail",
    "showcase.index", "showcase.detail",
    "applications.publicity_index", "applications.publicity_notice", "api.publicity_notices",
    "statistics.public", "statistics.public_data", "statistics.public_export", "statistics.public_records",
    "search_ui.index",
    "api.scenarios", "api.scenario", "api.enterprises", "api.enterprise", "api.search_records", "api.statistics",
    "api.demonstrations", "api.appraisal",
    "api.ocds_releases", "api.ocds_record", "api.ocds_bulk_index", "api.ocds_bulk_jsonl", "api.ocds_bulk_csv",
    "api.openapi_json", "opendata.index", "opendata.api_docs",
    "legal.document",
}

#: Admitted roles that an object-level rule may still refuse with 403 on the matrix's fresh users.
OBJECT_LEVEL_403 = {
    "api.my_recommendations": "a firm needs a verified profile",
}

#: Sample values for string arguments (the guard runs before the view reads them).
SAMPLE = {"code": "en", "fmt": "csv", "decision": "verify", "action": "submit", "district": "yuzhong",
          "token": "not-a-token", "year": 2025}

MISSING_ID = 2_000_000_000


def _url(app, rule) -> str:
    values = {}
    for name, converter in rule._converters.items():
        if isinstance(converter, AnyConverter):
            values[name] = sorted(converter.items)[0]
        elif isinstance(converter, IntegerConverter):
            values[name] = SAMPLE.get(name, MISSING_ID)
        else:
            values[name] = SAMPLE.get(name, "x")
    with app.test_request_context():
        from flask import url_for

        return url_for(rule.endpoint, **values)


def routes(app):
    """(endpoint, method, url, allowed roles or None) for every route but static files and logout."""
    found = []
    for rule in app.url_map.iter_rules():
        if rule.endpoint == "static":
            continue
        roles = getattr(app.view_functions[rule.endpoint], "allowed_roles", None)
        for method in sorted(rule.methods & {"GET", "POST"}):
            found.append((rule.endpoint, method, _url(app, rule), roles))
    return found


def _call(client, method: str, url: str):
    return client.get(url) if method == "GET" else client.post(url, data={})


def _login_redirect(response) -> bool:
    return response.status_code == 302 and "/auth/login" in response.headers.get("Location", "")


def test_every_unguarded_route_is_declared_public(app):
    unguarded = {endpoint for endpoint, _m, _u, roles in routes(app) if roles is None}
    assert unguarded - PUBLIC == set(), "guard these views or list them in PUBLIC"
    assert PUBLIC - unguarded == set(), "listed as public but guarded (or gone)"


def test_anonymous_visitors_are_sent_to_sign_in(app, client):
    wrong = []
    for endpoint, method, url, roles in routes(app):
        if roles is None:
            continue
        response = _call(client, method, url)
        json_resource = url.startswith("/api/") or url.split("?")[0].endswith(".json")
        expected = response.status_code == 401 if json_resource else _login_redirect(response)
        if not expected:
            wrong.append((endpoint, method, url, response.status_code))
    assert wrong == []


@pytest.mark.parametrize("role", ROLES)
def test_every_role_reaches_only_its_routes(app, client, make_user, login, role):
    user = make_user(role)
    login(user)
    wrong = []
    for endpoint, method, url, roles in routes(app):
        if endpoint in ("auth.logout", "auth.end_sessions"):  # they end the session the walk uses
            continue
        response = _call(client, method, url)
        status = response.status_code
        if roles is None:
            ok = status < 500
        elif user.role in roles:
            refused = (401,) if endpoint in OBJECT_LEVEL_403 else (401, 403)
            ok = status < 500 and status not in refused and not _login_redirect(response)
            if ok and method == "GET" and "<" not in str(app.url_map._rules_by_endpoint[endpoint][0]):
                ok = status in (200, 302, 303, 400, *refused[1:])  # 400: a required parameter is missing
                ok = ok or (endpoint in OBJECT_LEVEL_403 and status == 403)
        else:
            ok = status == 403
        if not ok:
            wrong.append((endpoint, method, url, status))
    assert wrong == []
    # Signing out is a POST for everyone (the menu posts a small form).
    assert client.post("/auth/logout").status_code == 302
