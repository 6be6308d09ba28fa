"""Each role walks its workbench to-dos in a real browser (issue 15 done-when): sign in, read every to-do
count on ``/dashboard``, click it, and find that many items in the list it leads to.

The data is made for each role so that most counts are not zero; a count of zero must lead to an empty list.
"""

from __future__ import annotations

from datetime import timedelta

from marketplace import clock
from marketplace.extensions import db
from marketplace.models import ApprovalStatus, ExpertAssignment
from tests.browser.test_scenario_flow import sign_in
from tests.test_applications import submit_draft

#: The items of the list each to-do leads to (rows of its table; empty-state rows have a single cell).
LIST_ITEMS = {
    "scenarios_to_review": "main table tbody tr:has(td a)",
    "scenarios_returned": "main table tbody tr:has(td a)",
    "registrations": "main table tbody tr:has(form)",
    "profiles_to_verify": "main tr[data-profile-id]",
    "objections_to_decide": "main tr[data-objection-row]",
    "objections_to_answer": "main tr[data-objection-row]",
    "notices_open": "main tr[data-notice]",
    "to_declare": 'main tr[data-assignment][data-state="pending"]',
}
#: To-dos whose count is not a number of rows of the list (experts per scenario, scenarios in groups):
#: the list only has to open and show something when the count is not zero.
COUNTED_ELSEWHERE = {"to_evaluate", "experts_pending"}


def read_todos(page, base) -> list[tuple[str, int, str]]:
    page.goto(f"{base}/dashboard")
    cards = page.locator("#todos a[data-todo]")
    todos = []
    for i in range(cards.count()):
        card = cards.nth(i)
        todos.append((card.get_attribute("data-todo"), int(card.locator(".stat-number").inner_text()),
                      card.get_attribute("href")))
    return todos


def walk(page, base) -> dict[str, int]:
    """Click every to-do from the workbench; assert its list shows that many items. Returns the counts."""
    counts = {}
    for key, count, href in read_todos(page, base):
        counts[key] = count
        page.goto(f"{base}/dashboard")
        page.click(f'#todos a[data-todo="{key}"]')
        page.wait_for_load_state()
        assert page.url.endswith(href), (key, page.url, href)
        if key in COUNTED_ELSEWHERE:
            assert page.locator("main").count() == 1
            continue
        shown = page.locator(LIST_ITEMS[key]).count()
        assert shown == count, (key, count, shown)
    return counts


def test_district_staff_walk_their_todos(live_server, page, make_user, make_scenario, make_org):
    staff = make_user("district_staff", district="yuzhong")
    make_scenario("submitted", district="yuzhong")
    make_scenario("submitted", district="yuzhong", title="城市内涝监测预警物联网系统")
    make_user("owner", district="yuzhong", approval_status=ApprovalStatus.PENDING)
    sign_in(page, live_server, staff)
    counts = walk(page, live_server)
    assert {"scenarios_to_review", "registrations", "profiles_to_verify", "objections_to_decide"} <= set(counts)
    assert counts["scenarios_to_review"] == 2 and counts["registrations"] >= 1


def test_city_staff_walk_their_todos(live_server, page, make_user, make_scenario):
    staff = make_user("city_staff", district=None)
    make_user("enterprise", district="jiangbei", approval_status=ApprovalStatus.PENDING)
    sign_in(page, live_server, staff)
    counts = walk(page, live_server)
    assert {"scenarios_to_review", "registrations", "profiles_to_verify", "objections_to_decide"} <= set(counts)
    assert counts["registrations"] >= 1


def test_owner_walks_their_todos(live_server, page, make_user, make_scenario):
    owner = make_user("owner", district="yuzhong")
    make_scenario("returned", owner=owner.organisation)
    make_scenario("returned", owner=owner.organisation, title="电子证照共享应用系统")
    sign_in(page, live_server, owner)
    counts = walk(page, live_server)
    assert {"scenarios_returned", "to_evaluate", "experts_pending", "objections_to_answer", "notices_open"} <= set(counts)
    assert counts["scenarios_returned"] == 2


def test_expert_walks_their_todos(live_server, page, make_user, make_scenario):
    expert = make_user("expert", district=None)
    # Declarations are asked for once the bids open (after the deadline).
    scenario = make_scenario("published", deadline=clock.now() - timedelta(hours=1))
    db.session.add(ExpertAssignment(scenario_id=scenario.id, expert_id=expert.id))
    db.session.commit()
    sign_in(page, live_server, expert)
    counts = walk(page, live_server)
    assert counts == {"to_declare": 1}


def test_firm_walks_its_workbench(live_server, page, make_user, make_scenario):
    """Firms have no to-do counts: their workbench lists what needs doing (drafts to submit) in the 揭榜
    panel; each entry leads to its form, and the panel's total is the length of *我的揭榜*."""
    firm = make_user("enterprise")
    submit_draft(firm, make_scenario("published", deadline=clock.now() + timedelta(days=20)))
    submit_draft(firm, make_scenario("published", deadline=clock.now() + timedelta(days=30),
                                     title="电子证照共享应用系统"))
    sign_in(page, live_server, firm)
    assert read_todos(page, live_server) == []
    panel = page.locator("#panel-my-applications")
    total = int(panel.locator("h2 .badge").inner_text())
    actions = panel.locator("#application-actions li a")
    assert total == 2 and actions.count() == 2
    for i in range(actions.count()):
        page.goto(f"{live_server}/dashboard")
        page.locator("#application-actions li a").nth(i).click()
        page.wait_for_load_state()
        assert page.locator('form textarea[name="summary"]').count() == 1  # the 揭榜 form, still open
    page.goto(f"{live_server}/dashboard")
    page.click("text=全部揭榜申请")
    page.wait_for_load_state()
    assert page.locator("main table tbody tr:has(a)").count() == total

