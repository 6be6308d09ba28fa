"""Sign-in, sign-out, registration and password views (thin: parse, call a service, flash, redirect;
the request's unit of work commits)."""

from __future__ import annotations

import sqlalchemy as sa
from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_user, logout_user

from marketplace.auth import bp, services
from marketplace.auth.forms import (
    EnterpriseRegistrationForm,
    LoginForm,
    OwnerRegistrationForm,
    PasswordChangeForm,
    ResetPasswordForm,
    ResetRequestForm,
)
from marketplace.errors import DomainError, ValidationFailed, rejected
from marketplace.extensions import db
from marketplace.formfields import options
from marketplace.models import District, Organisation, OrganisationKind
from marketplace.permissions import signed_in
from marketplace.redirects import safe_target


def _district_choices() -> list[tuple[str, str]]:
    districts = db.session.execute(sa.select(District).order_by(District.sort_order)).scalars()
    return options([("", _("请选择"))] + [(d.code, d.name) for d in districts])


@bp.route("/login", methods=["GET", "POST"])
def login():
    if current_user.is_authenticated:
        return redirect(url_for("main.dashboard"))
    form = LoginForm()
    if form.validate_on_submit():
        try:
            user = services.authenticate(db.session, form.email.data, form.password.data, request.remote_addr or "-")
        except DomainError as error:
            # Answered with 200 on purpose: the unit of work then commits the recorded failed attempt,
            # which the throttle counts.
            form.password.errors = [error.message]
        else:
            login_user(user)
            flash(_("欢迎回来，%(name)s。", name=user.name), "success")
            return redirect(safe_target(request.args.get("next"), url_for("main.dashboard")))
    return render_template("auth/login.html", form=form)


@bp.route("/logout", methods=["POST"])
def logout():
    logout_user()
    flash(_("您已退出登录。"), "info")
    return redirect(url_for("main.index"))


@bp.route("/register")
def register():
    return render_template("auth/register_choice.html")


@bp.route("/register/enterprise", methods=["GET", "POST"])
def register_enterprise():
    form = EnterpriseRegistrationForm()
    form.district.choices = _district_choices()
    if form.validate_on_submit():
        person = services.Registration(form.name.data, form.email.data, form.phone.data, form.password.data)
        try:
            user = services.register_enterprise(
                db.session, person, form.organisation_name.data, form.uscc.data, form.district.data,
                request.remote_addr,
            )
        except ValidationFailed as error:
            status = rejected(form, error)
            return render_template("auth/register_enterprise.html", form=form), status
        login_user(user)
        flash(_("注册成功。请完善企业能力信息，以便获得场景推荐。"), "success")
        return redirect(url_for("main.dashboard"))
    return render_template("auth/register_enterprise.html", form=form)


@bp.route("/register/owner", methods=["GET", "POST"])
def register_owner():
    form = OwnerRegistrationForm()
    form.district.choices = _district_choices()
    owners = db.session.execute(
        sa.select(Organisation).where(Organisation.kind.in_(OrganisationKind.owner_kinds()), Organisation.active)
        .order_by(Organisation.name)
    ).scalars()
    form.organisation_id.choices = options([(0, _("新单位（在下方填写）"))] + [(o.id, o.name) for o in owners])
    if form.validate_on_submit():
        person = services.Registration(form.name.data, form.email.data, form.phone.data, form.password.data)
        try:
            services.register_owner(
                db.session, person,
                organisation_id=form.organisation_id.data or None,
                new_name=form.new_organisation_name.data,
                new_kind=form.new_organisation_kind.data,
                new_uscc=form.new_organisation_uscc.data or None,
                district_code=form.district.data,
                ip=request.remote_addr,
            )
        except ValidationFailed as error:
            status = rejected(form, error)
            return render_template("auth/register_owner.html", form=form), status
        flash(_("注册申请已提交，区县或市级工作人员审核通过后即可登录。"), "success")
        return redirect(url_for("auth.login"))
    return render_template("auth/register_owner.html", form=form)


@bp.route("/password", methods=["GET", "POST"])
@signed_in
def change_password():
    form = PasswordChangeForm()
    if form.validate_on_submit():
        try:
            services.change_password(db.session, current_user, form.current_password.data, form.password.data,
                                     request.remote_addr)
        except ValidationFailed as error:
            status = rejected(form, error)
            return render_template("auth/change_password.html", form=form), status
        flash(_("密码已修改。"), "success")
        return redirect(url_for("main.dashboard"))
    return render_template("auth/change_password.html", form=form)


@bp.route("/reset", methods=["GET", "POST"])
def request_reset():
    form = ResetRequestForm()
    if form.validate_on_submit():
        services.request_password_reset(db.session, form.email.data)
        flash(_("如果该邮箱已注册，重置密码的链接已发送到该邮箱，1 小时内有效。"), "info")
        return redirect(url_for("auth.login"))
    return render_template("auth/reset_request.html", form=form)


@bp.route("/reset/<token>", methods=["GET", "POST"])
def reset_password(token: str):
    try:
        services.user_for_reset_token(db.session, token)
    except DomainError as error:  # an expired or spent link: offer a new one rather than an error page
        flash(error.message, "danger")
        return redirect(url_for("auth.request_reset"))
    form = ResetPasswordForm()
    if form.validate_on_submit():
        services.reset_password(db.session, token, form.password.data, request.remote_addr)
        flash(_("新密码已设置，请登录。"), "success")
        return redirect(url_for("auth.login"))
    return render_template("auth/reset_password.html", form=form)
