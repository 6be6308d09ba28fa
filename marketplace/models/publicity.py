"""公示 (public notice of a proposed award) and 异议 (objections filed during it).

The finality rule lives here as SQL (:func:`final_award_clause`) so that every area that
counts awards (statistics, appraisal, open data, showcase) can filter with it without
importing the applications area; :mod:`marketplace.applications.publicity` states the rule
and applies it in Python with the same definition.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy import JSON, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, Session, mapped_column, relationship

from marketplace.models.accounts import Organisation, User
from marketplace.models.attachments import Attachment
from marketplace.models.base import Base, LabelledEnum, StrEnumType, TimestampMixin, UTCDateTime
from marketplace.models.scenarios import Scenario, ScenarioStatus


class ObjectionDecision(LabelledEnum):
    """The reviewing staff's decision on an objection.

    ``CLOSED`` is never chosen by staff: it closes the other undecided objections of a notice withdrawn
    because one objection was upheld (there is no award left to object to).
    """

    UPHELD = "upheld"
    DISMISSED = "dismissed"
    CLOSED = "closed"

    @staticmethod
    def __labels__() -> dict:
        return {"upheld": _l("异议成立"), "dismissed": _l("异议不成立"), "closed": _l("公示已撤销，不再处理")}

    @classmethod
    def staff_choices(cls) -> tuple[ObjectionDecision, ...]:
        """The decisions deciding staff choose between."""
        return (cls.UPHELD, cls.DISMISSED)


class PublicityNotice(TimestampMixin, Base):
    """The public notice (公示) an award opens: winners, amounts, scores and ranks, the panel, the period.

    Holds a snapshot taken at award time — never application content — so the notice reads the
    same whatever happens to the applications later. ``prior_statuses`` lets an upheld objection
    put every application back where it was before the award.
    """

    __tablename__ = "publicity_notices"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    scenario_id: Mapped[int] = mapped_column(ForeignKey("scenarios.id", ondelete="CASCADE"), nullable=False,
                                             index=True)
    #: When the award was made and the notice opened.
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    #: ``starts_at`` + ``PUBLICITY_DAYS`` calendar days (to the second).
    ends_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False, index=True)
    #: "city" when the scenario is on a city list (city staff decide objections), else "district".
    level: Mapped[str] = mapped_column(String(16), nullable=False, default="district")
    #: [{"application_id", "firm", "amount_wan", "score"}, …] — the proposed winner(s).
    winners: Mapped[list[dict[str, Any]]] = mapped_column(JSON, nullable=False, default=list)
    #: [{"firm", "score", "rank", "selected"}, …] — every evaluated applicant's weighted total and rank.
    ranking: Mapped[list[dict[str, Any]]] = mapped_column(JSON, nullable=False, default=list)
    #: Names of the experts who scored (recused experts are not listed).
    panel: Mapped[list[str]] = mapped_column(JSON, nullable=False, default=list)
    #: {application_id: status before the award}, restored when an objection is upheld.
    prior_statuses: Mapped[dict[str, str]] = mapped_column(JSON, nullable=False, default=dict)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    #: Set when an upheld objection withdrew the notice (the award with it).
    withdrawn_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    #: Public reason for the withdrawal.
    withdrawn_reason: Mapped[str | None] = mapped_column(Text)

    scenario: Mapped[Scenario] = relationship()
    created_by: Mapped[User | None] = relationship()
    objections: Mapped[list[Objection]] = relationship(back_populates="notice", order_by="Objection.id",
                                                       cascade="all, delete-orphan")


class Objection(TimestampMixin, Base):
    """An 异议 filed by a signed-in enterprise user during a notice; the objector is never shown publicly."""

    __tablename__ = "objections"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    notice_id: Mapped[int] = mapped_column(ForeignKey("publicity_notices.id", ondelete="CASCADE"), nullable=False,
                                           index=True)
    objector_id: Mapped[int] = mapped_column(ForeignKey("users.id"), nullable=False, index=True)
    #: The objector's firm at filing time.
    organisation_id: Mapped[int | None] = mapped_column(ForeignKey("organisations.id"))
    #: 异议理由 (at least 20 characters).
    grounds: Mapped[str] = mapped_column(Text, nullable=False)
    #: The owner's answer (答复).
    answer: Mapped[str | None] = mapped_column(Text)
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    answered_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    #: None while undecided; an undecided objection keeps the award from becoming final.
    decision: Mapped[ObjectionDecision | None] = mapped_column(StrEnumType(ObjectionDecision))
    decision_reason: Mapped[str | None] = mapped_column(Text)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    notice: Mapped[PublicityNotice] = relationship(back_populates="objections")
    objector: Mapped[User] = relationship(foreign_keys=[objector_id])
    organisation: Mapped[Organisation | None] = relationship()
    answered_by: Mapped[User | None] = relationship(foreign_keys=[answered_by_id])
    decided_by: Mapped[User | None] = relationship(foreign_keys=[decided_by_id])
    documents: Mapped[list[ObjectionDocument]] = relationship(back_populates="objection",
                                                              cascade="all, delete-orphan")


class ObjectionDocument(Base):
    """Evidence attached to an objection; a link row, timed by its attachment."""

    __tablename__ = "objection_documents"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    objection_id: Mapped[int] = mapped_column(ForeignKey("objections.id", ondelete="CASCADE"), nullable=False,
                                              index=True)
    attachment_id: Mapped[int] = mapped_column(ForeignKey("attachments.id"), nullable=False)

    objection: Mapped[Objection] = relationship(back_populates="documents")
    attachment: Mapped[Attachment] = relationship()


#: Stored statuses of a scenario whose winner has been chosen (final or still in 公示).
AWARDED_OR_LATER = (ScenarioStatus.AWARDED, ScenarioStatus.IN_DELIVERY, ScenarioStatus.ACCEPTED)


def pending_notice_clause(now: datetime, scenario_id: Any = None) -> sa.ColumnElement[bool]:
    """A live (not withdrawn) notice of the scenario that is running, or ended with an undecided objection."""
    undecided = sa.exists().where(Objection.notice_id == PublicityNotice.id, Objection.decision.is_(None))
    return sa.exists().where(
        PublicityNotice.scenario_id == (Scenario.id if scenario_id is None else scenario_id),
        PublicityNotice.withdrawn_at.is_(None),
        sa.or_(PublicityNotice.ends_at > now, undecided))


def publicity_until(notices: Iterable[PublicityNotice], until_decided: datetime) -> datetime | None:
    """Until when an award with these live (not withdrawn) *notices* is in 公示, the rule of
    :func:`pending_notice_clause` without the clock: the end of its notice, *until_decided* while an objection
    on it is undecided, ``None`` without a live notice."""
    notices = list(notices)
    if any(objection.decision is None for notice in notices for objection in notice.objections):
        return until_decided
    return max((notice.ends_at for notice in notices), default=None)


def read_publicity_until(session: Session, scenario_id: int, until_decided: datetime) -> datetime | None:
    """:func:`publicity_until` of the scenario as the database holds it now (one query; collections loaded
    earlier in the transaction are not trusted)."""
    undecided = sa.exists().where(Objection.notice_id == PublicityNotice.id, Objection.decision.is_(None))
    rows = session.execute(sa.select(PublicityNotice.ends_at, undecided).where(
        PublicityNotice.scenario_id == scenario_id, PublicityNotice.withdrawn_at.is_(None))).all()
    if any(pending for _ends, pending in rows):
        return until_decided
    return max((ends for ends, _pending in rows), default=None)


def final_award_clause(now: datetime) -> sa.ColumnElement[bool]:
    """SQL for "the scenario's award is final": awarded or later, and no pending notice."""
    return sa.and_(Scenario.status.in_(AWARDED_OR_LATER), ~pending_notice_clause(now))
