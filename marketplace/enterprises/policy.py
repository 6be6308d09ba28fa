"""Who may see and act on enterprise profiles — used by pages, the API, search, matching and attachments.

The public rule is one SQL clause (:func:`public_clause`): a profile is public when
district staff have verified it and its organisation is an active software firm.
A qualification is public only when verified too (:func:`public_qualification_clause`).
The Python twins (:func:`is_public`, ...) serve object checks and agree with the clauses.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import Session

from marketplace.models import (
    Attachment,
    EnterpriseProfile,
    Organisation,
    OrganisationKind,
    Qualification,
    Role,
    User,
    VerificationStatus,
)


def _public_organisations() -> sa.Select:
    return sa.select(Organisation.id).where(Organisation.active.is_(True),
                                            Organisation.kind == OrganisationKind.SOFTWARE_ENTERPRISE)


def public_clause() -> sa.ColumnElement[bool]:
    """SQL condition on ``EnterpriseProfile``: verified profiles of active software firms.

    Needs no join, so it can be added to any query over profiles (directory, API, search, matching).
    """
    return sa.and_(EnterpriseProfile.status == VerificationStatus.VERIFIED,
                   EnterpriseProfile.organisation_id.in_(_public_organisations()))


def public_qualification_clause() -> sa.ColumnElement[bool]:
    """SQL condition on ``Qualification``: verified, on a public profile."""
    return sa.and_(Qualification.status == VerificationStatus.VERIFIED,
                   Qualification.profile_id.in_(sa.select(EnterpriseProfile.id).where(public_clause())))


def is_public(profile: EnterpriseProfile) -> bool:
    """Python twin of :func:`public_clause`."""
    organisation = profile.organisation
    return (profile.status == VerificationStatus.VERIFIED and organisation is not None and organisation.active
            and organisation.kind == OrganisationKind.SOFTWARE_ENTERPRISE)


def public_qualifications(profile: EnterpriseProfile) -> list[Qualification]:
    """The qualifications anybody may see: verified ones of a public profile."""
    if not is_public(profile):
        return []
    return [q for q in profile.qualifications if q.status == VerificationStatus.VERIFIED]


def is_member(user: User | None, profile: EnterpriseProfile) -> bool:
    """An enterprise user of the profile's firm."""
    return (user is not None and user.is_authenticated and user.role == Role.ENTERPRISE
            and user.organisation_id is not None and user.organisation_id == profile.organisation_id)


def is_reviewer(user: User | None, profile: EnterpriseProfile) -> bool:
    """City staff, or district staff of the firm's district."""
    if user is None or not user.is_authenticated:
        return False
    if user.role == Role.CITY_STAFF:
        return True
    district_id = profile.organisation.district_id if profile.organisation else None
    return user.role == Role.DISTRICT_STAFF and user.district_id is not None and user.district_id == district_id


def can_view(user: User | None, profile: EnterpriseProfile) -> bool:
    """Public profiles for everyone; any state for the firm's own users and its reviewers."""
    return is_public(profile) or is_member(user, profile) or is_reviewer(user, profile)


def reviewable_clause(user: User | None) -> sa.ColumnElement[bool]:
    """SQL condition on ``EnterpriseProfile``: profiles the staff user may verify (equivalent to :func:`is_reviewer`)."""
    if user is None or not user.is_authenticated:
        return sa.false()
    if user.role == Role.CITY_STAFF:
        return sa.true()
    if user.role == Role.DISTRICT_STAFF and user.district_id is not None:
        return EnterpriseProfile.organisation_id.in_(
            sa.select(Organisation.id).where(Organisation.district_id == user.district_id))
    return sa.false()


def can_download_evidence(user: User | None, attachment: Attachment, session: Session) -> bool:
    """Qualification evidence: the firm's users and its reviewing staff only (never the public)."""
    if user is None or not user.is_authenticated:
        return False
    profiles = session.execute(
        sa.select(EnterpriseProfile).join(Qualification, Qualification.profile_id == EnterpriseProfile.id)
        .where(Qualification.evidence_id == attachment.id)
    ).scalars().all()
    if profiles:
        return any(is_member(user, p) or is_reviewer(user, p) for p in profiles)
    # A file uploaded whose qualification was later removed stays with its firm.
    return (attachment.organisation_id is not None and user.role == Role.ENTERPRISE
            and user.organisation_id == attachment.organisation_id)
