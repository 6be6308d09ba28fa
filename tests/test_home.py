"""The home page's "最新发布" and "即将截止" lists (content, order, cost, page-cache lifetime), and the
default SITE_URL following PORT."""

from __future__ import annotations

import re
from datetime import timedelta

from marketplace import clock
from marketplace.config import default_site_url, load_config
from marketplace.extensions import db
from tests.conftest import make_test_app
from tests.test_list_queries import counted


def _ids(html: str, section: str) -> list[int]:
    part = html.split(f'id="{section}"')[1].split("</section>")[0]
    return [int(n) for n in re.findall(r'data-scenario-id="(\d+)"', part)]


def test_newest_and_closing_soon_lists(client, make_scenario):
    now = clock.now()
    published = []
    for n in range(8):
        published.append(make_scenario(title=f"新场景{n}", published_at=now - timedelta(hours=20 - n),
                                       deadline=now + timedelta(days=30 - n, hours=1)))
    soonest = make_scenario(title="明天截止", published_at=now - timedelta(days=9),
                            deadline=now + timedelta(hours=20))
    closed = make_scenario(title="已截止", published_at=now - timedelta(hours=1), deadline=now - timedelta(hours=1))
    draft = make_scenario(status="draft", title="草稿", deadline=now + timedelta(hours=2))
    html = client.get("/").get_data(as_text=True)

    newest = _ids(html, "home-newest")
    assert newest == [closed.id] + [s.id for s in reversed(published)][:5]
    closing = _ids(html, "home-closing")
    assert closing == [soonest.id] + [s.id for s in reversed(published)][:5]
    assert draft.id not in newest + closing and closed.id not in closing
    assert 'data-days-left="0"' in html and "不足 1 天" in html
    assert f'data-days-left="{23}"' in html and "剩余 23 天" in html  # 新场景7: 23 days and 1 hour left
    # each list links to /scenarios with the matching order and filter
    assert 'href="/scenarios?sort=newest"' in html
    assert 'href="/scenarios?status=open&amp;sort=deadline"' in html


def test_empty_lists_say_so(client):
    html = client.get("/").get_data(as_text=True)
    assert "暂无已发布的场景" in html and "目前没有正在征集的场景" in html


def test_the_home_page_runs_few_queries(client, make_scenario):
    for n in range(10):
        make_scenario(title=f"场景{n}")
    client.get("/")
    with counted(db.engine) as statements:
        response = client.get("/")
    assert response.status_code == 200 and len(_ids(response.get_data(as_text=True), "home-closing")) == 6
    # five counts (unchanged) + the two lists
    assert len(statements) <= 7, "\n\n".join(statements)


def test_a_cached_home_page_lives_no_longer_than_its_days_left_count(app, database_url, tmp_path, make_scenario,
                                                                     monkeypatch):
    from marketplace import pagecache

    cached = make_test_app(database_url, tmp_path / "cached", PAGE_CACHE=True, PAGE_CACHE_SECONDS=86400)
    with cached.app_context():
        pagecache.clear()
    start = clock.now()
    # 10 days and 2 hours left: "剩余 10 天" until 2 hours from now (the 48 h question cut-off is 8 days away).
    make_scenario(deadline=start + timedelta(days=10, hours=2))
    monkeypatch.setattr(clock, "now", lambda: start)
    first = cached.test_client().get("/")
    assert first.headers["X-Page-Cache"] == "miss" and "剩余 10 天" in first.get_data(as_text=True)
    monkeypatch.setattr(clock, "now", lambda: start + timedelta(hours=1))
    assert cached.test_client().get("/").headers["X-Page-Cache"] == "hit"
    monkeypatch.setattr(clock, "now", lambda: start + timedelta(hours=2, seconds=1))
    later = cached.test_client().get("/")
    assert later.headers["X-Page-Cache"] == "miss" and "剩余 9 天" in later.get_data(as_text=True)


def test_home_lists_report_when_a_count_changes(app, make_scenario):
    from marketplace.main import services

    now = clock.now()
    make_scenario(deadline=now + timedelta(days=3, minutes=30))
    make_scenario(deadline=now + timedelta(days=5, minutes=10))
    lists = services.home_lists(db.session, now)
    assert [item.days_left for item in lists["closing"]] == [3, 5]
    assert lists["changes_at"] == now + timedelta(minutes=10)


def test_site_url_defaults_to_the_port_the_site_runs_on(tmp_path):
    instance = {"MARKETPLACE_INSTANCE": str(tmp_path)}
    assert default_site_url({"PORT": "5123"}) == "http://127.0.0.1:5123"
    assert default_site_url({}) == "http://127.0.0.1:5000"
    assert default_site_url({"PORT": "not-a-port"}) == "http://127.0.0.1:5000"
    assert load_config({**instance, "PORT": "5123"})["SITE_URL"] == "http://127.0.0.1:5123"
    assert load_config(instance)["SITE_URL"] == "http://127.0.0.1:5000"
    assert load_config({**instance, "PORT": "5123", "SITE_URL": "https://cq.example"})["SITE_URL"] == \
        "https://cq.example"


def test_make_run_passes_its_port_to_the_app():
    from pathlib import Path

    makefile = (Path(__file__).resolve().parent.parent / "Makefile").read_text()
    assert re.search(r"^export PORT$", makefile, re.M)
