"""The read-only JSON API: envelope, fields, filters, paging limits and JSON errors."""

from __future__ import annotations

import itertools
import re
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

_n = itertools.count(1)

ISO_LOCAL = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+08:00$")
SUMMARY_KEYS = {"id", "title", "owner", "district", "district_code", "domain", "domain_code", "theme", "theme_code",
                "budget_wan", "funding_source", "funding_source_label", "deadline", "status", "status_label", "batch",
                "url"}


# ---------------------------------------------------------------- a small local factory

def create_owner(district: str = "yuzhong", name: str | None = None):
    """A government owner organisation in ``district``."""
    from marketplace.extensions import db
    from marketplace.models import District, Organisation, OrganisationKind

    organisation = Organisation(name=name or f"业主单位{next(_n)}", kind=OrganisationKind.GOVERNMENT,
                                district=db.session.query(District).filter_by(code=district).one())
    db.session.add(organisation)
    db.session.commit()
    return organisation


def create_batch(name: str | None = None, level: str = "city", district: str | None = None):
    from marketplace import clock
    from marketplace.extensions import db
    from marketplace.models import Batch, BatchLevel, BatchStage, District

    batch = Batch(name=name or f"2025年第{next(_n)}批应用场景清单", level=BatchLevel(level), stage=BatchStage.COLLECT,
                  published_on=clock.local_today(),
                  district=db.session.query(District).filter_by(code=district).one() if district else None)
    db.session.add(batch)
    db.session.commit()
    return batch


def create_scenario(status: str = "published", *, title: str | None = None, owner=None, district: str = "yuzhong",
                    deadline: datetime | timedelta = timedelta(days=30), budget: str | None = "350.00",
                    domain: str | None = "software", theme: str | None = "smart_city", batches=(), **fields):
    """A scenario row built directly through the ORM, with the status, dates and batches given."""
    from marketplace import clock
    from marketplace.extensions import db
    from marketplace.models import (
        District,
        Domain,
        FundingSource,
        Scenario,
        ScenarioMode,
        ScenarioStatus,
        Theme,
    )

    now = clock.now()
    stored = ScenarioStatus(status)
    scenario = Scenario(
        title=title or f"智慧场景{next(_n)}",
        summary="一句话简介", description="场景描述：背景、痛点和建设目标。", boundary="建设边界：包括软件，不包括硬件。",
        requirements="技术要求", acceptance="验收标准：可用性不低于 99.5%。", outcomes="预期成效",
        domain=db.session.query(Domain).filter_by(code=domain).one() if domain else None,
        theme=db.session.query(Theme).filter_by(code=theme).one() if theme else None,
        owner=owner or create_owner(district),
        district=db.session.query(District).filter_by(code=district).one(),
        contact_name="张三", contact_phone="023-63891234", contact_email="zhangsan@example.gov.cn",
        funding_source=FundingSource.FISCAL, budget_wan=Decimal(budget) if budget else None,
        deadline=now + deadline if isinstance(deadline, timedelta) else deadline,
        delivery_months=12, mode=ScenarioMode.OPEN_CALL, status=stored,
        published_at=now - timedelta(days=1) if stored in ScenarioStatus.public() else None,
        **fields,
    )
    scenario.batches.extend(batches)
    db.session.add(scenario)
    db.session.commit()
    return scenario


# ---------------------------------------------------------------- list

def test_list_envelope_and_item_fields(client):
    batch = create_batch("2025年第3批应用场景清单")
    published = create_scenario(title="智慧交通信号优化", budget="350", batches=[batch],
                                deadline=datetime(2030, 1, 1, 9, 0, tzinfo=UTC))
    response = client.get("/api/v1/scenarios")
    assert response.status_code == 200 and response.mimetype == "application/json"
    body = response.json
    assert set(body) == {"items", "total", "page", "per_page"}
    assert (body["total"], body["page"], body["per_page"]) == (1, 1, 20)
    item = body["items"][0]
    assert set(item) == SUMMARY_KEYS
    assert item["id"] == published.id and item["title"] == "智慧交通信号优化"
    assert (item["district"], item["district_code"]) == ("渝中区", "yuzhong")
    assert (item["domain"], item["domain_code"]) == ("软件开发", "software")
    assert item["owner"] == published.owner.name
    assert item["budget_wan"] == "350.00" and isinstance(item["budget_wan"], str)
    assert '"budget_wan":"350.00"' in response.get_data(as_text=True).replace(" ", "")
    assert item["funding_source"] == "fiscal"
    assert item["deadline"] == "2030-01-01T17:00:00+08:00"
    assert item["status"] == "published"
    assert item["batch"] == ["2025年第3批应用场景清单"]
    assert item["url"] == f"http://localhost/scenarios/{published.id}"


def test_list_shows_only_public_scenarios(client):
    visible = {create_scenario("published").id, create_scenario("awarded").id, create_scenario("accepted").id}
    for status in ("draft", "submitted", "returned", "withdrawn"):
        create_scenario(status)
    body = client.get("/api/v1/scenarios").json
    assert {item["id"] for item in body["items"]} == visible and body["total"] == 3


def test_past_deadline_reports_closed(client):
    closed = create_scenario(deadline=timedelta(days=-1))
    open_ = create_scenario(deadline=timedelta(days=5))
    items = {item["id"]: item for item in client.get("/api/v1/scenarios").json["items"]}
    assert items[closed.id]["status"] == "closed" and items[closed.id]["status_label"] == "已截止"
    assert items[open_.id]["status"] == "published"
    assert ISO_LOCAL.match(items[closed.id]["deadline"])
    assert [i["id"] for i in client.get("/api/v1/scenarios?status=closed").json["items"]] == [closed.id]
    assert [i["id"] for i in client.get("/api/v1/scenarios?status=open").json["items"]] == [open_.id]


def test_filters_match_the_list_page(client):
    batch = create_batch()
    yuzhong = create_scenario(district="yuzhong", domain="ai", budget="100", batches=[batch])
    jiangbei = create_scenario(district="jiangbei", domain="software", budget="900")
    create_scenario(district="nanan", domain="software", budget="50")

    def ids(query: str) -> set[int]:
        return {item["id"] for item in client.get(f"/api/v1/scenarios?{query}").json["items"]}

    assert ids("district=yuzhong") == {yuzhong.id}
    assert ids("district=yuzhong&district=jiangbei") == {yuzhong.id, jiangbei.id}
    assert ids("domain=ai") == {yuzhong.id}
    assert ids("budget_min=100&budget_max=900") == {yuzhong.id, jiangbei.id}
    assert ids(f"batch={batch.id}") == {yuzhong.id}
    body = client.get("/api/v1/scenarios?sort=budget").json
    assert [i["budget_wan"] for i in body["items"]] == ["900.00", "100.00", "50.00"]


def test_paging(client):
    for _ in range(3):
        create_scenario()
    body = client.get("/api/v1/scenarios?per_page=2&page=2").json
    assert (body["total"], body["page"], body["per_page"], len(body["items"])) == (3, 2, 2, 1)
    assert client.get("/api/v1/scenarios?per_page=100").status_code == 200


@pytest.mark.parametrize(("query", "field"), [
    ("page=abc", "page"),
    ("page=0", "page"),
    ("page=99999999999999999999", "page"),
    ("per_page=1000", "per_page"),
    ("per_page=101", "per_page"),
    ("per_page=-1", "per_page"),
    ("budget_min=x", "budget_min"),
    ("budget_max=-5", "budget_max"),
    ("status=foo", "status"),
    ("sort=nope", "sort"),
    ("due_within=abc", "due_within"),
    ("batch=99999999999999999999", "batch"),
    # Python's int() and Decimal() read other scripts' digits and "_" separators; the API does not
    ("page=%D9%A3", "page"),
    ("per_page=%EF%BC%95", "per_page"),
    ("page=1_0", "page"),
    ("budget_min=1_0", "budget_min"),
    ("budget_max=%D9%A1", "budget_max"),
    ("budget_min=NaN", "budget_min"),
])
def test_bad_parameters_are_400_with_field_details(client, query, field):
    response = client.get(f"/api/v1/scenarios?{query}")
    assert response.status_code == 400, response.get_data(as_text=True)
    error = response.json["error"]
    assert error["status"] == 400
    assert "参数有误" in error["message"]
    assert field in error["fields"] and error["fields"][field]


# ---------------------------------------------------------------- one record

def test_detail_is_the_full_public_record(client, make_user):
    from marketplace import clock
    from marketplace.extensions import db
    from marketplace.models import Question

    scenario = create_scenario(title="园区能耗监测", deadline=datetime(2031, 6, 30, 15, 59, 59, tzinfo=UTC))
    asker = make_user("enterprise")
    db.session.add_all([
        Question(scenario=scenario, asked_by=asker, text="是否需要对接现有能耗系统？", answer="需要，接口文档见附件。",
                 answered_at=clock.now()),
        Question(scenario=scenario, asked_by=asker, text="尚未答复的问题？"),
    ])
    db.session.commit()
    response = client.get(f"/api/v1/scenarios/{scenario.id}")
    assert response.status_code == 200
    record = response.json
    assert set(record) >= SUMMARY_KEYS
    for key in ("summary", "description", "boundary", "requirements", "acceptance", "outcomes", "theme",
                "delivery_months", "mode", "race_teams", "contact", "published_at"):
        assert key in record, key
    assert record["title"] == "园区能耗监测" and record["theme"] == "智慧名城"
    assert record["deadline"] == "2031-06-30T23:59:59+08:00"
    assert ISO_LOCAL.match(record["published_at"])
    assert record["budget_wan"] == "350.00"
    assert record["mode"] == "open_call" and record["delivery_months"] == 12
    assert record["contact"] == {"name": "张三", "phone": "023-63891234", "email": "zhangsan@example.gov.cn"}
    assert [q["question"] for q in record["questions"]] == ["是否需要对接现有能耗系统？"]
    assert record["questions"][0]["answer"] == "需要，接口文档见附件。"
    text = response.get_data(as_text=True)
    assert asker.email not in text and asker.organisation.name not in text
    assert "funding_evidence" not in record


def test_detail_of_a_closed_scenario_reports_closed(client):
    scenario = create_scenario(deadline=timedelta(hours=-2))
    assert client.get(f"/api/v1/scenarios/{scenario.id}").json["status"] == "closed"


@pytest.mark.parametrize("status", ["draft", "submitted", "returned", "withdrawn"])
def test_non_public_scenarios_are_404_json(client, status):
    scenario = create_scenario(status)
    response = client.get(f"/api/v1/scenarios/{scenario.id}")
    assert response.status_code == 404
    assert response.json["error"]["status"] == 404 and response.json["error"]["message"]
    assert scenario.title not in response.get_data(as_text=True)


@pytest.mark.parametrize("path", ["/api/v1/scenarios/999999", "/api/v1/scenarios/abc", "/api/v1/nothing-here"])
def test_unknown_ids_and_paths_are_404_json(client, path):
    response = client.get(path)
    assert response.status_code == 404
    assert response.json["error"]["status"] == 404


def test_ids_in_paths_are_ascii_digits_only(client):
    """``/scenarios/٣`` is not another address of ``/scenarios/3`` (werkzeug's ``\\d`` matched any script)."""
    scenario = create_scenario()
    other_script = str(scenario.id).translate(str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩"))
    assert client.get(f"/api/v1/scenarios/{scenario.id}").status_code == 200
    for path in (f"/api/v1/scenarios/{other_script}", f"/scenarios/{other_script}"):
        response = client.get(path)
        assert response.status_code == 404, path
    assert client.get(f"/api/v1/scenarios/{other_script}").json["error"]["status"] == 404


def test_api_is_read_only(client):
    response = client.post("/api/v1/scenarios", json={"title": "x"})
    assert response.status_code == 405 and response.json["error"]["status"] == 405


@pytest.mark.parametrize("url", [
    "/api/v1/publicity?page=%D9%A1", "/api/v1/enterprises?page=%D9%A1", "/api/v1/search?page=1_0",
    "/api/v1/demonstrations?year=%D9%A2%D9%A0%D9%A2%D9%A5", "/api/v1/ocds/releases?per_page=%D9%A1",
    "/api/v1/statistics?year=%D9%A2%D9%A0%D9%A2%D9%A5", "/api/v1/statistics?year=2_025",
])
def test_every_list_refuses_digits_python_alone_reads(client, url):
    """The description says integer; "١" and "1_0" are text, refused with the envelope like other text."""
    response = client.get(url)
    assert response.status_code == 400, response.get_data(as_text=True)
    assert response.json["error"]["fields"]
