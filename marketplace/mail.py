"""Outgoing e-mail through the outbox table.

:func:`enqueue` stores the message in the request's transaction. Without an
SMTP server configured the message is also written to the log and marked
``logged``; with one, ``flask outbox send`` (or the ``outbox_send`` job) delivers pending mail.
After the transaction commits, :data:`marketplace.signals.job_requested` has the job queue send it.

Delivery claims each message (``FOR UPDATE SKIP LOCKED`` on PostgreSQL), so two workers never send
the same one; a permanent refusal (5xx) marks it ``failed``; a temporary one (4xx, connection lost)
stops the run with :class:`TemporaryMailFailure` after keeping what was sent, and the job is retried.
"""

from __future__ import annotations

import logging
import smtplib
from email.message import EmailMessage

import sqlalchemy as sa
from flask import current_app, url_for
from sqlalchemy.orm import Session

from marketplace import signals
from marketplace.models import OutboxMessage, OutboxStatus
from marketplace.models.base import utcnow

log = logging.getLogger("marketplace.mail")


class TemporaryMailFailure(Exception):
    """The SMTP server could not be reached or answered 4xx; *sent* messages went out before it."""

    def __init__(self, message: str, sent: int = 0) -> None:
        super().__init__(message)
        self.sent = sent


def site_link(endpoint: str, **values: object) -> str:
    """An absolute link for a message: the site's configured address (``SITE_URL``) and the endpoint's path.

    Never ``url_for(..., _external=True)``: that takes the host from the request's ``Host`` header, which the
    client chooses (nginx passes any ``Host`` to its default server), so a password-reset request sent with
    ``Host: evil.example`` would mail the victim a genuine token on a link to the attacker's site.
    """
    return f"{current_app.config['SITE_URL'].rstrip('/')}{url_for(endpoint, **values)}"


def server_configured() -> bool:
    """Whether an SMTP server is configured (``MAIL_SERVER``); without one, mail is only logged and kept."""
    return bool(current_app.config.get("MAIL_SERVER"))


def enqueue(session: Session, to: str, subject: str, body: str) -> OutboxMessage:
    """Store one message; log it when no SMTP server is configured."""
    message = OutboxMessage(to_address=to, subject=subject, body=body)
    if not server_configured():
        message.status = OutboxStatus.LOGGED
        log.info("mail to %s: %s\n%s", to, subject, body)
    session.add(message)
    session.flush()
    if message.status == OutboxStatus.PENDING:  # deliver soon after the commit (a worker, or in-process)
        signals.job_requested.send(message, session=session, job="outbox_send")
    return message


def _temporary(error: smtplib.SMTPException) -> bool:
    code = getattr(error, "smtp_code", None)
    return isinstance(error, smtplib.SMTPServerDisconnected) or (code is not None and 400 <= code < 500)


def send_pending(session: Session, limit: int = 100) -> tuple[int, int]:
    """Deliver pending messages over SMTP; returns (sent, failed)."""
    config = current_app.config
    if not config.get("MAIL_SERVER"):
        return (0, 0)
    pending = session.execute(
        sa.select(OutboxMessage).where(OutboxMessage.status == OutboxStatus.PENDING)
        .order_by(OutboxMessage.id).limit(limit).with_for_update(skip_locked=True)
    ).scalars().all()
    sent = failed = 0
    if not pending:
        return (0, 0)
    try:
        smtp = smtplib.SMTP(config["MAIL_SERVER"], config["MAIL_PORT"], timeout=30)
    except OSError as exc:  # includes SMTPConnectError: nothing sent yet
        raise TemporaryMailFailure(str(exc)) from exc
    with smtp:
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
                if _temporary(exc):
                    message.error = str(exc)
                    raise TemporaryMailFailure(str(exc), sent) from exc
                message.status = OutboxStatus.FAILED
                message.error = str(exc)
                failed += 1
            else:
                message.status = OutboxStatus.SENT
                message.sent_at = utcnow()
                sent += 1
    return sent, failed
