"""Rules for approving owner registrations and managing users and organisations."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from flask_babel import gettext as _
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from marketplace import audit, clock, mail
from marketplace.auth.passwords import check_policy
from marketplace.auth.services import hash_password, normalise_email
from marketplace.enterprises.services import create_profile
from marketplace.errors import InvalidTransition, NotFound, PermissionDenied, ValidationFailed
from marketplace.models import ApprovalStatus, District, Organisation, OrganisationKind, Role, User

#: Organisation kinds each role's users must belong to (experts may belong to any or none).
ROLE_ORGANISATION_KINDS: dict[Role, tuple[OrganisationKind, ...]] = {
    Role.OWNER: OrganisationKind.owner_kinds(),
    Role.ENTERPRISE: (OrganisationKind.SOFTWARE_ENTERPRISE,),
    Role.DISTRICT_STAFF: (OrganisationKind.DISTRICT_OFFICE,),
    Role.CITY_STAFF: (OrganisationKind.CITY_OFFICE,),
}


def _require_city(actor: User) -> None:
    if actor.role != Role.CITY_STAFF:
        raise PermissionDenied(_("只有市级工作人员可以管理用户和单位。"))


def can_decide_registration(actor: User, user: User) -> bool:
    """District staff decide registrations in their district; city staff decide all."""
    if actor.role == Role.CITY_STAFF:
        return True
    return actor.role == Role.DISTRICT_STAFF and user.district_id is not None and user.district_id == actor.district_id


def decide_registration(session: Session, actor: User, user_id: int, approve: bool, reason: str | None,
                        ip: str | None) -> User:
    """Approve or reject a pending owner registration, and tell the applicant by mail."""
    # Under the row's lock, read afresh: a second staff member deciding at the same moment is refused below.
    user = session.get(User, user_id, with_for_update=True, populate_existing=True)
    if user is None or not can_decide_registration(actor, user):
        # Another district's registration is not on this staff member's list: "not found", like a missing one
        # (a 403 told them that the account exists).
        raise NotFound(_("找不到该用户。"))
    if user.approval_status != ApprovalStatus.PENDING:
        raise InvalidTransition(_("该注册申请已处理。"))
    if not approve and not (reason or "").strip():
        raise ValidationFailed(_("不通过时请填写说明。"), {"reason": [_("不通过时请填写说明。")]})
    user.approval_status = ApprovalStatus.APPROVED if approve else ApprovalStatus.REJECTED
    user.approved_by = actor
    user.approved_at = clock.now()
    audit.record(session, actor=actor, action="user.approve" if approve else "user.reject", object_type="user",
                 object_id=user.id, before={"approval": "pending"},
                 after={"approval": user.approval_status.value, "reason": reason}, ip=ip)
    if approve:
        body = _("%(name)s，您好：\n\n您在应用场景揭榜平台的注册申请已审核通过，现在可以登录发布应用场景。", name=user.name)
    else:
        body = _("%(name)s，您好：\n\n您在应用场景揭榜平台的注册申请未通过审核。说明：%(reason)s", name=user.name,
                 reason=reason)
    mail.enqueue(session, user.email, _("注册审核结果"), body)
    return user


def _organisation(session: Session, organisation_id: int | None) -> Organisation | None:
    if not organisation_id:
        return None
    organisation = session.get(Organisation, organisation_id)
    if organisation is None:
        raise ValidationFailed(_("请选择有效的单位。"), {"organisation_id": [_("请选择有效的单位。")]})
    return organisation


def _check_role_organisation(role: Role, organisation: Organisation | None) -> None:
    kinds = ROLE_ORGANISATION_KINDS.get(role)
    if kinds is None:
        return
    if organisation is None or organisation.kind not in kinds:
        allowed = "、".join(k.label for k in kinds)
        raise ValidationFailed(
            _("该角色的用户必须属于：%(kinds)s。", kinds=allowed),
            {"organisation_id": [_("该角色的用户必须属于：%(kinds)s。", kinds=allowed)]},
        )


def save_user(session: Session, actor: User, user: User | None, data: dict[str, Any], ip: str | None) -> User:
    """Create or update a user (city staff only); an enterprise user's firm gets its profile if it had none."""
    _require_city(actor)
    email = normalise_email(data["email"])
    clash = session.execute(sa.select(User.id).where(User.email == email)).scalar_one_or_none()
    if clash is not None and (user is None or clash != user.id):
        raise ValidationFailed(_("该邮箱已注册。"), {"email": [_("该邮箱已被其他账号使用。")]})
    role = Role(data["role"])
    organisation = _organisation(session, data.get("organisation_id"))
    _check_role_organisation(role, organisation)
    if user is not None and user.id == actor.id and (role != Role.CITY_STAFF or not data.get("active", True)):
        raise ValidationFailed(_("不能停用自己的账号或取消自己的市级权限。"), {"role": [_("不能修改自己的角色或停用自己。")]})
    before = None
    if user is None:
        if not data.get("password"):
            raise ValidationFailed(_("请设置初始密码。"), {"password": [_("新建账号时请设置初始密码。")]})
        user = User(approval_status=ApprovalStatus.APPROVED, password_hash="")
        session.add(user)
    else:
        before = {"email": user.email, "role": user.role.value, "active": user.active,
                  "organisation_id": user.organisation_id}
    if data.get("password"):
        check_policy(data["password"], email=email, name=data.get("name"))
    if before is not None and (role != user.role or not data.get("active", True)):
        user.end_sessions()  # a role change or deactivation takes effect on every signed-in browser at once
    user.email = email
    user.name = data["name"].strip()
    user.phone = (data.get("phone") or "").strip() or None
    user.role = role
    user.organisation = organisation
    user.active = bool(data.get("active", True))
    if data.get("password"):
        user.password_hash = hash_password(data["password"])
    try:
        with session.begin_nested():
            session.flush()
    except IntegrityError:  # the same e-mail saved twice at the same moment (a double click, two staff members)
        raise ValidationFailed(_("该邮箱已注册。"), {"email": [_("该邮箱已被其他账号使用。")]}) from None
    audit.record(session, actor=actor, action="user.create" if before is None else "user.update", object_type="user",
                 object_id=user.id, before=before,
                 after={"email": user.email, "role": user.role.value, "active": user.active,
                        "organisation_id": user.organisation_id}, ip=ip)
    if role == Role.ENTERPRISE and organisation is not None:
        create_profile(session, organisation, actor, ip)  # the firm's profile, unless it has one already
    return user


def save_organisation(session: Session, actor: User, organisation: Organisation | None, data: dict[str, Any],
                      ip: str | None) -> Organisation:
    """Create or update an organisation (city staff only); a software firm gets its empty profile."""
    _require_city(actor)
    name = data["name"].strip()
    uscc = data.get("uscc") or None
    clash = session.execute(sa.select(Organisation.id).where(Organisation.name == name)).scalar_one_or_none()
    if clash is not None and (organisation is None or clash != organisation.id):
        raise ValidationFailed(_("单位名称已存在。"), {"name": [_("已有同名单位。")]})
    if uscc:
        clash = session.execute(sa.select(Organisation.id).where(Organisation.uscc == uscc)).scalar_one_or_none()
        if clash is not None and (organisation is None or clash != organisation.id):
            raise ValidationFailed(_("统一社会信用代码已存在。"), {"uscc": [_("已有单位使用该统一社会信用代码。")]})
    district = None
    if data.get("district"):
        district = session.execute(sa.select(District).where(District.code == data["district"])).scalar_one_or_none()
    kind = OrganisationKind(data["kind"])
    if kind == OrganisationKind.DISTRICT_OFFICE and district is None:
        raise ValidationFailed(_("区县工作部门必须选择区县。"), {"district": [_("区县工作部门必须选择区县。")]})
    before = None
    if organisation is None:
        organisation = Organisation()
        session.add(organisation)
    else:
        before = {"name": organisation.name, "kind": organisation.kind.value, "uscc": organisation.uscc,
                  "active": organisation.active}
    organisation.name = name
    organisation.kind = kind
    organisation.uscc = uscc
    organisation.district = district
    organisation.active = bool(data.get("active", True))
    try:
        with session.begin_nested():
            session.flush()
    except IntegrityError:  # the same name or code saved twice at the same moment (a double click, two staff)
        message = _("单位名称或统一社会信用代码已被其他单位使用。")
        raise ValidationFailed(message, {"name": [message]}) from None
    audit.record(session, actor=actor, action="organisation.create" if before is None else "organisation.update",
                 object_type="organisation", object_id=organisation.id, before=before,
                 after={"name": organisation.name, "kind": organisation.kind.value, "uscc": organisation.uscc,
                        "active": organisation.active}, ip=ip)
    if kind == OrganisationKind.SOFTWARE_ENTERPRISE:
        create_profile(session, organisation, actor, ip)  # a new firm, or an organisation that became one
    return organisation
