"""Account rules: sign-in with throttling, registration, passwords.

Services add and flush; the view commits once.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import timedelta

import sqlalchemy as sa
from flask import current_app, url_for
from flask_babel import gettext as _
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from sqlalchemy.orm import Session
from werkzeug.security import check_password_hash, generate_password_hash

from marketplace import audit, clock, mail
from marketplace.enterprises.services import create_profile
from marketplace.errors import DomainError, ValidationFailed
from marketplace.models import (
    ApprovalStatus,
    District,
    LoginAttempt,
    Organisation,
    OrganisationKind,
    Role,
    User,
)

#: A hash of a random password, checked when the e-mail is unknown so that timing reveals nothing.
_DUMMY_HASH = generate_password_hash("not-a-real-password-2f6a", method="pbkdf2:sha256:1000")


def hash_password(password: str) -> str:
    """Hash with the configured algorithm (scrypt by default)."""
    return generate_password_hash(password, method=current_app.config.get("PASSWORD_HASH_METHOD", "scrypt"))


def normalise_email(email: str) -> str:
    return (email or "").strip().lower()


def _district(session: Session, code: str) -> District:
    district = session.execute(sa.select(District).where(District.code == code)).scalar_one_or_none()
    if district is None:
        raise ValidationFailed(_("请选择有效的区县。"), {"district": [_("请选择有效的区县。")]})
    return district


def login_throttled(session: Session, email: str, ip: str) -> bool:
    """True when too many recent failures came for this e-mail or from this address."""
    config = current_app.config
    since = clock.now() - timedelta(seconds=config["LOGIN_WINDOW_SECONDS"])
    failures = sa.select(sa.func.count(LoginAttempt.id)).where(
        LoginAttempt.success.is_(False), LoginAttempt.created_at >= since
    )
    by_email = session.execute(failures.where(LoginAttempt.email == email)).scalar_one()
    if by_email >= config["LOGIN_MAX_FAILURES"]:
        return True
    by_ip = session.execute(failures.where(LoginAttempt.ip == ip)).scalar_one()
    return by_ip >= config["LOGIN_MAX_FAILURES_PER_IP"]


def authenticate(session: Session, email: str, password: str, ip: str) -> User:
    """Check the credentials and account state; record the attempt.

    Raises :class:`DomainError` with a message for the form. A failed attempt
    is recorded even though the caller will not raise past the view: the view
    commits the attempt before showing the error.
    """
    email = normalise_email(email)
    if login_throttled(session, email, ip):
        minutes = current_app.config["LOGIN_WINDOW_SECONDS"] // 60
        raise DomainError(_("登录失败次数过多，请 %(minutes)d 分钟后再试，或通过“忘记密码”重置。", minutes=minutes))
    user = session.execute(sa.select(User).where(User.email == email)).scalar_one_or_none()
    ok = check_password_hash(user.password_hash if user else _DUMMY_HASH, password) and user is not None
    session.add(LoginAttempt(email=email, ip=ip, success=ok))
    session.flush()
    if not ok or user is None:
        raise DomainError(_("邮箱或密码不正确。"))
    if user.approval_status == ApprovalStatus.PENDING:
        raise DomainError(_("您的账号正在等待区县或市级工作人员审核，审核通过后即可登录。"))
    if user.approval_status == ApprovalStatus.REJECTED:
        raise DomainError(_("您的注册申请未通过审核，请联系所在区县经济信息委。"))
    if not user.active:
        raise DomainError(_("该账号已被停用，请联系平台管理员。"))
    user.last_login_at = clock.now()
    return user


def _ensure_email_free(session: Session, email: str) -> None:
    if session.execute(sa.select(User.id).where(User.email == email)).first():
        raise ValidationFailed(_("该邮箱已注册。"), {"email": [_("该邮箱已注册，请直接登录或找回密码。")]})


@dataclass
class Registration:
    """The personal part of a registration form."""

    name: str
    email: str
    phone: str
    password: str


def register_enterprise(
    session: Session, person: Registration, organisation_name: str, uscc: str, district_code: str, ip: str | None
) -> User:
    """Register a software firm, its first user (active at once) and the firm's empty profile."""
    email = normalise_email(person.email)
    _ensure_email_free(session, email)
    district = _district(session, district_code)
    if session.execute(sa.select(Organisation.id).where(Organisation.uscc == uscc)).first():
        raise ValidationFailed(
            _("该统一社会信用代码已注册。"),
            {"uscc": [_("该统一社会信用代码已有企业注册，请联系本企业已注册的同事在平台添加账号。")]},
        )
    if session.execute(sa.select(Organisation.id).where(Organisation.name == organisation_name.strip())).first():
        raise ValidationFailed(_("该企业名称已注册。"), {"organisation_name": [_("该企业名称已注册。")]})
    organisation = Organisation(
        name=organisation_name.strip(), kind=OrganisationKind.SOFTWARE_ENTERPRISE, uscc=uscc, district=district
    )
    user = User(
        email=email, name=person.name.strip(), phone=person.phone.strip(), password_hash=hash_password(person.password),
        organisation=organisation, role=Role.ENTERPRISE, approval_status=ApprovalStatus.APPROVED,
    )
    session.add_all([organisation, user])
    session.flush()
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
) -> User:
    """Register an owner user; the account waits for district or city staff approval."""
    email = normalise_email(person.email)
    _ensure_email_free(session, email)
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
        session.add(organisation)
    user = User(
        email=email, name=person.name.strip(), phone=person.phone.strip(), password_hash=hash_password(person.password),
        organisation=organisation, role=Role.OWNER, approval_status=ApprovalStatus.PENDING,
    )
    session.add(user)
    session.flush()
    audit.record(session, actor=user, action="user.register", object_type="user", object_id=user.id,
                 after={"role": user.role.value, "organisation": organisation.name, "approval": "pending"}, ip=ip)
    return user


def change_password(session: Session, user: User, current: str, new: str, ip: str | None) -> None:
    """Change a signed-in user's password after checking the current one."""
    if not check_password_hash(user.password_hash, current):
        raise ValidationFailed(_("当前密码不正确。"), {"current_password": [_("当前密码不正确。")]})
    user.password_hash = hash_password(new)
    audit.record(session, actor=user, action="user.password_change", object_type="user", object_id=user.id, ip=ip)


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt="password-reset")


def _password_fingerprint(user: User) -> str:
    # The token names the current hash, so it stops working once the password changes (single use).
    return hashlib.sha256(user.password_hash.encode()).hexdigest()[:16]


def request_password_reset(session: Session, email: str) -> None:
    """Mail a reset link when the address belongs to an account; say nothing either way."""
    user = session.execute(sa.select(User).where(User.email == normalise_email(email))).scalar_one_or_none()
    if user is None or not user.active:
        return
    token = _serializer().dumps({"u": user.id, "h": _password_fingerprint(user)})
    link = url_for("auth.reset_password", token=token, _external=True)
    mail.enqueue(
        session, user.email, _("重置您在应用场景揭榜平台的密码"),
        _("%(name)s，您好：\n\n请在 1 小时内打开以下链接设置新密码：\n%(link)s\n\n如果不是您本人操作，请忽略本邮件。",
          name=user.name, link=link),
    )


def user_for_reset_token(session: Session, token: str) -> User:
    """The user a valid, unused, unexpired reset token belongs to."""
    try:
        data = _serializer().loads(token, max_age=current_app.config["PASSWORD_RESET_MAX_AGE"])
    except SignatureExpired:
        raise DomainError(_("重置链接已过期，请重新申请。"))
    except BadSignature:
        raise DomainError(_("重置链接无效，请重新申请。"))
    user = session.get(User, data.get("u"))
    if user is None or data.get("h") != _password_fingerprint(user):
        raise DomainError(_("重置链接已使用或无效，请重新申请。"))
    return user


def reset_password(session: Session, token: str, new: str, ip: str | None) -> User:
    """Set a new password from a reset token (the token is then spent)."""
    user = user_for_reset_token(session, token)
    user.password_hash = hash_password(new)
    audit.record(session, actor=user, action="user.password_reset", object_type="user", object_id=user.id, ip=ip)
    return user
