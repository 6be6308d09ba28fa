"""``make_process(state)``: a public scenario with the applications, decisions, contract, milestones and
acceptance of one lifecycle state, rows built directly with consistent times (like the demo data).

States: ``published`` (open, sealed applications), ``closed`` (deadline passed, undecided), ``awarded``
(揭榜挂帅, one winner), ``race_awarded`` (赛马, two final winners), ``unsuccessful`` (流榜), ``amended``
(re-published after a substantive change, audited), ``in_delivery`` (contract, milestones met / not met /
pending), ``acceptance_failed`` and ``accepted``; ``withdrawn`` (an award whose 公示 was withdrawn after an
upheld objection, the scenario back in evaluation) and ``reawarded`` (then awarded again to the same firm,
the new notice ended: final); ``cancelled`` (the scenario itself withdrawn by its owner after publication,
before the deadline: applications sealed for good) and ``cancelled_closed`` (withdrawn after the deadline).
"""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest

STATES = ("published", "closed", "awarded", "race_awarded", "unsuccessful", "amended", "in_delivery",
          "acceptance_failed", "accepted", "withdrawn", "reawarded", "cancelled", "cancelled_closed")
#: The public reason the ``cancelled`` states' owner gave.
CANCEL_REASON = "上级部门统筹建设同类平台，本场景不再单独实施。"


@pytest.fixture
def make_process(app, make_scenario, make_org):
    from marketplace import audit, clock
    from marketplace.extensions import db
    from marketplace.models import (
        Acceptance,
        AcceptanceResult,
        Application,
        ApplicationStatus,
        Contract,
        Milestone,
        MilestoneStatus,
        PublicityNotice,
        Question,
        Role,
        ScenarioMode,
        ScenarioStatus,
        StageAssessment,
        User,
    )

    def firm(n: int):
        return make_org("software_enterprise", district="jiangbei", name=f"测试软件{n}号有限公司")

    def application(scenario, organisation, status, submitted, price="300.00", decided=None):
        row = Application(
            scenario=scenario, organisation=organisation, status=ApplicationStatus(status),
            summary="机密：本申请的方案摘要", approach="机密：技术路线", team=[{"name": "机密成员", "role": "PM"}],
            price_wan=Decimal(price), plan="机密：实施计划", milestones=[{"title": "机密里程碑", "month": 3}],
            declares_meets_requirements=True, declares_no_conflict=True,
            submitted_at=None if status == "draft" else submitted, confirmed_revision=scenario.revision,
            decided_at=decided, decision_note="评审意见：机密" if decided else None,
        )
        db.session.add(row)
        return row

    def make(state: str, **fields):
        assert state in STATES, state
        now = clock.now()
        open_state = state in ("published", "amended", "cancelled")
        published = now - timedelta(days=3 if open_state else 90)
        deadline = now + timedelta(days=20) if open_state else published + timedelta(days=30)
        mode = ScenarioMode.HORSE_RACE if state == "race_awarded" else ScenarioMode.OPEN_CALL
        stored = {"published": "published", "amended": "published", "closed": "published",
                  "awarded": "awarded", "race_awarded": "awarded", "unsuccessful": "unsuccessful",
                  "in_delivery": "in_delivery", "acceptance_failed": "in_delivery", "accepted": "accepted",
                  "withdrawn": "published", "reawarded": "awarded", "cancelled": "withdrawn",
                  "cancelled_closed": "withdrawn"}[state]
        values = dict(published_at=published, deadline=deadline, mode=mode,
                      race_teams=3 if mode == ScenarioMode.HORSE_RACE else None)
        values.update(fields)
        scenario = make_scenario(stored, **values)
        asker = User(email=f"asker{scenario.id}@test.cq", name="提问人", password_hash="x", role=Role.ENTERPRISE,
                     organisation=make_org("software_enterprise", name=f"提问企业{scenario.id}"))
        db.session.add(asker)
        db.session.add(Question(scenario=scenario, asked_by=asker, text="是否需要对接现有信号机？",
                                created_at=published + timedelta(days=1), answer="需要，接口文档见附件。",
                                answered_at=published + timedelta(days=2)))
        db.session.add(Question(scenario=scenario, asked_by=asker, text="未答复的问题",
                                created_at=published + timedelta(days=1)))
        submitted = published + timedelta(days=5) if not open_state else now - timedelta(days=1)
        firms = [firm(scenario.id * 10 + i) for i in range(4)]
        decided = deadline + timedelta(days=5)
        if open_state or state in ("closed", "cancelled_closed"):
            apps = [application(scenario, firms[0], "submitted", submitted, "280.00"),
                    application(scenario, firms[1], "submitted", submitted, "320.00"),
                    application(scenario, firms[2], "draft", submitted),
                    application(scenario, firms[3], "withdrawn", submitted)]
        elif state == "race_awarded":
            apps = [application(scenario, firms[0], "selected", submitted, "150.00", decided),
                    application(scenario, firms[1], "selected", submitted, "170.00", decided),
                    application(scenario, firms[2], "not_selected", submitted, "190.00", decided),
                    application(scenario, firms[3], "withdrawn", submitted)]
            db.session.flush()
            for row in apps[:3]:
                db.session.add(StageAssessment(application_id=row.id, stage="第一阶段：原型验证", score=Decimal("80"),
                                               result="原型可用", recorded_at=deadline + timedelta(days=2)))
        elif state == "withdrawn":
            apps = [application(scenario, firms[0], "submitted", submitted, "280.00"),
                    application(scenario, firms[1], "submitted", submitted, "320.00")]
        elif state == "reawarded":
            apps = [application(scenario, firms[0], "selected", submitted, "280.00", decided + timedelta(days=20)),
                    application(scenario, firms[1], "not_selected", submitted, "320.00",
                                decided + timedelta(days=20))]
        elif state == "unsuccessful":
            apps = [application(scenario, firms[0], "not_selected", submitted, "280.00", decided),
                    application(scenario, firms[1], "not_selected", submitted, "320.00", decided)]
            apps[0].decision_note = apps[1].decision_note = "所有申请均未达到验收标准要求，本场景流榜。"
        else:
            apps = [application(scenario, firms[0], "selected", submitted, "280.00", decided),
                    application(scenario, firms[1], "not_selected", submitted, "320.00", decided)]
        db.session.flush()
        if state in ("withdrawn", "reawarded"):
            winner = {"application_id": apps[0].id, "firm": apps[0].organisation.name, "amount_wan": "280.00",
                      "score": "90.00"}
            db.session.add(PublicityNotice(
                scenario_id=scenario.id, starts_at=decided, ends_at=decided + timedelta(days=5),
                withdrawn_at=decided + timedelta(days=3), withdrawn_reason="经核查，评审过程存在计分错误，公示撤销。",
                winners=[winner], prior_statuses={str(a.id): "submitted" for a in apps}))
            if state == "reawarded":
                again = decided + timedelta(days=20)
                db.session.add(PublicityNotice(scenario_id=scenario.id, starts_at=again,
                                               ends_at=again + timedelta(days=5), winners=[winner]))
        if state == "amended":
            audit.record(db.session, actor=None, action="scenario.publish", object_type="scenario",
                         object_id=scenario.id, before={"status": "submitted"}, after={"status": "published"})
            audit.record(db.session, actor=None, action="scenario.reopen", object_type="scenario",
                         object_id=scenario.id, after={"changed": ["deadline", "budget_wan"]})
            audit.record(db.session, actor=None, action="scenario.publish", object_type="scenario",
                         object_id=scenario.id, before={"status": "submitted"}, after={"status": "published"})
            scenario.revision = 2
        if state in ("cancelled", "cancelled_closed"):  # withdrawn now, through the audited transition's entry
            audit.record(db.session, actor=None, action="scenario.withdraw", object_type="scenario",
                         object_id=scenario.id, before={"status": "published"},
                         after={"status": "withdrawn", "reason": CANCEL_REASON, "batch": None})
        if state in ("in_delivery", "acceptance_failed", "accepted"):
            signed = clock.to_local(decided).date() + timedelta(days=3)
            contract = Contract(scenario_id=scenario.id, application_id=apps[0].id, amount_wan=Decimal("275.50"),
                                signed_on=signed, created_at=decided + timedelta(days=3, hours=8))
            db.session.add(contract)
            db.session.flush()
            statuses = {"in_delivery": ("met", "not_met", "pending"),
                        "acceptance_failed": ("met", "met", "not_met"),
                        "accepted": ("met", "met", "met")}[state]
            for index, status in enumerate(statuses, start=1):
                recorded = None if status == "pending" else decided + timedelta(days=10 * index)
                db.session.add(Milestone(contract_id=contract.id, title=f"第{index}阶段交付",
                                         due_on=signed + timedelta(days=10 * index), status=MilestoneStatus(status),
                                         note="机密：里程碑备注" if status == "not_met" else None,
                                         recorded_at=recorded))
            if state != "in_delivery":
                day = min(clock.to_local(decided).date() + timedelta(days=40), date.today())
                db.session.add(Acceptance(
                    scenario_id=scenario.id, accepted_on=day,
                    result=AcceptanceResult.PASSED if state == "accepted" else AcceptanceResult.FAILED,
                    note="机密：验收备注", created_at=decided + timedelta(days=41)))
        if state == "unsuccessful":
            assert scenario.status == ScenarioStatus.UNSUCCESSFUL
        db.session.commit()
        return scenario

    return make
