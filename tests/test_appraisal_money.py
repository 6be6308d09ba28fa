"""Appraisal money (issue 11.6): a warning when the pool caps everyone in the top N, money in 万元 with two
decimals on every appraisal page and in the export, scores with two decimals, a compact ranking table."""

from __future__ import annotations

import io
import re
from decimal import Decimal

import pytest

from marketplace import formats
from marketplace.appraisal import services
from marketplace.extensions import db
from marketplace.models import Appraisal
from tests.test_appraisal import _form, award, dataset  # noqa: F401  (fixtures)


def test_formatting_helpers():
    assert formats.wan_text(30_000_000) == "3,000.00"
    assert formats.wan_text(4_123_456) == "412.35"
    assert formats.wan_from_yuan(5_000_000) == Decimal("500.00")
    assert formats.wan_text(None) == ""
    assert formats.two_decimals("35.333333") == "35.33" and formats.two_decimals(Decimal("5.755")) == "5.76"
    assert formats.two_decimals(7) == "7.00"


@pytest.mark.parametrize(("pool", "top_n", "warned"), [(30_000_000, 6, True), (30_000_001, 6, True),
                                                        (29_999_900, 6, False), (30_000_000, 7, False)])
def test_cap_warning_when_the_pool_covers_everyone_in_the_top_n(app, pool, top_n, warned):
    with app.test_request_context():
        warning = services.cap_warning(Decimal(pool), Decimal(5_000_000), top_n)
    assert (warning is not None) is warned
    if warned:
        assert "500.00 万元" in warning and "得分高低不再影响奖励金额" in warning


def test_the_settings_form_and_the_page_warn_and_state_the_rule(app, client, make_user, login):
    login(make_user("city_staff", district=None))
    response = client.post("/appraisals/new", data=_form(reward_pool_wan="3000", cap_wan="500", top_n="6"),
                           follow_redirects=True)
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and 'id="cap-warning"' in html and "3,000.00 万元" in html
    assert "得分高低不再影响奖励" in html  # the rule text on the page
    appraisal = db.session.query(Appraisal).one()
    assert appraisal.reward_pool_yuan == 30_000_000 and appraisal.cap_yuan == 5_000_000
    assert 'id="cap-warning"' in client.get(f"/appraisals/{appraisal.id}/edit").get_data(as_text=True)
    # Below N × cap there is no warning.
    client.post(f"/appraisals/{appraisal.id}/edit", data=_form(reward_pool_wan="2400.50", cap_wan="500", top_n="6"))
    page = client.get(f"/appraisals/{appraisal.id}").get_data(as_text=True)
    assert 'id="cap-warning"' not in page and "2,400.50 万元" in page


@pytest.mark.parametrize(("field", "value", "message"), [("reward_pool_wan", "1.234", "最多两位小数"),
                                                          ("reward_pool_wan", "很多", "必须是数字"),
                                                          ("reward_pool_wan", "-5", "不小于 0"),
                                                          ("cap_wan", "0", "必须大于 0")])
def test_bad_amounts_get_field_errors(client, make_user, login, field, value, message):
    login(make_user("city_staff", district=None))
    response = client.post("/appraisals/new", data=_form(**{field: value}))
    assert response.status_code == 422 and message in response.get_data(as_text=True)
    assert db.session.query(Appraisal).count() == 0


def test_pages_and_export_show_wan_and_two_decimal_scores(dataset,  # noqa: F811
                                                            client, make_user, login):
    import openpyxl

    login(make_user("city_staff", district=None))
    client.post("/appraisals/new", data=_form(reward_pool_wan="1200", cap_wan="500", top_n="3"))
    appraisal = db.session.query(Appraisal).one()
    for path in (f"/appraisals/{appraisal.id}", f"/appraisals/{appraisal.id}/print", "/appraisals"):
        html = client.get(path).get_data(as_text=True)
        assert "（元）" not in html and " 元 " not in html, path
        assert "万元" in html
    html = client.get(f"/appraisals/{appraisal.id}").get_data(as_text=True)
    table = html[html.index('id="ranking"'):html.index("</table>", html.index('id="ranking"'))]
    assert re.search(r"\d\.\d{3,}", table) is None  # no score, share or amount with more than two decimals
    assert re.findall(r'<td class="text-end fw-bold">([^<]+)</td>', table)
    assert all(re.fullmatch(r"\d+\.\d\d", s) for s in re.findall(r'<td class="text-end fw-bold">([^<]+)</td>', table))
    assert '<div class="table-responsive">' in html and "ranking small" in html
    book = openpyxl.load_workbook(io.BytesIO(client.get(f"/appraisals/{appraisal.id}/export.xlsx").data))
    sheet = book["排名"]
    assert sheet["C2"].value == "奖励资金总额（万元）" and Decimal(str(sheet["D2"].value)) == Decimal("1200")
    assert sheet["E2"].value == "单个区县上限（万元）" and Decimal(str(sheet["F2"].value)) == Decimal("500")
    header = [c.value for c in sheet[3]]
    assert header[-1] == "奖励（万元）" and not any("（元）" in str(h) for h in header)
    assert sheet.cell(row=4, column=len(header)).number_format == "#,##0.00"
