"""Organisations, users and login attempts."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from flask_login import UserMixin
from sqlalchemy import Boolean, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from marketplace.models.base import (
    Base,
    CreatedAtMixin,
    LabelledEnum,
    StrEnumType,
    TimestampMixin,
    UTCDateTime,
)
from marketplace.models.reference import District


class OrganisationKind(LabelledEnum):
    """What an organisation is, which decides the roles its users may hold."""

    GOVERNMENT = "government"
    SOE = "soe"
    KEY_INDUSTRY = "key_industry"
    SOFTWARE_ENTERPRISE = "software_enterprise"
    DISTRICT_OFFICE = "district_office"
    CITY_OFFICE = "city_office"
    OTHER = "other"

    @staticmethod
    def __labels__() -> dict:
        return {
            "government": _l("政府部门"),
            "soe": _l("国有企业"),
            "key_industry": _l("重点行业单位"),
            "software_enterprise": _l("软件企业"),
            "district_office": _l("区经济信息委/大数据局"),
            "city_office": _l("市经济信息委/大数据发展局"),
            "other": _l("其他单位"),
        }

    @classmethod
    def owner_kinds(cls) -> tuple[OrganisationKind, ...]:
        """Kinds of organisation that may publish scenarios (发榜单位)."""
        return (cls.GOVERNMENT, cls.SOE, cls.KEY_INDUSTRY)


class Role(LabelledEnum):
    """A user's role on the platform (DESIGN.md §2)."""

    OWNER = "owner"
    ENTERPRISE = "enterprise"
    DISTRICT_STAFF = "district_staff"
    CITY_STAFF = "city_staff"
    EXPERT = "expert"

    @staticmethod
    def __labels__() -> dict:
        return {
            "owner": _l("发榜单位"),
            "enterprise": _l("揭榜企业"),
            "district_staff": _l("区县工作人员"),
            "city_staff": _l("市级工作人员"),
            "expert": _l("评审专家"),
        }


class ApprovalStatus(LabelledEnum):
    """Whether a self-registered account has been approved by staff."""

    PENDING = "pending"
    APPROVED = "approved"
    REJECTED = "rejected"

    @staticmethod
    def __labels__() -> dict:
        return {"pending": _l("待审核"), "approved": _l("已通过"), "rejected": _l("未通过")}


class Organisation(TimestampMixin, Base):
    """A government department, SOE, software firm, or a district/city office."""

    __tablename__ = "organisations"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(128), unique=True, nullable=False)
    kind: Mapped[OrganisationKind] = mapped_column(StrEnumType(OrganisationKind), nullable=False)
    #: 统一社会信用代码 (GB 32100-2015), where the organisation has one.
    uscc: Mapped[str | None] = mapped_column(String(18), unique=True)
    district_id: Mapped[int | None] = mapped_column(ForeignKey("districts.id"))
    active: Mapped[bool] = mapped_column(Boolean, nullable=False, default=True)

    district: Mapped[District | None] = relationship()
    users: Mapped[list[User]] = relationship(back_populates="organisation", foreign_keys="User.organisation_id")

    def __str__(self) -> str:
        return self.name


class User(UserMixin, TimestampMixin, Base):
    """A person who signs in. Accounts are deactivated, never deleted (the audit log refers to them)."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    #: Stored lower-cased; the login name.
    email: Mapped[str] = mapped_column(String(254), unique=True, nullable=False)
    name: Mapped[str] = mapped_column(String(64), nullable=False)
    phone: Mapped[str | None] = mapped_column(String(32))
    password_hash: Mapped[str] = mapped_column(String(256), nullable=False)
    organisation_id: Mapped[int | None] = mapped_column(ForeignKey("organisations.id"))
    role: Mapped[Role] = mapped_column(StrEnumType(Role), nullable=False)
    #: False when staff have disabled the account.
    active: Mapped[bool] = mapped_column(Boolean, nullable=False, default=True)
    approval_status: Mapped[ApprovalStatus] = mapped_column(
        StrEnumType(ApprovalStatus), nullable=False, default=ApprovalStatus.APPROVED
    )
    approved_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    approved_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    #: E-mail for notifications: "immediate" or "daily" (digest); "off" keeps them in-app only.
    notification_mode: Mapped[str] = mapped_column(String(16), nullable=False, default="immediate",
                                                   server_default="immediate")
    #: Stored in the session at sign-in and compared on every request; bumping it (sign-out, password
    #: change or reset, deactivation, role change, "sign out everywhere") ends every existing session.
    #: False for a self-registration until the link mailed to the address is opened (such an account
    #: cannot sign in yet); accounts created by staff or before 0012_security are confirmed.
    email_confirmed: Mapped[bool] = mapped_column(Boolean, nullable=False, default=True, server_default=sa.true())
    session_generation: Mapped[int] = mapped_column(Integer, nullable=False, default=0, server_default="0")

    organisation: Mapped[Organisation | None] = relationship(back_populates="users", foreign_keys=[organisation_id])
    approved_by: Mapped[User | None] = relationship(remote_side=[id])

    @property
    def is_active(self) -> bool:  # Flask-Login refuses inactive users
        return self.active and self.approval_status == ApprovalStatus.APPROVED

    @property
    def district(self) -> District | None:
        """The district a user acts for (its organisation's district)."""
        return self.organisation.district if self.organisation else None

    @property
    def district_id(self) -> int | None:
        return self.organisation.district_id if self.organisation else None

    def end_sessions(self) -> None:
        """Invalidate every session signed in to this account (checked by the user loader)."""
        self.session_generation = (self.session_generation or 0) + 1

    def has_role(self, *roles: Role) -> bool:
        return self.role in roles

    def __str__(self) -> str:
        return f"{self.name} <{self.email}>"


class LoginAttempt(CreatedAtMixin, Base):
    """One sign-in attempt, kept for throttling repeated failures across processes (written once)."""

    __tablename__ = "login_attempts"
    __table_args__ = (
        Index("ix_login_attempts_email_created", "email", "created_at"),
        Index("ix_login_attempts_ip_created", "ip", "created_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    #: The e-mail typed in (lower-cased), whether or not an account has it.
    email: Mapped[str] = mapped_column(String(254), nullable=False)
    #: The client's address as the app sees it (behind the proxy).
    ip: Mapped[str] = mapped_column(String(45), nullable=False)
    success: Mapped[bool] = mapped_column(Boolean, nullable=False)
