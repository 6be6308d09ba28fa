"""The filter form, status tabs and sort links of ``/scenarios``, rendered in Python.

As Jinja these were about a third of the uncached list page (a loop step, a test and an escape per
checkbox and option, a ``gettext`` and a ``query_url`` per tab). The markup is exactly what
``templates/scenarios/index.html`` rendered before (``tests/test_list_html.py`` compares them): every
value from the request or the database is escaped (``markupsafe``); the interface strings come from
the request's catalogue and, like Jinja's ``_()``, are inserted as they are translated.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from markupsafe import Markup, escape

from marketplace.i18n import request_translations
from marketplace.paging import query_url


def _value(value: Any) -> str:
    return "" if value is None else escape(value)


#: Key of the escaped checkbox and option markup kept with the filter labels (one language, one data version).
_PIECES = "marketplace.list_html.pieces"


def _choice_pieces(choices: Mapping[str, Any]) -> dict[str, list[tuple[Any, str, str]]]:
    """``(value, markup before " checked", markup after)`` of every checkbox and option of the filter form.

    Kept in ``choices["labels"]`` (:func:`~marketplace.scenarios.listing.cached_filter_choices`: one dict per
    data version and language), so the names and codes are escaped once, not on every request.
    """
    labels = choices["labels"]
    found = labels.get(_PIECES)
    if found is None:
        found = {
            "districts": [(code, f'\n        <div class="form-check"><input class="form-check-input" type="checkbox" '
                                 f'name="district" value="{escape(code)}" id="d-{escape(code)}"',
                           f'>\n          <label class="form-check-label" for="d-{escape(code)}">{escape(name)}'
                           f'</label></div>\n        ') for code, name in labels["districts"]],
            "batches": [(b.id, f'<option value="{escape(b.id)}"', f'>{escape(b.name)}</option>')
                        for b in choices["batches"]],
        }
        for kind in ("domains", "themes"):
            found[kind] = [(code, f'<option value="{escape(code)}"', f'>{escape(name)}</option>')
                           for code, name in labels[kind]]
        labels[_PIECES] = found
    return found


def filter_form(choices: Mapping[str, Any], filters: Any, list_url: str, batches_url: str) -> Markup:
    """``<form id="filters">``: keyword, districts, domain, theme, batch, budget range, deadline window."""
    _ = request_translations().ugettext  # looked up once (``_`` also marks the strings for pybabel)
    pieces = _choice_pieces(choices)
    districts = "".join([f"{head}{' checked' if code in filters.districts else ''}{tail}"
                         for code, head, tail in pieces["districts"]])
    domains = "".join([f"{head}{' selected' if code == filters.domain else ''}{tail}"
                       for code, head, tail in pieces["domains"]])
    themes = "".join([f"{head}{' selected' if code == filters.theme else ''}{tail}"
                      for code, head, tail in pieces["themes"]])
    batches = "".join([f"{head}{' selected' if code == filters.batch else ''}{tail}"
                       for code, head, tail in pieces["batches"]])
    everything = _("全部")
    return Markup(
        f'<form method="get" id="filters" aria-label="{_("筛选")}">\n'
        f'      <div class="mb-3"><label class="form-label" for="q">{_("关键词")}</label>\n'
        f'        <input class="form-control" id="q" name="q" value="{escape(filters.q or "")}" '
        f'placeholder="{_("如：智慧交通")}"></div>\n'
        f'      <fieldset class="mb-3"><legend class="form-label fs-6">{_("区县（可多选）")}</legend>\n'
        f'        {districts}\n'
        f'      </fieldset>\n'
        f'      <div class="mb-3"><label class="form-label" for="domain">{_("产业领域")}</label>\n'
        f'        <select class="form-select" id="domain" name="domain"><option value="">{everything}</option>\n'
        f'        {domains}</select></div>\n'
        f'      <div class="mb-3"><label class="form-label" for="theme">{_("应用主题")}</label>\n'
        f'        <select class="form-select" id="theme" name="theme"><option value="">{everything}</option>\n'
        f'        {themes}</select></div>\n'
        f'      <div class="mb-3"><label class="form-label" for="batch">{_("批次")}</label>\n'
        f'        <select class="form-select" id="batch" name="batch" aria-describedby="batch-help">'
        f'<option value="">{everything}</option>\n'
        f'        {batches}</select>\n'
        f'        <div class="form-text" id="batch-help">{_("批次按“征集一批、开发一批、拓展一批”滚动发布。")} '
        f'<a href="{escape(batches_url)}#stages">{_("阶段说明")}</a></div></div>\n'
        f'      <div class="row g-2 mb-3">\n'
        f'        <div class="col"><label class="form-label" for="budget_min">{_("预算下限")}</label>'
        f'<input class="form-control" id="budget_min" name="budget_min" inputmode="decimal" '
        f'value="{_value(filters.budget_min)}"></div>\n'
        f'        <div class="col"><label class="form-label" for="budget_max">{_("预算上限")}</label>'
        f'<input class="form-control" id="budget_max" name="budget_max" inputmode="decimal" '
        f'value="{_value(filters.budget_max)}"></div>\n'
        f'      </div>\n'
        f'      <div class="mb-3"><label class="form-label" for="due_within">{_("截止时间在 N 天内")}</label>\n'
        f'        <input class="form-control" id="due_within" name="due_within" type="number" min="1" '
        f'value="{escape(filters.due_within or "")}"></div>\n'
        f'      <input type="hidden" name="status" value="{escape(filters.status or "")}">\n'
        f'      <input type="hidden" name="sort" value="{escape(filters.sort)}">\n'
        f'      <button class="btn btn-primary w-100" type="submit">{_("筛选")}</button>\n'
        f'      <a class="btn btn-link w-100" href="{escape(list_url)}">{_("清除筛选")}</a>\n'
        f'    </form>')


def status_tabs(list_url: str, filters: Any, counts: Mapping[str, int]) -> Markup:
    """The 全部 / per-status pills with their counts (each a link to the list with that status)."""
    _ = request_translations().ugettext
    tabs = [
        f'<ul class="nav nav-pills mb-3 flex-wrap" aria-label="{_("按状态")}">\n'
        f'      <li class="nav-item"><a class="nav-link{"" if filters.status else " active"}" '
        f'href="{escape(query_url(list_url, filters.args(status=None, page=None)))}">{_("全部")} '
        f'<span class="badge text-bg-light">{sum(counts.values())}</span></a></li>\n      ']
    for key, label in [("open", _("征集中")), ("closed", _("已截止")), ("publicity", _("公示中")), ("awarded", _("已揭榜")),
                       ("in_delivery", _("实施中")), ("accepted", _("已验收")), ("unsuccessful", _("流榜"))]:
        tabs.append(
            f'\n      <li class="nav-item"><a class="nav-link{" active" if filters.status == key else ""}" '
            f'data-status-filter="{key}" href="{escape(query_url(list_url, filters.args(status=key, page=None)))}">'
            f'{label} <span class="badge text-bg-light">{escape(counts[key])}</span></a></li>\n      ')
    tabs.append("\n    </ul>")
    return Markup("".join(tabs))


def sort_links(list_url: str, filters: Any) -> Markup:
    """最新发布 · 截止时间 · 预算金额, the current order in bold."""
    _ = request_translations().ugettext
    options = [("newest", _("最新发布")), ("deadline", _("截止时间")), ("budget", _("预算金额"))]
    links = []
    for number, (key, label) in enumerate(options, 1):
        links.append(
            f'\n        <a href="{escape(query_url(list_url, filters.args(sort=key, page=None)))}" '
            f'class="{"fw-bold" if filters.sort == key else ""}">{label}</a>'
            f'{"" if number == len(options) else " · "}\n        ')
    return Markup("".join(links))
