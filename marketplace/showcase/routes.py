"""Demonstration views: the public gallery and case pages, reuse, and the selection workflow.

Public: ``/demonstrations`` and ``/demonstrations/<id>``. City staff run rounds under
``/showcase/rounds``; owners and district staff nominate under ``/showcase/nominations``;
experts declare and score under ``/showcase/reviews``. A refused action is answered by
:mod:`marketplace.errors`; views catch ``ValidationFailed`` only to re-render a form.
"""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from werkzeug.datastructures import FileStorage

from marketplace import attachments, clock, confirmation
from marketplace.errors import ValidationFailed, rejected
from marketplace.extensions import db
from marketplace.formfields import options
from marketplace.models import (
    AttachmentPurpose,
    Demonstration,
    Nomination,
    NominationExpert,
    NominationStatus,
    Role,
    RoundStatus,
    Scenario,
    SelectionRound,
    User,
)
from marketplace.pagecache import cached_page
from marketplace.permissions import roles_required
from marketplace.scenarios import policy as scenario_policy
from marketplace.showcase import bp, gallery, policy, services
from marketplace.showcase.facts import facts_for
from marketplace.showcase.forms import (
    ActionForm,
    AssignExpertForm,
    DeclarationForm,
    NominationForm,
    PublishRoundForm,
    ReuseForm,
    RoundForm,
)

NOMINATORS = (Role.OWNER, Role.DISTRICT_STAFF)


def _ids(values: list[str]) -> list[int]:
    """The integers among form values (checkbox ids); anything else is ignored."""
    return [int(v) for v in values if v.strip().isdecimal()]


# ====================================================================== public

@bp.route("/demonstrations")
@cached_page
def index():
    try:
        filters = gallery.parse_filters(request.args)
    except ValidationFailed as error:  # a page falls back to the unfiltered gallery and says why
        flash(error.message, "warning")
        filters = gallery.DemonstrationFilters()
    page = gallery.gallery_page(db.session, filters)
    return render_template("showcase/index.html", page=page, filters=filters,
                           choices=gallery.gallery_choices(db.session))


def _demonstration_or_404(demo_id: int) -> Demonstration:
    demo = db.session.get(Demonstration, demo_id)
    if demo is None or demo.published_at is None:
        abort(404)
    return demo


def _reuse_form(demo: Demonstration) -> ReuseForm | None:
    candidates = gallery.reuse_candidates(db.session, current_user, demo)
    if not candidates:
        return None
    form = ReuseForm()
    form.scenario_id.choices = options((s.id, s.title) for s in candidates)
    return form


@bp.route("/demonstrations/<int:demo_id>")
@cached_page
def detail(demo_id: int):
    demo = _demonstration_or_404(demo_id)
    images = [a for a in demo.media if a.content_type in attachments.IMAGE_TYPES]
    documents = [a for a in demo.media if a.content_type not in attachments.IMAGE_TYPES]
    return render_template("showcase/detail.html", demo=demo, facts=facts_for(db.session, demo.scenario_id),
                           images=images, documents=documents, reuse_form=_reuse_form(demo),
                           firm_profile=gallery.firm_profile(db.session, demo))


@bp.route("/demonstrations/<int:demo_id>/reuse", methods=["POST"])
@roles_required(Role.OWNER)
def reuse(demo_id: int):
    demo = _demonstration_or_404(demo_id)
    form = _reuse_form(demo)
    if form is None:
        flash(_("本单位没有可登记复用的已发布场景。"), "warning")
        return redirect(url_for("showcase.detail", demo_id=demo.id))
    if not form.validate_on_submit():
        flash(" ".join(str(e) for errors in form.errors.values() for e in errors) or _("请选择本单位的场景。"),
              "danger")
        return redirect(url_for("showcase.detail", demo_id=demo.id, _anchor="reuse"))
    gallery.record_reuse(db.session, current_user, demo, db.session.get(Scenario, form.scenario_id.data),
                         form.note.data, request.remote_addr)
    flash(_("已登记复用。"), "success")
    return redirect(url_for("showcase.detail", demo_id=demo.id, _anchor="reuse"))


# ====================================================================== rounds (city staff)

def _round_or_404(round_id: int) -> SelectionRound:
    return db.get_or_404(SelectionRound, round_id)


@bp.route("/showcase/rounds")
@roles_required(Role.CITY_STAFF)
def rounds():
    return render_template("showcase/rounds.html", rounds=services.all_rounds(db.session))


def _round_data(form: RoundForm) -> dict:
    return {"year": form.year.data, "name": form.name.data, "description": form.description.data,
            "criteria": [{"name": entry.form.name.data, "weight": entry.form.weight.data} for entry in form.criteria]}


def _rejected_round(form: RoundForm, error: ValidationFailed) -> int:
    """Roll back and show the errors; those of the criteria as a whole (no single field) are flashed."""
    status = rejected(form, error)
    for message in error.field_errors.get("criteria", []):
        flash(message, "danger")
    return status


def _with_the_rules(form: RoundForm) -> None:
    """A form its own validators refused (a year out of range …) also shows what the round's rules refuse
    (the criteria's weights, their sum), so that everything is corrected in one round, not two."""
    try:
        services.check_round(_round_data(form))
    except ValidationFailed as error:
        for name, messages in error.field_errors.items():
            field = getattr(form, name, None)
            if field is not None and name != "criteria" and not field.errors:
                field.errors = list(messages)
        for message in error.field_errors.get("criteria", []):
            flash(message, "danger")


@bp.route("/showcase/rounds/new", methods=["GET", "POST"])
@roles_required(Role.CITY_STAFF)
def new_round():
    form = RoundForm()
    if request.method == "GET":
        year = clock.local_today().year
        form.year.data = year
        form.name.data = _("%(y)d年度重庆市本地优秀软件和应用示范项目评选", y=year)
        for entry, (name, weight) in zip(form.criteria, services.DEFAULT_CRITERIA, strict=False):
            entry.form.name.data, entry.form.weight.data = name, str(weight)
    if form.validate_on_submit():
        try:
            rnd = services.create_round(db.session, current_user, _round_data(form), request.remote_addr)
        except ValidationFailed as error:
            status = _rejected_round(form, error)  # before rendering: it attaches the errors to the form
            return render_template("showcase/round_form.html", form=form, rnd=None), status
        flash(_("评选已创建（草稿）。开放推荐后，业主单位和区县即可推荐项目。"), "success")
        return redirect(url_for("showcase.round_detail", round_id=rnd.id))
    if form.is_submitted():
        _with_the_rules(form)
    return render_template("showcase/round_form.html", form=form, rnd=None)


@bp.route("/showcase/rounds/<int:round_id>/edit", methods=["GET", "POST"])
@roles_required(Role.CITY_STAFF)
def edit_round(round_id: int):
    rnd = _round_or_404(round_id)
    if rnd.status not in (RoundStatus.DRAFT, RoundStatus.OPEN):
        flash(_("评审开始后不能再修改评选设置。"), "warning")
        return redirect(url_for("showcase.round_detail", round_id=rnd.id))
    form = RoundForm(obj=rnd) if request.method == "GET" else RoundForm()
    if request.method == "GET":
        for entry, criterion in zip(form.criteria, rnd.criteria, strict=False):
            entry.form.name.data, entry.form.weight.data = criterion.name, f"{criterion.weight.normalize():f}"
        for entry in list(form.criteria)[len(rnd.criteria):]:
            entry.form.name.data, entry.form.weight.data = "", ""
    if form.validate_on_submit():
        try:
            services.update_round(db.session, current_user, rnd, _round_data(form), request.remote_addr)
        except ValidationFailed as error:
            status = _rejected_round(form, error)
            return render_template("showcase/round_form.html", form=form, rnd=rnd), status
        flash(_("已保存。"), "success")
        return redirect(url_for("showcase.round_detail", round_id=rnd.id))
    if form.is_submitted():
        _with_the_rules(form)
    return render_template("showcase/round_form.html", form=form, rnd=rnd)


@bp.route("/showcase/rounds/<int:round_id>")
@roles_required(Role.CITY_STAFF)
def round_detail(round_id: int):
    rnd = _round_or_404(round_id)
    assign_form = AssignExpertForm()
    assign_form.expert_id.choices = options((e.id, f"{e.name}（{e.email}）") for e in services.experts(db.session))
    return render_template("showcase/round.html", rnd=rnd, rows=services.totals(db.session, rnd),
                           missing=services.missing_scores(db.session, rnd),
                           action_form=ActionForm(), assign_form=assign_form, publish_form=PublishRoundForm())


@bp.route("/showcase/rounds/<int:round_id>/<any(open, start_scoring):action>", methods=["POST"])
@roles_required(Role.CITY_STAFF)
def round_action(round_id: int, action: str):
    rnd = _round_or_404(round_id)
    if not ActionForm().validate_on_submit():
        abort(400)
    services.round_transition(db.session, current_user, rnd, action, request.remote_addr)
    flash({"open": _("已开放推荐。"), "start_scoring": _("推荐已截止，专家评审开始。")}[action], "success")
    return redirect(url_for("showcase.round_detail", round_id=rnd.id))


@bp.route("/showcase/rounds/<int:round_id>/experts", methods=["POST"])
@roles_required(Role.CITY_STAFF)
def assign_expert(round_id: int):
    rnd = _round_or_404(round_id)
    form = AssignExpertForm()
    form.expert_id.choices = options((e.id, e.name) for e in services.experts(db.session))
    if not form.validate_on_submit():
        flash(_("请选择有效的评审专家。"), "danger")
        return redirect(url_for("showcase.round_detail", round_id=rnd.id))
    count = services.assign_expert(db.session, current_user, rnd, db.session.get(User, form.expert_id.data),
                                   ip=request.remote_addr)
    flash(_("已指派到 %(n)d 个推荐项目。", n=count), "success")
    return redirect(url_for("showcase.round_detail", round_id=rnd.id))


@bp.route("/showcase/rounds/<int:round_id>/publish", methods=["POST"])
@roles_required(Role.CITY_STAFF)
def publish_round(round_id: int):
    rnd = _round_or_404(round_id)
    if not PublishRoundForm().validate_on_submit():
        abort(400)
    page = confirmation.require(confirmation.Confirmation(
        "publish_round", rnd.id, _("确认公布入选名单：%(name)s", name=rnd.name),
        notified=[],
        public=[_("入选示范项目及其案例介绍、图片和文档"), _("示范项目展示页面与开放数据")],
        summary=[(_("入选推荐数"), str(len(_ids(request.form.getlist("selected")))))],
        back_url=url_for("showcase.round_detail", round_id=rnd.id),
        precheck=lambda: services.require_publishable(current_user, rnd, _ids(request.form.getlist("selected")))))
    if page is not None:
        return page
    demos = services.publish_round(db.session, current_user, rnd, _ids(request.form.getlist("selected")),
                                   request.remote_addr)
    flash(_("评选结果已公布：%(n)d 个示范项目。", n=len(demos)), "success")
    return redirect(url_for("showcase.index", year=rnd.year))


# ====================================================================== nominations (owners, district staff)

@bp.route("/showcase/nominations")
@roles_required(*NOMINATORS)
def nominations():
    return render_template("showcase/nominations.html", open_rounds=services.open_rounds(db.session),
                           candidates=services.nominable_scenarios(db.session, current_user),
                           mine=services.nominations_for(db.session, current_user))


def _store_media(form: NominationForm) -> list:
    stored = []
    for upload in form.media.data or []:
        if isinstance(upload, FileStorage) and upload.filename:
            stored.append(attachments.store(db.session, upload, AttachmentPurpose.DEMONSTRATION_MEDIA, current_user,
                                            field="media", allowed=services.MEDIA_EXTENSIONS))
    return stored


def _writeup(form: NominationForm) -> dict:
    return {name: form[name].data for name in ("problem", "solution", "outcomes", "highlights")}


@bp.route("/showcase/rounds/<int:round_id>/nominate/<int:scenario_id>", methods=["GET", "POST"])
@roles_required(*NOMINATORS)
def nominate(round_id: int, scenario_id: int):
    rnd = _round_or_404(round_id)
    if rnd.status == RoundStatus.DRAFT:
        abort(404)  # a round in preparation is city staff's alone: "not found" to a nominator, like a missing one
    scenario = db.session.get(Scenario, scenario_id)
    if scenario is None or not scenario_policy.can_view(current_user, scenario):
        abort(404)  # a scenario the user may not see is "not found", like a missing one (no existence leak)
    if not policy.can_nominate(current_user, scenario):
        abort(403)
    if rnd.status != RoundStatus.OPEN:
        flash(_("该评选当前不接受推荐。"), "warning")
        return redirect(url_for("showcase.nominations"))
    form = NominationForm()
    if form.validate_on_submit():
        try:
            nomination = services.nominate(db.session, current_user, rnd, scenario, _writeup(form),
                                           _store_media(form), request.remote_addr)
        except ValidationFailed as error:  # a bad write-up or file: show it beside the field
            status = rejected(form, error)
            return render_template("showcase/nomination_form.html", form=form, rnd=rnd, scenario=scenario,
                                   nomination=None), status
        flash(_("已提交推荐。"), "success")
        return redirect(url_for("showcase.nomination", nomination_id=nomination.id))
    return render_template("showcase/nomination_form.html", form=form, rnd=rnd, scenario=scenario, nomination=None)


def _nomination_or_404(nomination_id: int) -> Nomination:
    nomination = db.session.get(Nomination, nomination_id)
    if nomination is None or not policy.can_view_nomination(current_user, nomination):
        abort(404)
    return nomination


@bp.route("/showcase/nominations/<int:nomination_id>")
@roles_required(Role.OWNER, Role.DISTRICT_STAFF, Role.CITY_STAFF, Role.EXPERT)
def nomination(nomination_id: int):
    found = _nomination_or_404(nomination_id)
    own = next((a for a in found.experts if a.expert_id == current_user.id), None)
    return render_template("showcase/nomination.html", nomination=found, action_form=ActionForm(),
                           can_edit=services.can_edit_nomination(current_user, found),
                           assignment=own, declaration_form=DeclarationForm(),
                           show_scores=policy.is_city_staff(current_user))


@bp.route("/showcase/nominations/<int:nomination_id>/edit", methods=["GET", "POST"])
@roles_required(*NOMINATORS)
def edit_nomination(nomination_id: int):
    found = _nomination_or_404(nomination_id)
    if not services.can_edit_nomination(current_user, found):
        abort(403)
    form = NominationForm(obj=found)
    if form.validate_on_submit():
        try:
            services.update_nomination(db.session, current_user, found, _writeup(form), _store_media(form),
                                       _ids(request.form.getlist("remove_media")), request.remote_addr)
        except ValidationFailed as error:
            status = rejected(form, error)
            return render_template("showcase/nomination_form.html", form=form, rnd=found.round,
                                   scenario=found.scenario, nomination=found), status
        flash(_("已保存。"), "success")
        return redirect(url_for("showcase.nomination", nomination_id=found.id))
    return render_template("showcase/nomination_form.html", form=form, rnd=found.round, scenario=found.scenario,
                           nomination=found)


@bp.route("/showcase/nominations/<int:nomination_id>/withdraw", methods=["POST"])
@roles_required(*NOMINATORS)
def withdraw_nomination(nomination_id: int):
    found = _nomination_or_404(nomination_id)
    if not ActionForm().validate_on_submit():
        abort(400)
    services.withdraw_nomination(db.session, current_user, found, request.remote_addr)
    flash(_("推荐已撤回。"), "success")
    return redirect(url_for("showcase.nominations"))


# ====================================================================== experts

@bp.route("/showcase/reviews")
@roles_required(Role.EXPERT)
def reviews():
    return render_template("showcase/reviews.html", assignments=services.assignments_of(db.session, current_user),
                           declaration_form=DeclarationForm())


def _own_assignment_or_404(assignment_id: int) -> NominationExpert:
    assignment = db.session.get(NominationExpert, assignment_id)
    if assignment is None or assignment.expert_id != current_user.id:
        abort(404)
    return assignment


@bp.route("/showcase/assignments/<int:assignment_id>/declare", methods=["POST"])
@roles_required(Role.EXPERT)
def declare(assignment_id: int):
    assignment = _own_assignment_or_404(assignment_id)
    form = DeclarationForm()
    if not form.validate_on_submit():
        abort(400)
    no_conflict = bool(form.declare.data)
    if no_conflict and not form.no_conflict.data:
        flash(_("请勾选无利益冲突声明，或选择申请回避。"), "danger")
        return redirect(url_for("showcase.nomination", nomination_id=assignment.nomination_id))
    services.declare(db.session, current_user, assignment, no_conflict, form.note.data, request.remote_addr)
    flash(_("已声明无利益冲突。") if no_conflict else _("已申请回避，该项目不再由您评分。"), "success")
    return redirect(url_for("showcase.nomination", nomination_id=assignment.nomination_id))


@bp.route("/showcase/assignments/<int:assignment_id>/score", methods=["GET", "POST"])
@roles_required(Role.EXPERT)
def score(assignment_id: int):
    assignment = _own_assignment_or_404(assignment_id)
    nomination = assignment.nomination
    if not (assignment.may_score and nomination.round.status == RoundStatus.SCORING
            and nomination.status == NominationStatus.SUBMITTED):
        flash(_("请先声明与该项目无利益冲突，并在评审阶段评分。") if not assignment.may_score
              else _("该项目当前不能评分。"), "warning")
        return redirect(url_for("showcase.nomination", nomination_id=nomination.id))
    form = ActionForm()
    values = {s.criterion_id: f"{s.value.normalize():f}" for s in assignment.scores}
    comment = next((s.comment for s in assignment.scores if s.comment), "") or ""
    if request.method == "POST":
        if not form.validate_on_submit():
            abort(400)
        values = {c.id: request.form.get(f"score_{c.id}", "").strip() for c in nomination.round.criteria}
        comment = request.form.get("comment", "")[:2000]
        try:
            services.submit_scores(db.session, current_user, assignment, values, comment, request.remote_addr)
        except ValidationFailed as error:  # the scores are not form fields: the message is flashed
            status = rejected(form, error)
            return render_template("showcase/score.html", assignment=assignment, nomination=nomination, form=form,
                                   values=values, comment=comment, errors=error.field_errors), status
        flash(_("评分已保存。"), "success")
        return redirect(url_for("showcase.reviews"))
    return render_template("showcase/score.html", assignment=assignment, nomination=nomination, form=form,
                           values=values, comment=comment, errors={})
