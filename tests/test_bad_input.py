"""Bad ids, page numbers and bytes never cause a server error, on every route (generated from
``app.url_map``, so a new route cannot escape): ids beyond the 32-bit columns are 404 from routing,
page numbers beyond the lists' range are 400, and a NUL character in a query string, a form field or
the path is refused with 400 before any view runs (PostgreSQL text cannot hold one)."""

from __future__ import annotations

import io

import pytest
from werkzeug.routing import AnyConverter, IntegerConverter

HUGE_IDS = [2**31, 2**63, 10**30]
HUGE_PAGE = "99999999999999999999999"
#: API lists: an impossible page is a 400 in the JSON envelope.
PAGINATED = ["/api/v1/scenarios", "/api/v1/enterprises", "/api/v1/search"]
#: Pages paginated by :func:`marketplace.queryargs.page_number`: the page number is clamped (200).
CLAMPED = ["/notifications", "/admin/users", "/admin/organisations"]
#: The public list pages keep their friendly behaviour: the first page, with the reason shown.
FORGIVING = ["/scenarios", "/enterprises"]


def rules(app, method: str):
    return [r for r in sorted(app.url_map.iter_rules(), key=lambda r: r.rule)
            if r.endpoint != "static" and method in r.methods]


def url(app, rule, number: int = 1) -> str:
    """The rule's URL with every integer part set to *number* and other parts to a plain value."""
    values = {}
    for name, converter in rule._converters.items():
        if isinstance(converter, AnyConverter):
            values[name] = sorted(converter.items)[0]
        elif isinstance(converter, IntegerConverter):
            values[name] = number
        else:
            values[name] = "csv" if name == "fmt" else "x"
    with app.test_request_context():
        from flask import url_for

        return url_for(rule.endpoint, **values)


@pytest.fixture
def staff(client, login, make_user):
    login(make_user("city_staff"))
    return client


def test_ids_beyond_the_columns_are_404_on_every_int_route(app, staff):
    failures, checked = [], 0
    for method in ("GET", "POST"):
        for rule in rules(app, method):
            if not any(isinstance(c, IntegerConverter) for c in rule._converters.values()):
                continue
            for number in HUGE_IDS:
                target = url(app, rule, number)
                response = staff.open(target, method=method)
                response.close()
                checked += 1
                if response.status_code != 404:
                    failures.append((method, target, response.status_code))
    assert checked > 50 and failures == []


def test_the_probe_case_is_a_json_404(client):
    response = client.get("/api/v1/scenarios/2147483648")
    assert response.status_code == 404 and response.json["error"]["status"] == 404


@pytest.mark.parametrize("path", PAGINATED)
def test_impossible_page_numbers_are_400(staff, path):
    for page in (HUGE_PAGE, "0", "-1", "abc"):
        response = staff.get(path, query_string={"page": page})
        assert response.status_code == 400, (path, page, response.status_code)
    assert staff.get(path, query_string={"page": "1"}).status_code == 200


@pytest.mark.parametrize("path", CLAMPED)
def test_page_numbers_of_html_lists_are_clamped(staff, path):
    for page in (HUGE_PAGE, "0", "-1", "abc", "1e400", "٣"):
        response = staff.get(path, query_string={"page": page})
        assert response.status_code == 200, (path, page, response.status_code)


def test_page_number_parser():
    from werkzeug.datastructures import MultiDict

    from marketplace.queryargs import MAX_PAGE, page_number

    assert [page_number(MultiDict({"page": v})) for v in ("", "abc", "0", "-5", "3", HUGE_PAGE, " 7 ")] == \
        [1, 1, 1, 1, 3, MAX_PAGE, 7]
    assert page_number(MultiDict()) == 1


@pytest.mark.parametrize("path", FORGIVING)
def test_public_lists_show_the_first_page_with_the_reason(staff, path):
    response = staff.get(path, query_string={"page": HUGE_PAGE})
    assert response.status_code == 200 and "取值超出范围" in response.get_data(as_text=True)


def test_no_route_fails_on_a_huge_page_number(app, staff):
    failures = []
    for rule in rules(app, "GET"):
        target = url(app, rule)
        response = staff.get(target, query_string={"page": HUGE_PAGE, "per_page": HUGE_PAGE})
        response.close()
        if response.status_code >= 500:
            failures.append((target, response.status_code))
    assert failures == []


def test_nul_in_the_query_string_is_400_on_every_route(app, staff):
    failures = []
    for rule in rules(app, "GET"):
        target = url(app, rule)
        for name in ("q", "district", "domain", "theme"):
            response = staff.get(target, query_string={name: "渝中\x00"})
            response.close()
            if response.status_code != 400:
                failures.append((target, name, response.status_code))
    assert failures == []


def test_nul_in_a_form_field_is_400_on_every_route(app, staff):
    failures = []
    for rule in rules(app, "POST"):
        target = url(app, rule)
        for data in ({"name": "名称\x00"}, {"title": "x", "summary": "\x00", "file": (io.BytesIO(b"%PDF"), "a.pdf")}):
            response = staff.post(target, data=data)
            response.close()
            if response.status_code != 400:
                failures.append((target, response.status_code))
    assert failures == []


def test_uploaded_file_bytes_may_hold_nul(staff):
    """Only form fields are checked: a file's content is bytes (PDF, XLSX hold NUL bytes)."""
    response = staff.post("/scenarios/import", data={"file": (io.BytesIO(b"PK\x03\x04\x00\x00"), "a.xlsx")})
    assert response.status_code == 422 and "空字符" not in response.get_data(as_text=True)


def test_nul_in_the_path_is_400(client):
    assert client.get("/lang/en%00").status_code == 400
    assert client.get("/api/v1/ocds/releases/ocds-x%00").status_code == 400
