"""Enterprise capability profiles (企业能力清单): the firm keeps its profile, qualifications and cases.

Verification by district staff lives in :mod:`marketplace.enterprises.verification`. Rules live
here; views parse and call one function, and the request's unit of work commits. Every function
validates all of its input before changing anything, and every state change is written to the
audit log. A firm's profile is created with the firm (:func:`create_profile`); pages only read it.

**Edits to a verified profile.** A verified profile stays verified and public when
the firm edits it: taking a firm out of the directory for correcting its head count
would punish keeping the profile current. Substantive edits are audited as
``enterprise_profile.revise``; the review page lists verified profiles revised since
their verification, so district staff can re-confirm them or revoke the verification.
Fields required for verification cannot be emptied on a submitted or verified profile.
A qualification added later is always pending until staff verify its evidence, and
only verified qualifications are ever shown publicly.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any, Protocol

import sqlalchemy as sa
from flask import current_app
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Session

from marketplace import attachments, audit, clock
from marketplace.enterprises import policy
from marketplace.errors import InvalidTransition, NotFound, PermissionDenied, ValidationFailed, joined
from marketplace.models import (
    AttachmentPurpose,
    Domain,
    EnterpriseProfile,
    Organisation,
    OrganisationKind,
    ProfileCase,
    Qualification,
    QualificationKind,
    RevenueBand,
    Role,
    User,
    VerificationStatus,
)
from marketplace.notifications.services import notify

#: Profile fields the firm edits (``domains`` is a list of domain codes).
PROFILE_FIELDS = ("address", "building", "founded_on", "settled_year", "employees", "revenue_band",
                  "business_scope", "capabilities", "domains", "tags", "website", "contact_name",
                  "contact_phone", "contact_email")
#: Fields whose change on a verified profile counts as a revision staff may want to re-check.
SUBSTANTIVE_FIELDS = ("address", "building", "founded_on", "settled_year", "employees", "revenue_band",
                      "business_scope", "capabilities", "domains", "tags")
#: Evidence files: scans or photos of certificates.
EVIDENCE_TYPES = {"pdf", "png", "jpg", "jpeg"}
#: Earliest year accepted for qualifications, cases and settling in a district.
MIN_YEAR = 1980
MAX_TAGS = 20
MAX_TAG_LENGTH = 20
MAX_QUALIFICATIONS = 30
MAX_CASES = 50
#: Largest case amount in 万元 (the column is NUMERIC(14, 2)).
MAX_AMOUNT_WAN = Decimal("999999999.99")

_TAG_SPLIT = re.compile(r"[、,，;；\n\r\t]+")
_PHONE = re.compile(r"^[0-9+\-()（） ]{7,32}$")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_URL = re.compile(r"^https?://[^\s/$.?#][^\s]*\.[^\s]+$", re.IGNORECASE)

#: (upper bound exclusive, code, label) of the public head-count bands.
EMPLOYEE_BANDS = (
    (20, "1-19", _l("20 人以下")),
    (50, "20-49", _l("20–49 人")),
    (100, "50-99", _l("50–99 人")),
    (300, "100-299", _l("100–299 人")),
    (1000, "300-999", _l("300–999 人")),
    (None, "1000+", _l("1000 人及以上")),
)


class Upload(Protocol):
    """An uploaded file (werkzeug's ``FileStorage`` or anything with the same two members)."""

    filename: str | None

    def read(self) -> bytes: ...


def employee_band(employees: int | None) -> tuple[str, str] | None:
    """(code, label) of the head-count band shown publicly instead of the exact number."""
    if employees is None:
        return None
    for upper, code, label in EMPLOYEE_BANDS:
        if upper is None or employees < upper:
            return code, str(label)
    return None  # pragma: no cover - the last band has no upper bound


# ------------------------------------------------------------------ the firm's own profile

def can_edit(user: User | None) -> bool:
    """Enterprise users of an active software firm keep that firm's profile."""
    return (user is not None and user.is_authenticated and user.role == Role.ENTERPRISE
            and user.organisation is not None and user.organisation.active
            and user.organisation.kind == OrganisationKind.SOFTWARE_ENTERPRISE)


def profile_of(session: Session, organisation_id: int) -> EnterpriseProfile | None:
    """The organisation's profile, if it has one yet."""
    return session.execute(
        sa.select(EnterpriseProfile).where(EnterpriseProfile.organisation_id == organisation_id)
    ).scalar_one_or_none()


def create_profile(session: Session, organisation: Organisation, actor: User | None,
                   ip: str | None = None) -> EnterpriseProfile:
    """Give a software firm its (empty, unverified) profile, in the request that creates the firm.

    Called when a firm registers, when city staff create a software-enterprise organisation (or
    make an organisation one) and when they add an enterprise user; page views never create it.
    Returns the existing profile when the firm already has one. The actor becomes the business
    contact when the actor works for the firm (a registering user), never when staff create it.
    """
    if organisation.kind != OrganisationKind.SOFTWARE_ENTERPRISE:
        raise ValueError(f"organisation {organisation.id} is not a software enterprise")
    session.flush()  # the organisation needs its id
    existing = profile_of(session, organisation.id)
    if existing is not None:
        return existing
    member = actor is not None and actor.organisation_id == organisation.id
    profile = EnterpriseProfile(organisation=organisation, status=VerificationStatus.UNVERIFIED,
                                contact_name=(actor.name or "") if member else "",
                                contact_phone=(actor.phone or "") if member else "",
                                contact_email=(actor.email or "") if member else "")
    session.add(profile)
    session.flush()
    audit.record(session, actor=actor, action="enterprise_profile.create", object_type="enterprise_profile",
                 object_id=profile.id, after={"organisation": organisation.id}, ip=ip)
    return profile


def own_profile(session: Session, actor: User) -> EnterpriseProfile:
    """The actor's firm's profile, read only (it was created with the firm)."""
    if not can_edit(actor):
        raise PermissionDenied(_("只有软件企业的用户可以维护本企业的能力信息。"))
    profile = profile_of(session, actor.organisation_id)
    if profile is None:
        raise NotFound(_("本企业的能力信息尚未建立，请联系平台工作人员。"))
    return profile


def _require_member(actor: User, profile: EnterpriseProfile) -> None:
    if not (can_edit(actor) and policy.is_member(actor, profile)):
        raise PermissionDenied(_("您只能维护本企业的能力信息。"))


def _snapshot(profile: EnterpriseProfile) -> dict[str, Any]:
    return {
        "address": profile.address, "building": profile.building,
        "founded_on": profile.founded_on.isoformat() if profile.founded_on else None,
        "settled_year": profile.settled_year, "employees": profile.employees,
        "revenue_band": profile.revenue_band.value if profile.revenue_band else None,
        "business_scope": profile.business_scope, "capabilities": profile.capabilities,
        "domains": [d.code for d in profile.domains], "tags": profile.tags, "website": profile.website,
        "contact_name": profile.contact_name, "contact_phone": profile.contact_phone,
        "contact_email": profile.contact_email,
    }


def normalise_tags(raw: str | None) -> list[str]:
    """Tags typed with "、", commas, semicolons or new lines → a de-duplicated list ("CI/CD" stays one tag)."""
    tags: list[str] = []
    for part in _TAG_SPLIT.split(raw or ""):
        tag = part.strip()
        if tag and tag not in tags:
            tags.append(tag)
    return tags


def _text(data: dict[str, Any], name: str, limit: int, errors: dict[str, list[str]], label: str) -> str:
    value = (data.get(name) or "").strip()
    if len(value) > limit:
        errors.setdefault(name, []).append(_("%(label)s不能超过 %(n)d 个字。", label=label, n=limit))
    return value


def _year(value: Any, name: str, errors: dict[str, list[str]], *, required: bool = False,
          message: str | None = None) -> int | None:
    if value in (None, ""):
        if required:
            errors.setdefault(name, []).append(message or _("请填写年份。"))
        return None
    this_year = clock.local_today().year
    try:
        year = int(value)
    except (TypeError, ValueError):
        errors.setdefault(name, []).append(_("年份必须是四位整数，例如 2023。"))
        return None
    if year < MIN_YEAR or year > this_year:
        errors.setdefault(name, []).append(_("年份应在 %(lo)d–%(hi)d 之间。", lo=MIN_YEAR, hi=this_year))
        return None
    return year


def _clean_profile(session: Session, data: dict[str, Any]) -> tuple[dict[str, Any], list[Domain]]:
    """Validate the form's values; every problem is collected before anything changes."""
    errors: dict[str, list[str]] = {}
    clean: dict[str, Any] = {
        "address": _text(data, "address", 255, errors, _("地址")),
        "building": _text(data, "building", 128, errors, _("楼宇")),
        "business_scope": _text(data, "business_scope", 4000, errors, _("经营范围")),
        "capabilities": _text(data, "capabilities", 8000, errors, _("能力介绍")),
        "contact_name": _text(data, "contact_name", 64, errors, _("联系人")),
        "contact_phone": _text(data, "contact_phone", 32, errors, _("联系电话")),
        "contact_email": _text(data, "contact_email", 254, errors, _("联系邮箱")).lower(),
    }
    today = clock.local_today()
    founded = data.get("founded_on")
    if founded is not None and not isinstance(founded, date):
        errors.setdefault("founded_on", []).append(_("成立日期格式不正确。"))
        founded = None
    if founded is not None and founded > today:
        errors.setdefault("founded_on", []).append(_("成立日期不能晚于今天。"))
    elif founded is not None and founded.year < 1900:
        errors.setdefault("founded_on", []).append(_("成立日期不正确。"))
    clean["founded_on"] = founded
    settled = _year(data.get("settled_year"), "settled_year", errors)
    if settled is not None and founded is not None and settled < founded.year:
        errors.setdefault("settled_year", []).append(_("入驻年份不能早于成立年份。"))
    clean["settled_year"] = settled
    employees = data.get("employees")
    if employees not in (None, ""):
        try:
            employees = int(employees)
        except (TypeError, ValueError):
            employees = -1
        if not 1 <= employees <= 1_000_000:
            errors.setdefault("employees", []).append(_("员工人数应为 1–1000000 之间的整数。"))
    clean["employees"] = employees if employees not in (None, "") else None
    band = data.get("revenue_band") or None
    if band is not None:
        try:
            band = RevenueBand(band)
        except ValueError:
            errors.setdefault("revenue_band", []).append(_("请选择有效的营收规模。"))
            band = None
    clean["revenue_band"] = band

    codes = [c for c in (data.get("domains") or []) if c]
    domains = list(session.execute(sa.select(Domain).where(Domain.code.in_(codes)).order_by(Domain.sort_order))
                   .scalars()) if codes else []
    if len(domains) != len(set(codes)):
        errors.setdefault("domains", []).append(_("请选择有效的产业领域。"))

    tags = normalise_tags(data.get("tags"))
    long_tags = [t for t in tags if len(t) > MAX_TAG_LENGTH]
    if long_tags:
        errors.setdefault("tags", []).append(_("每个标签不超过 %(n)d 个字：%(tags)s", n=MAX_TAG_LENGTH,
                                               tags="、".join(long_tags)))
    if len(tags) > MAX_TAGS:
        errors.setdefault("tags", []).append(_("标签最多 %(n)d 个。", n=MAX_TAGS))
    clean["tags"] = "、".join(tags)

    website = (data.get("website") or "").strip()
    if website and not re.match(r"^https?://", website, re.IGNORECASE):
        website = "https://" + website
    if website and (len(website) > 255 or not _URL.match(website)):
        errors.setdefault("website", []).append(_("网址格式不正确，例如 https://www.example.com。"))
    clean["website"] = website or None
    if clean["contact_phone"] and not _PHONE.match(clean["contact_phone"]):
        errors.setdefault("contact_phone", []).append(_("联系电话格式不正确，例如 023-63001234 或 13800000000。"))
    if clean["contact_email"] and not _EMAIL.match(clean["contact_email"]):
        errors.setdefault("contact_email", []).append(_("邮箱格式不正确。"))
    if errors:
        raise ValidationFailed(_("企业信息有误，请按提示修改：%(detail)s",
                                 detail=joined(errors)), errors)
    return clean, domains


def submission_problems(profile: EnterpriseProfile) -> dict[str, list[str]]:
    """What a profile lacks to be submitted for verification, field by field."""
    problems: dict[str, list[str]] = {}
    if len((profile.business_scope or "").strip()) < 4:
        problems["business_scope"] = [_("请填写经营范围（与营业执照一致）。")]
    if len((profile.capabilities or "").strip()) < 10:
        problems["capabilities"] = [_("请填写能力介绍（至少 10 个字）。")]
    if not profile.domains:
        problems["domains"] = [_("请至少选择一个产业领域。")]
    return problems


def update_profile(session: Session, actor: User, profile: EnterpriseProfile, data: dict[str, Any],
                   ip: str | None = None) -> list[str]:
    """Save the firm's edits; returns the names of the fields that changed.

    A verified profile stays public (see the module docstring); a submitted or verified one
    cannot lose a field that verification requires.
    """
    _require_member(actor, profile)
    clean, domains = _clean_profile(session, data)
    before = _snapshot(profile)
    proposed = {**clean, "founded_on": clean["founded_on"].isoformat() if clean["founded_on"] else None,
                "revenue_band": clean["revenue_band"].value if clean["revenue_band"] else None,
                "domains": [d.code for d in domains]}
    if profile.status in (VerificationStatus.PENDING, VerificationStatus.VERIFIED):
        missing = {}
        if len(clean["business_scope"]) < 4:
            missing["business_scope"] = [_("已提交核验的企业信息不能清空经营范围。")]
        if len(clean["capabilities"]) < 10:
            missing["capabilities"] = [_("已提交核验的企业信息需要保留能力介绍（至少 10 个字）。")]
        if not domains:
            missing["domains"] = [_("已提交核验的企业信息至少保留一个产业领域。")]
        if missing:
            raise ValidationFailed(joined(missing), missing)
    changed = [name for name in PROFILE_FIELDS if before[name] != proposed[name]]
    if not changed:
        return []
    for name, value in clean.items():
        setattr(profile, name, value)
    profile.domains = domains
    session.flush()
    substantive = [name for name in changed if name in SUBSTANTIVE_FIELDS]
    revised = profile.status == VerificationStatus.VERIFIED and bool(substantive)
    audit.record(session, actor=actor, action="enterprise_profile.revise" if revised else "enterprise_profile.update",
                 object_type="enterprise_profile", object_id=profile.id,
                 before={k: before[k] for k in changed},
                 after={**{k: proposed[k] for k in changed}, "status": profile.status.value}, ip=ip)
    return changed


def submit(session: Session, actor: User, profile: EnterpriseProfile, ip: str | None = None) -> None:
    """Ask district staff to verify the profile (from unverified or rejected)."""
    _require_member(actor, profile)
    if profile.status == VerificationStatus.PENDING:
        raise InvalidTransition(_("企业信息已提交核验，请等待区县工作人员处理。"))
    if profile.status == VerificationStatus.VERIFIED:
        raise InvalidTransition(_("企业信息已通过核验，无需再次提交。"))
    problems = submission_problems(profile)
    if problems:
        raise ValidationFailed(_("提交核验前还需完善：%(items)s",
                                 items=joined(problems)), problems)
    before = profile.status.value
    profile.status = VerificationStatus.PENDING
    profile.review_note = None
    session.flush()
    audit.record(session, actor=actor, action="enterprise_profile.submit", object_type="enterprise_profile",
                 object_id=profile.id, before={"status": before}, after={"status": profile.status.value}, ip=ip)
    notify(session, _reviewers_of(session, profile), "enterprise.submitted",
           _("%(name)s提交了企业信息核验", name=profile.organisation.name)[:200],
           _("请在“企业核验”中核对其经营范围、能力介绍和资质证明。"), path_for("enterprises.review"))


def _reviewers_of(session: Session, profile: EnterpriseProfile) -> list[User]:
    """District staff of the firm's district; city staff when the district has none."""
    district_id = profile.organisation.district_id
    staff: list[User] = []
    if district_id is not None:
        staff = list(session.execute(
            sa.select(User).join(User.organisation)
            .where(User.role == Role.DISTRICT_STAFF, User.active, Organisation.district_id == district_id)
        ).scalars())
    if not staff:
        staff = list(session.execute(sa.select(User).where(User.role == Role.CITY_STAFF, User.active)).scalars())
    return staff


def path_for(endpoint: str, **values: Any) -> str:
    """A site-relative URL that works with or without a request (notifications store paths)."""
    return current_app.url_map.bind("localhost").build(endpoint, values)


# ------------------------------------------------------------------ completeness

@dataclass
class Completeness:
    """How complete a profile is, for the firm's workspace."""

    done: int
    total: int
    missing: list[str] = field(default_factory=list)

    @property
    def percent(self) -> int:
        return round(100 * self.done / self.total) if self.total else 100


def completeness(profile: EnterpriseProfile | None) -> Completeness:
    """Share of the profile's parts filled in, with the labels of what is missing."""
    checks: list[tuple[bool, str]] = [
        (bool(profile and profile.business_scope.strip()), _("经营范围")),
        (bool(profile and len(profile.capabilities.strip()) >= 10), _("能力介绍")),
        (bool(profile and profile.domains), _("产业领域")),
        (bool(profile and profile.tag_list), _("技术标签")),
        (bool(profile and profile.address.strip() and profile.building.strip()), _("地址和楼宇")),
        (bool(profile and profile.founded_on), _("成立日期")),
        (bool(profile and profile.employees), _("员工人数")),
        (bool(profile and profile.revenue_band), _("营收规模")),
        (bool(profile and profile.contact_name and profile.contact_phone), _("业务联系人")),
        (bool(profile and profile.qualifications), _("资质")),
        (bool(profile and profile.cases), _("项目案例")),
    ]
    missing = [label for ok, label in checks if not ok]
    return Completeness(len(checks) - len(missing), len(checks), missing)


# ------------------------------------------------------------------ qualifications

def _qualification_snapshot(q: Qualification) -> dict[str, Any]:
    return {"kind": q.kind.value, "detail": q.detail, "year": q.year, "evidence": q.evidence_id,
            "status": q.status.value, "profile": q.profile_id}


def add_qualification(session: Session, actor: User, profile: EnterpriseProfile, data: dict[str, Any],
                      evidence: Upload | None, ip: str | None = None) -> Qualification:
    """Record a qualification with its evidence file; it stays pending until staff verify it."""
    _require_member(actor, profile)
    errors: dict[str, list[str]] = {}
    kind = None
    try:
        kind = QualificationKind(data.get("kind") or "")
    except ValueError:
        errors["kind"] = [_("请选择资质类型。")]
    detail = (data.get("detail") or "").strip()
    if len(detail) > 128:
        errors["detail"] = [_("说明不能超过 128 个字。")]
    elif kind == QualificationKind.CMMI and not detail:
        errors["detail"] = [_("请填写 CMMI 等级，例如“3级”。")]
    elif kind == QualificationKind.OTHER and not detail:
        errors["detail"] = [_("请填写资质名称。")]
    year = _year(data.get("year"), "year", errors, required=True, message=_("请填写取得资质的年份。"))
    if evidence is None or not getattr(evidence, "filename", None):
        errors["evidence"] = [_("请上传资质证明文件（PDF、PNG 或 JPEG）。")]
    if kind is not None and "detail" not in errors:
        for existing in profile.qualifications:
            if (existing.kind == kind and (existing.detail or "").strip().lower() == detail.lower()
                    and existing.status in (VerificationStatus.PENDING, VerificationStatus.VERIFIED)):
                errors.setdefault("kind", []).append(_("该资质已登记（%(status)s），无需重复添加。",
                                                       status=existing.status.label))
                break
    if len(profile.qualifications) >= MAX_QUALIFICATIONS:
        errors.setdefault("kind", []).append(_("资质最多登记 %(n)d 项，请先删除过期的资质。", n=MAX_QUALIFICATIONS))
    if errors:
        raise ValidationFailed(_("资质信息有误：%(detail)s", detail=joined(errors)),
                               errors)
    # Only now is the file read and stored: a refused form never leaves a stray file behind.
    attachment = attachments.store(session, evidence, AttachmentPurpose.QUALIFICATION_EVIDENCE, actor,
                                   field="evidence", allowed=EVIDENCE_TYPES)
    qualification = Qualification(profile=profile, kind=kind, detail=detail or None, year=year, evidence=attachment,
                                  status=VerificationStatus.PENDING)
    session.add(qualification)
    session.flush()
    audit.record(session, actor=actor, action="qualification.add", object_type="qualification",
                 object_id=qualification.id, after=_qualification_snapshot(qualification), ip=ip)
    return qualification


def _own_qualification(session: Session, actor: User, qualification_id: int) -> Qualification:
    qualification = session.get(Qualification, qualification_id)
    if qualification is None or not policy.is_member(actor, qualification.profile):
        raise NotFound(_("找不到该资质。"))
    _require_member(actor, qualification.profile)
    return qualification


def remove_qualification(session: Session, actor: User, qualification_id: int, ip: str | None = None) -> None:
    """The firm removes one of its qualifications (e.g. an expired certificate)."""
    qualification = _own_qualification(session, actor, qualification_id)
    before = _qualification_snapshot(qualification)
    profile = qualification.profile
    profile.qualifications.remove(qualification)
    session.flush()
    audit.record(session, actor=actor, action="qualification.remove", object_type="qualification",
                 object_id=qualification_id, before=before, ip=ip)


# ------------------------------------------------------------------ past cases

def _clean_case(data: dict[str, Any]) -> dict[str, Any]:
    errors: dict[str, list[str]] = {}
    title = (data.get("title") or "").strip()
    if not title:
        errors["title"] = [_("请填写项目名称。")]
    elif len(title) > 200:
        errors["title"] = [_("项目名称不能超过 200 个字。")]
    client = (data.get("client") or "").strip()
    if len(client) > 128:
        errors["client"] = [_("客户名称不能超过 128 个字。")]
    year = _year(data.get("year"), "year", errors)
    amount = data.get("amount_wan")
    if amount in ("", None):
        amount = None
    else:
        try:
            amount = Decimal(str(amount))
        except InvalidOperation:
            amount = None
            errors["amount_wan"] = [_("合同金额必须是数字（万元）。")]
        else:
            if not amount.is_finite() or amount <= 0:
                errors["amount_wan"] = [_("合同金额必须大于 0（万元）。")]
            elif amount > MAX_AMOUNT_WAN:
                errors["amount_wan"] = [_("合同金额过大，请以万元为单位填写。")]
            else:
                amount = amount.quantize(Decimal("0.01"))
    description = (data.get("description") or "").strip()
    if len(description) > 4000:
        errors["description"] = [_("项目简介不能超过 4000 个字。")]
    if errors:
        raise ValidationFailed(_("项目案例有误：%(detail)s", detail=joined(errors)),
                               errors)
    return {"title": title, "client": client, "year": year, "amount_wan": amount, "description": description}


def _case_snapshot(case: ProfileCase) -> dict[str, Any]:
    return {"title": case.title, "client": case.client, "year": case.year,
            "amount_wan": f"{case.amount_wan:.2f}" if case.amount_wan is not None else None,
            "description": case.description, "profile": case.profile_id}


def add_case(session: Session, actor: User, profile: EnterpriseProfile, data: dict[str, Any],
             ip: str | None = None) -> ProfileCase:
    """Add a past project to the firm's profile."""
    _require_member(actor, profile)
    clean = _clean_case(data)
    if len(profile.cases) >= MAX_CASES:
        raise ValidationFailed(_("项目案例最多 %(n)d 个。", n=MAX_CASES), {"title": [_("项目案例已达上限。")]})
    case = ProfileCase(profile=profile, **clean)
    session.add(case)
    session.flush()
    audit.record(session, actor=actor, action="profile_case.add", object_type="profile_case", object_id=case.id,
                 after=_case_snapshot(case), ip=ip)
    return case


def own_case(session: Session, actor: User, case_id: int) -> ProfileCase:
    """One of the actor's firm's cases (404 for anybody else's)."""
    case = session.get(ProfileCase, case_id)
    if case is None or not policy.is_member(actor, case.profile):
        raise NotFound(_("找不到该项目案例。"))
    _require_member(actor, case.profile)
    return case


def update_case(session: Session, actor: User, case_id: int, data: dict[str, Any],
                ip: str | None = None) -> ProfileCase:
    """Edit one past project."""
    case = own_case(session, actor, case_id)
    clean = _clean_case(data)
    before = _case_snapshot(case)
    for name, value in clean.items():
        setattr(case, name, value)
    session.flush()
    audit.record(session, actor=actor, action="profile_case.update", object_type="profile_case", object_id=case.id,
                 before=before, after=_case_snapshot(case), ip=ip)
    return case


def remove_case(session: Session, actor: User, case_id: int, ip: str | None = None) -> None:
    """Delete one past project."""
    case = own_case(session, actor, case_id)
    before = _case_snapshot(case)
    case.profile.cases.remove(case)
    session.flush()
    audit.record(session, actor=actor, action="profile_case.remove", object_type="profile_case", object_id=case_id,
                 before=before, ip=ip)


# ------------------------------------------------------------------ workspace panels

def firm_panel(session: Session, user: User) -> dict[str, Any]:
    """Data of the enterprise workspace panel: completeness and verification status."""
    profile = profile_of(session, user.organisation_id) if user.organisation_id else None
    pending = sum(1 for q in profile.qualifications if q.status == VerificationStatus.PENDING) if profile else 0
    return {"profile": profile, "completeness": completeness(profile),
            "status": profile.status if profile else VerificationStatus.UNVERIFIED,
            "pending_qualifications": pending, "public": bool(profile and policy.is_public(profile))}


