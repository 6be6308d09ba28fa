"""Complete evaluations (issue 11.2): no award, race, final or 流榜 on half the scores.

Every invited expert still on the panel must have recused, or declared no conflict and scored every
application under evaluation on every criterion; the evaluation page lists exactly what is missing
(expert × application × criterion); the owner may remove an unresponsive expert with a reason (audited,
the expert told); experts score blind to the shortlist marks and never see other experts' scores.
"""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from marketplace.applications import completeness, decisions, evaluation
from marketplace.errors import InvalidTransition, NotFound, PermissionDenied, ValidationFailed
from marketplace.extensions import db
from marketplace.models import ApplicationStatus, AuditEvent, ScenarioStatus
from tests.conftest import ON_POSTGRES
from tests.races import second_waits_for_first
from tests.test_evaluation import (  # noqa: F401  (fixtures)
    closed_scenario,
    declared_expert,
    make_application,
    notifications_for,
    score_all,
    set_criteria,
    sign_in,
    travel,
)

VALUES = ["80", "70", "60", "50"]


@pytest.fixture
def panel(closed_scenario, make_user):  # noqa: F811
    """A closed 揭榜挂帅 scenario with three applications, criteria and two declared experts."""
    scenario, owner, apps = closed_scenario(n=3)
    criteria = set_criteria(scenario, owner)
    first = declared_expert(make_user, scenario, owner)
    second = declared_expert(make_user, scenario, owner)
    return scenario, owner, apps, criteria, first, second


def test_award_with_half_the_scores_is_refused_and_the_page_lists_what_is_missing(panel, client, sign_in):  # noqa: F811
    scenario, owner, apps, criteria, (e1, a1), (e2, a2) = panel
    for application in apps:
        score_all(e1, a1, application, criteria, VALUES)
    score_all(e2, a2, apps[0], criteria, VALUES)
    # The second expert scored one criterion of the second application only.
    evaluation_missing = completeness.missing(db.session, scenario)
    assert {(m.assignment.id, m.application.id) for m in evaluation_missing} == {(a2.id, apps[1].id),
                                                                                 (a2.id, apps[2].id)}
    assert len(evaluation_missing) == 2 * len(criteria)
    with pytest.raises(InvalidTransition) as refused:
        decisions.award(db.session, owner, scenario, apps[0].id)
    assert e2.name in refused.value.message and "8 项" in refused.value.message
    db.session.rollback()
    sign_in(owner)
    response = client.post(f"/scenarios/{scenario.id}/evaluation/award", data={"award-application_id": str(apps[0].id)})
    assert response.status_code == 303
    db.session.expire_all()
    assert scenario.status == ScenarioStatus.PUBLISHED and apps[0].status == ApplicationStatus.SUBMITTED
    html = client.get(f"/scenarios/{scenario.id}/evaluation").get_data(as_text=True)
    assert "评审尚未完成" in html
    section = html[html.index('id="missing"'):html.index('id="decisions"') if 'id="decisions"' in html else None]
    assert f'data-missing-expert="{a2.id}"' in section and f'data-missing-expert="{a1.id}"' not in section
    for application in apps[1:]:
        assert f'data-missing-application="{application.id}"' in section
    assert f'data-missing-application="{apps[0].id}"' not in section
    assert section.count("data-missing-criterion=") == 2 * len(criteria)
    # Completed, the award goes through.
    for application in apps[1:]:
        score_all(e2, a2, application, criteria, VALUES)
    decisions.award(db.session, owner, scenario, apps[0].id)
    assert scenario.status == ScenarioStatus.AWARDED


def test_undeclared_expert_blocks_and_a_recused_one_does_not(closed_scenario, make_user):  # noqa: F811
    scenario, owner, apps = closed_scenario(n=2)
    criteria = set_criteria(scenario, owner)
    pending = make_user("expert")
    evaluation.invite_expert(db.session, owner, scenario, pending.id)
    recusing = make_user("expert")
    assignment = evaluation.invite_expert(db.session, owner, scenario, recusing.id)
    evaluation.declare(db.session, recusing, assignment, False)
    db.session.commit()
    items = completeness.missing(db.session, scenario)
    assert {m.assignment.expert_id for m in items} == {pending.id} and all(m.undeclared for m in items)
    assert len(items) == len(apps) * len(criteria)
    with pytest.raises(InvalidTransition) as refused:
        decisions.declare_unsuccessful(db.session, owner, scenario, "所有申请均不满足验收要求。")
    assert "尚未声明利益冲突" in refused.value.message


def test_shortlist_decides_which_applications_must_be_scored(panel):
    scenario, owner, apps, criteria, (e1, a1), (e2, a2) = panel
    decisions.shortlist(db.session, owner, scenario, apps[0].id)
    db.session.commit()
    for expert, assignment in ((e1, a1), (e2, a2)):
        score_all(expert, assignment, apps[0], criteria, VALUES)
    assert completeness.missing(db.session, scenario) == []
    # A winner outside the shortlist must have been scored too.
    with pytest.raises(InvalidTransition):
        decisions.award(db.session, owner, scenario, apps[1].id)
    db.session.rollback()
    decisions.award(db.session, owner, scenario, apps[0].id)
    assert apps[0].status == ApplicationStatus.SELECTED


def test_race_teams_and_final_winners_need_complete_scores(closed_scenario, make_user):  # noqa: F811
    scenario, owner, apps = closed_scenario(n=3, mode="horse_race", race_teams=2)
    criteria = set_criteria(scenario, owner)
    expert, assignment = declared_expert(make_user, scenario, owner)
    score_all(expert, assignment, apps[0], criteria, VALUES)
    with pytest.raises(InvalidTransition):
        decisions.start_race(db.session, owner, scenario, [apps[0].id, apps[1].id])
    db.session.rollback()
    for application in apps[1:]:
        score_all(expert, assignment, application, criteria, VALUES)
    decisions.start_race(db.session, owner, scenario, [apps[0].id, apps[1].id])
    db.session.commit()
    assert completeness.under_evaluation(db.session, scenario) == [apps[0], apps[1]]
    for application in apps[:2]:
        decisions.record_stage(db.session, owner, scenario, application.id, "第一阶段", "80", "原型达标")
    decisions.select_final(db.session, owner, scenario, [apps[0].id])
    assert scenario.status == ScenarioStatus.AWARDED


def test_no_experts_invited_needs_no_scores(closed_scenario):  # noqa: F811
    scenario, owner, apps = closed_scenario(n=2)
    assert completeness.missing(db.session, scenario) == []
    decisions.award(db.session, owner, scenario, apps[0].id)


# ------------------------------------------------------------------ removing an unresponsive expert

def test_owner_removes_an_unresponsive_expert_with_a_reason(panel, client, sign_in):  # noqa: F811
    scenario, owner, apps, criteria, (e1, a1), (e2, a2) = panel
    for application in apps:
        score_all(e1, a1, application, criteria, VALUES)
    score_all(e2, a2, apps[0], criteria, ["0", "0", "0", "0"])  # partial scores that must stop counting
    sign_in(owner)
    url = f"/scenarios/{scenario.id}/evaluation/experts/{a2.id}/remove"
    html = client.post(url, data={f"remove{a2.id}-reason": ""}).get_data(as_text=True)
    assert "请说明移除原因" in html
    db.session.expire_all()
    assert a2.removed_at is None
    assert client.post(url, data={f"remove{a2.id}-reason": "专家两周未响应评审邀请，电话无法联系。"}).status_code == 302
    db.session.expire_all()
    assert a2.removed_at is not None and a2.removal_reason.startswith("专家两周未响应")
    assert evaluation.assignment_state(a2) == "removed"
    event = db.session.execute(sa.select(AuditEvent).where(AuditEvent.action == "evaluation.remove_expert")).scalar_one()
    assert event.actor_id == owner.id and "电话无法联系" in str(event.after)
    [notice] = notifications_for(e2, "evaluation.removed")
    assert "电话无法联系" in notice.body
    # Partial scores no longer count, the removed expert reads nothing more; the award goes through.
    ranked = evaluation.ranking(db.session, owner, scenario)
    assert all(len(r.experts) == 1 for r in ranked)
    with pytest.raises(PermissionDenied):
        evaluation.expert_applications(db.session, e2, a2)
    from marketplace.applications import policy

    assert not policy.can_read(e2, apps[0])
    decisions.award(db.session, owner, scenario, apps[0].id)
    assert scenario.status == ScenarioStatus.AWARDED


def test_an_expert_who_completed_cannot_be_removed(panel):
    scenario, owner, apps, criteria, (e1, a1), _second = panel
    for application in apps:
        score_all(e1, a1, application, criteria, VALUES)
    with pytest.raises(InvalidTransition):
        completeness.remove_expert(db.session, owner, scenario, a1.id, "评分偏低，希望更换专家。")


@pytest.mark.parametrize("role", ["district_staff", "city_staff", "expert", "enterprise", "other_owner"])
def test_only_the_owner_removes_experts(panel, make_user, client, sign_in, role):  # noqa: F811
    scenario, _owner, _apps, _criteria, _first, (e2, a2) = panel
    user = e2 if role == "expert" else make_user("owner") if role == "other_owner" else make_user(
        role, district="yuzhong" if role != "city_staff" else None)
    with pytest.raises((PermissionDenied, NotFound)):
        completeness.remove_expert(db.session, user, scenario, a2.id, "专家两周未响应评审邀请。")
    db.session.rollback()
    sign_in(user)
    response = client.post(f"/scenarios/{scenario.id}/evaluation/experts/{a2.id}/remove",
                           data={f"remove{a2.id}-reason": "专家两周未响应评审邀请。"})
    assert response.status_code in (303, 403, 404)
    db.session.expire_all()
    assert a2.removed_at is None


def test_removal_of_another_scenarios_expert_is_not_found(panel, closed_scenario):  # noqa: F811
    scenario, owner, *_rest = panel
    other, other_owner, _apps = closed_scenario(n=1)
    with pytest.raises(NotFound):
        completeness.remove_expert(db.session, other_owner, other, panel[4][1].id, "不属于本场景的专家。")
    with pytest.raises(ValidationFailed):
        completeness.remove_expert(db.session, owner, scenario, panel[5][1].id, "短")


# ------------------------------------------------------------------ scoring blind

def test_experts_score_blind_to_the_shortlist_until_they_scored_everything(panel, client, sign_in):  # noqa: F811
    scenario, owner, apps, criteria, (e1, a1), (e2, a2) = panel
    decisions.shortlist(db.session, owner, scenario, apps[0].id)
    score_all(e2, a2, apps[0], criteria, ["11", "12", "13", "14"])
    db.session.commit()
    sign_in(e1)
    pages = [client.get(f"/reviews/{a1.id}"), client.get(f"/reviews/{a1.id}/applications/{apps[0].id}"),
             client.get(f"/applications/{apps[0].id}"), client.get(f"/scenarios/{scenario.id}/applications"),
             client.get(f"/scenarios/{scenario.id}/applications.csv")]
    for response in pages:
        body = response.get_data(as_text=True)
        assert response.status_code == 200
        assert 'data-app-status="shortlisted"' not in body and "入围" not in body
    # Never another expert's scores (the ranking is for the owner and reviewing staff).
    assert client.get(f"/scenarios/{scenario.id}/evaluation").status_code == 403
    for response in pages[:3]:
        assert e2.name not in response.get_data(as_text=True)
    # Once the expert has scored everything, the shortlist marks show.
    for application in apps:
        score_all(e1, a1, application, criteria, VALUES)
    assert 'data-app-status="shortlisted"' in client.get(f"/reviews/{a1.id}").get_data(as_text=True)
    # The owner always sees them.
    sign_in(owner)
    assert 'data-app-status="shortlisted"' in client.get(f"/scenarios/{scenario.id}/evaluation").get_data(as_text=True)


# ------------------------------------------------------------------ demonstration rounds (the same rule)

def test_a_demonstration_round_is_not_published_with_experts_pending(make_user, make_scenario, client, login):
    from marketplace.showcase import services as showcase
    from tests.test_showcase import WRITEUP

    city = make_user("city_staff", district=None)
    rnd = showcase.create_round(db.session, city, {"year": 2025, "name": "2025年度示范项目评选", "criteria": [
        {"name": "创新性", "weight": "60"}, {"name": "应用成效", "weight": "40"}]})
    showcase.round_transition(db.session, city, rnd, "open")
    owner = make_user("owner")
    scenario = make_scenario("accepted", owner=owner.organisation, title="企业开办一网通办")
    nomination = showcase.nominate(db.session, owner, rnd, scenario, WRITEUP)
    showcase.round_transition(db.session, city, rnd, "start_scoring")
    done, slow, pending = make_user("expert"), make_user("expert"), make_user("expert")
    for expert in (done, slow, pending):
        showcase.assign_expert(db.session, city, rnd, expert)
    by_expert = {a.expert_id: a for a in nomination.experts}
    for expert in (done, slow):
        showcase.declare(db.session, expert, by_expert[expert.id], True)
    showcase.submit_scores(db.session, done, by_expert[done.id], {c.id: "90" for c in rnd.criteria})
    db.session.commit()
    missing = showcase.missing_scores(db.session, rnd)
    assert {(a.expert_id, c.name if c else None) for a, c in missing} == {
        (slow.id, "创新性"), (slow.id, "应用成效"), (pending.id, None)}
    with pytest.raises(InvalidTransition) as refused:
        showcase.publish_round(db.session, city, rnd, [nomination.id])
    assert slow.name in refused.value.message and pending.name in refused.value.message
    db.session.rollback()
    login(city)
    html = client.get(f"/showcase/rounds/{rnd.id}").get_data(as_text=True)
    assert 'data-missing-count="3"' in html and "尚未声明利益冲突" in html
    # The pending expert recuses, the slow one finishes: the round publishes.
    showcase.declare(db.session, pending, by_expert[pending.id], False, "曾参与该项目咨询")
    showcase.submit_scores(db.session, slow, by_expert[slow.id], {c.id: "80" for c in rnd.criteria})
    assert showcase.missing_scores(db.session, rnd) == []
    assert len(showcase.publish_round(db.session, city, rnd, [nomination.id])) == 1


@pytest.mark.postgres
@pytest.mark.skipif(not ON_POSTGRES, reason="row locks: PostgreSQL only (SQLite writes are serial)")
def test_a_removal_waits_for_the_experts_scoring_in_progress_and_is_refused(closed_scenario, make_user, client,  # noqa: F811
                                                                             sign_in):  # noqa: F811
    """The owner removes an expert while the expert submits the last scores: the removal waits for the scoring and
    is refused (without the row lock it counted the scores still missing, and the expert was removed with a
    complete set of scores on record)."""

    from sqlalchemy.orm import Session

    from marketplace.models import Application, ExpertAssignment, User

    scenario, owner, apps = closed_scenario(n=1)
    criteria = set_criteria(scenario, owner)
    expert, assignment = declared_expert(make_user, scenario, owner)
    sign_in(owner)
    with Session(db.engine) as other:
        evaluation.submit_scores(other, other.get(User, expert.id), other.get(ExpertAssignment, assignment.id),
                                 other.get(Application, apps[0].id),
                                 {c.id: v for c, v in zip(criteria, VALUES, strict=True)})  # not yet committed
        url = f"/scenarios/{scenario.id}/evaluation/experts/{assignment.id}/remove"
        data = {f"remove{assignment.id}-reason": "专家两周未响应评审邀请，电话无法联系。"}
        answer = second_waits_for_first(other, lambda: client.post(url, data=data), "the removal", "the scoring")
    assert answer.status_code in (303, 409), answer.status_code
    db.session.expire_all()
    assert assignment.removed_at is None
    assert db.session.scalar(sa.select(sa.func.count(AuditEvent.id)).where(
        AuditEvent.action == "evaluation.remove_expert")) == 0
