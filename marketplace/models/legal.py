"""用户协议 and 隐私政策: published versions, and each user's acceptance of them.

A document is never edited in place: city staff publish a new version (n + 1), and the old ones
stay, so a :class:`Consent` always points at the exact text a user agreed to.
"""

from __future__ import annotations

from datetime import datetime

from flask_babel import lazy_gettext as _l
from sqlalchemy import ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from marketplace.models.accounts import User
from marketplace.models.base import Base, CreatedAtMixin, LabelledEnum, StrEnumType, UTCDateTime


class LegalKind(LabelledEnum):
    """The documents a user accepts when registering."""

    TERMS = "terms"
    PRIVACY = "privacy"

    @staticmethod
    def __labels__() -> dict:
        return {"terms": _l("用户协议"), "privacy": _l("隐私政策")}


class LegalDocument(CreatedAtMixin, Base):
    """One published version of a legal document (rows are only ever added)."""

    __tablename__ = "legal_documents"
    __table_args__ = (UniqueConstraint("kind", "version", name="uq_legal_documents_kind_version"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[LegalKind] = mapped_column(StrEnumType(LegalKind), nullable=False)
    #: 1, 2, 3 … per kind; the highest is the current version.
    version: Mapped[int] = mapped_column(Integer, nullable=False)
    title: Mapped[str] = mapped_column(String(128), nullable=False)
    #: Plain text; blank lines separate paragraphs.
    body: Mapped[str] = mapped_column(Text, nullable=False)
    #: When this version took effect (users who accepted an older one are asked again from then on).
    published_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    #: The city staff member who published it (None for the initial text loaded by the migration).
    published_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))

    published_by: Mapped[User | None] = relationship()


class Consent(CreatedAtMixin, Base):
    """A user's acceptance of one version of one document (at registration, or later from the banner)."""

    __tablename__ = "consents"
    __table_args__ = (UniqueConstraint("user_id", "kind", "version", name="uq_consents_user_kind_version"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), nullable=False, index=True)
    kind: Mapped[LegalKind] = mapped_column(StrEnumType(LegalKind), nullable=False)
    #: The version accepted (the current one at that moment).
    version: Mapped[int] = mapped_column(Integer, nullable=False)
    accepted_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    #: The client address the acceptance came from (as seen behind TRUSTED_PROXIES).
    ip: Mapped[str | None] = mapped_column(String(64))

    user: Mapped[User] = relationship()
