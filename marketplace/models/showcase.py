"""Demonstration projects (示范项目): selection rounds, nominations, expert scoring, published cases
and their reuse (拓展一批); and the appraisal of central-urban districts (年度考评 / 半年评估).

Money is exact: amounts in 万元 elsewhere are ``Numeric(14, 2)``; appraisal rewards are whole yuan,
``Numeric(14, 0)``. A published appraisal's figures are stored in :class:`AppraisalResult` and are
never recomputed.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy import JSON, Boolean, ForeignKey, Integer, Numeric, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from marketplace.models.accounts import Organisation, User
from marketplace.models.attachments import Attachment
from marketplace.models.base import (
    Base,
    CreatedAtMixin,
    LabelledEnum,
    StrEnumType,
    TimestampMixin,
    UTCDateTime,
    utcnow,
)
from marketplace.models.reference import District
from marketplace.models.scenarios import Scenario

#: Default cap of one district's appraisal reward: 500万元.
DEFAULT_CAP_YUAN = Decimal("5000000")


# ====================================================================== demonstration selection

class RoundStatus(LabelledEnum):
    """``draft → open (nominations) → scoring (experts) → published``."""

    DRAFT = "draft"
    OPEN = "open"
    SCORING = "scoring"
    PUBLISHED = "published"

    @staticmethod
    def __labels__() -> dict:
        return {"draft": _l("草稿"), "open": _l("征集推荐中"), "scoring": _l("专家评审中"), "published": _l("已公布")}


class NominationStatus(LabelledEnum):
    """A nomination is submitted, then selected or not when the round is published (or withdrawn before)."""

    SUBMITTED = "submitted"
    WITHDRAWN = "withdrawn"
    SELECTED = "selected"
    NOT_SELECTED = "not_selected"

    @staticmethod
    def __labels__() -> dict:
        return {"submitted": _l("已推荐"), "withdrawn": _l("已撤回"), "selected": _l("入选"),
                "not_selected": _l("未入选")}


class SelectionRound(TimestampMixin, Base):
    """One year's selection of demonstration projects (本地优秀软件和应用示范项目评选), run by city staff."""

    __tablename__ = "selection_rounds"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    #: The year the round selects for (shown on the published demonstrations).
    year: Mapped[int] = mapped_column(Integer, nullable=False, index=True)
    name: Mapped[str] = mapped_column(String(128), nullable=False)
    #: Call text: scope, what makes a good case, timetable.
    description: Mapped[str] = mapped_column(Text, nullable=False, default="")
    status: Mapped[RoundStatus] = mapped_column(StrEnumType(RoundStatus), nullable=False, default=RoundStatus.DRAFT)
    opened_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    opened_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    published_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    opened_by: Mapped[User | None] = relationship(foreign_keys=[opened_by_id])
    published_by: Mapped[User | None] = relationship(foreign_keys=[published_by_id])
    criteria: Mapped[list[SelectionCriterion]] = relationship(back_populates="round", cascade="all, delete-orphan",
                                                              order_by="SelectionCriterion.sort_order")
    nominations: Mapped[list[Nomination]] = relationship(back_populates="round", order_by="Nomination.id")

    def __str__(self) -> str:
        return self.name


class SelectionCriterion(TimestampMixin, Base):
    """A weighted criterion experts score nominations on (0–100); a round's weights add up to 100."""

    __tablename__ = "selection_criteria"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    round_id: Mapped[int] = mapped_column(ForeignKey("selection_rounds.id", ondelete="CASCADE"), nullable=False,
                                          index=True)
    name: Mapped[str] = mapped_column(String(100), nullable=False)
    #: Weight in percent.
    weight: Mapped[Decimal] = mapped_column(Numeric(5, 2), nullable=False)
    #: Position on the scoring form.
    sort_order: Mapped[int] = mapped_column(Integer, nullable=False, default=0)

    round: Mapped[SelectionRound] = relationship(back_populates="criteria")


#: Photos and documents of a nomination (purpose ``demonstration_media``), copied to the case on publication.
nomination_media = sa.Table(
    "nomination_media",
    Base.metadata,
    sa.Column("nomination_id", ForeignKey("nominations.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("attachment_id", ForeignKey("attachments.id"), primary_key=True),
)


class Nomination(TimestampMixin, Base):
    """An accepted scenario put forward for a round, with its case write-up; not public until selected."""

    __tablename__ = "nominations"
    __table_args__ = (sa.UniqueConstraint("round_id", "scenario_id", name="uq_nominations_round_scenario"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    round_id: Mapped[int] = mapped_column(ForeignKey("selection_rounds.id"), nullable=False, index=True)
    scenario_id: Mapped[int] = mapped_column(ForeignKey("scenarios.id"), nullable=False, index=True)
    #: An owner user of the scenario's organisation, or district staff of the scenario's district.
    nominated_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    #: 建设前的问题.
    problem: Mapped[str] = mapped_column(Text, nullable=False, default="")
    #: 解决方案.
    solution: Mapped[str] = mapped_column(Text, nullable=False, default="")
    #: 实际成效, with measured figures.
    outcomes: Mapped[str] = mapped_column(Text, nullable=False, default="")
    #: 亮点 (optional).
    highlights: Mapped[str] = mapped_column(Text, nullable=False, default="")
    status: Mapped[NominationStatus] = mapped_column(StrEnumType(NominationStatus), nullable=False,
                                                     default=NominationStatus.SUBMITTED)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    round: Mapped[SelectionRound] = relationship(back_populates="nominations")
    scenario: Mapped[Scenario] = relationship()
    nominated_by: Mapped[User | None] = relationship()
    media: Mapped[list[Attachment]] = relationship(secondary=nomination_media, order_by="Attachment.id")
    experts: Mapped[list[NominationExpert]] = relationship(back_populates="nomination", cascade="all, delete-orphan",
                                                           order_by="NominationExpert.id")


class NominationExpert(TimestampMixin, Base):
    """An expert assigned to score one nomination; scores only after declaring no conflict of interest."""

    __tablename__ = "nomination_experts"
    __table_args__ = (sa.UniqueConstraint("nomination_id", "expert_id", name="uq_nomination_experts_nomination_expert"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    nomination_id: Mapped[int] = mapped_column(ForeignKey("nominations.id", ondelete="CASCADE"), nullable=False)
    expert_id: Mapped[int] = mapped_column(ForeignKey("users.id"), nullable=False, index=True)
    invited_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    invited_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, nullable=False)
    #: When the expert declared no conflict of interest (None: not yet; scoring refused).
    declared_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    #: True when the expert declared a conflict and stepped back.
    recused: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    #: The conflict the expert declared when stepping back.
    recusal_note: Mapped[str | None] = mapped_column(Text)

    nomination: Mapped[Nomination] = relationship(back_populates="experts")
    expert: Mapped[User] = relationship(foreign_keys=[expert_id])
    invited_by: Mapped[User | None] = relationship(foreign_keys=[invited_by_id])
    scores: Mapped[list[NominationScore]] = relationship(back_populates="assignment", cascade="all, delete-orphan")

    @property
    def may_score(self) -> bool:
        return self.declared_at is not None and not self.recused


class NominationScore(TimestampMixin, Base):
    """One expert's score (0–100) of one nomination on one criterion; scoring again overwrites it."""

    __tablename__ = "nomination_scores"
    __table_args__ = (sa.UniqueConstraint("assignment_id", "criterion_id",
                                          name="uq_nomination_scores_assignment_criterion"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    assignment_id: Mapped[int] = mapped_column(ForeignKey("nomination_experts.id", ondelete="CASCADE"),
                                               nullable=False)
    criterion_id: Mapped[int] = mapped_column(ForeignKey("selection_criteria.id", ondelete="CASCADE"),
                                              nullable=False)
    #: 0–100.
    value: Mapped[Decimal] = mapped_column(Numeric(5, 2), nullable=False)
    comment: Mapped[str | None] = mapped_column(Text)
    #: When the expert last submitted this score.
    scored_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, nullable=False)

    assignment: Mapped[NominationExpert] = relationship(back_populates="scores")
    criterion: Mapped[SelectionCriterion] = relationship()


# ====================================================================== published cases and reuse

#: Photos and documents shown on a published case page (public).
demonstration_media = sa.Table(
    "demonstration_media",
    Base.metadata,
    sa.Column("demonstration_id", ForeignKey("demonstrations.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("attachment_id", ForeignKey("attachments.id"), primary_key=True),
)


class Demonstration(TimestampMixin, Base):
    """A published demonstration project: a public case page built from a selected nomination."""

    __tablename__ = "demonstrations"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    #: The selected nomination (None only for cases entered without a round).
    nomination_id: Mapped[int | None] = mapped_column(ForeignKey("nominations.id"), unique=True)
    scenario_id: Mapped[int] = mapped_column(ForeignKey("scenarios.id"), nullable=False, index=True)
    #: The delivering firm (揭榜企业), from the scenario's contract or selected application.
    firm_id: Mapped[int | None] = mapped_column(ForeignKey("organisations.id"), index=True)
    #: The selection year (the round's year).
    year: Mapped[int] = mapped_column(Integer, nullable=False, index=True)
    title: Mapped[str] = mapped_column(String(200), nullable=False)
    problem: Mapped[str] = mapped_column(Text, nullable=False, default="")
    solution: Mapped[str] = mapped_column(Text, nullable=False, default="")
    #: Measured outcomes.
    outcomes: Mapped[str] = mapped_column(Text, nullable=False, default="")
    highlights: Mapped[str] = mapped_column(Text, nullable=False, default="")
    published_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False, index=True)

    nomination: Mapped[Nomination | None] = relationship()
    scenario: Mapped[Scenario] = relationship()
    firm: Mapped[Organisation | None] = relationship()
    media: Mapped[list[Attachment]] = relationship(secondary=demonstration_media, order_by="Attachment.id")
    reuses: Mapped[list[DemonstrationReuse]] = relationship(back_populates="demonstration",
                                                            cascade="all, delete-orphan",
                                                            order_by="DemonstrationReuse.created_at")

    def __str__(self) -> str:
        return self.title


class DemonstrationReuse(CreatedAtMixin, Base):
    """拓展一批: an owner records that one of its own (public) scenarios adopted a demonstration (written once)."""

    __tablename__ = "demonstration_reuses"
    __table_args__ = (sa.UniqueConstraint("demonstration_id", "scenario_id",
                                          name="uq_demonstration_reuses_demonstration_scenario"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    demonstration_id: Mapped[int] = mapped_column(ForeignKey("demonstrations.id", ondelete="CASCADE"),
                                                  nullable=False, index=True)
    #: The adopting scenario.
    scenario_id: Mapped[int] = mapped_column(ForeignKey("scenarios.id"), nullable=False, index=True)
    #: The adopting owner organisation (the adopting scenario's owner when recorded).
    owner_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), nullable=False)
    #: What was reused and how.
    note: Mapped[str] = mapped_column(Text, nullable=False, default="")
    recorded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    demonstration: Mapped[Demonstration] = relationship(back_populates="reuses")
    scenario: Mapped[Scenario] = relationship()
    owner: Mapped[Organisation] = relationship()
    recorded_by: Mapped[User | None] = relationship()


# ====================================================================== district appraisal

class AppraisalPeriod(LabelledEnum):
    """The whole year (年度考评) or its first half (半年评估)."""

    ANNUAL = "annual"
    HALF_YEAR = "half_year"

    @staticmethod
    def __labels__() -> dict:
        return {"annual": _l("年度考评"), "half_year": _l("半年评估")}


class AppraisalStatus(LabelledEnum):
    DRAFT = "draft"
    PUBLISHED = "published"

    @staticmethod
    def __labels__() -> dict:
        return {"draft": _l("草稿（实时计算）"), "published": _l("已发布（结果已冻结）")}


class Appraisal(TimestampMixin, Base):
    """The appraisal of how each central-urban district organised scenario building in a year (or half-year).

    While a draft, results are computed live from platform data; publishing stores them in
    :class:`AppraisalResult` rows, which are never recomputed.
    """

    __tablename__ = "appraisals"
    __table_args__ = (
        sa.UniqueConstraint("year", "period", name="uq_appraisals_year_period"),
        sa.CheckConstraint("reward_pool_yuan >= 0", name="pool_not_negative"),
        sa.CheckConstraint("cap_yuan >= 0", name="cap_not_negative"),
        sa.CheckConstraint("top_n >= 1", name="top_n_positive"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    year: Mapped[int] = mapped_column(Integer, nullable=False)
    period: Mapped[AppraisalPeriod] = mapped_column(StrEnumType(AppraisalPeriod), nullable=False,
                                                    default=AppraisalPeriod.ANNUAL)
    name: Mapped[str] = mapped_column(String(128), nullable=False)
    status: Mapped[AppraisalStatus] = mapped_column(StrEnumType(AppraisalStatus), nullable=False,
                                                    default=AppraisalStatus.DRAFT)
    #: Total reward money to share out, whole yuan.
    reward_pool_yuan: Mapped[Decimal] = mapped_column(Numeric(14, 0), nullable=False)
    #: Most one district may receive, whole yuan (500万元 by default).
    cap_yuan: Mapped[Decimal] = mapped_column(Numeric(14, 0), nullable=False, default=DEFAULT_CAP_YUAN)
    #: Districts ranked 1…top_n share the pool (all districts tied at rank top_n included).
    top_n: Mapped[int] = mapped_column(Integer, nullable=False, default=5)
    note: Mapped[str] = mapped_column(Text, nullable=False, default="")
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    published_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    #: Yuan of the pool left unallocated at publication (rounding down, or every share capped).
    unallocated_yuan: Mapped[Decimal | None] = mapped_column(Numeric(14, 0))

    created_by: Mapped[User | None] = relationship(foreign_keys=[created_by_id])
    published_by: Mapped[User | None] = relationship(foreign_keys=[published_by_id])
    indicators: Mapped[list[AppraisalIndicator]] = relationship(back_populates="appraisal",
                                                                cascade="all, delete-orphan",
                                                                order_by="AppraisalIndicator.sort_order")
    results: Mapped[list[AppraisalResult]] = relationship(back_populates="appraisal", cascade="all, delete-orphan",
                                                          order_by=lambda: (AppraisalResult.rank, AppraisalResult.id))

    @property
    def is_published(self) -> bool:
        return self.status == AppraisalStatus.PUBLISHED

    def __str__(self) -> str:
        return self.name


class AppraisalIndicator(TimestampMixin, Base):
    """One weighted indicator of an appraisal; ``code`` names its computation in ``showcase.appraisal``."""

    __tablename__ = "appraisal_indicators"
    __table_args__ = (sa.UniqueConstraint("appraisal_id", "code", name="uq_appraisal_indicators_appraisal_code"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    appraisal_id: Mapped[int] = mapped_column(ForeignKey("appraisals.id", ondelete="CASCADE"), nullable=False,
                                              index=True)
    #: e.g. ``published``, ``awarded``, ``funding`` (see ``marketplace.showcase.appraisal.INDICATORS``).
    code: Mapped[str] = mapped_column(String(32), nullable=False)
    name: Mapped[str] = mapped_column(String(100), nullable=False)
    #: Weight in percent; an appraisal's weights add up to 100.
    weight: Mapped[Decimal] = mapped_column(Numeric(5, 2), nullable=False)
    #: Position in the ranking table.
    sort_order: Mapped[int] = mapped_column(Integer, nullable=False, default=0)

    appraisal: Mapped[Appraisal] = relationship(back_populates="indicators")


class AppraisalResult(CreatedAtMixin, Base):
    """One district's frozen result in a published appraisal (written once, at publication)."""

    __tablename__ = "appraisal_results"
    __table_args__ = (sa.UniqueConstraint("appraisal_id", "district_id", name="uq_appraisal_results_appraisal_district"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    appraisal_id: Mapped[int] = mapped_column(ForeignKey("appraisals.id", ondelete="CASCADE"), nullable=False)
    district_id: Mapped[int] = mapped_column(ForeignKey("districts.id"), nullable=False)
    #: ``{code: {"raw": "12", "normalised": "0.857143"}}`` — decimal strings, never floats.
    indicators: Mapped[dict[str, Any]] = mapped_column(JSON, nullable=False, default=dict)
    #: Weighted score, 0–100.
    score: Mapped[Decimal] = mapped_column(Numeric(6, 2), nullable=False)
    #: 1 = best; equal scores share a rank (1, 2, 2, 4).
    rank: Mapped[int] = mapped_column(Integer, nullable=False)
    #: The district's share of the reward pool, whole yuan (capped at the appraisal's ``cap_yuan``).
    reward_yuan: Mapped[Decimal] = mapped_column(Numeric(14, 0), nullable=False, default=Decimal(0))
    #: ``{code: [{"scenario_id", "title", "value", "counted"}, …]}`` — the scenarios behind each number.
    evidence: Mapped[dict[str, Any]] = mapped_column(JSON, nullable=False, default=dict)

    appraisal: Mapped[Appraisal] = relationship(back_populates="results")
    district: Mapped[District] = relationship()
