"""Statistics tables as plain data: for the templates, the charts' JSON and ``GET /api/v1/statistics``.

The same presented tables feed the HTML tables, the JSON the charts draw from and the API, so all
show the same numbers; each number carries the URL of the list of the records behind it.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any

from flask import url_for

from marketplace import clock
from marketplace.clock import iso_local
from marketplace.statistics.figures import Dashboard, PublicStatistics, Row, Table
from marketplace.statistics.queries import RecordQuery, ScenarioQuery, public_link, staff_link
from marketplace.statistics.scope import PUBLIC_STATUSES, Scope, format_value, status_label


def staff_url(query: RecordQuery) -> str:
    """The staff list behind a dashboard number."""
    endpoint, args = staff_link(query)
    return url_for(endpoint, **args)


def public_url(query: RecordQuery, external: bool = False) -> str:
    """The public list behind a public number (public tables hold scenario counts only)."""
    assert isinstance(query, ScenarioQuery)
    endpoint, args = public_link(query)
    return url_for(endpoint, _external=external, **args)


def _chart_value(value: int | Decimal | None, fmt: str) -> int | float | None:
    if value is None:
        return None
    if fmt == "percent":
        return round(float(value) * 100, 1)
    if fmt == "wan":
        return float(value)
    return int(value)


def present(table: Table, link: Callable[[RecordQuery], str]) -> dict[str, Any]:
    """A table as plain data for the template and the chart JSON: each cell's value, text and link."""
    return {
        "key": table.key, "title": table.title, "note": table.note, "chart": table.chart,
        "series": list(table.series) or [c.key for c in table.columns if c.format == "count"],
        "columns": [{"key": c.key, "label": c.label, "format": c.format} for c in table.columns],
        "rows": [{
            "key": row.key, "label": row.label,
            "cells": {c.key: {"value": _chart_value(row.cells[c.key].value, c.format),
                              "display": format_value(row.cells[c.key].value, c.format),
                              "url": link(row.cells[c.key].query) if row.cells[c.key].query is not None else None}
                      for c in table.columns},
        } for row in table.rows],
    }


def scope_args(scope: Scope) -> dict[str, Any]:
    """The query-string arguments that select ``scope``."""
    return {k: v for k, v in (("district", scope.district_code), ("year", scope.year)) if v is not None}


def _scope(scope: Scope) -> dict[str, Any]:
    return {"district": scope.district_code, "year": scope.year, "label": scope.describe()}


def dashboard_data(board: Dashboard) -> dict[str, Any]:
    """The dashboard's tables for its charts (``/dashboard/districts/data.json``)."""
    return {"scope": _scope(board.scope), "tables": [present(t, staff_url) for t in board.tables]}


def public_data(figures: PublicStatistics) -> dict[str, Any]:
    """The public tables for their charts (``/statistics/data.json``)."""
    return {"scope": _scope(figures.scope), "total": figures.total,
            "tables": [present(t, public_url) for t in figures.tables]}


def _api_url(query: RecordQuery | None) -> str:
    assert query is not None
    return public_url(query, external=True)


def _api_entry(row: Row) -> dict[str, Any]:
    return {
        "total": row.cells["total"].value,
        "by_status": {s: row.cells[s].value for s in PUBLIC_STATUSES},
        "url": _api_url(row.cells["total"].query),
    }


def api_statistics(figures: PublicStatistics) -> dict[str, Any]:
    """``GET /api/v1/statistics``: counts of public scenarios by status, district, domain and year."""
    scope = figures.scope
    return {
        "filters": {"year": scope.year, "district": scope.district_code},
        "generated_at": iso_local(clock.now()),
        "total": figures.total,
        "statuses": [{"code": s, "label": status_label(s)} for s in PUBLIC_STATUSES],
        "by_status": [{"status": r.key, "label": r.label, "count": r.cells["count"].value,
                       "url": _api_url(r.cells["count"].query)} for r in figures.table("status").rows],
        "by_district": [{"district": r.key, "name": r.label, **_api_entry(r)}
                        for r in figures.table("district").rows],
        "by_domain": [{"domain": r.key, "name": r.label, **_api_entry(r)} for r in figures.table("domain").rows],
        "by_year": [{"year": int(r.key), **_api_entry(r)} for r in figures.table("year").rows],
    }
