"""District dashboard (staff) and public statistics: pages, chart data, XLSX exports and the lists behind numbers.

Views are thin: resolve the scope (permissions included) in :mod:`marketplace.showcase.statistics`,
ask it for tables, and turn each number's query into a link. The same presented tables feed the
HTML tables, the JSON the charts draw from and the exports, so all three show the same numbers.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any

from flask import Response, flash, jsonify, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from marketplace import clock
from marketplace.errors import DomainError
from marketplace.extensions import db
from marketplace.models import Role
from marketplace.permissions import roles_required
from marketplace.showcase import bp
from marketplace.showcase import statistics as stats

STAFF = (Role.DISTRICT_STAFF, Role.CITY_STAFF)
XLSX_MIMETYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
#: Rows a list behind a number shows at most (the count above it is always complete).
MAX_LISTED = 1000


# ------------------------------------------------------------------ presenting tables


def _staff_url(query: stats.RecordQuery) -> str:
    endpoint, args = stats.staff_link(query)
    return url_for(endpoint, **args)


def _public_url(query: stats.RecordQuery) -> str:
    assert isinstance(query, stats.ScenarioQuery)  # public tables hold scenario counts only
    endpoint, args = stats.public_link(query)
    return url_for(endpoint, **args)


def _chart_value(value: int | Decimal | None, fmt: str) -> int | float | None:
    if value is None:
        return None
    if fmt == "percent":
        return round(float(value) * 100, 1)
    if fmt == "wan":
        return float(value)
    return int(value)


def present(table: stats.Table, link: Callable[[stats.RecordQuery], str]) -> dict[str, Any]:
    """A table as plain data for the template and the chart JSON: each cell's value, text and link."""
    return {
        "key": table.key, "title": table.title, "note": table.note, "chart": table.chart,
        "series": list(table.series) or [c.key for c in table.columns if c.format == "count"],
        "columns": [{"key": c.key, "label": c.label, "format": c.format} for c in table.columns],
        "rows": [{
            "key": row.key, "label": row.label,
            "cells": {c.key: {"value": _chart_value(row.cells[c.key].value, c.format),
                              "display": stats.format_value(row.cells[c.key].value, c.format),
                              "url": link(row.cells[c.key].query) if row.cells[c.key].query is not None else None}
                      for c in table.columns},
        } for row in table.rows],
    }


def _scope_args(scope: stats.Scope) -> dict[str, Any]:
    return {k: v for k, v in (("district", scope.district_code), ("year", scope.year)) if v is not None}


def _json_error(error: DomainError):
    body: dict[str, Any] = {"status": error.status_code, "message": error.message}
    if error.field_errors:
        body["fields"] = error.field_errors
    return jsonify({"error": body}), error.status_code


def _xlsx(table: stats.Table, scope: stats.Scope, prefix: str) -> Response:
    name = f"{prefix}-{table.key}-{scope.district_code or 'all'}-{scope.year or 'all'}.xlsx"
    return Response(stats.table_xlsx(table, scope), mimetype=XLSX_MIMETYPE,
                    headers={"Content-Disposition": f"attachment; filename={name}"})


def _pick_table(tables: list[stats.Table], key: str | None) -> stats.Table:
    found = next((t for t in tables if t.key == key), None)
    if found is None:
        known = "、".join(t.key for t in tables)
        raise stats.InvalidParameters(_("参数有误：%(detail)s", detail=f"table: {_('可选：%(v)s', v=known)}"),
                                      {"table": [_("可选：%(v)s", v=known)]})
    return found


# ------------------------------------------------------------------ district dashboard (staff)


def _staff_scope() -> stats.Scope:
    return stats.staff_scope(db.session, current_user, request.args.get("district"), request.args.get("year"))


@bp.route("/dashboard/districts")
@roles_required(*STAFF)
def dashboard():
    """District staff: their district. City staff: every district side by side, or one chosen district."""
    try:
        scope = _staff_scope()
    except stats.InvalidParameters as error:
        flash(error.message, "warning")
        scope = stats.staff_scope(db.session, current_user)
    board = stats.dashboard(db.session, scope)
    return render_template(
        "showcase/dashboard.html", board=board, scope=scope,
        tables=[present(t, _staff_url) for t in board.tables],
        data_url=url_for("showcase.dashboard_data", **_scope_args(scope)),
        export_args=_scope_args(scope), districts=stats.districts(db.session),
        years=stats.available_years(db.session), can_choose=current_user.role == Role.CITY_STAFF,
        near_days=stats.NEAR_DEADLINE_DAYS, now=clock.now())


@bp.route("/dashboard/districts/data.json")
@roles_required(*STAFF)
def dashboard_data():
    """The dashboard's tables as JSON, for the charts (errors as JSON too)."""
    try:
        scope = _staff_scope()
    except DomainError as error:
        return _json_error(error)
    board = stats.dashboard(db.session, scope)
    return jsonify({"scope": {"district": scope.district_code, "year": scope.year, "label": scope.describe()},
                    "tables": [present(t, _staff_url) for t in board.tables]})


@bp.route("/dashboard/districts/export.xlsx")
@roles_required(*STAFF)
def dashboard_export():
    scope = _staff_scope()
    table = _pick_table(stats.dashboard(db.session, scope).tables, request.args.get("table"))
    return _xlsx(table, scope, "dashboard")


@bp.route("/dashboard/districts/scenarios")
@roles_required(*STAFF)
def dashboard_records():
    """The scenarios behind a dashboard number, with the same count."""
    query = stats.ScenarioQuery.parse(db.session, request.args, public=False)
    scope = stats.staff_scope(db.session, current_user, query.district, query.year)
    query = query.but(district=scope.district_code)
    records = stats.scenario_records(stats.load_facts(db.session, scope, public_only=False), query)
    public_args = query.public_list_args(public_only=False)
    return render_template("showcase/dashboard_records.html", query=query, scope=scope, records=records,
                           shown=records[:MAX_LISTED], status_label=stats.status_label,
                           names=stats.reference_names(db.session),
                           public_url=url_for("scenarios.index", **public_args) if public_args is not None else None,
                           total_amount=sum((f.amount() for f in records), Decimal(0)),
                           district_amount=sum((f.amount("district") for f in records), Decimal(0)),
                           city_amount=sum((f.amount("city") for f in records), Decimal(0)),
                           back_url=url_for("showcase.dashboard", **_scope_args(scope)))


@bp.route("/dashboard/districts/milestones")
@roles_required(*STAFF)
def dashboard_milestones():
    """Overdue milestones (pending, due before today) of the district."""
    scope = stats.staff_scope(db.session, current_user, request.args.get("district"))
    milestones = stats.overdue_milestones(db.session, scope.district)
    return render_template("showcase/dashboard_milestones.html", scope=scope, milestones=milestones,
                           today=clock.local_today(), back_url=url_for("showcase.dashboard", **_scope_args(scope)))


@bp.route("/dashboard/districts/firms")
@roles_required(*STAFF)
def dashboard_firms():
    """Firms newly settled in the district in a year (this year by default)."""
    scope = _staff_scope()
    year = scope.year or clock.local_today().year
    firms = stats.new_firms(db.session, scope.district, year)
    return render_template("showcase/dashboard_firms.html", scope=scope, year=year, firms=firms,
                           back_url=url_for("showcase.dashboard", **_scope_args(scope)))


# ------------------------------------------------------------------ public statistics


@bp.route("/statistics")
def statistics():
    """Counts of public scenarios by status, district, domain and year, for everyone."""
    try:
        scope = stats.public_scope(db.session, request.args.get("district"), request.args.get("year"))
    except stats.InvalidParameters as error:
        flash(error.message, "warning")
        scope = stats.Scope()
    figures = stats.public_statistics(db.session, scope)
    return render_template(
        "showcase/statistics.html", figures=figures, scope=scope,
        tables=[present(t, _public_url) for t in figures.tables],
        data_url=url_for("showcase.statistics_data", **_scope_args(scope)), export_args=_scope_args(scope),
        districts=stats.districts(db.session), years=stats.available_years(db.session))


@bp.route("/statistics/data.json")
def statistics_data():
    try:
        scope = stats.public_scope(db.session, request.args.get("district"), request.args.get("year"))
    except DomainError as error:
        return _json_error(error)
    figures = stats.public_statistics(db.session, scope)
    return jsonify({"scope": {"district": scope.district_code, "year": scope.year, "label": scope.describe()},
                    "total": figures.total, "tables": [present(t, _public_url) for t in figures.tables]})


@bp.route("/statistics/export.xlsx")
def statistics_export():
    scope = stats.public_scope(db.session, request.args.get("district"), request.args.get("year"))
    table = _pick_table(stats.public_statistics(db.session, scope).tables, request.args.get("table"))
    return _xlsx(table, scope, "statistics")


@bp.route("/statistics/scenarios")
def statistics_records():
    """Public scenarios behind a public number the scenario list cannot filter (by year, or without a domain)."""
    query = stats.ScenarioQuery.parse(db.session, request.args, public=True)
    records = stats.scenario_records(stats.load_facts(db.session, query.scope(db.session), public_only=True), query)
    return render_template("showcase/statistics.html", records=records, shown=records[:MAX_LISTED], query=query,
                           status_label=stats.status_label, names=stats.reference_names(db.session),
                           back_url=url_for("showcase.statistics"))
