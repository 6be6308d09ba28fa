"""Chart tooltips show labels as text: a batch name carrying markup never runs as script (stored XSS)."""

from datetime import date

from tests.browser.test_scenario_flow import sign_in

HOSTILE = "批次<img src=x onerror=alert(1)>"


def test_hovering_the_batch_chart_runs_no_script(live_server, page, make_user, make_scenario):
    from marketplace.extensions import db
    from marketplace.models import Batch, BatchLevel, BatchStage, District

    yuzhong = db.session.query(District).filter_by(code="yuzhong").one()
    batch = Batch(name=HOSTILE, level=BatchLevel.DISTRICT, district=yuzhong, stage=BatchStage.COLLECT,
                  published_on=date.today())
    make_scenario(batch=batch)
    staff = make_user("city_staff")

    dialogs: list[str] = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    violations: list[str] = []  # the charts (ECharts included) work under the Content-Security-Policy
    page.on("console", lambda message: "Content Security Policy" in message.text and violations.append(message.text))
    sign_in(page, live_server, staff)
    page.goto(f"{live_server}/dashboard/districts")
    chart = page.locator('.mp-chart[data-table="batch"]')
    chart.scroll_into_view_if_needed()
    page.wait_for_selector('.mp-chart[data-table="batch"][data-rendered="true"]')
    box = chart.bounding_box()
    assert box is not None
    # Sweep the plot area: the axis tooltip opens over the bar's category.
    for fx in (0.3, 0.5, 0.7):
        for fy in (0.3, 0.5, 0.7):
            page.mouse.move(box["x"] + box["width"] * fx, box["y"] + box["height"] * fy)
            page.wait_for_timeout(150)
    tooltip_text = page.evaluate(
        "() => Array.from(document.querySelectorAll('.mp-chart div')).map(d => d.textContent).join('|')")
    page.wait_for_timeout(500)  # an onerror handler of a broken <img> fires asynchronously
    assert dialogs == []
    assert violations == []
    assert HOSTILE in tooltip_text  # the label is shown, as text
    assert page.locator('.mp-chart img[src="x"]').count() == 0


def test_print_button_and_confirmation_work_without_inline_handlers(live_server, page, make_user):
    """The two behaviours moved out of inline handlers into static/js/site.js still run."""
    staff = make_user("city_staff")
    sign_in(page, live_server, staff)
    page.goto(f"{live_server}/dashboard")
    page.evaluate("""() => {
        window.__printed = 0; window.print = () => { window.__printed += 1; };
        const button = document.createElement('button'); button.type = 'button'; button.id = 'p';
        button.setAttribute('data-print', ''); document.body.appendChild(button);
        const form = document.createElement('form'); form.id = 'f'; form.method = 'get'; form.action = '/scenarios';
        form.dataset.confirm = '确定？'; form.innerHTML = '<button id="s" type="submit">go</button>';
        document.body.appendChild(form);
    }""")
    page.click("#p")
    assert page.evaluate("window.__printed") == 1
    page.once("dialog", lambda dialog: dialog.dismiss())
    page.click("#s")
    page.wait_for_timeout(300)
    assert page.url.endswith("/dashboard")  # refused in the confirmation: not submitted
