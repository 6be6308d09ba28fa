"""Where a response may send the browser: only back to this site.

:func:`is_safe_redirect` is the one check used for ``?next=`` after sign-in, the ``Referer`` of the
language switch and the "back" of a refused form: a target is safe when it is a local path, or an
absolute URL whose scheme, host *and* port equal this request's exactly (compared after parsing, so
``http://host:5000@evil.example/``, ``http://host:50000/`` and ``http://host:5000.evil.example/``
are all refused).
"""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import current_app, request, url_for
from werkzeug.exceptions import MethodNotAllowed, NotFound
from werkzeug.routing import RequestRedirect

_DEFAULT_PORTS = {"http": 80, "https": 443}


def _origin(url: str) -> tuple[str, str, int] | None:
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:  # a port that is not a number, or out of range
        return None
    if parts.scheme not in _DEFAULT_PORTS or not parts.hostname or parts.username or parts.password:
        return None
    return parts.scheme, parts.hostname.lower(), port or _DEFAULT_PORTS[parts.scheme]


def is_safe_redirect(target: str | None) -> bool:
    """True when *target* stays on this site (a local path, or exactly this scheme, host and port)."""
    if not target or any(c in target for c in "\\\r\n\t\x00"):
        return False
    try:
        parts = urlsplit(target)
    except ValueError:  # e.g. an unclosed IPv6 bracket ("http://[::1/")
        return False
    if not parts.scheme and not parts.netloc:
        return target.startswith("/") and not target.startswith("//")
    own = _origin(request.host_url)
    return own is not None and _origin(target) == own


def safe_target(target: str | None, fallback: str) -> str:
    """*target* when it is safe, otherwise *fallback*."""
    return target if is_safe_redirect(target) else fallback


def _answers_get(adapter, url: str) -> bool:
    try:
        adapter.match(urlsplit(url).path or "/", method="GET")
    except RequestRedirect:
        return True
    except (NotFound, MethodNotAllowed):
        return False
    return True


def _nearest_page_above(adapter, path: str) -> str:
    """The nearest page above *path* that answers GET (``/scenarios/5/publish`` → ``/scenarios/5``)."""
    path = path.rstrip("/")
    while path:
        path = path.rsplit("/", 1)[0]
        try:
            adapter.match(path or "/", method="GET")
        except RequestRedirect as redirect:
            return redirect.new_url
        except (NotFound, MethodNotAllowed):
            continue
        return path or "/"
    return url_for("main.index")


def page_to_return_to(target: str | None, fallback: str) -> str:
    """Where "go back to *target*" (the language switch's Referer, the legal banner's ``next``) may send the
    browser: *target* when it is on this site and answers GET; when it answers only POST — a page rendered
    in answer to a form (its field errors, a confirmation step) — the nearest page above it that does
    (a GET of the form's URL would be a 405); *fallback* when it is not safe."""
    if not is_safe_redirect(target):
        return fallback
    adapter = current_app.url_map.bind_to_environ(request.environ)
    if _answers_get(adapter, target):  # type: ignore[arg-type]
        return target  # type: ignore[return-value]
    return _nearest_page_above(adapter, urlsplit(target).path)  # type: ignore[arg-type]


def back_url() -> str:
    """Where to send the browser after a refused form: the referring page of this site when it answers
    GET, else the nearest page above the current path that does (``/scenarios/5/publish`` →
    ``/scenarios/5``). A referrer that answers only POST is a page rendered in answer to a POST — the
    confirmation step of an irreversible action — and going back to it would be a 405."""
    adapter = current_app.url_map.bind_to_environ(request.environ)
    if is_safe_redirect(request.referrer) and _answers_get(adapter, request.referrer):  # type: ignore[arg-type]
        return request.referrer  # type: ignore[return-value]
    return _nearest_page_above(adapter, request.path)
