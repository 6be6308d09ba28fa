"""Fingerprinted static assets: ``url_for('static', filename=…)`` adds ``?v=<content hash>`` (12 letters).

A request whose ``v`` is the file's current hash is answered with
``Cache-Control: public, max-age=31536000, immutable``: the URL changes with the content, so
browsers and proxies may keep it for a year. Any other static request keeps Flask's default
(revalidated) caching, so an old or made-up ``v`` never pins a file. Hashes are computed once per
file and modification time (once per file name in a process that reloads no templates, i.e. in
production).
"""

from __future__ import annotations

import hashlib
import os
from typing import Any

from flask import Flask, Response, current_app, request

#: One year, the longest lifetime RFC 9111 caches are expected to honour.
IMMUTABLE = "public, max-age=31536000, immutable"

_HASHES = "marketplace.static_hashes"
_SETTLED = "marketplace.static_hashes_settled"
_LETTERS = str.maketrans("0123456789abcdef", "abcdefghijklmnop")


def fingerprint(app: Flask, filename: str) -> str | None:
    """The file's SHA-256 shortened to 12 letters ``a``–``p`` (``None`` for a missing file).

    Letters, not hex digits: a version in every page's ``<head>`` must not look like a number on the page.
    """
    folder = app.static_folder
    if folder is None:
        return None
    settled: dict[str, str | None] = app.extensions.setdefault(_SETTLED, {})
    if filename in settled:
        return settled[filename]
    path = os.path.realpath(os.path.join(folder, filename))
    if not path.startswith(os.path.realpath(folder) + os.sep):
        return None
    try:
        mtime = os.stat(path).st_mtime_ns
    except OSError:
        return None
    memo: dict[str, tuple[int, str]] = app.extensions.setdefault(_HASHES, {})
    known = memo.get(path)
    if known is not None and known[0] == mtime:
        digest = known[1]
    else:
        with open(path, "rb") as fh:
            digest = hashlib.sha256(fh.read()).hexdigest()[:12].translate(_LETTERS)
        memo[path] = (mtime, digest)
    if not (app.debug or app.config.get("TEMPLATES_AUTO_RELOAD")):
        # Deployed files do not change under a running process (a deploy restarts it): hash once per name
        # instead of resolving and stat-ing the path for each of the ~7 assets on every page.
        settled[filename] = digest
    return digest


def _add_version(endpoint: str, values: dict[str, Any]) -> None:
    if endpoint == "static" and "v" not in values and values.get("filename"):
        digest = fingerprint(current_app._get_current_object(), values["filename"])  # type: ignore[attr-defined]
        if digest:
            values["v"] = digest


def _long_lived(response: Response) -> Response:
    if request.endpoint == "static" and response.status_code in (200, 304):
        wanted = request.args.get("v")
        filename = (request.view_args or {}).get("filename")
        if wanted and filename and wanted == fingerprint(current_app._get_current_object(), filename):  # type: ignore[attr-defined]
            response.headers["Cache-Control"] = IMMUTABLE
    return response


def init_app(app: Flask) -> None:
    """Fingerprint static URLs and let fingerprinted requests be cached for a year."""
    app.url_defaults(_add_version)
    app.after_request(_long_lived)
