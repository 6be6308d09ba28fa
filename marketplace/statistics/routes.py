"""District dashboard (staff) and public statistics: pages, chart data, XLSX exports and the lists behind numbers.

Views are thin: resolve the scope (permissions included) in :mod:`marketplace.statistics.scope`,
ask :mod:`marketplace.statistics.figures` for tables, and present them with
:mod:`marketplace.statistics.serializers`. Bad parameters and refusals raise domain errors that
:mod:`marketplace.errors` answers (as JSON for the ``.json`` chart data).
"""

from __future__ import annotations

from decimal import Decimal

from flask import Response, flash, jsonify, render_template, request, url_for
from flask_login import current_user

from marketplace import clock
from marketplace.downloads import content_disposition
from marketplace.errors import BadParameters
from marketplace.extensions import db
from marketplace.models import Role
from marketplace.pagecache import cached_page
from marketplace.permissions import roles_required
from marketplace.statistics import bp, export, facts, figures, serializers
from marketplace.statistics.queries import ScenarioQuery, scenario_records
from marketplace.statistics.scope import NEAR_DEADLINE_DAYS, Scope, public_scope, staff_scope, status_label

STAFF = (Role.DISTRICT_STAFF, Role.CITY_STAFF)
XLSX_MIMETYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
#: Rows a list behind a number shows at most (the count above it is always complete).
MAX_LISTED = 1000


def _xlsx(table: figures.Table, scope: Scope, prefix: str) -> Response:
    return Response(export.table_xlsx(table, scope), mimetype=XLSX_MIMETYPE,
                    headers={"Content-Disposition": content_disposition(export.filename(prefix, table, scope))})


# ------------------------------------------------------------------ district dashboard (staff)


def _staff_scope() -> Scope:
    return staff_scope(db.session, current_user, request.args.get("district"), request.args.get("year"))


@bp.route("/dashboard/districts")
@roles_required(*STAFF)
def dashboard():
    """District staff: their district. City staff: every district side by side, or one chosen district."""
    try:
        scope = _staff_scope()
    except BadParameters as error:  # a page falls back to the default scope and says why
        flash(error.message, "warning")
        scope = staff_scope(db.session, current_user)
    board = figures.dashboard(db.session, scope)
    args = serializers.scope_args(scope)
    return render_template(
        "statistics/dashboard.html", board=board, scope=scope,
        tables=[serializers.present(t, serializers.staff_url) for t in board.tables],
        data_url=url_for("statistics.dashboard_data", **args), export_args=args,
        districts=figures.districts(db.session), years=figures.available_years(db.session),
        can_choose=current_user.role == Role.CITY_STAFF, near_days=NEAR_DEADLINE_DAYS, now=clock.now())


@bp.route("/dashboard/districts/data.json")
@roles_required(*STAFF)
def dashboard_data():
    """The dashboard's tables as JSON, for the charts."""
    return jsonify(serializers.dashboard_data(figures.dashboard(db.session, _staff_scope())))


@bp.route("/dashboard/districts/export.xlsx")
@roles_required(*STAFF)
def dashboard_export():
    """One dashboard table (``table=``) as XLSX."""
    scope = _staff_scope()
    table = export.pick_table(figures.dashboard(db.session, scope).tables, request.args.get("table"))
    return _xlsx(table, scope, "dashboard")


@bp.route("/dashboard/districts/scenarios")
@roles_required(*STAFF)
def dashboard_records():
    """The scenarios behind a dashboard number, with the same count."""
    query = ScenarioQuery.parse(db.session, request.args, public=False)
    scope = staff_scope(db.session, current_user, query.district, query.year)
    query = query.but(district=scope.district_code)
    records = scenario_records(facts.load_facts(db.session, scope, public_only=False), query)
    public_args = query.public_list_args(public_only=False)
    return render_template("statistics/dashboard_records.html", query=query, scope=scope, records=records,
                           shown=records[:MAX_LISTED], status_label=status_label,
                           names=figures.reference_names(db.session),
                           public_url=url_for("scenarios.index", **public_args) if public_args is not None else None,
                           total_amount=sum((f.amount() for f in records), Decimal(0)),
                           district_amount=sum((f.amount("district") for f in records), Decimal(0)),
                           city_amount=sum((f.amount("city") for f in records), Decimal(0)),
                           back_url=url_for("statistics.dashboard", **serializers.scope_args(scope)))


@bp.route("/dashboard/districts/milestones")
@roles_required(*STAFF)
def dashboard_milestones():
    """Overdue milestones (pending, due before today) of the district."""
    scope = staff_scope(db.session, current_user, request.args.get("district"))
    milestones = facts.overdue_milestones(db.session, scope.district)
    return render_template("statistics/dashboard_milestones.html", scope=scope, milestones=milestones,
                           today=clock.local_today(),
                           back_url=url_for("statistics.dashboard", **serializers.scope_args(scope)))


@bp.route("/dashboard/districts/firms")
@roles_required(*STAFF)
def dashboard_firms():
    """Firms newly settled in the district in a year (this year by default)."""
    scope = _staff_scope()
    year = scope.year or clock.local_today().year
    firms = facts.new_firms(db.session, scope.district, year)
    return render_template("statistics/dashboard_firms.html", scope=scope, year=year, firms=firms,
                           back_url=url_for("statistics.dashboard", **serializers.scope_args(scope)))


# ------------------------------------------------------------------ public statistics


def _public_scope() -> Scope:
    return public_scope(db.session, request.args.get("district"), request.args.get("year"))


@bp.route("/statistics")
@cached_page
def public():
    """Counts of public scenarios by status, district, domain and year, for everyone."""
    try:
        scope = _public_scope()
    except BadParameters as error:  # a page falls back to every district and year and says why
        flash(error.message, "warning")
        scope = Scope()
    found = figures.public_statistics(db.session, scope)
    args = serializers.scope_args(scope)
    return render_template(
        "statistics/public.html", figures=found, scope=scope,
        tables=[serializers.present(t, serializers.public_url) for t in found.tables],
        data_url=url_for("statistics.public_data", **args), export_args=args,
        districts=figures.districts(db.session), years=figures.available_years(db.session))


@bp.route("/statistics/data.json")
def public_data():
    """The public tables as JSON, for the charts."""
    return jsonify(serializers.public_data(figures.public_statistics(db.session, _public_scope())))


@bp.route("/statistics/export.xlsx")
def public_export():
    """One public table (``table=``) as XLSX."""
    scope = _public_scope()
    table = export.pick_table(figures.public_statistics(db.session, scope).tables, request.args.get("table"))
    return _xlsx(table, scope, "statistics")


@bp.route("/statistics/scenarios")
def public_records():
    """Public scenarios behind a public number the scenario list cannot filter (by year, or without a domain)."""
    query = ScenarioQuery.parse(db.session, request.args, public=True)
    records = scenario_records(facts.load_facts(db.session, query.scope(db.session), public_only=True), query)
    return render_template("statistics/public.html", records=records, shown=records[:MAX_LISTED], query=query,
                           status_label=status_label, names=figures.reference_names(db.session),
                           back_url=url_for("statistics.public"))
