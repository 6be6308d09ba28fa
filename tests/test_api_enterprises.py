"""``/api/v1/enterprises``: envelope, public fields only, filters, paging limits and JSON 404s."""

from __future__ import annotations

import pytest

from tests.test_enterprises import create_profile

SUMMARY_KEYS = {"id", "name", "uscc", "district", "district_code", "domains", "tags", "qualifications", "employees",
                "employees_label", "revenue_band", "revenue_band_label", "url"}


@pytest.fixture
def firms(make_org):
    """Three verified firms in three districts, plus one of each unpublished state."""
    a = create_profile(make_org("software_enterprise", district="yuzhong", name="甲数据科技有限公司"), "verified",
                       domains=("data_services",), tags="数据治理、隐私计算", employees=40,
                       qualifications=[("cmmi", "verified", "3级"), ("key_software", "pending")],
                       cases=["全市数据共享交换平台"])
    b = create_profile(make_org("software_enterprise", district="yubei", name="乙智能科技有限公司"), "verified",
                       domains=("ai", "software"), capabilities="计算机视觉和工业质检算法，服务汽车零部件企业。",
                       qualifications=[("little_giant", "rejected")])
    c = create_profile(make_org("software_enterprise", district="jiangbei", name="丙安全技术有限公司"), "verified",
                       domains=("infosec",), qualifications=[("iso27001", "verified")])
    hidden = {status: create_profile(make_org("software_enterprise", district="yuzhong",
                                              name=f"未公开{status}有限公司"), status)
              for status in ("unverified", "pending", "rejected")}
    return {"a": a, "b": b, "c": c, **hidden}


def _ids(client, query: str = "") -> set[int]:
    response = client.get("/api/v1/enterprises" + query)
    assert response.status_code == 200, response.get_json()
    return {item["id"] for item in response.get_json()["items"]}


def test_list_envelope_and_items(client, firms):
    response = client.get("/api/v1/enterprises")
    assert response.status_code == 200 and response.mimetype == "application/json"
    body = response.get_json()
    assert set(body) == {"items", "total", "page", "per_page"}
    assert body["total"] == 3 and body["page"] == 1 and body["per_page"] == 20
    a = next(item for item in body["items"] if item["id"] == firms["a"].id)
    assert set(a) == SUMMARY_KEYS
    assert a["name"] == "甲数据科技有限公司" and a["district"] == "渝中区" and a["district_code"] == "yuzhong"
    assert a["uscc"] == firms["a"].organisation.uscc
    assert a["domains"] == [{"code": "data_services", "name": "数据服务"}]
    assert a["tags"] == ["数据治理", "隐私计算"]
    assert a["qualifications"] == ["CMMI 3级"]  # the pending key-software qualification is not listed
    assert a["employees"] == "20-49" and a["revenue_band"] == "2000w_1y"
    assert a["url"].endswith(f"/enterprises/{firms['a'].id}")


def test_only_verified_firms_are_listed(client, firms):
    listed = _ids(client, "?per_page=100")
    assert listed == {firms["a"].id, firms["b"].id, firms["c"].id}
    assert all(firms[s].id not in listed for s in ("unverified", "pending", "rejected"))
    assert _ids(client, "?q=未公开") == set()


def test_filters(client, firms):
    a, b, c = firms["a"].id, firms["b"].id, firms["c"].id
    assert _ids(client, "?district=yuzhong&district=jiangbei") == {a, c}
    assert _ids(client, "?domain=software") == {b}
    assert _ids(client, "?qualification=cmmi") == {a}
    assert _ids(client, "?qualification=key_software") == set()  # only pending
    assert _ids(client, "?qualification=little_giant") == set()  # only rejected
    assert _ids(client, "?q=工业质检") == {b}
    assert _ids(client, "?q=丙安全") == {c}
    assert _ids(client, "?q=隐私计算&district=yuzhong") == {a}


def test_paging(client, firms):
    first = client.get("/api/v1/enterprises?per_page=2").get_json()
    second = client.get("/api/v1/enterprises?per_page=2&page=2").get_json()
    assert first["total"] == second["total"] == 3 and first["per_page"] == 2 and second["page"] == 2
    assert len(first["items"]) == 2 and len(second["items"]) == 1
    assert {i["id"] for i in first["items"]}.isdisjoint({i["id"] for i in second["items"]})
    assert client.get("/api/v1/enterprises?per_page=100").status_code == 200
    assert client.get("/api/v1/enterprises?page=50").get_json()["items"] == []


@pytest.mark.parametrize(("query", "field"), [
    ("?per_page=101", "per_page"),
    ("?per_page=0", "per_page"),
    ("?page=0", "page"),
    ("?page=x", "page"),
    ("?district=atlantis", "district"),
    ("?domain=alchemy", "domain"),
    ("?qualification=nobel", "qualification"),
    ("?sort=random", "sort"),
    ("?page=100001", "page"),
])
def test_bad_parameters_are_json_400(client, app, query, field):
    response = client.get("/api/v1/enterprises" + query)
    assert response.status_code == 400
    error = response.get_json()["error"]
    assert error["status"] == 400 and "参数有误" in error["message"]
    assert field in error["fields"]


def test_detail_has_public_fields_only(client, firms):
    profile = firms["a"]
    response = client.get(f"/api/v1/enterprises/{profile.id}")
    assert response.status_code == 200
    record = response.get_json()
    assert set(record) >= SUMMARY_KEYS
    assert record["building"] == "解放碑金融大厦" and record["founded_on"] == "2015-03-01"
    assert record["business_scope"].startswith("软件开发") and "数据中台" in record["capabilities"]
    assert [q["label"] for q in record["qualification_details"]] == ["CMMI 3级"]
    assert record["cases"] == [{"title": "全市数据共享交换平台", "client": "重庆市大数据应用发展管理局", "year": 2023,
                                "amount_wan": "180.50", "description": "建设全市数据共享交换平台。"}]
    assert record["contact"] == {"name": "王芳", "phone": "023-63001111", "email": "wang@firm.cq",
                                 "website": "https://www.firm.example.cq"}
    assert record["verified_at"].endswith("+08:00")
    text = response.get_data(as_text=True)
    for private in ("/files/", "evidence", "解放碑路1号", "review_note", "\"employees\": 40"):
        assert private not in text


@pytest.mark.parametrize("status", ["unverified", "pending", "rejected"])
def test_unverified_detail_is_json_404(client, firms, status):
    response = client.get(f"/api/v1/enterprises/{firms[status].id}")
    assert response.status_code == 404
    assert response.get_json()["error"]["status"] == 404
    assert "尚未通过核验" in response.get_json()["error"]["message"]


def test_missing_and_deactivated_firms_are_json_404(client, firms):
    from marketplace.extensions import db

    assert client.get("/api/v1/enterprises/999999").status_code == 404
    firms["c"].organisation.active = False
    db.session.commit()
    assert client.get(f"/api/v1/enterprises/{firms['c'].id}").status_code == 404
    assert firms["c"].id not in _ids(client)


def test_the_api_ignores_who_asks(client, firms, make_user, login):
    """Signed-in firms and staff get the same public data, never unpublished profiles."""
    login(make_user("enterprise", organisation=firms["pending"].organisation))
    assert client.get(f"/api/v1/enterprises/{firms['pending'].id}").status_code == 404
    assert firms["pending"].id not in _ids(client)
    client.post("/auth/logout")
    login(make_user("city_staff"))
    assert client.get(f"/api/v1/enterprises/{firms['pending'].id}").status_code == 404
