"""Demo demonstration projects, reuse and district appraisals (issue 7).

:func:`load_showcase` runs after the scenarios exist (and after any loader that records
揭榜 applications, contracts and acceptances). It:

1. fills gaps in delivery records: every awarded / in-delivery / accepted demo scenario
   without a selected application gets one (with a contract; accepted ones also a passed
   acceptance), so award dates, amounts and on-time acceptance can be computed. Scenarios
   that already have records are left as they are;
2. runs two past selection rounds (two years ago and last year) with nominations, expert
   declarations and scores, and publishes them — at least 12 demonstrations with photos;
3. opens this year's round in the scoring stage, with the demo expert assigned;
4. records a few reuses (拓展一批);
5. creates last year's annual appraisal, computed by :mod:`marketplace.appraisal.computation` and
   published (frozen), and a draft for this year.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import date, datetime, time, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import sqlalchemy as sa

from marketplace import clock
from marketplace.appraisal import services as appraisals
from marketplace.attachments import save_bytes
from marketplace.demo import corpus
from marketplace.demo.pictures import case_picture
from marketplace.models import (
    Acceptance,
    AcceptanceResult,
    Application,
    ApplicationStatus,
    Attachment,
    AttachmentPurpose,
    Contract,
    Demonstration,
    DemonstrationReuse,
    Nomination,
    NominationExpert,
    NominationScore,
    NominationStatus,
    Organisation,
    Role,
    RoundStatus,
    Scenario,
    ScenarioStatus,
    SelectionCriterion,
    SelectionRound,
    User,
)
from marketplace.showcase.facts import add_months, delivery_facts, facts_for
from marketplace.showcase.services import DEFAULT_CRITERIA, make_demonstration, weighted_total

MINIMAL_PDF = (b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n2 0 obj<</Type/Pages/Kids[]/Count 0>>endobj\n"
               b"trailer<</Root 1 0 R>>\n%%EOF\n")
AWARDED = (ScenarioStatus.AWARDED, ScenarioStatus.IN_DELIVERY, ScenarioStatus.ACCEPTED)


def _at(day: date, hour: int = 10) -> datetime:
    return clock.local_to_utc(datetime.combine(day, time(hour, 0)))


# ---------------------------------------------------------------------- the loader step

class ShowcaseLoader:
    """Builds the showcase demo data inside a :class:`marketplace.demo.seed.DemoLoader` run."""

    def __init__(self, loader: Any) -> None:
        self.loader = loader
        self.session = loader.session
        self.rng = loader.rng
        self.today = clock.to_local(loader.now).date()
        self.summary: dict[str, int] = {}
        self.firm_row = {id(org): row for org, row in zip(loader.firm_orgs, loader.firm_rows, strict=False)}
        self.city = loader.demo_users[Role.CITY_STAFF]
        self.experts = list(self.session.execute(
            sa.select(User).where(User.role == Role.EXPERT).order_by(User.id)).scalars())

    # -------------------------------------------------------------- delivery gaps

    def _pick_firm(self, scenario: Scenario) -> Organisation:
        domain = scenario.domain.code if scenario.domain else None
        fits = [o for o, r in zip(self.loader.firm_orgs, self.loader.firm_rows, strict=False)
                if domain in (r.get("domains") or [])]
        pool = fits or list(self.loader.firm_orgs)
        local = [o for o in pool if o.district_id == scenario.district_id]
        if local and self.rng.random() < 0.65:
            return self.rng.choice(local)
        return self.rng.choice(pool)

    def fill_delivery_gaps(self) -> None:
        scenarios = [s for s in self.loader.scenario_list if s.status in AWARDED]
        facts = delivery_facts(self.session, [s.id for s in scenarios])
        created = 0
        last_ok = self.today - timedelta(days=3)
        for s in scenarios:
            f = facts[s.id]
            if f.selected or f.contracts:
                continue
            firm = self._pick_firm(s)
            texts = corpus.application_texts(self.rng, {
                "title": s.title, "domain": s.domain.code if s.domain else "software",
                "theme": s.theme.code if s.theme else None, "delivery_months": s.delivery_months,
                "budget_wan": s.budget_wan}, self.firm_row.get(id(firm), {"name": firm.name}))
            price = Decimal(str(texts["price_wan"])).quantize(Decimal("0.01"))
            deadline_day = clock.to_local(s.deadline).date() if s.deadline else self.today - timedelta(days=200)
            decided = min(deadline_day + timedelta(days=self.rng.randint(5, 20)), last_ok)
            submitted = min(_at(deadline_day) - timedelta(days=self.rng.randint(1, 10)), _at(decided))
            application = Application(
                scenario=s, organisation=firm, status=ApplicationStatus.SELECTED, summary=texts["summary"],
                approach=texts["approach"], team=texts["team"], price_wan=price, plan=texts["plan"],
                milestones=[{"title": t, "month": m} for t, m in texts["milestones"]],
                declares_meets_requirements=True, declares_no_conflict=True, submitted_at=submitted,
                sealed_until=s.deadline, confirmed_revision=s.revision, decided_at=_at(decided, 15), decision_note="综合评审得分第一，确定为揭榜单位。",
                created_at=submitted, updated_at=_at(decided, 15))
            self.session.add(application)
            signed = min(decided + timedelta(days=self.rng.randint(7, 25)), last_ok)
            amount = (price * Decimal(str(self.rng.choice((1, 1, 1, 0.98, 0.95))))).quantize(
                Decimal("0.01"), ROUND_HALF_UP)
            self.session.add(Contract(scenario=s, application=application, amount_wan=amount, signed_on=signed,
                                      created_at=_at(signed), updated_at=_at(signed)))
            if s.status == ScenarioStatus.ACCEPTED and f.acceptance is None:
                due = add_months(signed, s.delivery_months or 6)
                accepted = due + timedelta(days=self.rng.choice((-40, -25, -12, -5, 0, 8, 30)))
                accepted = max(min(accepted, last_ok), min(signed + timedelta(days=30), last_ok))
                self.session.add(Acceptance(scenario=s, accepted_on=accepted, result=AcceptanceResult.PASSED,
                                            note="各项验收指标均已达到，验收通过。", created_at=_at(accepted, 16),
                                            recorded_by=self.session.execute(
                                                sa.select(User).where(User.organisation_id == s.owner_id,
                                                                      User.role == Role.OWNER).limit(1)
                                            ).scalar_one_or_none()))
            created += 1
        self.session.flush()
        self.summary["delivery records filled"] = created

    # -------------------------------------------------------------- media

    def _attachment(self, data: bytes, filename: str, content_type: str, organisation: Organisation) -> Attachment:
        stored = secrets.token_hex(16)
        save_bytes(stored, data, content_type)
        attachment = Attachment(purpose=AttachmentPurpose.DEMONSTRATION_MEDIA, filename=filename, stored_name=stored,
                                content_type=content_type, size=len(data), sha256=hashlib.sha256(data).hexdigest(),
                                organisation=organisation)
        self.session.add(attachment)
        return attachment

    def _media(self, scenario: Scenario) -> list[Attachment]:
        """The case's own picture (drawn from its figures, see :mod:`marketplace.demo.pictures`) and a report."""
        facts = facts_for(self.session, scenario.id)
        contract = facts.first_contract
        actual_months = None
        if contract is not None and facts.acceptance is not None:
            actual_months = max(1, round((facts.acceptance.accepted_on - contract.signed_on).days / 30.4))
        figures = [(float(scenario.budget_wan or 0), float(facts.contract_amount_wan or 0)),
                   (float(scenario.delivery_months or 0), float(actual_months or 0))]
        picture = case_picture(scenario.title, scenario.domain.code if scenario.domain else None, figures)
        # The file name is the picture's text alternative on the case page: it says what the bars show.
        name = f"项目概览（预算{float(scenario.budget_wan or 0):g}万元"
        if facts.contract_amount_wan is not None:
            name += f"、合同{float(facts.contract_amount_wan):g}万元"
        name += f"；计划工期{scenario.delivery_months}个月" if scenario.delivery_months else ""
        name += f"、实际{actual_months}个月" if actual_months else ""
        return [
            self._attachment(picture, name + "）.png", "image/png", scenario.owner),
            self._attachment(MINIMAL_PDF, "项目验收报告（摘要）.pdf", "application/pdf", scenario.owner),
        ]

    # -------------------------------------------------------------- rounds

    def _nominator(self, scenario: Scenario) -> User | None:
        return self.session.execute(
            sa.select(User).where(User.organisation_id == scenario.owner_id, User.role == Role.OWNER).limit(1)
        ).scalar_one_or_none() or self.session.execute(
            sa.select(User).join(User.organisation)
            .where(User.role == Role.DISTRICT_STAFF, Organisation.district_id == scenario.district_id).limit(1)
        ).scalar_one_or_none()

    def _round(self, year: int, name: str, status: RoundStatus, opened: date) -> SelectionRound:
        rnd = SelectionRound(
            year=year, name=name, status=status,
            description=("面向已在本平台揭榜并通过验收的应用场景项目，评选一批技术先进、成效明显、"
                         "可复制推广的本地优秀软件和应用示范项目。请业主单位或区县主管部门提交案例材料，"
                         "写明建设前的问题、解决方案和可量化的实际成效。"),
            opened_by=self.city, opened_at=_at(opened), created_at=_at(opened - timedelta(days=7)),
            updated_at=_at(opened))
        for order, (name, weight) in enumerate(DEFAULT_CRITERIA):
            rnd.criteria.append(SelectionCriterion(name=name, weight=weight, sort_order=order,
                                                   created_at=rnd.created_at, updated_at=rnd.created_at))
        self.session.add(rnd)
        return rnd

    def _nominate(self, rnd: SelectionRound, scenario: Scenario, when: date) -> Nomination | None:
        nominator = self._nominator(scenario)
        if nominator is None:
            return None
        firm = facts_winner(self.session, scenario)
        texts = corpus.demonstration_texts(self.rng, {
            "title": scenario.title, "domain": scenario.domain.code if scenario.domain else "software",
            "theme": scenario.theme.code if scenario.theme else None, "boundary": scenario.boundary,
            "delivery_months": scenario.delivery_months, "budget_wan": scenario.budget_wan},
            self.firm_row.get(id(firm), {"name": firm.name}) if firm else {})
        media = self._media(scenario)  # before the nomination exists: it reads the delivery records
        nomination = Nomination(round=rnd, scenario=scenario, nominated_by=nominator, status=NominationStatus.SUBMITTED,
                                created_at=_at(when), updated_at=_at(when), media=media, **texts)
        self.session.add(nomination)
        return nomination

    def _score(self, rnd: SelectionRound, nomination: Nomination, experts: list[User], when: date,
               quality: int) -> None:
        for k, expert in enumerate(experts):
            assignment = NominationExpert(nomination=nomination, expert=expert, invited_by=self.city,
                                          invited_at=_at(when), created_at=_at(when), updated_at=_at(when))
            self.session.add(assignment)
            if k == 2 and self.rng.random() < 0.15:
                assignment.recused = True
                assignment.recusal_note = "本人曾为该项目揭榜企业提供技术咨询，申请回避。"
                continue
            assignment.declared_at = assignment.updated_at = _at(when + timedelta(days=1))
            scored = _at(when + timedelta(days=3))
            for criterion in rnd.criteria:
                value = Decimal(max(55, min(98, quality + self.rng.randint(-8, 8))))
                assignment.scores.append(NominationScore(criterion=criterion, value=value, scored_at=scored,
                                                         created_at=scored, updated_at=scored))

    def published_round(self, year: int, name: str, candidates: list[Scenario], select: int,
                        opened: date, published: date) -> list[Demonstration]:
        """A finished round: nominations, expert declarations and scores, and the selected demonstrations."""
        rnd = self._round(year, name, RoundStatus.PUBLISHED, opened)
        nominations = []
        span = max(1, (published - opened).days // 3)
        for scenario in candidates:
            nomination = self._nominate(rnd, scenario, opened + timedelta(days=self.rng.randint(1, span)))
            if nomination is not None:
                nominations.append(nomination)
        panel = self.experts[:3]
        for nomination in nominations:
            self._score(rnd, nomination, panel, opened + timedelta(days=span + 5), self.rng.randint(72, 92))
        self.session.flush()
        ranked = sorted(nominations, key=lambda n: (-(_mean_total(n, list(rnd.criteria)) or 0), n.id))
        published_at = _at(published)
        demos = []
        for i, nomination in enumerate(ranked):
            nomination.decided_at = published_at
            if i < select:
                nomination.status = NominationStatus.SELECTED
                demo = make_demonstration(nomination, published_at, facts_winner(self.session, nomination.scenario))
                demo.created_at = demo.updated_at = published_at
                self.session.add(demo)
                demos.append(demo)
            else:
                nomination.status = NominationStatus.NOT_SELECTED
        rnd.published_at, rnd.published_by = published_at, self.city
        self.session.flush()
        return demos

    def scoring_round(self, year: int, name: str, candidates: list[Scenario], opened: date) -> None:
        """A round whose nominations have closed and whose experts are scoring (the demo expert has work to do)."""
        rnd = self._round(year, name, RoundStatus.SCORING, opened)
        demo_expert = self.loader.demo_users[Role.EXPERT]
        others = [e for e in self.experts if e.id != demo_expert.id][:2]
        count = 0
        for scenario in candidates:
            nomination = self._nominate(rnd, scenario, opened + timedelta(days=self.rng.randint(1, 10)))
            if nomination is None:
                continue
            self._score(rnd, nomination, others, self.today - timedelta(days=6), self.rng.randint(72, 90))
            invited = _at(self.today - timedelta(days=7))
            mine = NominationExpert(nomination=nomination, expert=demo_expert, invited_by=self.city,
                                    invited_at=invited, created_at=invited, updated_at=invited)
            if count == 0:
                mine.declared_at = mine.updated_at = _at(self.today - timedelta(days=4))
            self.session.add(mine)
            count += 1
        self.session.flush()
        self.summary["nominations being scored"] = count

    def rounds(self) -> list[Demonstration]:
        """Last year's round (published in late September), this year's first batch (published three weeks
        ago) and its second batch (being scored). Projects are nominated only after their acceptance."""
        accepted = [s for s in self.loader.scenario_list if s.status == ScenarioStatus.ACCEPTED]
        facts = delivery_facts(self.session, [s.id for s in accepted])
        dated = sorted(((facts[s.id].acceptance.accepted_on, s) for s in accepted if facts[s.id].acceptance
                        and facts[s.id].acceptance.result == AcceptanceResult.PASSED), key=lambda p: (p[0], p[1].id))
        year = self.today.year
        title = "{y}年度重庆市本地优秀软件和应用示范项目评选"
        plan = [
            (year - 1, title.format(y=year - 1), date(year - 1, 6, 1), date(year - 1, 7, 15), date(year - 1, 9, 26)),
            (year, title.format(y=year) + "（第一批）", self.today - timedelta(days=80),
             self.today - timedelta(days=90), self.today - timedelta(days=20)),
        ]
        used: set[int] = set()
        demos: list[Demonstration] = []
        for i, (round_year, name, opened, cutoff, published) in enumerate(plan):
            pool = [s for day, s in dated if day <= cutoff and s.id not in used][-12:]
            if not pool:
                continue
            used.update(s.id for s in pool)
            wanted = 12 - len(demos) if i == len(plan) - 1 else len(pool) - 1
            select = min(len(pool), max(wanted, len(pool) - 2, 1))
            demos += self.published_round(round_year, name, pool, select, opened, published)
        self.summary["demonstrations"] = len(demos)
        leftover = [s for day, s in dated if s.id not in used and day <= self.today - timedelta(days=20)][:4]
        if leftover:
            self.scoring_round(year, title.format(y=year) + "（第二批）", leftover, self.today - timedelta(days=18))
        return demos

    # -------------------------------------------------------------- reuse

    def reuses(self, demos: list[Demonstration]) -> None:
        public = [s for s in self.loader.scenario_list if s.status in ScenarioStatus.public()]
        owner_user = {}
        count = 0
        for demo in sorted(demos, key=lambda d: d.id)[: max(3, len(demos) // 2)]:
            same = [s for s in public if s.domain_id == demo.scenario.domain_id and s.owner_id != demo.scenario.owner_id
                    and s.id != demo.scenario_id]
            if not same:
                continue
            for scenario in self.rng.sample(same, min(len(same), self.rng.choice((1, 1, 2)))):
                published = clock.to_local(demo.published_at).date()
                day = min(published + timedelta(days=self.rng.randint(30, 200)), self.today - timedelta(days=2))
                if day <= published:
                    continue
                if scenario.owner_id not in owner_user:
                    owner_user[scenario.owner_id] = self.session.execute(
                        sa.select(User).where(User.organisation_id == scenario.owner_id, User.role == Role.OWNER)
                        .limit(1)).scalar_one_or_none()
                self.session.add(DemonstrationReuse(
                    demonstration=demo, scenario=scenario, owner_id=scenario.owner_id,
                    note=self.rng.choice(("借鉴其总体架构和数据治理做法，在本单位同类业务中推广应用。",
                                          "复用其核心模块和接口规范，缩短了本单位项目的建设周期。",
                                          "参照其验收指标体系，细化了本单位场景的验收标准。")),
                    recorded_by=owner_user[scenario.owner_id], created_at=_at(day, 11)))
                count += 1
        self.session.flush()
        self.summary["reuses"] = count

    # -------------------------------------------------------------- appraisals

    def appraisals(self) -> None:
        year = self.today.year
        weights = {f"w_{i.code}": str(i.default_weight) for i in appraisals.INDICATORS}
        last = appraisals.create_appraisal(self.session, self.city, {
            "year": year - 1, "period": "annual", "reward_pool_yuan": "20000000", "cap_yuan": "5000000",
            "top_n": 6, "note": "依据《重庆市软件和信息服务业“满天星”行动计划（2022—2025年）》开展年度考评。", **weights})
        appraisals.publish_appraisal(self.session, self.city, last)
        last.published_at = _at(date(year, 2, 10))
        appraisals.create_appraisal(self.session, self.city, {
            "year": year, "period": "annual", "reward_pool_yuan": "30000000", "cap_yuan": "5000000", "top_n": 6,
            **weights})
        self.session.flush()
        self.summary["appraisals"] = 2

    def run(self) -> dict[str, int]:
        self.fill_delivery_gaps()
        demos = self.rounds()
        self.reuses(demos)
        self.appraisals()
        return self.summary


def facts_winner(session: Any, scenario: Scenario) -> Organisation | None:
    return facts_for(session, scenario.id).winner


def _mean_total(nomination: Nomination, criteria: list[SelectionCriterion]) -> Decimal | None:
    totals = [t for t in (weighted_total(a, criteria) for a in nomination.experts if a.may_score) if t is not None]
    return sum(totals, Decimal(0)) / len(totals) if totals else None


def load_showcase(loader: Any) -> dict[str, int]:
    """Demonstrations, reuse and appraisals for the demo data set (see the module docstring); returns counts."""
    return ShowcaseLoader(loader).run()
