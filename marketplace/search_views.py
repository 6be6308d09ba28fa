"""The site search page ``/search`` (blueprint ``search_ui``) and what it shares with the API.

Views stay thin: :func:`parse_search` turns the query string into :class:`SearchParams` (bad values
raise :class:`~marketplace.errors.ValidationFailed` naming the parameter), :func:`marketplace.search.search`
answers, :func:`facet_labels` names the facet values for display, and :func:`results_record` shapes
the answer as ``/api/v1/search`` returns it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from typing import Any

import sqlalchemy as sa
from flask import Blueprint, Flask, flash, render_template, request
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from markupsafe import Markup
from sqlalchemy.orm import Session
from werkzeug.datastructures import MultiDict

from marketplace import clock, search
from marketplace.errors import ValidationFailed
from marketplace.extensions import SEARCH, db, rate_limit
from marketplace.models import Batch, District, Domain, ScenarioStatus, Theme
from marketplace.queryargs import int_arg, raise_if_errors
from marketplace.search.documents import MAX_PER_PAGE
from marketplace.search.query import PhraseNode, parse_query

bp = Blueprint("search_ui", __name__)

#: Status filter values: the derived open / closed, ``published`` (both), the derived ``publicity`` (公示中: an
#: award whose notice is pending), ``awarded`` (已揭榜: final only) and the later stored statuses.
STATUS_VALUES = ("open", "closed", "published", "publicity", "awarded", "in_delivery", "accepted", "unsuccessful")
MULTI_PARAMS = ("type", "district", "domain", "status", "theme")
MAX_QUERY_CHARS = 200
MAX_INT = 2**31 - 1
#: Suggested searches for the empty state.
SUGGESTIONS = ("人工智能", "智慧交通", "工业互联网", "数据治理")
TYPE_LABELS = {"scenario": _l("应用场景"), "enterprise": _l("软件企业"), "demonstration": _l("示范项目")}
SORT_LABELS = {"relevance": _l("相关度"), "newest": _l("最新发布"), "deadline": _l("截止时间"), "budget": _l("预算金额")}
FACET_TITLES = {"type": _l("类型"), "status": _l("状态"), "district": _l("区县"), "domain": _l("产业领域"),
                "batch": _l("批次"), "budget": _l("预算"), "theme": _l("应用主题")}
#: Facets shown on the page, in order.
SHOWN_FACETS = ("type", "status", "district", "domain", "batch", "budget")
_BANDS = {band.label: band for band in search.BUDGET_BANDS}


def status_label(value: str | None) -> str:
    """What a user reads for a (derived) status value."""
    if not value:
        return ""
    if value == "open":
        return ScenarioStatus.PUBLISHED.label
    if value == "published":
        return _("已发布")
    try:
        return ScenarioStatus(value).label
    except ValueError:
        return value


@dataclass
class SearchParams:
    """Parsed search parameters (the page and the API use the same names)."""

    q: str = ""
    types: list[str] = field(default_factory=list)
    districts: list[str] = field(default_factory=list)
    domains: list[str] = field(default_factory=list)
    statuses: list[str] = field(default_factory=list)
    themes: list[str] = field(default_factory=list)
    batch: int | None = None
    budget: str | None = None
    sort: str = "relevance"
    page: int = 1
    per_page: int = 20

    _FACET_FIELDS = {"type": "types", "district": "districts", "domain": "domains", "status": "statuses",
                     "theme": "themes", "batch": "batch", "budget": "budget"}

    def query(self) -> search.SearchQuery:
        """The backend-neutral query."""
        low = high = None
        if self.budget:
            band = _BANDS[self.budget]
            low = band.low
            # Bands are ``low <= budget < high``; budgets have two decimals, the filter is inclusive.
            high = band.high - 0.001 if band.high is not None else None
        return search.SearchQuery(
            q=self.q, types=self.types, districts=self.districts, domains=self.domains, statuses=self.statuses,
            themes=self.themes, batch=str(self.batch) if self.batch else None, budget_min=low, budget_max=high,
            sort=self.sort, page=self.page, per_page=self.per_page, now=clock.now())

    def args(self, **changes: Any) -> dict[str, Any]:
        """Query-string arguments reproducing these parameters (defaults left out)."""
        data: dict[str, Any] = {
            "q": self.q, "type": self.types, "district": self.districts, "domain": self.domains,
            "status": self.statuses, "theme": self.themes, "batch": self.batch, "budget": self.budget,
            "sort": self.sort if self.sort != "relevance" else None,
            "page": self.page if self.page != 1 else None,
        }
        data.update(changes)
        return {k: v for k, v in data.items() if v not in (None, "", [], ())}

    def selected(self, facet: str) -> list[str]:
        value = getattr(self, self._FACET_FIELDS[facet])
        if isinstance(value, list):
            return value
        return [] if value is None else [str(value)]

    def is_selected(self, facet: str, value: str) -> bool:
        return str(value) in self.selected(facet)

    def toggled(self, facet: str, value: str) -> dict[str, Any]:
        """Arguments with *value* of *facet* switched on or off (back to the first page)."""
        name = self._FACET_FIELDS[facet]
        current = getattr(self, name)
        if facet in MULTI_PARAMS:
            new: Any = [v for v in current if v != value] if value in current else [*current, value]
        else:
            new = None if str(current) == str(value) else value
        return replace(self, **{name: new}, page=1).args()

    @property
    def active_filters(self) -> list[tuple[str, str]]:
        """``(facet, value)`` of every filter in use."""
        return [(facet, value) for facet in FACET_TITLES for value in self.selected(facet)]

    @property
    def has_filters(self) -> bool:
        return bool(self.active_filters)


def _codes(model) -> tuple[str, ...]:
    """The codes of a reference list (districts, domains, themes): filters take codes, never names."""
    return tuple(db.session.execute(sa.select(model.code).order_by(model.sort_order)).scalars())


def parse_search(args: MultiDict, default_per_page: int = 20) -> SearchParams:
    """Read search parameters; bad values raise :class:`ValidationFailed` naming each parameter."""
    errors: dict[str, list[str]] = {}

    def integer(name: str, maximum: int) -> int | None:
        return int_arg(args, name, errors, 1, maximum)

    def values(name: str, allowed: tuple[str, ...] | None = None) -> list[str]:
        found = list(dict.fromkeys(v.strip() for v in args.getlist(name) if v and v.strip()))
        if allowed is not None:
            unknown = [v for v in found if v not in allowed]
            if unknown:
                errors[name] = [_("未知的取值：%(v)s。可用的取值：%(values)s", v="、".join(u[:40] for u in unknown),
                                  values="、".join(allowed))]
                return [v for v in found if v in allowed]
        if any(len(v) > 64 for v in found):
            errors[name] = [_("取值过长。")]
            return []
        return found

    q = (args.get("q") or "").strip()
    if len(q) > MAX_QUERY_CHARS:
        errors["q"] = [_("关键词不能超过 %(n)d 个字。", n=MAX_QUERY_CHARS)]
        q = q[:MAX_QUERY_CHARS]
    budget = (args.get("budget") or "").strip() or None
    if budget is not None and budget not in _BANDS:
        errors["budget"] = [_("未知的预算区间：%(v)s", v=budget)]
        budget = None
    sort = (args.get("sort") or "").strip() or "relevance"
    if sort not in search.SORTS:
        errors["sort"] = [_("未知的排序方式：%(v)s", v=sort)]
        sort = "relevance"
    params = SearchParams(
        q=q,
        types=values("type", search.DOC_TYPES),
        districts=values("district", _codes(District)),
        domains=values("domain", _codes(Domain)),
        statuses=values("status", STATUS_VALUES),
        themes=values("theme", _codes(Theme)),
        batch=integer("batch", MAX_INT),
        budget=budget,
        sort=sort,
        page=integer("page", 100_000) or 1,
        per_page=integer("per_page", MAX_PER_PAGE) or default_per_page,
    )
    raise_if_errors(errors)
    return params


def facet_labels(session: Session, facets: dict[str, dict[str, int]], params: SearchParams) -> dict[str, dict[str, str]]:
    """Display names of the facet values (and of the selected filters), by facet."""
    wanted = {name: set(facets.get(name, {})) | set(params.selected(name)) for name in FACET_TITLES}
    labels: dict[str, dict[str, str]] = {name: {} for name in FACET_TITLES}
    for name, model in (("district", District), ("domain", Domain), ("theme", Theme)):
        if wanted[name]:
            rows = session.execute(sa.select(model).where(model.code.in_(wanted[name]))).scalars()
            labels[name] = {row.code: row.name for row in rows}
    batch_ids = [int(v) for v in wanted["batch"] if v.isdigit() and int(v) <= MAX_INT]
    if batch_ids:
        rows = session.execute(sa.select(Batch.id, Batch.name).where(Batch.id.in_(batch_ids))).all()
        labels["batch"] = {str(i): name for i, name in rows}
    labels["type"] = {v: str(TYPE_LABELS.get(v, v)) for v in wanted["type"]}
    labels["status"] = {v: status_label(v) for v in wanted["status"]}
    labels["budget"] = {v: v for v in wanted["budget"]}
    for name, values in wanted.items():
        for value in values:
            labels[name].setdefault(value, value)
    return labels


def results_record(results: search.SearchResults, labels: dict[str, dict[str, str]], root: str) -> dict[str, Any]:
    """The API's envelope of a search answer: hits (with absolute ``url``s under *root*), totals,
    facet counts with their labels, and the notice.  ``total_is_estimate``: the total and the
    facet counts are estimates (PostgreSQL backend, very many matches)."""
    return {
        "items": [{
            "type": hit.doc_type,
            "id": hit.doc_id,
            "title": Markup(hit.title_html).striptags(),
            "title_html": hit.title_html,
            "snippet_html": hit.snippet_html,
            "status": hit.status,
            "score": round(hit.score, 4),
            "url": f"{root}{hit.url}" if hit.url.startswith("/") else hit.url,
        } for hit in results.hits],
        "total": results.total,
        "total_is_estimate": results.total_is_estimate,
        "page": results.page,
        "per_page": results.per_page,
        "facets": {name: [{"value": value, "label": labels.get(name, {}).get(value, value), "count": count}
                          for value, count in counts.items()]
                   for name, counts in results.facets.items()},
        "notice": results.notice,
    }


def _split_compound(q: str) -> str | None:
    """``"智慧 交通"`` for a single unquoted compound such as ``智慧交通`` (its parts), else ``None``."""
    parsed = parse_query(q)
    if parsed.must_not or len(parsed.must) != 1:
        return None
    phrases = [node for node in getattr(parsed.must[0], "children", ())
               if isinstance(node, PhraseNode) and not node.exact]
    if len(phrases) != 1 or len(phrases[0].tokens) < 2:
        return None
    return " ".join(phrases[0].tokens)


def run_search(params: SearchParams) -> search.SearchResults:
    """Answer *params*; when a single compound word (智慧交通) finds nothing, search its parts instead
    (智慧 交通, every part somewhere in the record) and say so in the notice."""
    results = search.search(params.query())
    if results.total or results.notice or not params.q:
        return results
    parts = _split_compound(params.q)
    if parts is None:
        return results
    broadened = search.search(replace(params, q=parts).query())
    if not broadened.total:
        return results
    broadened.notice = _("没有找到包含“%(q)s”的结果，以下为同时包含“%(parts)s”的结果。", q=params.q,
                         parts="”“".join(parts.split()))
    return broadened


@bp.route("/search")
@rate_limit(SEARCH, methods=None)
def index():
    """Search scenarios, firms and demonstrations: highlighted hits, facets, sort, pages."""
    try:
        params = parse_search(request.args)
    except ValidationFailed as error:
        flash(error.message, "warning")
        params = SearchParams(q=(request.args.get("q") or "").strip()[:MAX_QUERY_CHARS])
    results = run_search(params)
    return render_template(
        "search/index.html", params=params, results=results,
        labels=facet_labels(db.session, results.facets, params),
        page_count=min(results.pages, math.ceil(10_000 / params.per_page)),
        facet_titles=FACET_TITLES, shown_facets=SHOWN_FACETS, type_labels=TYPE_LABELS, sort_labels=SORT_LABELS,
        suggestions=SUGGESTIONS, status_label=status_label)


def init_app(app: Flask) -> None:
    """Register the search page."""
    app.register_blueprint(bp)
