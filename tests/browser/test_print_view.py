"""The scenario print view in a real browser: 打印 calls ``window.print()`` from a static script (the CSP forbids
inline ones), nothing is refused by the CSP, and the print media hides the buttons."""

from __future__ import annotations


def test_print_button_prints_without_csp_errors(live_server, page, make_scenario):
    scenario = make_scenario("published")
    errors: list[str] = []
    page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
    page.add_init_script("window.__printed = 0; window.print = function () { window.__printed += 1; };")

    page.goto(f"{live_server}/scenarios/{scenario.id}")
    page.click("#print-link")
    page.wait_for_url(f"**/scenarios/{scenario.id}/print")
    assert page.locator("h1").inner_text() == scenario.title
    assert page.locator("nav.navbar").count() == 0

    page.click("[data-print]")
    assert page.evaluate("window.__printed") == 1
    assert not [e for e in errors if "Content Security Policy" in e], errors

    page.emulate_media(media="print")
    assert not page.locator("[data-print]").is_visible()
