"""Reading list parameters from a query string, shared by the list pages, exports and the API.

Each reader records a message under the parameter's name in ``errors`` instead of raising, so a
parser can report every bad parameter at once through :func:`raise_if_errors`.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from flask_babel import gettext as _
from werkzeug.datastructures import MultiDict

from marketplace.errors import MalformedRequest, ValidationFailed


def plain_number(raw: str) -> bool:
    """*raw* may be read as a number: ASCII, without ``_``. Python's ``int()`` and ``Decimal()`` also read
    other scripts' digits (``٣``, ``３``) and digit separators (``1_000``), which no JSON Schema ``integer``
    or ``number`` parameter is; such a value is a 400 like any other text."""
    return raw.isascii() and "_" not in raw


def int_arg(args: MultiDict, name: str, errors: dict[str, list[str]], minimum: int = 1,
            maximum: int | None = None) -> int | None:
    """An optional integer in [minimum, maximum]."""
    raw = (args.get(name) or "").strip()
    if not raw:
        return None
    if not plain_number(raw):
        errors[name] = [_("必须是整数。")]
        return None
    try:
        value = int(raw)
    except ValueError:
        value = integral(raw)
        if value is None:
            errors[name] = [_("必须是整数。")]
            return None
    if value < minimum or (maximum is not None and value > maximum):
        errors[name] = [_("取值超出范围（%(lo)d–%(hi)s）。", lo=minimum, hi=maximum if maximum else "∞")]
        return None
    return value


def integral(raw: str) -> int | None:
    """``10.0`` or ``1e1`` as the integer it denotes (JSON Schema counts them as integers); else None."""
    if len(raw) > 40 or not plain_number(raw):
        return None
    try:
        number = Decimal(raw)
    except InvalidOperation:
        return None
    if not number.is_finite() or number != number.to_integral_value() or abs(number) > 10**18:
        return None
    return int(number)


def decimal_arg(args: MultiDict, name: str, errors: dict[str, list[str]]) -> Decimal | None:
    """An optional non-negative decimal (amounts in 万元)."""
    raw = (args.get(name) or "").strip()
    if not raw:
        return None
    try:
        value = Decimal(raw) if plain_number(raw) else None
    except InvalidOperation:
        value = None
    if value is None or not value.is_finite():  # also "NaN" and "Infinity", which were "不能为负数"
        errors[name] = [_("必须是数字（万元）。")]
        return None
    if value < 0:
        errors[name] = [_("不能为负数。")]
        return None
    return value


def raise_if_errors(errors: dict[str, list[str]]) -> None:
    """One :class:`ValidationFailed` naming every bad parameter."""
    if errors:
        detail = "；".join(f"{k}: {' '.join(v)}" for k, v in errors.items())
        raise ValidationFailed(_("参数有误：%(detail)s", detail=detail), errors)


#: Highest page number any list accepts (also the API's documented maximum).
MAX_PAGE = 100_000


def page_number(args: MultiDict, name: str = "page", maximum: int = MAX_PAGE) -> int:
    """The 1-based page number of an HTML list, clamped: absent or not a number → 1, beyond
    ``maximum`` → ``maximum`` (an empty page), never an offset the database cannot hold. The API's
    list parsers answer 400 instead (:func:`int_arg` with the same bounds)."""
    raw = (args.get(name) or "").strip()
    if not raw.isascii() or not raw.lstrip("-").isdigit() or len(raw) > 40:
        return 1
    return max(1, min(int(raw), maximum))


def refuse_nul_characters(*sources: MultiDict, path: str = "") -> None:
    """A query string, form or path with a NUL character is refused (400) before any view sees it:
    PostgreSQL text cannot hold one, so it would otherwise fail deep inside a query as a server error."""
    bad = sorted({name for args in sources for name, value in args.items(multi=True)
                  if "\x00" in name or (isinstance(value, str) and "\x00" in value)})
    if "\x00" in path:
        bad.append("path")
    if bad:
        message = _("参数不能包含空字符（NUL）。")
        raise MalformedRequest(_("参数有误：%(detail)s", detail=message),
                               {name.replace("\x00", "\\0"): [message] for name in bad})
