"""Who may do what with selection rounds, nominations and demonstration media.

Nothing of a round is public until it is published, and then only its demonstrations are:
nominations, expert assignments and scores stay with city staff, the nominating side and the
assigned experts.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import Session

from marketplace.models import (
    Attachment,
    Demonstration,
    Nomination,
    NominationExpert,
    Role,
    Scenario,
    ScenarioStatus,
    User,
    demonstration_media,
    nomination_media,
)


def _signed_in(user: User | None) -> bool:
    return user is not None and user.is_authenticated


def is_city_staff(user: User | None) -> bool:
    """City staff run the selection rounds."""
    return _signed_in(user) and user.role == Role.CITY_STAFF


def speaks_for(user: User | None, scenario: Scenario) -> bool:
    """An owner user of the scenario's organisation, or district staff of the scenario's district."""
    if not _signed_in(user):
        return False
    if user.role == Role.OWNER:
        return user.organisation_id is not None and user.organisation_id == scenario.owner_id
    if user.role == Role.DISTRICT_STAFF:
        return user.district_id is not None and user.district_id == scenario.district_id
    return False


def can_nominate(user: User | None, scenario: Scenario) -> bool:
    """Owners nominate their organisation's accepted scenarios; district staff their district's."""
    return scenario.status == ScenarioStatus.ACCEPTED and speaks_for(user, scenario)


def nominable_clause(user: User) -> sa.ColumnElement[bool]:
    """SQL twin of :func:`can_nominate` on ``Scenario``."""
    accepted = Scenario.status == ScenarioStatus.ACCEPTED
    if user.role == Role.OWNER and user.organisation_id:
        return sa.and_(accepted, Scenario.owner_id == user.organisation_id)
    if user.role == Role.DISTRICT_STAFF and user.district_id:
        return sa.and_(accepted, Scenario.district_id == user.district_id)
    return sa.false()


def is_assigned_expert(user: User | None, nomination: Nomination) -> bool:
    """An expert assigned to review this nomination."""
    return (_signed_in(user) and user.role == Role.EXPERT
            and any(a.expert_id == user.id for a in nomination.experts))


def can_view_nomination(user: User | None, nomination: Nomination) -> bool:
    """City staff; the nominating side (owner organisation, district staff); the experts assigned to it."""
    return (is_city_staff(user) or speaks_for(user, nomination.scenario) or is_assigned_expert(user, nomination))


def media_rule(user: User | None, attachment: Attachment, session: Session) -> bool:
    """Demonstration media: public once on a published case; before that, as the nomination itself."""
    on_case = session.execute(
        sa.select(sa.func.count()).select_from(demonstration_media.join(Demonstration))
        .where(demonstration_media.c.attachment_id == attachment.id)
    ).scalar_one()
    if on_case:
        return True
    if not _signed_in(user):
        return False
    if attachment.uploaded_by_id == user.id:
        return True
    nominations = session.execute(
        sa.select(Nomination).join(nomination_media).where(nomination_media.c.attachment_id == attachment.id)
    ).scalars()
    return any(can_view_nomination(user, n) for n in nominations)


def expert_assignments_query(user: User) -> sa.Select:
    """The user's nomination assignments (none for non-experts)."""
    query = sa.select(NominationExpert).where(NominationExpert.expert_id == user.id)
    if user.role != Role.EXPERT:
        query = query.where(sa.false())
    return query
