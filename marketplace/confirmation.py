"""Server-side confirmation of irreversible actions (award, 流榜, publishing a round, freezing an
appraisal, recording acceptance, publishing a scenario).

A JavaScript ``confirm()`` is not a confirmation: anything can POST. Here the first POST of such
an action never performs it; it renders a confirmation page that says who is notified, what
becomes public and that it cannot be undone, carrying every submitted field and a signed token.
Only a second POST with a valid token performs the action. The token (itsdangerous, salted for
this purpose only) is bound to the user, the action, the object and a digest of the submitted
fields, and expires after ``CONFIRMATION_MAX_AGE`` seconds — a token for another object, another
user or another choice is refused.

Usage in a view, after the form validated and before the service is called::

    page = confirmation.require(Confirmation("award", scenario.id, ...))
    if page is not None:
        return page
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass, field

from flask import current_app, render_template, request
from flask_babel import gettext as _
from flask_login import current_user
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

#: The form field carrying the token.
TOKEN_FIELD = "confirm_token"
_SALT = "marketplace.confirmation.v1"
#: Fields never replayed into the confirmation form (CSRF is issued afresh, files cannot be replayed).
_SKIP = {"csrf_token", TOKEN_FIELD}


@dataclass
class Confirmation:
    """What the confirmation page says about one irreversible action."""

    #: Action code, e.g. "award", "unsuccessful", "publish_round".
    action: str
    #: The object acted on (its id).
    object_id: int | str
    #: The page heading, e.g. "确认确定揭榜单位".
    title: str
    #: Who is notified.
    notified: list[str] = field(default_factory=list)
    #: What becomes public.
    public: list[str] = field(default_factory=list)
    #: (label, value) pairs restating the choice being confirmed.
    summary: list[tuple[str, str]] = field(default_factory=list)
    #: Where "取消" leads.
    back_url: str = "/"
    #: (field name, label) of file inputs to choose again: browsers cannot replay a chosen file.
    file_fields: list[tuple[str, str]] = field(default_factory=list)
    #: Raises a DomainError when the action is impossible anyway (state, permission), so that
    #: nobody is asked to confirm what would be refused.
    precheck: Callable[[], object] | None = None


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=_SALT)


def _fields() -> list[tuple[str, str]]:
    return sorted((k, v) for k, v in request.form.items(multi=True) if k not in _SKIP)


def _digest(fields: list[tuple[str, str]]) -> str:
    return hashlib.sha256(json.dumps(fields, ensure_ascii=False).encode("utf-8")).hexdigest()[:32]


def _user_id() -> int | None:
    return current_user.id if current_user.is_authenticated else None


def make_token(action: str, object_id: int | str, fields: list[tuple[str, str]] | None = None) -> str:
    """A token for the current user, this action and object, and these submitted fields."""
    fields = _fields() if fields is None else fields
    return _serializer().dumps({"u": _user_id(), "a": action, "o": str(object_id), "f": _digest(fields)})


def token_valid(action: str, object_id: int | str, token: str | None) -> bool:
    """True when *token* was issued to the current user for this action, object and submitted fields."""
    if not token:
        return False
    try:
        data = _serializer().loads(token, max_age=int(current_app.config.get("CONFIRMATION_MAX_AGE", 600)))
    except (BadSignature, SignatureExpired):
        return False
    return (isinstance(data, dict) and data.get("u") == _user_id() and data.get("a") == action
            and data.get("o") == str(object_id) and data.get("f") == _digest(_fields()))


def require(spec: Confirmation):
    """None when this POST is confirmed (perform the action); otherwise the confirmation page to return.

    A POST without a token gets the page (200); one with an invalid or expired token gets it again
    with a message (400) — in neither case is anything done.
    """
    if spec.precheck is not None:
        spec.precheck()
    token = request.form.get(TOKEN_FIELD)
    if token_valid(spec.action, spec.object_id, token):
        return None
    fields = _fields()
    error = _("确认已失效或与本次操作不符，请重新确认。") if token else None
    page = render_template("confirmation/confirm.html", spec=spec, fields=fields, error=error,
                           token=make_token(spec.action, spec.object_id, fields), token_field=TOKEN_FIELD,
                           action_url=request.path)
    return page, (400 if token else 200)
