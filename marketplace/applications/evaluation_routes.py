"""Evaluation views: the owner's evaluation page and decisions, the experts' review tasks, the public result.

Views parse the form, call one service in :mod:`marketplace.applications.evaluation` or
:mod:`marketplace.applications.decisions`, and flash and redirect; the request's unit of work
commits. A refused input re-renders the page with the messages beside the fields and
everything typed kept; a refused action (the scenario's state) is flashed by
:mod:`marketplace.errors` and the browser sent back.
"""

from __future__ import annotations

from decimal import Decimal

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from marketplace import confirmation, unit_of_work
from marketplace.applications import bp, completeness, decisions, delivery, evaluation, publicity
from marketplace.applications import policy as app_policy
from marketplace.applications.evaluation_forms import (
    ActionForm,
    AwardForm,
    CriteriaForm,
    DeclarationForm,
    FinalForm,
    InviteForm,
    RaceForm,
    RemoveExpertForm,
    StageForm,
    UnsuccessfulForm,
    score_form_class,
)
from marketplace.errors import ValidationFailed, rejected
from marketplace.extensions import db
from marketplace.formfields import options
from marketplace.models import ApplicationStatus, Role, Scenario, ScenarioMode
from marketplace.permissions import roles_required
from marketplace.scenarios import policy as scenario_policy

VIEWERS = (Role.OWNER, Role.DISTRICT_STAFF, Role.CITY_STAFF)


def _scenario_or_404(scenario_id: int) -> Scenario:
    scenario = db.session.get(Scenario, scenario_id)
    if scenario is None or not scenario_policy.can_view(current_user, scenario):
        abort(404)
    return scenario


def _back(scenario: Scenario):
    return redirect(url_for("applications.evaluation", scenario_id=scenario.id))


# ------------------------------------------------------------------ the owner's evaluation page

def _default_criteria(form: CriteriaForm, criteria) -> None:
    rows = [(c.name, evaluation.plain_number(c.weight)) for c in criteria] or [
        (name, str(weight)) for name, weight in evaluation.DEFAULT_CRITERIA]
    for entry, (name, weight) in zip(form.rows.entries, rows, strict=False):
        entry.form["name"].data = name
        entry.form["weight"].data = weight


def _render(scenario: Scenario, **given):
    """The evaluation page; ``given`` forms (with their errors) replace fresh ones."""
    evaluation.require_view(current_user, scenario)
    session = db.session
    manage = evaluation.can_manage(current_user, scenario)
    current_phase = evaluation.phase(session, scenario)
    criteria = evaluation.criteria_of(session, scenario)
    ranked = evaluation.ranking(session, current_user, scenario)
    context = {
        "scenario": scenario, "phase": current_phase, "manage": manage, "criteria": criteria, "ranked": ranked,
        "progress": evaluation.expert_progress(session, scenario),
        "criteria_editable": manage and evaluation.criteria_editable(session, scenario),
        "criteria_errors": given.pop("criteria_errors", None),
        "unsuccessful_reason": decisions.unsuccessful_reason(session, scenario)
        if scenario.status.value == "unsuccessful" else None,
        "list_url": url_for("applications.scenario_applications", scenario_id=scenario.id),
        "delivery_url": url_for("applications.delivery", scenario_id=scenario.id)
        if scenario.status in delivery.DELIVERY_STATUSES else None,
        "open_call": scenario.mode == ScenarioMode.OPEN_CALL,
        # What keeps the evaluation from being complete (a decision is refused until it is empty).
        "missing": completeness.grouped(completeness.missing(session, scenario))
        if current_phase in ("scoring", "racing") else [],
    }
    if manage and current_phase in ("scoring", "racing"):
        candidates = [r.application for r in ranked if r.application.status in evaluation.CANDIDATE]
        racing = [r.application for r in ranked if r.application.status == ApplicationStatus.RACING]
        labels = {r.application.id: _label(r) for r in ranked}
        forms = {}
        if current_phase == "scoring":
            criteria_form = given.pop("criteria_form", None)
            if criteria_form is None:
                criteria_form = CriteriaForm(prefix="criteria", formdata=None)
                _default_criteria(criteria_form, criteria)
            forms["criteria_form"] = criteria_form
            invite = given.pop("invite_form", None) or InviteForm(prefix="invite", formdata=None)
            invite.expert_id.choices = options([("", _("— 选择专家 —"))] + [
                (str(u.id), f"{u.name}（{u.organisation.name if u.organisation else _('专家库')}）")
                for u in evaluation.expert_candidates(session, scenario)])
            forms["invite_form"] = invite
            if scenario.mode == ScenarioMode.OPEN_CALL:
                award = given.pop("award_form", None) or AwardForm(prefix="award", formdata=None)
                award.application_id.choices = options((str(a.id), labels[a.id]) for a in candidates)
                forms["award_form"] = award
            else:
                race = given.pop("race_form", None) or RaceForm(prefix="race", formdata=None)
                race.application_ids.choices = options((str(a.id), labels[a.id]) for a in candidates)
                forms["race_form"] = race
        else:
            final = given.pop("final_form", None) or FinalForm(prefix="final", formdata=None)
            final.application_ids.choices = options((str(a.id), labels[a.id]) for a in racing)
            forms["final_form"] = final
            stage_forms = given.pop("stage_forms", {})
            forms["stage_forms"] = {a.id: stage_forms.get(a.id) or StageForm(prefix=f"stage{a.id}", formdata=None)
                                    for a in racing}
        forms["unsuccessful_form"] = given.pop("unsuccessful_form", None) or UnsuccessfulForm(
            prefix="unsuccessful", formdata=None)
        forms["action_form"] = ActionForm(prefix="act", formdata=None)
        removal = given.pop("remove_forms", {})
        forms["remove_forms"] = {assignment.id: removal.get(assignment.id) or RemoveExpertForm(
            prefix=f"remove{assignment.id}", formdata=None) for assignment, _pieces in context["missing"]}
        context.update(forms)
    return render_template("applications/evaluation/evaluation.html", **context)


def _label(item: evaluation.Ranked) -> str:
    application = item.application
    price = f"{application.price_wan:,.2f} {_('万元')}" if application.price_wan is not None else "—"
    total = _("加权得分 %(t)s", t=item.total) if item.total is not None else _("未评分")
    return f"{application.organisation.name} · {_('报价')} {price} · {total}"


@bp.route("/scenarios/<int:scenario_id>/evaluation", endpoint="evaluation")
@roles_required(*VIEWERS)
def evaluation_page(scenario_id: int):
    return _render(_scenario_or_404(scenario_id))


def _decide(scenario: Scenario, form, given: dict, call, success: str,
            confirm: confirmation.Confirmation | None = None):
    """Validate → (confirm) → service → flash → redirect; field errors re-render the page with *given* forms."""
    if not form.validate_on_submit():
        return _render(scenario, **given), 422
    try:
        if confirm is not None:
            page = confirmation.require(confirm)
            if page is not None:
                return page
        call(form)
    except ValidationFailed as error:
        status = rejected(form, error)  # roll back and attach the messages before the page renders
        return _render(scenario, **given), status
    flash(success, "success")
    return _back(scenario)


@bp.route("/scenarios/<int:scenario_id>/evaluation/criteria", methods=["POST"])
@roles_required(Role.OWNER)
def evaluation_criteria(scenario_id: int):
    scenario = _scenario_or_404(scenario_id)
    form = CriteriaForm(prefix="criteria")
    if not form.validate_on_submit():
        return _render(scenario, criteria_form=form, criteria_errors=[_("请检查评分标准的填写。")]), 422
    rows = [(entry.form["name"].data, entry.form["weight"].data) for entry in form.rows.entries]
    try:
        evaluation.set_criteria(db.session, current_user, scenario, rows, ip=request.remote_addr)
    except ValidationFailed as error:
        unit_of_work.discard()  # the messages belong to the table of rows, not to one field
        return _render(scenario, criteria_form=form,
                       criteria_errors=error.field_errors.get("criteria") or [error.message]), error.status_code
    flash(_("评分标准已保存。"), "success")
    return _back(scenario)


@bp.route("/scenarios/<int:scenario_id>/evaluation/experts", methods=["POST"])
@roles_required(Role.OWNER)
def evaluation_invite(scenario_id: int):
    scenario = _scenario_or_404(scenario_id)
    form = InviteForm(prefix="invite")
    return _decide(scenario, form, {"invite_form": form},
                   lambda f: evaluation.invite_expert(db.session, current_user, scenario,
                                                      _int(f.expert_id.data), ip=request.remote_addr),
                   _("已邀请专家，专家将收到评审通知。"))


def _evaluation_url(scenario: Scenario) -> str:
    return url_for("applications.evaluation", scenario_id=scenario.id)


def _award_confirmation(scenario: Scenario, action: str, ids: list) -> confirmation.Confirmation:
    """The confirmation of an award (揭榜挂帅 winner or 赛马 final winners): it opens the 公示."""
    wanted = {_int(i) for i in ids}
    firms = [a.organisation.name for a in evaluation.applications_for(db.session, current_user, scenario)
             if a.id in wanted]
    days = publicity.publicity_days()
    return confirmation.Confirmation(
        action, scenario.id, _("确认确定揭榜单位：%(t)s", t=scenario.title),
        notified=[_("拟揭榜单位"), _("其他揭榜企业"), _("关注本场景的用户")],
        public=[_("拟揭榜单位名称及报价金额"), _("各揭榜企业的加权总分和排名（不含申请内容）"), _("评审专家姓名"),
                _("公示期 %(n)d 天，公示期内企业可提出异议", n=days)],
        summary=[(_("拟揭榜单位"), "、".join(firms) or "—")], back_url=_evaluation_url(scenario),
        precheck=lambda: _may_decide(scenario))


def _may_decide(scenario: Scenario) -> None:
    """The owner, before any result, every expert done with the shortlist (the services check again)."""
    evaluation.require_manage(current_user, scenario)
    evaluation.require_undecided(db.session, scenario)
    completeness.require_complete(db.session, scenario)


def _int(value: object) -> int | None:
    try:
        return int(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None


@bp.route("/scenarios/<int:scenario_id>/evaluation/experts/<int:assignment_id>/remove", methods=["POST"])
@roles_required(Role.OWNER)
def evaluation_remove_expert(scenario_id: int, assignment_id: int):
    scenario = _scenario_or_404(scenario_id)
    form = RemoveExpertForm(prefix=f"remove{assignment_id}")
    return _decide(scenario, form, {"remove_forms": {assignment_id: form}},
                   lambda f: completeness.remove_expert(db.session, current_user, scenario, assignment_id,
                                                        f.reason.data, ip=request.remote_addr),
                   _("已将该专家移出专家组，并通知本人。"))


@bp.route("/scenarios/<int:scenario_id>/evaluation/applications/<int:application_id>/shortlist",
          methods=["POST"])
@roles_required(Role.OWNER)
def evaluation_shortlist(scenario_id: int, application_id: int):
    scenario = _scenario_or_404(scenario_id)
    on = request.form.get("on", "1") != "0"
    form = ActionForm(prefix="act")
    return _decide(scenario, form, {"action_form": form},
                   lambda f: decisions.shortlist(db.session, current_user, scenario, application_id, on,
                                                 ip=request.remote_addr),
                   _("已加入入围名单。") if on else _("已移出入围名单。"))


@bp.route("/scenarios/<int:scenario_id>/evaluation/award", methods=["POST"])
@roles_required(Role.OWNER)
def evaluation_award(scenario_id: int):
    scenario = _scenario_or_404(scenario_id)
    form = AwardForm(prefix="award")
    return _decide(scenario, form, {"award_form": form},
                   lambda f: decisions.award(db.session, current_user, scenario, f.application_id.data or "",
                                             f.note.data, ip=request.remote_addr),
                   _("已确定拟揭榜单位，结果进入公示，已通知各揭榜企业和关注者。"),
                   _award_confirmation(scenario, "award", [form.application_id.data]))


@bp.route("/scenarios/<int:scenario_id>/evaluation/race", methods=["POST"])
@roles_required(Role.OWNER)
def evaluation_race(scenario_id: int):
    scenario = _scenario_or_404(scenario_id)
    form = RaceForm(prefix="race")
    return _decide(scenario, form, {"race_form": form},
                   lambda f: decisions.start_race(db.session, current_user, scenario, f.application_ids.data or [],
                                                  ip=request.remote_addr),
                   _("赛马阶段已开始，已通知参赛团队和未入选企业。"))


@bp.route("/scenarios/<int:scenario_id>/evaluation/applications/<int:application_id>/stage", methods=["POST"])
@roles_required(Role.OWNER)
def evaluation_stage(scenario_id: int, application_id: int):
    scenario = _scenario_or_404(scenario_id)
    form = StageForm(prefix=f"stage{application_id}")
    return _decide(scenario, form, {"stage_forms": {application_id: form}},
                   lambda f: decisions.record_stage(db.session, current_user, scenario, application_id, f.stage.data,
                                                    f.score.data, f.result.data, ip=request.remote_addr),
                   _("阶段评估已记录。"))


@bp.route("/scenarios/<int:scenario_id>/evaluation/final", methods=["POST"])
@roles_required(Role.OWNER)
def evaluation_final(scenario_id: int):
    scenario = _scenario_or_404(scenario_id)
    form = FinalForm(prefix="final")
    return _decide(scenario, form, {"final_form": form},
                   lambda f: decisions.select_final(db.session, current_user, scenario,
                                                    f.application_ids.data or [], f.note.data,
                                                    ip=request.remote_addr),
                   _("已确定最终拟揭榜单位，结果进入公示，已通知各参赛团队和关注者。"),
                   _award_confirmation(scenario, "final", form.application_ids.data or []))


@bp.route("/scenarios/<int:scenario_id>/evaluation/unsuccessful", methods=["POST"])
@roles_required(Role.OWNER)
def evaluation_unsuccessful(scenario_id: int):
    scenario = _scenario_or_404(scenario_id)
    form = UnsuccessfulForm(prefix="unsuccessful")
    return _decide(scenario, form, {"unsuccessful_form": form},
                   lambda f: decisions.declare_unsuccessful(db.session, current_user, scenario, f.reason.data,
                                                            ip=request.remote_addr),
                   _("场景已流榜，已通知各揭榜企业。"),
                   confirmation.Confirmation(
                       "unsuccessful", scenario.id, _("确认流榜：%(t)s", t=scenario.title),
                       notified=[_("全部仍在评审中的揭榜企业（未入选）")],
                       public=[_("场景页面公布“流榜”及流榜原因"), _("开放数据与统计中记为流榜")],
                       summary=[(_("流榜原因"), form.reason.data or "")], back_url=_evaluation_url(scenario),
                       precheck=lambda: (_may_decide(scenario),
                                         decisions.checked_unsuccessful_reason(form.reason.data))))


# ------------------------------------------------------------------ owner list

@bp.route("/my/evaluations")
@roles_required(Role.OWNER)
def owner_evaluations():
    scenarios = evaluation.owner_projects(db.session, current_user)
    return render_template("applications/evaluation/owner_list.html", scenarios=scenarios,
                           counts=evaluation.application_counts(db.session, scenarios),
                           phases={s.id: evaluation.phase(db.session, s) for s in scenarios})


# ------------------------------------------------------------------ experts

@bp.route("/reviews")
@roles_required(Role.EXPERT)
def reviews():
    assignments = evaluation.assignments_for_expert(db.session, current_user)
    # What needs the expert first: declarations, then scoring in progress, then the rest (newest first).
    order = {"pending": 0, "declared": 1, "recused": 2, "removed": 3}
    assignments.sort(key=lambda a: (evaluation.phase(db.session, a.scenario) == "decided",
                                    order[evaluation.assignment_state(a)]))
    done = {a.id: len([1 for by in evaluation.scores_by(db.session, a).values() if by]) for a in assignments}
    return render_template("applications/evaluation/reviews.html", assignments=assignments, done=done,
                           state=evaluation.assignment_state, sealed=app_policy.is_sealed)


@bp.route("/reviews/<int:assignment_id>")
@roles_required(Role.EXPERT)
def review(assignment_id: int, declaration_form: DeclarationForm | None = None):
    assignment = evaluation.assignment_for(db.session, current_user, assignment_id)
    scenario = assignment.scenario
    state = evaluation.assignment_state(assignment)
    context = {"assignment": assignment, "scenario": scenario, "state": state,
               "sealed": app_policy.is_sealed(scenario), "phase": evaluation.phase(db.session, scenario)}
    if state == "declared" and not context["sealed"]:
        context["applications"] = evaluation.expert_applications(db.session, current_user, assignment)
        context["scores"] = evaluation.scores_by(db.session, assignment)
        context["criteria"] = evaluation.criteria_of(db.session, scenario)
    elif state == "pending":
        context["names"] = evaluation.applicant_names(db.session, assignment)
        context["form"] = declaration_form or DeclarationForm(formdata=None)
    return render_template("applications/evaluation/review.html", **context)


@bp.route("/reviews/<int:assignment_id>/declare", methods=["POST"])
@roles_required(Role.EXPERT)
def review_declare(assignment_id: int):
    assignment = evaluation.assignment_for(db.session, current_user, assignment_id)
    form = DeclarationForm()
    if not form.validate_on_submit():
        return review(assignment_id, form)
    no_conflict = not form.recuse.data
    if no_conflict and not form.confirm.data:
        form.confirm.errors = [_("声明无利益冲突前，请勾选承诺。")]
        return review(assignment_id, form)
    evaluation.declare(db.session, current_user, assignment, no_conflict, ip=request.remote_addr)
    flash(_("已声明无利益冲突，现在可以查看申请并评分。") if no_conflict else _("已申请回避，业主单位将另行邀请专家。"),
          "success" if no_conflict else "info")
    return redirect(url_for("applications.review", assignment_id=assignment.id))


@bp.route("/reviews/<int:assignment_id>/applications/<int:application_id>", methods=["GET", "POST"])
@roles_required(Role.EXPERT)
def review_application(assignment_id: int, application_id: int):
    assignment = evaluation.assignment_for(db.session, current_user, assignment_id)
    application = evaluation.expert_application(db.session, current_user, assignment, application_id)
    scenario = assignment.scenario
    criteria = evaluation.criteria_of(db.session, scenario)
    existing = evaluation.scores_by(db.session, assignment).get(application.id, {})
    form_class = score_form_class(criteria)
    form = form_class() if request.method == "POST" else form_class(formdata=None)
    status = 200
    if request.method == "GET":
        for criterion in criteria:
            if criterion.id in existing:
                form[f"c_{criterion.id}"].data = evaluation.plain_number(Decimal(existing[criterion.id].value))
                form[f"comment_{criterion.id}"].data = existing[criterion.id].comment
    elif form.validate_on_submit():
        try:
            evaluation.submit_scores(
                db.session, current_user, assignment, application,
                {c.id: form[f"c_{c.id}"].data for c in criteria},
                {c.id: form[f"comment_{c.id}"].data for c in criteria}, ip=request.remote_addr)
        except ValidationFailed as error:
            status = rejected(form, error)
            if error.field_errors:  # the summary above the form, the details beside the scores
                flash(error.message, "danger")
        else:
            flash(_("评分已保存。"), "success")
            return redirect(url_for("applications.review", assignment_id=assignment.id))
    else:
        status = 422
    return render_template("applications/evaluation/score.html", assignment=assignment, scenario=scenario,
                           application=application, criteria=criteria, form=form,
                           scoring_open=evaluation.scoring_open(db.session, scenario) and bool(criteria)
                           and application.status in evaluation.CANDIDATE), status


# ------------------------------------------------------------------ the public result and workspace panels

@bp.app_template_global("scenario_outcome")
def scenario_outcome(scenario: Scenario) -> dict:
    """For the scenario page: the public result, and links to evaluation and delivery for those allowed."""
    user = current_user if current_user.is_authenticated else None
    links = []
    if evaluation.can_view(user, scenario) and evaluation.phase(db.session, scenario) != "sealed":
        links.append((_("评审与揭榜结果"), url_for("applications.evaluation", scenario_id=scenario.id)))
    if scenario.status in delivery.DELIVERY_STATUSES and delivery.can_view(db.session, user, scenario):
        links.append((_("合同、交付与验收"), url_for("applications.delivery", scenario_id=scenario.id)))
    return {"result": decisions.public_result(db.session, scenario), "links": links,
            "award_state": publicity.award_state(db.session, scenario)}


@bp.app_template_global("shown_status")
def shown_status(application) -> ApplicationStatus:
    """The application status the signed-in user is shown (experts score blind to the shortlist)."""
    user = current_user if current_user.is_authenticated else None
    return completeness.visible_status(db.session, user, application)


@bp.app_template_filter("plain")
def plain_filter(value) -> str:
    """Decimals without trailing zeros (40.00 → 40)."""
    return "" if value is None else evaluation.plain_number(Decimal(value))
