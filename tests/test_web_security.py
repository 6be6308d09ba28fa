"""Security headers, no caching of private responses, no inline script, safe download names."""

from __future__ import annotations

import re
from urllib.parse import unquote

import pytest

from marketplace.config import PROJECT_ROOT
from tests.test_applications import fetch


def directives(response) -> dict[str, str]:
    policy = response.headers["Content-Security-Policy"]
    return {part.split()[0]: part.strip() for part in policy.split(";") if part.strip()}


@pytest.mark.parametrize("path", ["/", "/scenarios", "/auth/login", "/api/v1/scenarios", "/no-such-page"])
def test_public_responses_carry_the_security_headers(client, path):
    response = client.get(path)
    csp = directives(response)
    assert csp["script-src"] == "script-src 'self'"  # no 'unsafe-inline', no 'unsafe-eval'
    assert "'unsafe-inline'" not in csp["default-src"]
    assert csp["frame-ancestors"] == "frame-ancestors 'none'"
    assert csp["object-src"] == "object-src 'none'"
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "strict-origin-when-cross-origin"
    assert "Strict-Transport-Security" not in response.headers  # development: plain HTTP
    assert "no-store" not in response.headers.get("Cache-Control", "")  # public pages may be cached


def test_hsts_in_production(app):
    from flask import Response

    from marketplace.web_security import security_headers

    with app.test_request_context("/"):
        assert "Strict-Transport-Security" not in security_headers(Response(), production=False).headers
        headers = security_headers(Response(), production=True).headers
    assert headers["Strict-Transport-Security"].startswith("max-age=31536000")


def test_production_app_registers_hsts(tmp_path, database_url):
    from tests.conftest import make_test_app

    production = make_test_app(database_url, tmp_path, MARKETPLACE_ENV="production")
    response = production.test_client().get("/static/css/app.css")
    response.close()
    assert response.headers["Strict-Transport-Security"].startswith("max-age=")


@pytest.mark.parametrize("path", ["/dashboard", "/scenarios", "/notifications", "/api/v1/scenarios"])
def test_signed_in_responses_are_not_stored(client, login, make_user, path):
    login(make_user("city_staff"))
    response = client.get(path)
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "private, no-store"
    assert response.headers["X-Frame-Options"] == "DENY"


def test_static_files_stay_cacheable_when_signed_in(client, login, make_user):
    login(make_user("city_staff"))
    response = fetch(client, "/static/js/charts.js")
    assert "no-store" not in response.headers.get("Cache-Control", "")


def _evidence_scenario(make_scenario, filename):
    from marketplace.extensions import db

    scenario = make_scenario("draft")
    scenario.funding_evidence.filename = filename
    db.session.commit()
    return scenario


@pytest.mark.parametrize("filename", ["资金证明.pdf", '报价"单"\r\nSet-Cookie: x=1.pdf', "a\\b.pdf"])
def test_file_downloads_are_private_and_named_per_rfc_5987(client, login, make_user, make_scenario, filename):
    scenario = _evidence_scenario(make_scenario, filename)
    login(make_user("owner", organisation=scenario.owner))
    response = fetch(client, f"/files/{scenario.funding_evidence.id}")
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "private, no-store"  # sealed files too: never "no-cache"
    disposition = response.headers["Content-Disposition"]
    assert "\r" not in disposition and "\n" not in disposition and "Set-Cookie" not in response.headers
    fallback = re.search(r'filename="([^"]*)"', disposition).group(1)
    assert fallback.isascii() and fallback.endswith(".pdf") and "\\" not in fallback
    encoded = re.search(r"filename\*=UTF-8''(\S+)$", disposition).group(1)
    assert unquote(encoded) == filename.replace("\r", "").replace("\n", "")
    assert disposition.startswith("inline;")  # a PDF opens in the browser


def test_no_inline_script_or_event_handler_in_templates():
    offenders = []
    for path in (PROJECT_ROOT / "templates").rglob("*.html"):
        text = path.read_text(encoding="utf-8")
        for match in re.finditer(r"<script\b[^>]*>", text):
            if "src=" not in match.group(0):
                offenders.append(f"{path.name}: {match.group(0)}")
        offenders += [f"{path.name}: {m.group(0)}" for m in re.finditer(r"\son[a-z]+\s*=", text)]
        offenders += [f"{path.name}: javascript: URL" for _ in re.finditer(r"javascript:", text, re.I)]
    assert offenders == []
