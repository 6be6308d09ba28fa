"""Demo 公示 notices and 异议 (issue 11), written after the applications.

Every awarded (not yet contracted) scenario gets the notice its award opened; most of them
ended long ago (their awards are final). Three are re-timed to have been awarded in the last
few days, so their notices are open now: the first (the demo owner's when possible) with an
objection awaiting decision, the second with an objection answered and dismissed. One more
awarded 揭榜挂帅 scenario is shown as it is after an upheld objection: the notice withdrawn
with its public reason, the applications back in evaluation. Scenarios already in delivery or
accepted predate notices and have none (final by the rule in
:mod:`marketplace.applications.publicity`). Rows are built directly, like the rest of the demo
loader; the caller commits.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from flask import current_app

from marketplace.applications.publicity import notice_path, snapshot
from marketplace.models import (
    Application,
    ApplicationStatus,
    Notification,
    Objection,
    ObjectionDecision,
    PublicityNotice,
    Role,
    Scenario,
    ScenarioMode,
    ScenarioStatus,
    User,
)

OBJECTIONS = [
    "拟揭榜单位的报价明显低于我单位测算的成本价，且实施计划中关键里程碑时间不合理，请求核查评审打分依据。",
    "评审专家中有一位近两年曾在拟揭榜单位任职，可能存在利益冲突，请核查专家回避情况。",
    "拟揭榜单位提交的同类项目业绩与公开信息不符，请核实其业绩证明材料的真实性。",
]


class PublicityLoader:
    """Writes the notices and objections of the demo (see the module docstring)."""

    def __init__(self, loader: Any) -> None:
        self.session = loader.session
        self.now: datetime = loader.now
        self.demo_owner = getattr(loader, "demo_owner_org", None)
        self.days = int(current_app.config.get("PUBLICITY_DAYS", 5))
        self.summary = {"publicity notices": 0, "objections": 0}

    def _owner_user(self, scenario: Scenario) -> User | None:
        return next((u for u in scenario.owner.users if u.role == Role.OWNER), None)

    def _staff(self, scenario: Scenario, level: str) -> User | None:
        query = sa.select(User).where(User.role == Role.CITY_STAFF) if level == "city" else \
            sa.select(User).where(User.role == Role.DISTRICT_STAFF, User.district_id == scenario.district_id)
        return self.session.execute(query.order_by(User.id).limit(1)).scalar_one_or_none()

    def _applications(self, scenario: Scenario) -> list[Application]:
        return list(self.session.execute(sa.select(Application).where(
            Application.scenario_id == scenario.id,
            Application.status.in_((ApplicationStatus.SELECTED, ApplicationStatus.NOT_SELECTED)))
            .order_by(Application.id)).scalars())

    def _notice(self, scenario: Scenario, starts: datetime) -> PublicityNotice | None:
        owner = self._owner_user(scenario)
        applications = self._applications(scenario)
        if owner is None or not applications:
            return None
        for application in applications:  # the award happened when the notice opened
            application.decided_at = starts
            application.updated_at = max(application.updated_at or starts, starts)
        self.session.flush()
        notice = PublicityNotice(scenario_id=scenario.id, starts_at=starts, ends_at=starts + timedelta(days=self.days),
                                 created_by_id=owner.id, created_at=starts, updated_at=starts,
                                 prior_statuses={str(a.id): ApplicationStatus.SUBMITTED.value for a in applications},
                                 **snapshot(self.session, owner, scenario))
        self.session.add(notice)
        self.session.flush()
        self.summary["publicity notices"] += 1
        return notice

    def _objector(self, scenario: Scenario) -> User | None:
        losers = [a for a in self._applications(scenario) if a.status == ApplicationStatus.NOT_SELECTED]
        for application in losers:
            user = next((u for u in application.organisation.users if u.role == Role.ENTERPRISE), None)
            if user is not None:
                return user
        return None

    def _objection(self, notice: PublicityNotice, grounds: str, filed: datetime) -> Objection | None:
        objector = self._objector(notice.scenario)
        if objector is None:
            return None
        objection = Objection(notice=notice, objector_id=objector.id, organisation_id=objector.organisation_id,
                              grounds=grounds, created_at=filed, updated_at=filed)
        self.session.add(objection)
        self.session.flush()
        self.summary["objections"] += 1
        return objection

    def _answer(self, objection: Objection, when: datetime, text: str) -> None:
        owner = self._owner_user(objection.notice.scenario)
        objection.answer, objection.answered_at = text, when
        objection.answered_by_id = owner.id if owner else None
        objection.updated_at = when

    def _decide(self, objection: Objection, decision: ObjectionDecision, when: datetime, reason: str) -> None:
        staff = self._staff(objection.notice.scenario, objection.notice.level)
        objection.decision, objection.decision_reason, objection.decided_at = decision, reason, when
        objection.decided_by_id = staff.id if staff else None
        objection.updated_at = when
        self.session.add(Notification(user_id=objection.objector_id, kind=f"objection.{decision.value}",
                                      title=f"异议处理结果：{objection.notice.scenario.title}"[:200], body=reason,
                                      url=notice_path(objection.notice.scenario_id), created_at=when,
                                      updated_at=when))

    def run(self) -> dict[str, int]:
        awarded = list(self.session.execute(sa.select(Scenario).where(Scenario.status == ScenarioStatus.AWARDED)
                                            .order_by(Scenario.id)).scalars())
        awarded.sort(key=lambda s: (s.owner is not self.demo_owner, s.id))
        open_calls = [s for s in awarded[3:] if s.mode == ScenarioMode.OPEN_CALL]
        withdrawn = open_calls[0] if open_calls else None
        for n, scenario in enumerate(awarded):
            decided = max((a.decided_at for a in self._applications(scenario) if a.decided_at), default=None)
            if decided is None:
                continue
            if n < 3:  # in 公示 now
                starts = max(decided, self.now - timedelta(days=n + 1, hours=3))
                notice = self._notice(scenario, starts)
                if notice is None:
                    continue
                if n == 0:
                    objection = self._objection(notice, OBJECTIONS[0], starts + timedelta(hours=20))
                    if objection is not None and starts + timedelta(hours=30) < self.now:
                        self._answer(objection, starts + timedelta(hours=26),
                                     "评审严格按公布的评分标准进行，报价已经成本测算复核，实施计划经专家论证可行。")
                elif n == 1:
                    objection = self._objection(notice, OBJECTIONS[1], starts + timedelta(hours=6))
                    if objection is not None:
                        self._answer(objection, starts + timedelta(hours=12), "该专家已于两年前离职，评审前已签署无利益冲突声明。")
                        self._decide(objection, ObjectionDecision.DISMISSED, starts + timedelta(hours=18),
                                     "经核查，该专家离职已满两年且已如实声明，不构成应回避情形，异议不成立。")
                continue
            notice = self._notice(scenario, decided)
            if notice is None or scenario is not withdrawn:
                continue
            # An upheld objection: the notice is withdrawn and the scenario is evaluated again.
            objection = self._objection(notice, OBJECTIONS[2], decided + timedelta(hours=5))
            if objection is None:
                continue
            self._answer(objection, decided + timedelta(hours=12), "拟揭榜单位提供的业绩合同已提交，请主管部门核实。")
            when = decided + timedelta(hours=22)
            reason = "经核实，拟揭榜单位申报的两项同类业绩无法提供验收证明，异议成立，撤销本次公示，业主单位重新组织评审。"
            self._decide(objection, ObjectionDecision.UPHELD, when, reason)
            notice.withdrawn_at, notice.withdrawn_reason, notice.updated_at = when, reason, when
            for application in self._applications(scenario):
                application.status = ApplicationStatus.SUBMITTED
                application.decided_at = None
                application.decision_note = None
                application.updated_at = when
            scenario.status = ScenarioStatus.PUBLISHED
            scenario.updated_at = when
        self.session.flush()
        return self.summary


def load_publicity(loader: Any) -> dict[str, int]:
    """Write the demo notices and objections (the caller commits)."""
    return PublicityLoader(loader).run()
