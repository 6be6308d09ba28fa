"""Enterprise views: the public directory and profile pages, the firm's own profile, staff verification.

Views parse, call one service and redirect; the request's unit of work commits. A refused
decision (409/422) is flashed and the browser sent back by :mod:`marketplace.errors`; only the
forms of the firm's own profile page re-render with the messages beside the fields.
"""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from marketplace import unit_of_work
from marketplace.enterprises import bp, directory, policy, services, verification
from marketplace.enterprises.forms import CaseForm, DeleteForm, ProfileForm, QualificationForm, ReviewForm
from marketplace.errors import InvalidTransition, ValidationFailed, attach_to_form, rejected
from marketplace.extensions import db
from marketplace.formfields import options
from marketplace.models import EnterpriseProfile, Role, VerificationStatus
from marketplace.pagecache import cached_page
from marketplace.permissions import roles_required

STAFF = (Role.DISTRICT_STAFF, Role.CITY_STAFF)


def _user():
    return current_user if current_user.is_authenticated else None


# ------------------------------------------------------------------ public

@bp.route("/enterprises")
@cached_page
def index():
    try:
        filters = directory.parse_filters(db.session, request.args)
    except ValidationFailed as error:
        flash(error.message, "warning")
        filters = directory.EnterpriseFilters()
    page = directory.page_of(db.session, filters)
    return render_template("enterprises/index.html", page=page, filters=filters,
                           choices=directory.filter_choices(db.session))


@bp.route("/enterprises/<int:profile_id>")
@cached_page
def detail(profile_id: int):
    """Public profile; the firm's own users and its reviewers also see it before verification."""
    profile = db.session.get(EnterpriseProfile, profile_id)
    user = _user()
    if profile is None or not policy.can_view(user, profile):
        abort(404)
    is_member = policy.is_member(user, profile)
    is_reviewer = policy.is_reviewer(user, profile)
    private = is_member or is_reviewer
    return render_template(
        "enterprises/detail.html", profile=profile, public=policy.is_public(profile), private=private,
        is_member=is_member, is_reviewer=is_reviewer,
        qualifications=profile.qualifications if private else policy.public_qualifications(profile),
        band=services.employee_band(profile.employees), review_form=ReviewForm(),
    )


# ------------------------------------------------------------------ the firm's own profile

def _profile_form(profile: EnterpriseProfile, formdata=None) -> ProfileForm:
    form = ProfileForm(formdata=formdata, obj=None if formdata else profile)
    form.domains.choices = options((d.code, d.name) for d in directory.filter_choices(db.session)["domains"])
    if formdata is None:
        form.domains.data = [d.code for d in profile.domains]
        form.revenue_band.data = profile.revenue_band.value if profile.revenue_band else ""
        form.tags.data = "、".join(profile.tag_list)
    return form


def _render_mine(profile: EnterpriseProfile, profile_form: ProfileForm | None = None,
                 qualification_form: QualificationForm | None = None, case_form: CaseForm | None = None,
                 status: int = 200):
    return render_template(
        "enterprises/mine.html", profile=profile,
        form=profile_form or _profile_form(profile),
        qualification_form=qualification_form or QualificationForm(prefix="qualification", formdata=None),
        case_form=case_form or CaseForm(prefix="case", formdata=None),
        delete_form=DeleteForm(formdata=None),
        completeness=services.completeness(profile), problems=services.submission_problems(profile),
    ), status


def _mine() -> EnterpriseProfile:
    return services.own_profile(db.session, current_user)


@bp.route("/my/profile", methods=["GET", "POST"])
@roles_required(Role.ENTERPRISE)
def my_profile():
    profile = _mine()
    if request.method == "GET":
        return _render_mine(profile)
    form = _profile_form(profile, formdata=request.form)
    if not form.validate_on_submit():
        return _render_mine(profile, profile_form=form, status=422)
    data = {name: form[name].data for name in services.PROFILE_FIELDS}
    try:
        changed = services.update_profile(db.session, current_user, profile, data, request.remote_addr)
    except ValidationFailed as error:
        status = rejected(form, error)
        if error.field_errors:  # the summary above the form, the details beside the fields
            flash(error.message, "danger")
        return _render_mine(profile, profile_form=form, status=status)
    if form.submit_for_verification.data:
        try:
            services.submit(db.session, current_user, profile, request.remote_addr)
        except (ValidationFailed, InvalidTransition) as error:
            unit_of_work.keep()  # the edits themselves are saved; only the submission waits
            if error.field_errors:
                attach_to_form(form, error)
            flash(_("已保存，但还不能提交核验：%(reason)s", reason=error.message), "warning")
            return _render_mine(profile, profile_form=form, status=error.status_code)
        flash(_("已保存并提交核验，区县工作人员核验通过后将在企业能力目录公开。"), "success")
    elif changed and profile.status == VerificationStatus.VERIFIED:
        flash(_("已保存。企业信息保持公开；区县工作人员可能复核本次修改。"), "success")
    else:
        flash(_("已保存。") if changed else _("没有修改。"), "success")
    return redirect(url_for("enterprises.my_profile"))


@bp.route("/my/profile/submit", methods=["POST"])
@roles_required(Role.ENTERPRISE)
def submit():
    profile = _mine()
    if not DeleteForm().validate_on_submit():
        abort(400)
    services.submit(db.session, current_user, profile, request.remote_addr)
    flash(_("已提交核验，区县工作人员核验通过后将在企业能力目录公开。"), "success")
    return redirect(url_for("enterprises.my_profile"))


@bp.route("/my/profile/qualifications", methods=["POST"])
@roles_required(Role.ENTERPRISE)
def add_qualification():
    profile = _mine()
    form = QualificationForm(prefix="qualification")
    status = 422
    if form.validate_on_submit():
        data = {"kind": form.kind.data, "detail": form.detail.data, "year": form.year.data}
        try:
            services.add_qualification(db.session, current_user, profile, data, form.evidence.data,
                                       request.remote_addr)
        except ValidationFailed as error:
            status = rejected(form, error)
        else:
            flash(_("资质已添加，等待区县工作人员核验证明文件。"), "success")
            return redirect(url_for("enterprises.my_profile", _anchor="qualifications"))
    # Browsers never send a chosen file twice: say so beside the file field.
    if getattr(form.evidence.data, "filename", None) and not form.evidence.errors:
        form.evidence.errors = [_("请重新选择证明文件。")]
    flash(_("资质未添加，请按“添加资质”中的提示修改。"), "danger")
    return _render_mine(profile, qualification_form=form, status=status)


@bp.route("/my/profile/qualifications/<int:qualification_id>/delete", methods=["POST"])
@roles_required(Role.ENTERPRISE)
def remove_qualification(qualification_id: int):
    if not DeleteForm().validate_on_submit():
        abort(400)
    services.remove_qualification(db.session, current_user, qualification_id, request.remote_addr)
    flash(_("资质已删除。"), "success")
    return redirect(url_for("enterprises.my_profile", _anchor="qualifications"))


CASE_FIELDS = ("title", "client", "year", "amount_wan", "description")


@bp.route("/my/profile/cases", methods=["POST"])
@roles_required(Role.ENTERPRISE)
def add_case():
    profile = _mine()
    form = CaseForm(prefix="case")
    status = 422
    if form.validate_on_submit():
        try:
            services.add_case(db.session, current_user, profile, {name: form[name].data for name in CASE_FIELDS},
                              request.remote_addr)
        except ValidationFailed as error:
            status = rejected(form, error)
        else:
            flash(_("项目案例已添加。"), "success")
            return redirect(url_for("enterprises.my_profile", _anchor="cases"))
    flash(_("项目案例未添加，请按“添加项目案例”中的提示修改。"), "danger")
    return _render_mine(profile, case_form=form, status=status)


@bp.route("/my/profile/cases/<int:case_id>/edit", methods=["GET", "POST"])
@roles_required(Role.ENTERPRISE)
def edit_case(case_id: int):
    case = services.own_case(db.session, current_user, case_id)
    form = CaseForm(obj=case)
    status = 200
    if form.validate_on_submit():
        try:
            services.update_case(db.session, current_user, case_id, {name: form[name].data for name in CASE_FIELDS},
                                 request.remote_addr)
        except ValidationFailed as error:
            status = rejected(form, error)
        else:
            flash(_("项目案例已保存。"), "success")
            return redirect(url_for("enterprises.my_profile", _anchor="cases"))
    elif request.method == "POST":
        status = 422
    return render_template("enterprises/case_form.html", form=form, case=case), status


@bp.route("/my/profile/cases/<int:case_id>/delete", methods=["POST"])
@roles_required(Role.ENTERPRISE)
def remove_case(case_id: int):
    if not DeleteForm().validate_on_submit():
        abort(400)
    services.remove_case(db.session, current_user, case_id, request.remote_addr)
    flash(_("项目案例已删除。"), "success")
    return redirect(url_for("enterprises.my_profile", _anchor="cases"))


# ------------------------------------------------------------------ staff verification

@bp.route("/enterprises/review")
@roles_required(*STAFF)
def review():
    return render_template("enterprises/review.html", queue=verification.review_queue(db.session, current_user),
                           form=ReviewForm())


def _review_form() -> ReviewForm:
    form = ReviewForm()
    if not form.validate_on_submit():
        abort(400)
    return form


@bp.route("/enterprises/<int:profile_id>/<decision>", methods=["POST"])
@roles_required(*STAFF)
def review_profile(profile_id: int, decision: str):
    if decision not in verification.REVIEW_DECISIONS:
        abort(404)
    form = _review_form()
    profile = verification.review_profile(db.session, current_user, profile_id, decision, form.reason.data,
                                          request.remote_addr)
    flash(_("已核验通过：%(name)s。", name=profile.organisation.name) if decision == "verify"
          else _("已退回：%(name)s。", name=profile.organisation.name), "success")
    if request.form.get("back") == "detail":
        return redirect(url_for("enterprises.detail", profile_id=profile_id))
    return redirect(url_for("enterprises.review"))


@bp.route("/enterprises/qualifications/<int:qualification_id>/<decision>", methods=["POST"])
@roles_required(*STAFF)
def review_qualification(qualification_id: int, decision: str):
    if decision not in verification.REVIEW_DECISIONS:
        abort(404)
    form = _review_form()
    qualification = verification.review_qualification(db.session, current_user, qualification_id, decision,
                                                      form.reason.data, request.remote_addr)
    flash(_("资质已核验通过。") if decision == "verify" else _("资质已退回。"), "success")
    if request.form.get("back") == "detail":
        return redirect(url_for("enterprises.detail", profile_id=qualification.profile_id))
    return redirect(url_for("enterprises.review", _anchor="qualifications"))
