"""``flask seed demo``: a deterministic, realistic data set that makes every page look alive.

Dates are relative to the day the data is loaded, so some scenarios are always
open for applications. Text comes from :mod:`marketplace.demo.corpus`.
"""

from __future__ import annotations

import hashlib
import random
import secrets
from collections.abc import Callable
from datetime import date, datetime, time, timedelta
from decimal import Decimal

import sqlalchemy as sa
from flask import current_app
from sqlalchemy.orm import Session
from werkzeug.security import generate_password_hash

from marketplace import clock
from marketplace.attachments import save_bytes
from marketplace.demo import corpus
from marketplace.models import (
    ApprovalStatus,
    Attachment,
    AttachmentPurpose,
    Batch,
    BatchLevel,
    BatchStage,
    District,
    Domain,
    FundingSource,
    Organisation,
    OrganisationKind,
    Question,
    Role,
    Scenario,
    ScenarioMode,
    ScenarioStatus,
    Theme,
    User,
)

DEMO_PASSWORD = "demo-2025"
#: (email, role, name) of the five demo accounts printed in the README.
DEMO_ACCOUNTS = [
    ("owner@demo.cq", Role.OWNER, "周敏"),
    ("firm@demo.cq", Role.ENTERPRISE, "刘洋"),
    ("district@demo.cq", Role.DISTRICT_STAFF, "何静"),
    ("city@demo.cq", Role.CITY_STAFF, "唐建国"),
    ("expert@demo.cq", Role.EXPERT, "罗晓峰"),
]

#: How many of the demo scenarios end in each state (≥ 150 in all).
STATUS_PLAN = [
    ("draft", 12), ("submitted", 12), ("returned", 6), ("withdrawn", 6), ("open", 48), ("closed", 24),
    ("awarded", 20), ("in_delivery", 26), ("accepted", 34), ("unsuccessful", 8),
]

MINIMAL_PDF = (b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n2 0 obj<</Type/Pages/Kids[]/Count 0>>endobj\n"
               b"trailer<</Root 1 0 R>>\n%%EOF\n")


class DemoLoader:
    """Builds the demo data set in one session (the caller commits)."""

    def __init__(self, session: Session, seed: int, progress: Callable[[str], None]) -> None:
        self.session = session
        self.rng = random.Random(seed)
        self.progress = progress
        self.now = clock.now()
        self.password_hash = generate_password_hash(
            DEMO_PASSWORD, method=current_app.config.get("PASSWORD_HASH_METHOD", "scrypt"))
        self.districts = {d.code: d for d in session.execute(sa.select(District)).scalars()}
        self.domains = {d.code: d for d in session.execute(sa.select(Domain)).scalars()}
        self.themes = {t.code: t for t in session.execute(sa.select(Theme)).scalars()}
        self.summary: dict[str, int] = {}
        #: The planned demo state of each scenario (by ``id()``), which sets its batch's stage.
        self.placed: dict[int, str] = {}

    # -------------------------------------------------------------- people and organisations

    def user(self, email: str, name: str, role: Role, organisation: Organisation | None, phone: str) -> User:
        user = User(email=email, name=name, phone=phone, password_hash=self.password_hash, role=role,
                    organisation=organisation, approval_status=ApprovalStatus.APPROVED)
        self.session.add(user)
        return user

    def offices(self) -> None:
        taken = {o.name for o in self.owner_orgs}
        self.city_office = Organisation(name=next(n for n in ("重庆市经济和信息化委员会", "重庆市大数据应用发展管理局")
                                                  if n not in taken), kind=OrganisationKind.CITY_OFFICE,
                                        uscc="11500000009286488K", district=None)
        self.session.add(self.city_office)
        self.district_offices = {}
        for code, district in self.districts.items():
            if code == "other":
                continue
            taken = {o.name for o in self.owner_orgs}
            name = next(n for n in (f"{district.name}经济和信息化委员会", f"{district.name}大数据应用发展管理局",
                                    f"{district.name}软件和信息服务业发展办公室") if n not in taken)
            office = Organisation(name=name, kind=OrganisationKind.DISTRICT_OFFICE, district=district)
            self.district_offices[code] = office
            self.session.add(office)
        self.expert_org = Organisation(name="重庆市软件和信息服务业专家库", kind=OrganisationKind.OTHER)
        self.session.add(self.expert_org)

    def owners(self) -> None:
        self.owner_orgs: list[Organisation] = []
        used_emails: set[str] = set()
        for row in corpus.owner_organisations(self.rng, n=48):
            org = Organisation(name=row["name"], kind=OrganisationKind(row["kind"]), uscc=row["uscc"],
                               district=self.districts[row["district"]])
            org.demo_contacts = row["contacts"]  # type: ignore[attr-defined]
            org.demo_sectors = frozenset(row["sectors"])  # type: ignore[attr-defined]
            self.session.add(org)
            self.owner_orgs.append(org)
            for contact in row["contacts"][:1]:
                if contact["email"] in used_emails:
                    continue
                used_emails.add(contact["email"])
                self.user(contact["email"], contact["name"], Role.OWNER, org, contact["phone"])
        self.summary["owner organisations"] = len(self.owner_orgs)

    def firms(self) -> None:
        self.firm_orgs: list[Organisation] = []
        self.firm_rows: list[dict] = []
        self.firm_users: list[User] = []
        used_emails: set[str] = set()
        for row in corpus.software_firms(self.rng, n=320):
            org = Organisation(name=row["name"], kind=OrganisationKind.SOFTWARE_ENTERPRISE, uscc=row["uscc"],
                               district=self.districts[row["district"]])
            self.session.add(org)
            self.firm_orgs.append(org)
            self.firm_rows.append(row)
            contact = row["contact"]
            if contact["email"] not in used_emails:
                used_emails.add(contact["email"])
                self.firm_users.append(self.user(contact["email"], contact["name"], Role.ENTERPRISE, org,
                                                 contact["phone"]))
        self.summary["software firms"] = len(self.firm_orgs)

    def demo_accounts(self) -> None:
        # The demo owner: a 渝中区 government owner with the most topics of its own sectors to publish.
        owner_org = max((o for o in self.owner_orgs
                         if o.district is self.districts["yuzhong"] and o.kind == OrganisationKind.GOVERNMENT),
                        key=lambda o: len(corpus.topics_for(o.demo_sectors)))  # type: ignore[attr-defined]
        self.demo_owner_org = owner_org
        firm_org = next(o for o in self.firm_orgs if o.district is self.districts["yuzhong"])
        self.demo_firm_org = firm_org
        organisations = {
            Role.OWNER: owner_org, Role.ENTERPRISE: firm_org, Role.DISTRICT_STAFF: self.district_offices["yuzhong"],
            Role.CITY_STAFF: self.city_office, Role.EXPERT: self.expert_org,
        }
        self.demo_users = {}
        for email, role, name in DEMO_ACCOUNTS:
            self.demo_users[role] = self.user(email, name, role, organisations[role], "023-6389" + f"{len(name):04d}")
        self.staff = {code: self.user(f"staff.{code}@demo.cq", corpus.person_name(self.rng), Role.DISTRICT_STAFF,
                                      office, "023-6000" + f"{i:04d}")
                      for i, (code, office) in enumerate(self.district_offices.items()) if code != "yuzhong"}
        self.staff["yuzhong"] = self.demo_users[Role.DISTRICT_STAFF]
        for i in range(6):
            self.user(f"expert{i + 1}@demo.cq", corpus.person_name(self.rng), Role.EXPERT, self.expert_org,
                      f"139{self.rng.randrange(10**8):08d}")

    # -------------------------------------------------------------- batches and scenarios

    def batches(self) -> None:
        """City and district batches over three years (征集 / 开发 / 拓展)."""
        today = clock.local_today()
        self.batch_list: list[Batch] = []
        stages = [BatchStage.COLLECT, BatchStage.DEVELOP, BatchStage.EXPAND]
        district_codes = ["yuzhong", "yubei", "liangjiang", "jiangbei", "shapingba", "jiulongpo", "nanan", "gaoxin",
                          "dadukou", "beibei", "banan"]
        for years_ago in (2, 1, 0):
            year = today.year - years_ago
            for k in range(1, 3):
                published = self._batch_date(today, years_ago, k, 2)
                batch = Batch(name=f"{year}年第{k}批应用场景清单", level=BatchLevel.CITY,
                              stage=stages[(k + years_ago) % 3], published_on=published,
                              description="市级应用场景清单，市、区两级联动发布。", created_by=self.demo_users[Role.CITY_STAFF])
                self.batch_list.append(batch)
            for j, code in enumerate(district_codes[years_ago::2]):
                published = self._batch_date(today, years_ago, j + 1, 6)
                district = self.districts[code]
                batch = Batch(name=f"{district.name}{year}年应用场景清单", level=BatchLevel.DISTRICT,
                              district=district, stage=stages[j % 3], published_on=published,
                              created_by=self.staff[code])
                self.batch_list.append(batch)
        # The batches join the session through their scenarios (see ``settle_batches``): a list with nothing
        # in it is never published.

    @staticmethod
    def _batch_date(today: date, years_ago: int, k: int, of: int) -> date:
        if years_ago == 0:
            return today - timedelta(days=max(1, 60 - 50 * k // of))
        return date(today.year - years_ago, min(12, 1 + k * 11 // (of + 1)), 15)

    def evidence(self, owner: Organisation) -> Attachment:
        stored = secrets.token_hex(16)
        save_bytes(stored, MINIMAL_PDF, "application/pdf")
        attachment = Attachment(purpose=AttachmentPurpose.FUNDING_EVIDENCE, filename="资金落实证明.pdf",
                                stored_name=stored, content_type="application/pdf", size=len(MINIMAL_PDF),
                                sha256=hashlib.sha256(MINIMAL_PDF).hexdigest(), organisation=owner)
        self.session.add(attachment)
        return attachment

    def _owner_for(self, text: dict) -> Organisation:
        """An owner whose sectors fit the scenario's topic, of the kind the text is written for when possible."""
        sectors = set(text["sectors"])
        fits = [o for o in self.owner_orgs if o.demo_sectors & sectors]  # type: ignore[attr-defined]
        government = text.get("owner_hint") != "soe"
        same_kind = [o for o in fits if (o.kind == OrganisationKind.GOVERNMENT) == government]
        return self.rng.choice(same_kind or fits)

    def scenarios(self) -> None:
        rng = self.rng
        total = sum(n for _, n in STATUS_PLAN)
        sectors = set().union(*(o.demo_sectors for o in self.owner_orgs))  # type: ignore[attr-defined]
        texts = corpus.scenario_texts(rng, n=total, sectors=sectors)
        plan = [state for state, n in STATUS_PLAN for _ in range(n)]
        rng.shuffle(plan)
        # The demo owner sees every kind of state, on scenarios of its own sectors.
        mine = [i for i, t in enumerate(texts) if self.demo_owner_org.demo_sectors & set(t["sectors"])]  # type: ignore[attr-defined]
        for i, state in zip(mine, ("draft", "submitted", "returned", "open", "closed", "awarded", "in_delivery",
                                   "accepted"), strict=False):
            j = next(k for k, planned in enumerate(plan) if planned == state and k not in mine[:mine.index(i)])
            plan[i], plan[j] = plan[j], plan[i]
        self.scenario_list: list[Scenario] = []
        for index, (text, state) in enumerate(zip(texts, plan, strict=False)):
            owner = self.demo_owner_org if index in mine[:8] else self._owner_for(text)
            contact = rng.choice(owner.demo_contacts)  # type: ignore[attr-defined]
            funding = text["funding_source"]
            enterprise = (owner.uscc or "").startswith("9")
            if not enterprise and funding == "soe_own":
                funding = "fiscal"  # a department, hospital or university spends public money
            elif enterprise and funding == "fiscal":
                funding = "soe_own"
            if not enterprise and text.get("place") in corpus.COMPANY_PLACES:
                # Written for a company ("公司", "集团本部…"); a hospital or department says itself otherwise.
                own = "本院" if "hospital" in owner.demo_sectors else "本单位"  # type: ignore[attr-defined]
                text = {k: v.replace(text["place"], own) if isinstance(v, str) and k != "title" else v
                        for k, v in text.items()}
            mode = ScenarioMode.HORSE_RACE if text.get("mode") == "horse_race" else ScenarioMode.OPEN_CALL
            scenario = Scenario(
                title=text["title"], summary=text["summary"], description=text["description"],
                boundary=text["boundary"], requirements=text["requirements"], acceptance=text["acceptance"],
                outcomes=text["outcomes"], domain=self.domains[text["domain"]], theme=self.themes[text["theme"]],
                owner=owner, district=owner.district, contact_name=contact["name"], contact_phone=contact["phone"],
                contact_email=contact["email"], funding_source=FundingSource(funding),
                budget_wan=Decimal(text["budget_wan"]), funding_evidence=self.evidence(owner),
                delivery_months=text["delivery_months"], mode=mode,
                race_teams=text.get("teams") if mode == ScenarioMode.HORSE_RACE else None,
                created_by=None,
            )
            self._place(scenario, state)
            self.scenario_list.append(scenario)
        self.summary["scenarios"] = len(self.scenario_list)
        self.settle_batches()  # first, so that the lists are numbered in the order they were published
        self.session.add_all(self.scenario_list)

    def settle_batches(self) -> None:
        """Publish only the batches that list scenarios, number each district's lists within a year, and give
        each list the stage its scenarios are in: 征集 (collecting), 开发 (being delivered) or 拓展 (delivered,
        now extended and replicated)."""
        phase = {"open": BatchStage.COLLECT, "closed": BatchStage.COLLECT, "unsuccessful": BatchStage.COLLECT,
                 "awarded": BatchStage.DEVELOP, "in_delivery": BatchStage.DEVELOP, "accepted": BatchStage.EXPAND}
        listed = [b for b in self.batch_list if b.scenarios]
        numbers: dict[tuple[int, int], int] = {}
        for batch in sorted(listed, key=lambda b: b.published_on):
            stages = [phase.get(self.placed[id(s)], BatchStage.COLLECT) for s in batch.scenarios]
            batch.stage = max(BatchStage, key=lambda st: (stages.count(st), st == batch.stage))
            if batch.level == BatchLevel.DISTRICT:
                key = (batch.district_id or id(batch.district), batch.published_on.year)
                numbers[key] = numbers.get(key, 0) + 1
                batch.name = f"{batch.district.name}{batch.published_on.year}年第{numbers[key]}批应用场景清单"
            self.session.add(batch)
        self.batch_list = listed
        self.summary["batches"] = len(listed)

    def _batch_for(self, scenario: Scenario, pool: list[Batch]) -> Batch:
        """A batch from ``pool`` that may list the scenario: the city's, or its own district's (preferred)."""
        own = [b for b in pool if b.level == BatchLevel.DISTRICT and b.district is scenario.district]
        cities = [b for b in pool if b.level == BatchLevel.CITY]
        if own and (not cities or self.rng.random() < 0.75):
            return self.rng.choice(own)
        if cities:
            return self.rng.choice(cities)
        # No list of the right age may carry it: the city list published nearest to the wanted ones.
        wanted = pool[0].published_on
        return min((b for b in self.batch_list if b.level == BatchLevel.CITY),
                   key=lambda b: abs((b.published_on - wanted).days))

    def _place(self, scenario: Scenario, state: str) -> None:
        """Set status, dates and batches for the planned state, relative to now."""
        rng, now = self.rng, self.now
        self.placed[id(scenario)] = state
        if state in ("draft", "submitted", "returned", "withdrawn"):
            scenario.status = ScenarioStatus(state)
            scenario.deadline = now + timedelta(days=rng.randint(20, 60), hours=rng.randint(0, 12))
            if state != "draft":
                scenario.submitted_at = now - timedelta(days=rng.randint(1, 10))
            if state == "returned":
                scenario.return_reason = rng.choice([
                    "验收标准缺少可量化指标，请补充响应时间、准确率等具体数值。",
                    "建设边界与已发布的市级场景存在重叠，请明确不包括的内容。",
                    "资金落实证明未加盖单位公章，请重新上传。",
                ])
            return
        if state in ("open", "closed"):
            scenario.status = ScenarioStatus.PUBLISHED
            if state == "open":
                scenario.deadline = now + timedelta(days=rng.randint(3, 45), hours=rng.randint(0, 20))
            else:
                scenario.deadline = now - timedelta(days=rng.randint(1, 25), hours=rng.randint(0, 20))
            # A batch published at least 20 days before the deadline.
            deadline_day = clock.to_local(scenario.deadline).date()
            recent = [b for b in self.batch_list if 20 <= (deadline_day - b.published_on).days < 120]
            early = [b for b in self.batch_list if (deadline_day - b.published_on).days >= 20]
            if not any(b.level == BatchLevel.CITY or b.district is scenario.district for b in recent):
                # No list of its own of the right age: this year's city lists (the deadline moves to fit below).
                recent = [b for b in self.batch_list
                          if b.level == BatchLevel.CITY and 0 < (deadline_day - b.published_on).days < 120]
            batch = self._batch_for(scenario, recent or early or self.batch_list)
            published = self._at(batch.published_on)
            # The deadline rules (MIN_APPLICATION_DAYS): never a window shorter than 20 days in the demo.
            scenario.deadline = max(scenario.deadline, published + timedelta(days=20))
        else:
            older = [b for b in self.batch_list if (clock.local_today() - b.published_on).days >= 70]
            # Delivered scenarios come mostly from the older lists, those just awarded from the newer ones.
            age = {"accepted": (300, 10_000), "awarded": (70, 400)}.get(state, (70, 10_000))
            fitting = [b for b in older if age[0] <= (clock.local_today() - b.published_on).days < age[1]]
            batch = self._batch_for(scenario, fitting if fitting and rng.random() < 0.85 else older)
            scenario.status = ScenarioStatus(state)
            published = self._at(batch.published_on)
            scenario.deadline = published + timedelta(days=rng.randint(25, 45))
        scenario.submitted_at = published - timedelta(days=rng.randint(3, 15))
        scenario.published_at = published
        scenario.created_at = scenario.submitted_at - timedelta(days=rng.randint(1, 20))
        scenario.batches.append(batch)
        if batch.level == BatchLevel.DISTRICT and rng.random() < 0.25:
            cities = [b for b in self.batch_list if b.level == BatchLevel.CITY and b.published_on >= batch.published_on]
            if cities:
                scenario.batches.append(cities[0])  # taken up into the city list too

    @staticmethod
    def _at(day: date) -> datetime:
        return clock.local_to_utc(datetime.combine(day, time(10, 0)))

    def questions(self) -> None:
        firm_users = self.firm_users
        count = 0
        for scenario in self.scenario_list:
            if scenario.status not in ScenarioStatus.public() or self.rng.random() > 0.45:
                continue
            for question_text, answer_text in corpus.questions_and_answers(self.rng, {
                    "title": scenario.title, "domain": scenario.domain.code}, self.rng.randint(1, 3)):
                asked = scenario.published_at + timedelta(days=self.rng.randint(1, 8), hours=self.rng.randint(1, 9))
                question = Question(scenario=scenario, asked_by=self.rng.choice(firm_users), text=question_text,
                                    created_at=asked, updated_at=asked)
                if scenario.display_status(self.now) != ScenarioStatus.PUBLISHED or self.rng.random() < 0.8:
                    question.answer = answer_text
                    question.answered_at = question.updated_at = asked + timedelta(days=self.rng.randint(1, 3))
                self.session.add(question)
                count += 1
        self.summary["questions"] = count

    def profiles(self) -> None:
        from marketplace.demo.seed_profiles import load_profiles

        self.summary["enterprise profiles"] = load_profiles(self)

    def applications(self) -> None:
        from marketplace.demo.seed_applications import load_applications

        self.summary.update(load_applications(self))

    def publicity(self) -> None:
        from marketplace.demo.seed_publicity import load_publicity

        self.summary.update(load_publicity(self))

    def showcase(self) -> None:
        from marketplace.demo.seed_showcase import load_showcase

        self.summary.update(load_showcase(self))

    def run(self) -> dict[str, int]:
        steps = [("owners", self.owners), ("offices", self.offices), ("firms", self.firms),
                 ("accounts", self.demo_accounts), ("profiles", self.profiles), ("batches", self.batches),
                 ("scenarios", self.scenarios), ("questions", self.questions),
                 ("applications", self.applications), ("publicity", self.publicity), ("showcase", self.showcase)]
        for name, step in steps:
            self.progress(f"demo data: {name}")
            step()
            self.session.flush()
        return self.summary


def load_demo(session: Session, seed: int = 2025, progress: Callable[[str], None] = lambda _m: None) -> dict[str, int]:
    """Load the demo data set into an empty database (the caller commits)."""
    return DemoLoader(session, seed, progress).run()
