"""Matching on the site: 推荐企业 with reasons and 邀请揭榜, 为你推荐, near-duplicates, freshness, CLI.

Small hand-built corpora, n_jobs=1; each test starts from an empty model cache.
"""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
import sqlalchemy as sa

TRAFFIC = dict(
    business_scope="智能交通系统集成；交通信号控制设备研发",
    capabilities="路口信号配时优化算法、交通流量预测、信号协同控制平台建设，服务主城区早晚高峰拥堵治理。",
    tags="智慧交通、信号配时、交通大数据",
)
MEDICAL = dict(
    business_scope="医疗软件开发",
    capabilities="医学影像辅助诊断、电子病历系统、医院信息化建设。",
    tags="医疗影像、电子病历",
)
DATA = dict(
    business_scope="数据处理服务",
    capabilities="政务数据共享交换平台、数据中台和数据治理。",
    tags="数据中台、数据治理",
)


@pytest.fixture(autouse=True)
def matching_config(app, tmp_path, monkeypatch):
    """Re-read the stamp on every request, rebuild inline when stale, fresh cache and model folder."""
    from marketplace.matching.freshness import get_cache

    monkeypatch.setitem(app.config, "MATCH_CHECK_SECONDS", 0)
    monkeypatch.setitem(app.config, "MATCH_MAX_STALENESS_SECONDS", 0)
    monkeypatch.setitem(app.config, "MATCH_BACKGROUND_REBUILD", False)
    monkeypatch.setitem(app.config, "MATCH_MODEL_DIR", str(tmp_path / "models"))
    cache = get_cache(app)
    cache.wait()
    cache._reset()
    yield cache
    cache.wait()
    cache._reset()


@pytest.fixture
def make_firm(app, make_org, make_user):
    """``make_firm(text_fields, district=, status=, domains=, quals=, cases=, name=)`` → EnterpriseProfile."""
    from marketplace import clock
    from marketplace.extensions import db
    from marketplace.models import (
        Domain,
        EnterpriseProfile,
        ProfileCase,
        Qualification,
        QualificationKind,
        VerificationStatus,
    )

    def make(fields: dict, district: str = "yuzhong", status: str = "verified", domains=("ai",), quals: int = 0,
             cases=(), name: str | None = None, with_user: bool = True):
        org = make_org("software_enterprise", district=district, name=name)  # with its empty profile
        profile = db.session.query(EnterpriseProfile).filter_by(organisation_id=org.id).one()
        profile.status = VerificationStatus(status)
        profile.verified_at = clock.now() if status == "verified" else None
        for name_, value in fields.items():
            setattr(profile, name_, value)
        profile.domains = [db.session.query(Domain).filter_by(code=c).one() for c in domains]
        db.session.add(profile)
        for _ in range(quals):
            db.session.add(Qualification(profile=profile, kind=QualificationKind.CMMI, detail="3级",
                                         status=VerificationStatus.VERIFIED, year=2023))
        for title, description in cases:
            db.session.add(ProfileCase(profile=profile, title=title, description=description, year=2024))
        db.session.commit()
        if with_user:
            make_user("enterprise", organisation=org)
        return profile

    return make


def _session():
    from marketplace.extensions import db

    return db.session


def _suggest(scenario):
    from marketplace.matching import services

    return services.suggest_firms(_session(), scenario)


# ------------------------------------------------------------------ ranking and explanations


def test_ranking_known_best_answer_local_first_with_reasons(make_scenario, make_firm):
    scenario = make_scenario()  # 智慧交通信号协同优化平台, 渝中区, domain ai
    best = make_firm(TRAFFIC, name="渝中智行交通科技")
    far = make_firm(TRAFFIC, district="banan", domains=("software",), name="巴南同款交通科技")
    make_firm(MEDICAL, name="医疗影像软件")
    make_firm(DATA, name="数据治理公司")

    results = _suggest(scenario)
    ids = [r.profile.id for r in results]
    assert ids[0] == best.id and ids[1] == far.id
    top, second = results[0], results[1]
    # Same profile text (names and domain labels aside): the signals put the local firm first.
    assert top.text_score == pytest.approx(second.text_score, rel=0.05)
    assert {r.name for r in top.signals} == {"same_domain", "same_district"}
    assert second.signals == []
    assert top.score == pytest.approx(top.text_score + sum(r.contribution for r in top.signals), rel=1e-6)
    assert all(r.contribution > 0 and r.label for r in top.signals)
    terms = [t for t, _w in top.terms]
    assert terms and any("信号" in t or "配时" in t or "交通" in t for t in terms)


def test_qualifications_and_accepted_projects_signals(make_scenario, make_firm, make_org):
    from marketplace.extensions import db
    from marketplace.models import Application, ApplicationStatus

    scenario = make_scenario()
    plain = make_firm(TRAFFIC, district="banan", domains=("software",))
    strong = make_firm(TRAFFIC, district="banan", domains=("software",), quals=2)
    done = make_scenario(status="accepted", title="已验收的交通项目")
    db.session.add(Application(scenario=done, organisation_id=strong.organisation_id,
                               status=ApplicationStatus.SELECTED, summary="x"))
    db.session.commit()
    results = {r.profile.id: r for r in _suggest(scenario)}
    assert {r.name for r in results[strong.id].signals} == {"qualifications", "accepted_projects"}
    assert results[plain.id].signals == []
    assert results[strong.id].score > results[plain.id].score


def test_owner_sees_suggestions_with_reasons_on_the_scenario_page(client, login, make_user, make_scenario,
                                                                   make_firm):
    owner = make_user("owner")
    scenario = make_scenario(owner=owner.organisation)
    firm = make_firm(TRAFFIC, name="渝中智行交通科技")
    login(owner)
    page = client.get(f"/scenarios/{scenario.id}").get_data(as_text=True)
    assert "推荐企业" in page and "渝中智行交通科技" in page
    assert f'data-profile-id="{firm.id}"' in page
    assert "共同关键词" in page and 'data-signal="same_district"' in page and "同一区县" in page
    assert "邀请揭榜" in page


# ------------------------------------------------------------------ what never feeds suggestions


def test_unverified_and_inactive_firms_are_never_suggested(make_scenario, make_firm):
    from marketplace.extensions import db

    scenario = make_scenario()
    pending = make_firm(TRAFFIC, status="pending")
    rejected = make_firm(TRAFFIC, status="rejected")
    inactive = make_firm(TRAFFIC)
    inactive.organisation.active = False
    db.session.commit()
    visible = make_firm(DATA)
    ids = {r.profile.id for r in _suggest(scenario)}
    assert not ids & {pending.id, rejected.id, inactive.id}
    assert visible.id in ids or ids == set()
    from marketplace.matching.freshness import get_cache

    model = get_cache().get(_session(), "firms").matcher
    assert set(model.ids) == {visible.id}


def test_draft_and_submitted_scenarios_never_reach_a_firm(client, login, make_scenario, make_firm, make_user):
    from marketplace.matching.freshness import get_cache
    from marketplace.models import User

    secret = "蛟龙鲲鹏秘密工程"
    make_scenario(status="draft", title=f"{secret}草稿场景", description=f"{secret}：未发布的内部需求。")
    make_scenario(status="submitted", title=f"{secret}待审场景", description=f"{secret}：待审核。")
    public = make_scenario()
    firm = make_firm(dict(TRAFFIC, capabilities=TRAFFIC["capabilities"] + f"参与过{secret}。"))
    user = _session().execute(sa.select(User).where(User.organisation_id == firm.organisation_id)).scalar_one()
    login(user)
    page = client.get("/my/recommendations").get_data(as_text=True)
    assert public.title in page
    assert secret not in page
    model = get_cache().get(_session(), "scenarios").matcher
    assert set(model.ids) == {public.id}
    assert not any("蛟龙" in t or "鲲鹏" in t for t in model.terms)


def test_application_text_is_never_used(make_scenario, make_firm):
    from marketplace.extensions import db
    from marketplace.matching.freshness import get_cache
    from marketplace.models import Application, ApplicationStatus

    scenario = make_scenario()
    firm = make_firm(TRAFFIC)
    word = "XQZ9000"
    db.session.add(Application(scenario=scenario, organisation_id=firm.organisation_id,
                               status=ApplicationStatus.SUBMITTED, summary=f"{word} 方案",
                               approach=f"使用 {word} 技术", plan=word))
    db.session.commit()
    results = _suggest(scenario)
    assert all(word.lower() not in t.lower() for r in results for t, _ in r.terms)
    for name in ("firms", "scenarios", "review"):
        model = get_cache().get(_session(), name).matcher
        assert all(word.lower() not in t.lower() for t in model.terms), name


def test_closed_scenarios_are_not_recommended(make_scenario, make_firm):
    from marketplace import clock
    from marketplace.matching import services

    open_one = make_scenario()
    closed = make_scenario(deadline=clock.now() - timedelta(hours=1), title="已截止的交通信号场景")
    firm = make_firm(TRAFFIC)
    ids = [s.scenario.id for s in services.recommend_scenarios(_session(), firm)]
    assert open_one.id in ids and closed.id not in ids


# ------------------------------------------------------------------ freshness


def test_profile_change_bumps_the_version_and_reaches_the_next_request(make_scenario, make_firm,
                                                                       matching_config):
    from marketplace.extensions import db
    from marketplace.matching.freshness import FIRMS, read_stamp

    scenario = make_scenario(title="城市内涝积水监测预警", summary="", description="汛期易涝点积水监测与预警。",
                             requirements="", acceptance="", outcomes="", boundary="")
    firm = make_firm(MEDICAL, domains=("software",))
    found = _suggest(scenario)
    old_score = found[0].score if found else 0.0
    assert all("内涝" not in t and "积水" not in t for r in found for t, _ in r.terms)
    before = read_stamp(db.session, FIRMS)
    builds = matching_config.builds

    firm.capabilities += "城市内涝积水监测预警系统、易涝点水位传感网络。"
    db.session.commit()
    assert read_stamp(db.session, FIRMS).version == before.version + 1
    (hit,) = _suggest(scenario)
    assert hit.profile.id == firm.id and hit.score > old_score + 0.2
    assert any("内涝" in t or "积水" in t for t, _ in hit.terms)
    assert matching_config.builds == builds + 1

    # An edit to an unverified profile does not bump; losing verification does.
    other = make_firm(MEDICAL, status="pending")
    version = read_stamp(db.session, FIRMS).version
    other.capabilities += "城市内涝"
    db.session.commit()
    assert read_stamp(db.session, FIRMS).version == version
    from marketplace.models import VerificationStatus

    firm.status = VerificationStatus.REJECTED
    db.session.commit()
    assert read_stamp(db.session, FIRMS).version == version + 1
    assert _suggest(scenario) == []


def test_scenario_publication_bumps_the_scenario_models(make_scenario):
    from marketplace.extensions import db
    from marketplace.matching.freshness import SCENARIOS, read_stamp
    from marketplace.models import ScenarioStatus

    draft = make_scenario(status="draft")
    version = read_stamp(db.session, SCENARIOS).version
    draft.description += "草稿修改"
    db.session.commit()
    assert read_stamp(db.session, SCENARIOS).version == version  # drafts feed no model
    draft.status = ScenarioStatus.SUBMITTED
    db.session.commit()
    assert read_stamp(db.session, SCENARIOS).version == version + 1


def test_stale_model_is_served_while_a_background_rebuild_runs(app, make_scenario, make_firm, matching_config,
                                                                monkeypatch):
    from marketplace import clock
    from marketplace.extensions import db

    monkeypatch.setitem(app.config, "MATCH_BACKGROUND_REBUILD", True)
    monkeypatch.setitem(app.config, "MATCH_MAX_STALENESS_SECONDS", 60)
    scenario = make_scenario()
    first = make_firm(TRAFFIC)
    assert [r.profile.id for r in _suggest(scenario)] == [first.id]
    old = matching_config.entries["firms"]

    second = make_firm(dict(TRAFFIC, tags="智慧交通、信号配时、交通大数据、信号协同"))
    # Stale by one version committed just now: the request is answered from the old model at once ...
    assert [r.profile.id for r in _suggest(scenario)] == [first.id]
    matching_config.wait()
    # ... and the background thread has refitted it (and saved it for the other workers). The new firm moved
    # the stamp twice: its empty profile came with its organisation, then the profile was verified.
    fresh = matching_config.entries["firms"]
    assert fresh is not old and fresh.stamp.version == old.stamp.version + 2
    assert {r.profile.id for r in _suggest(scenario)} == {first.id, second.id}
    assert list(matching_config.model_dir.glob("firms-*.pkl"))

    # A change older than MATCH_MAX_STALENESS_SECONDS is never served stale: rebuilt inline.
    third = make_firm(TRAFFIC)
    real_now = clock.now
    monkeypatch.setattr(clock, "now", lambda: real_now() + timedelta(seconds=120))
    assert third.id in {r.profile.id for r in _suggest(scenario)}
    db.session.rollback()


def test_other_processes_load_the_persisted_model(app, make_scenario, make_firm, matching_config):
    from marketplace.matching import services
    from marketplace.matching.freshness import ModelCache

    scenario = make_scenario()
    firm = make_firm(TRAFFIC)
    assert _suggest(scenario)[0].profile.id == firm.id
    assert matching_config.builds == 1
    other = ModelCache(app, services.build_model)  # another worker
    entry = other.get(_session(), "firms")
    assert other.loads == 1 and other.builds == 0
    assert entry.stamp == matching_config.entries["firms"].stamp and list(entry.matcher.ids) == [firm.id]


# ------------------------------------------------------------------ invitations and permissions


def test_invitation_notifies_the_firm_once_and_is_audited(client, login, make_user, make_scenario, make_firm):
    from marketplace.models import AuditEvent, MatchInvitation, Notification, User

    owner = make_user("owner")
    scenario = make_scenario(owner=owner.organisation)
    firm = make_firm(TRAFFIC)
    firm_user = _session().execute(sa.select(User).where(User.organisation_id == firm.organisation_id)).scalar_one()
    login(owner)
    response = client.post(f"/scenarios/{scenario.id}/invite/{firm.id}", follow_redirects=True)
    page = response.get_data(as_text=True)
    assert response.status_code == 200 and "已向该企业发送揭榜邀请" in page and "已邀请" in page
    notes = _session().execute(sa.select(Notification).where(Notification.user_id == firm_user.id)).scalars().all()
    assert [n.kind for n in notes] == ["invitation"]
    assert notes[0].url == f"/scenarios/{scenario.id}" and scenario.title in notes[0].title
    event = _session().execute(sa.select(AuditEvent).where(AuditEvent.action == "matching.invite")).scalar_one()
    assert event.object_id == str(scenario.id)

    again = client.post(f"/scenarios/{scenario.id}/invite/{firm.id}", follow_redirects=True)
    assert "已邀请过该企业" in again.get_data(as_text=True)
    assert _session().execute(sa.select(sa.func.count(Notification.id))).scalar() == 1
    assert _session().execute(sa.select(sa.func.count(MatchInvitation.id))).scalar() == 1


def test_unverified_firm_cannot_be_invited(client, login, make_user, make_scenario, make_firm):
    owner = make_user("owner")
    scenario = make_scenario(owner=owner.organisation)
    firm = make_firm(TRAFFIC, status="pending")
    login(owner)
    assert client.post(f"/scenarios/{scenario.id}/invite/{firm.id}").status_code == 404


@pytest.mark.parametrize("role, same, allowed", [
    ("owner", True, True),
    ("district_staff", True, True),
    ("city_staff", True, True),
    ("owner", False, False),
    ("district_staff", False, False),
    ("enterprise", True, False),
    ("expert", True, False),
])
def test_only_owner_and_its_reviewers_see_suggestions_and_invite(client, login, make_user, make_org,
                                                                 make_scenario, make_firm, role, same, allowed):
    owner_org = make_org("government")
    scenario = make_scenario(owner=owner_org)
    firm = make_firm(TRAFFIC, with_user=False)
    if role == "owner":
        user = make_user("owner", organisation=owner_org if same else None)
    elif role == "district_staff":
        user = make_user("district_staff", district="yuzhong" if same else "banan")
    else:
        user = make_user(role)
    login(user)
    page = client.get(f"/scenarios/{scenario.id}").get_data(as_text=True)
    assert ("推荐企业" in page) is allowed
    response = client.post(f"/scenarios/{scenario.id}/invite/{firm.id}")
    assert response.status_code == (302 if allowed else 403)


def test_anonymous_users_see_no_suggestions_and_cannot_invite(client, make_scenario, make_firm):
    scenario = make_scenario()
    firm = make_firm(TRAFFIC)
    assert "推荐企业" not in client.get(f"/scenarios/{scenario.id}").get_data(as_text=True)
    response = client.post(f"/scenarios/{scenario.id}/invite/{firm.id}")
    assert response.status_code == 302 and "/auth/login" in response.headers["Location"]


def test_closed_or_submitted_scenarios_take_no_invitations(client, login, make_user, make_scenario, make_firm):
    from marketplace import clock

    owner = make_user("owner")
    closed = make_scenario(owner=owner.organisation, deadline=clock.now() - timedelta(hours=1))
    submitted = make_scenario(owner=owner.organisation, status="submitted")
    firm = make_firm(TRAFFIC)
    login(owner)
    for scenario in (closed, submitted):
        assert "推荐企业" not in client.get(f"/scenarios/{scenario.id}").get_data(as_text=True)
        assert client.post(f"/scenarios/{scenario.id}/invite/{firm.id}").status_code == 303


# ------------------------------------------------------------------ near-duplicates for reviewers


def test_reviewer_is_warned_of_a_near_duplicate(client, login, make_user, make_scenario, make_firm):
    published = make_scenario(district="banan", title="主城区交通信号协同优化平台")
    unrelated = make_scenario(title="中小学智慧食堂管理系统", summary="食堂采购与营养配餐。",
                              description="建设学校食堂食材溯源、营养配餐和家长监督平台。",
                              requirements="对接教育局系统。", acceptance="覆盖全区中小学。", outcomes="食品安全。",
                              boundary="")
    submitted = make_scenario(status="submitted")  # the factory's traffic text again
    make_firm(TRAFFIC)
    login(make_user("district_staff", district="yuzhong"))
    page = client.get(f"/scenarios/{submitted.id}").get_data(as_text=True)
    assert "疑似重复场景" in page
    assert f'data-duplicate-id="{published.id}"' in page and f"/scenarios/{published.id}" in page
    assert f'data-duplicate-id="{unrelated.id}"' not in page
    assert "推荐企业" in page  # reviewers preview the suggestions of a submitted scenario
    assert "邀请揭榜" not in page  # but invite only once it is open


def test_owner_gets_no_duplicate_warning_and_distinct_scenarios_pass(client, login, make_user, make_scenario):
    owner = make_user("owner")
    make_scenario(district="banan")
    submitted = make_scenario(status="submitted", owner=owner.organisation)
    login(owner)
    assert "疑似重复场景" not in client.get(f"/scenarios/{submitted.id}").get_data(as_text=True)

    distinct = make_scenario(status="submitted", title="中小学智慧食堂管理系统", summary="食堂采购与营养配餐。",
                             description="建设学校食堂食材溯源、营养配餐和家长监督平台。", requirements="",
                             acceptance="", outcomes="", boundary="")
    staff = make_user("city_staff")
    client.post("/auth/logout")
    login(staff)
    page = client.get(f"/scenarios/{distinct.id}").get_data(as_text=True)
    assert "疑似重复场景" not in page and "未发现与本场景高度相似" in page


# ------------------------------------------------------------------ 为你推荐


def test_firm_panel_and_domain_tuning(client, login, make_scenario, make_firm, make_user):
    from marketplace.extensions import db
    from marketplace.models import Domain, User

    traffic = make_scenario()  # domain ai
    data = make_scenario(title="政务数据共享交换平台升级", summary="数据共享。",
                         description="升级全市政务数据共享交换平台，建设数据中台和数据治理体系。",
                         domain=db.session.query(Domain).filter_by(code="data_services").one())
    firm = make_firm(dict(TRAFFIC, capabilities=TRAFFIC["capabilities"] + DATA["capabilities"]))
    user = db.session.execute(sa.select(User).where(User.organisation_id == firm.organisation_id)).scalar_one()
    login(user)
    dashboard = client.get("/dashboard").get_data(as_text=True)
    assert "为你推荐" in dashboard and traffic.title in dashboard and data.title in dashboard
    tuned = client.get("/my/recommendations?domain=data_services").get_data(as_text=True)
    assert data.title in tuned and traffic.title not in tuned
    assert 'value="data_services" id="domain-data_services" checked' in tuned


def test_firm_without_verified_profile_is_prompted(client, login, make_scenario, make_firm, make_user):
    make_scenario()
    pending = make_firm(TRAFFIC, status="pending")
    from marketplace.models import User

    user = _session().execute(sa.select(User).where(User.organisation_id == pending.organisation_id)).scalar_one()
    login(user)
    dashboard = client.get("/dashboard").get_data(as_text=True)
    assert 'id="match-prompt"' in dashboard and "核验中" in dashboard
    lonely = make_user("enterprise")  # its profile came with the firm, empty and unverified
    client.post("/auth/logout")
    login(lonely)
    page = client.get("/my/recommendations").get_data(as_text=True)
    assert 'id="match-prompt"' in page and "完善企业能力清单" in page


def test_recommendations_page_is_for_enterprises_only(client, login, make_user):
    login(make_user("owner"))
    assert client.get("/my/recommendations").status_code == 403


# ------------------------------------------------------------------ CLI


def test_flask_match_rebuild(runner, make_scenario, make_firm, matching_config):
    from marketplace.matching.freshness import FIRMS, read_stamp

    make_scenario()
    make_firm(TRAFFIC)
    before = read_stamp(_session(), FIRMS).version
    result = runner.invoke(args=["match", "rebuild", "--jobs", "1"])
    assert result.exit_code == 0, result.output
    assert "firms: 1 documents" in result.output and "scenarios: 1 documents" in result.output
    assert "review: 1 documents" in result.output
    assert read_stamp(_session(), FIRMS).version == before + 1
    assert {p.name.split("-")[0] for p in matching_config.model_dir.glob("*.pkl")} == {"firms", "scenarios",
                                                                                     "review"}


def test_flask_match_evaluate(runner, tmp_path):
    firms = [
        {"id": "f1", "name": "A", "text": "交通信号配时优化，路口信号协同控制平台。"},
        {"id": "f2", "name": "B", "text": "医学影像辅助诊断，电子病历系统。"},
        {"id": "f3", "name": "C", "text": "政务数据共享交换平台，数据中台。"},
        {"id": "f4", "name": "D", "text": "智慧食堂，食材溯源，营养配餐。"},
    ]
    scenarios = [
        {"id": "s1", "title": "路口信号优化", "text": "主城区路口信号配时协同优化。"},
        {"id": "s2", "title": "影像诊断", "text": "医院医学影像辅助诊断系统建设。"},
    ]
    (tmp_path / "firms.jsonl").write_text("\n".join(json.dumps(f, ensure_ascii=False) for f in firms),
                                          encoding="utf-8")
    (tmp_path / "scenarios.jsonl").write_text("\n".join(json.dumps(s, ensure_ascii=False) for s in scenarios),
                                              encoding="utf-8")
    (tmp_path / "qrels.tsv").write_text("s1\tf1\t1\ns2\tf2\t1\n", encoding="utf-8")
    result = runner.invoke(args=["match", "evaluate", str(tmp_path)])
    assert result.exit_code == 0, result.output
    last = json.loads(result.stdout.strip().splitlines()[-1])
    assert set(last) == {"tfidf", "bm25"}
    assert last["tfidf"]["ndcg@10"] == pytest.approx(1.0) and set(last["bm25"]) == {"ndcg@10", "recall@10", "mrr"}
    tried = runner.invoke(args=["match", "evaluate", str(tmp_path), "--option", "prf_docs=0", "--option", "word_weight=1"])
    assert tried.exit_code == 0, tried.output
    assert set(json.loads(tried.stdout.strip().splitlines()[-1])) == {"tfidf", "bm25"}
    refused = runner.invoke(args=["match", "evaluate", str(tmp_path), "--option", "topic_weight=high"])
    assert refused.exit_code == 2 and "bad value for matcher option topic_weight" in refused.output
