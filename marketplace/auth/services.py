"""Account rules: sign-in with throttling, registration, passwords.

Services add and flush; the view commits once.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import sqlalchemy as sa
from flask import current_app
from flask_babel import gettext as _
from sqlalchemy.orm import Session

from marketplace import audit, clock, mail
from marketplace.auth import passwords, throttle, tokens
from marketplace.enterprises.services import create_profile
from marketplace.errors import DomainError, ValidationFailed
from marketplace.legal import services as legal
from marketplace.models import (
    ApprovalStatus,
    District,
    LoginAttempt,
    Organisation,
    OrganisationKind,
    Role,
    User,
)


def hash_password(password: str) -> str:
    """Hash with the configured algorithm (scrypt by default)."""
    return passwords.hash_password(password)


def normalise_email(email: str) -> str:
    return (email or "").strip().lower()


def _district(session: Session, code: str) -> District:
    district = session.execute(sa.select(District).where(District.code == code)).scalar_one_or_none()
    if district is None:
        raise ValidationFailed(_("请选择有效的区县。"), {"district": [_("请选择有效的区县。")]})
    return district


def authenticate(session: Session, email: str, password: str, ip: str, device: str | None = None) -> User:
    """Check the credentials and account state; record the attempt.

    *device* is the id of a valid device cookie the browser holds for this e-mail (see
    :mod:`marketplace.auth.throttle`). Raises :class:`~marketplace.auth.throttle.LoginThrottled` (429)
    while a delay runs, :class:`DomainError` with a message for the form otherwise. A failed attempt is
    counted in the throttle store and recorded as a ``LoginAttempt`` row (the view commits it).
    The password is checked against a dummy hash of the same method when the e-mail is unknown, so an
    unknown address costs what a known one costs.
    """
    email = normalise_email(email)
    throttle.check(email, ip, device)
    user = session.execute(sa.select(User).where(User.email == email)).scalar_one_or_none()
    ok = passwords.verify(user.password_hash if user else None, password) and user is not None
    session.add(LoginAttempt(email=email, ip=ip, success=ok))
    session.flush()
    if not ok or user is None or not user.email_confirmed:
        if not ok:
            throttle.failed(email, ip, device)
        # An unconfirmed self-registration answers like a wrong password: the registration form must
        # not tell whether an address was already registered, so neither may signing in with it.
        raise DomainError(_("邮箱或密码不正确。"))
    if user.approval_status == ApprovalStatus.PENDING:
        raise DomainError(_("您的账号正在等待区县或市级工作人员审核，审核通过后即可登录。"))
    if user.approval_status == ApprovalStatus.REJECTED:
        raise DomainError(_("您的注册申请未通过审核，请联系所在区县经济信息委。"))
    if not user.active:
        raise DomainError(_("该账号已被停用，请联系平台管理员。"))
    user.last_login_at = clock.now()
    return user


def _registered(session: Session, email: str) -> User | None:
    return session.execute(sa.select(User).where(User.email == email)).scalar_one_or_none()


def _notify_owner_of_attempt(session: Session, user: User) -> None:
    """Someone tried to register an address that already has an account: tell its owner (the form
    answers as for a new address, so it reveals nothing)."""
    mail.enqueue(
        session, user.email, _("有人尝试用您的邮箱在应用场景揭榜平台注册"),
        _("%(name)s，您好：\n\n有人刚刚尝试用您的邮箱在平台注册新账号。您的邮箱已有账号，无需再次注册；"
          "如果是您本人，请直接登录，忘记密码可在此重置：\n%(link)s\n\n如果不是您本人操作，请忽略本邮件，"
          "您的账号不受影响。", name=user.name, link=mail.site_link("auth.request_reset")),
    )


def _send_confirmation(session: Session, user: User) -> None:
    token = tokens.dumps("email-confirm", {"u": user.id, "e": user.email})
    link = mail.site_link("auth.confirm_email", token=token)
    mail.enqueue(
        session, user.email, _("请确认您在应用场景揭榜平台注册的邮箱"),
        _("%(name)s，您好：\n\n请在 7 天内打开以下链接确认邮箱，完成注册：\n%(link)s\n\n"
          "如果不是您本人操作，请忽略本邮件。", name=user.name, link=link),
    )


@dataclass
class Registration:
    """The personal part of a registration form."""

    name: str
    email: str
    phone: str
    password: str
    #: The 用户协议 and 隐私政策 were accepted (the form's checkbox); registration is refused otherwise.
    consent: bool = False


def register_enterprise(
    session: Session, person: Registration, organisation_name: str, uscc: str, district_code: str, ip: str | None
) -> User:
    """Register a software firm, its first user and the firm's empty profile; the user signs in once
    the address is confirmed through the mailed link. Returns None when the address already has an
    account: its owner is sent a notice instead, and the caller answers exactly as for a new address."""
    legal.require_consent(person.consent)
    email = normalise_email(person.email)
    passwords.check_policy(person.password, email=email, name=person.name)
    district = _district(session, district_code)
    if session.execute(sa.select(Organisation.id).where(Organisation.uscc == uscc)).first():
        raise ValidationFailed(
            _("该统一社会信用代码已注册。"),
            {"uscc": [_("该统一社会信用代码已有企业注册，请联系本企业已注册的同事在平台添加账号。")]},
        )
    if session.execute(sa.select(Organisation.id).where(Organisation.name == organisation_name.strip())).first():
        raise ValidationFailed(_("该企业名称已注册。"), {"organisation_name": [_("该企业名称已注册。")]})
    existing = _registered(session, email)
    if existing is not None:
        _notify_owner_of_attempt(session, existing)
        return None
    organisation = Organisation(
        name=organisation_name.strip(), kind=OrganisationKind.SOFTWARE_ENTERPRISE, uscc=uscc, district=district
    )
    user = User(
        email=email, name=person.name.strip(), phone=person.phone.strip(), password_hash=hash_password(person.password),
        organisation=organisation, role=Role.ENTERPRISE, approval_status=ApprovalStatus.APPROVED,
        email_confirmed=False,
    )
    session.add_all([organisation, user])
    session.flush()
    legal.record_consent(session, user, ip)
    _send_confirmation(session, user)
    audit.record(session, actor=user, action="user.register", object_type="user", object_id=user.id,
                 after={"role": user.role.value, "organisation": organisation.name}, ip=ip)
    create_profile(session, organisation, user, ip)
    return user


def register_owner(
    session: Session,
    person: Registration,
    *,
    organisation_id: int | None,
    new_name: str | None,
    new_kind: str | None,
    new_uscc: str | None,
    district_code: str,
    ip: str | None,
) -> User | None:
    """Register an owner user; the account waits for a confirmed address and district or city staff
    approval. Returns None (and mails the owner a notice) when the address already has an account."""
    legal.require_consent(person.consent)
    email = normalise_email(person.email)
    passwords.check_policy(person.password, email=email, name=person.name)
    district = _district(session, district_code)
    if organisation_id:
        organisation = session.get(Organisation, organisation_id)
        if organisation is None or organisation.kind not in OrganisationKind.owner_kinds():
            raise ValidationFailed(_("请选择有效的单位。"), {"organisation_id": [_("请选择有效的单位。")]})
    else:
        name = (new_name or "").strip()
        if session.execute(sa.select(Organisation.id).where(Organisation.name == name)).first():
            raise ValidationFailed(
                _("该单位已登记。"), {"new_organisation_name": [_("该单位已在平台登记，请在“所属单位”中选择。")]}
            )
        if new_uscc and session.execute(sa.select(Organisation.id).where(Organisation.uscc == new_uscc)).first():
            raise ValidationFailed(_("该统一社会信用代码已登记。"),
                                   {"new_organisation_uscc": [_("该统一社会信用代码已有单位登记。")]})
        kind = OrganisationKind(new_kind or OrganisationKind.GOVERNMENT.value)
        if kind not in OrganisationKind.owner_kinds():
            raise ValidationFailed(_("单位类型无效。"), {"new_organisation_kind": [_("单位类型无效。")]})
        organisation = Organisation(name=name, kind=kind, uscc=new_uscc or None, district=district)
    existing = _registered(session, email)
    if existing is not None:
        _notify_owner_of_attempt(session, existing)
        return None
    session.add(organisation)
    user = User(
        email=email, name=person.name.strip(), phone=person.phone.strip(), password_hash=hash_password(person.password),
        organisation=organisation, role=Role.OWNER, approval_status=ApprovalStatus.PENDING,
        email_confirmed=False,
    )
    session.add(user)
    session.flush()
    legal.record_consent(session, user, ip)
    _send_confirmation(session, user)
    audit.record(session, actor=user, action="user.register", object_type="user", object_id=user.id,
                 after={"role": user.role.value, "organisation": organisation.name, "approval": "pending"}, ip=ip)
    return user


def change_password(session: Session, user: User, current: str, new: str, ip: str | None) -> None:
    """Change a signed-in user's password after checking the current one; every other session ends."""
    if not passwords.verify(user.password_hash, current):
        raise ValidationFailed(_("当前密码不正确。"), {"current_password": [_("当前密码不正确。")]})
    passwords.check_policy(new, email=user.email, name=user.name)
    user.password_hash = hash_password(new)
    user.end_sessions()
    audit.record(session, actor=user, action="user.password_change", object_type="user", object_id=user.id, ip=ip)


def end_all_sessions(session: Session, user: User, ip: str | None) -> None:
    """"Sign out everywhere": every session of the account, this one included, stops working."""
    user.end_sessions()
    audit.record(session, actor=user, action="user.sessions_end", object_type="user", object_id=user.id, ip=ip)


def _password_fingerprint(user: User) -> str:
    # The token names the current hash, so it stops working once the password changes (single use).
    return hashlib.sha256(user.password_hash.encode()).hexdigest()[:16]


def request_password_reset(session: Session, email: str) -> None:
    """Mail a reset link when the address belongs to an account; say nothing either way."""
    user = session.execute(sa.select(User).where(User.email == normalise_email(email))).scalar_one_or_none()
    if user is None or not user.active:
        return
    token = tokens.dumps("password-reset", {"u": user.id, "h": _password_fingerprint(user)})
    link = mail.site_link("auth.reset_password", token=token)
    mail.enqueue(
        session, user.email, _("重置您在应用场景揭榜平台的密码"),
        _("%(name)s，您好：\n\n请在 1 小时内打开以下链接设置新密码：\n%(link)s\n\n如果不是您本人操作，请忽略本邮件。",
          name=user.name, link=link),
    )


def user_for_reset_token(session: Session, token: str) -> User:
    """The user a valid, unused, unexpired reset token belongs to."""
    data = tokens.loads("password-reset", token, current_app.config["PASSWORD_RESET_MAX_AGE"],
                        expired=_("重置链接已过期，请重新申请。"), invalid=_("重置链接无效，请重新申请。"))
    user = session.get(User, data.get("u")) if isinstance(data.get("u"), int) else None
    if user is None or data.get("h") != _password_fingerprint(user):
        raise DomainError(_("重置链接已使用或无效，请重新申请。"))
    return user


def reset_password(session: Session, token: str, new: str, ip: str | None) -> User:
    """Set a new password from a reset token (the token is then spent; every session ends). The link
    proves the mailbox, so an unconfirmed address counts as confirmed."""
    user = user_for_reset_token(session, token)
    passwords.check_policy(new, email=user.email, name=user.name)
    user.password_hash = hash_password(new)
    user.email_confirmed = True
    user.end_sessions()
    audit.record(session, actor=user, action="user.password_reset", object_type="user", object_id=user.id, ip=ip)
    return user


# ------------------------------------------------------------------ e-mail confirmation and change


def user_for_confirmation(session: Session, token: str) -> User:
    """The user a registration confirmation link belongs to (the address must still be the account's)."""
    data = tokens.loads("email-confirm", token, current_app.config["EMAIL_CONFIRM_MAX_AGE"],
                        expired=_("确认链接已过期，请重新注册或通过“忘记密码”重置。"), invalid=_("确认链接无效。"))
    user = session.get(User, data.get("u")) if isinstance(data.get("u"), int) else None
    if user is None or data.get("e") != user.email:
        raise DomainError(_("确认链接无效。"))
    if user.email_confirmed:  # single use: the link must not stay a way to sign in
        raise DomainError(_("该邮箱已确认，请直接登录。"))
    return user


def confirm_email(session: Session, token: str, ip: str | None) -> User:
    user = user_for_confirmation(session, token)
    user.email_confirmed = True
    audit.record(session, actor=user, action="user.email_confirm", object_type="user", object_id=user.id, ip=ip)
    return user


def request_email_change(session: Session, user: User, new_email: str, password: str) -> None:
    """Mail a confirmation link to the new address; the account keeps its address until the link is
    used. An address that already has an account gets a notice instead (the answer is the same)."""
    if not passwords.verify(user.password_hash, password):
        raise ValidationFailed(_("当前密码不正确。"), {"password": [_("当前密码不正确。")]})
    new_email = normalise_email(new_email)
    if new_email == user.email:
        raise ValidationFailed(_("新邮箱与当前邮箱相同。"), {"email": [_("新邮箱与当前邮箱相同。")]})
    existing = _registered(session, new_email)
    if existing is not None:
        mail.enqueue(session, new_email, _("有人尝试将其平台账号的邮箱改为您的邮箱"),
                     _("%(name)s，您好：\n\n平台上另一个账号刚刚尝试把邮箱改为您的邮箱；您的账号不受影响，"
                       "无需任何操作。", name=existing.name))
        return
    token = tokens.dumps("email-change", {"u": user.id, "old": user.email, "new": new_email})
    link = mail.site_link("auth.confirm_email_change", token=token)
    mail.enqueue(session, new_email, _("请确认您在应用场景揭榜平台的新邮箱"),
                 _("%(name)s，您好：\n\n请在 24 小时内打开以下链接，把账号邮箱改为本邮箱：\n%(link)s\n\n"
                   "如果不是您本人操作，请忽略本邮件。", name=user.name, link=link))
    mail.enqueue(session, user.email, _("您的账号正在更换邮箱"),
                 _("%(name)s，您好：\n\n您的账号刚刚申请把邮箱改为 %(new)s，确认链接已发到新邮箱。"
                   "如果不是您本人操作，请立即修改密码。", name=user.name, new=new_email))


def _email_change(session: Session, token: str) -> tuple[User, str]:
    data = tokens.loads("email-change", token, current_app.config["EMAIL_CHANGE_MAX_AGE"],
                        expired=_("确认链接已过期，请重新申请更换邮箱。"), invalid=_("确认链接无效。"))
    user = session.get(User, data.get("u")) if isinstance(data.get("u"), int) else None
    if user is None or data.get("old") != user.email or not isinstance(data.get("new"), str):
        raise DomainError(_("确认链接已使用或无效。"))
    return user, data["new"]


def pending_email_change(session: Session, token: str) -> tuple[User, str]:
    """The account and new address a change link names (for the confirmation page)."""
    return _email_change(session, token)


def confirm_email_change(session: Session, token: str, ip: str | None) -> User:
    """Apply an e-mail change from the link sent to the new address (single use: the link names the
    old address)."""
    user, new_email = _email_change(session, token)
    if _registered(session, new_email) is not None:
        raise DomainError(_("该邮箱已被其他账号使用。"))
    before = {"email": user.email}
    user.email = new_email
    user.email_confirmed = True
    audit.record(session, actor=user, action="user.email_change", object_type="user", object_id=user.id,
                 before=before, after={"email": new_email}, ip=ip)
    return user
