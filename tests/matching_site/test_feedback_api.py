"""推荐企业 that staff can check: reasons without noise or excluded words, "不相关" marks (hidden for
that scenario only, audited, counted), the suggestions API and who may read it, ``flask match report``."""

from __future__ import annotations

import json

import pytest
import sqlalchemy as sa

from marketplace.extensions import db
from marketplace.matching.terms import is_meaningful, is_quantity, matching_stopwords
from marketplace.models import AuditEvent, MatchFeedback, User
from tests.test_matching_site import DATA, MEDICAL, TRAFFIC

CAMERAS = dict(
    business_scope="安防设备销售与安装",
    capabilities="视频监控摄像头、前端感知硬件设备采购与安装维护，机房硬件集成。",
    tags="摄像头、硬件采购、视频监控",
)
DATA_SCENARIO = dict(
    title="政务数据治理与共享平台",
    summary="建设全市政务数据治理和共享交换平台。",
    description="现有数据分散在各部门，超过30个系统互不联通，每月人工报送耗时超过3000分钟。",
    boundary="包括：数据汇聚、数据治理、数据共享交换。不包括：摄像头等前端感知硬件采购，视频监控改造。",
    requirements="建设数据中台，支持数据治理和共享交换；响应时间不超过2秒。",
    acceptance="接入不少于30个部门的数据；数据质量达标率95%以上。",
    outcomes="提升数据共享效率。",
)
EXCLUDED = ("摄像头", "摄像", "硬件", "采购", "感知", "视频监控", "监控")


def _user_of(firm) -> User:
    return db.session.execute(sa.select(User).where(User.organisation_id == firm.organisation_id)).scalar_one()


@pytest.fixture
def data_scenario(make_scenario, make_user, make_firm):
    """An open 数据服务 scenario of an owner, with a data firm, a camera firm and a traffic firm."""
    from marketplace.models import Domain

    owner = make_user("owner")
    domain = db.session.query(Domain).filter_by(code="data_services").one()
    scenario = make_scenario(owner=owner.organisation, domain=domain, **DATA_SCENARIO)
    firms = {
        "data": make_firm(DATA, name="数据治理科技", domains=("data_services",)),
        "camera": make_firm(CAMERAS, name="安防硬件公司", domains=("iot_embedded",)),
        "traffic": make_firm(TRAFFIC, name="交通信号科技"),
        "medical": make_firm(MEDICAL, name="医疗影像软件", domains=("software",)),
    }
    return owner, scenario, firms


# ------------------------------------------------------------------ reasons


def test_exclusion_clause_and_noise_never_shown_as_reasons(client, login, data_scenario):
    owner, scenario, firms = data_scenario
    login(owner)
    body = client.get(f"/api/v1/scenarios/{scenario.id}/suggestions").get_json()
    items = body["items"]
    assert items[0]["firm_id"] == firms["data"].id
    shown = [t["term"] for item in items for t in item["shared_terms"]]
    assert shown, items
    assert not [t for t in shown if any(w in t for w in EXCLUDED)]
    assert all(is_meaningful(t) and len(t) > 1 and not is_quantity(t) and t not in matching_stopwords()
               for t in shown), shown
    for word in ("现有", "超过", "建设", "30", "分钟", "月"):
        assert word not in shown
    camera = [i for i in items if i["firm_id"] == firms["camera"].id]
    assert not camera or (camera[0]["shared_terms"] == [] and camera[0]["text_score"] < 0.05)
    page = client.get(f"/scenarios/{scenario.id}").get_data(as_text=True)
    assert "共同关键词" in page and 'data-term="数据治理"' in page
    assert not any(f'data-term="{w}"' in page for w in EXCLUDED)


# ------------------------------------------------------------------ "not relevant"


def test_not_relevant_hides_the_firm_for_that_scenario_only(client, login, make_scenario, data_scenario, runner):
    owner, scenario, firms = data_scenario
    other = make_scenario(owner=owner.organisation, title="政务数据共享交换平台二期",
                          description="升级数据共享交换平台，开展数据治理。")
    target = firms["data"]
    login(owner)

    def firm_ids(s):
        return [i["firm_id"] for i in client.get(f"/api/v1/scenarios/{s.id}/suggestions").get_json()["items"]]

    assert target.id in firm_ids(scenario) and target.id in firm_ids(other)
    response = client.post(f"/scenarios/{scenario.id}/suggestions/{target.id}/not-relevant")
    assert response.status_code == 303 and response.headers["Location"].endswith(
        f"/scenarios/{scenario.id}#match-suggestions")
    page = client.get(f"/scenarios/{scenario.id}").get_data(as_text=True)
    assert "已标记为不相关" in page and f'data-profile-id="{target.id}"' not in page
    assert f'data-hidden-profile-id="{target.id}"' in page
    assert target.id not in firm_ids(scenario)
    assert target.id in firm_ids(other)  # hidden for that scenario only

    mark = db.session.execute(sa.select(MatchFeedback)).scalar_one()
    assert (mark.scenario_id, mark.profile_id, mark.marked_by_id) == (scenario.id, target.id, owner.id)
    assert "数据治理" in mark.terms and mark.score > 0
    event = db.session.execute(sa.select(AuditEvent).where(AuditEvent.action == "matching.not_relevant")).scalar_one()
    assert event.object_id == str(scenario.id) and event.after["profile_id"] == target.id

    again = client.post(f"/scenarios/{scenario.id}/suggestions/{target.id}/not-relevant", follow_redirects=True)
    assert "该企业已标记为不相关" in again.get_data(as_text=True)
    assert db.session.execute(sa.select(sa.func.count(MatchFeedback.id))).scalar() == 1

    result = runner.invoke(args=["match", "report"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.output.strip().splitlines()[-1])
    assert report["not_relevant"]["marks"] == 1 and report["not_relevant"]["on_open_scenarios"] == 1
    assert report["not_relevant"]["most_marked_firms"][0]["firm"] == "数据治理科技"

    restored = client.post(f"/scenarios/{scenario.id}/suggestions/{target.id}/relevant", follow_redirects=True)
    assert "已恢复推荐该企业" in restored.get_data(as_text=True)
    assert target.id in firm_ids(scenario)
    assert db.session.execute(sa.select(AuditEvent.id).where(AuditEvent.action == "matching.relevant_again")).first()


@pytest.mark.parametrize("role, same, status", [
    ("owner", False, 403),
    ("district_staff", False, 403),
    ("enterprise", True, 403),
    ("expert", True, 403),
    ("district_staff", True, 303),
    ("city_staff", True, 303),
])
def test_who_may_mark_not_relevant(client, login, make_user, make_org, make_scenario, make_firm, role, same, status):
    scenario = make_scenario(owner=make_org("government"))
    firm = make_firm(TRAFFIC, with_user=False)
    user = make_user(role, district="yuzhong" if same else "banan") if role == "district_staff" else make_user(role)
    login(user)
    response = client.post(f"/scenarios/{scenario.id}/suggestions/{firm.id}/not-relevant")
    assert response.status_code == status
    assert db.session.execute(sa.select(sa.func.count(MatchFeedback.id))).scalar() == (1 if status == 303 else 0)


def test_anonymous_cannot_mark_and_closed_scenarios_take_no_marks(client, login, make_user, make_scenario,
                                                                  make_firm):
    from datetime import timedelta

    from marketplace import clock

    owner = make_user("owner")
    closed = make_scenario(owner=owner.organisation, deadline=clock.now() - timedelta(hours=1))
    firm = make_firm(TRAFFIC)
    response = client.post(f"/scenarios/{closed.id}/suggestions/{firm.id}/not-relevant")
    assert response.status_code == 302 and "/auth/login" in response.headers["Location"]
    login(owner)
    refused = client.post(f"/scenarios/{closed.id}/suggestions/{firm.id}/not-relevant", follow_redirects=True)
    assert "只能在场景征集期间" in refused.get_data(as_text=True)
    assert db.session.execute(sa.select(sa.func.count(MatchFeedback.id))).scalar() == 0


# ------------------------------------------------------------------ the API


@pytest.mark.parametrize("role, same, status", [
    ("owner", True, 200),
    ("district_staff", True, 200),
    ("city_staff", True, 200),
    ("owner", False, 403),
    ("district_staff", False, 403),
    ("enterprise", True, 403),
    ("expert", True, 403),
    ("anonymous", True, 401),
])
def test_suggestions_api_enforces_who_may_read_it(client, login, make_user, make_org, make_scenario, make_firm,
                                                  role, same, status):
    owner_org = make_org("government")
    scenario = make_scenario(owner=owner_org)
    firm = make_firm(TRAFFIC, name="渝中智行交通科技")
    if role == "owner":
        login(make_user("owner", organisation=owner_org if same else None))
    elif role == "district_staff":
        login(make_user("district_staff", district="yuzhong" if same else "banan"))
    elif role != "anonymous":
        login(make_user(role))
    response = client.get(f"/api/v1/scenarios/{scenario.id}/suggestions")
    assert response.status_code == status
    body = response.get_json()
    if status != 200:
        assert set(body) == {"error"} and body["error"]["status"] == status
        return
    assert set(body) == {"items", "model_version"} and body["model_version"]
    (item,) = body["items"]
    assert set(item) == {"firm_id", "firm", "district", "score", "text_score", "signals", "shared_terms"}
    assert (item["firm_id"], item["firm"], item["district"]) == (firm.id, "渝中智行交通科技", "渝中区")
    assert item["score"] == pytest.approx(item["text_score"] + sum(s["contribution"] for s in item["signals"]),
                                          abs=1e-3)
    assert {s["name"] for s in item["signals"]} == {"same_domain", "same_district"}
    assert all(set(s) == {"name", "contribution"} for s in item["signals"])
    assert 0 < len(item["shared_terms"]) <= 6
    assert all(set(t) == {"term", "weight"} and 0 < t["weight"] <= 1 for t in item["shared_terms"])


def test_suggestions_api_unknown_hidden_and_closed_scenarios(client, login, make_user, make_scenario, make_firm):
    from datetime import timedelta

    from marketplace import clock

    owner = make_user("owner")
    make_firm(TRAFFIC)
    draft = make_scenario(status="draft", owner=owner.organisation)
    closed = make_scenario(owner=owner.organisation, deadline=clock.now() - timedelta(hours=1))
    login(make_user("owner"))
    assert client.get(f"/api/v1/scenarios/{draft.id}/suggestions").status_code == 404  # another owner's draft
    assert client.get("/api/v1/scenarios/999999/suggestions").status_code == 404
    client.post("/auth/logout")
    login(owner)
    response = client.get(f"/api/v1/scenarios/{closed.id}/suggestions")
    assert response.status_code == 409 and "征集期间" in response.get_json()["error"]["message"]


def test_my_recommendations_api(client, login, make_user, make_scenario, make_firm):
    from marketplace.models import Domain

    traffic = make_scenario()
    data = make_scenario(title="政务数据共享交换平台升级", summary="数据共享。",
                         description="升级全市政务数据共享交换平台，建设数据中台和数据治理体系。",
                         domain=db.session.query(Domain).filter_by(code="data_services").one())
    firm = make_firm(dict(TRAFFIC, capabilities=TRAFFIC["capabilities"] + DATA["capabilities"]))
    assert client.get("/api/v1/my/recommendations").status_code == 401
    login(_user_of(firm))
    body = client.get("/api/v1/my/recommendations").get_json()
    assert set(body) == {"items", "model_version"}
    assert {i["scenario_id"] for i in body["items"]} == {traffic.id, data.id}
    item = body["items"][0]
    assert set(item) == {"scenario_id", "scenario", "district", "score", "text_score", "signals", "shared_terms"}
    assert item["district"] == "渝中区" and item["scenario"] in (traffic.title, data.title)
    tuned = client.get("/api/v1/my/recommendations?domain=data_services").get_json()
    assert [i["scenario_id"] for i in tuned["items"]] == [data.id]
    bad = client.get("/api/v1/my/recommendations?domain=nonsense")
    assert bad.status_code == 400 and "domain" in bad.get_json()["error"]["fields"]


@pytest.mark.parametrize("who", ["pending_firm", "firm_without_profile", "owner", "city_staff"])
def test_my_recommendations_only_for_a_verified_firm(client, login, make_user, make_scenario, make_firm, who):
    make_scenario()
    if who == "pending_firm":
        user = _user_of(make_firm(TRAFFIC, status="pending"))
    elif who == "firm_without_profile":
        user = make_user("enterprise")
    else:
        user = make_user(who)
    login(user)
    response = client.get("/api/v1/my/recommendations")
    assert response.status_code == 403 and response.get_json()["error"]["status"] == 403


# ------------------------------------------------------------------ the report


def test_match_report_runs(runner, data_scenario, make_scenario):
    owner, scenario, firms = data_scenario
    make_scenario(title="无人问津的场景", summary="", description="完全无关的内容：古籍修复与书画装裱。",
                  requirements="", acceptance="", outcomes="", boundary="")
    result = runner.invoke(args=["match", "report", "--weakest", "3"])
    assert result.exit_code == 0, result.output
    lines = result.output.strip().splitlines()
    report = json.loads(lines[-1])
    assert report["open_scenarios"] == 2 and report["suggestions"] >= 1
    assert report["noise_terms"]["count"] == 0 and report["exclusion_terms"]["count"] == 0
    assert 0 <= report["domain_share"] <= 1 and report["shown_terms"] > 0
    weakest, strongest = report["weakest"]
    assert weakest["title"] == "无人问津的场景" and strongest["scenario_id"] == scenario.id
    assert weakest["mean_text_score"] < strongest["mean_text_score"]
    assert strongest["suggestions"][0]["firm"] == "数据治理科技" and strongest["domain_share"] > 0
    assert report["without_suggestions"] == sum(1 for c in report["weakest"] if not c["suggestions"])
    assert any("weakest" in line for line in lines[:-1])
