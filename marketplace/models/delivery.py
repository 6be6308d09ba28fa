"""Delivery of awarded scenarios: contracts, milestones, progress and acceptance (验收)."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from flask_babel import lazy_gettext as _l
from sqlalchemy import Date, ForeignKey, Integer, Numeric, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from marketplace.models.applications import Application
from marketplace.models.attachments import Attachment
from marketplace.models.base import Base, LabelledEnum, StrEnumType, TimestampMixin, UTCDateTime, utcnow
from marketplace.models.scenarios import Scenario


class MilestoneStatus(LabelledEnum):
    PENDING = "pending"
    MET = "met"
    NOT_MET = "not_met"

    @staticmethod
    def __labels__() -> dict:
        return {"pending": _l("进行中"), "met": _l("已达成"), "not_met": _l("未达成")}


class AcceptanceResult(LabelledEnum):
    PASSED = "passed"
    FAILED = "failed"

    @staticmethod
    def __labels__() -> dict:
        return {"passed": _l("验收通过"), "failed": _l("验收不通过")}


class Contract(TimestampMixin, Base):
    """The contract signed with a selected application."""

    __tablename__ = "contracts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    scenario_id: Mapped[int] = mapped_column(ForeignKey("scenarios.id"), nullable=False, index=True)
    application_id: Mapped[int] = mapped_column(ForeignKey("applications.id"), unique=True, nullable=False)
    amount_wan: Mapped[Decimal] = mapped_column(Numeric(14, 2), nullable=False)
    signed_on: Mapped[date] = mapped_column(Date, nullable=False)

    scenario: Mapped[Scenario] = relationship()
    application: Mapped[Application] = relationship()
    milestones: Mapped[list[Milestone]] = relationship(back_populates="contract", cascade="all, delete-orphan",
                                                       order_by="Milestone.due_on")
    progress: Mapped[list[ProgressNote]] = relationship(back_populates="contract", cascade="all, delete-orphan",
                                                        order_by="ProgressNote.created_at.desc()")


class Milestone(Base):
    """A contract milestone with its due date and whether it was met."""

    __tablename__ = "milestones"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    contract_id: Mapped[int] = mapped_column(ForeignKey("contracts.id", ondelete="CASCADE"), nullable=False,
                                             index=True)
    title: Mapped[str] = mapped_column(String(200), nullable=False)
    due_on: Mapped[date] = mapped_column(Date, nullable=False)
    status: Mapped[MilestoneStatus] = mapped_column(StrEnumType(MilestoneStatus), nullable=False,
                                                    default=MilestoneStatus.PENDING)
    note: Mapped[str | None] = mapped_column(Text)
    recorded_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    contract: Mapped[Contract] = relationship(back_populates="milestones")


class ProgressNote(Base):
    """A dated progress report recorded by the owner."""

    __tablename__ = "progress_notes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    contract_id: Mapped[int] = mapped_column(ForeignKey("contracts.id", ondelete="CASCADE"), nullable=False,
                                             index=True)
    text: Mapped[str] = mapped_column(Text, nullable=False)
    percent: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, nullable=False)

    contract: Mapped[Contract] = relationship(back_populates="progress")


class Acceptance(Base):
    """验收: the owner's acceptance of a delivered scenario."""

    __tablename__ = "acceptances"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    scenario_id: Mapped[int] = mapped_column(ForeignKey("scenarios.id"), unique=True, nullable=False)
    accepted_on: Mapped[date] = mapped_column(Date, nullable=False)
    result: Mapped[AcceptanceResult] = mapped_column(StrEnumType(AcceptanceResult), nullable=False)
    report_id: Mapped[int | None] = mapped_column(ForeignKey("attachments.id"))
    note: Mapped[str] = mapped_column(Text, nullable=False, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, nullable=False)

    scenario: Mapped[Scenario] = relationship()
    report: Mapped[Attachment | None] = relationship()
