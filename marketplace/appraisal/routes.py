"""Appraisal views (city staff only): create and edit a draft, see the live ranking, publish (freeze),
drill into evidence, export XLSX and print."""

from __future__ import annotations

import io

from flask import abort, flash, redirect, render_template, request, send_file, url_for
from flask_babel import gettext as _
from flask_login import current_user

from marketplace import clock, confirmation, formats
from marketplace.appraisal import bp, computation, services
from marketplace.appraisal.export import export_xlsx
from marketplace.appraisal.forms import AppraisalForm, PublishForm
from marketplace.errors import ValidationFailed, rejected
from marketplace.extensions import db
from marketplace.models import Appraisal, Role
from marketplace.permissions import roles_required

XLSX_MIMETYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _appraisal_or_404(appraisal_id: int) -> Appraisal:
    return db.get_or_404(Appraisal, appraisal_id)


def _form_data(form: AppraisalForm) -> dict:
    data = {name: form[name].data for name in ("year", "period", "name", "reward_pool_wan", "cap_wan", "top_n",
                                                "note")}
    for indicator in computation.INDICATORS:
        data[f"w_{indicator.code}"] = form[f"w_{indicator.code}"].data
    return data


def _rejected(form: AppraisalForm, error: ValidationFailed) -> int:
    """Roll back and show the errors; the weights' sum belongs to no single field, so it is flashed."""
    status = rejected(form, error)
    for message in error.field_errors.get("weights", []):
        flash(message, "danger")
    return status


def _with_the_rules(form: AppraisalForm, appraisal: Appraisal | None) -> None:
    """A form its own validators refused (a year out of range …) also shows what the settings' rules refuse
    (amounts, weights, their sum), so that everything is corrected in one round, not two."""
    try:
        services.check_settings(db.session, _form_data(form), appraisal)
    except ValidationFailed as error:
        for name, messages in error.field_errors.items():
            field = getattr(form, name, None)
            if field is not None and not field.errors:
                field.errors = list(messages)
        for message in error.field_errors.get("weights", []):
            flash(message, "danger")


def _form_page(form: AppraisalForm, appraisal: Appraisal | None) -> str:
    warning = services.cap_warning(appraisal.reward_pool_yuan, appraisal.cap_yuan, appraisal.top_n) \
        if appraisal is not None else None
    return render_template("appraisal/form.html", form=form, appraisal=appraisal, indicators=computation.INDICATORS,
                           cap_warning=warning)


def _flash_cap_warning(appraisal: Appraisal) -> None:
    warning = services.cap_warning(appraisal.reward_pool_yuan, appraisal.cap_yuan, appraisal.top_n)
    if warning:
        flash(warning, "warning")


@bp.route("/appraisals")
@roles_required(Role.CITY_STAFF)
def index():
    return render_template("appraisal/index.html", appraisals=services.all_appraisals(db.session))


@bp.route("/appraisals/new", methods=["GET", "POST"])
@roles_required(Role.CITY_STAFF)
def new():
    form = AppraisalForm()
    if request.method == "GET":
        form.year.data = clock.local_today().year
    if form.validate_on_submit():
        try:
            appraisal = services.create_appraisal(db.session, current_user, _form_data(form), request.remote_addr)
        except ValidationFailed as error:
            status = _rejected(form, error)  # before rendering: it attaches the errors to the form
            return _form_page(form, None), status
        flash(_("考评已创建（草稿）。下方排名按平台数据实时计算，发布后冻结。"), "success")
        _flash_cap_warning(appraisal)
        return redirect(url_for("appraisal.detail", appraisal_id=appraisal.id))
    if form.is_submitted():
        _with_the_rules(form, None)
    return _form_page(form, None)


@bp.route("/appraisals/<int:appraisal_id>/edit", methods=["GET", "POST"])
@roles_required(Role.CITY_STAFF)
def edit(appraisal_id: int):
    appraisal = _appraisal_or_404(appraisal_id)
    if appraisal.is_published:
        flash(_("考评已发布，结果已冻结，不能再修改。"), "warning")
        return redirect(url_for("appraisal.detail", appraisal_id=appraisal.id))
    form = AppraisalForm()
    if request.method == "GET":
        form.year.data, form.period.data, form.name.data = appraisal.year, appraisal.period.value, appraisal.name
        form.reward_pool_wan.data = f"{formats.wan_from_yuan(appraisal.reward_pool_yuan)}"
        form.cap_wan.data = f"{formats.wan_from_yuan(appraisal.cap_yuan)}"
        form.top_n.data, form.note.data = appraisal.top_n, appraisal.note
        weights = {i.code: i.weight for i in appraisal.indicators}
        for indicator in computation.INDICATORS:
            form[f"w_{indicator.code}"].data = f"{weights.get(indicator.code, 0).normalize():f}"
    if form.validate_on_submit():
        try:
            services.update_appraisal(db.session, current_user, appraisal, _form_data(form), request.remote_addr)
        except ValidationFailed as error:
            status = _rejected(form, error)
            return _form_page(form, appraisal), status
        flash(_("已保存。"), "success")
        _flash_cap_warning(appraisal)
        return redirect(url_for("appraisal.detail", appraisal_id=appraisal.id))
    if form.is_submitted():
        _with_the_rules(form, appraisal)
    return _form_page(form, appraisal)


@bp.route("/appraisals/<int:appraisal_id>")
@roles_required(Role.CITY_STAFF)
def detail(appraisal_id: int):
    found = _appraisal_or_404(appraisal_id)
    return render_template("appraisal/detail.html", appraisal=found, outcome=computation.outcome(db.session, found),
                           defs=computation.BY_CODE, display_raw=computation.display_raw,
                           rules=computation.RULES_SUMMARY, publish_form=PublishForm(),
                           cap_warning=services.cap_warning(found.reward_pool_yuan, found.cap_yuan, found.top_n))


@bp.route("/appraisals/<int:appraisal_id>/print")
@roles_required(Role.CITY_STAFF)
def printable(appraisal_id: int):
    found = _appraisal_or_404(appraisal_id)
    return render_template("appraisal/print.html", appraisal=found, outcome=computation.outcome(db.session, found),
                           defs=computation.BY_CODE, display_raw=computation.display_raw,
                           rules=computation.RULES_SUMMARY, now=clock.now())


@bp.route("/appraisals/<int:appraisal_id>/publish", methods=["POST"])
@roles_required(Role.CITY_STAFF)
def publish(appraisal_id: int):
    found = _appraisal_or_404(appraisal_id)
    if not PublishForm().validate_on_submit():
        abort(400)
    page = confirmation.require(confirmation.Confirmation(
        "publish_appraisal", found.id, _("确认发布并冻结考评结果"),
        notified=[],
        public=[_("各区县排名、指标得分和奖励金额"), _("发布后结果冻结，之后的数据变化不再改变本次考评")],
        back_url=url_for("appraisal.detail", appraisal_id=found.id),
        precheck=lambda: services.require_publishable(current_user, found)))
    if page is not None:
        return page
    services.publish_appraisal(db.session, current_user, found, request.remote_addr)
    flash(_("考评结果已发布并冻结。"), "success")
    return redirect(url_for("appraisal.detail", appraisal_id=found.id))


@bp.route("/appraisals/<int:appraisal_id>/evidence/<district>/<code>")
@roles_required(Role.CITY_STAFF)
def evidence(appraisal_id: int, district: str, code: str):
    found = _appraisal_or_404(appraisal_id)
    hit = computation.evidence_rows(db.session, found, district, code)
    if hit is None:
        abort(404)
    line, rows = hit
    indicator = next(i for i in found.indicators if i.code == code)
    definition = computation.BY_CODE[code].definition if code in computation.BY_CODE else ""
    return render_template("appraisal/evidence.html", appraisal=found, line=line, rows=rows, indicator=indicator,
                           definition=definition, display_raw=computation.display_raw)


@bp.route("/appraisals/<int:appraisal_id>/export.xlsx")
@roles_required(Role.CITY_STAFF)
def export(appraisal_id: int):
    found = _appraisal_or_404(appraisal_id)
    return send_file(io.BytesIO(export_xlsx(db.session, found)), as_attachment=True,
                     download_name=f"appraisal-{found.year}-{found.period}.xlsx", mimetype=XLSX_MIMETYPE)
