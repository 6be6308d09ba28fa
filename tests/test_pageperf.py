"""Issue 13, the cost of ``/scenarios``: the WSGI-level cache hit, the per-version status counts, the
template helpers kept per process. Each keeps the behaviour of the slower path it replaces."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest

from tests.conftest import PASSWORD, make_test_app

#: Headers that differ between any two responses.
PER_RESPONSE = {"X-Request-ID"}


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


def test_cached_answers_leave_the_date_header_to_the_server(two_apps, make_scenario):
    """gunicorn and werkzeug's server add ``Date`` to every answer; a second one from the app (werkzeug's
    ``make_conditional``, or the fast path) made the field invalid on every cacheable page: miss, hit on
    either path, ``304`` and the other conditional requests."""
    first, _second = two_apps(True)
    make_scenario()
    anonymous = first.test_client()
    with_cookie = first.test_client()
    with_cookie.set_cookie("session", "not-a-session")
    answers = [anonymous.get("/api/v1/scenarios"), anonymous.get("/api/v1/scenarios"),
               with_cookie.get("/api/v1/scenarios")]
    etag = answers[0].headers["ETag"]
    answers += [anonymous.get("/api/v1/scenarios", headers={"If-None-Match": etag}),
                anonymous.get("/api/v1/scenarios", headers={"If-Modified-Since": "Sat, 05 Dec 2099 00:00:00 GMT"}),
                with_cookie.get("/api/v1/scenarios", headers={"If-None-Match": etag})]
    assert [a.headers["X-Page-Cache"] for a in answers] == ["miss", "hit", "hit", "hit", "hit", "hit"]
    assert [a.status_code for a in answers] == [200, 200, 200, 304, 200, 304]
    assert all("Date" not in a.headers for a in answers)


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


# ---------------------------------------------------------------- issue 13, third pass


def test_a_commit_from_another_process_is_seen_by_the_fast_path(two_apps, make_scenario, database_url):
    """The data version comes from a connection each process keeps (on SQLite: ``PRAGMA data_version``, which
    changes with any other connection's commit). A commit made by a separate OS process empties the hits."""
    import subprocess
    import sys

    first, _second = two_apps(True)
    make_scenario(title="进程外提交")
    client = first.test_client()
    assert client.get("/scenarios").headers["X-Page-Cache"] == "miss"
    assert client.get("/scenarios").headers["X-Page-Cache"] == "hit"
    bump = ("import sqlalchemy as sa, sys\n"
            "engine = sa.create_engine(sys.argv[1])\n"
            "with engine.begin() as conn:\n"
            "    conn.execute(sa.text(\"UPDATE match_state SET version = version + 1 WHERE key = 'pages'\"))\n")
    subprocess.run([sys.executable, "-c", bump, database_url], check=True, timeout=60)
    seen = _hooks_counter(first)
    assert client.get("/scenarios").headers["X-Page-Cache"] == "miss" and seen == ["flask"]
    assert client.get("/scenarios").headers["X-Page-Cache"] == "hit"


def test_the_kept_connection_reads_what_the_session_reads(two_apps, make_scenario):
    from marketplace import pagecache
    from marketplace.extensions import db

    first, _second = two_apps(True)
    with first.app_context():
        reader = first.extensions[pagecache._READER]
        assert reader.read() == pagecache.data_version(db.session) == "v0"  # no stamp yet
        make_scenario()
        assert reader.read() == pagecache.data_version(db.session) != "v0"
        # A connection lost behind the reader's back (a database restart): the read falls back, then reconnects.
        assert reader.open_count() == 1
        reader.free[0].connection.close()
        assert pagecache.data_version() == pagecache.data_version(db.session)
        assert reader.read() == pagecache.data_version(db.session)
        # Engine.dispose() (tests drop their database after it) closes what the reader kept.
        kept = [held.connection for held in reader.free]
        db.session.remove()  # its connection back to the pool first: dispose() closes only checked-in ones
        db.engine.dispose()
        assert kept and reader.open_count() == 0
        assert reader.read() == pagecache.data_version(db.session)


def test_the_reader_does_not_open_a_connection_per_thread(two_apps):
    """A threaded server (``flask run``, werkzeug) starts a thread per request: the reader's connections are
    shared, not kept per thread, so a hundred requests in a hundred threads use one connection."""
    import threading

    import sqlalchemy as sa

    from marketplace import pagecache
    from marketplace.extensions import db

    first, _second = two_apps(True)
    with first.app_context():
        reader = first.extensions[pagecache._READER]
        engine = db.engine
    connects = []

    def count(*_args):
        connects.append(1)

    sa.event.listen(engine, "connect", count)
    try:
        answers = []
        for _ in range(100):
            thread = threading.Thread(target=lambda: answers.append(reader.read()))
            thread.start()
            thread.join()
        assert len(answers) == 100 and len(set(answers)) == 1
        assert len(connects) <= 1 and reader.open_count() <= reader.KEEP
    finally:
        sa.event.remove(engine, "connect", count)


def test_fast_path_conditional_answers_match_flask(two_apps, make_scenario):
    """``If-None-Match`` is answered on the fast path with the headers Flask's path gives; other conditions
    (``If-Match`` …) go through werkzeug's ``make_conditional`` there too."""
    first, _second = two_apps(True)
    make_scenario()
    anonymous = first.test_client()
    etag = anonymous.get("/scenarios").headers["ETag"]
    with_cookie = first.test_client()
    with_cookie.set_cookie("session", "not-a-session")
    seen = _hooks_counter(first)
    for headers, status in (({"If-None-Match": etag}, 304), ({"If-None-Match": '"other"'}, 200),
                            ({"If-None-Match": f'W/{etag}, "x"'}, 304), ({"If-Match": '"other"'}, 412),
                            ({"If-None-Match": etag, "If-Match": etag}, 200)):  # werkzeug: If-Match wins
        fast, slow = anonymous.get("/scenarios", headers=headers), with_cookie.get("/scenarios", headers=headers)
        assert fast.status_code == slow.status_code == status, headers
        assert fast.get_data() == slow.get_data()
        assert ({k: v for k, v in fast.headers.items() if k not in PER_RESPONSE}
                == {k: v for k, v in slow.headers.items() if k not in PER_RESPONSE}), headers
    assert seen == ["flask"] * 5  # only the requests with the cookie


def test_the_list_page_runs_one_statement_in_steady_state(app, client, make_scenario):
    """The page's ids, their columns, owners and batches come in one statement; the data version is read on the
    process's own connection; filter lists and counts are kept per data version."""
    from marketplace.extensions import db
    from marketplace.models import Batch, BatchLevel, BatchStage
    from tests.test_list_queries import counted

    first = make_scenario(title="两个批次的场景")
    extra = Batch(name="第二个批次", level=BatchLevel.CITY, stage=BatchStage.COLLECT,
                  published_on=first.batches[0].published_on)
    first.batches.append(extra)
    db.session.commit()
    make_scenario(title="另一个场景")
    client.get("/scenarios")
    with counted(db.engine) as statements:
        html = client.get("/scenarios").get_data(as_text=True)
    assert len(statements) == 1, statements
    card = html[html.index(f'data-scenario-id="{first.id}"'):]
    card = card[:card.index("</article>")]
    assert card.index(first.batches[0].name) < card.index("第二个批次")
    assert html.count('class="card mb-3 scenario-card"') == 2


def test_a_cookie_less_request_builds_no_session_signer(app, client, monkeypatch):
    """Reading an absent session cookie needs no signer (itsdangerous); a request with one still verifies it."""
    calls = []
    interface = app.session_interface
    original = type(interface).get_signing_serializer
    monkeypatch.setattr(type(interface), "get_signing_serializer",
                        lambda self, app_: calls.append(1) or original(self, app_))
    page = client.get("/scenarios")
    assert page.status_code == 200 and not page.headers.getlist("Set-Cookie") and calls == []
    client.get("/lang/en")  # sets the language in the session: signed
    written = len(calls)
    assert written and client.get("/scenarios").status_code == 200
    assert len(calls) > written  # the cookie sent back is verified


def test_workers_are_not_recycled_every_few_thousand_requests():
    """A new worker costs seconds of CPU (imports, app, empty caches): recycling every 2000 requests cost more
    than the requests at a few hundred per second."""
    import runpy
    from pathlib import Path

    settings = runpy.run_path(str(Path(__file__).resolve().parent.parent / "gunicorn.conf.py"))
    assert settings["max_requests"] >= 50_000
