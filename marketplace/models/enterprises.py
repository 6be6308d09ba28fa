"""Enterprise capability profiles (企业能力清单): qualifications with evidence, past cases."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy import Date, ForeignKey, Integer, Numeric, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from marketplace.models.accounts import Organisation, User
from marketplace.models.attachments import Attachment
from marketplace.models.base import Base, LabelledEnum, StrEnumType, TimestampMixin, UTCDateTime
from marketplace.models.reference import Domain


class VerificationStatus(LabelledEnum):
    """Whether district staff have checked a profile or a qualification's evidence."""

    UNVERIFIED = "unverified"
    PENDING = "pending"
    VERIFIED = "verified"
    REJECTED = "rejected"

    @staticmethod
    def __labels__() -> dict:
        return {"unverified": _l("未提交核验"), "pending": _l("待核验"), "verified": _l("已核验"),
                "rejected": _l("核验未通过")}


class QualificationKind(LabelledEnum):
    """Qualifications the programme rewards, plus CMMI, ISO 27001 and others."""

    KEY_SOFTWARE = "key_software"
    LITTLE_GIANT = "little_giant"
    CITY_KEY_SOFTWARE = "city_key_software"
    CITY_SPECIALISED = "city_specialised"
    CMMI = "cmmi"
    ISO27001 = "iso27001"
    OTHER = "other"

    @staticmethod
    def __labels__() -> dict:
        return {
            "key_software": _l("国家鼓励的重点软件企业"),
            "little_giant": _l("专精特新“小巨人”"),
            "city_key_software": _l("市级重点软件和信息服务企业"),
            "city_specialised": _l("市级“专精特新”中小企业"),
            "cmmi": _l("CMMI"),
            "iso27001": _l("ISO 27001"),
            "other": _l("其他资质"),
        }


class RevenueBand(LabelledEnum):
    """Annual revenue band."""

    UNDER_5M = "lt_500w"
    FROM_5M = "500w_2000w"
    FROM_20M = "2000w_1y"
    FROM_100M = "1y_5y"
    OVER_500M = "gt_5y"

    @staticmethod
    def __labels__() -> dict:
        return {"lt_500w": _l("500万元以下"), "500w_2000w": _l("500万–2000万元"), "2000w_1y": _l("2000万–1亿元"),
                "1y_5y": _l("1亿–5亿元"), "gt_5y": _l("5亿元以上")}


#: A profile's industry domains (a link table without times: the profile's ``updated_at`` moves with it).
profile_domains = sa.Table(
    "profile_domains",
    Base.metadata,
    sa.Column("profile_id", ForeignKey("enterprise_profiles.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("domain_id", ForeignKey("domains.id"), primary_key=True),
)


class EnterpriseProfile(TimestampMixin, Base):
    """A software firm's capability entry; public (directory, search, matching) once verified."""

    __tablename__ = "enterprise_profiles"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    #: The firm (an organisation of kind ``software_enterprise``); one profile each, created with it.
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), unique=True, nullable=False)
    address: Mapped[str] = mapped_column(String(255), nullable=False, default="")
    #: 楼宇: the office building or park, used by district building-economy statistics.
    building: Mapped[str] = mapped_column(String(128), nullable=False, default="")
    founded_on: Mapped[date | None] = mapped_column(Date)
    #: Year the firm settled in its district (新入驻) when recent; None for long-established firms.
    settled_year: Mapped[int | None] = mapped_column(Integer)
    #: Head count.
    employees: Mapped[int | None] = mapped_column(Integer)
    revenue_band: Mapped[RevenueBand | None] = mapped_column(StrEnumType(RevenueBand))
    #: 经营范围 as registered.
    business_scope: Mapped[str] = mapped_column(Text, nullable=False, default="")
    #: 核心能力: what the firm says it does well (free text; searched and matched).
    capabilities: Mapped[str] = mapped_column(Text, nullable=False, default="")
    #: Technology tags separated by "、".
    tags: Mapped[str] = mapped_column(Text, nullable=False, default="")
    website: Mapped[str | None] = mapped_column(String(255))
    #: The firm's contact for scenario owners.
    contact_name: Mapped[str] = mapped_column(String(64), nullable=False, default="")
    contact_phone: Mapped[str] = mapped_column(String(32), nullable=False, default="")
    contact_email: Mapped[str] = mapped_column(String(254), nullable=False, default="")
    #: ``unverified`` (draft) → ``pending`` (submitted) → ``verified`` (public) or ``rejected``.
    status: Mapped[VerificationStatus] = mapped_column(StrEnumType(VerificationStatus), nullable=False,
                                                      default=VerificationStatus.UNVERIFIED, index=True)
    verified_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    verified_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    #: The reviewing staff's reason with the last decision, shown to the firm.
    review_note: Mapped[str | None] = mapped_column(Text)

    organisation: Mapped[Organisation] = relationship()
    verified_by: Mapped[User | None] = relationship()
    domains: Mapped[list[Domain]] = relationship(secondary=profile_domains, order_by="Domain.sort_order")
    qualifications: Mapped[list[Qualification]] = relationship(back_populates="profile",
                                                               cascade="all, delete-orphan",
                                                               order_by="Qualification.id")
    cases: Mapped[list[ProfileCase]] = relationship(back_populates="profile", cascade="all, delete-orphan",
                                                    order_by="ProfileCase.year.desc()")

    @property
    def is_public(self) -> bool:
        return self.status == VerificationStatus.VERIFIED and self.organisation.active

    @property
    def tag_list(self) -> list[str]:
        return [t.strip() for t in self.tags.replace(",", "、").split("、") if t.strip()]

    def __str__(self) -> str:
        return self.organisation.name


class Qualification(TimestampMixin, Base):
    """One qualification with its evidence file, verified by district staff."""

    __tablename__ = "qualifications"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    profile_id: Mapped[int] = mapped_column(ForeignKey("enterprise_profiles.id", ondelete="CASCADE"),
                                            nullable=False, index=True)
    kind: Mapped[QualificationKind] = mapped_column(StrEnumType(QualificationKind), nullable=False)
    #: CMMI level or the name of an "other" qualification.
    detail: Mapped[str | None] = mapped_column(String(128))
    #: Year awarded.
    year: Mapped[int | None] = mapped_column(Integer)
    #: Scan or photo of the certificate (seen by the firm and reviewing staff only).
    evidence_id: Mapped[int | None] = mapped_column(ForeignKey("attachments.id"))
    #: ``pending`` until staff verify or reject it; only ``verified`` ones are ever public.
    status: Mapped[VerificationStatus] = mapped_column(StrEnumType(VerificationStatus), nullable=False,
                                                      default=VerificationStatus.PENDING)
    verified_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    verified_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    #: The reviewing staff's reason with the last decision (required to reject), shown to the firm.
    review_note: Mapped[str | None] = mapped_column(Text)

    profile: Mapped[EnterpriseProfile] = relationship(back_populates="qualifications")
    evidence: Mapped[Attachment | None] = relationship()
    verified_by: Mapped[User | None] = relationship()

    @property
    def label(self) -> str:
        if self.kind == QualificationKind.CMMI and self.detail:
            return f"CMMI {self.detail}"
        if self.kind == QualificationKind.OTHER and self.detail:
            return self.detail
        return self.kind.label


class ProfileCase(TimestampMixin, Base):
    """A past project of the firm (title, client, year, amount, description)."""

    __tablename__ = "profile_cases"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    profile_id: Mapped[int] = mapped_column(ForeignKey("enterprise_profiles.id", ondelete="CASCADE"),
                                            nullable=False, index=True)
    title: Mapped[str] = mapped_column(String(200), nullable=False)
    #: The client organisation, as the firm names it.
    client: Mapped[str] = mapped_column(String(128), nullable=False, default="")
    #: Year delivered.
    year: Mapped[int | None] = mapped_column(Integer)
    #: Contract amount in 万元 (optional).
    amount_wan: Mapped[Decimal | None] = mapped_column(Numeric(14, 2))
    description: Mapped[str] = mapped_column(Text, nullable=False, default="")

    profile: Mapped[EnterpriseProfile] = relationship(back_populates="cases")


