""""不相关" marks: an owner or reviewer says a suggested firm does not fit a scenario.

A mark hides the firm from that scenario's 推荐企业 (on the page and in the API) and from nowhere
else; it is audited, can be withdrawn ("恢复推荐"), and is counted by ``flask match report`` with
the shared terms the suggestion showed when it was marked (what misled).  The matching model is
not retrained from marks: they are few, and one scenario's judgement says little about another.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import sqlalchemy as sa
from flask_babel import gettext as _
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, selectinload

from marketplace import audit, clock
from marketplace.enterprises import policy as enterprise_policy
from marketplace.errors import InvalidTransition, NotFound, PermissionDenied
from marketplace.models import EnterpriseProfile, MatchFeedback, Organisation, Scenario, ScenarioStatus, User
from marketplace.scenarios import policy as scenario_policy

#: Longest "、"-joined list of shown terms kept with a mark.
_TERMS_LENGTH = 200


def may_mark(user: User | None, scenario: Scenario) -> bool:
    """The owner organisation and its reviewers, while the scenario shows suggestions.

    (Open scenarios for all of them; a submitted one for its reviewers, who preview suggestions.)
    """
    if user is None or not user.is_authenticated:
        return False
    if scenario.status == ScenarioStatus.SUBMITTED:
        return scenario_policy.is_reviewer(user, scenario)
    return scenario.is_open() and (scenario_policy.is_owner_member(user, scenario)
                                   or scenario_policy.is_reviewer(user, scenario))


def check(user: User, scenario: Scenario) -> None:
    """Raise unless *user* may mark suggestions of *scenario* now (:func:`may_mark`)."""
    if may_mark(user, scenario):
        return
    if scenario_policy.is_owner_member(user, scenario) or scenario_policy.is_reviewer(user, scenario):
        raise InvalidTransition(_("只能在场景征集期间（或审核中的预览）标记推荐企业。"))
    raise PermissionDenied(_("只有业主单位、所在区县和市级工作人员可以标记推荐企业。"))


def hidden_profiles(session: Session, scenario_id: int) -> list[int]:
    """Profiles marked "not relevant" for the scenario (left out of its suggestions)."""
    return list(session.execute(
        sa.select(MatchFeedback.profile_id).where(MatchFeedback.scenario_id == scenario_id)
        .order_by(MatchFeedback.profile_id)
    ).scalars())


def marks_for(session: Session, scenario_id: int) -> list[MatchFeedback]:
    """The marks of one scenario with the firms' names loaded, newest first."""
    return list(session.execute(
        sa.select(MatchFeedback).where(MatchFeedback.scenario_id == scenario_id)
        .options(selectinload(MatchFeedback.profile).selectinload(EnterpriseProfile.organisation)
                 .selectinload(Organisation.district))
        .order_by(MatchFeedback.created_at.desc(), MatchFeedback.id.desc())
    ).scalars())


def mark_not_relevant(session: Session, actor: User, scenario: Scenario, profile_id: int,
                      score: float | None = None, terms: Sequence[str] = (), ip: str | None = None) -> bool:
    """Record that *profile_id* does not fit *scenario*; audited.  ``False`` if it was already marked.

    *score* and *terms* are what the suggestion showed (kept for the quality report).  Flushes;
    the caller commits.
    """
    check(actor, scenario)
    profile = session.get(EnterpriseProfile, profile_id)
    if profile is None or not enterprise_policy.is_public(profile):
        raise NotFound(_("企业不存在或尚未通过核验。"))
    exists = session.execute(sa.select(MatchFeedback.id).where(
        MatchFeedback.scenario_id == scenario.id, MatchFeedback.profile_id == profile.id)).first()
    if exists:
        return False
    shown = "、".join(terms)[:_TERMS_LENGTH]
    try:
        with session.begin_nested():
            session.add(MatchFeedback(scenario_id=scenario.id, profile_id=profile.id, marked_by_id=actor.id,
                                      score=score, terms=shown, created_at=clock.now()))
    except IntegrityError:  # marked concurrently
        return False
    audit.record(session, actor=actor, action="matching.not_relevant", object_type="scenario",
                 object_id=scenario.id,
                 after={"profile_id": profile.id, "organisation": profile.organisation.name,
                        "score": score, "terms": shown}, ip=ip)
    return True


def restore(session: Session, actor: User, scenario: Scenario, profile_id: int, ip: str | None = None) -> bool:
    """Withdraw a "not relevant" mark (the firm may be suggested again); audited.

    ``False`` when there was no mark.  Flushes; the caller commits.
    """
    check(actor, scenario)
    mark = session.execute(sa.select(MatchFeedback).where(
        MatchFeedback.scenario_id == scenario.id, MatchFeedback.profile_id == profile_id)).scalar_one_or_none()
    if mark is None:
        return False
    before = {"profile_id": mark.profile_id, "marked_by_id": mark.marked_by_id, "terms": mark.terms}
    session.delete(mark)
    session.flush()
    audit.record(session, actor=actor, action="matching.relevant_again", object_type="scenario",
                 object_id=scenario.id, before=before, ip=ip)
    return True


@dataclass
class MarkSummary:
    """The "not relevant" marks over the whole platform, for the quality report."""

    marks: int
    scenarios: int
    firms: int
    open_scenario_marks: int
    most_marked: list[tuple[str, int]]
    misleading_terms: list[tuple[str, int]]


def summary(session: Session, open_ids: Sequence[int], top: int = 10) -> MarkSummary:
    """Counts of the marks; the firms marked most often and the shared terms shown most often on
    marked suggestions (candidates for the boilerplate list)."""
    rows = session.execute(
        sa.select(MatchFeedback.scenario_id, MatchFeedback.profile_id, MatchFeedback.terms, Organisation.name)
        .join(EnterpriseProfile, EnterpriseProfile.id == MatchFeedback.profile_id)
        .join(Organisation, Organisation.id == EnterpriseProfile.organisation_id)
    ).all()
    open_set = set(open_ids)
    firms: dict[str, int] = {}
    terms: dict[str, int] = {}
    for _scenario, _profile, shown, name in rows:
        firms[name] = firms.get(name, 0) + 1
        for term in filter(None, (shown or "").split("、")):
            terms[term] = terms.get(term, 0) + 1

    def best(counts: dict[str, int]) -> list[tuple[str, int]]:
        return sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:top]

    return MarkSummary(
        marks=len(rows),
        scenarios=len({r[0] for r in rows}),
        firms=len({r[1] for r in rows}),
        open_scenario_marks=sum(1 for r in rows if r[0] in open_set),
        most_marked=best(firms),
        misleading_terms=best(terms),
    )
