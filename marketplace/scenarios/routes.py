"""Scenario views: public list and detail, batches, owner drafting, staff review, Q&A."""

from __future__ import annotations

import sqlalchemy as sa
from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from werkzeug.datastructures import FileStorage

from marketplace import attachments, clock, confirmation
from marketplace.downloads import send_attachment
from marketplace.errors import ValidationFailed, rejected
from marketplace.extensions import QUESTIONS, db, rate_limit
from marketplace.formfields import options
from marketplace.models import (
    AttachmentPurpose,
    Batch,
    BatchStage,
    Demonstration,
    Role,
    Scenario,
    ScenarioStatus,
)
from marketplace.pagecache import cached_page
from marketplace.permissions import roles_required, signed_in
from marketplace.scenarios import bp, documents, listing, policy, services
from marketplace.scenarios.forms import (
    AnswerForm,
    BatchForm,
    CityListForm,
    DocumentActionForm,
    DocumentForm,
    PublishForm,
    QuestionForm,
    ReasonForm,
    ScenarioForm,
)

STAFF = (Role.DISTRICT_STAFF, Role.CITY_STAFF)


def _visible_or_404(scenario_id: int) -> Scenario:
    scenario = db.session.get(Scenario, scenario_id)
    if scenario is None or not policy.can_view(current_user, scenario):
        abort(404)
    return scenario


def _page_or_404(scenario_id: int) -> Scenario:
    """Like :func:`_visible_or_404`, plus the public trace of a scenario withdrawn after publication."""
    scenario = db.session.get(Scenario, scenario_id)
    if scenario is None or not policy.can_view_page(current_user, scenario):
        abort(404)
    return scenario


# ------------------------------------------------------------------ public

@bp.route("/scenarios")
@cached_page
def index():
    try:
        filters = listing.parse_filters(request.args)
    except ValidationFailed as error:
        flash(error.message, "warning")
        filters = listing.ScenarioFilters()
    choices = listing.cached_filter_choices(db.session)
    page = listing.card_page(db.session, filters, choices)
    return render_template("scenarios/index.html", page=page, filters=filters, choices=choices, now=clock.now())


def _demonstration(scenario: Scenario) -> Demonstration | None:
    """The published demonstration case (示范案例) the scenario became, if any (the newest)."""
    return db.session.execute(sa.select(Demonstration).where(
        Demonstration.scenario_id == scenario.id, Demonstration.published_at.is_not(None))
        .order_by(Demonstration.published_at.desc()).limit(1)).scalar_one_or_none()


def _shown_status(scenario: Scenario) -> ScenarioStatus:
    """The badge's status: 公示中 while the award notice is pending, else the displayed status."""
    return scenario.display_status(in_publicity=bool(listing.in_publicity(db.session, [scenario])))


@bp.route("/scenarios/<int:scenario_id>")
@cached_page
def detail(scenario_id: int):
    scenario = _page_or_404(scenario_id)
    user = current_user if current_user.is_authenticated else None
    can_manage_documents = documents.can_manage(user, scenario)
    context = {
        "scenario": scenario,
        "status": _shown_status(scenario),
        "withdrawal": services.withdrawal_of(db.session, scenario),
        "withdrawal_is_public": services.withdrawal_is_public(scenario),
        "can_print": policy.can_view(user, scenario),
        "documents": [documents.describe(d) for d in documents.visible_documents(user, scenario)],
        "can_manage_documents": can_manage_documents,
        "document_form": DocumentForm() if can_manage_documents else None,
        "document_action_form": DocumentActionForm() if can_manage_documents else None,
        "demonstration": _demonstration(scenario) if scenario.is_public else None,
        "actions": services.allowed_actions(user, scenario),
        "can_edit": services.can_edit(user, scenario),
        "can_delete": services.can_delete(user, scenario),
        "is_owner": policy.is_owner_member(user, scenario),
        "is_reviewer": policy.is_reviewer(user, scenario),
        "questions": services.visible_questions(scenario, user),
        "can_ask": services.can_ask(user, scenario),
        "question_cutoff": services.question_cutoff(scenario),
        "gate": services.gate_problems(scenario) if scenario.status in ScenarioStatus.editable() else [],
        # Only a signed-in user sees a form here; building one writes a CSRF token into the session, which
        # would give an anonymous visitor a cookie and keep the page out of the page cache.
        "question_form": QuestionForm() if user else None,
        "answer_form": AnswerForm() if user else None,
        "reason_form": ReasonForm() if user else None,
    }
    if policy.is_reviewer(user, scenario) and scenario.status == ScenarioStatus.SUBMITTED:
        batches = services.batches_for(db.session, current_user)
        current = services.current_batch(batches)
        form = PublishForm(batch_id=current.id if current else 0)
        form.batch_id.choices = options([(b.id, b.name) for b in batches] + [(0, _("（新建批次）"))])
        form.new_batch_name.description = services.batch_name_example(batches)
        context["publish_form"] = form
    if user is not None and user.role == Role.CITY_STAFF and scenario.is_public:
        city_batches = [b for b in services.batches_for(db.session, current_user) if b not in scenario.batches]
        if city_batches:
            form = CityListForm()
            form.batch_id.choices = options((b.id, b.name) for b in city_batches)
            context["city_list_form"] = form
    return render_template("scenarios/detail.html", **context)


@bp.route("/scenarios/<int:scenario_id>/print")
def print_view(scenario_id: int):
    """A clean printable page of the scenario (打印): every field, key facts, contact, public documents."""
    scenario = _visible_or_404(scenario_id)
    return render_template("scenarios/print.html", scenario=scenario, status=_shown_status(scenario),
                           documents=[documents.describe(d) for d in documents.public_documents(scenario)],
                           printed_at=clock.now(),
                           page_url=url_for("scenarios.detail", scenario_id=scenario.id, _external=True))


@bp.route("/scenarios/<int:scenario_id>/documents/<int:document_id>")
def document(scenario_id: int, document_id: int):
    """Download a scenario document: published ones of a public scenario (or of one withdrawn after
    publication) for anyone (404 for anyone else)."""
    scenario = _page_or_404(scenario_id)
    found = next((d for d in scenario.documents if d.id == document_id), None)
    user = current_user if current_user.is_authenticated else None
    if found is None or not documents.can_download(user, found):
        abort(404)
    return send_attachment(found.attachment)


@bp.route("/batches")
@cached_page
def batches():
    rows = db.session.execute(
        sa.select(Batch, sa.func.count(Scenario.id))
        .outerjoin(Batch.scenarios.and_(policy.public_clause()))
        .group_by(Batch.id).order_by(Batch.published_on.desc(), Batch.id.desc())
    ).all()
    return render_template("scenarios/batches.html", rows=rows, stages=list(BatchStage))


@bp.route("/batches/<int:batch_id>")
@cached_page
def batch(batch_id: int):
    batch = db.get_or_404(Batch, batch_id)
    scenarios = [s for s in batch.scenarios if s.is_public]
    return render_template("scenarios/batch.html", batch=batch, scenarios=scenarios,
                           publicity=listing.in_publicity(db.session, scenarios))


# ------------------------------------------------------------------ owners

@bp.route("/my/scenarios")
@roles_required(Role.OWNER)
def mine():
    """The organisation's scenarios; ``?status=returned`` (or another stored status) narrows the list."""
    try:
        status = ScenarioStatus(request.args["status"]) if request.args.get("status") else None
    except ValueError:
        status = None
    scenarios = db.session.execute(services.own_scenarios(current_user, status)).scalars().all()
    return render_template("scenarios/mine.html", scenarios=scenarios, status=status)


def _choices(form: ScenarioForm) -> None:
    refs = listing.filter_choices(db.session)
    form.domain.choices = options([("", "—")] + [(d.code, d.name) for d in refs["domains"]])
    form.theme.choices = options([("", "—")] + [(t.code, t.name) for t in refs["themes"]])


def _form_data(form: ScenarioForm) -> dict:
    data = {name: form[name].data for name in (
        "title", "summary", "description", "boundary", "requirements", "acceptance", "outcomes", "domain", "theme",
        "contact_name", "contact_phone", "contact_email", "funding_source", "budget_wan", "deadline",
        "delivery_months", "mode", "race_teams")}
    return data


def _evidence(form: ScenarioForm):
    upload = form.funding_evidence.data
    # ScenarioForm(obj=scenario) fills this field with the stored Attachment; only a new upload counts.
    if isinstance(upload, FileStorage) and upload.filename:
        return attachments.store(db.session, upload, AttachmentPurpose.FUNDING_EVIDENCE, current_user,
                                 field="funding_evidence")
    return None


def _save_and_maybe_submit(form: ScenarioForm, scenario: Scenario, saved_message: str):
    """Keep the saved draft; when asked, also submit it. A failed publish gate keeps the draft (the
    submission alone is undone, in a savepoint) and sends the owner back to the form, which lists
    what is missing; the redirect is not an error, so the request's unit of work commits the draft."""
    if form.submit_for_review.data and scenario.status in ScenarioStatus.editable():
        try:
            with db.session.begin_nested():
                services.transition(db.session, current_user, scenario, "submit", ip=request.remote_addr)
        except ValidationFailed as error:
            flash(error.message, "warning")  # a count; the form lists the problems at their fields
            return redirect(url_for("scenarios.edit", scenario_id=scenario.id, check=1), 303)
        flash(_("已提交审核。"), "success")
    else:
        flash(saved_message, "success")
    return redirect(url_for("scenarios.detail", scenario_id=scenario.id))


@bp.route("/scenarios/new", methods=["GET", "POST"])
@roles_required(Role.OWNER)
def create():
    if not services.can_create(current_user):
        abort(403)
    form = ScenarioForm()
    _choices(form)
    _describe_deadline(form, None)
    if request.method == "GET":
        form.contact_name.data = current_user.name
        form.contact_phone.data = current_user.phone
        form.contact_email.data = current_user.email
    if form.validate_on_submit():
        try:
            scenario = services.create_draft(db.session, current_user, _form_data(form), _evidence(form),
                                             request.remote_addr)
        except ValidationFailed as error:
            status = rejected(form, error)
            return render_template("scenarios/form.html", form=form, scenario=None, gate=[]), status
        return _save_and_maybe_submit(form, scenario, _("草稿已保存。"))
    return render_template("scenarios/form.html", form=form, scenario=None, gate=[])


@bp.route("/scenarios/<int:scenario_id>/edit", methods=["GET", "POST"])
@roles_required(Role.OWNER)
def edit(scenario_id: int):
    scenario = _visible_or_404(scenario_id)
    if not services.can_edit(current_user, scenario):
        abort(403)
    form = ScenarioForm(obj=scenario)
    _choices(form)
    if request.method == "GET":
        form.domain.data = scenario.domain.code if scenario.domain else ""
        form.theme.data = scenario.theme.code if scenario.theme else ""
        form.funding_source.data = scenario.funding_source.value if scenario.funding_source else ""
        form.mode.data = scenario.mode.value
        form.deadline.data = clock.to_local(scenario.deadline).replace(tzinfo=None) if scenario.deadline else None
    _describe_deadline(form, scenario)
    status = 200
    if form.validate_on_submit():
        try:
            reopened = services.update(db.session, current_user, scenario, _form_data(form), _evidence(form),
                                       request.remote_addr)
        except ValidationFailed as error:
            status = rejected(form, error)
            if any(name in form for name in error.field_errors):  # else rejected() flashed it already
                flash(error.message, "danger")  # the summary (e.g. every gate problem) above the form
            if "deadline" in error.field_errors and scenario.published_at is not None:
                # Propose the extension: the earliest deadline the change allows (the owner may pick a later one).
                form.deadline.data = services.proposed_deadline(db.session, scenario)
                form.deadline.raw_data = None  # render the proposal, not what was typed
        else:
            if reopened:
                flash(_("修改涉及实质内容，场景已重新提交审核；已提交的揭榜申请需要企业重新确认。"), "warning")
                return redirect(url_for("scenarios.detail", scenario_id=scenario.id))
            return _save_and_maybe_submit(form, scenario, _("已保存。"))
    gate = []
    if scenario.status in ScenarioStatus.editable():
        # Re-shown after an error: the box judges what the form holds, not the stored (rolled-back) values.
        gate = services.gate_problems(scenario) if request.method == "GET" else \
            services.gate_preview(db.session, scenario, _form_data(form))
    if request.method == "GET" and request.args.get("check"):
        for problem in gate:  # after a refused submission: highlight each field with its rule
            if problem.field in form:
                form[problem.field].errors = [problem.message]
    return render_template("scenarios/form.html", form=form, scenario=scenario, gate=gate), status


def _describe_deadline(form: ScenarioForm, scenario: Scenario | None) -> None:
    """State the deadline rules next to the field: the earliest deadline a substantive change allows now."""
    if scenario is None or scenario.published_at is None:
        form.deadline.description = _("发布时须距发布至少 %(days)d 天。", days=current_app.config["MIN_APPLICATION_DAYS"])
        return
    floor = services.deadline_floor_text(services.earliest_deadline(db.session, scenario))
    form.deadline.description = _("修改实质内容后，截止时间不得早于 %(floor)s（北京时间）；已有企业揭榜的只能延后，"
                                  "已提交申请的企业将收到通知并须重新确认。", floor=floor)


@bp.route("/scenarios/<int:scenario_id>/<action>", methods=["POST"])
@signed_in
def act(scenario_id: int, action: str):
    if action not in services.BUTTON_ACTIONS:
        abort(404)
    scenario = _visible_or_404(scenario_id)
    form = ReasonForm()
    if not form.validate_on_submit():
        abort(400)
    services.transition(db.session, current_user, scenario, action, reason=form.reason.data, ip=request.remote_addr)
    flash({"submit": _("已提交审核。"), "return": _("已退回业主单位修改。"),
           "withdraw": _("场景已撤回。")}[action], "success")
    return redirect(url_for("scenarios.detail", scenario_id=scenario.id))


@bp.route("/scenarios/<int:scenario_id>/delete", methods=["POST"])
@roles_required(Role.OWNER)
def delete(scenario_id: int):
    """Delete a draft (the owner's organisation only; submitted and published scenarios are withdrawn)."""
    scenario = _visible_or_404(scenario_id)
    form = ReasonForm()
    if not form.validate_on_submit():
        abort(400)
    services.delete_draft(db.session, current_user, scenario, ip=request.remote_addr)
    flash(_("草稿已删除。"), "success")
    return redirect(url_for("scenarios.mine"), 303)


# ------------------------------------------------------------------ documents (owner)

@bp.route("/scenarios/<int:scenario_id>/documents", methods=["POST"])
@roles_required(Role.OWNER)
def add_document(scenario_id: int):
    """Upload a document; internal unless the owner ticks 公开."""
    scenario = _visible_or_404(scenario_id)
    form = DocumentForm()
    if not form.validate_on_submit():
        abort(400)
    upload = form.file.data if isinstance(form.file.data, FileStorage) else None
    document = documents.add(db.session, current_user, scenario, upload, form.public.data, request.remote_addr)
    flash(_("附件已上传（公开）。") if document.public else _("附件已上传（内部，仅本单位和审核人员可见）。"), "success")
    return redirect(url_for("scenarios.detail", scenario_id=scenario.id, _anchor="documents"), 303)


@bp.route("/scenarios/<int:scenario_id>/documents/<int:document_id>/<action>", methods=["POST"])
@roles_required(Role.OWNER)
def document_action(scenario_id: int, document_id: int, action: str):
    """``publish`` (公开), ``unpublish`` (设为内部) or ``delete`` one document."""
    if action not in ("publish", "unpublish", "delete"):
        abort(404)
    scenario = _visible_or_404(scenario_id)
    if not DocumentActionForm().validate_on_submit():
        abort(400)
    if action == "delete":
        documents.remove(db.session, current_user, scenario, document_id, request.remote_addr)
        flash(_("附件已删除。"), "success")
    else:
        documents.set_public(db.session, current_user, scenario, document_id, action == "publish",
                             request.remote_addr)
        flash(_("附件已公开。") if action == "publish" else _("附件已设为内部。"), "success")
    return redirect(url_for("scenarios.detail", scenario_id=scenario.id, _anchor="documents"), 303)


# ------------------------------------------------------------------ staff

@bp.route("/review")
@roles_required(*STAFF)
def review():
    submitted = db.session.execute(services.review_queue(current_user)).scalars().all()
    return render_template("scenarios/review.html", submitted=submitted,
                           batches=services.batches_for(db.session, current_user))


@bp.route("/scenarios/<int:scenario_id>/publish", methods=["POST"])
@roles_required(*STAFF)
def publish(scenario_id: int):
    scenario = _visible_or_404(scenario_id)
    form = PublishForm()
    form.batch_id.choices = options([(0, "")] + [(b.id, b.name) for b in services.batches_for(db.session, current_user)])
    if not form.validate_on_submit():
        raise ValidationFailed(_("请选择有效的批次。"), {"batch_id": [_("请选择有效的批次。")]})

    def precheck() -> None:
        services.require_transition(current_user, scenario, "publish")
        if not form.batch_id.data and not (form.new_batch_name.data or "").strip() and not scenario.batches:
            # Refused before the confirmation step, not after the user confirmed an irreversible action.
            raise ValidationFailed(_("请选择批次或填写新建批次的名称。"),
                                   {"new_batch_name": [_("请选择批次或填写新建批次的名称。")]})

    # The confirmation restates where the scenario will be listed (the choice made on the page before).
    new_name = (form.new_batch_name.data or "").strip()
    if form.batch_id.data:
        listed_in = db.session.get(Batch, form.batch_id.data).name
    elif new_name:
        listed_in = f"{new_name}{_('（新建批次）')}"
    else:
        listed_in = "、".join(b.name for b in scenario.batches)
    page = confirmation.require(confirmation.Confirmation(
        "publish_scenario", scenario.id, _("确认发布场景：%(t)s", t=scenario.title),
        summary=[(_("发布到批次"), listed_in)],
        notified=[_("保存了匹配搜索条件的用户（定时推送）")],
        public=[_("场景全部公开内容（描述、边界、技术要求、验收标准、预算、截止时间、联系人）"),
                _("所在清单批次"), _("开放数据与统计")],
        back_url=url_for("scenarios.detail", scenario_id=scenario.id),
        precheck=precheck))
    if page is not None:
        return page
    if form.batch_id.data:
        batch = db.session.get(Batch, form.batch_id.data)
    elif form.new_batch_name.data or not scenario.batches:
        batch = services.create_batch(db.session, current_user, form.new_batch_name.data,
                                      form.new_batch_stage.data, None, ip=request.remote_addr)
    else:
        batch = None  # re-review of an already listed scenario
    services.transition(db.session, current_user, scenario, "publish", batch=batch, ip=request.remote_addr)
    flash(_("场景已发布。"), "success")
    return redirect(url_for("scenarios.detail", scenario_id=scenario.id))


@bp.route("/scenarios/<int:scenario_id>/city-list", methods=["POST"])
@roles_required(Role.CITY_STAFF)
def city_list(scenario_id: int):
    scenario = _visible_or_404(scenario_id)
    form = CityListForm()
    form.batch_id.choices = options((b.id, b.name) for b in services.batches_for(db.session, current_user))
    if not form.validate_on_submit():
        abort(400)
    services.take_into_city_batch(db.session, current_user, scenario, db.session.get(Batch, form.batch_id.data),
                                  request.remote_addr)
    flash(_("已纳入市级清单。"), "success")
    return redirect(url_for("scenarios.detail", scenario_id=scenario.id))


@bp.route("/batches/new", methods=["GET", "POST"])
@roles_required(*STAFF)
def new_batch():
    form = BatchForm()
    form.name.description = services.batch_name_example(services.batches_for(db.session, current_user))
    if form.validate_on_submit():
        try:
            batch = services.create_batch(db.session, current_user, form.name.data, form.stage.data,
                                          form.published_on.data, form.description.data, request.remote_addr)
        except ValidationFailed as error:
            status = rejected(form, error)
            return render_template("scenarios/batch_form.html", form=form), status
        flash(_("批次已创建。"), "success")
        return redirect(url_for("scenarios.batch", batch_id=batch.id))
    return render_template("scenarios/batch_form.html", form=form)


# ------------------------------------------------------------------ questions

@bp.route("/scenarios/<int:scenario_id>/questions", methods=["POST"])
@rate_limit(QUESTIONS)
@roles_required(Role.ENTERPRISE)
def ask(scenario_id: int):
    scenario = _visible_or_404(scenario_id)
    form = QuestionForm()
    if not form.validate_on_submit():
        message = " ".join(str(e) for e in form.text.errors) or _("请填写问题。")
        raise ValidationFailed(message, {"text": [message]})
    services.ask(db.session, current_user, scenario, form.text.data, request.remote_addr)
    flash(_("问题已提交，业主单位答复后将在本页公开（不显示提问企业）。"), "success")
    return redirect(url_for("scenarios.detail", scenario_id=scenario.id, _anchor="qa"))


@bp.route("/scenarios/<int:scenario_id>/questions/<int:question_id>/answer", methods=["POST"])
@roles_required(Role.OWNER)
def answer(scenario_id: int, question_id: int):
    scenario = _visible_or_404(scenario_id)
    form = AnswerForm()
    if not form.validate_on_submit():
        message = " ".join(str(e) for e in form.answer.errors) or _("请填写答复内容。")
        raise ValidationFailed(message, {"answer": [message]})
    services.answer(db.session, current_user, question_id, form.answer.data, request.remote_addr,
                    scenario=scenario)
    flash(_("答复已发布。"), "success")
    return redirect(url_for("scenarios.detail", scenario_id=scenario.id, _anchor="qa"))
