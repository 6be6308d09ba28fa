"""Security headers on every response, and no caching of what a signed-in user sees.

A small ``after_request`` hook rather than Flask-Talisman: its last release (1.1.0) dates from
August 2023, and it also redirects to HTTPS and manages cookies, which the reverse proxy and
:mod:`marketplace.config` already do. The headers:

* ``Content-Security-Policy``: scripts only from this site (no ``'unsafe-inline'``, no ``eval``; the
  pages keep their JavaScript in ``static/js/``), no plugins, no framing (``frame-ancestors 'none'``),
  forms post only here. Styles allow inline ``style`` attributes (layout only, no script).
* ``X-Frame-Options: DENY`` for browsers without CSP level 2, ``X-Content-Type-Options: nosniff``,
  ``Referrer-Policy: strict-origin-when-cross-origin``.
* ``Strict-Transport-Security`` when ``MARKETPLACE_ENV=production`` (the site is served over HTTPS there).
* ``Cache-Control: private, no-store`` on every response to a signed-in user (static files excepted)
  and on every ``/files/<id>`` download (sealed bids, evidence), so no shared or browser cache keeps them.
"""

from __future__ import annotations

from flask import Flask, Response, request
from flask_login import current_user

CONTENT_SECURITY_POLICY = "; ".join((
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self' 'unsafe-inline'",
    "img-src 'self' data:",
    "font-src 'self' data:",
    "connect-src 'self'",
    "object-src 'none'",
    "base-uri 'self'",
    "form-action 'self'",
    "frame-ancestors 'none'",
))
HSTS = "max-age=31536000; includeSubDomains"
NO_STORE = "private, no-store"
#: Endpoints whose responses are never stored, signed in or not.
ALWAYS_PRIVATE = frozenset({"main.download"})


def security_headers(response: Response, production: bool) -> Response:
    """Add the headers of the module docstring to *response*."""
    headers = response.headers
    for name, value in static_headers(production):
        headers.setdefault(name, value)
    if request.endpoint in ALWAYS_PRIVATE or (request.endpoint != "static" and _signed_in()):
        headers["Cache-Control"] = NO_STORE
        headers.pop("Expires", None)
        headers.pop("ETag", None)
        headers.pop("Last-Modified", None)
    return response


def static_headers(production: bool) -> list[tuple[str, str]]:
    """The headers every response gets (unless it set its own), in the order they are added."""
    headers = [("Content-Security-Policy", CONTENT_SECURITY_POLICY), ("X-Frame-Options", "DENY"),
               ("X-Content-Type-Options", "nosniff"), ("Referrer-Policy", "strict-origin-when-cross-origin")]
    if production:
        headers.append(("Strict-Transport-Security", HSTS))
    return headers


def _signed_in() -> bool:
    return bool(current_user and current_user.is_authenticated)


def init_app(app: Flask) -> None:
    """Register the hook on *app*."""
    production = app.config.get("MARKETPLACE_ENV") == "production"

    @app.after_request
    def _security_headers(response: Response) -> Response:
        return security_headers(response, production)
