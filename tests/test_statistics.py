"""District dashboard, public statistics and ``/api/v1/statistics`` on a small hand-built data set.

The data set (fixture ``data``) has known answers, written out next to it. Besides the counts,
the tests follow every number's link and check that the list behind it has the same count,
that sealed applications and unpublished scenarios never show, and who may see what.
"""

from __future__ import annotations

import io
import re
from datetime import date, datetime, timedelta
from decimal import Decimal
from urllib.parse import urlsplit

import pytest

STAFF_PATHS = [
    "/dashboard/districts",
    "/dashboard/districts/data.json",
    "/dashboard/districts/export.xlsx?table=funnel",
    "/dashboard/districts/scenarios?stage=awarded",
    "/dashboard/districts/milestones",
    "/dashboard/districts/firms",
]
SEALED_FIRM = "封存测试科技有限公司"
SEALED_PRICE = "987654.32"


def local(year: int, month: int, day: int) -> datetime:
    from marketplace import clock

    return clock.local_to_utc(datetime(year, month, day, 10, 0))


# ---------------------------------------------------------------- the data set
#
# 渝中区 (yuzhong)                                    date         domain    winner (amount)
#   d0  draft                                           —            ai        — never counted
#   s1  submitted                                       2025-03-10   ai
#   s2  returned                                        2025-03-12   ai
#   s3  published, deadline in 3 days  → open, near     2025-03-01   ai
#   s4  published, deadline in 20 days → open           2025-04-01   software
#   s5  published, deadline 2 days ago → closed         2025-04-05   ai
#   s6  awarded                                         2025-02-01   ai        yuzhong firm, quote 100
#   s7  in_delivery (one milestone overdue)             2024-06-01   ai        jiangbei firm, contract 200
#   s8  accepted, demonstration                         2024-05-01   software  "other" firm, contract 300
#   s9  unsuccessful                                    2024-07-01   ai
#   s10 withdrawn                                       2025-01-05   ai
# 江北区 (jiangbei)
#   j1  accepted                                        2025-05-01   ai        jiangbei firm, contract 50
#   j2  submitted                                       2025-05-02   ai
#   j3  published, open, sealed bids                    (yesterday)  ai        — a bid, and one wrongly marked selected
#
# Firms settled this year: two in yuzhong (and one last year), one in jiangbei.


@pytest.fixture
def data(app, make_org, make_scenario):
    from marketplace import clock
    from marketplace.extensions import db
    from marketplace.models import (
        Application,
        ApplicationStatus,
        Contract,
        Demonstration,
        Domain,
        EnterpriseProfile,
        Milestone,
        MilestoneStatus,
    )

    now = clock.now()
    software = db.session.query(Domain).filter_by(code="software").one()

    def scenario(status, district="yuzhong", day=None, submitted=None, **fields):
        if day is not None:
            fields["published_at"] = day
        if submitted is not None:
            fields["submitted_at"] = submitted
        return make_scenario(status, district=district, **fields)

    def firm(district, name=None, settled=None):
        organisation = make_org("software_enterprise", district=district, name=name)  # with its empty profile
        if settled is not None:
            db.session.query(EnterpriseProfile).filter_by(organisation_id=organisation.id).one().settled_year = settled
            db.session.commit()
        return organisation

    def award(target, organisation, price, contract=None):
        application = Application(scenario=target, organisation=organisation, status=ApplicationStatus.SELECTED,
                                  price_wan=Decimal(price), summary="方案", submitted_at=target.deadline - timedelta(1))
        db.session.add(application)
        db.session.flush()
        signed = None
        if contract is not None:
            signed = Contract(scenario=target, application=application, amount_wan=Decimal(contract),
                              signed_on=date(2025, 1, 1))
            db.session.add(signed)
        db.session.commit()
        return signed

    past = {"deadline": now - timedelta(days=300)}
    s = {
        "d0": scenario("draft"),
        "s1": scenario("submitted", submitted=local(2025, 3, 10)),
        "s2": scenario("returned", submitted=local(2025, 3, 12)),
        "s3": scenario("published", day=local(2025, 3, 1), deadline=now + timedelta(days=3)),
        "s4": scenario("published", day=local(2025, 4, 1), deadline=now + timedelta(days=20), domain=software),
        "s5": scenario("published", day=local(2025, 4, 5), deadline=now - timedelta(days=2)),
        "s6": scenario("awarded", day=local(2025, 2, 1), **past),
        "s7": scenario("in_delivery", day=local(2024, 6, 1), **past),
        "s8": scenario("accepted", day=local(2024, 5, 1), domain=software, **past),
        "s9": scenario("unsuccessful", day=local(2024, 7, 1), **past),
        "s10": scenario("withdrawn", submitted=local(2025, 1, 5)),
        "j1": scenario("accepted", district="jiangbei", day=local(2025, 5, 1), **past),
        "j2": scenario("submitted", district="jiangbei", submitted=local(2025, 5, 2)),
        "j3": scenario("published", district="jiangbei", deadline=now + timedelta(days=10)),
    }
    award(s["s6"], firm("yuzhong"), "100")
    contract = award(s["s7"], firm("jiangbei"), "180", contract="200")
    award(s["s8"], firm("other"), "290", contract="300")
    award(s["j1"], firm("jiangbei"), "45", contract="50")
    today = clock.local_today()
    db.session.add_all([
        Milestone(contract=contract, title="需求确认", due_on=today - timedelta(days=40), status=MilestoneStatus.MET),
        Milestone(contract=contract, title="系统上线", due_on=today - timedelta(days=5),
                  status=MilestoneStatus.PENDING),
        Milestone(contract=contract, title="试运行", due_on=today + timedelta(days=30), status=MilestoneStatus.PENDING),
    ])
    sealed_firm = firm("jiangbei", name=SEALED_FIRM)
    db.session.add_all([
        Application(scenario=s["j3"], organisation=sealed_firm, status=ApplicationStatus.SUBMITTED,
                    price_wan=Decimal(SEALED_PRICE), summary="封存的方案"),
        # Wrongly marked selected before the deadline: still sealed, never counted.
        Application(scenario=s["j3"], organisation=firm("yuzhong"), status=ApplicationStatus.SELECTED,
                    price_wan=Decimal(SEALED_PRICE), summary="封存的方案"),
    ])
    firm("yuzhong", settled=today.year)
    firm("yuzhong", settled=today.year)
    firm("yuzhong", settled=today.year - 1)
    firm("jiangbei", settled=today.year)
    # s8 became a published demonstration project.
    db.session.add(Demonstration(scenario_id=s["s8"].id, year=2025, title=s["s8"].title, published_at=now))
    db.session.commit()
    return s


def _scope(district=None, year=None):
    from marketplace.extensions import db
    from marketplace.models import District
    from marketplace.statistics.scope import Scope

    row = db.session.query(District).filter_by(code=district).one() if district else None
    return Scope(row, year)


def _values(table, column="count") -> dict[str, object]:
    return {row.key: row.cells[column].value for row in table.rows}


# ---------------------------------------------------------------- the numbers


def test_district_funnel_status_and_domain_counts(data):
    from marketplace.extensions import db
    from marketplace.statistics.figures import dashboard

    board = dashboard(db.session, _scope("yuzhong"))
    assert _values(board.table("funnel")) == {"collected": 10, "published": 7, "awarded": 3, "in_delivery": 2,
                                              "accepted": 1, "demonstration": 1}
    assert board.table("funnel").cell("awarded", "rate").value == Decimal(3) / 10
    assert _values(board.table("status")) == {"submitted": 1, "returned": 1, "open": 2, "closed": 1, "publicity": 0,
                                              "awarded": 1, "in_delivery": 1, "accepted": 1, "unsuccessful": 1,
                                              "withdrawn": 1}
    domain = board.table("domain")
    assert {c: domain.cell("ai", c).value for c in ("collected", "published", "awarded", "accepted")} == {
        "collected": 8, "published": 5, "awarded": 2, "accepted": 0}
    assert {c: domain.cell("software", c).value for c in ("collected", "published", "awarded", "accepted")} == {
        "collected": 2, "published": 2, "awarded": 1, "accepted": 1}
    assert "districts" not in [t.key for t in board.tables]  # one district: no side-by-side table


def test_funding_and_local_shares(data):
    from marketplace.extensions import db
    from marketplace.statistics.figures import dashboard

    funding = dashboard(db.session, _scope("yuzhong")).table("funding")
    # s6: quote 100 (no contract, yuzhong firm); s7: contract 200 (jiangbei firm); s8: contract 300 ("other" firm).
    assert funding.cell("all", "amount").value == Decimal("600.00")
    assert funding.cell("all", "projects").value == 3
    assert funding.cell("district", "projects").value == 1
    assert funding.cell("district", "amount").value == Decimal("100.00")
    assert funding.cell("district", "project_share").value == Decimal(1) / 3
    assert funding.cell("district", "amount_share").value == Decimal(100) / 600
    assert funding.cell("city", "projects").value == 2
    assert funding.cell("city", "amount").value == Decimal("300.00")
    assert funding.cell("city", "amount_share").value == Decimal("0.5")


def test_alerts_near_deadline_overdue_milestones_new_firms(data):
    from marketplace import clock
    from marketplace.extensions import db
    from marketplace.statistics.figures import dashboard

    board = dashboard(db.session, _scope("yuzhong"))
    assert _values(board.table("alerts")) == {"near_deadline": 1, "overdue": 1, "new_firms": 2}
    assert [f.id for f in board.near_deadline] == [data["s3"].id]
    assert [m.title for m in board.overdue] == ["系统上线"] and board.overdue[0].days_overdue == 5
    assert board.firms_year == clock.local_today().year
    jiangbei = dashboard(db.session, _scope("jiangbei"))
    assert _values(jiangbei.table("alerts")) == {"near_deadline": 0, "overdue": 0, "new_firms": 1}


def test_year_scope_is_a_cohort(data):
    from marketplace.extensions import db
    from marketplace.statistics.figures import dashboard

    board = dashboard(db.session, _scope("yuzhong", 2025))
    # 2025: s1, s2 (submitted), s3, s4, s5 (published), s6 (awarded), s10 (withdrawn).
    assert _values(board.table("funnel"))["collected"] == 7
    assert _values(board.table("funnel"))["published"] == 4
    assert _values(board.table("funnel"))["awarded"] == 1
    month = board.table("month")
    assert [r.key for r in month.rows] == [f"2025-{m:02d}" for m in range(1, 13)]
    assert (month.cell("2025-03", "collected").value, month.cell("2025-03", "published").value) == (3, 1)
    assert board.table("funding").cell("all", "amount").value == Decimal("100.00")
    previous = dashboard(db.session, _scope("yuzhong", 2024))
    assert _values(previous.table("funnel"))["collected"] == 3


def test_city_view_puts_every_district_side_by_side(data):
    from marketplace.extensions import db
    from marketplace.statistics.figures import dashboard

    board = dashboard(db.session, _scope())
    districts = board.table("districts")
    assert len(districts.rows) == 12
    assert {c: districts.cell("yuzhong", c).value for c in ("collected", "published", "awarded", "accepted")} == {
        "collected": 10, "published": 7, "awarded": 3, "accepted": 1}
    assert {c: districts.cell("jiangbei", c).value for c in ("collected", "published", "awarded", "accepted")} == {
        "collected": 3, "published": 2, "awarded": 1, "accepted": 1}
    assert districts.cell("jiangbei", "funding").value == Decimal("50.00")
    assert districts.cell("jiangbei", "district_share").value == Decimal(1)
    assert districts.cell("nanan", "district_share").value is None  # nothing awarded: no share, not 0 %
    assert districts.cell("yuzhong", "overdue").value == 1
    assert districts.cell("yuzhong", "new_firms").value == 2
    # The sealed quote on the open scenario j3 is never added.
    assert board.table("funding").cell("all", "amount").value == Decimal("650.00")


def test_closed_is_derived_from_the_clock(data, monkeypatch):
    from marketplace import clock
    from marketplace.extensions import db
    from marketplace.statistics.figures import dashboard

    assert _values(dashboard(db.session, _scope("yuzhong")).table("status"))["closed"] == 1
    later = clock.now() + timedelta(days=25)
    monkeypatch.setattr(clock, "now", lambda: later)
    status = _values(dashboard(db.session, _scope("yuzhong")).table("status"))
    assert (status["open"], status["closed"]) == (0, 3)


def test_public_statistics_count_public_scenarios_only(data):
    from marketplace import clock
    from marketplace.extensions import db
    from marketplace.statistics.figures import public_statistics

    figures = public_statistics(db.session, _scope())
    assert figures.total == 9  # 7 in yuzhong + j1, j3; no draft, submitted, returned or withdrawn
    assert _values(figures.table("status")) == {"open": 3, "closed": 1, "publicity": 0, "awarded": 1, "in_delivery": 1,
                                                "accepted": 2, "unsuccessful": 1}
    district = figures.table("district")
    assert {c.key: district.cell("yuzhong", c.key).value for c in district.columns} == {
        "total": 7, "open": 2, "closed": 1, "publicity": 0, "awarded": 1, "in_delivery": 1, "accepted": 1, "unsuccessful": 1}
    assert district.cell("jiangbei", "total").value == 2
    assert _values(figures.table("year"), "total") == {"2024": 3, "2025": 5, str(clock.local_today().year): 1}
    assert figures.table("domain").cell("software", "total").value == 2
    assert public_statistics(db.session, _scope("jiangbei", 2025)).total == 1


def test_every_public_number_opens_a_list_with_that_many_scenarios(client, data):
    body = client.get("/statistics/data.json").json
    checked = 0
    for table in body["tables"]:
        for row in table["rows"]:
            for cell in row["cells"].values():
                assert cell["url"], (table["key"], row["key"])
                assert _listed(client, cell["url"]) == cell["value"], (table["key"], row["key"], cell["url"])
                checked += 1
    assert checked > 100


def _listed(client, url: str) -> int:
    """How many records the list at ``url`` says it shows."""
    parts = urlsplit(url)
    response = client.get(parts.path + ("?" + parts.query if parts.query else ""))
    assert response.status_code == 200, url
    html = response.get_data(as_text=True)
    found = re.search(r'data-count="(\d+)"', html) or re.search(r'id="result-count">\D*(\d+)', html)
    assert found, url
    return int(found.group(1))


@pytest.mark.parametrize("query", ["", "district=yuzhong", "year=2025", "district=yuzhong&year=2024"])
def test_every_dashboard_number_opens_its_records(client, make_user, login, data, query):
    login(make_user("city_staff", district=None))
    body = client.get(f"/dashboard/districts/data.json?{query}").json
    checked = 0
    for table in body["tables"]:
        counts = {c["key"] for c in table["columns"] if c["format"] == "count"}
        for row in table["rows"]:
            for key, cell in row["cells"].items():
                assert cell["url"], (table["key"], row["key"], key)
                if key in counts:
                    assert _listed(client, cell["url"]) == cell["value"], (table["key"], row["key"], key, cell["url"])
                    checked += 1
    assert checked > 40


def test_records_page_links_to_the_public_list_when_it_can(client, make_user, login, data):
    login(make_user("district_staff", district="yuzhong"))
    html = client.get("/dashboard/districts/scenarios?status=open").get_data(as_text=True)
    assert "/scenarios?district=yuzhong&amp;status=open" in html
    html = client.get("/dashboard/districts/scenarios?stage=collected").get_data(as_text=True)
    assert "在公开场景清单中查看" not in html  # includes scenarios under review
    html = client.get("/dashboard/districts/scenarios?stage=awarded&winner=district").get_data(as_text=True)
    assert 'data-count="1"' in html and data["s6"].title in html


# ---------------------------------------------------------------- nothing sealed, nothing unpublished


def test_public_pages_and_api_show_no_sealed_or_unpublished_data(client, data):
    pages = ["/statistics", "/statistics/data.json", "/api/v1/statistics", "/statistics/scenarios?year=2025",
             "/statistics/scenarios?district=jiangbei", "/api/v1/statistics?district=jiangbei",
             "/statistics/export.xlsx?table=district"]
    hidden = [data[key] for key in ("d0", "s1", "s2", "s10", "j2")]
    for path in pages:
        response = client.get(path)
        assert response.status_code == 200, path
        text = _xlsx_text(response.data) if ".xlsx" in path else response.get_data(as_text=True)
        assert SEALED_FIRM not in text and "987654" not in text and "987,654" not in text, path
        for scenario in hidden:
            assert f'data-id="{scenario.id}"' not in text, path
        if "json" in path or "/api/" in path:
            for word in ("price", "amount", "funding", "firm", "winner", "applic"):
                assert word not in text.lower(), (path, word)
    listed = client.get("/statistics/scenarios?year=2025").get_data(as_text=True)
    assert 'data-count="5"' in listed
    assert client.get("/statistics/scenarios?status=submitted").status_code == 400
    assert client.get("/statistics/scenarios?stage=collected").status_code == 400


def _xlsx_text(content: bytes) -> str:
    import openpyxl

    workbook = openpyxl.load_workbook(io.BytesIO(content))
    return " ".join(str(v) for sheet in workbook.worksheets for row in sheet.iter_rows(values_only=True) for v in row)


def test_staff_never_see_sealed_bids_either(client, make_user, login, data):
    login(make_user("city_staff", district=None))
    for path in ("/dashboard/districts", "/dashboard/districts/data.json",
                 "/dashboard/districts/scenarios?district=jiangbei",
                 "/dashboard/districts/scenarios?district=jiangbei&winner=any"):
        text = client.get(path).get_data(as_text=True)
        assert SEALED_FIRM not in text and "987,654" not in text and "987654" not in text, path
    html = client.get("/dashboard/districts/scenarios?district=jiangbei&winner=any").get_data(as_text=True)
    assert 'data-count="1"' in html  # only j1, awarded after its deadline


# ---------------------------------------------------------------- who may see what


@pytest.mark.parametrize("path", STAFF_PATHS)
def test_anonymous_is_sent_to_login(client, path):
    response = client.get(path)
    if path.split("?")[0].endswith(".json"):  # chart data: a JSON 401, not a page redirect
        assert response.status_code == 401 and response.get_json()["error"]["status"] == 401
    else:
        assert response.status_code == 302 and "/auth/login" in response.headers["Location"]


@pytest.mark.parametrize("role", ["owner", "enterprise", "expert"])
@pytest.mark.parametrize("path", STAFF_PATHS)
def test_other_roles_are_refused(client, make_user, login, role, path):
    login(make_user(role))
    response = client.get(path)
    assert response.status_code == 403
    if ".json" in path:  # chart data answers errors as JSON, like the API
        assert response.json["error"]["status"] == 403


@pytest.mark.parametrize("path", STAFF_PATHS)
def test_district_staff_see_their_own_district_only(client, make_user, login, data, path):
    login(make_user("district_staff", district="yuzhong"))
    assert client.get(path).status_code == 200
    joiner = "&" if "?" in path else "?"
    assert client.get(f"{path}{joiner}district=yuzhong").status_code == 200
    response = client.get(f"{path}{joiner}district=jiangbei")
    assert response.status_code == 403
    if path.endswith(".json"):
        assert response.json["error"]["status"] == 403


def test_district_staff_dashboard_is_their_district(client, make_user, login, data):
    login(make_user("district_staff", district="yuzhong"))
    html = client.get("/dashboard/districts").get_data(as_text=True)
    assert "渝中区" in html and 'name="district"' not in html  # no district selector for district staff
    body = client.get("/dashboard/districts/data.json").json
    assert body["scope"]["district"] == "yuzhong"
    assert "districts" not in [t["key"] for t in body["tables"]]
    records = client.get("/dashboard/districts/scenarios").get_data(as_text=True)
    assert f'data-id="{data["j1"].id}"' not in records and 'data-count="10"' in records


@pytest.mark.parametrize("role", ["district_staff", "city_staff"])
def test_navigation_shows_the_dashboard_to_staff(client, make_user, login, role):
    login(make_user(role))
    assert 'data-nav="district_dashboard"' in client.get("/dashboard").get_data(as_text=True)


def test_navigation_hides_the_dashboard_from_others(client, make_user, login):
    assert 'data-nav="statistics"' in client.get("/statistics").get_data(as_text=True)
    login(make_user("owner"))
    assert 'data-nav="district_dashboard"' not in client.get("/statistics").get_data(as_text=True)


# ---------------------------------------------------------------- pages, exports, bad input


def test_pages_render_charts_tables_and_exports(client, make_user, login, data):
    html = client.get("/statistics").get_data(as_text=True)
    assert "vendor/echarts/echarts.min.js" in html and "js/charts.js" in html
    assert 'data-chart-src="/statistics/data.json"' in html
    assert html.count('class="mp-chart"') == 4 and "/statistics/export.xlsx?table=district" in html
    login(make_user("city_staff", district=None))
    html = client.get("/dashboard/districts").get_data(as_text=True)
    assert html.count('class="mp-chart"') == 8
    assert "/dashboard/districts/export.xlsx?table=districts" in html
    for asset in ("/static/vendor/echarts/echarts.min.js", "/static/js/charts.js"):
        with client.get(asset) as response:
            assert response.status_code == 200, asset


@pytest.mark.parametrize("table", ["districts", "funnel", "status", "domain", "batch", "month", "funding", "alerts"])
def test_xlsx_export_has_the_same_numbers(client, make_user, login, data, table):
    import openpyxl

    login(make_user("city_staff", district=None))
    expected = next(t for t in client.get("/dashboard/districts/data.json").json["tables"] if t["key"] == table)
    response = client.get(f"/dashboard/districts/export.xlsx?table={table}")
    assert response.status_code == 200 and response.mimetype.endswith("spreadsheetml.sheet")
    sheet = openpyxl.load_workbook(io.BytesIO(response.data)).worksheets[0]
    rows = list(sheet.iter_rows(values_only=True))
    assert list(rows[0][1:]) == [c["label"] for c in expected["columns"]]
    assert [r[0] for r in rows[1:]] == [r["label"] for r in expected["rows"]]
    for row, line in zip(expected["rows"], rows[1:], strict=True):
        for column, value in zip(expected["columns"], line[1:], strict=True):
            shown = row["cells"][column["key"]]["value"]
            if column["format"] == "percent" and value is not None:
                value = round(float(value) * 100, 1)
            assert (value if value is None else pytest.approx(float(value))) == shown, (row["key"], column["key"])


def test_public_xlsx_export(client, data):
    import openpyxl

    response = client.get("/statistics/export.xlsx?table=district&year=2025")
    sheet = openpyxl.load_workbook(io.BytesIO(response.data)).worksheets[0]
    by_row = {r[0]: r[1:] for r in sheet.iter_rows(min_row=2, values_only=True)}
    assert by_row["渝中区"][0] == 4 and by_row["江北区"][0] == 1


@pytest.mark.parametrize(("path", "status"), [
    ("/dashboard/districts/export.xlsx?table=nope", 400),
    ("/dashboard/districts/export.xlsx", 400),
    ("/dashboard/districts/export.xlsx?table=districts&district=yuzhong", 400),
    ("/dashboard/districts/scenarios?stage=nope", 400),
    ("/dashboard/districts/scenarios?month=2025-13", 400),
    ("/dashboard/districts/scenarios?domain=nope", 400),
    ("/dashboard/districts/scenarios?batch=abc", 400),
    ("/dashboard/districts/scenarios?year=99999", 400),
    ("/dashboard/districts/firms?year=abc", 400),
    ("/dashboard/districts/milestones?district=atlantis", 400),
])
def test_bad_staff_parameters_are_clear_400s(client, make_user, login, path, status):
    login(make_user("city_staff", district=None))
    response = client.get(path)
    assert response.status_code == status
    assert "参数有误" in response.get_data(as_text=True)


def test_bad_parameters_on_pages_fall_back_with_a_message(client, make_user, login):
    response = client.get("/statistics?year=abc&district=atlantis")
    assert response.status_code == 200 and "参数有误" in response.get_data(as_text=True)
    login(make_user("city_staff", district=None))
    response = client.get("/dashboard/districts?year=1800")
    assert response.status_code == 200 and "参数有误" in response.get_data(as_text=True)
    response = client.get("/dashboard/districts/data.json?year=x")
    assert response.status_code == 400 and response.json["error"]["fields"]["year"]


# ---------------------------------------------------------------- the API


def test_api_envelope_and_counts(client, data):
    response = client.get("/api/v1/statistics")
    assert response.status_code == 200 and response.mimetype == "application/json"
    body = response.json
    assert set(body) == {"filters", "generated_at", "total", "statuses", "by_status", "by_district", "by_domain",
                         "by_year"}
    assert body["filters"] == {"year": None, "district": None} and body["total"] == 9
    assert {s["status"]: s["count"] for s in body["by_status"]}["accepted"] == 2
    yuzhong = next(d for d in body["by_district"] if d["district"] == "yuzhong")
    assert yuzhong["name"] == "渝中区" and yuzhong["total"] == 7
    assert yuzhong["by_status"] == {"open": 2, "closed": 1, "publicity": 0, "awarded": 1, "in_delivery": 1, "accepted": 1,
                                    "unsuccessful": 1}
    assert yuzhong["url"] == "http://localhost/scenarios?district=yuzhong"
    assert {y["year"]: y["total"] for y in body["by_year"]}[2024] == 3
    assert next(y for y in body["by_year"] if y["year"] == 2024)["url"].startswith(
        "http://localhost/statistics/scenarios?")


def test_api_filters(client, data):
    body = client.get("/api/v1/statistics?year=2025&district=yuzhong").json
    assert body["filters"] == {"year": 2025, "district": "yuzhong"}
    assert body["total"] == 4
    assert [d["district"] for d in body["by_district"]] == ["yuzhong"]
    assert [y["year"] for y in body["by_year"]] == [2025]


@pytest.mark.parametrize(("query", "field"), [
    ("year=abc", "year"), ("year=1999", "year"), ("year=2101", "year"), ("year=99999999999999999999", "year"),
    ("district=atlantis", "district"), ("district=yuzhong&year=x", "year"),
])
def test_api_bad_parameters_are_400(client, query, field):
    response = client.get(f"/api/v1/statistics?{query}")
    assert response.status_code == 400
    error = response.json["error"]
    assert error["status"] == 400 and "参数有误" in error["message"] and error["fields"][field]
