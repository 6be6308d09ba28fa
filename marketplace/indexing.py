"""What the site search indexes: scenarios, verified firms and published demonstrations.

:mod:`marketplace.search` knows nothing about the models; this module tells it how to turn each
public record into a :class:`~marketplace.search.SearchDocument` (:func:`register_models`), which
and which related changes re-index which records. (The keyword filters of the scenario list,
the firm directory and the demonstration gallery ask :func:`marketplace.search.keyword_ids`.)

Only public records are indexed, using the same rules as the pages: scenarios in a public status
(:func:`marketplace.scenarios.policy.public_clause`), verified profiles of active firms
(:func:`marketplace.enterprises.policy.public_clause`, verified qualifications only) and published
demonstrations.  Sealed applications, drafts and questions are never indexed.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from flask import Flask
from flask_babel import force_locale
from sqlalchemy.orm import Session, object_session, selectinload

from marketplace import search
from marketplace.enterprises import policy as enterprise_policy
from marketplace.extensions import db
from marketplace.models import (
    Batch,
    Demonstration,
    EnterpriseProfile,
    Objection,
    Organisation,
    ProfileCase,
    PublicityNotice,
    Qualification,
    Scenario,
    ScenarioStatus,
)
from marketplace.models.publicity import publicity_until, read_publicity_until
from marketplace.scenarios import policy as scenario_policy

__all__ = ["configure_search", "count_public", "register_models"]

log = logging.getLogger("marketplace.search")

def _join(*parts: str | None) -> str:
    return "\n".join(p.strip() for p in parts if p and p.strip())


def _name(obj: Any) -> str | None:
    return obj.name if obj is not None else None


def _code(obj: Any) -> str | None:
    return obj.code if obj is not None else None


# ---------------------------------------------------------------------------- scenarios

def scenario_document(scenario: Scenario) -> search.SearchDocument:
    """The public text and facets of a scenario (contacts and funding evidence are never indexed)."""
    return search.SearchDocument(
        doc_type="scenario",
        doc_id=scenario.id,
        title=scenario.title,
        body=_join(scenario.summary, scenario.description, scenario.boundary, scenario.requirements,
                   scenario.acceptance, scenario.outcomes),
        extra=" ".join(filter(None, [
            _name(scenario.owner), _name(scenario.district), _name(scenario.domain), _name(scenario.theme),
            *(b.name for b in scenario.batches)])),
        district=_code(scenario.district),
        domain=_code(scenario.domain),
        status=scenario.status.value,
        batches=tuple(str(b.id) for b in scenario.batches),
        budget=float(scenario.budget_wan) if scenario.budget_wan is not None else None,
        published_at=scenario.published_at,
        deadline=scenario.deadline,
        theme=_code(scenario.theme),
        url=f"/scenarios/{scenario.id}",
        publicity_until=_publicity_until(scenario),
    )


def _publicity_until(scenario: Scenario) -> datetime | None:
    """When an awarded scenario's 公示 ends (the search shows 公示中 until then, 已揭榜 after, by the clock);
    open-ended while an objection is undecided.  Read only for awarded scenarios: in a reindex from the notices
    :func:`_scenarios` loads in bulk, after a change from the database as the transaction left it (one query)."""
    if scenario.status != ScenarioStatus.AWARDED:
        return None
    session = object_session(scenario)
    if "live_notices" in sa.inspect(scenario).unloaded and session is not None:
        return read_publicity_until(session, scenario.id, search.UNTIL_DECIDED)
    return publicity_until(scenario.live_notices, search.UNTIL_DECIDED)


def scenario_is_public(scenario: Scenario) -> bool:
    return scenario.status in ScenarioStatus.public()


def _scenarios() -> sa.Select[Any]:
    return (sa.select(Scenario).where(scenario_policy.public_clause()).order_by(Scenario.id)
            .options(selectinload(Scenario.owner), selectinload(Scenario.district), selectinload(Scenario.domain),
                     selectinload(Scenario.theme), selectinload(Scenario.batches),
                     selectinload(Scenario.live_notices).selectinload(PublicityNotice.objections)))


# ---------------------------------------------------------------------------- firms

def enterprise_document(profile: EnterpriseProfile) -> search.SearchDocument:
    """Public fields of a verified profile: no contacts, no evidence, verified qualifications only."""
    organisation = profile.organisation
    with force_locale("zh_CN"):  # labels in one language, whatever the committing request used
        qualifications = [str(q.label) for q in enterprise_policy.public_qualifications(profile)]
    return search.SearchDocument(
        doc_type="enterprise",
        doc_id=profile.id,
        title=organisation.name,
        body=_join(profile.business_scope, profile.capabilities, "、".join(profile.tag_list),
                   *(_join(c.title, c.description) for c in profile.cases)),
        extra=" ".join(filter(None, [_name(organisation.district), *(d.name for d in profile.domains),
                                     *qualifications])),
        district=_code(organisation.district),
        domain=profile.domains[0].code if profile.domains else None,
        published_at=profile.verified_at,
        url=f"/enterprises/{profile.id}",
    )


def _enterprises() -> sa.Select[Any]:
    return (sa.select(EnterpriseProfile).where(enterprise_policy.public_clause()).order_by(EnterpriseProfile.id)
            .options(selectinload(EnterpriseProfile.organisation).selectinload(Organisation.district),
                     selectinload(EnterpriseProfile.domains), selectinload(EnterpriseProfile.qualifications),
                     selectinload(EnterpriseProfile.cases)))


# ---------------------------------------------------------------------------- demonstrations

def demonstration_document(demo: Demonstration) -> search.SearchDocument:
    scenario = demo.scenario
    return search.SearchDocument(
        doc_type="demonstration",
        doc_id=demo.id,
        title=demo.title,
        body=_join(demo.problem, demo.solution, demo.outcomes, demo.highlights),
        extra=" ".join(filter(None, [_name(scenario.district), _name(scenario.domain), _name(scenario.owner),
                                     _name(demo.firm)])),
        district=_code(scenario.district),
        domain=_code(scenario.domain),
        published_at=demo.published_at,
        url=f"/demonstrations/{demo.id}",
    )


def demonstration_is_public(demo: Demonstration) -> bool:
    return demo.published_at is not None


def _demonstrations() -> sa.Select[Any]:
    return (sa.select(Demonstration).where(Demonstration.published_at.is_not(None)).order_by(Demonstration.id)
            .options(selectinload(Demonstration.scenario).selectinload(Scenario.district),
                     selectinload(Demonstration.scenario).selectinload(Scenario.domain),
                     selectinload(Demonstration.scenario).selectinload(Scenario.owner),
                     selectinload(Demonstration.firm)))


# ---------------------------------------------------------------------------- related changes

def _organisation_records(organisation: Organisation) -> Iterable[Any]:
    """A renamed (or deactivated) organisation: its scenarios, its profile and its demonstrations."""
    session = object_session(organisation)
    if session is None or organisation.id is None:
        return []
    return [
        *session.scalars(sa.select(Scenario).where(Scenario.owner_id == organisation.id)),
        *session.scalars(sa.select(EnterpriseProfile).where(EnterpriseProfile.organisation_id == organisation.id)),
        *session.scalars(sa.select(Demonstration).where(sa.or_(
            Demonstration.firm_id == organisation.id,
            Demonstration.scenario_id.in_(sa.select(Scenario.id).where(Scenario.owner_id == organisation.id))))),
    ]


def register_models() -> None:
    """Register the searchable models and their related models (idempotent)."""
    search.register(Scenario, doc_type="scenario", to_document=scenario_document, is_public=scenario_is_public,
                    select=_scenarios)
    search.register(EnterpriseProfile, doc_type="enterprise", to_document=enterprise_document,
                    is_public=enterprise_policy.is_public, select=_enterprises)
    search.register(Demonstration, doc_type="demonstration", to_document=demonstration_document,
                    is_public=demonstration_is_public, select=_demonstrations)
    search.register_related(Batch, lambda batch: list(batch.scenarios))
    # A notice opened or withdrawn, an objection filed or decided: the scenario's 公示 changes.
    search.register_related(PublicityNotice, lambda notice: [notice.scenario] if notice.scenario is not None else [])
    search.register_related(Objection, lambda objection: [objection.notice.scenario]
                            if objection.notice is not None and objection.notice.scenario is not None else [])
    search.register_related(Organisation, _organisation_records)
    search.register_related(Qualification, lambda q: [q.profile] if q.profile is not None else [])
    search.register_related(ProfileCase, lambda c: [c.profile] if c.profile is not None else [])


def count_public(session: Session) -> int:
    """How many records a reindex will write (for a progress bar)."""
    return sum(session.scalar(sa.select(sa.func.count()).select_from(reg.select().order_by(None).subquery())) or 0
               for reg in search.registry.registrations if reg.select is not None)


def configure_search(app: Flask) -> None:
    """Search for *app*: backend and commit hooks, and the indexed models."""
    search.init_app(app, db.session)
    register_models()
