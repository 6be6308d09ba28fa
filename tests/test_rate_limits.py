"""Shared rate limits (issue 13.2; Flask-Limiter): sign-in, registration, reset, questions, search and
the anonymous API answer 429 with Retry-After once over their limit; with Redis the count is shared by
every app server. The suite runs with limits off (testing config) except here."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from marketplace.extensions import OBJECTIONS, limiter
from tests.conftest import PASSWORD, make_test_app

LIMITS = {
    "RATELIMIT_ENABLED": True, "RATELIMIT_LOGIN": "2/minute", "RATELIMIT_REGISTER": "2/minute",
    "RATELIMIT_PASSWORD_RESET": "2/minute", "RATELIMIT_QUESTIONS": "2/minute", "RATELIMIT_SEARCH": "2/minute",
    "RATELIMIT_API": "2/minute",
}


@pytest.fixture(autouse=True)
def _limits_off_again():
    """The Limiter object is shared by every app of the process, and the last ``init_app`` decides
    whether it is on: leave it off, as the suite's config has it."""
    yield
    limiter.enabled = False


@pytest.fixture
def limited_app(database_url, tmp_path):
    return make_test_app(database_url, tmp_path, **LIMITS)  # a fresh memory store per app


CASES = [
    ("post", "/auth/login", {"email": "a@b.cq", "password": "x"}),
    ("post", "/auth/register/enterprise", {}),
    ("post", "/auth/register/owner", {}),
    ("post", "/auth/reset", {"email": "a@b.cq"}),
    ("post", "/scenarios/1/questions", {"text": "问题的内容"}),
    ("get", "/search?q=工业", None),
]


@pytest.mark.parametrize("method, path, data", CASES, ids=[c[1] for c in CASES])
def test_pages_over_their_limit_get_429_with_retry_after_and_a_chinese_page(limited_app, method, path, data):
    client = limited_app.test_client()
    for _ in range(2):
        assert getattr(client, method)(path, data=data).status_code != 429
    response = getattr(client, method)(path, data=data)
    assert response.status_code == 429
    assert 0 < int(response.headers["Retry-After"]) <= 60
    html = response.get_data(as_text=True)
    assert "请求过于频繁" in html and "<html" in html
    # another client address has its own allowance
    assert getattr(client, method)(path, data=data, environ_base={"REMOTE_ADDR": "10.9.8.7"}).status_code != 429


def test_the_anonymous_api_is_limited_per_client_with_the_json_envelope(limited_app, make_user):
    client = limited_app.test_client()
    for _ in range(2):
        assert client.get("/api/v1/scenarios").status_code == 200
    response = client.get("/api/v1/scenarios")
    assert response.status_code == 429 and int(response.headers["Retry-After"]) > 0
    assert response.get_json()["error"]["status"] == 429
    # one allowance for the whole API, not one per route
    for other in ("/api/v1/enterprises", "/api/v1/statistics", "/api/v1/openapi.json", "/api/v1/ocds/bulk"):
        assert client.get(other).status_code == 429, other
    # signed-in users are not held to the anonymous allowance
    user = make_user("owner")
    signed_in = limited_app.test_client()
    assert signed_in.post("/auth/login", data={"email": user.email, "password": PASSWORD},
                          environ_base={"REMOTE_ADDR": "10.0.0.5"}).status_code == 302
    for _ in range(4):
        assert signed_in.get("/api/v1/scenarios", environ_base={"REMOTE_ADDR": "10.0.0.5"}).status_code == 200


def test_limits_are_off_in_the_suite_and_named_by_settings(app):
    assert app.config["RATELIMIT_ENABLED"] is False
    assert app.config[OBJECTIONS] == "5/minute;30/hour"  # ready for the objections form: @rate_limit(OBJECTIONS)


_SECOND_INSTANCE = r"""
import json, sys
from pathlib import Path
from marketplace import create_app
from marketplace.config import testing_overrides
results = []
for n, settings in enumerate(json.loads(sys.argv[3])):  # one app after the other (the last init_app rules)
    config = testing_overrides(sys.argv[1], Path(sys.argv[2]) / str(n))
    config.update(settings)
    client = create_app(config).test_client()
    search = client.get("/search?q=工业").status_code
    login = client.post("/auth/login", data={"email": sys.argv[4], "password": sys.argv[5]}).status_code
    results.append({"search": search, "login": login})
print(json.dumps(results))
"""


def _second_instance(database_url, tmp_path, configs, email):
    """Another app server: a separate process with its own memory, on the same database and store; one app
    for each of *configs*, made and asked in turn (one interpreter start: the costly part)."""
    result = subprocess.run(
        [sys.executable, "-c", _SECOND_INSTANCE, database_url, str(tmp_path / "second"), json.dumps(configs),
         email, PASSWORD],
        capture_output=True, text=True, timeout=120, env={**os.environ, "MARKETPLACE_INSTANCE": str(tmp_path)},
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


@pytest.mark.skipif(not os.environ.get("TEST_REDIS_URL"),
                    reason="needs a Redis server: set TEST_REDIS_URL (e.g. redis://127.0.0.1:6379/4)")
def test_a_limit_reached_on_one_app_server_is_enforced_on_another(database_url, tmp_path, make_user):
    import redis

    user = make_user("enterprise")
    store = redis.Redis.from_url(os.environ["TEST_REDIS_URL"])
    for pattern in ("LIMITS:LIMITER/mp/*", "LIMITS:mp:*"):  # the counts of earlier runs
        for key in store.scan_iter(pattern):
            store.delete(key)
    config = {**LIMITS, "RATELIMIT_STORAGE_URI": os.environ["TEST_REDIS_URL"], "RATELIMIT_LOGIN": "100/minute",
              "LOGIN_DELAY_SECONDS": 120}  # the second process takes seconds to start
    first = make_test_app(database_url, tmp_path / "first", **config)
    client = first.test_client()
    for _ in range(2):
        assert client.get("/search?q=工业").status_code == 200
    for _ in range(first.config["LOGIN_MAX_FAILURES"]):  # sign-in failures: the same store
        client.post("/auth/login", data={"email": user.email, "password": "wrong-password-1"})
    limiter.enabled = False
    # Then, in the same process, the same run with each server's own memory: it would not have noticed (the
    # test can fail).
    separate = {**config, "RATELIMIT_STORAGE_URI": "memory://"}
    shared, own = _second_instance(database_url, tmp_path, [config, separate], user.email)
    assert shared == {"search": 429, "login": 429}
    assert own == {"search": 200, "login": 302}


def test_an_unreachable_store_degrades_to_process_memory(database_url, tmp_path, make_user):
    """Redis down: sign-in and limits keep working on this process's memory (no 500)."""
    user = make_user("enterprise")
    application = make_test_app(database_url, tmp_path, **LIMITS, RATELIMIT_STORAGE_URI="redis://127.0.0.1:1/0")
    client = application.test_client()
    assert client.post("/auth/login", data={"email": user.email, "password": "wrong-password-1"}).status_code == 200
    assert client.post("/auth/login", data={"email": user.email, "password": PASSWORD}).status_code == 302
    assert client.get("/search?q=工业").status_code == 200
