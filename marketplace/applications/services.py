"""揭榜 applications read, sealed: lists, counts, the scenario page's box, workspace panels.

Every page, export, attachment download and API call reads applications through
:func:`readable_query` / :func:`readable_applications` / :func:`get_readable`, which
filter with :func:`marketplace.applications.policy.readable_clause` inside the query.
Before the deadline only the applying firm gets rows back; everyone else may see the
count (:func:`public_count`). The firm's writes (apply, revise, withdraw, re-confirm) live
in :mod:`marketplace.applications.submission`.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from flask_babel import gettext as _
from sqlalchemy.orm import Session, object_session

from marketplace import clock
from marketplace.applications import policy
from marketplace.errors import NotFound
from marketplace.models import (
    Application,
    ApplicationDocument,
    ApplicationStatus,
    Attachment,
    ExpertAssignment,
    OrganisationKind,
    Role,
    Scenario,
    ScenarioStatus,
    User,
)
from marketplace.scenarios import policy as scenario_policy

#: Drafts whose scenario closes within this window are listed as "needs action".
DRAFT_WARNING = timedelta(days=7)


def deadline_text(scenario: Scenario) -> str:
    """The deadline in Beijing time, to the second."""
    return clock.to_local(scenario.deadline).strftime("%Y-%m-%d %H:%M:%S") if scenario.deadline else "—"



# ------------------------------------------------------------------ reading (sealed)

def readable_query(user: User | None, scenario: Scenario | int | None = None,
                   now: datetime | None = None) -> sa.Select:
    """``SELECT Application`` rows this user may read (joined to ``Scenario``), newest submission first.

    Other areas add their own filters/ordering to the returned statement; they must not
    drop the ``where`` this adds.
    """
    query = (sa.select(Application).join(Application.scenario)
             .where(policy.readable_clause(user, now))
             .order_by(Application.submitted_at.asc().nulls_last(), Application.id))
    if scenario is not None:
        scenario_id = scenario if isinstance(scenario, int) else scenario.id
        query = query.where(Application.scenario_id == scenario_id)
    return query


def readable_applications(session: Session, user: User | None, scenario: Scenario | int | None = None,
                          now: datetime | None = None) -> list[Application]:
    """The applications this user may read (optionally of one scenario); empty while sealed for them."""
    return list(session.execute(readable_query(user, scenario, now)).scalars())


def get_readable(session: Session, user: User | None, application_id: int) -> Application:
    """One application, if this user may read it; :class:`NotFound` otherwise (never 'exists but sealed')."""
    application = session.execute(
        readable_query(user).where(Application.id == application_id)).scalar_one_or_none()
    if application is None:
        raise NotFound(_("找不到该揭榜申请。"))
    return application


def public_count(session: Session, scenario: Scenario | int) -> int:
    """How many firms have applied (submitted or later, not withdrawn) — may be shown to anyone."""
    scenario_id = scenario if isinstance(scenario, int) else scenario.id
    return session.execute(sa.select(sa.func.count(Application.id)).where(
        Application.scenario_id == scenario_id, policy.count_clause())).scalar_one()


def public_counts(session: Session, scenario_ids: Iterable[int]) -> dict[int, int]:
    """:func:`public_count` for many scenarios at once (missing ids count 0)."""
    ids = list(scenario_ids)
    if not ids:
        return {}
    rows = session.execute(
        sa.select(Application.scenario_id, sa.func.count(Application.id))
        .where(Application.scenario_id.in_(ids), policy.count_clause())
        .group_by(Application.scenario_id)).all()
    counts = dict.fromkeys(ids, 0)
    counts.update(dict(rows))
    return counts


def firm_applications(session: Session, user: User) -> list[Application]:
    """Every application of the user's firm (all statuses), most recently changed first."""
    if user.role != Role.ENTERPRISE or user.organisation_id is None:
        return []
    return list(session.execute(
        readable_query(user).order_by(None).order_by(Application.updated_at.desc(), Application.id.desc())
    ).scalars())


def live_application(session: Session, organisation_id: int | None, scenario_id: int,
                     lock: bool = False) -> Application | None:
    """The firm's one live (not withdrawn) application for a scenario, if any.

    Firm-internal: callers pass the acting firm's own organisation id.
    """
    if organisation_id is None:
        return None
    query = sa.select(Application).where(Application.scenario_id == scenario_id,
                                         Application.organisation_id == organisation_id,
                                         Application.status != ApplicationStatus.WITHDRAWN)
    if lock:
        query = query.with_for_update().execution_options(populate_existing=True)
    return session.execute(query).scalar_one_or_none()


def last_withdrawn(session: Session, organisation_id: int | None, scenario_id: int) -> Application | None:
    """The firm's most recently withdrawn application for a scenario (its texts refill a new application).

    Firm-internal: callers pass the acting firm's own organisation id.
    """
    if organisation_id is None:
        return None
    return session.execute(
        sa.select(Application).where(Application.scenario_id == scenario_id,
                                     Application.organisation_id == organisation_id,
                                     Application.status == ApplicationStatus.WITHDRAWN)
        .order_by(Application.updated_at.desc(), Application.id.desc()).limit(1)).scalar_one_or_none()


def can_list(user: User | None, scenario: Scenario) -> bool:
    """Who may open a scenario's application list (it shows only the count while sealed).

    The owner organisation, its reviewers (district staff of the scenario's district, city
    staff) and experts assigned to the scenario.
    """
    if user is None or not user.is_authenticated:
        return False
    if scenario_policy.is_owner_member(user, scenario) or scenario_policy.is_reviewer(user, scenario):
        return True
    if user.role == Role.EXPERT:
        session = object_session(scenario)
        return session is not None and session.execute(
            sa.select(ExpertAssignment.id).where(ExpertAssignment.scenario_id == scenario.id,
                                                 ExpertAssignment.expert_id == user.id)).first() is not None
    return False


def can_use_api(user: User | None, scenario: Scenario) -> bool:
    """The JSON list is for the owner organisation, its district staff and city staff."""
    return scenario_policy.is_owner_member(user, scenario) or scenario_policy.is_reviewer(user, scenario)


def is_firm_user(user: User | None) -> bool:
    """An enterprise user of an active software firm."""
    return (user is not None and user.is_authenticated and user.role == Role.ENTERPRISE
            and user.organisation is not None and user.organisation.active
            and user.organisation.kind == OrganisationKind.SOFTWARE_ENTERPRISE)


def can_apply(user: User | None, scenario: Scenario, now: datetime | None = None) -> bool:
    """A firm user, on a published scenario before its deadline (create or edit the live application)."""
    return is_firm_user(user) and scenario.is_open(now)


def fingerprint(application: Application) -> str:
    """SHA-256 over the application's content and documents: the receipt number, and what the audit log keeps.

    The audit log never holds sealed content (price, texts), only this digest.
    """
    content = {
        "summary": application.summary, "approach": application.approach, "team": application.team,
        "price_wan": f"{application.price_wan:.2f}" if application.price_wan is not None else None,
        "plan": application.plan, "milestones": application.milestones,
        "declarations": [application.declares_meets_requirements, application.declares_no_conflict],
        "documents": sorted(d.attachment.sha256 for d in application.documents),
    }
    return hashlib.sha256(json.dumps(content, ensure_ascii=False, sort_keys=True).encode("utf-8")).hexdigest()



def receipt_for(session: Session, user: User | None, application_id: int) -> Application:
    """The application whose receipt (回执) this user may see: the applying firm, and the owner and
    reviewing staff once the application is unsealed for them (:func:`get_readable`); never experts.
    Only submitted applications have a receipt."""
    application = get_readable(session, user, application_id)
    if application.submitted_at is None or (user is not None and user.role == Role.EXPERT):
        raise NotFound(_("找不到该揭榜申请的回执。"))
    return application


def receipt_number(application: Application) -> str:
    """The receipt number: the first 16 hex digits of the content fingerprint (as in the receipt notification)."""
    return fingerprint(application)[:16]


# ------------------------------------------------------------------ attachments

def document_rule(user: User | None, attachment: Attachment, session: Session) -> bool:
    """An application document downloads only for those who may read its application (sealed in SQL)."""
    return session.execute(
        readable_query(user).order_by(None).join(Application.documents)
        .where(ApplicationDocument.attachment_id == attachment.id).limit(1)
    ).first() is not None


# ------------------------------------------------------------------ pages and panels

def scenario_panel(session: Session, user: User | None, scenario: Scenario) -> dict[str, Any]:
    """What the 揭榜 box on the scenario page shows: the public count, the firm's own state, links."""
    now = clock.now()
    own = None
    if user is not None and user.is_authenticated and user.role == Role.ENTERPRISE:
        own = live_application(session, user.organisation_id, scenario.id)
    return {
        "count": public_count(session, scenario),
        "sealed": policy.is_sealed(scenario, now),
        "open": scenario.is_open(now),
        "deadline_passed": scenario.deadline is not None and scenario.deadline <= now,
        "deadline": deadline_text(scenario),
        "own": own,
        "can_apply": can_apply(user, scenario, now),
        "is_firm": is_firm_user(user),
        "can_list": can_list(user, scenario),
    }


def owner_list_context(session: Session, user: User, scenario: Scenario) -> dict[str, Any]:
    """Context of the owner/reviewer/expert list: the count always, the rows only once opened (in SQL)."""
    sealed = policy.is_sealed(scenario)
    return {"sealed": sealed, "count": public_count(session, scenario), "deadline": deadline_text(scenario),
            "applications": readable_applications(session, user, scenario)}


def enterprise_panel(session: Session, user: User) -> dict[str, Any]:
    """Workspace: the firm's applications and what needs doing (re-confirm, drafts near the deadline)."""
    now = clock.now()
    applications = firm_applications(session, user)
    actions = []
    for a in applications:
        open_now = a.scenario.is_open(now)
        if a.needs_reconfirmation:
            actions.append((a, "reconfirm" if open_now else "reconfirm_wait"))
        elif (a.status == ApplicationStatus.DRAFT and open_now and a.scenario.deadline is not None
              and a.scenario.deadline - now <= DRAFT_WARNING):
            actions.append((a, "draft_due"))
        elif a.status == ApplicationStatus.DRAFT and open_now:
            actions.append((a, "draft"))
    return {"applications": applications[:10], "total": len(applications), "actions": actions, "now": now}


def owner_panel(session: Session, user: User) -> dict[str, Any]:
    """Workspace: the organisation's scenarios with application counts (count only) and what needs action."""
    now = clock.now()
    scenarios = list(session.execute(
        sa.select(Scenario).where(Scenario.owner_id == user.organisation_id,
                                  Scenario.status != ScenarioStatus.DRAFT)
        .order_by(Scenario.deadline.desc().nulls_last(), Scenario.id.desc())).scalars())
    counts = public_counts(session, [s.id for s in scenarios])
    actions = []
    for s in scenarios:
        status = s.display_status(now)
        if status == ScenarioStatus.CLOSED:
            actions.append((s, "evaluate" if counts[s.id] else "no_applications"))
        elif status == ScenarioStatus.SUBMITTED:
            actions.append((s, "in_review"))
        elif status == ScenarioStatus.RETURNED:
            actions.append((s, "returned"))
    return {"scenarios": scenarios[:10], "total": len(scenarios), "counts": counts, "actions": actions,
            "now": now}
