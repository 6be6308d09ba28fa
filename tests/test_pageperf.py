"""Issue 13, the cost of ``/scenarios``: the WSGI-level cache hit, the per-version status counts, the
template helpers kept per process. Each keeps the behaviour of the slower path it replaces."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest

from tests.conftest import PASSWORD, make_test_app

#: Headers that differ between any two responses.
PER_RESPONSE = {"X-Request-ID", "Date"}


@pytest.fixture
def two_apps(app, database_url, tmp_path):
    """Two app instances on the test database (like two processes or hosts), caching per *request.param*."""
    from marketplace import pagecache

    def make(cache: bool):
        apps = [make_test_app(database_url, tmp_path / f"{name}-{cache}", PAGE_CACHE=cache) for name in ("a", "b")]
        for instance in apps:
            with instance.app_context():
                pagecache.clear()
        return apps

    return make


def _hooks_counter(instance) -> list[str]:
    """Record every ``before_request`` Flask runs on *instance* (appended directly: the app has served)."""
    seen: list[str] = []
    instance.before_request_funcs.setdefault(None, []).insert(0, lambda: seen.append("flask"))
    return seen


def test_a_cookie_less_hit_is_served_before_flask_with_the_same_headers(two_apps, make_scenario):
    first, _second = two_apps(True)
    make_scenario(title="快路径场景")
    anonymous = first.test_client()
    assert anonymous.get("/scenarios").headers["X-Page-Cache"] == "miss"
    seen = _hooks_counter(first)
    fast = anonymous.get("/scenarios", headers={"X-Request-ID": "req-42"})
    assert fast.headers["X-Page-Cache"] == "hit" and seen == []  # no session, login, CSRF or limiter work
    assert "快路径场景" in fast.get_data(as_text=True)
    assert fast.headers["X-Request-ID"] == "req-42"
    # A (meaningless) cookie sends the request through Flask's own hit path: same answer, same headers.
    with_cookie = first.test_client()
    with_cookie.set_cookie("session", "not-a-session")
    slow = with_cookie.get("/scenarios")
    assert slow.headers["X-Page-Cache"] == "hit" and seen == ["flask"]
    assert slow.get_data() == fast.get_data()
    assert ({k: v for k, v in fast.headers.items() if k not in PER_RESPONSE}
            == {k: v for k, v in slow.headers.items() if k not in PER_RESPONSE})
    # 304 on the fast path too, with the ETag stored with the entry.
    again = anonymous.get("/scenarios", headers={"If-None-Match": fast.headers["ETag"]})
    assert again.status_code == 304 and again.headers["X-Page-Cache"] == "hit" and seen == ["flask"]


def test_the_fast_path_sees_a_change_made_through_another_instance(two_apps, make_scenario):
    from marketplace.extensions import db
    from marketplace.models import Scenario

    first, second = two_apps(True)
    scenario = make_scenario(title="第一版标题")
    for url in ("/scenarios", f"/scenarios/{scenario.id}"):
        first.test_client().get(url)
        assert first.test_client().get(url).headers["X-Page-Cache"] == "hit"
    with second.test_request_context():
        db.session.get(Scenario, scenario.id).title = "第二版标题"
        db.session.commit()
    seen = _hooks_counter(first)
    for url in ("/scenarios", f"/scenarios/{scenario.id}"):
        page = first.test_client().get(url)
        assert page.headers["X-Page-Cache"] == "miss" and "第二版标题" in page.get_data(as_text=True)
    assert seen == ["flask", "flask"]


def test_signed_in_and_uncacheable_requests_never_take_the_fast_path(two_apps, make_scenario, make_user):
    first, _second = two_apps(True)
    make_scenario()
    first.test_client().get("/scenarios")
    user = make_user("enterprise")
    client = first.test_client()
    client.post("/auth/login", data={"email": user.email, "password": PASSWORD})
    seen = _hooks_counter(first)
    page = client.get("/scenarios")
    assert "X-Page-Cache" not in page.headers and seen == ["flask"]
    # Not cached at all: a clock-relative filter, another method, a page without the decorator.
    anonymous = first.test_client()
    assert "X-Page-Cache" not in anonymous.get("/scenarios?due_within=7").headers
    assert anonymous.head("/scenarios").status_code == 200
    assert "X-Page-Cache" not in anonymous.get("/auth/login").headers
    assert anonymous.get("/no-such-page").status_code == 404


def test_the_fast_path_is_off_with_page_cache_off(two_apps, make_scenario):
    first, _second = two_apps(False)
    make_scenario()
    first.test_client().get("/scenarios")
    seen = _hooks_counter(first)
    page = first.test_client().get("/scenarios")
    assert "X-Page-Cache" not in page.headers and seen == ["flask"]


def _counts(page) -> dict[str, int]:
    html = page.get_data(as_text=True)
    return {key: int(n) for key, n in re.findall(
        r'data-status-filter="(\w+)"[^>]*>[^<]*<span class="badge text-bg-light">(\d+)</span>', html)}


def test_kept_status_counts_follow_commits_of_other_instances(two_apps, make_scenario):
    """Uncached (``PAGE_CACHE=off``) the counts are kept per data version, which is read from the database
    on every request: a scenario added through another instance is counted at once."""
    from marketplace.extensions import db
    from marketplace.models import Scenario, ScenarioStatus

    first, second = two_apps(False)
    scenario = make_scenario()
    assert _counts(first.test_client().get("/scenarios"))["open"] == 1
    assert _counts(first.test_client().get("/scenarios"))["open"] == 1  # the kept counts
    make_scenario(title="第二个")
    assert _counts(first.test_client().get("/scenarios"))["open"] == 2
    with second.test_request_context():
        db.session.get(Scenario, scenario.id).status = ScenarioStatus.AWARDED
        db.session.commit()
    counts = _counts(first.test_client().get("/scenarios"))
    assert counts["open"] == 1 and counts["awarded"] == 1
    filtered = _counts(first.test_client().get("/scenarios?district=yuzhong&status=awarded"))
    assert filtered["open"] == 1 and filtered["awarded"] == 1


def test_kept_status_counts_move_with_the_clock(two_apps, make_scenario, monkeypatch):
    from marketplace import clock

    first, _second = two_apps(False)
    start = clock.now()
    make_scenario(deadline=start + timedelta(seconds=90))
    make_scenario(deadline=start + timedelta(days=9), title="晚截止")
    monkeypatch.setattr(clock, "now", lambda: start)
    client = first.test_client()
    assert _counts(client.get("/scenarios")) | {} == _counts(client.get("/scenarios"))
    assert _counts(client.get("/scenarios"))["open"] == 2
    monkeypatch.setattr(clock, "now", lambda: start + timedelta(seconds=91))
    counts = _counts(client.get("/scenarios"))
    assert counts["open"] == 1 and counts["closed"] == 1


def test_template_url_for_gives_what_flask_gives(app):
    from flask import url_for

    with app.test_request_context("/scenarios"):
        memo = app.jinja_env.globals["url_for"]
        for endpoint, values in [("static", {"filename": "css/app.css"}), ("main.index", {}),
                                 ("scenarios.export", {"fmt": "csv", "district": ["yuzhong", "jiangbei"]}),
                                 ("main.set_language", {"code": "en"}), ("main.index", {"_anchor": "x"}),
                                 ("main.index", {"_external": True})]:
            assert memo(endpoint, **values) == memo(endpoint, **values) == url_for(endpoint, **values)
    with app.test_request_context("/scenarios", base_url="http://localhost/site/"):
        assert memo("main.index") == url_for("main.index") == "/site/"


def test_template_gettext_escapes_and_formats_like_jinja(app):
    with app.test_request_context("/"):
        render = app.jinja_env.from_string
        assert render("{{ _('共 %(n)d 个场景', n=3) }}").render() == "共 3 个场景"
        assert render("{{ _('移除条件：%(f)s %(v)s', f='<b>', v='x') }}").render() == "移除条件：&lt;b&gt; x"
        assert render("{% autoescape false %}{{ _('移除条件：%(f)s %(v)s', f='<b>', v='x') }}"
                      "{% endautoescape %}").render() == "移除条件：<b> x"


def test_an_anonymous_scenario_page_sets_no_cookie_and_is_cached(two_apps, make_scenario, make_user):
    """The detail page built its question, answer and action forms for everyone: their CSRF token gave each
    anonymous visitor a session cookie, so the page was never cached. Signed-in users still get the forms."""
    first, _second = two_apps(True)
    scenario = make_scenario()
    anonymous = first.test_client()
    page = anonymous.get(f"/scenarios/{scenario.id}")
    assert page.status_code == 200 and not page.headers.getlist("Set-Cookie")
    assert page.headers["X-Page-Cache"] == "miss"
    assert anonymous.get(f"/scenarios/{scenario.id}").headers["X-Page-Cache"] == "hit"
    firm = make_user("enterprise")
    client = first.test_client()
    client.post("/auth/login", data={"email": firm.email, "password": PASSWORD})
    signed_in = client.get(f"/scenarios/{scenario.id}").get_data(as_text=True)
    assert 'name="csrf_token"' in signed_in and 'name="text"' in signed_in  # the question form
