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
    assert HOSTILE in tooltip_text  # the label is shown, as text
    assert page.locator('.mp-chart img[src="x"]').count() == 0
