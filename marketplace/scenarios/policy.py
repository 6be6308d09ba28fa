"""Who may see and act on scenarios — used by pages, exports, the API, search and attachments alike.

Visibility is expressed as SQL clauses so that every list filters inside the query.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import Session

from marketplace.models import (
    Application,
    ApplicationStatus,
    Attachment,
    AttachmentPurpose,
    Role,
    Scenario,
    ScenarioDocument,
    ScenarioStatus,
    User,
)

#: Applications in these statuses were never made as far as anyone but the firm is concerned.
UNSUBMITTED_APPLICATIONS = (ApplicationStatus.DRAFT, ApplicationStatus.WITHDRAWN)


def promised_until(session: Session | None, scenario: Scenario):
    """The latest deadline a submitted (not withdrawn) application of the scenario was promised, or None.

    ``Application.sealed_until`` holds the deadline each was submitted or re-confirmed under; the
    deadline rules (``scenarios.services.earliest_deadline``) and the sealing rule
    (``applications.policy.seal_ends``) both start from it.
    """
    if session is None or scenario.id is None:
        return None
    return session.execute(sa.select(sa.func.max(Application.sealed_until)).where(
        Application.scenario_id == scenario.id, Application.status.not_in(UNSUBMITTED_APPLICATIONS))).scalar_one()


def has_submitted_applications(session: Session, scenario: Scenario) -> bool:
    """Whether any firm has a submitted (not withdrawn) application for the scenario."""
    if scenario.id is None:
        return False
    return session.execute(sa.select(Application.id).where(
        Application.scenario_id == scenario.id,
        Application.status.not_in(UNSUBMITTED_APPLICATIONS)).limit(1)).first() is not None


#: Statuses reviewing staff see besides the public ones.
REVIEW_STATUSES = (ScenarioStatus.SUBMITTED, ScenarioStatus.RETURNED, ScenarioStatus.WITHDRAWN)


def is_owner_member(user: User | None, scenario: Scenario) -> bool:
    """An owner user of the scenario's owner organisation."""
    return (user is not None and user.is_authenticated and user.role == Role.OWNER
            and user.organisation_id == scenario.owner_id)


def is_reviewer(user: User | None, scenario: Scenario) -> bool:
    """City staff, or district staff of the scenario's district."""
    if user is None or not user.is_authenticated:
        return False
    if user.role == Role.CITY_STAFF:
        return True
    return user.role == Role.DISTRICT_STAFF and user.district_id == scenario.district_id


def can_view(user: User | None, scenario: Scenario) -> bool:
    """Public scenarios for everyone; drafts for the owner; review states for owner and reviewers."""
    if scenario.status in ScenarioStatus.public():
        return True
    if is_owner_member(user, scenario):
        return True
    if scenario.status == ScenarioStatus.DRAFT and user is not None and user.is_authenticated:
        # Staff who imported a list see the drafts they created for the owners.
        return scenario.created_by_id == user.id and is_reviewer(user, scenario)
    return scenario.status in REVIEW_STATUSES and is_reviewer(user, scenario)


def visible_clause(user: User | None) -> sa.ColumnElement[bool]:
    """SQL condition equivalent to :func:`can_view` for ``user``."""
    public = Scenario.status.in_(ScenarioStatus.public())
    if user is None or not user.is_authenticated:
        return public
    clauses = [public]
    if user.role == Role.OWNER and user.organisation_id:
        clauses.append(Scenario.owner_id == user.organisation_id)
    if user.role in (Role.CITY_STAFF, Role.DISTRICT_STAFF):
        clauses.append(sa.and_(Scenario.status == ScenarioStatus.DRAFT, Scenario.created_by_id == user.id))
    if user.role == Role.CITY_STAFF:
        clauses.append(Scenario.status.in_(REVIEW_STATUSES))
    elif user.role == Role.DISTRICT_STAFF and user.district_id:
        clauses.append(sa.and_(Scenario.status.in_(REVIEW_STATUSES), Scenario.district_id == user.district_id))
    return sa.or_(*clauses)


def public_clause() -> sa.ColumnElement[bool]:
    """Published-and-later scenarios only (open data, exports, the API, search)."""
    return Scenario.status.in_(ScenarioStatus.public())


def was_public_withdrawn(scenario: Scenario) -> bool:
    """Withdrawn after it had been published: it leaves a public trace (its own page with the withdrawal
    notice, its OCDS record ending ``cancelled``) but is in no list, search, count or statistic."""
    return scenario.status == ScenarioStatus.WITHDRAWN and scenario.published_at is not None


def was_public_withdrawn_clause() -> sa.ColumnElement[bool]:
    """SQL twin of :func:`was_public_withdrawn` (open data adds it to :func:`public_clause`; lists never do)."""
    return sa.and_(Scenario.status == ScenarioStatus.WITHDRAWN, Scenario.published_at.is_not(None))


def open_data_clause() -> sa.ColumnElement[bool]:
    """Scenarios with an OCDS contracting process: the public ones and those withdrawn after publication."""
    return sa.or_(public_clause(), was_public_withdrawn_clause())


def can_view_page(user: User | None, scenario: Scenario) -> bool:
    """The scenario's own page: :func:`can_view`, and for everyone the public trace of a scenario
    withdrawn after publication (the withdrawal notice; no action on it)."""
    return can_view(user, scenario) or was_public_withdrawn(scenario)


def sees_internal_documents(user: User | None, scenario: Scenario) -> bool:
    """The owner organisation, and the reviewing staff who may see the scenario, see its internal documents."""
    return is_owner_member(user, scenario) or (is_reviewer(user, scenario) and can_view(user, scenario))


def can_download_document(user: User | None, document: ScenarioDocument) -> bool:
    """A published (公开) document of a public scenario, or of one withdrawn after publication (its page and
    its OCDS releases keep listing it): anyone; an internal one: owner and reviewers."""
    scenario = document.scenario
    return (document.public and (scenario.is_public or was_public_withdrawn(scenario))) or \
        sees_internal_documents(user, scenario)


def scenario_files_rule(user: User | None, attachment: Attachment, session: Session) -> bool:
    """Funding evidence: owner and reviewers only. Scenario documents: :func:`can_download_document`."""

    if attachment.purpose == AttachmentPurpose.FUNDING_EVIDENCE:
        scenarios = session.execute(sa.select(Scenario).where(Scenario.funding_evidence_id == attachment.id)).scalars()
        return any(is_owner_member(user, s) or is_reviewer(user, s) for s in scenarios)
    documents = session.execute(
        sa.select(ScenarioDocument).where(ScenarioDocument.attachment_id == attachment.id)).scalars()
    return any(can_download_document(user, d) for d in documents)
