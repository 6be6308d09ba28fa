"""Public pages, the language switch, error pages and the health check."""

import pytest

from tests.conftest import make_test_app


def test_home_page_is_chinese_with_live_counts(client, make_org, make_scenario):
    import re

    make_org("software_enterprise")
    make_scenario("published")
    make_scenario("draft")
    make_scenario("accepted")
    html = client.get("/").get_data(as_text=True)
    assert 'lang="zh-CN"' in html and "应用场景揭榜平台" in html

    def count(key):
        return int(re.search(rf'data-count="{key}">(?:<a[^>]*>)?(\d+)<', html).group(1))

    assert count("firms") == 1 and count("districts") == 11
    assert count("scenarios") == 2 and count("open") == 1 and count("accepted") == 1  # the draft is not counted
    assert "vendor/bootstrap/bootstrap.min.css" in html and "cdn" not in html.lower()


def test_language_switch_to_english(client):
    client.get("/lang/en", headers={"Referer": "http://localhost/"})
    html = client.get("/").get_data(as_text=True)
    assert 'lang="en"' in html
    assert "Application Scenario Marketplace" in html
    client.get("/lang/zh_CN")
    # The test keeps one app context open across requests, and Flask-Babel caches the locale in it.
    from flask_babel import refresh

    refresh()
    assert "应用场景揭榜平台" in client.get("/").get_data(as_text=True)


@pytest.mark.parametrize("referer", [
    "http://localhost@evil.example/",  # user info: the host is evil.example
    "http://localhost:50000/",  # another port
    "http://localhost.evil.example/",  # a longer host name
    "https://localhost/",  # another scheme
    "//evil.example/",
    "http://localhost:abc/",  # not a port at all: refused, not a 500
    "http://[::1/",  # unparsable
])
def test_language_switch_never_leaves_the_site(client, referer):
    response = client.get("/lang/en", headers={"Referer": referer})
    assert response.status_code == 302 and response.headers["Location"] == "/"
    from flask_babel import refresh

    client.get("/lang/zh_CN")
    refresh()


def test_language_switch_returns_to_the_page_it_was_on(client):
    response = client.get("/lang/en", headers={"Referer": "http://localhost/scenarios?q=1"})
    assert response.status_code == 302 and response.headers["Location"] == "http://localhost/scenarios?q=1"
    response = client.get("/lang/zh_CN")  # no Referer: the home page
    assert response.status_code == 302 and response.headers["Location"] == "/"
    from flask_babel import refresh

    refresh()


def test_404_page_in_chinese(client):
    response = client.get("/no/such/page")
    assert response.status_code == 404 and "页面不存在" in response.get_data(as_text=True)


def test_500_page_in_chinese(app, tmp_path):
    strict = make_test_app(app.config["SQLALCHEMY_DATABASE_URI"], tmp_path)

    @strict.route("/boom")
    def boom():
        raise RuntimeError("boom")

    response = strict.test_client().get("/boom")
    assert response.status_code == 500 and "服务器内部错误" in response.get_data(as_text=True)


def test_healthz_is_liveness_only(tmp_path):
    broken = make_test_app(f"sqlite:///{tmp_path}/missing/dir/db.sqlite3", tmp_path)
    response = broken.test_client().get("/healthz")
    assert response.status_code == 200 and response.json == {"status": "ok"}


def test_readyz_checks_the_database(client):
    response = client.get("/readyz")
    assert response.status_code == 200
    assert response.json["checks"] == {"database": "ok", "redis": "not configured", "search": "ok",
                                       "match_model": "ok"}


def test_readyz_names_a_dead_database(tmp_path):
    broken = make_test_app(f"sqlite:///{tmp_path}/missing/dir/db.sqlite3", tmp_path)
    response = broken.test_client().get("/readyz")
    assert response.status_code == 503 and "database" in response.json["failing"]
    assert response.json["checks"]["database"].startswith("unavailable")


def test_session_cookie_flags(client, make_user, login):
    response = login(make_user("owner"))
    cookie = response.headers.get("Set-Cookie", "")
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie


def test_production_requires_a_secret_key_and_the_site_url(monkeypatch):
    from marketplace.config import load_config

    with pytest.raises(RuntimeError, match="SECRET_KEY"):
        load_config({"MARKETPLACE_ENV": "production"})
    with pytest.raises(RuntimeError, match="SITE_URL"):
        load_config({"MARKETPLACE_ENV": "production", "SECRET_KEY": "x" * 40})
    config = load_config({"MARKETPLACE_ENV": "production", "SECRET_KEY": "x" * 40,
                          "SITE_URL": "https://scenarios.example.gov.cn"})
    assert config["SESSION_COOKIE_SECURE"] is True and config["SITE_URL"] == "https://scenarios.example.gov.cn"


def test_database_url_forms():
    from marketplace.config import load_config

    config = load_config({"DATABASE_URL": "postgresql://u@h/db", "SECRET_KEY": "k"})
    assert config["SQLALCHEMY_DATABASE_URI"] == "postgresql+psycopg://u@h/db"
