"""``Content-Disposition`` for files this site sends: RFC 6266 with the RFC 5987 ``filename*`` parameter,
and :func:`send_attachment`, the one response that serves a stored upload.

Upload names are kept as the user gave them (Chinese, quotes, whatever the browser sent). The header
carries the exact name UTF-8 percent-encoded in ``filename*=UTF-8''…`` and an ASCII ``filename="…"``
fallback for old clients; control characters (a CR/LF would split the header) are dropped and quotes
and backslashes in the fallback replaced, so no name can break out of the header.
"""

from __future__ import annotations

import unicodedata
from urllib.parse import quote

from flask import Response, send_file

from marketplace import attachments
from marketplace.models import Attachment

#: Characters RFC 5987 ``attr-char`` allows unencoded.
_ATTR_CHARS = "!#$&+-.^_`|~"


def content_disposition(filename: str, inline: bool = False) -> str:
    """``attachment; filename="fallback.pdf"; filename*=UTF-8''%E6%96%B9%E6%A1%88.pdf`` for *filename*."""
    name = "".join(c for c in filename if c.isprintable()).strip() or "download"
    fallback = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode("ascii")
    fallback = "".join("_" if c in '"\\' else c for c in fallback).strip()
    stem, dot, ext = fallback.rpartition(".")
    if not fallback or (dot and not stem.strip(" ._")):  # "资金证明.pdf" → ".pdf"
        fallback = "download" + (f".{ext}" if dot and ext else "")
    kind = "inline" if inline else "attachment"
    return f"{kind}; filename=\"{fallback}\"; filename*=UTF-8''{quote(name, safe=_ATTR_CHARS)}"


def send_attachment(attachment: Attachment, inline: bool = False) -> Response:
    """The file's bytes with its stored MIME type, its name in ``Content-Disposition`` and ``nosniff``.

    The caller has checked access. Local storage: ``send_file`` from disk (conditional and range
    requests); object storage: the bytes streamed through, never held in memory whole.
    """
    path = attachments.path_of(attachment)
    if path is not None:
        response = send_file(path, mimetype=attachment.content_type, max_age=0)
    else:
        response = send_file(attachments.open_bytes(attachment), mimetype=attachment.content_type, max_age=0,
                             etag=attachment.sha256, conditional=False)
        response.content_length = attachment.size
    response.headers["Content-Disposition"] = content_disposition(attachment.filename, inline=inline)
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response
