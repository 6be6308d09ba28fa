"""Scenarios (应用场景), rolling batches and clarification questions."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import TYPE_CHECKING

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy import Boolean, Date, ForeignKey, Integer, Numeric, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from marketplace import clock
from marketplace.models.accounts import Organisation, User
from marketplace.models.attachments import Attachment
from marketplace.models.base import Base, LabelledEnum, StrEnumType, TimestampMixin, UTCDateTime, utcnow
from marketplace.models.reference import District, Domain, Theme

if TYPE_CHECKING:
    from marketplace.models.publicity import PublicityNotice


class ScenarioStatus(LabelledEnum):
    """Lifecycle of a scenario (DESIGN.md §3).

    ``CLOSED`` is never stored: a published scenario whose deadline has passed
    *is* closed, derived from the clock at read time (:meth:`Scenario.display_status`).
    ``PUBLICITY`` (公示中) is never stored either: an awarded scenario whose award notice is still
    pending (:func:`marketplace.models.publicity.pending_notice_clause`) shows it instead of 已揭榜.
    """

    DRAFT = "draft"
    SUBMITTED = "submitted"
    RETURNED = "returned"
    PUBLISHED = "published"
    CLOSED = "closed"
    AWARDED = "awarded"
    PUBLICITY = "publicity"
    IN_DELIVERY = "in_delivery"
    ACCEPTED = "accepted"
    WITHDRAWN = "withdrawn"
    UNSUCCESSFUL = "unsuccessful"

    @staticmethod
    def __labels__() -> dict:
        return {
            "draft": _l("草稿"),
            "submitted": _l("待审核"),
            "returned": _l("已退回"),
            "published": _l("征集中"),
            "closed": _l("已截止"),
            "awarded": _l("已揭榜"),
            "publicity": _l("公示中"),
            "in_delivery": _l("实施中"),
            "accepted": _l("已验收"),
            "withdrawn": _l("已撤回"),
            "unsuccessful": _l("流榜"),
        }

    @classmethod
    def public(cls) -> tuple[ScenarioStatus, ...]:
        """Stored statuses visible to everyone (published and later)."""
        return (cls.PUBLISHED, cls.AWARDED, cls.IN_DELIVERY, cls.ACCEPTED, cls.UNSUCCESSFUL)

    @classmethod
    def editable(cls) -> tuple[ScenarioStatus, ...]:
        """Stored statuses in which the owner edits freely (no review is pending)."""
        return (cls.DRAFT, cls.RETURNED)


class FundingSource(LabelledEnum):
    """Where a scenario's money comes from."""

    FISCAL = "fiscal"
    SOE_OWN = "soe_own"
    SOCIAL = "social"
    MIXED = "mixed"

    @staticmethod
    def __labels__() -> dict:
        return {"fiscal": _l("财政资金"), "soe_own": _l("国有企业自有资金"), "social": _l("社会资本"),
                "mixed": _l("混合")}


class ScenarioMode(LabelledEnum):
    """How the winner is chosen."""

    OPEN_CALL = "open_call"
    HORSE_RACE = "horse_race"

    @staticmethod
    def __labels__() -> dict:
        return {"open_call": _l("揭榜挂帅"), "horse_race": _l("赛马")}


class BatchLevel(LabelledEnum):
    """City or district list (市、区两级联动)."""

    CITY = "city"
    DISTRICT = "district"

    @staticmethod
    def __labels__() -> dict:
        return {"city": _l("市级"), "district": _l("区县级")}


class BatchStage(LabelledEnum):
    """征集一批、开发一批、拓展一批."""

    COLLECT = "collect"
    DEVELOP = "develop"
    EXPAND = "expand"

    @staticmethod
    def __labels__() -> dict:
        return {"collect": _l("征集"), "develop": _l("开发"), "expand": _l("拓展")}

    @property
    def explanation(self) -> str:
        """What a list in this stage holds (shown wherever the stage is, as help text or a tooltip)."""
        return str({
            "collect": _l("征集：正在征集需求、面向软件企业公开揭榜的场景清单。"),
            "develop": _l("开发：已确定揭榜企业、正在开发实施的场景清单。"),
            "expand": _l("拓展：已建成交付、正在向其他地区和单位拓展复制的场景清单。"),
        }[self.value])

    @staticmethod
    def introduction() -> str:
        """One sentence on the rolling 征集一批、开发一批、拓展一批 publication."""
        return str(_l("应用场景清单按照“征集一批、开发一批、拓展一批”滚动发布，市、区两级联动；每个批次标明所处阶段。"))


#: A scenario may appear in a district batch and, taken up by the city, in a city batch too.
batch_scenarios = sa.Table(
    "batch_scenarios",
    Base.metadata,
    sa.Column("batch_id", ForeignKey("batches.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("scenario_id", ForeignKey("scenarios.id", ondelete="CASCADE"), primary_key=True),
    #: When the scenario was put into the batch (its ``created_at``; link rows are never changed).
    sa.Column("added_at", UTCDateTime(), nullable=False, default=utcnow),
)


class Batch(TimestampMixin, Base):
    """A published list of scenarios, e.g. "2025年第3批应用场景清单"."""

    __tablename__ = "batches"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(128), nullable=False)
    level: Mapped[BatchLevel] = mapped_column(StrEnumType(BatchLevel), nullable=False)
    #: Set for district batches; None for city batches.
    district_id: Mapped[int | None] = mapped_column(ForeignKey("districts.id"))
    stage: Mapped[BatchStage] = mapped_column(StrEnumType(BatchStage), nullable=False)
    #: The list's publication date (local), as printed on it.
    published_on: Mapped[date] = mapped_column(Date, nullable=False)
    description: Mapped[str | None] = mapped_column(Text)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    district: Mapped[District | None] = relationship()
    created_by: Mapped[User | None] = relationship()
    scenarios: Mapped[list[Scenario]] = relationship(secondary=batch_scenarios, back_populates="batches",
                                                     order_by="Scenario.id")

    def __str__(self) -> str:
        return self.name


class Scenario(TimestampMixin, Base):
    """An application scenario: an IT project with a boundary, an owner and secured funding."""

    __tablename__ = "scenarios"
    __table_args__ = (
        sa.Index("ix_scenarios_status_deadline", "status", "deadline"),
        sa.CheckConstraint("budget_wan IS NULL OR budget_wan > 0", name="budget_positive"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    title: Mapped[str] = mapped_column(String(200), nullable=False)
    summary: Mapped[str] = mapped_column(Text, nullable=False, default="")
    description: Mapped[str] = mapped_column(Text, nullable=False, default="")
    #: 建设边界: what is in and what is out of scope.
    boundary: Mapped[str] = mapped_column(Text, nullable=False, default="")
    #: 技术要求.
    requirements: Mapped[str] = mapped_column(Text, nullable=False, default="")
    #: 验收标准.
    acceptance: Mapped[str] = mapped_column(Text, nullable=False, default="")
    #: 预期成效.
    outcomes: Mapped[str] = mapped_column(Text, nullable=False, default="")
    domain_id: Mapped[int | None] = mapped_column(ForeignKey("domains.id"))
    theme_id: Mapped[int | None] = mapped_column(ForeignKey("themes.id"))
    #: 业主单位.
    owner_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), nullable=False, index=True)
    #: The owner's named contact for this scenario (业主明确).
    contact_name: Mapped[str] = mapped_column(String(64), nullable=False, default="")
    contact_phone: Mapped[str] = mapped_column(String(32), nullable=False, default="")
    contact_email: Mapped[str] = mapped_column(String(254), nullable=False, default="")
    #: Where the scenario is built; decides which district staff review it.
    district_id: Mapped[int] = mapped_column(ForeignKey("districts.id"), nullable=False, index=True)
    funding_source: Mapped[FundingSource | None] = mapped_column(StrEnumType(FundingSource))
    #: Budget in 万元 (ten thousand yuan), exact decimal.
    budget_wan: Mapped[Decimal | None] = mapped_column(Numeric(14, 2))
    #: Proof that the money is secured (资金落实), e.g. a budget approval.
    funding_evidence_id: Mapped[int | None] = mapped_column(ForeignKey("attachments.id"))
    #: Application deadline, stored in UTC (entered and shown in Asia/Shanghai).
    deadline: Mapped[datetime | None] = mapped_column(UTCDateTime())
    #: Delivery period in months from the contract's signing (the appraisal's "on time").
    delivery_months: Mapped[int | None] = mapped_column(Integer)
    mode: Mapped[ScenarioMode] = mapped_column(StrEnumType(ScenarioMode), nullable=False,
                                               default=ScenarioMode.OPEN_CALL)
    #: Number of teams that race in 赛马 mode.
    race_teams: Mapped[int | None] = mapped_column(Integer)
    #: Stored lifecycle status; see :meth:`display_status` for the derived "closed".
    status: Mapped[ScenarioStatus] = mapped_column(StrEnumType(ScenarioStatus), nullable=False,
                                                   default=ScenarioStatus.DRAFT)
    #: Bumped by every substantive edit after publication; applications confirm a revision.
    revision: Mapped[int] = mapped_column(Integer, nullable=False, default=1)
    #: Why the reviewer returned it (cleared when it is submitted again).
    return_reason: Mapped[str | None] = mapped_column(Text)
    #: 流榜: why no application was acceptable; public on the scenario page.
    unsuccessful_reason: Mapped[str | None] = mapped_column(Text)
    submitted_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    #: First publication (kept when a revised scenario is published again).
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    domain: Mapped[Domain | None] = relationship()
    theme: Mapped[Theme | None] = relationship()
    owner: Mapped[Organisation] = relationship()
    district: Mapped[District] = relationship()
    funding_evidence: Mapped[Attachment | None] = relationship(foreign_keys=[funding_evidence_id])
    created_by: Mapped[User | None] = relationship()
    batches: Mapped[list[Batch]] = relationship(secondary=batch_scenarios, back_populates="scenarios",
                                                order_by="Batch.published_on")
    documents: Mapped[list[ScenarioDocument]] = relationship(back_populates="scenario",
                                                             cascade="all, delete-orphan",
                                                             order_by="ScenarioDocument.id")
    questions: Mapped[list[Question]] = relationship(back_populates="scenario", cascade="all, delete-orphan",
                                                     order_by="Question.created_at")
    #: The award notices (公示) not withdrawn, read-only: the search reads its 公示 from them, and its reindex
    #: loads them for many scenarios at once.
    live_notices: Mapped[list[PublicityNotice]] = relationship(
        primaryjoin="and_(PublicityNotice.scenario_id == Scenario.id, PublicityNotice.withdrawn_at.is_(None))",
        viewonly=True, order_by="PublicityNotice.id")

    def display_status(self, now: datetime | None = None, in_publicity: bool = False) -> ScenarioStatus:
        """The status people see: a published scenario past its deadline is closed; an awarded one whose
        award notice is pending (*in_publicity*, found by the caller in SQL) is 公示中."""
        if in_publicity and self.status == ScenarioStatus.AWARDED:
            return ScenarioStatus.PUBLICITY
        if (self.status == ScenarioStatus.PUBLISHED and self.deadline is not None
                and self.deadline <= (now or clock.now())):
            return ScenarioStatus.CLOSED
        return self.status

    def is_open(self, now: datetime | None = None) -> bool:
        """Published and before the deadline: applications and questions are accepted."""
        return self.display_status(now) == ScenarioStatus.PUBLISHED

    @property
    def is_public(self) -> bool:
        return self.status in ScenarioStatus.public()

    def __str__(self) -> str:
        return self.title


class ScenarioDocument(Base):
    """A document attached to a scenario (需求说明书, drawings, interface specs …); a link row, timed by its attachment.

    Internal (owner and reviewing staff only) until the owner publishes it; a published document of a
    public scenario is listed on the scenario page and downloadable by anyone.
    """

    __tablename__ = "scenario_documents"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    scenario_id: Mapped[int] = mapped_column(ForeignKey("scenarios.id", ondelete="CASCADE"), nullable=False,
                                             index=True)
    attachment_id: Mapped[int] = mapped_column(ForeignKey("attachments.id"), nullable=False)
    #: Published by the owner (公开): shown and served to everyone once the scenario itself is public.
    public: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False, server_default=sa.false())

    scenario: Mapped[Scenario] = relationship(back_populates="documents")
    attachment: Mapped[Attachment] = relationship()


class Question(TimestampMixin, Base):
    """A clarification question from a firm; the owner's answer is public, the asker never shown."""

    __tablename__ = "questions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    scenario_id: Mapped[int] = mapped_column(ForeignKey("scenarios.id", ondelete="CASCADE"), nullable=False,
                                             index=True)
    #: The asking user (never shown to anyone but staff).
    asked_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"), nullable=False)
    text: Mapped[str] = mapped_column(Text, nullable=False)
    #: The owner's public answer (None: not answered yet).
    answer: Mapped[str | None] = mapped_column(Text)
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    answered_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    scenario: Mapped[Scenario] = relationship(back_populates="questions")
    asked_by: Mapped[User] = relationship(foreign_keys=[asked_by_id])
    answered_by: Mapped[User | None] = relationship(foreign_keys=[answered_by_id])
