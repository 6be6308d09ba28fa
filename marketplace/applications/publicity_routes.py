"""公示 and 异议 views: the public list, a scenario's notice, filing an objection, answering and deciding it.

Views parse the form, call one service in :mod:`marketplace.applications.publicity`, and flash
and redirect; the request's unit of work commits. Anonymous visitors who want to object are sent
to the sign-in page by :func:`marketplace.permissions.roles_required`.
"""

from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from marketplace.applications import bp, publicity
from marketplace.applications.publicity_forms import AnswerForm, DecisionForm, ObjectionForm
from marketplace.errors import ValidationFailed, rejected
from marketplace.extensions import OBJECTIONS, db, rate_limit
from marketplace.models import Role, Scenario
from marketplace.pagecache import cached_page
from marketplace.permissions import roles_required

DECIDERS = (Role.DISTRICT_STAFF, Role.CITY_STAFF)


@bp.route("/publicity", endpoint="publicity_index")
@cached_page
def publicity_index():
    status = request.args.get("status") or None
    district = request.args.get("district") or None
    user = current_user if publicity.has_own_notices(current_user) else None
    mine = user is not None and request.args.get("mine") == "1"
    rows, total, page, per_page = publicity.list_notices(db.session, status, district, request.args.get("page"),
                                                         mine=user if mine else None)
    return render_template("applications/publicity/index.html", rows=rows, total=total, page=page,
                           per_page=per_page, status=status, district=district, mine=mine,
                           can_filter_mine=user is not None,
                           districts=publicity.districts(db.session), states=publicity.NOTICE_STATES)


@bp.route("/objections", endpoint="objections_work")
@roles_required(Role.OWNER, *DECIDERS)
def objections_work():
    """The objections waiting for the signed-in owner (答复) or deciding staff (处理)."""
    status = request.args.get("status")
    if status not in publicity.WORK_FILTERS:
        status = "unanswered" if current_user.role == Role.OWNER else "undecided"
    objections = publicity.work_objections(db.session, current_user, status)
    return render_template("applications/publicity/objections.html", objections=objections, status=status,
                           filters=publicity.WORK_FILTERS, local=publicity.local)


def _notice_page(scenario: Scenario, notice, status: int = 200, **forms):
    user = current_user if current_user.is_authenticated else None
    objections = publicity.visible_objections(user, notice)
    context = {
        "scenario": scenario, "notice": notice, "state": publicity.notice_status(notice),
        "award_state": publicity.award_state(db.session, scenario), "objections": objections,
        "undecided": len(publicity.undecided(notice)), "total_objections": len(notice.objections),
        "can_object": publicity.can_object(user, notice), "can_answer": publicity.can_answer(user, notice),
        "can_decide": publicity.can_decide(user, notice),
        "sees_objectors": publicity.can_see_objections(user, notice),
        "objection_form": forms.get("objection_form") or ObjectionForm(formdata=None),
        "answer_forms": forms.get("answer_forms") or {},
        "decision_forms": forms.get("decision_forms") or {},
    }
    for objection in objections:
        context["answer_forms"].setdefault(objection.id, AnswerForm(prefix=f"an{objection.id}", formdata=None))
        context["decision_forms"].setdefault(objection.id, DecisionForm(prefix=f"de{objection.id}", formdata=None))
    return render_template("applications/publicity/notice.html", **context), status


@bp.route("/scenarios/<int:scenario_id>/publicity", endpoint="publicity_notice")
def publicity_notice(scenario_id: int):
    scenario, notice = publicity.notice_for(db.session, scenario_id)
    return _notice_page(scenario, notice)


@bp.route("/scenarios/<int:scenario_id>/publicity/objections", methods=["GET", "POST"],
          endpoint="publicity_object")
@rate_limit(OBJECTIONS)
@roles_required(Role.ENTERPRISE)
def publicity_object(scenario_id: int):
    scenario, notice = publicity.notice_for(db.session, scenario_id)
    form = ObjectionForm()
    if request.method == "GET":
        return _notice_page(scenario, notice, objection_form=form)
    if not form.validate_on_submit():
        return _notice_page(scenario, notice, 422, objection_form=form)
    try:
        publicity.file_objection(db.session, current_user, notice, form.grounds.data,
                                 request.files.getlist(form.evidence.name), ip=request.remote_addr)
    except ValidationFailed as error:
        status = rejected(form, error)
        return _notice_page(scenario, notice, status, objection_form=form)
    flash(_("异议已提交。业主单位将答复，主管部门将作出处理；处理结果会通知您。"), "success")
    return redirect(url_for("applications.publicity_notice", scenario_id=scenario.id))


@bp.route("/objections/<int:objection_id>/answer", methods=["POST"], endpoint="objection_answer")
@roles_required(Role.OWNER)
def objection_answer(objection_id: int):
    objection = publicity.objection_of(db.session, objection_id, current_user)
    notice = objection.notice
    form = AnswerForm(prefix=f"an{objection.id}")
    if not form.validate_on_submit():
        return _notice_page(notice.scenario, notice, 422, answer_forms={objection.id: form})
    try:
        publicity.answer_objection(db.session, current_user, objection, form.answer.data, ip=request.remote_addr)
    except ValidationFailed as error:
        status = rejected(form, error)
        return _notice_page(notice.scenario, notice, status, answer_forms={objection.id: form})
    flash(_("答复已提交。"), "success")
    return redirect(url_for("applications.publicity_notice", scenario_id=notice.scenario_id))


@bp.route("/objections/<int:objection_id>/decide", methods=["POST"], endpoint="objection_decide")
@roles_required(*DECIDERS)
def objection_decide(objection_id: int):
    objection = publicity.objection_of(db.session, objection_id, current_user)
    notice = objection.notice
    form = DecisionForm(prefix=f"de{objection.id}")
    if not form.validate_on_submit():
        return _notice_page(notice.scenario, notice, 422, decision_forms={objection.id: form})
    try:
        publicity.decide_objection(db.session, current_user, objection, form.decision.data, form.reason.data,
                                   ip=request.remote_addr)
    except ValidationFailed as error:
        status = rejected(form, error)
        return _notice_page(notice.scenario, notice, status, decision_forms={objection.id: form})
    flash(_("异议成立，公示已撤销，场景重新进入评审。") if objection.decision.value == "upheld"
          else _("已认定异议不成立，已通知异议人。"), "success")
    return redirect(url_for("applications.publicity_notice", scenario_id=notice.scenario_id))


@bp.app_template_global("publicity_box")
def publicity_box(scenario: Scenario) -> dict | None:
    """For the scenario page: the latest notice and the award state, when there is a notice."""
    notice = publicity.notice_of(db.session, scenario)
    if notice is None:
        return None
    return {"notice": notice, "state": publicity.notice_status(notice),
            "award_state": publicity.award_state(db.session, scenario),
            "objections": len(notice.objections), "undecided": len(publicity.undecided(notice))}
