"""Outgoing e-mail through the outbox table.

:func:`enqueue` stores the message in the request's transaction. Without an
SMTP server configured the message is also written to the log and marked
``logged``; with one, ``flask outbox send`` (or a worker) delivers pending mail.
"""

from __future__ import annotations

import logging
import smtplib
from email.message import EmailMessage

import sqlalchemy as sa
from flask import current_app
from sqlalchemy.orm import Session

from marketplace.models import OutboxMessage, OutboxStatus
from marketplace.models.base import utcnow

log = logging.getLogger("marketplace.mail")


def enqueue(session: Session, to: str, subject: str, body: str) -> OutboxMessage:
    """Store one message; log it when no SMTP server is configured."""
    message = OutboxMessage(to_address=to, subject=subject, body=body)
    if not current_app.config.get("MAIL_SERVER"):
        message.status = OutboxStatus.LOGGED
        log.info("mail to %s: %s\n%s", to, subject, body)
    session.add(message)
    session.flush()
    return message


def send_pending(session: Session, limit: int = 100) -> tuple[int, int]:
    """Deliver pending messages over SMTP; returns (sent, failed)."""
    config = current_app.config
    if not config.get("MAIL_SERVER"):
        return (0, 0)
    pending = session.execute(
        sa.select(OutboxMessage).where(OutboxMessage.status == OutboxStatus.PENDING)
        .order_by(OutboxMessage.id).limit(limit)
    ).scalars().all()
    sent = failed = 0
    if not pending:
        return (0, 0)
    with smtplib.SMTP(config["MAIL_SERVER"], config["MAIL_PORT"], timeout=30) as smtp:
        if config.get("MAIL_USE_TLS"):
            smtp.starttls()
        if config.get("MAIL_USERNAME"):
            smtp.login(config["MAIL_USERNAME"], config["MAIL_PASSWORD"] or "")
        for message in pending:
            email = EmailMessage()
            email["From"] = config["MAIL_SENDER"]
            email["To"] = message.to_address
            email["Subject"] = message.subject
            email.set_content(message.body)
            try:
                smtp.send_message(email)
            except smtplib.SMTPException as exc:
                message.status = OutboxStatus.FAILED
                message.error = str(exc)
                failed += 1
            else:
                message.status = OutboxStatus.SENT
                message.sent_at = utcnow()
                sent += 1
    return sent, failed
