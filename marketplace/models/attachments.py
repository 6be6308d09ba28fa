"""Uploaded files: stored outside ``static/`` under a random name, with their SHA-256."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from sqlalchemy import ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from marketplace.models.accounts import Organisation, User
from marketplace.models.base import Base, CreatedAtMixin, LabelledEnum, StrEnumType


class AttachmentPurpose(LabelledEnum):
    """What a file is for, which decides who may download it."""

    FUNDING_EVIDENCE = "funding_evidence"
    SCENARIO_DOCUMENT = "scenario_document"
    APPLICATION_DOCUMENT = "application_document"
    QUALIFICATION_EVIDENCE = "qualification_evidence"
    ACCEPTANCE_REPORT = "acceptance_report"
    DEMONSTRATION_MEDIA = "demonstration_media"
    OBJECTION_EVIDENCE = "objection_evidence"

    @staticmethod
    def __labels__() -> dict:
        return {
            "funding_evidence": _l("资金落实证明"),
            "scenario_document": _l("场景附件"),
            "application_document": _l("揭榜申请附件"),
            "qualification_evidence": _l("资质证明"),
            "acceptance_report": _l("验收报告"),
            "demonstration_media": _l("示范项目图片或文档"),
            "objection_evidence": _l("异议证明材料"),
        }


class Attachment(CreatedAtMixin, Base):
    """One uploaded file, never changed. The bytes live in ``UPLOAD_DIR/<stored_name>``; access is checked per purpose."""

    __tablename__ = "attachments"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    purpose: Mapped[AttachmentPurpose] = mapped_column(StrEnumType(AttachmentPurpose), nullable=False)
    #: The name the user's file had (shown and used for downloads, never for storage).
    filename: Mapped[str] = mapped_column(String(255), nullable=False)
    #: Random name on disk.
    stored_name: Mapped[str] = mapped_column(String(64), unique=True, nullable=False)
    #: MIME type established from the content, not from the name.
    content_type: Mapped[str] = mapped_column(String(128), nullable=False)
    #: Bytes.
    size: Mapped[int] = mapped_column(Integer, nullable=False)
    #: Hex digest of the content, recorded in the audit log where the file decides something.
    sha256: Mapped[str] = mapped_column(String(64), nullable=False)
    uploaded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    #: The organisation on whose behalf it was uploaded (owner or firm).
    organisation_id: Mapped[int | None] = mapped_column(ForeignKey("organisations.id"))

    uploaded_by: Mapped[User | None] = relationship()
    organisation: Mapped[Organisation | None] = relationship()
