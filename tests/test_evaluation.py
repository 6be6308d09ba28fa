"""Evaluation and award: sealing, weighted criteria, experts' declaration and scores, ranking,
揭榜挂帅, 赛马, 流榜, notifications, the public result and the permission matrix of every route."""

from datetime import timedelta
from decimal import Decimal

import pytest
import sqlalchemy as sa

from marketplace import audit, clock
from marketplace.applications import decisions, evaluation
from marketplace.errors import InvalidTransition, NotFound, PermissionDenied, ValidationFailed
from marketplace.extensions import db
from marketplace.models import (
    Application,
    ApplicationStatus,
    AuditEvent,
    EvaluationCriterion,
    ExpertAssignment,
    Notification,
    Scenario,
    ScenarioMode,
    ScenarioStatus,
    Score,
)
from tests.confirm_support import post_confirmed
from tests.conftest import ON_POSTGRES
from tests.races import second_waits_for_first

ROLES = ["owner", "enterprise", "district_staff", "city_staff", "expert"]
CRITERIA = [("技术方案", "40"), ("团队能力", "25"), ("报价", "20"), ("本地服务", "15")]


# ------------------------------------------------------------------ fixtures

@pytest.fixture
def travel(monkeypatch):
    """``travel(when)``: from now on ``clock.now()`` returns ``when``."""

    def go(when):
        monkeypatch.setattr(clock, "now", lambda: when)

    return go


@pytest.fixture
def sign_in(client, login):
    """``sign_in(user)``: sign out whoever is signed in, then sign ``user`` in through the real form."""

    def go(user):
        client.post("/auth/logout")
        return login(user)

    return go


@pytest.fixture
def make_application(make_user):
    """``make_application(scenario, status='submitted', price='300.00', user=None)`` → Application of a new firm."""

    def make(scenario, status="submitted", price="300.00", user=None, **fields):
        user = user or make_user("enterprise")
        values = dict(
            scenario=scenario, organisation=user.organisation, created_by=user, status=ApplicationStatus(status),
            summary="基于自研平台承担本场景建设。", approach="采用平台+应用架构，分层建设数据接入和业务应用。",
            team=[{"name": "王强", "role": "项目经理", "specialty": "12年交通行业项目管理经验"}],
            price_wan=Decimal(price), plan="第1个月完成需求调研；第6个月上线试运行。",
            milestones=[{"title": "需求调研与方案确认", "month": 1}, {"title": "上线试运行", "month": 6}],
            declares_meets_requirements=True, declares_no_conflict=True,
            submitted_at=None if status == "draft" else clock.now() - timedelta(days=2),
            confirmed_revision=scenario.revision,
        )
        values.update(fields)
        application = Application(**values)
        db.session.add(application)
        db.session.commit()
        return application

    return make


@pytest.fixture
def closed_scenario(make_scenario, make_user, make_application, travel):
    """``closed_scenario(n=3, mode='open_call', race_teams=None)`` → (scenario, owner, applications), past its deadline."""

    def make(n=3, mode="open_call", race_teams=None, prices=None):
        scenario = make_scenario("published", mode=ScenarioMode(mode), race_teams=race_teams)
        owner = make_user("owner", organisation=scenario.owner)
        prices = prices or ["300.00", "280.00", "330.00", "310.00", "295.00"]
        applications = [make_application(scenario, price=prices[i]) for i in range(n)]
        travel(scenario.deadline + timedelta(hours=1))
        return scenario, owner, applications

    return make


def set_criteria(scenario, owner, rows=CRITERIA):
    evaluation.set_criteria(db.session, owner, scenario, rows)
    db.session.commit()
    return evaluation.criteria_of(db.session, scenario)


def declared_expert(make_user, scenario, owner):
    expert = make_user("expert")
    assignment = evaluation.invite_expert(db.session, owner, scenario, expert.id)
    evaluation.declare(db.session, expert, assignment, True)
    db.session.commit()
    return expert, assignment


def score_all(expert, assignment, application, criteria, values):
    evaluation.submit_scores(db.session, expert, assignment, application,
                             {c.id: v for c, v in zip(criteria, values, strict=True)})
    db.session.commit()


def notifications_for(user, kind):
    return db.session.execute(sa.select(Notification).where(Notification.user_id == user.id,
                                                            Notification.kind == kind)).scalars().all()


# ------------------------------------------------------------------ sealed before the deadline

def test_nothing_is_possible_before_the_deadline(make_scenario, make_user, make_application, client, sign_in, travel):
    scenario = make_scenario("published")
    owner = make_user("owner", organisation=scenario.owner)
    application = make_application(scenario)
    expert = make_user("expert")
    assignment = ExpertAssignment(scenario_id=scenario.id, expert_id=expert.id)
    db.session.add(assignment)
    db.session.commit()
    for call in (
        lambda: evaluation.set_criteria(db.session, owner, scenario, CRITERIA),
        lambda: evaluation.invite_expert(db.session, owner, scenario, make_user("expert").id),
        lambda: decisions.shortlist(db.session, owner, scenario, application.id),
        lambda: decisions.award(db.session, owner, scenario, application.id),
        lambda: decisions.declare_unsuccessful(db.session, owner, scenario, "没有符合要求的申请"),
        lambda: evaluation.declare(db.session, expert, assignment, True),
    ):
        with pytest.raises(InvalidTransition):
            call()
        db.session.rollback()
    assert evaluation.applications_for(db.session, owner, scenario) == []
    assert decisions.public_result(db.session, scenario) is None
    sign_in(owner)
    response = client.get(f"/scenarios/{scenario.id}/evaluation")
    assert response.status_code == 409 and "密封" in response.get_data(as_text=True)
    refused = client.post(f"/scenarios/{scenario.id}/evaluation/award", data={"award-application_id": application.id})
    assert refused.status_code == 303  # flashed and sent back
    assert "密封" in client.get(refused.headers["Location"]).get_data(as_text=True)
    assert application.status == ApplicationStatus.SUBMITTED and scenario.status == ScenarioStatus.PUBLISHED
    sign_in(expert)
    html = client.get(f"/reviews/{assignment.id}").get_data(as_text=True)
    assert application.organisation.name not in html and "密封" in html
    # One second after the deadline everything opens.
    travel(scenario.deadline + timedelta(seconds=1))
    sign_in(owner)
    assert client.get(f"/scenarios/{scenario.id}/evaluation").status_code == 200


def test_the_public_result_never_appears_before_a_decision(closed_scenario, client):
    scenario, owner, applications = closed_scenario(n=2)
    # Even a (hypothetically) decided application shows nothing while the scenario has no result.
    applications[0].status = ApplicationStatus.SELECTED
    db.session.commit()
    html = client.get(f"/scenarios/{scenario.id}").get_data(as_text=True)
    assert 'id="result"' not in html and applications[0].organisation.name not in html


# ------------------------------------------------------------------ criteria

@pytest.mark.parametrize(("rows", "message"), [
    ([("技术方案", "40"), ("团队能力", "25"), ("报价", "20"), ("本地服务", "10")], "当前为 95"),
    ([("技术方案", "60"), ("技术方案", "40")], "重复"),
    ([("技术方案", "-10"), ("报价", "110")], "大于 0"),
    ([("技术方案", "abc"), ("报价", "100")], "必须是数字"),
    ([("技术方案", ""), ("报价", "100")], "请填写权重"),
    ([("", "50"), ("报价", "50")], "请填写评分项名称"),
    ([("技术方案", "33.333"), ("报价", "66.667")], "两位小数"),
    ([], "至少设置一个评分项"),
])
def test_weights_must_total_100(closed_scenario, rows, message):
    scenario, owner, _apps = closed_scenario(n=1)
    with pytest.raises(ValidationFailed) as error:
        evaluation.set_criteria(db.session, owner, scenario, rows)
    assert message in error.value.message
    assert "criteria" in error.value.field_errors
    db.session.rollback()
    assert evaluation.criteria_of(db.session, scenario) == []


def test_criteria_are_saved_replaced_and_locked_after_the_first_score(closed_scenario, make_user):
    scenario, owner, applications = closed_scenario(n=1)
    criteria = set_criteria(scenario, owner, [("技术方案", "60"), ("报价", "40"), ("", "")])
    assert [(c.name, c.weight) for c in criteria] == [("技术方案", Decimal("60.00")), ("报价", Decimal("40.00"))]
    criteria = set_criteria(scenario, owner, [("技术方案", "33.33"), ("团队", "33.33"), ("报价", "33.34")])
    assert len(criteria) == 3
    expert, assignment = declared_expert(make_user, scenario, owner)
    score_all(expert, assignment, applications[0], criteria, ["80", "70", "90"])
    with pytest.raises(InvalidTransition):
        evaluation.set_criteria(db.session, owner, scenario, CRITERIA)
    assert not evaluation.criteria_editable(db.session, scenario)
    event = db.session.execute(sa.select(AuditEvent).where(AuditEvent.action == "evaluation.criteria")
                               .order_by(AuditEvent.id.desc())).scalars().first()
    assert event.after["criteria"][0] == {"name": "技术方案", "weight": "33.33"}


def test_criteria_form_shows_errors_and_keeps_the_input(closed_scenario, client, sign_in):
    scenario, owner, _apps = closed_scenario(n=1)
    sign_in(owner)
    html = client.get(f"/scenarios/{scenario.id}/evaluation").get_data(as_text=True)
    assert 'value="技术方案"' in html and 'value="40"' in html  # suggested defaults
    data = {"criteria-rows-0-name": "技术方案", "criteria-rows-0-weight": "50",
            "criteria-rows-1-name": "团队能力", "criteria-rows-1-weight": "30"}
    response = client.post(f"/scenarios/{scenario.id}/evaluation/criteria", data=data)
    html = response.get_data(as_text=True)
    assert response.status_code == 422 and "权重之和必须等于 100（当前为 80）" in html and 'value="团队能力"' in html
    assert evaluation.criteria_of(db.session, scenario) == []
    data["criteria-rows-1-weight"] = "50"
    assert client.post(f"/scenarios/{scenario.id}/evaluation/criteria", data=data).status_code == 302
    assert [c.name for c in evaluation.criteria_of(db.session, scenario)] == ["技术方案", "团队能力"]


# ------------------------------------------------------------------ experts

def test_invited_expert_is_notified_and_must_declare_before_reading(closed_scenario, make_user, client, sign_in):
    scenario, owner, applications = closed_scenario(n=2)
    criteria = set_criteria(scenario, owner)
    expert = make_user("expert")
    sign_in(owner)
    assert client.post(f"/scenarios/{scenario.id}/evaluation/experts",
                       data={"invite-expert_id": str(expert.id)}).status_code == 302
    assignment = db.session.execute(sa.select(ExpertAssignment)).scalar_one()
    note = notifications_for(expert, "evaluation.invited")[0]
    assert note.url == f"/reviews/{assignment.id}" and scenario.title in note.title
    # Inviting twice, or a non-expert, is refused with a field message.
    with pytest.raises(ValidationFailed):
        evaluation.invite_expert(db.session, owner, scenario, expert.id)
    with pytest.raises(ValidationFailed):
        evaluation.invite_expert(db.session, owner, scenario, make_user("enterprise").id)
    db.session.rollback()

    sign_in(expert)
    html = client.get("/reviews").get_data(as_text=True)
    assert scenario.title in html and 'data-state="pending"' in html
    html = client.get(f"/reviews/{assignment.id}").get_data(as_text=True)
    # The expert sees who applied (to judge a conflict) but not what they wrote.
    assert applications[0].organisation.name in html and applications[0].approach not in html
    url = f"/reviews/{assignment.id}/applications/{applications[0].id}"
    assert client.get(url).status_code == 403
    with pytest.raises(PermissionDenied):
        evaluation.submit_scores(db.session, expert, assignment, applications[0], {c.id: 80 for c in criteria})
    assert client.post(url, data={f"c_{c.id}": "80" for c in criteria}).status_code == 403
    assert db.session.scalar(sa.select(sa.func.count(Score.id))) == 0
    # The declaration needs the pledge ticked.
    html = client.post(f"/reviews/{assignment.id}/declare", data={"declare": "y"}).get_data(as_text=True)
    assert "请勾选承诺" in html
    assert client.post(f"/reviews/{assignment.id}/declare", data={"confirm": "y", "declare": "y"}).status_code == 302
    assert assignment.declared_at is not None
    # Declaring again is refused: flashed, and the expert is sent back to the assignment (303).
    again = client.post(f"/reviews/{assignment.id}/declare", data={"confirm": "y", "declare": "y"})
    assert again.status_code == 303 and again.headers["Location"] == f"/reviews/{assignment.id}"
    assert "不能重复声明" in client.get(again.headers["Location"]).get_data(as_text=True)
    assert applications[0].approach in client.get(url).get_data(as_text=True)
    # Out-of-range and missing scores are refused field by field; nothing is saved.
    data = {f"c_{c.id}": "80" for c in criteria}
    data[f"c_{criteria[0].id}"] = "150"
    data[f"c_{criteria[1].id}"] = ""
    html = client.post(url, data=data).get_data(as_text=True)
    assert "应在 0–100 之间" in html and "请为“团队能力”打分" in html
    assert "。；" not in html  # the summary joins the messages without doubled punctuation
    assert db.session.scalar(sa.select(sa.func.count(Score.id))) == 0
    data = {f"c_{c.id}": str(v) for c, v in zip(criteria, (85, 70, 90, 60), strict=True)}
    data[f"comment_{criteria[0].id}"] = "架构清晰，国产化适配充分"
    assert client.post(url, data=data).status_code == 302
    scores = evaluation.scores_by(db.session, assignment)[applications[0].id]
    assert scores[criteria[0].id].value == Decimal("85.00") and scores[criteria[0].id].comment.startswith("架构")
    # Re-scoring replaces the scores; the audit log keeps both.
    data[f"c_{criteria[0].id}"] = "88"
    client.post(url, data=data)
    assert db.session.scalar(sa.select(sa.func.count(Score.id))) == 4
    events = db.session.execute(sa.select(AuditEvent).where(AuditEvent.action == "evaluation.score").order_by(AuditEvent.id)).scalars().all()
    assert len(events) == 2 and events[1].before["scores"][str(criteria[0].id)] == "85.00"


def test_expert_cannot_see_other_scenarios_or_assignments(closed_scenario, make_user, make_scenario,
                                                          make_application, client, sign_in):
    scenario, owner, applications = closed_scenario(n=1)
    expert, assignment = declared_expert(make_user, scenario, owner)
    other = make_scenario("published", deadline=scenario.deadline - timedelta(days=1))
    other_owner = make_user("owner", organisation=other.owner)
    other_application = make_application(other)
    colleague, colleague_assignment = declared_expert(make_user, other, other_owner)
    sign_in(expert)
    assert client.get(f"/reviews/{colleague_assignment.id}").status_code == 404
    assert client.get(f"/reviews/{colleague_assignment.id}/applications/{other_application.id}").status_code == 404
    # Using one's own assignment to reach another scenario's application fails too.
    assert client.get(f"/reviews/{assignment.id}/applications/{other_application.id}").status_code == 404
    with pytest.raises(NotFound):
        evaluation.expert_application(db.session, expert, assignment, other_application.id)
    assert other_application.organisation.name not in client.get("/reviews").get_data(as_text=True)
    # The owner's evaluation page is not for experts.
    assert client.get(f"/scenarios/{scenario.id}/evaluation").status_code == 403


def test_recused_expert_reads_nothing_and_owner_is_told(closed_scenario, make_user, client, sign_in):
    scenario, owner, applications = closed_scenario(n=1)
    expert = make_user("expert")
    assignment = evaluation.invite_expert(db.session, owner, scenario, expert.id)
    db.session.commit()
    sign_in(expert)
    assert client.post(f"/reviews/{assignment.id}/declare", data={"recuse": "y"}).status_code == 302
    assert assignment.recused and assignment.declared_at is None
    assert client.get(f"/reviews/{assignment.id}/applications/{applications[0].id}").status_code == 403
    with pytest.raises(InvalidTransition):
        evaluation.declare(db.session, expert, assignment, True)
    assert notifications_for(owner, "evaluation.recused")


# ------------------------------------------------------------------ ranking

def test_weighted_ranking_on_a_known_example(closed_scenario, make_user, client, sign_in):
    scenario, owner, (first, second, unscored) = closed_scenario(n=3)
    criteria = set_criteria(scenario, owner, [("技术方案", "60"), ("报价", "40")])
    e1, a1 = declared_expert(make_user, scenario, owner)
    e2, a2 = declared_expert(make_user, scenario, owner)
    e3, a3 = declared_expert(make_user, scenario, owner)
    score_all(e1, a1, first, criteria, ["80", "90"])     # 84
    score_all(e2, a2, first, criteria, ["70", "60"])     # 66  → mean 75
    score_all(e1, a1, second, criteria, ["90", "50"])    # 74
    score_all(e2, a2, second, criteria, ["100", "80"])   # 92  → mean 83
    # An incomplete scoring (one criterion only) does not count.
    db.session.add(Score(assignment_id=a3.id, application_id=second.id, criterion_id=criteria[0].id,
                         value=Decimal("0")))
    db.session.commit()
    assert evaluation.weighted_total({1: Decimal(60), 2: Decimal(40)}, {1: Decimal(80), 2: Decimal(90)}) == 84
    ranked = evaluation.ranking(db.session, owner, scenario)
    assert [(r.application.id, r.total, r.rank) for r in ranked] == [
        (second.id, Decimal("83.00"), 1), (first.id, Decimal("75.00"), 2), (unscored.id, None, None)]
    assert ranked[0].by_criterion == {criteria[0].id: Decimal("95.00"), criteria[1].id: Decimal("65.00")}
    assert len(ranked[0].experts) == 2
    sign_in(owner)
    html = client.get(f"/scenarios/{scenario.id}/evaluation").get_data(as_text=True)
    assert html.index(second.organisation.name) < html.index(first.organisation.name)
    assert "83.00" in html and "75.00" in html


def test_equal_totals_share_a_rank(closed_scenario, make_user):
    scenario, owner, (a, b, c) = closed_scenario(n=3)
    criteria = set_criteria(scenario, owner, [("技术方案", "100")])
    expert, assignment = declared_expert(make_user, scenario, owner)
    for application, value in ((a, "80"), (b, "90"), (c, "80")):
        score_all(expert, assignment, application, criteria, [value])
    assert [r.rank for r in evaluation.ranking(db.session, owner, scenario)] == [1, 2, 2]


# ------------------------------------------------------------------ 揭榜挂帅

def test_open_call_has_exactly_one_winner(closed_scenario, make_application, client, sign_in):
    scenario, owner, (winner, loser, other) = closed_scenario(n=3)
    withdrawn = make_application(scenario, status="withdrawn")
    draft = make_application(scenario, status="draft")
    with pytest.raises(ValidationFailed):
        decisions.award(db.session, owner, scenario, [winner.id, loser.id])
    with pytest.raises(ValidationFailed):
        decisions.award(db.session, owner, scenario, withdrawn.id)
    with pytest.raises(InvalidTransition):
        decisions.start_race(db.session, owner, scenario, [winner.id, loser.id])
    db.session.rollback()
    sign_in(owner)
    assert client.post(f"/scenarios/{scenario.id}/evaluation/applications/{other.id}/shortlist",
                       data={"on": "1"}).status_code == 302
    assert other.status == ApplicationStatus.SHORTLISTED
    response = post_confirmed(client, f"/scenarios/{scenario.id}/evaluation/award",
                           data={"award-application_id": str(winner.id), "award-note": "技术方案最优，报价合理"})
    assert response.status_code == 302
    db.session.expire_all()
    assert scenario.status == ScenarioStatus.AWARDED
    assert winner.status == ApplicationStatus.SELECTED and winner.decision_note == "技术方案最优，报价合理"
    assert loser.status == other.status == ApplicationStatus.NOT_SELECTED
    assert withdrawn.status == ApplicationStatus.WITHDRAWN and draft.status == ApplicationStatus.DRAFT
    assert winner.decided_at is not None
    # Told: the winner with a link to delivery, the others with a link to the public result.
    note = notifications_for(winner.created_by, "application.selected")[0]
    assert note.url == f"/scenarios/{scenario.id}/delivery"
    assert notifications_for(loser.created_by, "publicity.applicant")
    assert notifications_for(other.created_by, "publicity.applicant")
    assert not notifications_for(withdrawn.created_by, "publicity.applicant")
    actions = db.session.execute(sa.select(AuditEvent.action).order_by(AuditEvent.id)).scalars().all()
    assert "scenario.award" in actions and actions.count("application.not_select") == 2
    # A second decision is refused.
    with pytest.raises(InvalidTransition):
        decisions.award(db.session, owner, scenario, loser.id)
    # Everyone sees the result: winner and quoted price (no contract yet).
    client.post("/auth/logout")
    html = client.get(f"/scenarios/{scenario.id}").get_data(as_text=True)
    assert 'data-result="awarded"' in html and winner.organisation.name in html and "300.00" in html
    assert loser.organisation.name not in html
    assert audit.verify_chain(db.session).ok  # (detaches every object: keep last)


def test_stale_application_cannot_win(closed_scenario):
    scenario, owner, (stale, fresh, _other) = closed_scenario(n=3)
    scenario.revision = 2
    fresh.confirmed_revision = 2
    db.session.commit()
    with pytest.raises(ValidationFailed) as error:
        decisions.award(db.session, owner, scenario, stale.id)
    assert "重新确认" in error.value.message
    db.session.rollback()
    decisions.award(db.session, owner, scenario, fresh.id)
    assert fresh.status == ApplicationStatus.SELECTED


def test_scoring_closes_after_the_award(closed_scenario, make_user):
    scenario, owner, (a, b) = closed_scenario(n=2)
    criteria = set_criteria(scenario, owner)
    expert, assignment = declared_expert(make_user, scenario, owner)
    for application in (a, b):  # a complete evaluation (tests/test_complete_evaluations.py)
        score_all(expert, assignment, application, criteria, ["80", "70", "60", "50"])
    decisions.award(db.session, owner, scenario, a.id)
    db.session.commit()
    with pytest.raises(InvalidTransition):
        evaluation.submit_scores(db.session, expert, assignment, b, {c.id: 50 for c in criteria})
    with pytest.raises(InvalidTransition):
        evaluation.invite_expert(db.session, owner, scenario, make_user("expert").id)


# ------------------------------------------------------------------ 赛马

def test_horse_race_with_several_teams(closed_scenario, make_user, client, sign_in):
    scenario, owner, apps = closed_scenario(n=4, mode="horse_race", race_teams=3)
    criteria = set_criteria(scenario, owner)
    expert, assignment = declared_expert(make_user, scenario, owner)
    for application in apps:  # a complete evaluation (tests/test_complete_evaluations.py)
        score_all(expert, assignment, application, criteria, ["80", "70", "60", "50"])
    with pytest.raises(InvalidTransition):
        decisions.award(db.session, owner, scenario, apps[0].id)
    with pytest.raises(ValidationFailed) as error:
        decisions.start_race(db.session, owner, scenario, [a.id for a in apps])
    assert "最多 3 支" in error.value.message
    with pytest.raises(ValidationFailed):
        decisions.start_race(db.session, owner, scenario, [apps[0].id])
    db.session.rollback()
    sign_in(owner)
    response = client.post(f"/scenarios/{scenario.id}/evaluation/race",
                           data={"race-application_ids": [str(a.id) for a in apps[:3]]})
    assert response.status_code == 302
    db.session.expire_all()
    assert [a.status for a in apps] == [ApplicationStatus.RACING] * 3 + [ApplicationStatus.NOT_SELECTED]
    # The race is not an award: the scenario stays published (closed) and shows no public result.
    assert scenario.status == ScenarioStatus.PUBLISHED and evaluation.phase(db.session, scenario) == "racing"
    assert decisions.public_result(db.session, scenario) is None
    assert notifications_for(apps[0].created_by, "application.racing")
    assert notifications_for(apps[3].created_by, "application.not_selected")
    # Expert scoring and the shortlist are closed once the race starts.
    with pytest.raises(InvalidTransition):
        evaluation.submit_scores(db.session, expert, assignment, apps[0], {c.id: 50 for c in criteria})
    with pytest.raises(InvalidTransition):
        decisions.start_race(db.session, owner, scenario, [apps[0].id, apps[1].id])
    # Final winners need a stage assessment for every racing team.
    with pytest.raises(ValidationFailed) as error:
        decisions.select_final(db.session, owner, scenario, [apps[0].id])
    assert "阶段评估" in error.value.message
    db.session.rollback()
    html = client.post(f"/scenarios/{scenario.id}/evaluation/applications/{apps[0].id}/stage",
                       data={f"stage{apps[0].id}-stage": "第一阶段：原型验证", f"stage{apps[0].id}-score": "120",
                             f"stage{apps[0].id}-result": ""}).get_data(as_text=True)
    assert "0–100" in html and "请填写阶段评估结论" in html
    for application, score in zip(apps[:3], ("91.5", "78", "85"), strict=True):
        prefix = f"stage{application.id}"
        assert client.post(f"/scenarios/{scenario.id}/evaluation/applications/{application.id}/stage",
                           data={f"{prefix}-stage": "第一阶段：原型验证", f"{prefix}-score": score,
                                 f"{prefix}-result": "原型功能完整，性能达标"}).status_code == 302
    with pytest.raises(InvalidTransition):
        decisions.record_stage(db.session, owner, scenario, apps[3].id, "第一阶段", "80", "已出局")
    db.session.rollback()
    assert notifications_for(apps[1].created_by, "application.stage_assessed")
    response = post_confirmed(client, f"/scenarios/{scenario.id}/evaluation/final",
                           data={"final-application_ids": [str(apps[0].id), str(apps[2].id)],
                                 "final-note": "两支团队分别承担主城和远郊片区"})
    assert response.status_code == 302
    db.session.expire_all()
    assert [a.status for a in apps] == [ApplicationStatus.SELECTED, ApplicationStatus.NOT_SELECTED,
                                        ApplicationStatus.SELECTED, ApplicationStatus.NOT_SELECTED]
    assert scenario.status == ScenarioStatus.AWARDED
    assert len(apps[0].stage_assessments) == 1 and apps[0].stage_assessments[0].score == Decimal("91.50")
    assert notifications_for(apps[2].created_by, "application.selected")
    assert notifications_for(apps[1].created_by, "publicity.applicant")
    result = decisions.public_result(db.session, scenario)
    assert {w.firm for w in result["winners"]} == {apps[0].organisation.name, apps[2].organisation.name}
    assert result["total_wan"] == Decimal("630.00")


def test_a_single_candidate_may_race_alone(closed_scenario):
    scenario, owner, (only,) = closed_scenario(n=1, mode="horse_race", race_teams=2)
    decisions.start_race(db.session, owner, scenario, [only.id])
    decisions.record_stage(db.session, owner, scenario, only.id, "第一阶段", None, "原型通过")
    decisions.select_final(db.session, owner, scenario, [only.id])
    assert only.status == ApplicationStatus.SELECTED and scenario.status == ScenarioStatus.AWARDED


# ------------------------------------------------------------------ 流榜

def test_unsuccessful_needs_a_reason_and_tells_every_candidate(closed_scenario, client, sign_in):
    scenario, owner, apps = closed_scenario(n=3)
    decisions.shortlist(db.session, owner, scenario, apps[0].id)
    db.session.commit()
    sign_in(owner)
    html = client.post(f"/scenarios/{scenario.id}/evaluation/unsuccessful",
                       data={"unsuccessful-reason": ""}).get_data(as_text=True)
    assert "请写明流榜原因" in html
    assert scenario.status == ScenarioStatus.PUBLISHED
    reason = "三份申请均未满足国产化部署要求"
    assert post_confirmed(client, f"/scenarios/{scenario.id}/evaluation/unsuccessful",
                          data={"unsuccessful-reason": reason}).status_code == 302
    db.session.expire_all()
    assert scenario.status == ScenarioStatus.UNSUCCESSFUL and scenario.unsuccessful_reason == reason
    assert all(a.status == ApplicationStatus.NOT_SELECTED and a.decision_note == reason for a in apps)
    for application in apps:
        note = notifications_for(application.created_by, "application.not_selected")[0]
        assert reason in note.body
    client.post("/auth/logout")
    html = client.get(f"/scenarios/{scenario.id}").get_data(as_text=True)
    assert 'data-result="unsuccessful"' in html and reason in html
    # The pages read the column (not the audit log, not the applications' notes).
    scenario.unsuccessful_reason = "更正后的流榜原因"
    db.session.commit()
    html = client.get(f"/scenarios/{scenario.id}").get_data(as_text=True)
    assert "更正后的流榜原因" in html and reason not in html


def test_unsuccessful_without_any_application(make_scenario, make_user, travel):
    scenario = make_scenario("published")
    owner = make_user("owner", organisation=scenario.owner)
    travel(scenario.deadline + timedelta(days=1))
    assert decisions.declare_unsuccessful(db.session, owner, scenario, "截止时无企业揭榜") == []
    assert scenario.status == ScenarioStatus.UNSUCCESSFUL
    assert decisions.public_result(db.session, scenario)["reason"] == "截止时无企业揭榜"


def test_unsuccessful_during_a_race(closed_scenario):
    scenario, owner, apps = closed_scenario(n=3, mode="horse_race", race_teams=2)
    decisions.start_race(db.session, owner, scenario, [apps[0].id, apps[1].id])
    decisions.declare_unsuccessful(db.session, owner, scenario, "两支团队原型均未达到验收指标")
    assert {a.status for a in apps} == {ApplicationStatus.NOT_SELECTED}
    assert scenario.status == ScenarioStatus.UNSUCCESSFUL


# ------------------------------------------------------------------ pages

def test_staff_read_the_evaluation_without_forms(closed_scenario, make_user, client, sign_in):
    scenario, owner, apps = closed_scenario(n=2)
    set_criteria(scenario, owner)
    sign_in(make_user("district_staff", district=scenario.district.code))
    html = client.get(f"/scenarios/{scenario.id}/evaluation").get_data(as_text=True)
    assert apps[0].organisation.name in html and "技术方案" in html
    assert "award-application_id" not in html and "criteria-rows-0-name" not in html and "invite-expert_id" not in html


def test_owner_workspace_lists_what_needs_action(closed_scenario, client, sign_in):
    scenario, owner, _apps = closed_scenario(n=2)
    sign_in(owner)
    html = client.get("/my/evaluations").get_data(as_text=True)
    assert scenario.title in html and "待评审" in html
    html = client.get("/dashboard").get_data(as_text=True)
    assert 'data-panel="owner-evaluations"' in html and 'data-nav="evaluations"' in html
    assert f"/scenarios/{scenario.id}/evaluation" in client.get(f"/scenarios/{scenario.id}").get_data(as_text=True)


def test_expert_workspace_and_navigation(closed_scenario, make_user, client, sign_in):
    scenario, owner, _apps = closed_scenario(n=1)
    expert = make_user("expert")
    evaluation.invite_expert(db.session, owner, scenario, expert.id)
    db.session.commit()
    sign_in(expert)
    html = client.get("/dashboard").get_data(as_text=True)
    assert 'data-panel="expert-reviews"' in html and 'data-nav="reviews"' in html and scenario.title in html


# ------------------------------------------------------------------ permission matrix

def _routes(scenario, application, assignment):
    s, a = scenario.id, application.id
    return [
        ("GET", f"/scenarios/{s}/evaluation", {}),
        ("POST", f"/scenarios/{s}/evaluation/criteria", {"criteria-rows-0-name": "技术方案",
                                                         "criteria-rows-0-weight": "100"}),
        ("POST", f"/scenarios/{s}/evaluation/experts", {"invite-expert_id": "1"}),
        ("POST", f"/scenarios/{s}/evaluation/applications/{a}/shortlist", {"on": "1"}),
        ("POST", f"/scenarios/{s}/evaluation/award", {"award-application_id": str(a)}),
        ("POST", f"/scenarios/{s}/evaluation/race", {"race-application_ids": str(a)}),
        ("POST", f"/scenarios/{s}/evaluation/applications/{a}/stage", {f"stage{a}-stage": "一", f"stage{a}-result": "好"}),
        ("POST", f"/scenarios/{s}/evaluation/final", {"final-application_ids": str(a)}),
        ("POST", f"/scenarios/{s}/evaluation/unsuccessful", {"unsuccessful-reason": "没有合格申请"}),
        ("GET", "/my/evaluations", {}),
        ("GET", "/reviews", {}),
        ("GET", f"/reviews/{assignment.id}", {}),
        ("POST", f"/reviews/{assignment.id}/declare", {"confirm": "y", "declare": "y"}),
        ("GET", f"/reviews/{assignment.id}/applications/{a}", {}),
        ("POST", f"/reviews/{assignment.id}/applications/{a}", {}),
    ]


#: Who may use each route (by position in ``_routes``); every other actor is refused.
OWNER_ONLY = {"owner"}
VIEWERS = {"owner", "district_staff", "city_staff"}
ROUTE_ACTORS = [VIEWERS] + [OWNER_ONLY] * 8 + [{"owner", "other_owner"}, {"expert", "other_expert"}] + [{"expert"}] * 4

ACTORS = ["owner", "other_owner", "enterprise", "applicant", "district_staff", "other_district_staff", "city_staff",
          "expert", "other_expert"]


def _actor(name, scenario, application, assignment, make_user):
    if name == "owner":
        return make_user("owner", organisation=scenario.owner)
    if name == "other_owner":
        return make_user("owner")
    if name == "applicant":
        return application.created_by
    if name == "district_staff":
        return make_user("district_staff", district=scenario.district.code)
    if name == "other_district_staff":
        return make_user("district_staff", district="yubei")
    if name == "expert":
        return assignment.expert
    return make_user({"enterprise": "enterprise", "city_staff": "city_staff", "other_expert": "expert"}[name])


@pytest.mark.parametrize("actor", ACTORS)
def test_permission_matrix(closed_scenario, make_user, client, sign_in, actor):
    scenario, owner, (application, _second) = closed_scenario(n=2)
    expert = make_user("expert")
    assignment = ExpertAssignment(scenario_id=scenario.id, expert_id=expert.id, declared_at=clock.now())
    db.session.add(assignment)
    db.session.commit()
    user = _actor(actor, scenario, application, assignment, make_user)
    sign_in(user)

    def snapshot():
        db.session.expire_all()
        return (db.session.execute(sa.select(Application.status).order_by(Application.id)).scalars().all(),
                db.session.scalar(sa.select(sa.func.count(EvaluationCriterion.id))),
                db.session.scalar(sa.select(sa.func.count(ExpertAssignment.id))),
                db.session.get(Scenario, scenario.id).status, db.session.get(ExpertAssignment, assignment.id).recused)

    for (method, url, data), roles in zip(_routes(scenario, application, assignment), ROUTE_ACTORS, strict=True):
        before = snapshot()
        response = client.get(url) if method == "GET" else client.post(url, data=data)
        if actor in roles:
            # Admitted: done (200/302), or refused by a rule of the evaluation (303 + flash, 422 + messages).
            assert response.status_code in (200, 302, 303, 422), (actor, method, url, response.status_code)
        else:
            assert response.status_code in (403, 404), (actor, method, url, response.status_code)
            assert snapshot() == before, (actor, url)


@pytest.mark.parametrize("index", range(15))
def test_anonymous_is_sent_to_login(closed_scenario, make_user, client, index):
    scenario, _owner, (application, _second) = closed_scenario(n=2)
    assignment = ExpertAssignment(scenario_id=scenario.id, expert_id=make_user("expert").id)
    db.session.add(assignment)
    db.session.commit()
    method, url, data = _routes(scenario, application, assignment)[index]
    response = client.get(url) if method == "GET" else client.post(url, data=data)
    assert response.status_code == 302 and "/auth/login" in response.headers["Location"]


def test_services_refuse_every_other_role(closed_scenario, make_user):
    scenario, _owner, (application, _second) = closed_scenario(n=2)
    for role in ("enterprise", "district_staff", "city_staff", "expert"):
        actor = make_user(role, district=scenario.district.code)
        for call in (
            lambda actor=actor: evaluation.set_criteria(db.session, actor, scenario, CRITERIA),
            lambda actor=actor: evaluation.invite_expert(db.session, actor, scenario, None),
            lambda actor=actor: decisions.shortlist(db.session, actor, scenario, application.id),
            lambda actor=actor: decisions.award(db.session, actor, scenario, application.id),
            lambda actor=actor: decisions.start_race(db.session, actor, scenario, [application.id]),
            lambda actor=actor: decisions.record_stage(db.session, actor, scenario, application.id, "一", None, "好"),
            lambda actor=actor: decisions.select_final(db.session, actor, scenario, [application.id]),
            lambda actor=actor: decisions.declare_unsuccessful(db.session, actor, scenario, "没有合格申请"),
        ):
            with pytest.raises(PermissionDenied):
                call()
            db.session.rollback()
    assert scenario.status == ScenarioStatus.PUBLISHED


def test_forms_carry_their_csrf_token(closed_scenario, app, tmp_path):
    """With CSRF on, the prefixed forms (and the per-row shortlist buttons) post their own token."""
    import re

    from tests.conftest import PASSWORD, make_test_app

    scenario, owner, (first, second) = closed_scenario(n=2)
    client = make_test_app(app.config["SQLALCHEMY_DATABASE_URI"], tmp_path, WTF_CSRF_ENABLED=True).test_client()
    html = client.get("/auth/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', html).group(1)
    client.post("/auth/login", data={"email": owner.email, "password": PASSWORD, "csrf_token": token})
    html = client.get(f"/scenarios/{scenario.id}/evaluation").get_data(as_text=True)
    act = re.search(r'name="act-csrf_token" value="([^"]+)"', html).group(1)
    assert client.post(f"/scenarios/{scenario.id}/evaluation/applications/{first.id}/shortlist",
                       data={"on": "1"}).status_code == 400
    assert client.post(f"/scenarios/{scenario.id}/evaluation/applications/{first.id}/shortlist",
                       data={"on": "1", "act-csrf_token": act}).status_code == 302
    award = re.search(r'name="award-csrf_token" type="hidden" value="([^"]+)"', html).group(1)
    assert post_confirmed(client, f"/scenarios/{scenario.id}/evaluation/award",
                          data={"award-application_id": str(first.id), "award-csrf_token": award}).status_code == 302
    db.session.expire_all()
    assert first.status == ApplicationStatus.SELECTED and second.status == ApplicationStatus.NOT_SELECTED


def test_the_award_choices_name_the_unit_in_english(closed_scenario, client, sign_in):
    """The award form's choices said "Quoted price 300.00 万元" on the English page (the unit was not wrapped)."""
    from flask_babel import refresh

    scenario, owner, _applications = closed_scenario(n=1)
    sign_in(owner)
    client.get("/lang/en")
    refresh()  # the tests share one app context: forget the locale cached by the earlier requests
    try:
        html = client.get(f"/scenarios/{scenario.id}/evaluation").get_data(as_text=True)
    finally:
        client.get("/lang/zh_CN")
        refresh()
    assert "300.00 ×10k CNY" in html and "300.00 万元" not in html


@pytest.mark.postgres
@pytest.mark.skipif(not ON_POSTGRES, reason="row locks: PostgreSQL only (SQLite writes are serial)")
def test_a_declaration_waits_for_a_concurrent_one_and_is_refused(closed_scenario, make_user, client, sign_in):
    """A double-clicked declaration (no conflict, then 回避 from a second tab): the second waits for the first and
    is refused (without the row lock both passed the check: declared and recused at once, audited twice)."""

    from sqlalchemy.orm import Session

    from marketplace.models import User

    scenario, owner, _applications = closed_scenario(n=1)
    expert = make_user("expert")
    assignment = evaluation.invite_expert(db.session, owner, scenario, expert.id)
    db.session.commit()
    sign_in(expert)
    with Session(db.engine) as other:
        evaluation.declare(other, other.get(User, expert.id), other.get(ExpertAssignment, assignment.id), True)
        url = f"/reviews/{assignment.id}/declare"
        answer = second_waits_for_first(other, lambda: client.post(url, data={"confirm": "y", "recuse": "y"}), "the second declaration")
    assert answer.status_code in (303, 409), answer.status_code
    db.session.expire_all()
    assert assignment.declared_at is not None and not assignment.recused
    assert db.session.scalar(sa.select(sa.func.count(AuditEvent.id)).where(
        AuditEvent.action.in_(("evaluation.declare", "evaluation.recuse")))) == 1


@pytest.mark.postgres
@pytest.mark.skipif(not ON_POSTGRES, reason="row locks: PostgreSQL only (SQLite writes are serial)")
def test_an_invitation_waits_for_a_concurrent_one_and_is_refused(closed_scenario, make_user, client, sign_in):
    """Two owner users (or a double click) invite one expert at the same moment: the second waits for the first
    and gets the field message (without the scenario's lock both inserted: a unique-constraint 500)."""

    from sqlalchemy.orm import Session

    from marketplace.models import User

    scenario, owner, _applications = closed_scenario(n=1)
    expert = make_user("expert")
    sign_in(make_user("owner", organisation=scenario.owner))
    url, data = f"/scenarios/{scenario.id}/evaluation/experts", {"invite-expert_id": str(expert.id)}
    with Session(db.engine) as other:
        evaluation.invite_expert(other, other.get(User, owner.id), other.get(Scenario, scenario.id), expert.id)
        answer = second_waits_for_first(other, lambda: client.post(url, data=data), "the second invitation")
    assert answer.status_code == 422, answer.status_code
    assert "该专家已受邀评审本场景" in answer.get_data(as_text=True)
    assert db.session.scalar(sa.select(sa.func.count(ExpertAssignment.id))) == 1
