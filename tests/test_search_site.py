"""Site search through the real app: the page, the header box, the API, the commit hooks on the real
models, the /scenarios keyword filter, recovery from a deleted index and the CLI.

The test app uses the Whoosh backend in its instance folder; ``tests/conftest.py`` empties the index
together with the tables after each test.
"""

from __future__ import annotations

import re
import shutil
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
import sqlalchemy as sa

from marketplace import search
from marketplace.extensions import db
from marketplace.scenarios import services
from tests.conftest import ON_POSTGRES, make_test_app
from tests.test_enterprises import create_profile

UNAVAILABLE = "搜索索引暂不可用"


def hit_ids(html: str, doc_type: str = "scenario") -> list[int]:
    """Ids of the hits on a search page, in order."""
    return [int(i) for i in re.findall(rf'data-doc-type="{doc_type}" data-doc-id="(\d+)"', html)]


def get(client, url: str) -> str:
    response = client.get(url)
    assert response.status_code == 200, response.status_code
    return response.get_data(as_text=True)


def indexed_keys() -> set[tuple[str, int]]:
    return set(search.get_backend().keys_and_versions())


@pytest.fixture
def corpus(make_scenario, make_org):
    """Three published scenarios in different districts, domains and budgets."""
    from marketplace.models import Domain

    def domain(code):
        return db.session.query(Domain).filter_by(code=code).one()

    ai = make_scenario(title="人工智能辅助行政审批系统", summary="利用人工智能技术预审企业开办材料。",
                       description="对审批材料进行自动识别与预审，减少人工核验时间。", domain=domain("ai"),
                       budget_wan=Decimal("320.00"), district="yuzhong")
    traffic = make_scenario(title="智慧交通信号灯控制系统升级", summary="主城区路口信号机联网改造。",
                            description="建设区域协调控制平台，根据实时车流自动调整配时。",
                            domain=domain("industrial_internet"), budget_wan=Decimal("860.00"), district="jiangbei")
    care = make_scenario(title="社区居家养老服务平台", summary="为独居老人配置紧急呼叫设备。",
                         description="平台对接社区卫生服务中心和家政服务商。", domain=domain("ai"),
                         budget_wan=Decimal("45.00"), district="yubei")
    return {"ai": ai, "traffic": traffic, "care": care}


# ---------------------------------------------------------------------------- the page

def test_header_search_box_is_on_every_page(client):
    for path in ("/", "/scenarios", "/enterprises", "/auth/login"):
        html = get(client, path)
        form = re.search(r'<form[^>]*id="site-search"[^>]*>.*?</form>', html, re.S)
        assert form, path
        assert 'action="/search"' in form.group(0) and 'method="get"' in form.group(0)
        assert '<label class="visually-hidden" for="site-search-q">' in form.group(0)


def test_keywords_find_the_right_scenarios_with_highlights(client, corpus):
    html = get(client, "/search?q=人工智能")
    # The title match ranks first; the care scenario only has 人工智能 as its domain name.
    assert hit_ids(html) == [corpus["ai"].id, corpus["care"].id]
    assert "<mark>人工智能</mark>辅助行政审批系统" in html
    html = get(client, "/search?q=智慧交通")
    assert hit_ids(html)[0] == corpus["traffic"].id and corpus["care"].id not in hit_ids(html)
    assert "<mark>智慧交通</mark>" in html or "<mark>智慧</mark><mark>交通</mark>" in html or \
        "<mark>交通</mark>" in html
    assert "征集中" in html  # derived display status


def test_facets_count_and_narrow(client, corpus):
    html = get(client, "/search?q=平台")
    assert set(hit_ids(html)) >= {corpus["traffic"].id, corpus["care"].id}
    assert 'data-facet="district"' in html and "江北区" in html
    narrowed = get(client, "/search?q=平台&district=yubei")
    assert hit_ids(narrowed) == [corpus["care"].id]
    assert 'data-remove-filter="district"' in narrowed
    body = client.get("/api/v1/search?type=scenario&domain=ai").get_json()
    assert {i["id"] for i in body["items"]} == {corpus["ai"].id, corpus["care"].id}
    domains = {f["value"]: f["count"] for f in body["facets"]["domain"]}
    assert domains == {"ai": 2, "industrial_internet": 1}  # a facet's counts ignore its own filter
    assert {f["value"] for f in body["facets"]["district"]} == {"yuzhong", "yubei"}
    band = client.get("/api/v1/search?budget=≥1000万").get_json()
    assert band["total"] == 0
    band = client.get("/api/v1/search?budget=500-1000万").get_json()
    assert [i["id"] for i in band["items"]] == [corpus["traffic"].id]


def test_sort_and_pages(client, corpus):
    by_budget = client.get("/api/v1/search?type=scenario&sort=budget").get_json()
    assert [i["id"] for i in by_budget["items"]] == [corpus["traffic"].id, corpus["ai"].id, corpus["care"].id]
    second = client.get("/api/v1/search?type=scenario&sort=budget&per_page=1&page=2").get_json()
    assert second["total"] == 3 and [i["id"] for i in second["items"]] == [corpus["ai"].id]
    html = get(client, "/search?type=scenario&sort=budget&per_page=1")
    assert 'aria-label="分页"' in html and "page=3" in html


def test_a_compound_found_nowhere_is_searched_by_its_parts(client, make_scenario):
    scenario = make_scenario(title="城市交通诱导屏改造", summary="建设智慧路灯与诱导屏联动。")
    html = get(client, "/search?q=智慧交通")
    assert hit_ids(html) == [scenario.id] and "<mark>交通</mark>" in html
    assert "没有找到包含“智慧交通”的结果" in html
    body = client.get("/api/v1/search?q=智慧交通").get_json()
    assert [i["id"] for i in body["items"]] == [scenario.id] and "智慧" in body["notice"]


def test_empty_state_suggests_terms_and_removing_filters(client, corpus):
    html = get(client, "/search?q=量子退火&district=yubei")
    assert hit_ids(html) == []
    assert 'id="search-empty"' in html and 'id="remove-filters"' in html
    for term in ("人工智能", "智慧交通", "工业互联网", "数据治理"):
        assert f">{term}</a>" in html


# ---------------------------------------------------------------------------- kept in sync

def test_a_scenario_published_a_moment_ago_is_found_and_a_withdrawn_one_disappears(client, make_scenario, make_user):
    scenario = make_scenario("submitted", title="区块链电子证照存证系统")
    assert hit_ids(get(client, "/search?q=区块链")) == []
    staff = make_user("district_staff", district=scenario.district.code)
    batch = services.create_batch(db.session, staff, "2025年第7批应用场景清单", "collect", None)
    services.transition(db.session, staff, scenario, "publish", batch=batch)
    db.session.commit()
    html = get(client, "/search?q=区块链")
    assert hit_ids(html) == [scenario.id] and "<mark>区块链</mark>" in html
    assert "2025年第7批" in get(client, f"/search?batch={batch.id}")  # batch facet label

    owner = make_user("owner", organisation=scenario.owner)
    services.transition(db.session, owner, scenario, "withdraw", reason="资金未落实")
    db.session.commit()
    assert hit_ids(get(client, "/search?q=区块链")) == []
    assert ("scenario", scenario.id) not in indexed_keys()


def test_a_rolled_back_change_never_reaches_the_index(client, make_scenario, make_org):
    from marketplace.models import Scenario

    scenario = make_scenario(title="长江水质在线监测预警系统")
    scenario.title = "区块链电子证照存证系统"
    db.session.flush()
    db.session.rollback()
    added = Scenario(title="量子计算密码迁移", owner=scenario.owner, district=scenario.district,
                     status=scenario.status, published_at=scenario.published_at)
    db.session.add(added)
    db.session.flush()
    db.session.rollback()
    assert hit_ids(get(client, "/search?q=区块链")) == [] and hit_ids(get(client, "/search?q=量子计算")) == []
    assert hit_ids(get(client, "/search?q=水质")) == [scenario.id]
    assert indexed_keys() == {("scenario", scenario.id)}


def test_renaming_a_batch_or_an_owner_reindexes_its_scenarios(client, corpus):
    scenario = corpus["ai"]
    scenario.batches[0].name = "两江新区揭榜清单"
    scenario.owner.name = "市政务服务管理办公室"
    db.session.commit()
    assert hit_ids(get(client, "/search?q=两江新区揭榜清单")) == [scenario.id]
    assert hit_ids(get(client, "/search?q=政务服务管理办公室")) == [scenario.id]


@pytest.mark.parametrize("status", ["draft", "submitted", "returned", "withdrawn"])
def test_unpublished_scenarios_are_never_searchable(client, make_scenario, status):
    make_scenario(status, title="量子退火优化排产系统")
    assert hit_ids(get(client, "/search?q=量子退火")) == []
    assert client.get("/api/v1/search?q=量子退火").get_json()["total"] == 0
    assert indexed_keys() == set()


def test_only_verified_firms_are_searchable_with_public_fields(client, make_org, make_user):
    from marketplace.models import Qualification, VerificationStatus

    verified_org = make_org("software_enterprise", name="重庆云擎数据科技有限公司", district="yubei")
    profile = create_profile(verified_org, capabilities="政务大数据治理和数据中台建设。",
                             qualifications=[("cmmi", "pending", "5级")], cases=["全市数据共享交换平台"])
    pending_org = make_org("software_enterprise", name="重庆星河数据有限公司")
    create_profile(pending_org, status="pending", capabilities="政务大数据治理。")
    inactive_org = make_org("software_enterprise", name="重庆停业数据有限公司")
    create_profile(inactive_org, capabilities="政务大数据治理。")
    inactive_org.active = False
    db.session.commit()

    body = client.get("/api/v1/search?q=大数据治理").get_json()
    assert [(i["type"], i["id"]) for i in body["items"]] == [("enterprise", profile.id)]
    assert body["items"][0]["url"].endswith(f"/enterprises/{profile.id}")
    assert client.get("/api/v1/search?q=数据共享交换平台&type=enterprise").get_json()["total"] == 1  # cases
    for private in ("王芳", "023-63001111", "CMMI"):  # contacts, unverified qualification
        assert client.get(f"/api/v1/search?q={private}").get_json()["total"] == 0, private
    # Verifying the qualification re-indexes the profile (a related change).
    qualification = db.session.execute(sa.select(Qualification)).scalar_one()
    qualification.status = VerificationStatus.VERIFIED
    db.session.commit()
    assert client.get("/api/v1/search?q=CMMI").get_json()["total"] == 1


def test_published_demonstrations_are_searchable_applications_never(client, make_scenario, make_org):
    from marketplace.models import Application, ApplicationStatus, Demonstration

    scenario = make_scenario("accepted", title="主城区信号灯联网联控", district="jiangbei")
    demo = Demonstration(scenario=scenario, year=2025, title="示范项目：信号灯联网联控",
                         problem="路口拥堵", solution="区域协调控制", outcomes="通行效率提升百分之二十",
                         published_at=datetime.now(UTC))
    firm = make_org("software_enterprise")
    db.session.add_all([demo, Application(scenario=scenario, organisation=firm, status=ApplicationStatus.SELECTED,
                                          summary="密封投标方案：量子退火排产", approach="量子退火")])
    db.session.commit()
    body = client.get("/api/v1/search?q=联网联控&type=demonstration").get_json()
    assert [i["id"] for i in body["items"]] == [demo.id]
    assert body["items"][0]["url"].endswith(f"/demonstrations/{demo.id}")
    assert {f["value"] for f in body["facets"]["district"]} == {"jiangbei"}
    assert client.get("/api/v1/search?q=量子退火").get_json()["total"] == 0
    assert {t for t, _ in indexed_keys()} == {"scenario", "demonstration"}


# ---------------------------------------------------------------------------- the list keyword filters

def test_scenario_list_keyword_filter_uses_the_search_backend(client, corpus, monkeypatch):
    from marketplace import search as search_package

    corpus["care"].requirements = "支持鲲鹏信创环境适配。"  # not a field the LIKE fallback reads
    db.session.commit()
    html = get(client, "/scenarios?q=鲲鹏")
    assert f'data-scenario-id="{corpus["care"].id}"' in html and "共 1 个场景" in html
    assert "共 1 个场景" in get(client, "/scenarios?q=智慧交通")
    assert "共 0 个场景" in get(client, "/scenarios?q=智慧交通 养老")  # every word must match
    monkeypatch.setattr(search_package, "keyword_ids", lambda doc_type, q: None)
    assert "共 0 个场景" in get(client, "/scenarios?q=鲲鹏")  # LIKE alone does not see it


def test_enterprise_directory_keyword_filter_uses_the_search_backend(client, make_org):
    org = make_org("software_enterprise", name="重庆云擎数据科技有限公司")
    profile = create_profile(org, cases=["全市数据共享交换平台"])
    html = get(client, "/enterprises?q=共享交换")  # a case title: only the search index holds it
    assert f"/enterprises/{profile.id}" in html


# ---------------------------------------------------------------------------- failure and repair

def test_deleted_index_shows_a_notice_and_reindex_repairs_it(app, client, runner, corpus):
    index_dir = Path(app.config["SEARCH_INDEX_DIR"])
    shutil.rmtree(index_dir)
    response = client.get("/search?q=智慧交通")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert UNAVAILABLE in html and 'id="search-notice"' in html and hit_ids(html) == []
    body = client.get("/api/v1/search?q=智慧交通").get_json()
    assert body["total"] == 0 and UNAVAILABLE in body["notice"]
    # The scenario list falls back to its LIKE filter meanwhile.
    assert f'data-scenario-id="{corpus["traffic"].id}"' in get(client, "/scenarios?q=智慧交通")
    result = runner.invoke(args=["search", "check"])
    assert result.exit_code == 1

    result = runner.invoke(args=["search", "reindex"])
    assert result.exit_code == 0, result.output
    assert "search index rebuilt: 3 documents" in result.output
    assert hit_ids(get(client, "/search?q=智慧交通"))[0] == corpus["traffic"].id
    assert runner.invoke(args=["search", "check"]).exit_code == 0


def test_a_deleted_index_is_not_recreated_by_the_next_edit(app, client, runner, corpus, make_org):
    """Issue 12.10: the first edit after the index folder was deleted used to create a fresh index
    holding that one record, so search answered "1 result" without a notice and the list filters
    found nothing.  A write that finds no index leaves it missing until a reindex."""
    org = make_org("software_enterprise", name="重庆云擎数据科技有限公司")
    profile = create_profile(org, capabilities="政务大数据治理和数据中台建设。")
    db.session.commit()
    assert search.index_state() == {"backend": "whoosh", "state": "ok", "documents": 4}
    index_dir = Path(app.config["SEARCH_INDEX_DIR"])
    shutil.rmtree(index_dir)
    assert search.index_state()["state"] == "missing"

    profile.capabilities = "政务大数据治理、数据中台和智慧交通信号优化。"  # edit a profile ...
    corpus["traffic"].summary = "主城区路口信号机联网改造和绿波带优化。"  # ... and a scenario
    db.session.commit()

    state = search.index_state()
    assert state["state"] == "missing" and state["documents"] is None
    assert not index_dir.exists() or not any(index_dir.glob("*.toc"))
    for q in ("智慧交通", "数据中台"):
        html = get(client, f"/search?q={q}")
        assert UNAVAILABLE in html and 'id="search-notice"' in html and hit_ids(html) == []
        assert hit_ids(html, "enterprise") == []
        body = client.get(f"/api/v1/search?q={q}").get_json()
        assert body["total"] == 0 and body["items"] == [] and UNAVAILABLE in body["notice"]
    # The list pages keep their LIKE fallback and still find every record.
    html = get(client, "/scenarios?q=智慧交通")
    assert f'data-scenario-id="{corpus["traffic"].id}"' in html and "共 1 个场景" in html
    assert f"/enterprises/{profile.id}" in get(client, "/enterprises?q=云擎")

    result = runner.invoke(args=["search", "reindex", "--if-unavailable"])
    assert result.exit_code == 0, result.output
    assert search.index_state() == {"backend": "whoosh", "state": "ok", "documents": 4}
    result = runner.invoke(args=["search", "reindex", "--if-unavailable"])
    assert "nothing to do" in result.output
    body = client.get("/api/v1/search?q=绿波带").get_json()
    assert [item["id"] for item in body["items"]] == [corpus["traffic"].id] and body["notice"] is None


def test_check_reports_missing_and_stale_records(runner, corpus):
    from marketplace.models import Scenario

    assert runner.invoke(args=["search", "check"]).output.startswith("search index up to date")
    # A bulk UPDATE bypasses the commit hooks (stale); a lost write leaves a record out (missing).
    db.session.execute(sa.update(Scenario).where(Scenario.id == corpus["ai"].id).values(title="改名后的场景"))
    db.session.commit()
    search.get_backend().remove([("scenario", corpus["care"].id)])
    result = runner.invoke(args=["search", "check"])
    assert result.exit_code == 1
    assert f"stale: 1 — scenario:{corpus['ai'].id}" in result.output
    assert f"missing: 1 — scenario:{corpus['care'].id}" in result.output
    assert runner.invoke(args=["search", "reindex"]).exit_code == 0
    assert runner.invoke(args=["search", "check"]).exit_code == 0


# ---------------------------------------------------------------------------- JSON

def test_api_envelope(client, corpus):
    body = client.get("/api/v1/search?q=人工智能 审批").get_json()
    assert set(body) == {"items", "total", "total_is_estimate", "page", "per_page", "facets", "notice"}
    assert body["total_is_estimate"] is False  # the Whoosh backend always counts exactly
    assert body["total"] == 1 and body["page"] == 1 and body["per_page"] == 20 and body["notice"] is None
    item = body["items"][0]
    assert item["type"] == "scenario" and item["id"] == corpus["ai"].id and item["status"] == "open"
    assert item["title"] == "人工智能辅助行政审批系统" and "<mark>人工智能</mark>" in item["title_html"]
    assert "<mark>" in item["snippet_html"] and item["url"].endswith(f"/scenarios/{corpus['ai'].id}")
    assert set(body["facets"]) >= {"type", "district", "domain", "status", "batch", "budget"}
    assert body["facets"]["type"] == [{"value": "scenario", "label": "应用场景", "count": 1}]


@pytest.mark.parametrize("bad", ["type=draft", "sort=random", "page=0", "per_page=101", "budget=lots",
                                 "status=draft", "batch=x", "q=" + "长" * 201])
def test_api_refuses_bad_parameters(client, bad):
    response = client.get(f"/api/v1/search?{bad}")
    assert response.status_code == 400, bad
    error = response.get_json()["error"]
    assert error["status"] == 400 and error["fields"]


def test_page_with_bad_parameters_still_answers(client, corpus):
    html = get(client, "/search?q=审批&sort=random")
    assert "参数有误" in html and hit_ids(html) == [corpus["ai"].id]


def test_deadline_passing_closes_without_reindexing(client, make_scenario, monkeypatch):
    from marketplace import clock

    scenario = make_scenario(title="数字孪生工厂试点")
    assert client.get("/api/v1/search?q=数字孪生&status=open").get_json()["total"] == 1
    later = scenario.deadline + timedelta(minutes=1)
    monkeypatch.setattr(clock, "now", lambda: later)
    body = client.get("/api/v1/search?q=数字孪生&status=closed").get_json()
    assert [i["id"] for i in body["items"]] == [scenario.id] and body["items"][0]["status"] == "closed"
    assert client.get("/api/v1/search?q=数字孪生&status=open").get_json()["total"] == 0


@pytest.mark.skipif(not ON_POSTGRES, reason="the PostgreSQL backend estimates past SEARCH_EXACT_COUNT_LIMIT")
def test_estimated_totals_are_shown_as_estimates(app, corpus, tmp_path):
    from marketplace.search import sync

    pg_app = make_test_app(app.config["SQLALCHEMY_DATABASE_URI"], tmp_path, SEARCH_BACKEND="postgres",
                           SEARCH_EXACT_COUNT_LIMIT=1)
    with pg_app.app_context():
        backend = search.get_backend()
        assert sync.reindex(db.session, backend) == 3
        client = pg_app.test_client()
        html = get(client, "/search")  # three records, counted exactly up to one: estimated
        assert 'id="result-count-estimate"' in html and "估计值" in html and "约" in html
        body = client.get("/api/v1/search").get_json()
        assert body["total_is_estimate"] is True and body["total"] >= 2
        html = get(client, "/search?q=养老")  # one match: exact
        assert 'id="result-count-estimate"' not in html and "共 1 条结果" in html
        assert client.get("/api/v1/search?q=养老").get_json()["total_is_estimate"] is False
        backend.clear()
