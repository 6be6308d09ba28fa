"""The e-mail outbox: every message is stored before it is sent or logged."""

from __future__ import annotations

from datetime import datetime

from flask_babel import lazy_gettext as _l
from sqlalchemy import Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from marketplace.models.base import Base, LabelledEnum, StrEnumType, TimestampMixin, UTCDateTime


class OutboxStatus(LabelledEnum):
    """Delivery state of an outbox message."""

    PENDING = "pending"
    SENT = "sent"
    LOGGED = "logged"
    FAILED = "failed"

    @staticmethod
    def __labels__() -> dict:
        return {"pending": _l("待发送"), "sent": _l("已发送"), "logged": _l("已记录（未配置邮件服务器）"),
                "failed": _l("发送失败")}


class OutboxMessage(TimestampMixin, Base):
    """An e-mail. Without an SMTP server it is written to the log and kept here.

    Not append-only: its status moves on when it is sent or fails, and ``updated_at`` says when
    that last happened (the time of the latest failed attempt, for instance).
    """

    __tablename__ = "outbox_messages"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    to_address: Mapped[str] = mapped_column(String(254), nullable=False)
    subject: Mapped[str] = mapped_column(String(200), nullable=False)
    body: Mapped[str] = mapped_column(Text, nullable=False)
    status: Mapped[OutboxStatus] = mapped_column(
        StrEnumType(OutboxStatus), nullable=False, default=OutboxStatus.PENDING, index=True
    )
    #: When the SMTP server took it (None: pending, logged or failed).
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    #: The last delivery error.
    error: Mapped[str | None] = mapped_column(Text)
