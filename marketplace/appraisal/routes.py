"""Appraisal views (city staff only): create and edit a draft, see the live ranking, publish (freeze),
drill into evidence, export XLSX and print."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, send_file, url_for
from flask_babel import gettext as _
from flask_login import current_user

from marketplace import clock
from marketplace.errors import DomainError, ValidationFailed, attach_to_form
from marketplace.extensions import db
from marketplace.models import Appraisal, Role
from marketplace.permissions import roles_required
from marketplace.showcase import appraisal as service
from marketplace.showcase import bp
from marketplace.showcase.forms import ActionForm, AppraisalForm


def _appraisal_or_404(appraisal_id: int) -> Appraisal:
    return db.get_or_404(Appraisal, appraisal_id)


def _form_data(form: AppraisalForm) -> dict:
    data = {name: form[name].data for name in ("year", "period", "name", "reward_pool_yuan", "cap_yuan", "top_n",
                                                "note")}
    for indicator in service.INDICATORS:
        data[f"w_{indicator.code}"] = form[f"w_{indicator.code}"].data
    return data


def _show_errors(form: AppraisalForm, error: ValidationFailed) -> None:
    attach_to_form(form, error)
    for message in error.field_errors.get("weights", []):
        flash(message, "danger")


@bp.route("/appraisals")
@roles_required(Role.CITY_STAFF)
def appraisals():
    rows = db.session.execute(
        db.select(Appraisal).order_by(Appraisal.year.desc(), Appraisal.period, Appraisal.id.desc())).scalars().all()
    return render_template("showcase/appraisals.html", appraisals=rows)


@bp.route("/appraisals/new", methods=["GET", "POST"])
@roles_required(Role.CITY_STAFF)
def new_appraisal():
    form = AppraisalForm()
    if request.method == "GET":
        form.year.data = clock.local_today().year
    if form.validate_on_submit():
        try:
            appraisal = service.create_appraisal(db.session, current_user, _form_data(form), request.remote_addr)
        except ValidationFailed as error:
            db.session.rollback()
            _show_errors(form, error)
        else:
            db.session.commit()
            flash(_("考评已创建（草稿）。下方排名按平台数据实时计算，发布后冻结。"), "success")
            return redirect(url_for("showcase.appraisal", appraisal_id=appraisal.id))
    return render_template("showcase/appraisal_form.html", form=form, appraisal=None, indicators=service.INDICATORS)


@bp.route("/appraisals/<int:appraisal_id>/edit", methods=["GET", "POST"])
@roles_required(Role.CITY_STAFF)
def edit_appraisal(appraisal_id: int):
    appraisal = _appraisal_or_404(appraisal_id)
    if appraisal.is_published:
        flash(_("考评已发布，结果已冻结，不能再修改。"), "warning")
        return redirect(url_for("showcase.appraisal", appraisal_id=appraisal.id))
    form = AppraisalForm()
    if request.method == "GET":
        form.year.data, form.period.data, form.name.data = appraisal.year, appraisal.period.value, appraisal.name
        form.reward_pool_yuan.data, form.cap_yuan.data = str(appraisal.reward_pool_yuan), str(appraisal.cap_yuan)
        form.top_n.data, form.note.data = appraisal.top_n, appraisal.note
        weights = {i.code: i.weight for i in appraisal.indicators}
        for indicator in service.INDICATORS:
            form[f"w_{indicator.code}"].data = f"{weights.get(indicator.code, 0).normalize():f}"
    if form.validate_on_submit():
        try:
            service.update_appraisal(db.session, current_user, appraisal, _form_data(form), request.remote_addr)
        except DomainError as error:
            db.session.rollback()
            if isinstance(error, ValidationFailed):
                _show_errors(form, error)
            else:
                flash(error.message, "danger")
        else:
            db.session.commit()
            flash(_("已保存。"), "success")
            return redirect(url_for("showcase.appraisal", appraisal_id=appraisal.id))
    return render_template("showcase/appraisal_form.html", form=form, appraisal=appraisal,
                           indicators=service.INDICATORS)


@bp.route("/appraisals/<int:appraisal_id>")
@roles_required(Role.CITY_STAFF)
def appraisal(appraisal_id: int):
    found = _appraisal_or_404(appraisal_id)
    return render_template("showcase/appraisal.html", appraisal=found, outcome=service.outcome(db.session, found),
                           defs=service.BY_CODE, display_raw=service.display_raw, rules=service.RULES_SUMMARY,
                           action_form=ActionForm())


@bp.route("/appraisals/<int:appraisal_id>/print")
@roles_required(Role.CITY_STAFF)
def appraisal_print(appraisal_id: int):
    found = _appraisal_or_404(appraisal_id)
    return render_template("showcase/appraisal_print.html", appraisal=found,
                           outcome=service.outcome(db.session, found), defs=service.BY_CODE,
                           display_raw=service.display_raw, rules=service.RULES_SUMMARY, now=clock.now())


@bp.route("/appraisals/<int:appraisal_id>/publish", methods=["POST"])
@roles_required(Role.CITY_STAFF)
def publish_appraisal(appraisal_id: int):
    found = _appraisal_or_404(appraisal_id)
    if not ActionForm().validate_on_submit():
        abort(400)
    try:
        service.publish_appraisal(db.session, current_user, found, request.remote_addr)
    except DomainError as error:
        db.session.rollback()
        flash(error.message, "danger")
    else:
        db.session.commit()
        flash(_("考评结果已发布并冻结。"), "success")
    return redirect(url_for("showcase.appraisal", appraisal_id=found.id))


@bp.route("/appraisals/<int:appraisal_id>/evidence/<district>/<code>")
@roles_required(Role.CITY_STAFF)
def evidence(appraisal_id: int, district: str, code: str):
    found = _appraisal_or_404(appraisal_id)
    hit = service.evidence_rows(db.session, found, district, code)
    if hit is None:
        abort(404)
    line, rows = hit
    indicator = next(i for i in found.indicators if i.code == code)
    return render_template("showcase/evidence.html", appraisal=found, line=line, rows=rows, indicator=indicator,
                           definition=service.BY_CODE[code].definition if code in service.BY_CODE else "",
                           display_raw=service.display_raw)


@bp.route("/appraisals/<int:appraisal_id>/export.xlsx")
@roles_required(Role.CITY_STAFF)
def export_appraisal(appraisal_id: int):
    import io

    found = _appraisal_or_404(appraisal_id)
    data = service.export_xlsx(db.session, found)
    return send_file(io.BytesIO(data), as_attachment=True, download_name=f"appraisal-{found.year}-{found.period}.xlsx",
                     mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
