"""Page caching (marketplace.pagecache): shared data version, lifetimes, ETags, who never gets a cached page."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa

from tests.conftest import PASSWORD, make_test_app


@pytest.fixture
def cached_apps(app, database_url, tmp_path):
    """Two app instances with page caching on, on the test database (like two processes or hosts)."""
    from marketplace import pagecache

    apps = [make_test_app(database_url, tmp_path / name, PAGE_CACHE=True) for name in ("a", "b")]
    for instance in apps:
        with instance.app_context():
            pagecache.clear()
    return apps


def _get(application, url, **kwargs):
    return application.test_client().get(url, **kwargs)


def _title_on(instance, url):
    response = _get(instance, url)
    if url.startswith("/api/"):
        data = response.get_json()
        return (data["items"][0] if "items" in data else data)["title"], response.headers.get("X-Page-Cache")
    return response.get_data(as_text=True), response.headers.get("X-Page-Cache")


def test_a_change_through_one_instance_is_seen_by_the_other(cached_apps, make_scenario):
    first, second = cached_apps
    scenario = make_scenario(title="第一版标题")
    urls = ["/scenarios", f"/scenarios/{scenario.id}", "/api/v1/scenarios", f"/api/v1/scenarios/{scenario.id}", "/"]
    for instance in cached_apps:
        for url in urls:
            assert _title_on(instance, url)[1] == "miss"
            text, state = _title_on(instance, url)
            assert state == "hit" and ("第一版标题" in text or url == "/")
    from marketplace.extensions import db
    from marketplace.models import Scenario

    with first.test_request_context():
        row = db.session.get(Scenario, scenario.id)
        row.title = "第二版标题"
        db.session.commit()  # the unit of work's commit, as at the end of a POST

    for instance in (second, first):
        for url in urls:
            text, state = _title_on(instance, url)
            assert state == "miss" and ("第二版标题" in text or url == "/")


def test_a_post_request_bumps_the_version(cached_apps, make_scenario, make_user):
    first, second = cached_apps
    scenario = make_scenario()
    from marketplace.extensions import db
    from marketplace.models import Follow

    before = _get(second, f"/scenarios/{scenario.id}")
    user = make_user("enterprise")
    client = first.test_client()
    client.post("/auth/login", data={"email": user.email, "password": PASSWORD})
    response = client.post(f"/notifications/follows/{scenario.id}")
    assert response.status_code in (302, 303)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Follow)) == 1
    after = _get(second, f"/scenarios/{scenario.id}")
    assert after.headers["X-Page-Cache"] == "miss"
    assert before.headers["ETag"] != "" and after.status_code == 200


def test_a_withdrawal_replaces_the_cached_scenario_page_with_its_public_trace(cached_apps, make_scenario, make_user):
    """The owner's withdraw POST (one instance) bumps the data version: the other serves the 已撤回 page at once."""
    first, second = cached_apps
    scenario = make_scenario(title="撤回前的缓存页面")
    owner = make_user("owner", organisation=scenario.owner)
    url = f"/scenarios/{scenario.id}"
    for _round in range(2):
        before = _get(second, url)
    assert before.headers["X-Page-Cache"] == "hit" and "withdrawn-banner" not in before.get_data(as_text=True)
    client = first.test_client()
    client.post("/auth/login", data={"email": owner.email, "password": PASSWORD})
    assert client.post(f"{url}/withdraw", data={"reason": "资金调整，暂停实施。"}).status_code in (302, 303)
    after = _get(second, url)
    assert after.status_code == 200 and after.headers["X-Page-Cache"] == "miss"
    html = after.get_data(as_text=True)
    assert 'id="withdrawn-banner"' in html and "资金调整，暂停实施。" in html
    assert _get(second, url).headers["X-Page-Cache"] == "hit"
    assert "撤回前的缓存页面" not in _get(second, "/scenarios").get_data(as_text=True)


def test_signing_in_alone_does_not_change_the_version(cached_apps, make_scenario, make_user):
    """Login attempts and audit rows are private: the public pages stay cached."""
    first, _second = cached_apps
    make_scenario()
    user = make_user("enterprise")
    _get(first, "/scenarios")
    client = first.test_client()
    client.post("/auth/login", data={"email": user.email, "password": "wrong password"})
    assert _get(first, "/scenarios").headers["X-Page-Cache"] == "hit"


def test_signed_in_users_never_get_or_fill_a_cached_page(cached_apps, make_scenario, make_user):
    first, _second = cached_apps
    make_scenario()
    assert _get(first, "/scenarios").headers["X-Page-Cache"] == "miss"
    user = make_user("enterprise")
    client = first.test_client()
    client.post("/auth/login", data={"email": user.email, "password": PASSWORD})
    page = client.get("/scenarios")
    assert "X-Page-Cache" not in page.headers
    assert "保存此搜索" in page.get_data(as_text=True)  # the signed-in form, not the anonymous page
    assert "ETag" not in page.headers


def test_flashed_messages_and_errors_are_not_cached(cached_apps, make_scenario):
    first, _second = cached_apps
    make_scenario()
    client = first.test_client()
    refused = client.get("/scenarios?status=nonsense")  # a refused filter is flashed on the page
    assert "X-Page-Cache" not in refused.headers
    assert "X-Page-Cache" not in client.get("/scenarios?status=nonsense").headers
    assert _get(first, "/scenarios/2000000000").status_code == 404
    assert "X-Page-Cache" not in _get(first, "/scenarios/2000000000").headers
    # A flash waiting in the session (set by an earlier request) is not answered from the cache.
    _get(first, "/scenarios")
    with client.session_transaction() as sess:
        sess["_flashes"] = [("info", "一条提示")]
    page = client.get("/scenarios")
    assert "X-Page-Cache" not in page.headers and "一条提示" in page.get_data(as_text=True)


def test_etag_and_304(cached_apps, make_scenario):
    first, second = cached_apps
    make_scenario()
    page = _get(first, "/scenarios")
    etag = page.headers["ETag"]
    assert page.headers["Cache-Control"] == "no-cache"
    for instance in (first, second):  # a hit (first) and a freshly rendered page (second) both answer 304
        again = _get(instance, "/scenarios", headers={"If-None-Match": etag})
        assert again.status_code == 304 and again.get_data() == b""
    assert _get(first, "/scenarios", headers={"If-None-Match": '"other"'}).status_code == 200


def test_key_has_query_and_language(cached_apps, make_scenario):
    first, _second = cached_apps
    make_scenario()
    assert _get(first, "/scenarios?sort=deadline&page=1").headers["X-Page-Cache"] == "miss"
    assert _get(first, "/scenarios?page=1&sort=deadline").headers["X-Page-Cache"] == "hit"
    client = first.test_client()
    client.get("/lang/en")
    # A response that touches the session (e.g. sets a cookie) is never kept: it may take a request to settle.
    english = client.get("/scenarios")
    if english.headers.get("X-Page-Cache") != "miss":
        assert "X-Page-Cache" not in english.headers
        english = client.get("/scenarios")
    assert english.headers["X-Page-Cache"] == "miss"
    assert client.get("/scenarios").headers["X-Page-Cache"] == "hit"
    assert english.get_data() != _get(first, "/scenarios").get_data()


@pytest.mark.parametrize("url", ["/api/v1/scenarios", "/api/v1/scenarios/{id}", "/scenarios/{id}"])
def test_a_forged_host_header_never_poisons_the_page_served_to_others(cached_apps, make_scenario, url):
    """Pages and API records hold absolute URLs built from the request's Host (nginx passes any Host to
    its default server): the host is part of the key, so an entry filled with a forged Host is served
    only to requests carrying that Host."""
    first, _second = cached_apps
    url = url.format(id=make_scenario().id)
    forged = _get(first, url, headers={"Host": "evil.example"})
    assert forged.status_code == 200 and forged.headers["X-Page-Cache"] == "miss"
    assert _get(first, url, headers={"Host": "evil.example"}).headers["X-Page-Cache"] == "hit"
    for _round in range(2):  # the first request fills the entry for the real host, the second is its hit
        page = _get(first, url)
        assert page.status_code == 200 and b"evil.example" not in page.get_data()
    assert page.headers["X-Page-Cache"] == "hit"
    assert _get(first, url, base_url="https://localhost").headers["X-Page-Cache"] == "miss"  # scheme too


def test_no_entry_outlives_the_next_deadline(cached_apps, make_scenario, monkeypatch):
    from marketplace import clock

    first, _second = cached_apps
    start = clock.now()
    scenario = make_scenario(deadline=start + timedelta(seconds=90))
    monkeypatch.setattr(clock, "now", lambda: start)
    page = _get(first, f"/scenarios/{scenario.id}")
    assert page.headers["X-Page-Cache"] == "miss" and 'data-status="published"' in page.get_data(as_text=True)
    assert _get(first, f"/scenarios/{scenario.id}").headers["X-Page-Cache"] == "hit"
    later = start + timedelta(seconds=91)
    monkeypatch.setattr(clock, "now", lambda: later)
    page = _get(first, f"/scenarios/{scenario.id}")
    assert page.headers["X-Page-Cache"] == "miss"
    assert 'data-status="closed"' in page.get_data(as_text=True)


def test_lifetime_is_bounded_by_deadlines_and_question_cutoffs(cached_apps, make_scenario):
    from marketplace import clock, pagecache
    from marketplace.extensions import db

    first, _second = cached_apps
    now = clock.now()
    with first.app_context():
        assert pagecache.next_change_at(db.session, now) is None
    make_scenario(deadline=now + timedelta(days=10))
    make_scenario(deadline=now + timedelta(hours=30), title="快截止")
    make_scenario(status="draft", deadline=now + timedelta(minutes=5))
    with first.app_context():
        # 30 h away: inside the 48 h question cut-off already, so the deadline itself is next.
        assert pagecache.next_change_at(db.session, now) == now + timedelta(hours=30)
        assert pagecache.next_change_at(db.session, now + timedelta(hours=31)) == now + timedelta(days=8)


def test_lifetime_is_bounded_by_the_end_of_an_open_notice(cached_apps, make_scenario):
    """An award becomes final when its 公示 ends: no cached page outlives that moment."""
    from marketplace import clock, pagecache
    from marketplace.extensions import db
    from marketplace.models import PublicityNotice

    first, _second = cached_apps
    now = clock.now()
    scenario = make_scenario(deadline=now - timedelta(days=1))
    withdrawn = make_scenario(deadline=now - timedelta(days=2), title="已撤回")
    db.session.add_all([
        PublicityNotice(scenario_id=scenario.id, starts_at=now, ends_at=now + timedelta(hours=5)),
        PublicityNotice(scenario_id=withdrawn.id, starts_at=now, ends_at=now + timedelta(hours=1),
                        withdrawn_at=now, withdrawn_reason="异议成立"),
    ])
    db.session.commit()
    with first.app_context():
        assert pagecache.next_change_at(db.session, now) == now + timedelta(hours=5)
        assert pagecache.next_change_at(db.session, now + timedelta(hours=6)) is None


def test_page_cache_off(app, database_url, tmp_path, make_scenario):
    make_scenario()
    off = make_test_app(database_url, tmp_path / "off", PAGE_CACHE=False)
    assert "X-Page-Cache" not in _get(off, "/scenarios").headers
    assert "ETag" not in _get(off, "/scenarios").headers


def test_bulk_statements_bump_the_version(cached_apps, make_scenario):
    from marketplace import pagecache
    from marketplace.extensions import db
    from marketplace.models import Scenario

    make_scenario()
    before = pagecache.data_version(db.session)
    db.session.execute(sa.update(Scenario).values(title="批量修改"))
    db.session.commit()
    assert pagecache.data_version(db.session) != before
    unchanged = pagecache.data_version(db.session)
    db.session.commit()  # nothing changed: no bump
    assert pagecache.data_version(db.session) == unchanged


def test_fingerprinted_static_assets(cached_apps):
    first, _second = cached_apps
    page = _get(first, "/").get_data(as_text=True)
    import re

    url = re.search(r'href="(/static/css/app\.css\?v=[a-p]{12})"', page).group(1)
    response = _get(first, url)
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "public, max-age=31536000, immutable"
    stale = _get(first, "/static/css/app.css?v=aaaaaaaaaaaa")
    assert "immutable" not in stale.headers.get("Cache-Control", "")
    response.close()
    stale.close()


def _redis_url() -> str | None:
    import os

    import redis

    url = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/6")
    try:
        redis.Redis.from_url(url, socket_connect_timeout=0.5).ping()
    except redis.RedisError:
        return None
    return url


def test_redis_store_is_shared_and_versioned(app, database_url, tmp_path, make_scenario):
    """On Redis a page rendered by one instance is a hit on another; after a commit the old entry is unreachable."""
    from marketplace import pagecache
    from marketplace.extensions import db
    from marketplace.models import Scenario

    url = _redis_url()
    if url is None:
        pytest.skip("no Redis at TEST_REDIS_URL (redis://127.0.0.1:6379/6)")
    first, second = (make_test_app(database_url, tmp_path / name, PAGE_CACHE=True, REDIS_URL=url) for name in "ab")
    with first.app_context():
        pagecache.clear()
    scenario = make_scenario(title="共享缓存")
    assert _get(first, "/scenarios").headers["X-Page-Cache"] == "miss"
    assert _get(second, "/scenarios").headers["X-Page-Cache"] == "hit"  # rendered by the other instance
    db.session.get(Scenario, scenario.id).title = "共享缓存已更新"
    db.session.commit()
    for instance, state in ((second, "miss"), (first, "hit")):  # the second renders anew, the first reads it
        page = _get(instance, "/scenarios")
        assert page.headers["X-Page-Cache"] == state and "共享缓存已更新" in page.get_data(as_text=True)
    with first.app_context():
        pagecache.clear()


def test_draft_saves_keep_the_version_submitting_bumps_it(cached_apps, make_scenario, make_user):
    """A firm's draft is sealed and on no public page: saving it must not empty every cached page."""
    from marketplace import pagecache
    from marketplace.applications import submission
    from marketplace.extensions import db
    from tests.test_applications import FULL

    scenario = make_scenario()
    firm = make_user("enterprise")
    first, _second = cached_apps
    _get(first, "/scenarios")
    before = pagecache.data_version(db.session)
    submission.save(db.session, firm, scenario, {**FULL, "summary": "第一版草稿"}, submit=False)
    db.session.commit()
    submission.save(db.session, firm, scenario, {**FULL, "summary": "第二版草稿"}, submit=False)
    db.session.commit()
    assert pagecache.data_version(db.session) == before
    assert _get(first, "/scenarios").headers["X-Page-Cache"] == "hit"

    submission.save(db.session, firm, scenario, {**FULL, "summary": "正式提交：基于强化学习的区域信号协同优化方案。"}, submit=True)
    db.session.commit()
    assert pagecache.data_version(db.session) != before
    assert _get(first, "/scenarios").headers["X-Page-Cache"] == "miss"


def test_a_deploy_never_serves_pages_the_old_code_rendered(app, database_url, tmp_path, make_scenario):
    """Entries live in Redis across a deploy, keyed by the data version: without the code in the key, the new
    release served the old templates' HTML until the data changed or the entry expired (up to 5 minutes).
    Servers on the same release share entries; a new release renders its own."""
    from marketplace import pagecache

    url = _redis_url()
    if url is None:
        pytest.skip("no Redis at TEST_REDIS_URL (redis://127.0.0.1:6379/6)")
    old, old_twin, new = (make_test_app(database_url, tmp_path / name, PAGE_CACHE=True, REDIS_URL=url,
                                        PAGE_CACHE_CODE=code)
                          for name, code in (("a", "release-1"), ("b", "release-1"), ("c", "release-2")))
    with old.app_context():
        pagecache.clear()
    make_scenario(title="部署前后")
    for path in ("/scenarios", "/api/v1/scenarios"):
        assert _get(old, path).headers["X-Page-Cache"] == "miss"
        assert _get(old_twin, path).headers["X-Page-Cache"] == "hit"  # same release: shared
        assert _get(new, path).headers.get("X-Page-Cache") == "miss"  # new release: rendered anew
    with old.app_context():
        pagecache.clear()


def test_the_code_version_follows_the_files(tmp_path):
    from marketplace.pagecache import _digest_files

    folder = tmp_path / "templates"
    folder.mkdir()
    (folder / "page.html").write_text("<p>旧版</p>", encoding="utf-8")
    before = _digest_files((folder,))
    (folder / "page.html").write_text("<p>新版</p>", encoding="utf-8")
    _digest_files.cache_clear()
    assert _digest_files((folder,)) != before
