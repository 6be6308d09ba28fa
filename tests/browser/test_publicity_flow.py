"""Award → confirmation → 公示 → 异议 → dismissal → final (the clock moved past the notice), in a real browser."""

from datetime import timedelta

from marketplace import clock
from marketplace.applications import publicity
from marketplace.extensions import db
from tests.browser.test_scenario_flow import sign_in, sign_out
from tests.test_evaluation import closed_scenario, make_application, travel

#: Fixtures shared with the evaluation tests (pytest finds them as names of this module).
SHARED_FIXTURES = (closed_scenario, make_application, travel)
GROUNDS = "拟揭榜单位的报价明显低于成本价，实施计划中的关键里程碑时间不合理，请核查评审打分依据。"


def test_award_publicity_objection_dismissal_final(live_server, page, closed_scenario, make_user, travel):
    scenario, owner, applications = closed_scenario(n=2)
    winner = applications[0]
    objector = make_user("enterprise")
    staff = make_user("district_staff", district=scenario.district.code)

    # The owner awards: the first POST only shows the confirmation; the second performs it.
    sign_in(page, live_server, owner)
    page.goto(f"{live_server}/scenarios/{scenario.id}/evaluation")
    page.check(f'input[name="award-application_id"][value="{winner.id}"]')
    page.click("text=确定揭榜单位")
    assert "不可撤销" in page.locator("[data-irreversible]").inner_text()
    assert winner.organisation.name in page.locator("[data-confirm-summary]").inner_text()
    assert "公示期" in page.locator("[data-confirm-public]").inner_text()
    page.click("[data-confirm-submit]")
    page.wait_for_url(f"{live_server}/scenarios/{scenario.id}/evaluation")
    sign_out(page)

    # The public sees the notice on /publicity and on the scenario page.
    page.goto(f"{live_server}/publicity")
    assert scenario.title in page.locator("[data-publicity-list]").inner_text()
    page.goto(f"{live_server}/scenarios/{scenario.id}")
    assert page.locator('#publicity[data-award-state="publicity"]').count() == 1

    # A firm objects during the notice.
    sign_in(page, live_server, objector)
    page.goto(f"{live_server}/scenarios/{scenario.id}/publicity")
    page.fill("#grounds", GROUNDS)
    page.click("text=提交异议")
    page.wait_for_selector('[data-objection-decision="pending"]')
    sign_out(page)

    # The district's staff dismiss it with a reason.
    sign_in(page, live_server, staff)
    page.goto(f"{live_server}/scenarios/{scenario.id}/publicity")
    assert objector.organisation.name in page.locator("[data-objector]").inner_text()
    objection = publicity.notice_of(db.session, scenario).objections[0]
    page.check(f'input[name="de{objection.id}-decision"][value="dismissed"]')
    page.fill(f"#de{objection.id}-reason", "经核查，报价经成本测算合理，评审打分有据，异议不成立。")
    page.click("text=提交处理结果")
    page.wait_for_selector('[data-objection-decision="dismissed"]')
    assert page.locator('[data-notice-state="open"]').count() == 1  # still within the notice period
    sign_out(page)

    # After the notice ends the award is final: derived from the clock, no job ran.
    db.session.expire_all()
    travel(publicity.notice_of(db.session, scenario).ends_at + timedelta(seconds=1))
    page.goto(f"{live_server}/scenarios/{scenario.id}/publicity")
    assert page.locator('[data-award-state="final"]').count() == 1
    assert page.locator("[data-objector]").count() == 0  # never public
    body = page.request.get(f"{live_server}/api/v1/scenarios/{scenario.id}").json()
    assert body["award"]["status"] == "final"


def test_links_on_tinted_backgrounds_keep_aa_contrast(live_server, page, closed_scenario, make_user):
    """Axe found Bootstrap's link blue below AA contrast on the owner's delivery page during the notice (the
    查看公示 link in the yellow alert, 4.1:1) and on an unread notification (its title and 标为已读, 3.4:1)."""
    from axe_playwright_python.sync_playwright import Axe

    from marketplace.applications import decisions
    from tests.test_evaluation import CRITERIA, declared_expert, score_all, set_criteria
    from tests.test_notifications import add_notification

    scenario, owner, applications = closed_scenario(n=2)
    criteria = set_criteria(scenario, owner, CRITERIA)
    expert, assignment = declared_expert(make_user, scenario, owner)
    for application in applications:
        score_all(expert, assignment, application, criteria, ["80"] * len(criteria))
    decisions.award(db.session, owner, scenario, applications[0].id)
    db.session.commit()
    add_notification(owner, title="异议处理结果：测试场景")

    def contrast_failures() -> list[str]:
        found = Axe().run(page).response["violations"]
        return [str([n["target"] for n in v["nodes"]]) for v in found if v["id"] == "color-contrast"]

    sign_in(page, live_server, owner)
    page.goto(f"{live_server}/scenarios/{scenario.id}/delivery")
    assert page.locator("[data-publicity-pending] a").count() == 1
    assert contrast_failures() == []
    page.goto(f"{live_server}/notifications")
    assert page.locator('[data-unread="true"]').count() >= 1
    assert contrast_failures() == []


def test_list_titles_stay_readable_on_phones(live_server, browser, closed_scenario, make_user):
    """At 390 px the title column of 我的揭榜 and of /publicity shrank to two or three characters a line
    (beside the no-wrap headings and dates); it keeps a readable width and the table scrolls sideways."""
    from marketplace.applications import decisions
    from tests.test_evaluation import CRITERIA, declared_expert, score_all, set_criteria

    scenario, owner, applications = closed_scenario(n=2)
    scenario.title = "城市级公共数据资源开发利用与智能交通信号协同优化平台建设项目"
    db.session.commit()
    criteria = set_criteria(scenario, owner, CRITERIA)
    expert, assignment = declared_expert(make_user, scenario, owner)
    for application in applications:
        score_all(expert, assignment, application, criteria, ["80"] * len(criteria))
    decisions.award(db.session, owner, scenario, applications[0].id)
    db.session.commit()

    context = browser.new_context(locale="zh-CN", viewport={"width": 390, "height": 844})
    page = context.new_page()
    page.set_default_timeout(15000)
    try:
        page.goto(f"{live_server}/publicity")
        cell = page.locator("[data-publicity-list] tbody tr").first.locator("td").first
        assert cell.bounding_box()["width"] >= 150
        sign_in(page, live_server, owner)  # the owner's ranking of the applications
        page.goto(f"{live_server}/scenarios/{scenario.id}/evaluation")
        cell = page.locator(f'tr[data-application="{applications[0].id}"] td').nth(1)
        assert cell.bounding_box()["width"] >= 150
        context.clear_cookies()
        sign_in(page, live_server, applications[0].created_by)
        page.goto(f"{live_server}/my/applications")
        cell = page.locator("#my-applications tbody tr").first.locator("td").first
        assert cell.bounding_box()["width"] >= 150
        assert page.evaluate("document.documentElement.scrollWidth") <= 390  # the table scrolls, not the page
        context.clear_cookies()  # signed out (the phone's menu is folded)
        sign_in(page, live_server, expert)  # the expert's 评审任务 list
        page.goto(f"{live_server}/reviews")
        cell = page.locator("main table tbody tr").first.locator("td").first
        assert cell.bounding_box()["width"] >= 150
    finally:
        context.close()


def test_the_milestone_table_stays_readable_on_phones(live_server, browser, closed_scenario):
    """At 390 px the delivery page's 里程碑 table squeezed its title to a few characters a line and its record form
    (two radios, a note, a button) to one control a line; both keep a readable width and the table scrolls inside
    .table-responsive, not the page (its visually hidden note label, absolutely positioned, had widened the page to
    438 px)."""
    from marketplace.applications import decisions, delivery
    from tests.test_delivery import end_publicity

    scenario, owner, applications = closed_scenario(n=1)
    decisions.award(db.session, owner, scenario, applications[0].id)
    end_publicity(scenario)
    contract = delivery.record_contract(db.session, owner, scenario, applications[0].id, "120", clock.local_today(),
                                        plan_milestones=True)
    contract.milestones[0].title = "完成城市级交通信号数据接入、清洗与质量评估并提交阶段验收报告"
    db.session.commit()

    context = browser.new_context(locale="zh-CN", viewport={"width": 390, "height": 844})
    page = context.new_page()
    page.set_default_timeout(15000)
    try:
        sign_in(page, live_server, owner)
        page.goto(f"{live_server}/scenarios/{scenario.id}/delivery")
        row = page.locator(f'tr[data-milestone="{contract.milestones[0].id}"]')
        assert row.locator("td").first.bounding_box()["width"] >= 150
        assert row.locator("td form").bounding_box()["width"] >= 250  # the record form: radios, note, button
        assert page.evaluate("document.documentElement.scrollWidth") <= 390  # the table scrolls, not the page
    finally:
        context.close()
