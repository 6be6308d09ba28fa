"""Phone layout and accessibility of the main pages, in a real browser (issue 15).

* no page scrolls sideways at 360 px (``document.documentElement.scrollWidth <= 360``);
* at 390 px the scenario filters sit behind a 筛选 button (Bootstrap offcanvas) and the first card is on screen;
* axe-core (``axe-playwright-python``) finds no serious or critical violation on the public pages (zh and en)
  and on each role's workbench.
"""

from __future__ import annotations

import pytest
from axe_playwright_python.sync_playwright import Axe

from marketplace.extensions import db
from marketplace.models import Batch, BatchLevel, BatchStage, District
from tests.browser.test_scenario_flow import sign_in
from tests.test_appraisal import make_appraisal

#: A fixture shared with the appraisal tests (pytest finds it as a name of this module).
SHARED_FIXTURES = (make_appraisal,)

LONG_BATCH = "2026年第1批重庆市软件和信息服务业“满天星”行动计划应用场景清单（智造重镇与智慧名城专项）"


@pytest.fixture
def content(make_scenario, make_user):
    """Enough public content for the pages to show their lists, cards, pagers and charts."""
    district = db.session.query(District).filter_by(code="yuzhong").one()
    batch = Batch(name=LONG_BATCH, level=BatchLevel.DISTRICT, district=district, stage=BatchStage.COLLECT,
                  published_on=db.func.current_date())
    db.session.add(batch)
    db.session.commit()
    scenarios = [make_scenario("published", batch=batch,
                               title=f"城市级超长名称的公共数据资源开发利用与智能交通信号协同优化平台建设项目第{i}期",
                               contact_email="very.long.contact.address.for.testing@district-office.example.gov.cn")
                 for i in range(3)]
    make_user("enterprise")
    return {"scenario": scenarios[0], "batch": batch}


def public_pages(content) -> list[str]:
    return ["/", "/scenarios", f"/scenarios/{content['scenario'].id}", f"/scenarios/{content['scenario'].id}/print",
            "/batches", f"/batches/{content['batch'].id}",
            "/enterprises", "/demonstrations", "/statistics", "/search?q=交通", "/open-data", "/auth/login",
            "/auth/register"]


def _phone(browser, width: int = 360, height: int = 800):
    context = browser.new_context(locale="zh-CN", viewport={"width": width, "height": height})
    page = context.new_page()
    page.set_default_timeout(15000)
    return context, page


def test_no_page_scrolls_sideways_at_360px(live_server, browser, content):
    context, page = _phone(browser)
    try:
        wide = {}
        for path in public_pages(content):
            page.goto(live_server + path)
            width = page.evaluate("document.documentElement.scrollWidth")
            if width > 360:
                wide[path] = width
        assert wide == {}
    finally:
        context.close()


def test_scenario_filters_fold_behind_a_button_on_phones(live_server, browser, content):
    context, page = _phone(browser, 390, 844)
    try:
        page.goto(f"{live_server}/scenarios?district=yuzhong")
        assert not page.locator("#filters").is_visible()
        assert page.locator(".scenario-card, article").first.bounding_box()["y"] < 900
        # The active filter is a chip that removes it.
        chip = page.locator('[data-remove-filter="district"]')
        assert chip.is_visible()
        page.click("#filter-panel-toggle")
        page.wait_for_selector("#filter-panel.show")
        assert page.locator("#filters").is_visible()
        chip_href = chip.get_attribute("href")
        assert "district" not in chip_href
        # The key facts of a scenario come before its text on phones.
        page.goto(f"{live_server}/scenarios/{content['scenario'].id}")
        facts = page.locator("#key-facts").bounding_box()
        text = page.locator("h2", has_text="场景描述").bounding_box()
        assert facts["y"] < text["y"]
    finally:
        context.close()


def _serious(page) -> list[str]:
    results = Axe().run(page)
    return [f"{v['id']} ({v['impact']}): {[n['target'] for n in v['nodes'][:3]]}"
            for v in results.response["violations"] if v["impact"] in ("serious", "critical")]


@pytest.mark.parametrize("language", ["zh_CN", "en"])
def test_public_pages_pass_axe(live_server, page, content, language):
    page.goto(f"{live_server}/lang/{language}")
    found = {}
    for path in public_pages(content):
        page.goto(live_server + path)
        problems = _serious(page)
        if problems:
            found[path] = problems
    assert found == {}


@pytest.mark.parametrize("role", ["owner", "enterprise", "district_staff", "city_staff", "expert"])
def test_workbenches_pass_axe(live_server, page, content, make_user, role):
    user = make_user(role, district="yuzhong")
    sign_in(page, live_server, user)
    page.goto(f"{live_server}/dashboard")
    assert page.locator("h1", has_text="工作台").is_visible()
    assert _serious(page) == []


def test_the_appraisal_list_does_not_widen_a_phone_page(live_server, browser, make_appraisal):
    """/appraisals at 390 px was 532 px wide (its table had no .table-responsive): the whole page scrolled."""
    make_appraisal(year=2025)
    context, page = _phone(browser, 390, 844)
    try:
        sign_in(page, live_server, make_appraisal.city)
        page.goto(f"{live_server}/appraisals")
        assert page.locator("main table tbody tr").count() == 1
        assert page.evaluate("document.documentElement.scrollWidth") <= 390
    finally:
        context.close()


def test_the_staff_scenario_records_keep_a_readable_title_on_phones(live_server, browser, content, make_user):
    """/dashboard/districts/scenarios at 390 px squeezed the scenario title to two characters a line."""
    context, page = _phone(browser, 390, 844)
    try:
        sign_in(page, live_server, make_user("city_staff"))
        page.goto(f"{live_server}/dashboard/districts/scenarios")
        cell = page.locator("main table tbody tr").first.locator("td").nth(1)
        assert content["scenario"].title[:4] in cell.inner_text()
        assert cell.bounding_box()["width"] >= 120  # ten characters of the table's small type
    finally:
        context.close()
