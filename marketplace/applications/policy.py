"""Sealing: nobody but the applying firm reads an application before sealing ends.

**The sealing rule.** An application is sealed until the *latest* of the deadlines it was
submitted or re-confirmed under (``Application.sealed_until``) and the scenario's current
deadline. Nothing anyone does can open it earlier than the firm was promised: an owner who
shortens the deadline (and a reviewer who re-publishes it) only moves the scenario's deadline,
never ``sealed_until``. A scenario's applications open together: the scenario stays sealed while
any of its submitted applications is (:func:`seal_ends`), so no bid is read before another.

The rule is defined once, by :func:`seal_ends` (Python) and its SQL twin :func:`unsealed_clause`;
every page, export, attachment download, API call, evaluation page and open-data release reads
applications through :func:`readable_clause` / :func:`can_read` / :func:`is_sealed`, which use them.

An application is *opened* to others only when all of these hold:

- sealing has ended (``seal_ends(scenario) <= now``, compared in UTC);
- the scenario is in a public status (published-and-closed or later). A scenario
  sent back to review after a substantive edit, or withdrawn, stays sealed even if
  its deadline passes: otherwise an owner could move the deadline into the past
  while the scenario sits in re-review and read the bids early;
- the application was actually submitted: drafts and withdrawn applications are
  never read by anyone but the firm (a withdrawn bid counts as never made).
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import aliased, object_session

from marketplace import clock
from marketplace.models import (
    Application,
    ExpertAssignment,
    Role,
    Scenario,
    ScenarioStatus,
    User,
)
from marketplace.scenarios import policy as scenario_policy

#: Applications in these statuses are never read by anyone but the applying firm.
PRIVATE_STATUSES = scenario_policy.UNSUBMITTED_APPLICATIONS


def seal_ends(scenario: Scenario) -> datetime | None:
    """When the scenario's applications open: the latest of its deadline and every promised deadline.

    None while the scenario has no deadline (sealed).
    """
    if scenario.deadline is None:
        return None
    promised = scenario_policy.promised_until(object_session(scenario), scenario)
    return max(scenario.deadline, promised) if promised is not None else scenario.deadline


def is_sealed(scenario: Scenario, now: datetime | None = None) -> bool:
    """True until sealing has ended (:func:`seal_ends`) on a scenario that is published (closed) or later."""
    if scenario.status not in ScenarioStatus.public():
        return True
    ends = seal_ends(scenario)
    return ends is None or (now or clock.now()) < ends


def is_applicant(user: User | None, application: Application) -> bool:
    return (user is not None and user.is_authenticated and user.role == Role.ENTERPRISE
            and user.organisation_id is not None and user.organisation_id == application.organisation_id)


def can_read(user: User | None, application: Application, now: datetime | None = None) -> bool:
    """The firm always; after the deadline the owner, its reviewers and declared experts (never drafts)."""
    if is_applicant(user, application):
        return True
    if user is None or not user.is_authenticated:
        return False
    if application.status in PRIVATE_STATUSES or is_sealed(application.scenario, now):
        return False
    scenario = application.scenario
    if user.role == Role.OWNER:
        return user.organisation_id is not None and user.organisation_id == scenario.owner_id
    if user.role == Role.CITY_STAFF:
        return True
    if user.role == Role.DISTRICT_STAFF:
        return user.district_id is not None and user.district_id == scenario.district_id
    if user.role == Role.EXPERT:
        return any(a.expert_id == user.id and a.declared_at is not None and not a.recused and a.removed_at is None
                   for a in _assignments(application))
    return False


def _assignments(application: Application) -> list[ExpertAssignment]:
    session = object_session(application)
    if session is None:
        return []
    return list(session.execute(
        sa.select(ExpertAssignment).where(ExpertAssignment.scenario_id == application.scenario_id)).scalars())


def unsealed_clause(now: datetime | None = None) -> sa.ColumnElement[bool]:
    """SQL condition on ``Scenario``: sealing has ended on a public scenario (twin of ``not is_sealed``).

    The deadline has passed and no submitted application of the scenario was promised a later one.
    """
    now = now or clock.now()
    other = aliased(Application)
    promised_later = (sa.select(other.id).where(other.scenario_id == Scenario.id,
                                                other.status.not_in(PRIVATE_STATUSES), other.sealed_until > now)
                      .correlate(Scenario))
    return sa.and_(Scenario.status.in_(ScenarioStatus.public()), Scenario.deadline.is_not(None),
                   Scenario.deadline <= now, ~promised_later.exists())


def readable_clause(user: User | None, now: datetime | None = None) -> sa.ColumnElement[bool]:
    """SQL condition on ``Application`` (joined to ``Scenario``) equivalent to :func:`can_read`.

    Queries must join ``Application.scenario`` (``sa.select(Application).join(Application.scenario)``).
    """
    if user is None or not user.is_authenticated:
        return sa.false()
    if user.role == Role.ENTERPRISE:
        if user.organisation_id is None:
            return sa.false()
        return Application.organisation_id == user.organisation_id
    opened = sa.and_(Application.status.not_in(PRIVATE_STATUSES), unsealed_clause(now))
    if user.role == Role.OWNER and user.organisation_id is not None:
        return sa.and_(opened, Scenario.owner_id == user.organisation_id)
    if user.role == Role.CITY_STAFF:
        return opened
    if user.role == Role.DISTRICT_STAFF and user.district_id is not None:
        return sa.and_(opened, Scenario.district_id == user.district_id)
    if user.role == Role.EXPERT:
        declared = sa.select(ExpertAssignment.scenario_id).where(
            ExpertAssignment.expert_id == user.id, ExpertAssignment.declared_at.is_not(None),
            ExpertAssignment.recused.is_(False), ExpertAssignment.removed_at.is_(None))
        return sa.and_(opened, Application.scenario_id.in_(declared))
    return sa.false()


def count_clause() -> sa.ColumnElement[bool]:
    """Applications that count publicly ("N 家企业已揭榜"): submitted or later, never withdrawn or drafts."""
    return Application.status.not_in(PRIVATE_STATUSES)
