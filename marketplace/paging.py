"""Which page links a pager shows; the one rule behind the ``pager`` macro in ``templates/_macros.html``."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import urlencode

from flask import url_for
from markupsafe import Markup, escape
from werkzeug.datastructures import iter_multi_items

from marketplace.i18n import request_translations

#: Bootstrap classes: an item shown from the ``sm`` breakpoint up only, or on phones only.
WIDE_ONLY = "d-none d-sm-block"
PHONE_ONLY = "d-sm-none"


def page_numbers(page: int, pages: int, edge: int = 2, around: int = 2) -> list[int | None]:
    """Page links to show: *edge* pages at each end and *around* either side of *page* (``None`` = one gap).

    Consecutive hidden pages collapse into a single gap, so a pager never shows two ellipses in a row;
    a gap that would hide one page only shows that page instead.
    """
    shown: list[int | None] = []
    for number in range(1, pages + 1):
        if number <= edge or number > pages - edge or abs(number - page) <= around:
            shown.append(number)
        elif shown and shown[-1] is not None:
            shown.append(None)
    for index, value in enumerate(shown):
        if value is None and 0 < index < len(shown) - 1:
            before, after = shown[index - 1], shown[index + 1]
            if before is not None and after is not None and after - before == 2:
                shown[index] = before + 1
    return shown


def pager_items(page: int, pages: int) -> list[tuple[int | None, str]]:
    """``(page number or None for a gap, CSS class)`` for the pager: a wide window from the ``sm``
    breakpoint up, a narrow one (first, last, current ±1) on phones, so it fits one line at 360 px."""
    wide = page_numbers(page, pages)
    narrow = page_numbers(page, pages, edge=1, around=1)
    narrow_numbers = {n for n in narrow if n is not None}
    items: list[tuple[int | None, str]] = []
    for number in wide:
        if number is None:
            items.append((None, WIDE_ONLY))
            continue
        items.append((number, "" if number in narrow_numbers else WIDE_ONLY))
        # A phone-only gap after this page when the narrow list skips pages after it.
        position = narrow.index(number) if number in narrow_numbers else -1
        if 0 <= position < len(narrow) - 1 and narrow[position + 1] is None:
            items.append((None, PHONE_ONLY))
    return items


#: Characters left unescaped in query strings, as Werkzeug's URL building leaves them.
_QUERY_SAFE = "!$'()*,/:;?@"


def query_url(base: str, args: Mapping[str, Any] | None = None) -> str:
    """*base* (one ``url_for`` result) with *args* as its query string, exactly as ``url_for`` would add them.

    A list page links to itself some thirty times with different filters; building the path once and
    the query strings here costs a fraction of a ``url_for`` per link. Lists expand to repeated
    parameters, ``None`` values are left out.
    """
    items = [(key, value) for key, value in iter_multi_items(args or {}) if value is not None]
    return f"{base}?{urlencode(items, safe=_QUERY_SAFE)}" if items else base


#: A stand-in id to find where the id goes in a built URL (the largest id ``<int:…>`` accepts).
_MARKER = 2**31 - 1


def id_url(endpoint: str, name: str) -> Callable[[int], str]:
    """A function ``id → url_for(endpoint, name=id)`` that builds the URL once: for a link on every row.

    ``<int:…>`` converters write the id as its decimal digits, so putting the digits in place of the
    stand-in gives exactly what ``url_for`` gives.
    """
    head, _marker, tail = url_for(endpoint, **{name: _MARKER}).rpartition(str(_MARKER))
    return lambda value: f"{head}{int(value)}{tail}"


#: URLs kept by :func:`memo_url_for` in one process (cleared when full).
MEMO_URLS_KEPT = 4096


def memo_url_for(app: Any) -> Callable[..., str]:
    """``url_for`` for templates that keeps what it built, keyed by the request's script root, the endpoint
    and the values (when all are hashable and none is a ``_``-option such as ``_external`` or ``_anchor``).

    Within a request context a URL is a function of those alone (relative URLs; the only URL default,
    the static fingerprint, is settled per process unless templates reload, when nothing is kept).
    """
    from flask import has_request_context, request

    build = app.url_for
    memo: dict[tuple, str] = {}
    keep = not (app.debug or app.config.get("TEMPLATES_AUTO_RELOAD"))

    def url_for(endpoint: str, **values: Any) -> str:
        if not keep or endpoint.startswith(".") or not has_request_context():
            return build(endpoint, **values)
        try:
            key = (request.script_root, endpoint, *sorted(values.items()))
            found = memo.get(key)
        except TypeError:  # a list value: not kept
            return build(endpoint, **values)
        if found is None:
            if any(name.startswith("_") for name in values):
                return build(endpoint, **values)
            found = build(endpoint, **values)
            if len(memo) >= MEMO_URLS_KEPT:
                memo.clear()
            memo[key] = found
        return found

    return url_for



def pager_markup(current: int, pages: int, base: str, args: Mapping[str, Any] | None = None) -> Markup:
    """The ``pager`` macro of ``templates/_macros.html`` in Python, the same markup (for ``/scenarios``,
    where the macro's loop was a tenth of the page): *base* is ``url_for(endpoint)``."""
    if pages <= 1:
        return Markup("\n\n")
    translate = request_translations().ugettext
    args = dict(args or {})
    previous, following = translate("上一页"), translate("下一页")
    parts = [f'\n\n\n<nav aria-label="{translate("分页")}" class="pager">\n  <ul class="pagination flex-wrap">\n    ']
    if current > 1:
        href = escape(query_url(base, {**args, "page": current - 1 if current > 2 else None}))
        parts.append(f'\n    <li class="page-item"><a class="page-link" rel="prev" href="{href}">{previous}</a></li>\n    ')
    else:
        parts.append(f'\n    <li class="page-item disabled"><span class="page-link">{previous}</span></li>\n    ')
    parts.append("\n    ")
    label = translate("第 %(n)d 页")
    for number, cls in pager_items(current, pages):
        if number is None:
            item = (f'\n      <li class="page-item disabled {escape(cls)}"><span class="page-link" aria-hidden="true">…'
                    f'</span></li>\n      ')
        else:
            here = number == current
            href = escape(query_url(base, {**args, "page": number if number > 1 else None}))
            item = (f'\n      <li class="page-item{" active" if here else ""} {escape(cls)}"><a class="page-link"'
                    f'{" aria-current=" + chr(34) + "page" + chr(34) if here else ""}\n'
                    f'          href="{href}" aria-label="{label % {"n": number}}">{number}</a></li>\n      ')
        parts.append(f"\n      {item}\n    ")
    parts.append("\n    ")
    if current < pages:
        href = escape(query_url(base, {**args, "page": current + 1}))
        parts.append(f'\n    <li class="page-item"><a class="page-link" rel="next" href="{href}">{following}</a></li>\n    ')
    else:
        parts.append(f'\n    <li class="page-item disabled"><span class="page-link">{following}</span></li>\n    ')
    parts.append("\n  </ul>\n</nav>\n\n")
    return Markup("".join(parts))
