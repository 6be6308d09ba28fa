"""The scenario card of the lists (``/scenarios``, a batch page), rendered in Python.

A list page shows twenty cards; as a Jinja macro each card cost about as much as the rest of the page
(a dozen calls through the template runtime per card). The markup is the same as before: a card per
scenario, its status badge (``templates/scenarios/_status.html`` uses :data:`STATUS_COLOURS` too), the
owner, district, domain, theme and mode, the budget, the deadline and the batches it belongs to.
Every value is escaped (``markupsafe``); the link patterns come from :func:`marketplace.paging.id_url`.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from datetime import datetime
from typing import Any

from markupsafe import Markup, escape

from marketplace import clock
from marketplace.i18n import request_language, request_translations

#: Bootstrap background of each status badge.
STATUS_COLOURS = {"draft": "secondary", "submitted": "info text-dark", "returned": "warning text-dark",
                  "published": "success", "closed": "dark", "awarded": "primary", "publicity": "warning text-dark",
                  "in_delivery": "primary",
                  "accepted": "success", "withdrawn": "secondary", "unsuccessful": "secondary"}


def _text(value: Any) -> str:
    """``markupsafe.escape`` for the plain strings of a card (the same five replacements, without building
    a ``Markup`` per value: a page escapes some three hundred); anything else goes through ``escape``."""
    if type(value) is str:
        return value.replace("&", "&amp;").replace(">", "&gt;").replace("<", "&lt;").replace(
            "'", "&#39;").replace('"', "&#34;")
    return escape(value)


def _name(row: Any, english: bool) -> str:
    if row is None:
        return ""
    if english and getattr(row, "name_en", None):
        return row.name_en
    return row.name


#: Badges already built, per enum member and catalogue (a page shows twenty, of a few kinds).
_BADGES: dict[tuple, Markup] = {}


def status_badge(status: Any) -> Markup:
    """``<span class="badge …" data-status="…">label</span>`` (the ``status_badge`` macro)."""
    key = (status, request_translations())
    found = _BADGES.get(key)
    if found is None:
        colour = STATUS_COLOURS.get(status.value, "secondary")
        found = Markup(f'<span class="badge bg-{escape(colour)}" data-status="{escape(status.value)}">'
                       f'{escape(status.label)}</span>')
        if len(_BADGES) >= 256:
            _BADGES.clear()
        _BADGES[key] = found
    return found


def scenario_cards(scenarios: Any, now: datetime | None, labels: Mapping[str, Any],
                   publicity: Collection[int] = ()) -> Markup:
    """The cards of *scenarios* (ORM scenarios or :class:`~marketplace.scenarios.listing.ScenarioCard`).

    *publicity*: ids of the scenarios whose award is in 公示 (:func:`~marketplace.scenarios.listing.in_publicity`).

    *labels*: ``budget``, ``wan``, ``deadline`` (translated once by the caller), ``detail`` and ``batch``
    (``id → URL`` functions).
    """
    english = request_language() == "en"
    escape = _text  # the values below are plain strings (see _text)
    detail: Callable[[int], str] = labels["detail"]
    batch: Callable[[int], str] = labels["batch"]
    budget_label, wan_label, deadline_label = escape(labels["budget"]), escape(labels["wan"]), \
        escape(labels["deadline"])
    parts = []
    # Values shared by many cards (their district, domain, theme, mode, batches, badge) are escaped once.
    names: dict[int, str] = {}
    modes: dict[Any, str] = {}
    batch_links: dict[int, str] = {}
    badges: dict[Any, Markup] = {}

    def name(row: Any) -> str:
        key = id(row)
        found = names.get(key)
        if found is None:
            found = names[key] = escape(_name(row, english))
        return found

    def batch_link(b: Any) -> str:
        found = batch_links.get(b.id)
        if found is None:
            found = batch_links[b.id] = (f'<a class="badge text-bg-light text-decoration-none" '
                                         f'href="{escape(batch(b.id))}">{escape(b.name)}</a>')
        return found

    for s in scenarios:
        meta = [escape(s.owner.name), name(s.district)]
        if s.domain:
            meta.append(name(s.domain))
        if s.theme:
            meta.append(name(s.theme))
        mode = modes.get(s.mode)
        if mode is None:
            mode = modes[s.mode] = escape(s.mode.label)
        meta.append(mode)
        summary = f'<p class="mb-2">{escape(s.summary)}</p>' if s.summary else ""
        budget = "" if s.budget_wan is None else f"{s.budget_wan:,.2f}"
        deadline = f"{clock.to_local(s.deadline):%Y-%m-%d %H:%M}" if s.deadline else ""
        status = s.display_status(now, s.id in publicity)
        badge = badges.get(status)
        if badge is None:
            badge = badges[status] = status_badge(status)
        parts.append(
            f'<article class="card mb-3 scenario-card" data-scenario-id="{s.id}">\n'
            f'  <div class="card-body">\n'
            f'    <div class="d-flex justify-content-between gap-3">\n'
            f'      <h2 class="h5 mb-1"><a href="{escape(detail(s.id))}">{escape(s.title)}</a></h2>\n'
            f'      <div>{badge}</div>\n'
            f'    </div>\n'
            f'    <p class="text-muted small mb-2">{" · ".join(meta)}</p>\n'
            f'    {summary}\n'
            f'    <div class="d-flex flex-wrap gap-3 small">\n'
            f'      <span>{budget_label} <strong>{budget}</strong> {wan_label}</span>\n'
            f'      <span>{deadline_label} {deadline}</span>\n'
            f'      {"".join([batch_link(b) for b in s.batches])}\n'
            f'    </div>\n'
            f'  </div>\n'
            f'</article>')
    return Markup("".join(parts))
