"""Matching on the site: models fitted from the database, suggestions with reasons, invitations.

Three models (fitted with :class:`~marketplace.matching.matcher.Matcher`, kept fresh by
:mod:`marketplace.matching.freshness`):

``firms``
    verified profiles of active software firms only (``enterprises.policy.public_clause``):
    business scope, capabilities, domains, tags, case titles and descriptions; signals: domain
    codes, the firm's district, its verified qualifications, and its accepted projects — the
    firm's *selected* applications on *accepted* scenarios, both public results (no application
    text is read, ever).
``scenarios``
    public scenarios only (published and later): "为你推荐" ranks them for a firm and keeps the
    open ones.  Drafts, submitted and returned scenarios are not in it, so their text cannot
    reach a firm.
``review``
    submitted and public scenarios, for the near-duplicate warning shown to reviewing staff.

Every result is checked against the database before it is shown (a model may lag behind by up
to ``MATCH_MAX_STALENESS_SECONDS``): a firm that lost its verification, or a scenario that is no
longer open, is dropped even from a stale model's answer.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from flask import current_app, url_for
from flask_babel import gettext as _
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, selectinload

from marketplace import audit, clock
from marketplace.enterprises import policy as enterprise_policy
from marketplace.errors import BadParameters, InvalidTransition, NotFound, PermissionDenied
from marketplace.matching import feedback
from marketplace.matching.freshness import Fitted, get_cache
from marketplace.matching.matcher import FirmProfile, Matcher, ScenarioDoc, Suggestion
from marketplace.matching.terms import is_meaningful
from marketplace.models import (
    Application,
    ApplicationStatus,
    Domain,
    EnterpriseProfile,
    MatchInvitation,
    Organisation,
    Role,
    Scenario,
    ScenarioStatus,
    User,
    VerificationStatus,
)
from marketplace.scenarios import policy as scenario_policy

#: Suggestions shown on a scenario page and on the firm's recommendation page.
TOP_K = 10
#: Extra results asked from the model, so that dropping stale ones still leaves ``k``.
SLACK = 10
#: Statuses of the review (near-duplicate) model.
REVIEW_STATUSES = (ScenarioStatus.SUBMITTED, *ScenarioStatus.public())


# ------------------------------------------------------------------ documents


def firm_profile(profile: EnterpriseProfile, accepted_projects: int = 0) -> FirmProfile:
    """The matcher's view of a profile (only verified qualifications count)."""
    organisation = profile.organisation
    return FirmProfile(
        id=profile.id,
        name=organisation.name if organisation else "",
        business_scope=profile.business_scope or "",
        capabilities=profile.capabilities or "",
        domains=[d.name for d in profile.domains],
        tags=profile.tag_list,
        case_titles=[c.title for c in profile.cases if c.title],
        case_descriptions=[c.description for c in profile.cases if c.description],
        domain_codes=[d.code for d in profile.domains],
        district_code=organisation.district.code if organisation and organisation.district else None,
        verified_qualifications=sum(1 for q in profile.qualifications if q.status == VerificationStatus.VERIFIED),
        accepted_projects=accepted_projects,
    )


def scenario_doc(scenario: Scenario) -> ScenarioDoc:
    """The matcher's view of a scenario, field by field (each field weighs what it means: what must
    be built — title, 技术要求, 建设边界, 验收标准 — more than the background narrative)."""
    return ScenarioDoc(
        id=scenario.id,
        title=scenario.title,
        summary=scenario.summary or "",
        description=scenario.description or "",
        boundary=scenario.boundary or "",
        requirements=scenario.requirements or "",
        acceptance=scenario.acceptance or "",
        outcomes=scenario.outcomes or "",
        domains=[scenario.domain.name] if scenario.domain else [],
        domain_codes=[scenario.domain.code] if scenario.domain else [],
        district_code=scenario.district.code if scenario.district else None,
    )


def accepted_projects(session: Session) -> dict[int, int]:
    """Per organisation: scenarios it won (selected application) that have been accepted.

    Public results only — the winner of an accepted scenario; nothing of the application but its
    status is read.
    """
    rows = session.execute(
        sa.select(Application.organisation_id, sa.func.count(sa.distinct(Application.scenario_id)))
        .join(Scenario, Scenario.id == Application.scenario_id)
        .where(Application.status == ApplicationStatus.SELECTED, Scenario.status == ScenarioStatus.ACCEPTED)
        .group_by(Application.organisation_id)
    )
    return {org_id: int(n) for org_id, n in rows}


def public_profiles(session: Session) -> list[EnterpriseProfile]:
    """Every profile that may be suggested, with what the matcher reads loaded."""
    return list(session.execute(
        sa.select(EnterpriseProfile).where(enterprise_policy.public_clause())
        .options(selectinload(EnterpriseProfile.domains), selectinload(EnterpriseProfile.cases),
                 selectinload(EnterpriseProfile.qualifications),
                 selectinload(EnterpriseProfile.organisation).selectinload(Organisation.district))
        .order_by(EnterpriseProfile.id)
    ).scalars())


def scenarios_in(session: Session, statuses: Sequence[ScenarioStatus]) -> list[Scenario]:
    return list(session.execute(
        sa.select(Scenario).where(Scenario.status.in_(statuses))
        .options(selectinload(Scenario.domain), selectinload(Scenario.district))
        .order_by(Scenario.id)
    ).scalars())


def build_model(session: Session, name: str, n_jobs: int = 1) -> tuple[Matcher, dict[str, Any]]:
    """Fit one model from the database (the :data:`~marketplace.matching.freshness.Builder`).

    The other side's documents are the model's query-side corpus: words found in most public
    scenarios (or most profiles) are boilerplate, not features.  (They are read when the model
    is fitted; a model is not refitted when only the other side changed: boilerplate moves slowly.)
    """
    if name == "firms":
        accepted = accepted_projects(session)
        docs = [firm_profile(p, accepted.get(p.organisation_id, 0)) for p in public_profiles(session)]
        queries = [scenario_doc(s) for s in scenarios_in(session, ScenarioStatus.public())]
        return Matcher.fit_firms(docs, n_jobs=n_jobs, query_corpus=queries), {"documents": len(docs)}
    statuses = ScenarioStatus.public() if name == "scenarios" else REVIEW_STATUSES
    docs = [scenario_doc(s) for s in scenarios_in(session, statuses)]
    queries = [firm_profile(p) for p in public_profiles(session)] if name == "scenarios" else []
    return Matcher.fit_scenarios(docs, n_jobs=n_jobs, query_corpus=queries), {"documents": len(docs)}


def model_entry(session: Session, name: str) -> Fitted:
    """The current fitted model *name* (``firms``, ``scenarios`` or ``review``) of this process,
    with the version stamp it was fitted from."""
    return get_cache().get(session, name)


def model(session: Session, name: str) -> Matcher:
    """The current fitted model *name* (``firms``, ``scenarios`` or ``review``) of this process."""
    return model_entry(session, name).matcher


def weights() -> dict[str, float]:
    """Signal weights from ``MATCH_WEIGHTS``."""
    return dict(current_app.config.get("MATCH_WEIGHTS") or {})


# ------------------------------------------------------------------ who sees what


def _signed_in(user: User | None) -> bool:
    return user is not None and user.is_authenticated


def may_invite(user: User | None, scenario: Scenario) -> bool:
    """The owner organisation, its district staff and city staff, on an open scenario."""
    return (_signed_in(user) and scenario.is_open()
            and (scenario_policy.is_owner_member(user, scenario) or scenario_policy.is_reviewer(user, scenario)))


def may_see_suggestions(user: User | None, scenario: Scenario) -> bool:
    """"推荐企业": as :func:`may_invite`, plus reviewers previewing a submitted scenario."""
    if not _signed_in(user):
        return False
    if scenario.status == ScenarioStatus.SUBMITTED:
        return scenario_policy.is_reviewer(user, scenario)
    return may_invite(user, scenario)


def may_see_duplicates(user: User | None, scenario: Scenario) -> bool:
    """Reviewing staff (its district's, or the city's) of a submitted scenario."""
    return scenario.status == ScenarioStatus.SUBMITTED and scenario_policy.is_reviewer(user, scenario)


# ------------------------------------------------------------------ suggestions


@dataclass
class Reason:
    """One signal of a suggestion: label and contribution to the score."""

    name: str
    label: str
    contribution: float


@dataclass
class FirmSuggestion:
    """A suggested firm: ``score = text_score + Σ signals``; ``terms`` are ``(word, share of the
    text score)``; ``text_score = word_score × topic`` (shared words × topic agreement)."""

    profile: EnterpriseProfile
    score: float
    text_score: float
    terms: list[tuple[str, float]] = field(default_factory=list)
    signals: list[Reason] = field(default_factory=list)
    invited: bool = False
    word_score: float = 0.0
    topic: float = 1.0


@dataclass
class ScenarioSuggestion:
    """A recommended scenario, explained like :class:`FirmSuggestion`."""

    scenario: Scenario
    score: float
    text_score: float
    terms: list[tuple[str, float]] = field(default_factory=list)
    signals: list[Reason] = field(default_factory=list)
    word_score: float = 0.0
    topic: float = 1.0


#: Shared terms shown per suggestion.
EXPLAIN_TERMS = 6


def _reasons(s: Suggestion) -> list[Reason]:
    return [Reason(name, label, value) for name, label, value in s.signals]


def _terms(s: Suggestion, limit: int = EXPLAIN_TERMS) -> list[tuple[str, float]]:
    """The shared terms worth showing (the model has no stopword, number or single character as a
    feature; checked again here so that no model fitted before that rule can show one)."""
    return [(t, w) for t, w in s.terms if is_meaningful(t)][:limit]


def firm_suggestions(session: Session, scenario: Scenario, k: int = TOP_K) -> tuple[list[FirmSuggestion], str]:
    """The *k* verified firms best suited to *scenario*, local ones first, with reasons, and the
    version of the model that ranked them.

    Firms marked "not relevant" for this scenario are left out.  No permission check: callers use
    :func:`may_see_suggestions`.
    """
    entry = model_entry(session, "firms")
    matcher = entry.matcher
    if not len(matcher):
        return [], entry.stamp.token
    hidden = feedback.hidden_profiles(session, scenario.id)
    hits = matcher.suggest(scenario_doc(scenario), k=k + SLACK, weights=weights(), exclude_ids=hidden,
                           explain_terms=EXPLAIN_TERMS)
    ids = [h.id for h in hits]
    profiles = {p.id: p for p in session.execute(
        sa.select(EnterpriseProfile).where(EnterpriseProfile.id.in_(ids), enterprise_policy.public_clause())
        .options(selectinload(EnterpriseProfile.organisation).selectinload(Organisation.district),
                 selectinload(EnterpriseProfile.domains))
    ).scalars()} if ids else {}
    invited = set(session.execute(
        sa.select(MatchInvitation.profile_id).where(MatchInvitation.scenario_id == scenario.id)).scalars())
    out = [FirmSuggestion(profiles[h.id], h.score, h.text_score, _terms(h), _reasons(h), h.id in invited,
                          h.word_score, h.topic)
           for h in hits if h.id in profiles]
    return out[:k], entry.stamp.token


def suggest_firms(session: Session, scenario: Scenario, k: int = TOP_K) -> list[FirmSuggestion]:
    """:func:`firm_suggestions` without the model version."""
    return firm_suggestions(session, scenario, k)[0]


def readable_suggestions(session: Session, user: User | None, scenario: Scenario) -> tuple[list[FirmSuggestion], str]:
    """推荐企业 for the suggestions API: the owner organisation, its district staff and city staff.

    Raises :class:`PermissionDenied` for anybody else and :class:`InvalidTransition` when the
    scenario has no suggestions in its state (they are given while it is open, and to reviewers
    while it is submitted).
    """
    if not (scenario_policy.is_owner_member(user, scenario) or scenario_policy.is_reviewer(user, scenario)):
        raise PermissionDenied(_("只有业主单位、所在区县和市级工作人员可以查看推荐企业。"))
    if not may_see_suggestions(user, scenario):
        raise InvalidTransition(_("推荐企业只在场景征集期间提供（审核中的场景仅审核人员可预览）。"))
    return firm_suggestions(session, scenario)


def own_profile(session: Session, user: User) -> EnterpriseProfile | None:
    """The profile of an enterprise user's firm."""
    if not _signed_in(user) or user.role != Role.ENTERPRISE or user.organisation_id is None:
        return None
    return session.execute(
        sa.select(EnterpriseProfile).where(EnterpriseProfile.organisation_id == user.organisation_id)
    ).scalar_one_or_none()


def _open_scenarios(session: Session) -> dict[int, str | None]:
    """Open scenarios (published, before the deadline) and their domain codes."""
    now = clock.now()
    rows = session.execute(
        sa.select(Scenario.id, Domain.code).outerjoin(Domain, Domain.id == Scenario.domain_id)
        .where(Scenario.status == ScenarioStatus.PUBLISHED,
               sa.or_(Scenario.deadline.is_(None), Scenario.deadline > now))
    )
    return {row[0]: row[1] for row in rows.all()}


def scenario_recommendations(session: Session, profile: EnterpriseProfile, k: int = TOP_K,
                             domains: Iterable[str] = ()) -> tuple[list[ScenarioSuggestion], str]:
    """"为你推荐": open scenarios that fit *profile*, and the version of the model that ranked them.

    *domains* (codes) tunes the list: only scenarios of those domains, and they count as the
    firm's domains for the same-domain signal.  Empty: the profile's own domains, no filter.
    """
    entry = model_entry(session, "scenarios")
    matcher = entry.matcher
    if not len(matcher):
        return [], entry.stamp.token
    chosen = [d for d in dict.fromkeys(domains) if d]
    open_ids = _open_scenarios(session)
    allowed = {sid for sid, code in open_ids.items() if not chosen or code in chosen}
    exclude = [sid for sid in matcher.ids if sid not in allowed]
    query = firm_profile(profile)
    if chosen:
        query.domain_codes = chosen
    hits = matcher.suggest(query, k=k + SLACK, weights=weights(), exclude_ids=exclude, explain_terms=EXPLAIN_TERMS)
    ids = [h.id for h in hits if h.id in allowed]
    scenarios = {s.id: s for s in session.execute(
        sa.select(Scenario).where(Scenario.id.in_(ids), Scenario.status == ScenarioStatus.PUBLISHED)
        .options(selectinload(Scenario.owner), selectinload(Scenario.district), selectinload(Scenario.domain))
    ).scalars()} if ids else {}
    out = [ScenarioSuggestion(scenarios[h.id], h.score, h.text_score, _terms(h), _reasons(h), h.word_score, h.topic)
           for h in hits if h.id in scenarios and scenarios[h.id].is_open()]
    return out[:k], entry.stamp.token


def recommend_scenarios(session: Session, profile: EnterpriseProfile, k: int = TOP_K,
                        domains: Iterable[str] = ()) -> list[ScenarioSuggestion]:
    """:func:`scenario_recommendations` without the model version."""
    return scenario_recommendations(session, profile, k, domains)[0]


def readable_recommendations(session: Session, user: User | None,
                             domains: Iterable[str] = ()) -> tuple[list[ScenarioSuggestion], str]:
    """为你推荐 for the API: only for an enterprise user whose firm has a verified profile.

    Unknown domain codes are refused (:class:`BadParameters`); anybody else gets
    :class:`PermissionDenied`.
    """
    if not _signed_in(user) or user.role != Role.ENTERPRISE:
        raise PermissionDenied(_("为你推荐只面向企业用户。"))
    profile = own_profile(session, user)
    if profile is None or not enterprise_policy.is_public(profile):
        raise PermissionDenied(_("贵单位的企业能力清单通过核验后，才能获得推荐场景。"))
    chosen = [d for d in dict.fromkeys(domains) if d]
    known = set(session.execute(sa.select(Domain.code)).scalars())
    unknown = [d for d in chosen if d not in known]
    if unknown:
        raise BadParameters(_("未知的行业领域：%(codes)s", codes="、".join(unknown)),
                            {"domain": [_("未知的行业领域代码。")]})
    return scenario_recommendations(session, profile, domains=chosen)


@dataclass
class Duplicate:
    scenario: Scenario
    similarity: float
    terms: list[tuple[str, float]] = field(default_factory=list)


def near_duplicates(session: Session, user: User | None, scenario: Scenario, k: int = 5) -> list[Duplicate]:
    """Submitted or public scenarios (any district, city lists too) similar above the threshold.

    Only those *user* may open are listed.
    """
    matcher = model(session, "review")
    if not len(matcher):
        return []
    threshold = float(current_app.config.get("MATCH_DUPLICATE_THRESHOLD", 0.5))
    hits = matcher.similar(scenario_doc(scenario), threshold=threshold, k=k + SLACK, exclude_ids=[scenario.id])
    ids = [h.id for h in hits]
    found = {s.id: s for s in session.execute(
        sa.select(Scenario).where(Scenario.id.in_(ids), Scenario.status.in_(REVIEW_STATUSES))
        .options(selectinload(Scenario.owner), selectinload(Scenario.district))
    ).scalars()} if ids else {}
    out = [Duplicate(found[h.id], h.score, h.terms) for h in hits
           if h.id in found and scenario_policy.can_view(user, found[h.id])]
    return out[:k]


# ------------------------------------------------------------------ invitations


def invite(session: Session, actor: User, scenario: Scenario, profile_id: int, ip: str | None = None) -> bool:
    """Invite a verified firm to apply: notification to its users, audited; once per firm and scenario.

    Returns ``False`` when the firm was already invited.  Flushes; the caller commits.
    """
    if not may_invite(actor, scenario):
        if may_see_suggestions(actor, scenario) or not scenario.is_open():
            raise InvalidTransition(_("只能邀请企业揭榜征集中的场景。"))
        raise PermissionDenied(_("只有业主单位、所在区县和市级工作人员可以邀请企业揭榜。"))
    profile = session.get(EnterpriseProfile, profile_id)
    if profile is None or not enterprise_policy.is_public(profile):
        raise NotFound(_("企业不存在或尚未通过核验。"))
    exists = session.execute(sa.select(MatchInvitation.id).where(
        MatchInvitation.scenario_id == scenario.id, MatchInvitation.profile_id == profile.id)).first()
    if exists:
        return False
    try:
        with session.begin_nested():
            session.add(MatchInvitation(scenario_id=scenario.id, profile_id=profile.id, invited_by_id=actor.id,
                                        created_at=clock.now()))
    except IntegrityError:  # invited concurrently
        return False
    from marketplace.notifications.services import notify, organisation_users

    recipients = organisation_users(session, profile.organisation_id, Role.ENTERPRISE)
    deadline = clock.to_local(scenario.deadline).strftime("%Y-%m-%d %H:%M") if scenario.deadline else "—"
    notify(session, recipients, kind="invitation",
           title=_("邀请揭榜：%(title)s", title=scenario.title),
           body=_("%(owner)s 根据贵单位的企业能力清单，邀请贵单位揭榜场景“%(title)s”（揭榜截止：%(deadline)s）。",
                  owner=scenario.owner.name, title=scenario.title, deadline=deadline),
           url=url_for("scenarios.detail", scenario_id=scenario.id))
    audit.record(session, actor=actor, action="matching.invite", object_type="scenario", object_id=scenario.id,
                 after={"profile_id": profile.id, "organisation_id": profile.organisation_id,
                        "organisation": profile.organisation.name, "recipients": len(recipients)}, ip=ip)
    return True


# ------------------------------------------------------------------ "not relevant" marks


def mark_not_relevant(session: Session, actor: User, scenario: Scenario, profile_id: int,
                      ip: str | None = None) -> bool:
    """不相关: hide the firm from this scenario's suggestions, keeping what the suggestion showed.

    ``False`` when it was already marked.  Flushes; the caller commits.
    """
    feedback.check(actor, scenario)
    shown = next((s for s in suggest_firms(session, scenario) if s.profile.id == profile_id), None)
    return feedback.mark_not_relevant(
        session, actor, scenario, profile_id, score=shown.score if shown else None,
        terms=[t for t, _w in shown.terms] if shown else (), ip=ip)


def restore_suggestion(session: Session, actor: User, scenario: Scenario, profile_id: int,
                       ip: str | None = None) -> bool:
    """恢复推荐: withdraw a "not relevant" mark.  ``False`` when there was none."""
    return feedback.restore(session, actor, scenario, profile_id, ip)


# ------------------------------------------------------------------ page contexts


def scenario_panel(session: Session, user: User | None, scenario: Scenario) -> dict[str, Any] | None:
    """Context of ``matching/_suggestions.html`` on a scenario page (``None``: nothing to show)."""
    show_firms = may_see_suggestions(user, scenario)
    show_duplicates = may_see_duplicates(user, scenario)
    if not (show_firms or show_duplicates):
        return None
    can_mark = show_firms and feedback.may_mark(user, scenario)
    return {
        "firms": suggest_firms(session, scenario) if show_firms else None,
        "duplicates": near_duplicates(session, user, scenario) if show_duplicates else None,
        "can_invite": may_invite(user, scenario),
        "can_mark": can_mark,
        "hidden": feedback.marks_for(session, scenario.id) if can_mark else [],
        "threshold": float(current_app.config.get("MATCH_DUPLICATE_THRESHOLD", 0.5)),
    }


def firm_recommendations(session: Session, user: User, domains: Iterable[str] = (), k: int = TOP_K
                         ) -> dict[str, Any]:
    """Context of the "为你推荐" panel and page for an enterprise user."""
    profile = own_profile(session, user)
    verified = profile is not None and enterprise_policy.is_public(profile)
    chosen = [d for d in dict.fromkeys(domains) if d]
    all_domains = list(session.execute(sa.select(Domain).order_by(Domain.sort_order)).scalars())
    known = {d.code for d in all_domains}
    chosen = [d for d in chosen if d in known]
    return {
        "profile": profile,
        "verified": verified,
        "items": recommend_scenarios(session, profile, k=k, domains=chosen) if verified else [],
        "domains": all_domains,
        "chosen": chosen,
        "own_domains": [d.code for d in profile.domains] if profile is not None else [],
    }


def firm_panel(session: Session, user: User) -> dict[str, Any]:
    """The workspace panel: the five best open scenarios."""
    return firm_recommendations(session, user, k=5)
