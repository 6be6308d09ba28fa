"""揭榜 views: apply / revise / withdraw / re-confirm, the firm's list, the sealed owner list, CSV export.

Thin: parse, call one service, flash and redirect; the request's unit of work commits, and a
refused withdrawal or re-confirmation is flashed by :mod:`marketplace.errors`. Every read goes
through ``services.readable_*`` (sealed in SQL); the scenario page's 揭榜 box is rendered from
``application_panel(scenario)``, a template global.
"""

from __future__ import annotations

from flask import Response, abort, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from marketplace import clock, unit_of_work
from marketplace.applications import bp, completeness, policy, services, submission
from marketplace.applications.forms import ApplicationForm, ReconfirmForm, WithdrawForm
from marketplace.downloads import content_disposition
from marketplace.errors import InvalidTransition, PermissionDenied, ValidationFailed, rejected
from marketplace.exports import CSV_MIMETYPE, csv_bytes
from marketplace.extensions import db
from marketplace.formfields import options
from marketplace.models import Application, Role, Scenario
from marketplace.permissions import roles_required, signed_in
from marketplace.scenarios import policy as scenario_policy

#: Roles that may open a scenario's application list (object rules in ``services.can_list``).
LIST_ROLES = (Role.OWNER, Role.DISTRICT_STAFF, Role.CITY_STAFF, Role.EXPERT)


def _scenario_or_404(scenario_id: int) -> Scenario:
    scenario = db.session.get(Scenario, scenario_id)
    if scenario is None or not scenario_policy.can_view(current_user, scenario):
        abort(404)
    return scenario


@bp.app_template_global()
def application_panel(scenario: Scenario) -> dict:
    """Context of ``applications/_scenario_panel.html`` on the scenario page."""
    user = current_user if current_user.is_authenticated else None
    return services.scenario_panel(db.session, user, scenario)


# ------------------------------------------------------------------ the firm

def _fill(form: ApplicationForm, application: Application) -> None:
    form.summary.data = application.summary
    form.approach.data = application.approach
    form.team.data = "\n".join("｜".join(p for p in (m.get("name", ""), m.get("role", ""), m.get("specialty", "")) if p)
                               for m in application.team)
    form.price_wan.data = f"{application.price_wan:.2f}" if application.price_wan is not None else ""
    form.plan.data = application.plan
    form.milestones.data = "\n".join(f"{m['month']}｜{m['title']}" for m in application.milestones)
    form.declares_meets_requirements.data = application.declares_meets_requirements
    form.declares_no_conflict.data = application.declares_no_conflict


@bp.route("/scenarios/<int:scenario_id>/apply", methods=["GET", "POST"])
@roles_required(Role.ENTERPRISE)
def apply(scenario_id: int):
    """Create or edit the firm's one live application for a scenario."""
    locked = None
    if request.method == "POST":  # read under the save's locks at once (not read twice)
        locked = submission.open_for_write(db.session, current_user, scenario_id)
        if locked.scenario is None or not scenario_policy.can_view(current_user, locked.scenario):
            abort(404)
        scenario, application = locked.scenario, locked.application
    else:
        scenario = _scenario_or_404(scenario_id)
        application = services.live_application(db.session, current_user.organisation_id, scenario.id)
    if application is not None and application.status not in submission.EDITABLE:
        flash(_("该申请已进入评审（%(status)s），不能再修改。", status=application.status.label), "info")
        return redirect(url_for("applications.detail", application_id=application.id))
    form = ApplicationForm()
    form.remove_documents.choices = options(
        (d.id, d.attachment.filename) for d in (application.documents if application else []))
    status = 200
    if request.method == "GET":
        if not services.is_firm_user(current_user):
            flash(_("只有已注册且启用的软件企业账号可以揭榜。"), "warning")
            target = (url_for("applications.detail", application_id=application.id) if application
                      else url_for("scenarios.detail", scenario_id=scenario.id))
            return redirect(target)
        if not scenario.is_open():
            return _closed(scenario, application), 200
        if application is not None:
            _fill(form, application)
        elif (withdrawn := services.last_withdrawn(db.session, current_user.organisation_id, scenario.id)) is not None:
            # A firm that withdrew and applies again starts from what it wrote, not from an empty form; the
            # declarations are made afresh and the attachments are chosen again.
            _fill(form, withdrawn)
            form.declares_meets_requirements.data = form.declares_no_conflict.data = False
            flash(_("已填入贵单位撤回的申请内容（附件需重新上传），请核对后保存或提交。"), "info")
    elif form.validate_on_submit():
        try:
            result = submission.save(db.session, current_user, scenario, form.data_for_service(),
                                     request.files.getlist(form.documents.name), submit=bool(form.submit.data),
                                     remove_document_ids=form.remove_documents.data or [], ip=request.remote_addr,
                                     locked=locked)
        except (ValidationFailed, InvalidTransition) as error:
            status = rejected(form, error)
            if isinstance(error, submission.DeadlinePassed) or not scenario.is_open():
                # Closed (deadline passed, back in review, withdrawn): no form to fix, but the
                # closed state with what the firm typed, read-only, so long texts are not lost.
                return _closed(scenario, application, refusal=error.message, typed=form), status
            if error.field_errors:
                flash(_("申请未保存：请按提示修改标出的内容。"), "danger")
            application = _stage(form, scenario, application)
        else:
            submitted_at = clock.to_local(result.application.submitted_at).strftime("%Y-%m-%d %H:%M:%S") \
                if result.application.submitted_at else ""
            flash({
                "draft_saved": _("草稿已保存，仅贵单位可见。请在截止时间 %(d)s 前提交。", d=services.deadline_text(scenario)),
                "submitted": _("揭榜申请已提交（%(t)s，北京时间）。截止前仍可修改或撤回。", t=submitted_at),
                "revised": _("修改已保存，申请保持“已提交”状态。"),
            }[result.event], "success")
            return redirect(url_for("applications.detail", application_id=result.application.id))
    else:
        csrf_failed = bool(getattr(form, "csrf_token", None) and form.csrf_token.errors)
        status = 400 if csrf_failed else 422
        flash(_("表单已过期或缺少安全令牌（CSRF），请刷新页面后重试。您填写的内容仍在下方。") if csrf_failed
              else _("申请未保存：请按提示修改标出的内容。"), "danger")
        if not csrf_failed:
            application = _stage(form, scenario, application)
    if request.method == "POST" and _chosen_files(form) and status != 200 and not g.get("staged_files"):
        flash(_("本次选择的附件未保存（申请已提交、不在征集期，或文件本身不符合要求），请重新选择。"), "warning")
    return render_template("applications/form.html", form=form, scenario=scenario, application=application,
                           deadline=services.deadline_text(scenario)), status


#: The form's texts shown read-only on the closed page after a refused save.
TYPED_FIELDS = ("summary", "approach", "team", "price_wan", "plan", "milestones")


def _closed(scenario: Scenario, application: Application | None, refusal: str | None = None,
            typed: ApplicationForm | None = None) -> str:
    """The closed state of the 揭榜 form: why, the deadline, what became of the firm's application."""
    texts = [(typed[name].label.text, typed[name].data) for name in TYPED_FIELDS
             if typed is not None and (typed[name].data or "").strip()]
    return render_template("applications/closed.html", scenario=scenario, application=application,
                           deadline=services.deadline_text(scenario), refusal=refusal, typed=texts,
                           deadline_passed=scenario.deadline is not None and scenario.deadline <= clock.now())


def _chosen_files(form: ApplicationForm) -> list:
    return [f for f in request.files.getlist(form.documents.name) if f and f.filename]


def _stage(form: ApplicationForm, scenario: Scenario, application: Application | None) -> Application | None:
    """After a refused save: keep the chosen files on the firm's draft, list them on the form (removable)."""
    files = _chosen_files(form)
    if not files:
        return application
    try:
        staged = submission.stage_documents(db.session, current_user, scenario, files, ip=request.remote_addr)
    except (ValidationFailed, InvalidTransition):
        unit_of_work.discard()
        return application
    if staged is None:
        return application
    draft, count = staged
    unit_of_work.keep()  # the refused save was rolled back; the staged files are committed
    g.staged_files = count
    flash(_("已将本次选择的 %(n)d 个附件暂存到贵单位的申请草稿中（见下方附件列表，可移除），无需重新选择。", n=count), "info")
    form.remove_documents.choices = options((d.id, d.attachment.filename) for d in draft.documents)
    return draft


@bp.route("/my/applications")
@roles_required(Role.ENTERPRISE)
def mine():
    """The firm's 揭榜 list: status, scenario, deadline, what needs doing."""
    return render_template("applications/mine.html",
                           applications=services.firm_applications(db.session, current_user), now=clock.now())


@bp.route("/applications/<int:application_id>")
@signed_in
def detail(application_id: int):
    """One application, for those who may read it (404 for everyone else, sealed or not)."""
    application = services.get_readable(db.session, current_user, application_id)
    scenario = application.scenario
    is_applicant = policy.is_applicant(current_user, application)
    return render_template(
        "applications/detail.html", application=application, scenario=scenario, is_applicant=is_applicant,
        can_edit=is_applicant and application.status in submission.EDITABLE and scenario.is_open(),
        withdraw_form=WithdrawForm(), reconfirm_form=ReconfirmForm(),
        deadline=services.deadline_text(scenario), receipt=services.receipt_number(application))


@bp.route("/applications/<int:application_id>/receipt")
@signed_in
def receipt(application_id: int):
    """A printable receipt (回执): number, times to the second, each file's name, size and SHA-256."""
    application = services.receipt_for(db.session, current_user, application_id)
    return render_template("applications/receipt.html", application=application, scenario=application.scenario,
                           number=services.receipt_number(application), fingerprint=services.fingerprint(application),
                           deadline=services.deadline_text(application.scenario), printed_at=clock.now())


@bp.route("/applications/<int:application_id>/withdraw", methods=["POST"])
@roles_required(Role.ENTERPRISE)
def withdraw(application_id: int):
    application = services.get_readable(db.session, current_user, application_id)
    form = WithdrawForm()
    if not form.validate_on_submit():
        abort(400)
    submission.withdraw(db.session, current_user, application, ip=request.remote_addr)
    flash(_("申请已撤回。截止前可以重新提交新的申请。"), "success")
    return redirect(url_for("applications.detail", application_id=application_id))


@bp.route("/applications/<int:application_id>/reconfirm", methods=["POST"])
@roles_required(Role.ENTERPRISE)
def reconfirm(application_id: int):
    application = services.get_readable(db.session, current_user, application_id)
    form = ReconfirmForm()
    if not form.validate_on_submit():
        flash(" ".join(str(e) for e in form.confirm.errors) or _("请勾选确认。"), "danger")
        return redirect(url_for("applications.detail", application_id=application_id))
    submission.reconfirm(db.session, current_user, application, ip=request.remote_addr)
    flash(_("已按场景最新内容重新确认申请。"), "success")
    return redirect(url_for("applications.detail", application_id=application_id))


# ------------------------------------------------------------------ owner, reviewers, experts

def _listable_or_403(scenario_id: int) -> Scenario:
    scenario = _scenario_or_404(scenario_id)
    if not services.can_list(current_user, scenario):
        abort(403)
    return scenario


@bp.route("/scenarios/<int:scenario_id>/applications")
@roles_required(*LIST_ROLES)
def scenario_applications(scenario_id: int):
    """A scenario's applications: the count and a sealed notice before the deadline, the table after.

    The evaluation pages extend ``applications/scenario_applications.html`` (blocks
    ``actions``, ``head_extra``, ``row_extra``) or fill the include hooks it names.
    """
    scenario = _listable_or_403(scenario_id)
    return render_template("applications/scenario_applications.html", scenario=scenario,
                           **services.owner_list_context(db.session, current_user, scenario))


@bp.route("/scenarios/<int:scenario_id>/applications.csv")
@roles_required(*LIST_ROLES)
def export(scenario_id: int):
    """The opened list as CSV (UTF-8 with BOM for Excel); refused while sealed."""
    scenario = _listable_or_403(scenario_id)
    if policy.is_sealed(scenario):
        raise PermissionDenied(_("揭榜截止（%(d)s）前申请材料密封，不能导出。", d=services.deadline_text(scenario)))
    header = [_("申请编号"), _("揭榜企业"), _("报价（万元）"), _("提交时间（北京时间）"), _("状态"),
              _("已确认场景版本"), _("附件数")]
    rows = [[a.id, a.organisation.name, f"{a.price_wan:.2f}" if a.price_wan is not None else "",
             clock.to_local(a.submitted_at).strftime("%Y-%m-%d %H:%M:%S") if a.submitted_at else "",
             completeness.visible_status(db.session, current_user, a).label, a.confirmed_revision, len(a.documents)]
            for a in services.readable_applications(db.session, current_user, scenario)]
    return Response(csv_bytes(header, rows), mimetype=CSV_MIMETYPE,
                    headers={"Content-Disposition": content_disposition(f"scenario-{scenario.id}-applications.csv")})
