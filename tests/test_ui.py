"""Interface pass (issue 15): the one pager, filter chips, workbench to-dos, the publish-gate list, draft
deletion, the publish dialog's defaults, the firm's menu, and the site frame (favicon, footer settings)."""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path

import pytest
import sqlalchemy as sa

from marketplace import clock
from marketplace.extensions import db
from marketplace.models import AuditEvent, Batch, BatchLevel, BatchStage, District, Scenario, ScenarioStatus
from marketplace.paging import PHONE_ONLY, WIDE_ONLY, page_numbers, pager_items

# ------------------------------------------------------------------ the pager


@pytest.mark.parametrize("pages", range(1, 16))
def test_page_numbers_never_show_two_gaps_in_a_row(pages):
    for current in range(1, pages + 1):
        for edge, around in ((2, 2), (1, 1)):
            shown = page_numbers(current, pages, edge, around)
            numbers = [n for n in shown if n is not None]
            assert numbers == sorted(set(numbers)) and {1, pages, current} <= set(numbers)
            assert all(not (a is None and b is None) for a, b in zip(shown, shown[1:], strict=False))
            # Every gap hides at least two pages (a one-page gap shows the page instead).
            for index, value in enumerate(shown):
                if value is None:
                    assert shown[index + 1] - shown[index - 1] > 2


def test_page_numbers_of_the_reported_case():
    assert page_numbers(1, 8) == [1, 2, 3, None, 7, 8]
    assert page_numbers(4, 8) == [1, 2, 3, 4, 5, 6, 7, 8]


def test_pager_items_narrow_on_phones():
    items = pager_items(7, 14)
    wide = [n for n, cls in items if cls != PHONE_ONLY]
    phone = [n for n, cls in items if cls != WIDE_ONLY]
    assert wide == page_numbers(7, 14)
    assert phone == [1, None, 6, 7, 8, None, 14]


def _pager(html: str) -> str:
    match = re.search(r'<nav aria-label="分页" class="pager">.*?</nav>', html, re.S)
    assert match, "no pager"
    return match.group(0)


def test_scenario_list_pager(client, make_scenario):
    batch = None
    for i in range(8):
        scenario = make_scenario("published", title=f"分页测试场景{i}", batch=batch)
        batch = scenario.batches[0]
    html = client.get("/scenarios?per_page=1&page=4").get_data(as_text=True)
    pager = _pager(html)
    assert "上一页" in pager and "下一页" in pager
    assert pager.count('aria-current="page"') == 1
    assert re.search(r'aria-current="page"\s+href="[^"]*page=4', pager)
    assert 'rel="prev"' in pager and "page=3" in pager and 'rel="next"' in pager and "page=5" in pager
    first = client.get("/scenarios?per_page=1").get_data(as_text=True)
    first_pager = _pager(first)
    assert first_pager.count("…") == 2  # one gap for wide screens, one for phones: never two in a row per width
    assert re.search(r'<li class="page-item disabled">\s*<span class="page-link">上一页', first_pager)


def test_every_list_uses_the_pager(client, make_user, login, make_org):
    for i in range(3):
        make_org("software_enterprise", name=f"分页企业{i}")
    for url in ("/enterprises?per_page=1", "/admin/users?per_page=1"):
        if url.startswith("/admin"):
            login(make_user("city_staff"))
        html = client.get(url).get_data(as_text=True)
        if 'class="pagination' in html:
            assert 'class="pager"' in html and "下一页" in html, url


# ------------------------------------------------------------------ filters and chips

def test_scenario_filters_show_removable_chips(client, make_scenario):
    make_scenario("published", district="yuzhong")
    html = client.get("/scenarios?district=yuzhong&district=yubei&due_within=30").get_data(as_text=True)
    assert 'id="filter-panel-toggle"' in html and 'data-bs-toggle="offcanvas"' in html
    assert 'class="offcanvas-lg offcanvas-start"' in html
    chips = re.findall(r'<a class="btn btn-sm btn-outline-primary rounded-pill filter-chip" href="([^"]+)" '
                       r'data-remove-filter="(\w+)"', html)
    by_key = {}
    for href, key in chips:
        by_key.setdefault(key, []).append(href.replace("&amp;", "&"))
    assert len(by_key["district"]) == 2 and len(by_key["due_within"]) == 1
    # Removing 渝中区 keeps 渝北区 and the deadline filter.
    assert any("district=yubei" in h and "district=yuzhong" not in h and "due_within=30" in h
               for h in by_key["district"])
    assert "due_within" not in by_key["due_within"][0]


def test_search_facets_collapse_with_chips(client, make_scenario):
    make_scenario("published", district="yuzhong")
    html = client.get("/search?q=交通&district=yuzhong").get_data(as_text=True)
    assert 'id="facets-toggle"' in html and 'id="facets"' in html
    assert 'data-remove-filter="district"' in html


def test_key_facts_come_first_on_phones(client, make_scenario):
    scenario = make_scenario("published")
    html = client.get(f"/scenarios/{scenario.id}").get_data(as_text=True)
    assert 'class="col-lg-4 order-1 order-lg-2"' in html and 'class="col-lg-8 order-2 order-lg-1"' in html


# ------------------------------------------------------------------ forms: the publish gate

def test_refused_submission_lists_each_problem_once_at_its_field(client, make_user, login):
    owner = make_user("owner")
    login(owner)
    response = client.post("/scenarios/new", data={"title": "城市内涝监测", "description": "太短了",
                                                   "submit_for_review": "1", "mode": "open_call"})
    assert response.status_code == 303 and "check=1" in response.headers["Location"]
    html = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "。；" not in html and "还有" in html and "项需要完善" in html
    gate = re.search(r'<div class="alert alert-info" id="gate".*?</div>', html, re.S).group(0)
    assert gate.count("场景描述至少 10 个字") == 1
    assert 'href="#description"' in gate and 'href="#boundary"' in gate
    # The field itself is highlighted and states the rule.
    assert re.search(r'<textarea aria-describedby="description-help description-error" aria-invalid="true" class="form-control is-invalid" id="description"', html)
    assert html.count("场景描述至少 10 个字") == 2  # the list item and the message under the field


def test_budget_shows_its_unit_and_race_teams_depend_on_mode(client, make_user, login):
    login(make_user("owner"))
    html = client.get("/scenarios/new").get_data(as_text=True)
    assert re.search(r'id="budget_wan"[^>]*>\s*<span class="input-group-text">万元</span>', html)
    assert 'data-show-for-mode="horse_race"' in html and "js/forms.js" in html


def test_publish_dialog_defaults_to_the_open_batch_and_this_year(client, make_scenario, make_user, login):
    district = db.session.query(District).filter_by(code="yuzhong").one()
    old = Batch(name="旧批次", level=BatchLevel.DISTRICT, district=district, stage=BatchStage.EXPAND,
                published_on=date(2024, 1, 1))
    open_batch = Batch(name="征集中的批次", level=BatchLevel.DISTRICT, district=district, stage=BatchStage.COLLECT,
                       published_on=date(2024, 6, 1))
    db.session.add_all([old, open_batch])
    db.session.commit()
    scenario = make_scenario("submitted")
    login(make_user("district_staff"))
    html = client.get(f"/scenarios/{scenario.id}").get_data(as_text=True)
    assert re.search(rf'<option selected value="{open_batch.id}">征集中的批次</option>', html)
    assert f"例如：{clock.local_today().year}年第1批应用场景清单" in html


# ------------------------------------------------------------------ draft deletion

def test_owner_deletes_a_draft(client, make_scenario, make_user, login):
    scenario = make_scenario("draft", complete=False)
    scenario_id = scenario.id
    login(make_user("owner", organisation=scenario.owner))
    assert 'id="delete-draft"' in client.get(f"/scenarios/{scenario_id}").get_data(as_text=True)
    response = client.post(f"/scenarios/{scenario_id}/delete")
    assert response.status_code == 303 and response.headers["Location"].endswith("/my/scenarios")
    db.session.expire_all()
    assert db.session.get(Scenario, scenario_id) is None
    assert db.session.scalar(sa.select(sa.func.count(AuditEvent.id)).where(
        AuditEvent.action == "scenario.delete", AuditEvent.object_id == str(scenario_id))) == 1


@pytest.mark.parametrize("who", ["other_owner", "enterprise", "district_staff"])
def test_others_cannot_delete_a_draft(client, make_scenario, make_user, login, who):
    scenario = make_scenario("draft", complete=False)
    role = "owner" if who == "other_owner" else who
    login(make_user(role))
    response = client.post(f"/scenarios/{scenario.id}/delete")
    assert response.status_code in (403, 404)
    db.session.expire_all()
    assert db.session.get(Scenario, scenario.id) is not None


def test_a_submitted_scenario_is_withdrawn_not_deleted(client, make_scenario, make_user, login):
    scenario = make_scenario("submitted")
    login(make_user("owner", organisation=scenario.owner))
    assert 'id="delete-draft"' not in client.get(f"/scenarios/{scenario.id}").get_data(as_text=True)
    response = client.post(f"/scenarios/{scenario.id}/delete", headers={"Referer": f"/scenarios/{scenario.id}"})
    assert response.status_code == 303  # refused: flash and back
    db.session.expire_all()
    assert db.session.get(Scenario, scenario.id).status == ScenarioStatus.SUBMITTED


# ------------------------------------------------------------------ workbenches

def _todos(html: str) -> dict[str, tuple[int, str]]:
    return {key: (int(count), href.replace("&amp;", "&")) for href, key, count in re.findall(
        r'href="([^"]+)" data-todo="(\w+)">\s*<div class="card-body">\s*<div class="stat-card"><span class="stat-number[^"]*">(\d+)',
        html)}


def test_district_staff_workbench_counts_its_review_queue(client, make_scenario, make_user, login):
    make_scenario("submitted", district="yuzhong")
    make_scenario("submitted", district="yuzhong")
    make_scenario("submitted", district="yubei")  # another district's: not theirs
    login(make_user("district_staff", district="yuzhong"))
    todos = _todos(client.get("/dashboard").get_data(as_text=True))
    assert todos["scenarios_to_review"] == (2, "/review")
    assert todos["profiles_to_verify"][1] == "/enterprises/review"
    assert todos["registrations"][1] == "/admin/approvals"
    assert list(todos)[:1] == ["registrations"]


def test_owner_workbench_links_returned_scenarios(client, make_scenario, make_user, login):
    scenario = make_scenario("returned", return_reason="请补充验收标准")
    make_scenario("returned")  # another organisation's
    login(make_user("owner", organisation=scenario.owner))
    todos = _todos(client.get("/dashboard").get_data(as_text=True))
    assert todos["scenarios_returned"] == (1, "/my/scenarios?status=returned")
    assert {"to_evaluate", "experts_pending"} <= set(todos) and "scenarios_to_review" not in todos
    listed = client.get("/my/scenarios?status=returned").get_data(as_text=True)
    assert scenario.title in listed and 'id="status-filter"' in listed
    assert client.get("/my/scenarios?status=nonsense").status_code == 200


def test_owner_list_filters_by_the_status_it_shows(client, make_scenario, make_user, login):
    """``?status=closed`` listed nothing ("还没有场景…") though the owner had a scenario shown as 已截止:
    已截止 is derived from the deadline, never stored; 征集中 (published) lists only those before it."""
    from datetime import timedelta

    from marketplace import clock
    from marketplace.extensions import db

    open_one = make_scenario("published", title="征集中的场景甲")
    closed = make_scenario("published", title="已截止的场景乙", owner=open_one.owner)
    login(make_user("owner", organisation=open_one.owner))
    closed.deadline, open_one.deadline = clock.now() - timedelta(days=1), clock.now() + timedelta(days=5)
    db.session.commit()
    listed = client.get("/my/scenarios?status=closed").get_data(as_text=True)
    assert "已截止的场景乙" in listed and "征集中的场景甲" not in listed
    listed = client.get("/my/scenarios?status=published").get_data(as_text=True)
    assert "征集中的场景甲" in listed and "已截止的场景乙" not in listed
    empty = client.get("/my/scenarios?status=accepted").get_data(as_text=True)
    assert "没有处于该状态的场景。" in empty and "点击“起草新场景”开始" not in empty


def test_firm_menu_links_its_shortcuts(client, make_user, login):
    login(make_user("enterprise"))
    html = client.get("/dashboard").get_data(as_text=True)
    for href, key in (("/my/recommendations", "recommendations"), ("/notifications/settings#follows", "follows"),
                      ("/notifications/settings#searches", "saved_searches")):
        assert re.search(rf'href="{href}"\s+data-nav="{key}"', html), key


def test_owner_menu_has_no_firm_shortcuts(client, make_user, login):
    login(make_user("owner"))
    html = client.get("/dashboard").get_data(as_text=True)
    assert 'data-nav="follows"' not in html and 'data-nav="recommendations"' not in html


# ------------------------------------------------------------------ site frame

def test_favicon(client):
    response = client.get("/favicon.ico")
    assert response.status_code == 200 and response.mimetype == "image/vnd.microsoft.icon"
    assert response.data[:4] == b"\0\0\1\0"
    assert 'rel="icon"' in client.get("/").get_data(as_text=True)


def test_footer_shows_operator_contact_and_icp(app, client):
    html = client.get("/").get_data(as_text=True)
    assert 'id="site-icp"' not in html  # unset settings leave their line out
    app.config.update(SITE_OPERATOR="某某市经济和信息化委员会", SITE_CONTACT="023-12345678", SITE_ICP="渝ICP备12345678号")
    try:
        html = client.get("/").get_data(as_text=True)
    finally:
        app.config.update(SITE_OPERATOR="", SITE_CONTACT="", SITE_ICP="")
    assert "运营单位：某某市经济和信息化委员会" in html and "联系方式：023-12345678" in html
    assert re.search(r'id="site-icp"><a href="https://beian.miit.gov.cn/"[^>]*>渝ICP备12345678号</a>', html)


def test_the_account_card_shows_the_sign_in_before_this_one(client, make_user, login):
    """上次登录 showed the sign-in of the current session (always "just now")."""
    from datetime import timedelta

    from marketplace import clock
    from marketplace.extensions import db
    from marketplace.models import LoginAttempt

    user = make_user("owner")
    earlier = clock.now() - timedelta(days=3)
    db.session.add(LoginAttempt(email=user.email, ip="127.0.0.1", success=True, created_at=earlier))
    db.session.add(LoginAttempt(email=user.email, ip="127.0.0.1", success=False, created_at=earlier + timedelta(days=1)))
    db.session.commit()
    login(user)
    html = client.get("/dashboard").get_data(as_text=True)
    shown = re.search(r"data-previous-sign-in>([^<]*)<", html).group(1)
    assert shown == clock.to_local(earlier).strftime("%Y-%m-%d %H:%M")


def test_a_first_sign_in_has_no_previous_one(client, make_user, login):
    login(make_user("owner"))
    html = client.get("/dashboard").get_data(as_text=True)
    assert re.search(r"data-previous-sign-in>([^<]*)<", html).group(1) == "—"


#: Tables that need no ``.table-responsive`` wrapper, and why (each is narrow whatever its content, or only printed).
NARROW_TABLES = {
    "scenarios/print.html": "the printable page (A4, not a phone screen)",
    "appraisal/_ranking.html": "included inside a .table-responsive wrapper by the pages that show it",
}
_TAG = re.compile(r"<table\b|<div\b[^>]*>|</div\s*>", re.S)


def unwrapped_tables(text: str) -> int:
    """How many ``<table`` of a template are not inside an open ``<div class="… table-responsive …">``."""
    stack: list[bool] = []
    unwrapped = 0
    for tag in _TAG.finditer(text):
        found = tag.group(0)
        if found.startswith("<table"):
            unwrapped += not any(stack)
        elif found.startswith("</div"):
            if stack:
                stack.pop()
        else:
            stack.append(bool(re.search(r'class="[^"]*\btable-responsive\b', found)))
    return unwrapped


def test_every_table_scrolls_inside_its_own_box_on_phones():
    """A table without ``.table-responsive`` widens the whole page on a phone (390 px): each one is wrapped,
    or listed in :data:`NARROW_TABLES` with the reason it needs none."""
    root = Path(__file__).resolve().parent.parent / "templates"
    found = {}
    for path in sorted(root.rglob("*.html")):
        name = path.relative_to(root).as_posix()
        count = unwrapped_tables(path.read_text(encoding="utf-8"))
        if count and name not in NARROW_TABLES:
            found[name] = count
    assert found == {}
    for name in NARROW_TABLES:
        assert (root / name).exists(), name


def test_the_table_check_sees_wrappers_and_their_end():
    assert unwrapped_tables('<div class="table-responsive"><table></table></div>') == 0
    assert unwrapped_tables('<div class="card"><div class="table-responsive mb-4"><table></table></div></div>') == 0
    assert unwrapped_tables('<div class="table-responsive"></div><div class="card"><table></table></div>') == 1
    assert unwrapped_tables('<table></table>') == 1
