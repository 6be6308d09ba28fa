"""Attachment storage: content checks, random names outside ``static/``, SHA-256, per-purpose access.

The bytes go to the configured backend (:mod:`marketplace.storage`: ``UPLOAD_DIR`` or an S3 bucket).

Each area says who may download files of its purposes with :func:`add_access_rule` in its
``init_app(app)`` (the rules live on the application); the download view asks :func:`can_download`,
so a file is served only to those allowed to see it, and a purpose without a rule to nobody.
"""

from __future__ import annotations

import hashlib
import io
import logging
import re
import secrets
import zipfile
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import IO, Any

from flask import Flask, current_app, has_app_context
from flask_babel import gettext as _
from sqlalchemy import event
from sqlalchemy.orm import Session, SessionTransaction
from werkzeug.datastructures import FileStorage

from marketplace.errors import ValidationFailed
from marketplace.models import Attachment, AttachmentPurpose, User
from marketplace.storage import get_storage

#: Largest accepted file.
MAX_BYTES = 20 * 1024 * 1024

#: extension → MIME type; the content must agree with the extension.
ALLOWED = {
    "pdf": "application/pdf",
    "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "png": "image/png",
    "jpg": "image/jpeg",
    "jpeg": "image/jpeg",
}
IMAGE_TYPES = {"image/png", "image/jpeg"}

AccessRule = Callable[[User | None, Attachment, Session], bool]
_RULES = "marketplace.attachment_rules"
#: ``session.info`` key of the stored names to delete from disk when the session commits.
_REMOVE_ON_COMMIT = "marketplace.attachments.remove_on_commit"

log = logging.getLogger(__name__)


def sniff(data: bytes) -> str | None:
    """The MIME type the bytes really are (of the allowed kinds), or None."""
    if data.startswith(b"%PDF-"):
        return "application/pdf"
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if data.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if data.startswith(b"PK\x03\x04"):
        try:
            with zipfile.ZipFile(io.BytesIO(data)) as archive:
                names = set(archive.namelist())
        except zipfile.BadZipFile:
            return None
        if "[Content_Types].xml" in names:
            if "word/document.xml" in names:
                return ALLOWED["docx"]
            if "xl/workbook.xml" in names:
                return ALLOWED["xlsx"]
    return None


def check_file(filename: str, data: bytes, field: str = "file", allowed: set[str] | None = None) -> str:
    """Validate an upload by size, extension and content; returns its MIME type or raises with a field error."""
    allowed = allowed or set(ALLOWED)
    ext = filename.rsplit(".", 1)[-1].lower() if "." in filename else ""

    def refuse(message: str) -> ValidationFailed:
        return ValidationFailed(message, {field: [message]})

    if not data:
        raise refuse(_("文件为空，请重新选择。"))
    if len(data) > MAX_BYTES:
        raise refuse(_("文件超过 20 MB，请压缩后再上传。"))
    if ext not in allowed:
        kinds = "、".join(sorted({e.upper() for e in allowed if e != "jpeg"}))
        raise refuse(_("不支持该文件类型，请上传 %(kinds)s 文件。", kinds=kinds))
    actual = sniff(data)
    if actual != ALLOWED[ext]:
        raise refuse(_("文件内容与扩展名不符（不是有效的 %(ext)s 文件），请检查后重新上传。", ext=ext.upper()))
    return actual


def clean_filename(raw: str | None) -> str:
    """The name to keep for an upload: its last path part (``/`` or ``\\``: old browsers send
    ``C:\\fakepath\\x.pdf``), without control characters (a NUL cannot be stored in PostgreSQL text),
    at most 255 characters with the extension kept (it decides the accepted type)."""
    name = re.split(r"[\\/]", raw or "")[-1]
    name = "".join(c for c in name if c.isprintable()).strip() or "file"
    if len(name) > 255:
        stem, dot, ext = name.rpartition(".")
        name = stem[:255 - len(ext) - 1] + dot + ext if dot and 0 < len(ext) <= 16 else name[:255]
    return name


def save_bytes(stored_name: str, data: bytes, content_type: str) -> None:
    """Write a file's bytes to the configured storage under its random name."""
    get_storage().save(stored_name, data, content_type)


def store(session: Session, upload: FileStorage, purpose: AttachmentPurpose, user: User | None,
          field: str = "file", allowed: set[str] | None = None) -> Attachment:
    """Check and save an uploaded file; returns the flushed :class:`Attachment`."""
    data = upload.read()
    filename = clean_filename(upload.filename)
    content_type = check_file(filename, data, field, allowed)
    stored_name = secrets.token_hex(16)
    save_bytes(stored_name, data, content_type)
    attachment = Attachment(
        purpose=purpose, filename=filename, stored_name=stored_name, content_type=content_type, size=len(data),
        sha256=hashlib.sha256(data).hexdigest(), uploaded_by=user,
        organisation_id=user.organisation_id if user is not None else None,
    )
    session.add(attachment)
    session.flush()
    return attachment


def path_of(attachment: Attachment) -> Path | None:
    """The file on this machine's disk (local storage), or None when the bytes live elsewhere."""
    return get_storage().path(attachment.stored_name)


def open_bytes(attachment: Attachment) -> IO[bytes]:
    """A stream of the file's bytes from wherever they are stored."""
    return get_storage().open(attachment.stored_name)


def discard_bytes(stored_names: Iterable[str]) -> None:
    """Delete stored files now (best effort: a stray file is only space; the rows decide what exists)."""
    storage = get_storage()
    for name in stored_names:
        try:
            storage.delete(name)
        except Exception:
            log.warning("could not remove attachment file %s", name)


def add_access_rule(app: Flask, purpose: AttachmentPurpose, rule: AccessRule) -> None:
    """Say who may download files of one purpose (each area adds the rules of its own purposes)."""
    rules: dict[AttachmentPurpose, AccessRule] = app.extensions.setdefault(_RULES, {})
    if purpose in rules and rules[purpose] is not rule:
        raise RuntimeError(f"two access rules for attachments of purpose {purpose}")
    rules[purpose] = rule


def can_download(user: User | None, attachment: Attachment, session: Session) -> bool:
    """True when the rule for the file's purpose allows this user (no rule: nobody)."""
    rule = current_app.extensions.get(_RULES, {}).get(attachment.purpose)
    return bool(rule and rule(user, attachment, session))


# ------------------------------------------------------------------ deleting files with their rows

def remove_on_commit(session: Session, stored_names: Iterable[str]) -> None:
    """Delete these stored files from storage once *session* commits the deletion of their rows.

    Nothing is deleted if the transaction rolls back, so a refused request never loses a file
    whose row survives. Needs :func:`watch_session` on the session (done in the factory's areas).
    """
    session.connection()  # begins the transaction if none is open: its rollback must forget the removal
    session.info.setdefault(_REMOVE_ON_COMMIT, []).extend(stored_names)


def _remove_after_commit(session: Session) -> None:
    names = session.info.pop(_REMOVE_ON_COMMIT, None)
    if not names or not has_app_context():
        return
    discard_bytes(names)  # the rows are gone either way; a file left behind is only space


def _forget_on_transaction_end(session: Session, transaction: SessionTransaction) -> None:
    if transaction.parent is None:  # the outermost transaction ended without a commit (after_commit ran first)
        session.info.pop(_REMOVE_ON_COMMIT, None)


def watch_session(target: Any) -> None:
    """Listen to *target*'s commits (Flask-SQLAlchemy's ``db.session``) for :func:`remove_on_commit`; idempotent."""
    if not event.contains(target, "after_commit", _remove_after_commit):
        event.listen(target, "after_commit", _remove_after_commit)
        event.listen(target, "after_transaction_end", _forget_on_transaction_end)
