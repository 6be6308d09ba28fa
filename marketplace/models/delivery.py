"""Delivery of awarded scenarios: contracts, milestones, progress and acceptance (验收).

Money is exact, in 万元 (``Numeric(14, 2)``). Calendar dates (signing, due, acceptance) are local
dates as written on the documents; times are UTC.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from flask_babel import lazy_gettext as _l
from sqlalchemy import Date, ForeignKey, Integer, Numeric, String, Text
from sqlalchemy.orm import Mapped, foreign, mapped_column, relationship, remote

from marketplace.models.accounts import User
from marketplace.models.applications import Application
from marketplace.models.attachments import Attachment
from marketplace.models.base import (
    Base,
    CreatedAtMixin,
    LabelledEnum,
    StrEnumType,
    TimestampMixin,
    UTCDateTime,
)
from marketplace.models.scenarios import Scenario


class MilestoneStatus(LabelledEnum):
    """Whether a milestone was met; ``pending`` until the owner records it."""

    PENDING = "pending"
    MET = "met"
    NOT_MET = "not_met"

    @staticmethod
    def __labels__() -> dict:
        return {"pending": _l("进行中"), "met": _l("已达成"), "not_met": _l("未达成")}


class AcceptanceResult(LabelledEnum):
    """The conclusion of one acceptance (验收结论)."""

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
    #: The selected application (one contract per winner; 赛马 may have several winners).
    application_id: Mapped[int] = mapped_column(ForeignKey("applications.id"), unique=True, nullable=False)
    #: Contract amount in 万元; shown publicly as the awarded amount.
    amount_wan: Mapped[Decimal] = mapped_column(Numeric(14, 2), nullable=False)
    #: Signing date (local), not before the award and not in the future.
    signed_on: Mapped[date] = mapped_column(Date, nullable=False)

    scenario: Mapped[Scenario] = relationship()
    application: Mapped[Application] = relationship()
    milestones: Mapped[list[Milestone]] = relationship(back_populates="contract", cascade="all, delete-orphan",
                                                       order_by="Milestone.due_on")
    progress: Mapped[list[ProgressNote]] = relationship(back_populates="contract", cascade="all, delete-orphan",
                                                        order_by="ProgressNote.created_at.desc()")


class Milestone(TimestampMixin, Base):
    """A contract milestone with its due date and whether it was met."""

    __tablename__ = "milestones"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    contract_id: Mapped[int] = mapped_column(ForeignKey("contracts.id", ondelete="CASCADE"), nullable=False,
                                             index=True)
    title: Mapped[str] = mapped_column(String(200), nullable=False)
    #: Planned completion date (local), not before the contract's signing.
    due_on: Mapped[date] = mapped_column(Date, nullable=False)
    status: Mapped[MilestoneStatus] = mapped_column(StrEnumType(MilestoneStatus), nullable=False,
                                                    default=MilestoneStatus.PENDING)
    #: Required when the milestone was not met: the cause and the rework agreed.
    note: Mapped[str | None] = mapped_column(Text)
    #: When the owner recorded the outcome (None while pending).
    recorded_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    contract: Mapped[Contract] = relationship(back_populates="milestones")


class ProgressNote(CreatedAtMixin, Base):
    """A dated progress report recorded by the owner (written once; ``created_at`` is its date)."""

    __tablename__ = "progress_notes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    contract_id: Mapped[int] = mapped_column(ForeignKey("contracts.id", ondelete="CASCADE"), nullable=False,
                                             index=True)
    text: Mapped[str] = mapped_column(Text, nullable=False)
    #: Share of the work done, 0–100 (optional).
    percent: Mapped[int | None] = mapped_column(Integer)

    contract: Mapped[Contract] = relationship(back_populates="progress")


class Acceptance(CreatedAtMixin, Base):
    """验收: one acceptance of a delivered scenario by its owner, kept as written.

    A failed acceptance keeps the scenario in delivery; the owner accepts again after the rework,
    which adds a row. The scenario's acceptance is its latest row (``created_at``, then ``id``);
    :attr:`attempts` lists them all.
    """

    __tablename__ = "acceptances"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    scenario_id: Mapped[int] = mapped_column(ForeignKey("scenarios.id"), nullable=False, index=True)
    #: Acceptance date (local), not before the latest contract's signing and not in the future.
    accepted_on: Mapped[date] = mapped_column(Date, nullable=False)
    result: Mapped[AcceptanceResult] = mapped_column(StrEnumType(AcceptanceResult), nullable=False)
    #: The signed acceptance report (PDF/DOCX); required when passed.
    report_id: Mapped[int | None] = mapped_column(ForeignKey("attachments.id"))
    #: 验收意见; when failed, the problems and the rework required.
    note: Mapped[str] = mapped_column(Text, nullable=False, default="")
    #: The owner user who recorded it.
    recorded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    scenario: Mapped[Scenario] = relationship()
    report: Mapped[Attachment | None] = relationship()
    recorded_by: Mapped[User | None] = relationship()
    #: Every acceptance of the same scenario, this one included, latest first (read-only).
    attempts: Mapped[list[Acceptance]] = relationship(
        primaryjoin=lambda: foreign(remote(Acceptance.scenario_id)) == Acceptance.scenario_id,
        order_by=lambda: (Acceptance.created_at.desc(), Acceptance.id.desc()), viewonly=True)
