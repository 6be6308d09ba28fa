"""Cross-origin reads of the public open-data API (CORS), for web pages on other sites.

A view marked with :func:`open_to_other_sites` (the anonymous, read-only JSON of ``/api/v1``: scenarios,
enterprises, statistics, OCDS, search, the OpenAPI description …) answers an anonymous ``GET``/``HEAD``
with ``Access-Control-Allow-Origin: *``, and a CORS preflight (``OPTIONS`` with
``Access-Control-Request-Method``) with the methods and request headers it accepts. Never:

* ``Access-Control-Allow-Credentials`` (``*`` is meaningless with credentials, and nothing here is personal);
* on an answer to a request carrying the session or remember-me cookie, an ``Authorization`` header, or
  from a signed-in user (those answers are theirs alone);
* on personal endpoints (suggestions, ``my/recommendations``, a scenario's applications): not marked.

The header depends on the request's cookies and ``Authorization``, so those answers say
``Vary: Cookie, Authorization``. The page cache does not keep the header with a stored page
(:data:`marketplace.pagecache._NOT_KEPT`): a hit through Flask gets it from this hook, a hit on the WSGI fast path
(cookie-less, without ``Authorization`` by construction) from :meth:`marketplace.pagecache.HitMiddleware.response`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from flask import Flask, Response, current_app, request
from flask_login import current_user

F = TypeVar("F", bound=Callable[..., Any])

#: Attribute :func:`open_to_other_sites` sets on a view function.
_ATTR = "cors_public"
ALLOW_ORIGIN = ("Access-Control-Allow-Origin", "*")
#: What a preflight is told: read-only methods, the request headers a reader may send (never ``Authorization``).
ALLOW_METHODS = "GET, HEAD"
ALLOW_HEADERS = "Accept, Accept-Language, Content-Language, If-None-Match, If-Modified-Since, X-Request-ID"
MAX_AGE = "86400"
#: Response headers a script on another site may read besides the CORS-safelisted ones.
EXPOSE_HEADERS = "ETag, Content-Disposition, X-Request-ID"
VARY = ("Cookie", "Authorization")


def open_to_other_sites(view: F) -> F:
    """Mark a public, anonymous, read-only view as readable by pages of any origin."""
    setattr(view, _ATTR, True)
    return view


def is_open(view: Any) -> bool:
    """Whether *view* (a view function, or None) is marked with :func:`open_to_other_sites`."""
    return bool(getattr(view, _ATTR, False))


def simple_headers() -> list[tuple[str, str]]:
    """The headers an anonymous ``GET``/``HEAD`` answer of an open view gets (``Vary`` apart)."""
    return [ALLOW_ORIGIN, ("Access-Control-Expose-Headers", EXPOSE_HEADERS)]


def _personal_request() -> bool:
    """A request that carries credentials: the session or remember-me cookie, ``Authorization``, a signed-in user."""
    cookies = (current_app.config.get("SESSION_COOKIE_NAME") or "session",
               current_app.config.get("REMEMBER_COOKIE_NAME") or "remember_token")
    if "Authorization" in request.headers or any(name in request.cookies for name in cookies):
        return True
    return bool(current_user and current_user.is_authenticated)


def add_headers(response: Response) -> Response:
    """``after_request``: the CORS headers of the module docstring."""
    if request.endpoint is None or not is_open(current_app.view_functions.get(request.endpoint)):
        return response
    for name in VARY:
        response.vary.add(name)
    if _personal_request():
        return response
    if request.method in ("GET", "HEAD"):
        for name, value in simple_headers():
            response.headers[name] = value
    elif request.method == "OPTIONS" and "Access-Control-Request-Method" in request.headers:
        response.headers.update({ALLOW_ORIGIN[0]: ALLOW_ORIGIN[1], "Access-Control-Allow-Methods": ALLOW_METHODS,
                                 "Access-Control-Allow-Headers": ALLOW_HEADERS, "Access-Control-Max-Age": MAX_AGE})
    return response


def init_app(app: Flask) -> None:
    """Register the hook on *app*."""
    app.after_request(add_headers)
