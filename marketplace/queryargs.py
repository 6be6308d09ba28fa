"""Reading list parameters from a query string, shared by the list pages, exports and the API.

Each reader records a message under the parameter's name in ``errors`` instead of raising, so a
parser can report every bad parameter at once through :func:`raise_if_errors`.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from flask_babel import gettext as _
from werkzeug.datastructures import MultiDict

from marketplace.errors import ValidationFailed


def int_arg(args: MultiDict, name: str, errors: dict[str, list[str]], minimum: int = 1,
            maximum: int | None = None) -> int | None:
    """An optional integer in [minimum, maximum]."""
    raw = (args.get(name) or "").strip()
    if not raw:
        return None
    try:
        value = int(raw)
    except ValueError:
        errors[name] = [_("必须是整数。")]
        return None
    if value < minimum or (maximum is not None and value > maximum):
        errors[name] = [_("取值超出范围（%(lo)d–%(hi)s）。", lo=minimum, hi=maximum if maximum else "∞")]
        return None
    return value


def decimal_arg(args: MultiDict, name: str, errors: dict[str, list[str]]) -> Decimal | None:
    """An optional non-negative decimal (amounts in 万元)."""
    raw = (args.get(name) or "").strip()
    if not raw:
        return None
    try:
        value = Decimal(raw)
    except InvalidOperation:
        errors[name] = [_("必须是数字（万元）。")]
        return None
    if not value.is_finite() or value < 0:
        errors[name] = [_("不能为负数。")]
        return None
    return value


def raise_if_errors(errors: dict[str, list[str]]) -> None:
    """One :class:`ValidationFailed` naming every bad parameter."""
    if errors:
        detail = "；".join(f"{k}: {' '.join(v)}" for k, v in errors.items())
        raise ValidationFailed(_("参数有误：%(detail)s", detail=detail), errors)
