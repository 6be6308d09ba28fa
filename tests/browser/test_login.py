"""A real browser signs in through the real login page."""

from tests.conftest import PASSWORD


def test_login_through_the_login_page(live_server, page, make_user):
    user = make_user("city_staff", name="浏览器测试用户")
    page.goto(f"{live_server}/auth/login")
    page.fill('input[name="email"]', user.email)
    page.fill('input[name="password"]', PASSWORD)
    page.click('input[type="submit"]')
    page.wait_for_url(f"{live_server}/dashboard")
    assert "浏览器测试用户" in page.content()
    assert page.locator('[data-nav="users"]').count() == 1


def test_wrong_password_in_the_browser(live_server, page, make_user):
    user = make_user("owner")
    page.goto(f"{live_server}/auth/login")
    page.fill('input[name="email"]', user.email)
    page.fill('input[name="password"]', "wrong-password")
    page.click('input[type="submit"]')
    assert page.locator(".invalid-feedback").first.inner_text().strip() == "邮箱或密码不正确。"
