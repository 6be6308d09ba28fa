"""Owner → district → public, in a real browser."""

from datetime import timedelta

from marketplace import clock
from tests.conftest import PASSWORD
from tests.scenario_factory import PDF


def sign_in(page, base, user):
    page.goto(f"{base}/auth/login")
    page.fill('input[name="email"]', user.email)
    page.fill('input[name="password"]', PASSWORD)
    page.click('input[type="submit"]')
    page.wait_for_url(f"{base}/dashboard")


def sign_out(page):
    page.click("#userMenu")
    page.click("text=退出登录")


def test_owner_district_public_path(live_server, page, make_user, tmp_path):
    owner = make_user("owner", district="yuzhong")
    staff = make_user("district_staff", district="yuzhong")
    evidence = tmp_path / "资金证明.pdf"
    evidence.write_bytes(PDF)

    # The owner drafts, is told what is missing, completes and submits.
    sign_in(page, live_server, owner)
    page.goto(f"{live_server}/scenarios/new")
    page.fill("#title", "轨道交通客流智能预测平台")
    page.click("#submit_for_review")
    assert page.locator('[data-gate-field="boundary"]').count() == 1
    page.fill("#description", "早晚高峰轨道站点客流拥挤，需要提前预测并调度运力。")
    page.fill("#boundary", "包括：20个重点站点客流预测。不包括：闸机硬件改造。")
    page.fill("#acceptance", "15分钟客流预测误差不超过10%。")
    page.select_option("#domain", "ai")
    page.select_option("#theme", "smart_city")
    page.select_option("#funding_source", "fiscal")
    page.fill("#budget_wan", "460")
    deadline = clock.to_local(clock.now() + timedelta(days=20)).strftime("%Y-%m-%dT%H:%M")
    page.fill("#deadline", deadline)
    page.fill("#delivery_months", "9")
    page.fill("#contact_phone", "023-63008888")
    page.set_input_files("#funding_evidence", str(evidence))
    page.click("#submit_for_review")
    page.wait_for_selector('[data-status="submitted"]')
    sign_out(page)

    # District staff return it with a reason; the owner fixes and resubmits.
    sign_in(page, live_server, staff)
    page.goto(f"{live_server}/review")
    page.click("text=轨道交通客流智能预测平台")
    page.fill("#return-reason", "请补充系统可用性指标。")
    page.click("text=退回修改")
    page.wait_for_selector('[data-status="returned"]')
    sign_out(page)
    sign_in(page, live_server, owner)
    page.goto(f"{live_server}/my/scenarios")
    page.click("text=轨道交通客流智能预测平台")
    assert "请补充系统可用性指标" in page.content()
    page.click("text=编辑")
    page.fill("#acceptance", "15分钟客流预测误差不超过10%；系统可用性不低于99.9%。")
    page.click("#submit_for_review")
    page.wait_for_selector('[data-status="submitted"]')
    sign_out(page)

    # District staff publish it into a new district batch.
    sign_in(page, live_server, staff)
    page.goto(f"{live_server}/review")
    page.click("text=轨道交通客流智能预测平台")
    page.fill("#new_batch_name", "2025年渝中区第5批应用场景清单")
    page.click("text=审核通过并发布")
    assert "不可撤销" in page.locator("[data-irreversible]").inner_text()  # the server-side confirmation step
    page.click("[data-confirm-submit]")
    page.wait_for_selector('[data-status="published"]')
    sign_out(page)

    # The public finds it, filtered by district and sorted by deadline.
    page.goto(f"{live_server}/scenarios?district=yuzhong&sort=deadline")
    assert "轨道交通客流智能预测平台" in page.content()
    page.click("text=轨道交通客流智能预测平台")
    # countdown.js fills the deadline in once the page has loaded (fails after the default timeout if never).
    page.wait_for_function("document.querySelector('.countdown').textContent !== '—'")
    assert "2025年渝中区第5批应用场景清单" in page.content()
