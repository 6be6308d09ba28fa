"""Signed, expiring tokens for links sent by e-mail (reset, confirmation, e-mail change)."""

from __future__ import annotations

from typing import Any

from flask import current_app
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

from marketplace.errors import DomainError


def _serializer(purpose: str) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=purpose)


def dumps(purpose: str, data: dict[str, Any]) -> str:
    return _serializer(purpose).dumps(data)


def loads(purpose: str, token: str, max_age: int, *, expired: str, invalid: str) -> dict[str, Any]:
    """The token's data; :class:`DomainError` with *expired* or *invalid* otherwise."""
    try:
        data = _serializer(purpose).loads(token, max_age=max_age)
    except SignatureExpired:
        raise DomainError(expired)
    except BadSignature:
        raise DomainError(invalid)
    if not isinstance(data, dict):
        raise DomainError(invalid)
    return data
