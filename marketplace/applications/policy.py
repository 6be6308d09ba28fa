"""Sealing: before a scenario's deadline nobody but the applying firm reads an application.

The rule is expressed once as a SQL clause (:func:`readable_clause`) so that every
page, export, attachment download and API call filters inside the query; the
Python twin :func:`can_read` serves object checks and must agree with it.
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa

from marketplace import clock
from marketplace.models import (
    Application,
    ApplicationStatus,
    ExpertAssignment,
    Role,
    Scenario,
    User,
)


def is_sealed(scenario: Scenario, now: datetime | None = None) -> bool:
    """True until the application deadline has passed."""
    return scenario.deadline is None or (now or clock.now()) < scenario.deadline


def is_applicant(user: User | None, application: Application) -> bool:
    return (user is not None and user.is_authenticated and user.role == Role.ENTERPRISE
            and user.organisation_id == application.organisation_id)


def can_read(user: User | None, application: Application, now: datetime | None = None) -> bool:
    """The firm always; after the deadline the owner, its reviewers and declared experts (never drafts)."""
    if is_applicant(user, application):
        return True
    if user is None or not user.is_authenticated:
        return False
    if application.status == ApplicationStatus.DRAFT or is_sealed(application.scenario, now):
        return False
    scenario = application.scenario
    if user.role == Role.OWNER:
        return user.organisation_id == scenario.owner_id
    if user.role == Role.CITY_STAFF:
        return True
    if user.role == Role.DISTRICT_STAFF:
        return user.district_id == scenario.district_id
    if user.role == Role.EXPERT:
        return any(a.expert_id == user.id and a.declared_at is not None and not a.recused
                   for a in _assignments(application))
    return False


def _assignments(application: Application) -> list[ExpertAssignment]:
    from sqlalchemy.orm import object_session

    session = object_session(application)
    if session is None:
        return []
    return list(session.execute(
        sa.select(ExpertAssignment).where(ExpertAssignment.scenario_id == application.scenario_id)).scalars())


def readable_clause(user: User | None, now: datetime | None = None) -> sa.ColumnElement[bool]:
    """SQL condition on ``Application`` (joined to ``Scenario``) equivalent to :func:`can_read`.

    Queries must join ``Application.scenario`` (``sa.select(Application).join(Application.scenario)``).
    """
    now = now or clock.now()
    if user is None or not user.is_authenticated:
        return sa.false()
    own = sa.and_(sa.literal(user.role == Role.ENTERPRISE), Application.organisation_id == user.organisation_id)
    unsealed = sa.and_(Application.status != ApplicationStatus.DRAFT, Scenario.deadline.is_not(None),
                       Scenario.deadline <= now)
    if user.role == Role.OWNER:
        other = sa.and_(unsealed, Scenario.owner_id == user.organisation_id)
    elif user.role == Role.CITY_STAFF:
        other = unsealed
    elif user.role == Role.DISTRICT_STAFF:
        other = sa.and_(unsealed, Scenario.district_id == user.district_id)
    elif user.role == Role.EXPERT:
        declared = sa.select(ExpertAssignment.scenario_id).where(
            ExpertAssignment.expert_id == user.id, ExpertAssignment.declared_at.is_not(None),
            ExpertAssignment.recused.is_(False))
        other = sa.and_(unsealed, Application.scenario_id.in_(declared))
    else:
        other = sa.false()
    if user.role == Role.ENTERPRISE:
        return own
    return other


def count_clause() -> sa.ColumnElement[bool]:
    """Applications that count publicly ("N 家企业已揭榜"): submitted or later, never withdrawn or drafts."""
    return Application.status.not_in((ApplicationStatus.DRAFT, ApplicationStatus.WITHDRAWN))
