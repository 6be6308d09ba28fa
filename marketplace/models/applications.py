"""揭榜 applications (sealed until the deadline), expert evaluation and 赛马 stage assessments."""

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
from marketplace.models.scenarios import Scenario


class ApplicationStatus(LabelledEnum):
    """``draft → submitted → (withdrawn | shortlisted | not_selected) → racing → selected`` (DESIGN.md §3)."""

    DRAFT = "draft"
    SUBMITTED = "submitted"
    WITHDRAWN = "withdrawn"
    SHORTLISTED = "shortlisted"
    RACING = "racing"
    SELECTED = "selected"
    NOT_SELECTED = "not_selected"

    @staticmethod
    def __labels__() -> dict:
        return {"draft": _l("草稿"), "submitted": _l("已提交"), "withdrawn": _l("已撤回"),
                "shortlisted": _l("入围"), "racing": _l("赛马阶段"), "selected": _l("揭榜成功"),
                "not_selected": _l("未入选")}

    @classmethod
    def live(cls) -> tuple[ApplicationStatus, ...]:
        """Every status but withdrawn: at most one live application per firm and scenario."""
        return tuple(s for s in cls if s != cls.WITHDRAWN)


class Application(TimestampMixin, Base):
    """A firm's 揭榜 application. Nobody but the firm reads it before the scenario's deadline."""

    __tablename__ = "applications"
    __table_args__ = (
        # One live (not withdrawn) application per firm and scenario, enforced by the database too.
        sa.Index("uq_applications_live", "scenario_id", "organisation_id", unique=True,
                 sqlite_where=sa.text("status != 'withdrawn'"), postgresql_where=sa.text("status != 'withdrawn'")),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    scenario_id: Mapped[int] = mapped_column(ForeignKey("scenarios.id"), nullable=False, index=True)
    #: The applying firm.
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), nullable=False, index=True)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    status: Mapped[ApplicationStatus] = mapped_column(StrEnumType(ApplicationStatus), nullable=False,
                                                      default=ApplicationStatus.DRAFT)
    summary: Mapped[str] = mapped_column(Text, nullable=False, default="")
    approach: Mapped[str] = mapped_column(Text, nullable=False, default="")
    #: [{"name", "role", "specialty"}, …]
    team: Mapped[list[dict[str, Any]]] = mapped_column(JSON, nullable=False, default=list)
    #: The firm's quoted price in 万元.
    price_wan: Mapped[Decimal | None] = mapped_column(Numeric(14, 2))
    #: 实施计划 (free text).
    plan: Mapped[str] = mapped_column(Text, nullable=False, default="")
    #: [{"title", "month"}, …]
    milestones: Mapped[list[dict[str, Any]]] = mapped_column(JSON, nullable=False, default=list)
    #: The firm's declarations, required to submit.
    declares_meets_requirements: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    declares_no_conflict: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    submitted_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    #: The scenario revision the firm last confirmed; lower than the scenario's means "re-confirm".
    confirmed_revision: Mapped[int] = mapped_column(Integer, nullable=False, default=1)
    #: The latest deadline the firm submitted or re-confirmed this application under: it stays sealed until
    #: this moment at least, whatever later happens to the scenario's deadline (policy.seal_ends).
    sealed_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    #: When the application was shortlisted, selected or not selected.
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    #: The owner's note with the decision (e.g. the 流榜 reason told to the firm).
    decision_note: Mapped[str | None] = mapped_column(Text)

    scenario: Mapped[Scenario] = relationship()
    organisation: Mapped[Organisation] = relationship()
    created_by: Mapped[User | None] = relationship()
    documents: Mapped[list[ApplicationDocument]] = relationship(back_populates="application",
                                                                cascade="all, delete-orphan")
    stage_assessments: Mapped[list[StageAssessment]] = relationship(back_populates="application",
                                                                    cascade="all, delete-orphan",
                                                                    order_by="StageAssessment.recorded_at")

    @property
    def needs_reconfirmation(self) -> bool:
        return self.status == ApplicationStatus.SUBMITTED and self.confirmed_revision < self.scenario.revision


class ApplicationDocument(Base):
    """An attachment of an application (sealed like the application); a link row, timed by its attachment."""

    __tablename__ = "application_documents"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    application_id: Mapped[int] = mapped_column(ForeignKey("applications.id", ondelete="CASCADE"), nullable=False,
                                                index=True)
    attachment_id: Mapped[int] = mapped_column(ForeignKey("attachments.id"), nullable=False)

    application: Mapped[Application] = relationship(back_populates="documents")
    attachment: Mapped[Attachment] = relationship()


class EvaluationCriterion(CreatedAtMixin, Base):
    """A weighted scoring criterion set by the owner for one scenario (a new set replaces the old rows)."""

    __tablename__ = "evaluation_criteria"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    scenario_id: Mapped[int] = mapped_column(ForeignKey("scenarios.id", ondelete="CASCADE"), nullable=False,
                                             index=True)
    name: Mapped[str] = mapped_column(String(100), nullable=False)
    #: Weight in percent; a scenario's weights add up to 100.
    weight: Mapped[Decimal] = mapped_column(Numeric(5, 2), nullable=False)
    #: Position on the scoring form.
    sort_order: Mapped[int] = mapped_column(Integer, nullable=False, default=0)


class ExpertAssignment(TimestampMixin, Base):
    """An expert invited to score a scenario's applications; scores only after declaring no conflict."""

    __tablename__ = "expert_assignments"
    __table_args__ = (sa.UniqueConstraint("scenario_id", "expert_id", name="uq_expert_assignments_scenario_expert"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    scenario_id: Mapped[int] = mapped_column(ForeignKey("scenarios.id", ondelete="CASCADE"), nullable=False)
    expert_id: Mapped[int] = mapped_column(ForeignKey("users.id"), nullable=False, index=True)
    #: The owner user who invited the expert.
    invited_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    invited_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, nullable=False)
    #: When the expert declared no conflict of interest (None: not yet; scoring refused).
    declared_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    #: True when the expert declared a conflict and stepped back.
    recused: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    #: When the owner removed an unresponsive expert from the panel (None: on the panel). A removed
    #: expert reads nothing more, and partial scores no longer count.
    removed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    removed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    #: The owner's reason for the removal (told to the expert, kept in the audit log).
    removal_reason: Mapped[str | None] = mapped_column(Text)

    scenario: Mapped[Scenario] = relationship()
    expert: Mapped[User] = relationship(foreign_keys=[expert_id])
    invited_by: Mapped[User | None] = relationship(foreign_keys=[invited_by_id])
    removed_by: Mapped[User | None] = relationship(foreign_keys=[removed_by_id])


class Score(TimestampMixin, Base):
    """One expert's score (0–100) of one application on one criterion; scoring again overwrites it."""

    __tablename__ = "scores"
    __table_args__ = (sa.UniqueConstraint("assignment_id", "application_id", "criterion_id",
                                          name="uq_scores_assignment_application_criterion"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    assignment_id: Mapped[int] = mapped_column(ForeignKey("expert_assignments.id", ondelete="CASCADE"),
                                               nullable=False)
    application_id: Mapped[int] = mapped_column(ForeignKey("applications.id", ondelete="CASCADE"), nullable=False,
                                                index=True)
    criterion_id: Mapped[int] = mapped_column(ForeignKey("evaluation_criteria.id", ondelete="CASCADE"),
                                              nullable=False)
    #: 0–100.
    value: Mapped[Decimal] = mapped_column(Numeric(5, 2), nullable=False)
    comment: Mapped[str | None] = mapped_column(Text)
    #: When the expert last submitted this score.
    scored_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, nullable=False)

    assignment: Mapped[ExpertAssignment] = relationship()
    criterion: Mapped[EvaluationCriterion] = relationship()


class StageAssessment(Base):
    """A 赛马 stage result recorded by the owner for one racing application (written once: ``recorded_at``)."""

    __tablename__ = "stage_assessments"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    application_id: Mapped[int] = mapped_column(ForeignKey("applications.id", ondelete="CASCADE"), nullable=False,
                                                index=True)
    #: The stage's name as the owner wrote it (e.g. "第一阶段：原型").
    stage: Mapped[str] = mapped_column(String(100), nullable=False)
    #: 0–100, optional.
    score: Mapped[Decimal | None] = mapped_column(Numeric(5, 2))
    #: The owner's assessment text.
    result: Mapped[str] = mapped_column(Text, nullable=False, default="")
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, nullable=False)
    recorded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    application: Mapped[Application] = relationship(back_populates="stage_assessments")
