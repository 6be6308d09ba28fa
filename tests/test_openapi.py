"""The OpenAPI 3.1 description of /api/v1: valid, complete (every route, nothing more), and true — live
responses validate against the declared schemas — plus the filter rules it documents (unknown codes are
refused with the accepted ones), the /api/docs page, and open data over the whole demo data set."""

from __future__ import annotations

import json
import re
from urllib.parse import urlsplit

import jsonschema
import pytest
import referencing
from referencing.jsonschema import DRAFT202012

from marketplace import clock
from marketplace.extensions import db
from tests import ocds_schema

API = "/api/v1"


def spec(client) -> dict:
    response = client.get(f"{API}/openapi.json")
    assert response.status_code == 200
    return response.get_json()


def flask_path(rule: str) -> str:
    """``/api/v1/scenarios/<int:scenario_id>`` → ``/scenarios/{scenario_id}``."""
    return re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", r"{\1}", rule[len(API):])


def template_for(document: dict, path: str) -> str:
    """The description's path template matching a concrete path."""
    for template in document["paths"]:
        pattern = "^" + re.sub(r"\\\{[^}]+\\\}", "[^/]+?", re.escape(template)) + "$"
        if re.match(pattern, path):
            return template
    raise AssertionError(f"{path} is not described")


def check_response(document: dict, response, path: str) -> None:
    """The response's status is declared for the operation and its JSON body validates against it."""
    template = template_for(document, path)
    responses = document["paths"][template]["get"]["responses"]
    status = str(response.status_code)
    assert status in responses, f"{path}: {status} is not declared"
    declared = responses[status]
    if "$ref" in declared:
        declared = document["components"]["responses"][declared["$ref"].rsplit("/", 1)[1]]
    media = response.mimetype
    assert media in declared["content"], f"{path}: {media} not declared for {status}"
    if media != "application/json":
        return
    pointer = "/".join(p.replace("~", "~0").replace("/", "~1") for p in
                       ("paths", template, "get", "responses", status, "content", media, "schema"))
    if "$ref" in responses[status]:
        pointer = f"components/responses/Error{status}/content/application~1json/schema"
    registry = referencing.Registry().with_resource(
        "urn:openapi", referencing.Resource(contents=document, specification=DRAFT202012))
    validator = jsonschema.Draft202012Validator({"$ref": f"urn:openapi#/{pointer}"}, registry=registry,
                                                format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER)
    errors = [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in validator.iter_errors(response.get_json())]
    assert errors == [], f"{path}: {errors[:5]}"


def test_the_description_is_valid_openapi_3_1(client):
    from openapi_spec_validator import validate
    from openapi_spec_validator.validation.validators import OpenAPIV31SpecValidator

    document = spec(client)
    assert document["openapi"] == "3.1.0"
    validate(document, cls=OpenAPIV31SpecValidator)


def test_every_api_route_is_described_and_nothing_else(app, client):
    routes = {flask_path(rule.rule) for rule in app.url_map.iter_rules() if rule.rule.startswith(API + "/")}
    described = set(spec(client)["paths"])
    assert routes - described == set(), "routes missing from marketplace/api/openapi.py PATHS"
    assert described - routes == set(), "described paths without a route"
    for rule in app.url_map.iter_rules():
        if rule.rule.startswith(API + "/"):
            assert rule.methods - {"HEAD", "OPTIONS"} == {"GET"}, rule.rule


def test_every_operation_declares_errors_and_bounds(client):
    document = spec(client)
    for template, item in document["paths"].items():
        operation = item["get"]
        assert {"200", "429", "503"} <= set(operation["responses"]), template
        for parameter in operation["parameters"]:
            schema = parameter["schema"]
            schema = schema.get("items", schema)
            if schema.get("type") == "integer":
                assert "minimum" in schema and "maximum" in schema, (template, parameter["name"])
        if "{" in template:
            assert "404" in operation["responses"], template
    applications = document["paths"]["/scenarios/{scenario_id}/applications"]["get"]["responses"]
    assert {"401", "403", "404"} <= set(applications)
    assert document["components"]["schemas"]["Error"]["properties"]["error"]["required"] == ["status", "message"]
    for status in ("429", "503"):  # both are answered with Retry-After (rate limit; database unavailable)
        assert document["components"]["responses"][f"Error{status}"]["headers"]["Retry-After"]["required"] is True


def test_live_responses_match_the_description(client, make_process, make_user, login):
    document = spec(client)
    awarded = make_process("awarded")
    sealed = make_process("published")
    owner = make_user("owner", organisation=awarded.owner)
    other_owner = make_user("owner")
    year = clock.to_local(awarded.published_at).year
    from marketplace.opendata import ocds

    with client.application.test_request_context("/"):
        ocid = ocds.ocid_for(awarded.id)
    paths = [
        "/scenarios", "/scenarios?district=yuzhong&status=awarded&sort=budget", f"/scenarios/{awarded.id}",
        f"/scenarios/{sealed.id}", "/scenarios/2147483647", "/scenarios?district=no-such-district",
        f"/scenarios/{awarded.id}/applications", "/enterprises", "/enterprises?district=xx", "/enterprises/5",
        "/search?q=智慧", "/search?district=nowhere", "/demonstrations", "/demonstrations?year=1", "/appraisals/2024",
        "/statistics", f"/statistics?year={year}&district=yuzhong", "/statistics?district=x",
        "/ocds/releases", "/ocds/releases?since=x", f"/ocds/records/{ocid}", "/ocds/records/ocds-x-1", "/ocds/bulk",
        f"/ocds/bulk/{year}.jsonl.gz", f"/ocds/bulk/{year}.csv", "/ocds/bulk/2001.csv", "/openapi.json",
    ]
    for path in paths:
        check_response(document, client.get(API + path), urlsplit(path).path)
    login(other_owner)
    check_response(document, client.get(f"{API}/scenarios/{awarded.id}/applications"), "/scenarios/1/applications")
    client.post("/auth/logout")
    login(owner)
    for scenario, status in ((awarded, 200), (sealed, 403)):
        response = client.get(f"{API}/scenarios/{scenario.id}/applications")
        assert response.status_code == status
        check_response(document, response, "/scenarios/1/applications")


@pytest.mark.parametrize("query, field, hint", [
    ("district=no-such-district", "district", "yuzhong（渝中区）"),
    ("district=渝中区", "district", "请使用代码 yuzhong"),
    ("district=yuzhong&district=atlantis", "district", "atlantis"),
    ("domain=人工智能", "domain", "请使用代码 ai"),
    ("domain=robots", "domain", "software（软件开发）"),
    ("theme=smart", "theme", "smart_city（智慧名城）"),
    ("status=published", "status", "open、closed"),
    ("sort=random", "sort", "newest"),
])
def test_unknown_filter_values_are_refused_with_the_accepted_codes(client, query, field, hint):
    body = client.get(f"{API}/scenarios?{query}").get_json()
    assert body["error"]["status"] == 400
    assert hint in " ".join(body["error"]["fields"][field])
    page = client.get(f"/scenarios?{query}", follow_redirects=True)
    assert page.status_code == 200 and hint in page.get_data(as_text=True)  # flashed on the list page


def test_known_codes_still_filter(client, make_process):
    make_process("awarded")
    assert client.get(f"{API}/scenarios?district=yuzhong&domain=ai&theme=smart_city&status=awarded").get_json()["total"] == 1
    assert client.get(f"{API}/scenarios?district=jiangbei").get_json()["total"] == 0
    assert client.get(f"{API}/search?district=yuzhong&domain=ai&theme=smart_city").status_code == 200
    assert client.get(f"{API}/search?district=atlantis").status_code == 400
    page = client.get("/search?q=平台&district=atlantis")
    assert page.status_code == 200 and "atlantis" in page.get_data(as_text=True)  # flashed, as on the list page


def test_nul_characters_and_huge_ids_are_client_errors(client):
    assert client.get(f"{API}/scenarios?q=a%00b").get_json()["error"]["status"] == 400
    assert client.get(f"{API}/demonstrations?domain=%00").status_code == 400
    assert client.get("/scenarios?q=%00").status_code == 400
    for path in ("/scenarios/99999999999", "/enterprises/2147483648", "/appraisals/99999999999"):
        assert client.get(API + path).get_json()["error"]["status"] == 404
    assert client.get(f"{API}/scenarios?page=2.0").get_json()["page"] == 2


def test_api_docs_page_lists_every_operation_from_static_assets_only(client):
    document = spec(client)
    page = client.get("/api/docs")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    for template, item in document["paths"].items():
        assert f'id="{item["get"]["operationId"]}"' in html and template.replace("{", "").replace("}", "") \
            in html.replace("{", "").replace("}", "")
    assert not re.search(r"""(src|href)=["']https?://""", html)  # no CDN: every asset from static/
    assert "ScenarioSummary" in html and "/api/v1/openapi.json" in html


@pytest.mark.slow
def test_demo_data_open_data_and_api_validate(app, client):
    """On the whole demo data set: every release (through every page of the release list) validates
    against the release-package schema, every record package against the record package schema, the
    open codelists hold, no open scenario names an applicant, and the API's responses match the description."""
    from marketplace.demo.seed import load_demo
    from marketplace.models import Application, Scenario, ScenarioStatus
    from marketplace.opendata import ocds

    ocds_schema.require_schema()
    load_demo(db.session)
    db.session.commit()
    url, releases = f"{API}/ocds/releases", []
    while url:
        package = client.get(url).get_json()
        assert ocds_schema.release_package_errors(package) == []
        releases += package["releases"]
        url = package.get("links", {}).get("next")
    assert len(releases) > 300
    for release in releases:
        assert ocds_schema.codelist_errors(release, ocds.CODELIST_ADDITIONS) == []
    by_ocid: dict[str, list] = {}
    for release in releases:
        by_ocid.setdefault(release["ocid"], []).append(release)
    public = db.session.query(Scenario).filter(Scenario.status.in_(ScenarioStatus.public())).all()
    with app.test_request_context("/"):
        assert set(by_ocid) == {ocds.ocid_for(s.id) for s in public}
    now = clock.now()
    for scenario in public:
        with app.test_request_context("/"):
            ocid = ocds.ocid_for(scenario.id)
        record = client.get(f"{API}/ocds/records/{ocid}").get_json()
        assert ocds_schema.record_package_errors({**record, "records": [
            {**r, "releases": r["releases"][-1:]} for r in record["records"]]}) == []  # releases checked above
        assert [r["id"] for r in record["records"][0]["releases"]] == [r["id"] for r in reversed(by_ocid[ocid])]
        if scenario.deadline > now:
            names = {a.organisation.name for a in db.session.query(Application).filter_by(scenario_id=scenario.id)}
            text = json.dumps(record, ensure_ascii=False)
            assert not any(name in text for name in names), scenario.id
    document = spec(client)
    for path in ("/scenarios?per_page=100", "/enterprises?per_page=100", "/demonstrations?per_page=100",
                 "/search?q=平台&per_page=100", "/statistics", "/ocds/bulk"):
        check_response(document, client.get(API + path), urlsplit(path).path)
    for item in client.get(f"{API}/scenarios?per_page=100&status=accepted").get_json()["items"][:10]:
        check_response(document, client.get(f"{API}/scenarios/{item['id']}"), "/scenarios/1")
    for item in client.get(f"{API}/enterprises?per_page=10").get_json()["items"]:
        check_response(document, client.get(f"{API}/enterprises/{item['id']}"), "/enterprises/1")
    for year in range(clock.local_today().year - 3, clock.local_today().year + 1):
        check_response(document, client.get(f"{API}/appraisals/{year}"), "/appraisals/1")


def test_the_description_follows_the_request_language(client):
    """Chinese by default; English when the site's language is English, or with ``?lang=en``; every
    summary and description then has no Chinese (the accepted codes of a parameter are values, not text)."""
    import json

    from marketplace.api import openapi

    chinese = client.get(f"{API}/openapi.json").get_json()
    assert chinese["info"]["title"] == "应用场景揭榜平台 API"
    assert chinese["paths"]["/scenarios"]["get"]["summary"] == "公开的应用场景列表"
    english = client.get(f"{API}/openapi.json?lang=en").get_json()
    assert english["info"]["title"] == "Application Scenario Marketplace API"
    assert english["paths"]["/scenarios"]["get"]["summary"] == "Public application scenarios"
    assert english["paths"] == openapi.localised(openapi.PATHS, "en")
    assert client.get(f"{API}/openapi.json?lang=zh_CN").get_json() == chinese

    def texts(node):
        if isinstance(node, dict):
            for key, value in node.items():
                if key in ("summary", "description", "title", "name") and isinstance(value, str):
                    yield value
                else:
                    yield from texts(value)
        elif isinstance(node, list):
            for value in node:
                yield from texts(value)

    assert [text for text in texts(english) if re.search(r"[\u3400-\u9fff]", text)] == []
    assert any(re.search(r"[\u3400-\u9fff]", text) for text in texts(chinese))
    # The site's language switch chooses it too, for openapi.json and the /api/docs page.
    from flask_babel import refresh

    client.get("/lang/en")
    refresh()  # the test keeps one app context open across requests, and Flask-Babel caches the locale in it
    assert client.get(f"{API}/openapi.json").get_json()["info"]["title"] == english["info"]["title"]
    docs = client.get("/api/docs").get_data(as_text=True)
    assert "Public application scenarios" in docs and "公开的应用场景列表" not in docs
    assert client.get(f"{API}/openapi.json?lang=zh_CN").get_json()["info"]["title"] == chinese["info"]["title"]
    refused = client.get(f"{API}/openapi.json?lang=fr")
    assert refused.status_code == 400 and "lang" in refused.get_json()["error"]["fields"]
    assert json.dumps(english, ensure_ascii=False).count("Text(") == 0


def test_a_database_outage_answers_as_described(client, monkeypatch):
    """Any operation may meet an unreachable database: 503 with Retry-After, declared like 429."""
    import sqlalchemy as sa

    from marketplace.extensions import db

    document = spec(client)

    def gone(*_args, **_kwargs):
        raise sa.exc.OperationalError("SELECT 1", {}, Exception("server closed the connection unexpectedly"))

    monkeypatch.setattr(db.session, "execute", gone)
    for path in ("/scenarios", "/statistics", "/publicity"):
        response = client.get(API + path)
        assert response.status_code == 503 and int(response.headers["Retry-After"]) > 0
        check_response(document, response, path)
