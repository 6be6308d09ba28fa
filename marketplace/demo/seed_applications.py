"""Demo 揭榜 applications, evaluations, 赛马 races, contracts, delivery and acceptances (issue 4).

:func:`load_applications` runs after the scenarios and firm profiles exist. For every
published-or-later scenario it writes what its status implies, with timestamps in order
(applications before the deadline, evaluation and award after it, contract after the
award, milestones and progress after the contract, acceptance last, nothing after now):

- open (征集中): submitted and draft applications, still sealed;
- closed (已截止): submitted applications; some with criteria, invited experts and scores
  in progress, some 赛马 scenarios with the race under way;
- awarded / in delivery / accepted: criteria, three declared experts with complete scores,
  the best-ranked application selected (赛马: racing teams with stage assessments and final
  winner(s)), the others not selected; then contracts, milestones, progress and a passed
  acceptance with a small PDF report;
- unsuccessful (流榜): applications not selected with the reason, or none at all.

Firms whose domains match the scenario's are preferred, and local ones among them. The demo
firm gets applications in several states and the demo expert a pending assignment on a
closed scenario. Rows are built directly (no services, no audit events), like the rest of
the demo loader; the caller commits.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import date, datetime, time, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import sqlalchemy as sa

from marketplace import clock
from marketplace.applications.delivery import add_months
from marketplace.applications.evaluation import weighted_total
from marketplace.attachments import save_bytes
from marketplace.demo import corpus
from marketplace.models import (
    Acceptance,
    AcceptanceResult,
    Application,
    ApplicationStatus,
    Attachment,
    AttachmentPurpose,
    Contract,
    EvaluationCriterion,
    ExpertAssignment,
    Milestone,
    MilestoneStatus,
    Notification,
    Organisation,
    ProgressNote,
    Role,
    Scenario,
    ScenarioMode,
    ScenarioStatus,
    Score,
    StageAssessment,
    User,
)

CENT = Decimal("0.01")
#: Criteria templates (name, weight %): each adds up to 100.
CRITERIA_SETS = (
    (("技术方案", 40), ("团队能力", 25), ("报价", 20), ("本地服务", 15)),
    (("技术方案", 45), ("实施计划与进度保障", 20), ("报价", 20), ("类似项目业绩", 15)),
    (("技术方案", 35), ("团队能力", 20), ("报价", 25), ("本地化服务与运维", 20)),
)
COMMENTS = {
    "high": ("方案完整，技术路线成熟，与场景需求高度契合。", "团队配置合理，核心成员有同类项目经验。",
             "报价合理，成本构成清晰。", "本地团队驻场服务，响应及时。", "进度安排可行，关键节点明确。"),
    "mid": ("方案基本满足要求，部分指标的实现路径需细化。", "团队规模偏小，建议补充测试人员。",
            "报价略高于同类项目平均水平。", "运维服务承诺需进一步明确响应时限。"),
    "low": ("对现有系统对接考虑不足，风险较大。", "缺少可量化的验收承诺。", "核心人员同时承担多个项目，投入不足。"),
}
STAGES = (("第一阶段：原型验证", "完成核心功能原型，在试点单位演示"), ("第二阶段：试点运行", "在两个试点单位连续运行"))
FAIL_REASONS = (
    "截止时提交的申请均未满足国产化环境部署要求，经评审无合格申请，本场景流榜，业主单位将调整需求后重新发布。",
    "各申请报价均明显超出预算且技术方案未覆盖验收标准中的关键指标，经专家评审一致认为无可接受的申请。",
    "申请企业未能提供与场景规模相当的类似项目业绩，评审未通过，场景流榜。",
)
#: 流榜 when nobody applied.
NO_APPLICATIONS_REASON = "截止时无企业提交揭榜申请，本场景流榜，业主单位将调整需求后重新发布。"
REPORT_NOTE = "系统功能、性能和安全测评均达到验收标准，文档齐全，同意通过验收。"
#: The first acceptance of some accepted scenarios failed (kept in the acceptance history).
FAILED_FIRST_NOTE = "性能测试中高峰并发响应时间未达到验收标准，请完成优化后申请复验。"


def _between(start: datetime, end: datetime, share: float) -> datetime:
    """A moment ``share`` of the way from ``start`` to ``end`` (``start`` when the span is empty)."""
    if end <= start:
        return start
    return start + (end - start) * share


def _at(day: date, hour: int = 10) -> datetime:
    return clock.local_to_utc(datetime.combine(day, time(hour, 0)))


def acceptance_pdf(lines: list[str]) -> bytes:
    """A valid one-page A4 PDF with Chinese text in the standard STSong-Light font (nothing embedded)."""
    text = ["BT", "/F1 18 Tf", "56 770 Td", "28 TL"]
    for n, line in enumerate(lines):
        if n == 1:
            text += ["/F1 11 Tf", "18 TL"]
        text.append(f"<{line.encode('utf-16-be').hex().upper()}> Tj T*")
    text.append("ET")
    stream = "\n".join(text).encode("ascii")
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Resources << /Font << /F1 5 0 R >> >> "
        b"/Contents 4 0 R >>",
        b"<< /Length " + str(len(stream)).encode() + b" >>\nstream\n" + stream + b"\nendstream",
        b"<< /Type /Font /Subtype /Type0 /BaseFont /STSong-Light /Encoding /UniGB-UCS2-H "
        b"/DescendantFonts [6 0 R] >>",
        b"<< /Type /Font /Subtype /CIDFontType0 /BaseFont /STSong-Light "
        b"/CIDSystemInfo << /Registry (Adobe) /Ordering (GB1) /Supplement 2 >> /FontDescriptor 7 0 R /DW 1000 >>",
        b"<< /Type /FontDescriptor /FontName /STSong-Light /Flags 6 /FontBBox [-25 -254 1000 880] /ItalicAngle 0 "
        b"/Ascent 880 /Descent -120 /CapHeight 880 /StemV 93 >>",
    ]
    out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += f"{number} 0 obj\n".encode() + body + b"\nendobj\n"
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    for offset in offsets:
        out += f"{offset:010d} 00000 n \n".encode()
    out += f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode()
    return bytes(out)


class ApplicationLoader:
    """Writes the applications part of the demo (see the module docstring)."""

    def __init__(self, loader: Any) -> None:
        self.loader = loader
        self.session = loader.session
        self.rng = loader.rng
        self.now: datetime = loader.now
        self.today = clock.to_local(self.now).date()
        self.firms: list[tuple[Organisation, dict]] = list(zip(loader.firm_orgs, loader.firm_rows, strict=False))
        self.demo_firm: Organisation = loader.demo_firm_org
        self.experts: list[User] = list(self.session.execute(
            sa.select(User).where(User.role == Role.EXPERT, User.active).order_by(User.id)).scalars())
        demo_users = getattr(loader, "demo_users", {})
        self.demo_expert: User | None = demo_users.get(Role.EXPERT) or next(
            (u for u in self.experts if u.email == "expert@demo.cq"), None)
        self.demo_firm_user: User | None = demo_users.get(Role.ENTERPRISE)
        self.demo_firm_states: set[str] = set()
        self.demo_open = 0
        self.summary: dict[str, int] = dict.fromkeys((
            "applications", "expert assignments", "scores", "stage assessments", "contracts", "milestones",
            "progress notes", "acceptances"), 0)

    # -------------------------------------------------------------- helpers

    def _owner_user(self, scenario: Scenario) -> User | None:
        users = [u for u in scenario.owner.users if u.role == Role.OWNER]
        return users[0] if users else None

    def _firm_user(self, firm: Organisation) -> User | None:
        if firm is self.demo_firm and self.demo_firm_user is not None:
            return self.demo_firm_user
        users = [u for u in firm.users if u.role == Role.ENTERPRISE]
        return users[0] if users else None

    def _pick_firms(self, scenario: Scenario, k: int, include_demo: bool = False,
                    exclude: Organisation | None = None) -> list[tuple[Organisation, dict]]:
        """``k`` distinct firms: domain matches first, local ones favoured; the demo firm first when asked."""
        domain = scenario.domain.code if scenario.domain else None
        weighted = []
        for org, row in self.firms:
            if (org is self.demo_firm and include_demo) or org is exclude:
                continue
            weight = 1.0
            if domain in (row.get("domains") or []):
                weight += 6.0
            if org.district_id == scenario.district_id:
                weight += 2.5
            weighted.append((weight, org, row))
        chosen: list[tuple[Organisation, dict]] = []
        if include_demo:
            chosen.append(next((o, r) for o, r in self.firms if o is self.demo_firm))
        while len(chosen) < k and weighted:
            pick = self.rng.uniform(0, sum(w for w, _o, _r in weighted))
            index = len(weighted) - 1
            for n, (weight, _o, _r) in enumerate(weighted):
                pick -= weight
                if pick <= 0:
                    index = n
                    break
            _w, org, row = weighted.pop(index)
            chosen.append((org, row))
        return chosen

    def _application(self, scenario: Scenario, firm: Organisation, row: dict, status: ApplicationStatus,
                     submitted: datetime | None) -> Application:
        texts = corpus.application_texts(self.rng, {
            "title": scenario.title, "budget_wan": str(scenario.budget_wan or "100"),
            "domain": scenario.domain.code if scenario.domain else "software",
            "theme": scenario.theme.code if scenario.theme else None, "requirements": scenario.requirements,
            "acceptance": scenario.acceptance, "delivery_months": scenario.delivery_months}, row)
        created = (submitted or self.now) - timedelta(days=self.rng.randint(1, 6), hours=self.rng.randint(0, 8))
        created = max(created, scenario.published_at or created)
        draft = status == ApplicationStatus.DRAFT
        application = Application(
            scenario=scenario, organisation=firm, created_by=self._firm_user(firm), status=status,
            summary=texts["summary"], approach=texts["approach"] if not draft or self.rng.random() < 0.5 else "",
            team=texts["team"], price_wan=Decimal(texts["price_wan"]), plan=texts["plan"],
            milestones=[{"title": t, "month": m} for t, m in texts["milestones"]],
            declares_meets_requirements=not draft, declares_no_conflict=not draft, submitted_at=submitted,
            # Submitted under the scenario's deadline: sealed until then (applications.policy.seal_ends).
            sealed_until=scenario.deadline if submitted is not None else None,
            confirmed_revision=scenario.revision, created_at=created, updated_at=submitted or created,
        )
        self.session.add(application)
        self.summary["applications"] += 1
        if firm is self.demo_firm:
            self.demo_firm_states.add(status.value)
        return application

    def _submissions(self, scenario: Scenario, k: int, include_demo: bool = False, drafts: int = 0,
                     exclude: Organisation | None = None) -> list[Application]:
        """``k`` applications submitted between publication and the deadline (or now), plus drafts."""
        end = min(scenario.deadline, self.now) - timedelta(minutes=30)
        start = (scenario.published_at or end - timedelta(days=30)) + timedelta(hours=3)
        if start >= end:  # (a publication date at or after the deadline: keep submissions before the deadline)
            start = end - timedelta(days=5)
        result = []
        firms = self._pick_firms(scenario, k + drafts, include_demo, exclude)
        for n, (firm, row) in enumerate(firms):
            if n >= k:
                self._application(scenario, firm, row, ApplicationStatus.DRAFT, None)
                continue
            submitted = _between(start, end, self.rng.uniform(0.3, 0.98))
            result.append(self._application(scenario, firm, row, ApplicationStatus.SUBMITTED, submitted))
        return result

    def _criteria(self, scenario: Scenario) -> list[EvaluationCriterion]:
        rows = self.rng.choice(CRITERIA_SETS)
        criteria = [EvaluationCriterion(scenario_id=scenario.id, name=name, weight=Decimal(weight), sort_order=i,
                                        created_at=scenario.deadline)  # set as the call closes
                    for i, (name, weight) in enumerate(rows)]
        self.session.add_all(criteria)
        self.session.flush()
        return criteria

    def _assign(self, scenario: Scenario, expert: User, invited: datetime, declared: datetime | None) -> ExpertAssignment:
        assignment = ExpertAssignment(scenario_id=scenario.id, expert=expert, invited_by=self._owner_user(scenario),
                                      invited_at=invited, declared_at=declared, created_at=invited,
                                      updated_at=declared or invited)
        self.session.add(assignment)
        self.summary["expert assignments"] += 1
        return assignment

    def _score(self, assignment: ExpertAssignment, application: Application, criteria: list[EvaluationCriterion],
               quality: float, when: datetime, budget: Decimal) -> dict[int, Decimal]:
        values = {}
        for criterion in criteria:
            if criterion.name == "报价" and application.price_wan and budget:
                base = 100 - float((application.price_wan / budget - Decimal("0.7")) * 80)
            else:
                base = quality
            value = Decimal(str(max(40.0, min(98.0, self.rng.gauss(base, 5.0))))).quantize(Decimal("1"))
            band = "high" if value >= 85 else "mid" if value >= 70 else "low"
            comment = self.rng.choice(COMMENTS[band]) if self.rng.random() < 0.45 else None
            self.session.add(Score(assignment=assignment, application_id=application.id, criterion_id=criterion.id,
                                   value=value, comment=comment, scored_at=when, created_at=when, updated_at=when))
            values[criterion.id] = value
            self.summary["scores"] += 1
        return values

    def _notify(self, users: list[User | None], kind: str, title: str, body: str, url: str, when: datetime,
                read: bool = True) -> None:
        for user in users:
            if user is None:
                continue
            read_at = when + timedelta(hours=5) if read else None
            self.session.add(Notification(user=user, kind=kind, title=title[:200], body=body, url=url,
                                          created_at=when, read_at=read_at, updated_at=read_at or when))

    # -------------------------------------------------------------- by status

    def open_scenario(self, scenario: Scenario) -> None:
        """Still sealed: a few submitted applications and drafts; the demo firm submits one and drafts another."""
        k = self.rng.choice((0, 1, 2, 2, 3, 4, 5))
        drafts = self.rng.choice((0, 0, 1, 2))
        self.demo_open += 1
        if self.demo_open == 1:  # the demo firm has submitted here
            self._submissions(scenario, max(k, 1), include_demo=True, drafts=drafts)
        elif self.demo_open == 2:  # and is still drafting here
            firm, row = next((o, r) for o, r in self.firms if o is self.demo_firm)
            self._application(scenario, firm, row, ApplicationStatus.DRAFT, None)
            self._submissions(scenario, k, drafts=drafts, exclude=self.demo_firm)
        else:
            self._submissions(scenario, k, drafts=drafts, exclude=self.demo_firm)

    def closed_scenario(self, scenario: Scenario, plan: str) -> None:
        """``plan``: ``fresh`` (nothing started yet), ``demo_firm`` (fresh, the demo firm applied), ``scoring``
        (experts at work, sometimes a shortlist), ``demo_pending`` / ``demo_scoring`` (the demo expert invited /
        scoring) or ``racing`` (赛马 under way: scores done, teams racing, first stage assessed)."""
        applications = self._submissions(scenario, self.rng.randint(2, 6), include_demo=plan == "demo_firm")
        self.session.flush()
        if plan in ("fresh", "demo_firm"):
            return
        criteria = self._criteria(scenario)
        invited = _between(scenario.deadline, self.now, 0.2)
        budget = scenario.budget_wan or Decimal(100)
        racing = plan == "racing" and scenario.mode == ScenarioMode.HORSE_RACE and len(applications) >= 2
        # Scoring ends when the race starts.
        started = _between(invited, self.now, 0.6) if racing else None
        scoring_end = started or self.now
        quality = {a.id: self.rng.uniform(62, 93) for a in applications}
        totals: dict[int, Decimal] = dict.fromkeys(quality, Decimal(0))
        weights = {c.id: Decimal(c.weight) for c in criteria}
        experts = self.rng.sample([e for e in self.experts if e is not self.demo_expert], 2)
        for n, expert in enumerate(experts):
            declared = _between(invited, scoring_end, 0.3)
            assignment = self._assign(scenario, expert, invited, declared)
            self.session.flush()
            # Before a race every score is in; otherwise the first expert has scored about half, the second a few.
            share = 1.0 if racing else 0.6 if n == 0 else 0.25
            for application in applications[: max(1, int(len(applications) * share))]:
                values = self._score(assignment, application, criteria, quality[application.id],
                                     _between(declared, scoring_end, self.rng.uniform(0.2, 0.9)), budget)
                totals[application.id] += weighted_total(weights, values)
        if plan == "demo_pending" and self.demo_expert is not None:
            when = _between(invited, self.now, 0.5)
            assignment = self._assign(scenario, self.demo_expert, when, None)
            self.session.flush()
            self._notify([self.demo_expert], "evaluation.invited", f"评审邀请：{scenario.title}",
                         f"{scenario.owner.name} 邀请您评审应用场景“{scenario.title}”的揭榜申请。"
                         "请先声明是否存在利益冲突，再查看申请并评分。",
                         f"/reviews/{assignment.id}", when, read=False)
        elif plan == "demo_scoring" and self.demo_expert is not None:
            declared = _between(invited, self.now, 0.4)
            assignment = self._assign(scenario, self.demo_expert, invited, declared)
            self.session.flush()
            self._score(assignment, applications[0], criteria, quality[applications[0].id],
                        _between(declared, self.now, 0.5), budget)
        ranked = sorted(applications, key=lambda a: -totals[a.id])
        if racing:
            teams = min(scenario.race_teams or 2, len(applications))
            for application in ranked[:teams]:
                application.status = ApplicationStatus.RACING
                application.updated_at = started
                name, goal = STAGES[0]
                self._stage(application, name, goal, _between(started, self.now, 0.7), scenario)
            for application in ranked[teams:]:
                self._decide(application, ApplicationStatus.NOT_SELECTED, started, None)
        elif plan == "scoring" and len(applications) >= 3 and self.rng.random() < 0.5:
            for application in ranked[:2]:
                application.status = ApplicationStatus.SHORTLISTED
                application.updated_at = _between(invited, self.now, 0.95)

    def _stage(self, application: Application, name: str, goal: str, when: datetime, scenario: Scenario) -> None:
        score = Decimal(str(round(self.rng.uniform(68, 95), 1)))
        owner = self._owner_user(scenario)
        verdict = "达到阶段目标，进入下一阶段" if score >= 75 else "部分指标未达标，需限期整改"
        self.session.add(StageAssessment(application=application, stage=name, score=score,
                                         result=f"{goal}：{verdict}。", recorded_at=when,
                                         recorded_by_id=owner.id if owner else None))
        self.summary["stage assessments"] += 1

    def _decide(self, application: Application, status: ApplicationStatus, when: datetime, note: str | None) -> None:
        application.status = status
        application.decided_at = when
        application.decision_note = note
        application.updated_at = when
        if application.organisation is self.demo_firm:
            self.demo_firm_states.add(status.value)

    def decided_scenario(self, scenario: Scenario, include_demo: bool, demo_wins: bool) -> list[Application]:
        """Applications, criteria, three experts' complete scores and the decision. Returns the winners."""
        deadline = scenario.deadline
        applications = self._submissions(scenario, self.rng.randint(2, 7), include_demo=include_demo)
        self.session.flush()
        criteria = self._criteria(scenario)
        weights = {c.id: Decimal(c.weight) for c in criteria}
        budget = scenario.budget_wan or Decimal(100)
        last = min(deadline + timedelta(days=self.rng.randint(12, 30)), self.now - timedelta(days=2))
        decided = max(last, deadline + timedelta(hours=6))
        invited = _between(deadline, decided, 0.15)
        race = scenario.mode == ScenarioMode.HORSE_RACE and len(applications) >= 2
        started = _between(deadline, decided, 0.35)
        scoring_end = started if race else decided
        quality = {a.id: self.rng.uniform(62, 93) for a in applications}
        if demo_wins and include_demo:
            quality[applications[0].id] = 96.0
        totals: dict[int, list[Decimal]] = {a.id: [] for a in applications}
        for expert in self.rng.sample(self.experts, min(3, len(self.experts))):
            declared = _between(invited, scoring_end, 0.1)
            assignment = self._assign(scenario, expert, invited, declared)
            self.session.flush()
            for application in applications:
                values = self._score(assignment, application, criteria, quality[application.id],
                                     _between(declared, scoring_end, self.rng.uniform(0.2, 0.8)), budget)
                totals[application.id].append(weighted_total(weights, values))
        ranked = sorted(applications, key=lambda a: -sum(totals[a.id]) / len(totals[a.id]))
        if demo_wins and include_demo:
            ranked.remove(applications[0])
            ranked.insert(0, applications[0])
        if scenario.status == ScenarioStatus.UNSUCCESSFUL:
            reason = self.rng.choice(FAIL_REASONS)
            scenario.unsuccessful_reason = reason
            for application in applications:
                self._decide(application, ApplicationStatus.NOT_SELECTED, decided, reason)
            return []
        if race:
            teams = min(scenario.race_teams or 2, len(ranked))
            racing, out = ranked[:teams], ranked[teams:]
            for application in out:
                self._decide(application, ApplicationStatus.NOT_SELECTED, started, None)
            for application in racing:
                for n, (name, goal) in enumerate(STAGES):
                    self._stage(application, name, goal, _between(started, decided, 0.4 + 0.5 * n), scenario)
            n_winners = 2 if teams >= 3 and self.rng.random() < 0.3 else 1
            winners, losers = racing[:n_winners], racing[n_winners:]
            note = "赛马两个阶段综合评估排名靠前，确定为最终揭榜单位。"
        else:
            winners, losers = ranked[:1], ranked[1:]
            note = "综合评审加权得分第一，确定为揭榜单位。"
        for application in winners:
            self._decide(application, ApplicationStatus.SELECTED, decided, note)
        for application in losers:
            self._decide(application, ApplicationStatus.NOT_SELECTED, decided, None)
        for application in applications:
            if application.organisation is self.demo_firm:
                selected = application.status == ApplicationStatus.SELECTED
                self._notify([self.demo_firm_user],
                             "application.selected" if selected else "application.not_selected",
                             f"{'揭榜成功' if selected else '揭榜结果通知'}：{scenario.title}",
                             "祝贺！贵单位已成为揭榜单位。" if selected else "感谢参与。经评审，贵单位的申请未入选。",
                             f"/scenarios/{scenario.id}/delivery" if selected else f"/scenarios/{scenario.id}",
                             decided, read=not selected)
        return winners

    def delivery(self, scenario: Scenario, winners: list[Application]) -> None:
        """Contracts, milestones, progress; for accepted scenarios a passed acceptance with its report."""
        accepted = scenario.status == ScenarioStatus.ACCEPTED
        last_ok = self.today - timedelta(days=2)
        months = scenario.delivery_months or 6
        latest_signed: date | None = None
        for application in winners:
            decided_day = clock.to_local(application.decided_at).date()
            signed = min(decided_day + timedelta(days=self.rng.randint(5, 20)), last_ok)
            signed = max(signed, decided_day)
            latest_signed = max(latest_signed or signed, signed)
            amount = (application.price_wan * Decimal(str(self.rng.choice((1, 1, 0.99, 0.98, 0.96))))).quantize(
                CENT, ROUND_HALF_UP)
            contract = Contract(scenario=scenario, application=application, amount_wan=amount, signed_on=signed,
                                created_at=_at(signed, 16), updated_at=_at(signed, 16))
            self.session.add(contract)
            self.summary["contracts"] += 1
            due = add_months(signed, months)
            accept_day = None
            if accepted:
                accept_day = due + timedelta(days=self.rng.choice((-40, -25, -12, -5, 0, 8, 30)))
                accept_day = max(min(accept_day, last_ok), min(signed + timedelta(days=30), last_ok))
            plan = [(m["title"], int(m["month"])) for m in application.milestones] or [("终验与移交", months)]
            span_end = accept_day or due
            top = max(m for _t, m in plan) or 1
            for n, (title, month) in enumerate(plan):
                day = signed + (span_end - signed) * month // top if accepted else add_months(signed, month)
                milestone = Milestone(contract=contract, title=title, due_on=day, created_at=contract.created_at,
                                      updated_at=contract.created_at)
                final_pending = not accepted and n == len(plan) - 1  # 终验 waits for the acceptance
                if day <= self.today - timedelta(days=1) and not final_pending:
                    met = accepted or self.rng.random() < 0.82
                    milestone.status = MilestoneStatus.MET if met else MilestoneStatus.NOT_MET
                    milestone.note = None if met else self.rng.choice((
                        "第三方接口联调延期，已约定两周内完成。", "试点单位数据迁移滞后，计划下月补齐。",
                        "等保测评排期顺延，整改后重新提交。"))
                    milestone.recorded_at = min(_at(day + timedelta(days=self.rng.randint(0, 6)), 17),
                                                self.now - timedelta(hours=1))
                    milestone.updated_at = max(milestone.recorded_at, milestone.created_at)
                self.session.add(milestone)
                self.summary["milestones"] += 1
            self._progress(contract, signed, accept_day or min(due, self.today), accepted)
            if application.organisation is self.demo_firm:
                self._notify([self.demo_firm_user], "delivery.contract", f"合同已登记：{scenario.title}",
                             f"业主单位已登记合同：金额 {amount:,.2f} 万元，签订日期 {signed.isoformat()}。",
                             f"/scenarios/{scenario.id}/delivery", _at(signed, 17))
        if accepted:
            self._acceptance(scenario, accept_day or last_ok, winners, latest_signed)
        elif scenario.status == ScenarioStatus.IN_DELIVERY and self.rng.random() < 0.15:
            failed_day = min(self.today - timedelta(days=self.rng.randint(3, 20)), last_ok)
            if winners and failed_day > clock.to_local(winners[0].decided_at).date() + timedelta(days=30):
                self.session.add(Acceptance(
                    scenario=scenario, accepted_on=failed_day, result=AcceptanceResult.FAILED,
                    note="预警准确率等两项指标未达到验收标准，请在30日内完成整改后申请复验。",
                    recorded_by=self._owner_user(scenario), created_at=_at(failed_day, 16)))
                self.summary["acceptances"] += 1

    def _progress(self, contract: Contract, start: date, end: date, accepted: bool) -> None:
        end = min(end, self.today)
        if end <= start:
            return
        steps = self.rng.randint(1, 3) if not accepted else 3
        texts = ("完成需求调研和详细设计，评审通过。", "核心功能开发完成，进入系统联调和数据迁移。",
                 "系统上线试运行，收集用户意见并优化。", "完成初验，问题清单已全部闭环。")
        for n in range(steps):
            day = start + (end - start) * (n + 1) // (steps + 1)
            percent = min(100, int(100 * (n + 1) / (steps + (0 if accepted else 1))))
            self.session.add(ProgressNote(contract=contract, text=texts[min(n, len(texts) - 1)], percent=percent,
                                          created_at=_at(day, 15)))
            self.summary["progress notes"] += 1

    def _acceptance(self, scenario: Scenario, day: date, winners: list[Application], signed: date | None) -> None:
        owner = self._owner_user(scenario)
        retry = day - timedelta(days=21)
        if scenario.id % 4 == 0 and signed is not None and retry > signed:
            # A failed first acceptance three weeks earlier, kept in the scenario's acceptance history.
            self.session.add(Acceptance(scenario=scenario, accepted_on=retry, result=AcceptanceResult.FAILED,
                                        note=FAILED_FIRST_NOTE, recorded_by=owner, created_at=_at(retry, 16)))
            self.summary["acceptances"] += 1
        firms = "、".join(a.organisation.name for a in winners)
        pdf = acceptance_pdf([
            f"{scenario.title}", "项目验收报告",
            f"业主单位：{scenario.owner.name}", f"揭榜单位：{firms}", f"验收日期：{day.isoformat()}",
            "验收结论：通过", "验收意见：" + REPORT_NOTE[:34], REPORT_NOTE[34:],
        ])
        stored = secrets.token_hex(16)
        save_bytes(stored, pdf, "application/pdf")
        report = Attachment(purpose=AttachmentPurpose.ACCEPTANCE_REPORT, filename="项目验收报告.pdf", stored_name=stored,
                            content_type="application/pdf", size=len(pdf), sha256=hashlib.sha256(pdf).hexdigest(),
                            organisation=scenario.owner, uploaded_by=owner, created_at=_at(day, 16))
        self.session.add(report)
        self.session.add(Acceptance(scenario=scenario, accepted_on=day, result=AcceptanceResult.PASSED,
                                    report=report, note=REPORT_NOTE, recorded_by=owner, created_at=_at(day, 16)))
        self.summary["acceptances"] += 1

    def unsuccessful_scenario(self, scenario: Scenario, include_demo: bool) -> None:
        if not include_demo and self.rng.random() < 0.35:
            scenario.unsuccessful_reason = NO_APPLICATIONS_REASON  # nobody applied
            return
        if self.rng.random() < 0.5 or include_demo:
            self.decided_scenario(scenario, include_demo, demo_wins=False)
            return
        deadline = scenario.deadline
        decided = max(min(deadline + timedelta(days=self.rng.randint(7, 20)), self.now - timedelta(days=2)),
                      deadline + timedelta(hours=6))
        reason = self.rng.choice(FAIL_REASONS)
        scenario.unsuccessful_reason = reason
        for application in self._submissions(scenario, self.rng.randint(1, 2)):
            self._decide(application, ApplicationStatus.NOT_SELECTED, decided, reason)

    # -------------------------------------------------------------- driver

    def run(self) -> dict[str, int]:
        scenarios = [s for s in self.loader.scenario_list if s.status in ScenarioStatus.public()]
        by_state: dict[str, list[Scenario]] = {}
        for scenario in scenarios:
            by_state.setdefault(scenario.display_status(self.now).value, []).append(scenario)
        for scenario in by_state.get("published", []):
            self.open_scenario(scenario)
        self._closed(by_state.get("closed", []))
        demo_plan = {"awarded": (True, False), "in_delivery": (True, True), "accepted": (True, True),
                     "unsuccessful": (True, False)}
        for state in ("awarded", "in_delivery", "accepted", "unsuccessful"):
            for n, scenario in enumerate(by_state.get(state, [])):
                include, wins = demo_plan[state] if n == 0 else (False, False)
                if state == "unsuccessful":
                    self.unsuccessful_scenario(scenario, include)
                    continue
                winners = self.decided_scenario(scenario, include, wins)
                if state in ("in_delivery", "accepted"):
                    self.delivery(scenario, winners)
            self.session.flush()
        self.session.flush()
        return self.summary

    def _closed(self, scenarios: list[Scenario]) -> None:
        """Plan the closed scenarios: one pending for the demo expert (the demo owner's when possible), one where
        the demo expert is scoring, one with the demo firm, 赛马 races under way, the rest fresh or scoring."""
        if not scenarios:
            return
        demo_owner = getattr(self.loader, "demo_owner_org", None)
        ordered = sorted(scenarios, key=lambda s: (s.owner is not demo_owner, s.mode != ScenarioMode.OPEN_CALL, s.id))
        plans: dict[int, str] = {ordered[0].id: "demo_pending"}
        rest = ordered[1:]
        if rest:
            plans[rest[0].id] = "demo_scoring"
        if len(rest) > 1:
            plans[rest[1].id] = "demo_firm"
        for scenario in rest[2:]:
            if scenario.mode == ScenarioMode.HORSE_RACE:
                plans[scenario.id] = "racing"
            else:
                plans[scenario.id] = self.rng.choice(("fresh", "scoring", "scoring"))
        for scenario in scenarios:
            self.closed_scenario(scenario, plans[scenario.id])
            self.session.flush()


def load_applications(loader: Any) -> dict[str, int]:
    """Write the applications, evaluations, races, contracts and acceptances of the demo (the caller commits)."""
    return ApplicationLoader(loader).run()
