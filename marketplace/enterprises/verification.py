"""Verification of enterprise profiles and qualifications by district (or city) staff.

Staff of the firm's district, or city staff, verify or reject a submitted profile, re-confirm or
revoke a verified one, and verify or reject each qualification's evidence; the firm is told of
every decision. The review queue lists what waits: submitted profiles, pending evidence, and
verified profiles revised since their verification (see :mod:`marketplace.enterprises.services`).
Services flush; the request's unit of work commits.
"""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa
from flask_babel import gettext as _
from sqlalchemy.orm import Session, selectinload

from marketplace import audit, clock
from marketplace.enterprises import policy
from marketplace.enterprises.services import path_for
from marketplace.errors import InvalidTransition, NotFound, PermissionDenied, ValidationFailed
from marketplace.models import (
    AuditEvent,
    EnterpriseProfile,
    Organisation,
    Qualification,
    Role,
    User,
    VerificationStatus,
)
from marketplace.notifications.services import notify, organisation_users

#: The two decisions staff take on a profile or a qualification.
REVIEW_DECISIONS = ("verify", "reject")


def _reason(decision: str, reason: str | None) -> str | None:
    reason = (reason or "").strip()
    if decision == "reject" and not reason:
        raise ValidationFailed(_("不通过时请写明原因，企业将看到这条说明。"),
                               {"reason": [_("不通过时请写明原因。")]})
    if len(reason) > 2000:
        raise ValidationFailed(_("原因不能超过 2000 个字。"), {"reason": [_("原因不能超过 2000 个字。")]})
    return reason or None


def review_profile(session: Session, actor: User, profile_id: int, decision: str, reason: str | None = None,
                   ip: str | None = None) -> EnterpriseProfile:
    """Verify or reject a submitted profile; also re-confirm or revoke a verified one. Tells the firm."""
    # Under the row's lock, read afresh: two reviewers deciding at once get one decision and a refusal.
    profile = session.get(EnterpriseProfile, profile_id, with_for_update=True, populate_existing=True)
    if profile is None or not (policy.is_reviewer(actor, profile) or policy.can_view(actor, profile)):
        raise NotFound(_("找不到该企业。"))
    if decision not in REVIEW_DECISIONS:
        raise InvalidTransition(_("未知的操作。"))
    if not policy.is_reviewer(actor, profile):
        raise PermissionDenied(_("只有企业所在区县的工作人员或市级工作人员可以核验企业信息。"))
    if profile.status not in (VerificationStatus.PENDING, VerificationStatus.VERIFIED):
        raise InvalidTransition(_("该企业信息当前为“%(status)s”，企业提交核验后才能处理。",
                                  status=profile.status.label))
    reason = _reason(decision, reason)
    before = {"status": profile.status.value,
              "verified_at": profile.verified_at.isoformat() if profile.verified_at else None}
    now = clock.now()
    if decision == "verify":
        action = "enterprise_profile.verify" if profile.status == VerificationStatus.PENDING \
            else "enterprise_profile.reconfirm"
        profile.status = VerificationStatus.VERIFIED
        profile.verified_at = now
        profile.verified_by = actor
        profile.review_note = reason
        title = _("企业信息已通过核验")
        body = _("%(name)s的企业能力信息已通过核验，现已在企业能力目录公开。", name=profile.organisation.name)
    else:
        action = "enterprise_profile.reject" if profile.status == VerificationStatus.PENDING \
            else "enterprise_profile.revoke"
        profile.status = VerificationStatus.REJECTED
        profile.verified_at = None
        profile.verified_by = None
        profile.review_note = reason
        title = _("企业信息核验未通过")
        body = _("%(name)s的企业能力信息未通过核验，暂不在企业能力目录公开。原因：%(reason)s。请修改后重新提交核验。",
                 name=profile.organisation.name, reason=reason)
    session.flush()
    audit.record(session, actor=actor, action=action, object_type="enterprise_profile", object_id=profile.id,
                 before=before, after={"status": profile.status.value, "reason": reason}, ip=ip)
    notify(session, organisation_users(session, profile.organisation_id, Role.ENTERPRISE),
           f"enterprise.{decision}", title, body, path_for("enterprises.my_profile"))
    return profile


def review_qualification(session: Session, actor: User, qualification_id: int, decision: str,
                         reason: str | None = None, ip: str | None = None) -> Qualification:
    """Verify or reject a pending qualification's evidence (or revoke a verified one). Tells the firm."""
    qualification = session.get(Qualification, qualification_id, with_for_update=True, populate_existing=True)
    if qualification is None or not (policy.is_reviewer(actor, qualification.profile)
                                     or policy.is_member(actor, qualification.profile)):
        raise NotFound(_("找不到该资质。"))
    if decision not in REVIEW_DECISIONS:
        raise InvalidTransition(_("未知的操作。"))
    if not policy.is_reviewer(actor, qualification.profile):
        raise PermissionDenied(_("只有企业所在区县的工作人员或市级工作人员可以核验资质。"))
    allowed = (VerificationStatus.PENDING,) if decision == "verify" else (
        VerificationStatus.PENDING, VerificationStatus.VERIFIED)
    if qualification.status not in allowed:
        raise InvalidTransition(_("该资质当前为“%(status)s”，不能执行该操作。", status=qualification.status.label))
    reason = _reason(decision, reason)
    before = {"status": qualification.status.value, "reason": qualification.review_note}
    qualification.review_note = reason
    if decision == "verify":
        qualification.status = VerificationStatus.VERIFIED
        qualification.verified_at = clock.now()
        qualification.verified_by = actor
        title = _("资质“%(label)s”已通过核验", label=qualification.label)
        body = _("资质“%(label)s”已通过核验。企业信息公开后，该资质将显示在企业能力目录中。", label=qualification.label)
    else:
        qualification.status = VerificationStatus.REJECTED
        qualification.verified_at = None
        qualification.verified_by = None
        title = _("资质“%(label)s”核验未通过", label=qualification.label)
        body = _("资质“%(label)s”未通过核验，原因：%(reason)s。可以删除后重新上传证明文件。",
                 label=qualification.label, reason=reason)
    session.flush()
    audit.record(session, actor=actor, action=f"qualification.{decision}", object_type="qualification",
                 object_id=qualification.id, before=before,
                 after={"status": qualification.status.value, "reason": reason,
                        "profile": qualification.profile_id}, ip=ip)
    notify(session, organisation_users(session, qualification.profile.organisation_id, Role.ENTERPRISE),
           f"qualification.{decision}", title[:200], body, path_for("enterprises.my_profile"))
    return qualification


# ------------------------------------------------------------------ the staff review queue and panel

@dataclass
class ReviewQueue:
    """What a staff user has to look at: submitted profiles, pending evidence, revised verified profiles."""

    profiles: list[EnterpriseProfile]
    qualifications: list[Qualification]
    revised: list[EnterpriseProfile]


def _pending_qualifications_query(user: User) -> sa.Select:
    return (
        sa.select(Qualification).join(Qualification.profile)
        .where(Qualification.status == VerificationStatus.PENDING,
               EnterpriseProfile.status.in_((VerificationStatus.PENDING, VerificationStatus.VERIFIED)),
               policy.reviewable_clause(user))
    )


def _revised_query(user: User) -> sa.Select:
    revised_after_check = (
        sa.select(AuditEvent.id)
        .where(AuditEvent.object_type == "enterprise_profile", AuditEvent.action == "enterprise_profile.revise",
               AuditEvent.object_id == sa.cast(EnterpriseProfile.id, sa.String),
               AuditEvent.created_at > EnterpriseProfile.verified_at)
        .correlate(EnterpriseProfile)
    )
    return sa.select(EnterpriseProfile).where(EnterpriseProfile.status == VerificationStatus.VERIFIED,
                                              policy.reviewable_clause(user), revised_after_check.exists())


def review_queue(session: Session, user: User) -> ReviewQueue:
    """The review page's three lists for a district (or city) staff user."""
    profiles = session.execute(
        sa.select(EnterpriseProfile)
        .where(EnterpriseProfile.status == VerificationStatus.PENDING, policy.reviewable_clause(user))
        .options(selectinload(EnterpriseProfile.organisation).selectinload(Organisation.district),
                 selectinload(EnterpriseProfile.domains), selectinload(EnterpriseProfile.qualifications))
        .order_by(EnterpriseProfile.updated_at, EnterpriseProfile.id)
    ).scalars().all()
    qualifications = session.execute(
        _pending_qualifications_query(user)
        .options(selectinload(Qualification.evidence),
                 selectinload(Qualification.profile).selectinload(EnterpriseProfile.organisation))
        .order_by(Qualification.id)
    ).scalars().all()
    revised = session.execute(
        _revised_query(user).options(selectinload(EnterpriseProfile.organisation))
        .order_by(EnterpriseProfile.updated_at.desc()).limit(100)
    ).scalars().all()
    return ReviewQueue(list(profiles), list(qualifications), list(revised))


def pending_counts(session: Session, user: User) -> dict[str, int]:
    """Counts for the staff workspace panel and the review page heading."""
    def count(query: sa.Select) -> int:
        return session.execute(sa.select(sa.func.count()).select_from(query.subquery())).scalar_one()

    return {
        "profiles": count(sa.select(EnterpriseProfile.id).where(
            EnterpriseProfile.status == VerificationStatus.PENDING, policy.reviewable_clause(user))),
        "qualifications": count(_pending_qualifications_query(user).with_only_columns(Qualification.id)),
        "revised": count(_revised_query(user).with_only_columns(EnterpriseProfile.id)),
    }



def pending_profiles_count(session: Session, user: User) -> int:
    """How many firm profiles wait for this staff user's verification (a workbench to-do)."""
    return pending_counts(session, user)["profiles"]


def staff_panel(session: Session, user: User) -> dict[str, int]:
    """Data of the staff workspace panel: what waits for verification."""
    return pending_counts(session, user)
