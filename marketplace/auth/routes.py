"""Sign-in, sign-out, registration and password views (thin: parse, call a service, flash, redirect;
the request's unit of work commits)."""

from __future__ import annotations

import sqlalchemy as sa
from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from marketplace.auth import bp, services, sessions, throttle
from marketplace.auth.forms import (
    ConfirmForm,
    EmailChangeForm,
    EnterpriseRegistrationForm,
    LoginForm,
    OwnerRegistrationForm,
    PasswordChangeForm,
    ResetPasswordForm,
    ResetRequestForm,
)
from marketplace.errors import DomainError, ValidationFailed, rejected
from marketplace.extensions import LOGIN, PASSWORD_RESET, REGISTER, db, rate_limit
from marketplace.formfields import options
from marketplace.models import District, Organisation, OrganisationKind
from marketplace.permissions import signed_in
from marketplace.redirects import safe_target


def _district_choices() -> list[tuple[str, str]]:
    districts = db.session.execute(sa.select(District).order_by(District.sort_order)).scalars()
    return options([("", _("请选择"))] + [(d.code, d.name) for d in districts])


@bp.route("/login", methods=["GET", "POST"])
@rate_limit(LOGIN)
def login():
    if current_user.is_authenticated:
        return redirect(url_for("main.dashboard"))
    form = LoginForm()
    if form.validate_on_submit():
        email = services.normalise_email(form.email.data)
        device = throttle.trusted_device(request, email)
        try:
            user = services.authenticate(db.session, email, form.password.data, request.remote_addr or "-", device)
        except throttle.LoginThrottled as error:
            form.password.errors = [error.message]
            status = error.status_code
            return render_template("auth/login.html", form=form), status, {"Retry-After": str(error.retry_after)}
        except DomainError as error:
            # Answered with 200 on purpose: the unit of work then commits the recorded failed attempt.
            form.password.errors = [error.message]
        else:
            sessions.sign_in(user)
            flash(_("欢迎回来，%(name)s。", name=user.name), "success")
            response = redirect(safe_target(request.args.get("next"), url_for("main.dashboard")))
            throttle.issue_device_cookie(response, email)
            return response
    return render_template("auth/login.html", form=form)


@bp.route("/logout", methods=["POST"])
def logout():
    """Sign out; every other session of the account ends too (a copied cookie stops working)."""
    sessions.sign_out(current_user)
    flash(_("您已退出登录。"), "info")
    return redirect(url_for("main.index"))


@bp.route("/sessions/end", methods=["POST"])
@signed_in
def end_sessions():
    """"Sign out everywhere" (退出所有设备)."""
    services.end_all_sessions(db.session, current_user, request.remote_addr)
    sessions.sign_out(None)
    flash(_("已退出所有设备上的登录，请重新登录。"), "info")
    return redirect(url_for("auth.login"))


@bp.route("/register")
def register():
    return render_template("auth/register_choice.html")


#: The answer to every registration, whether or not the address already had an account.
def _check_mailbox() -> None:
    flash(_("注册申请已收到，请查收邮件：点击邮件中的链接确认邮箱后即可登录。"
            "（如果该邮箱已注册，邮件会说明如何登录或找回密码。）"), "success")


@bp.route("/register/enterprise", methods=["GET", "POST"])
@rate_limit(REGISTER)
def register_enterprise():
    form = EnterpriseRegistrationForm()
    form.district.choices = _district_choices()
    if form.validate_on_submit():
        person = services.Registration(form.name.data, form.email.data, form.phone.data, form.password.data,
                                       consent=form.consent.data)
        try:
            services.register_enterprise(
                db.session, person, form.organisation_name.data, form.uscc.data, form.district.data,
                request.remote_addr,
            )
        except ValidationFailed as error:
            status = rejected(form, error)
            return render_template("auth/register_enterprise.html", form=form), status
        _check_mailbox()
        return redirect(url_for("auth.login"))
    return render_template("auth/register_enterprise.html", form=form)


@bp.route("/register/owner", methods=["GET", "POST"])
@rate_limit(REGISTER)
def register_owner():
    form = OwnerRegistrationForm()
    form.district.choices = _district_choices()
    owners = db.session.execute(
        sa.select(Organisation).where(Organisation.kind.in_(OrganisationKind.owner_kinds()), Organisation.active)
        .order_by(Organisation.name)
    ).scalars()
    form.organisation_id.choices = options([(0, _("新单位（在下方填写）"))] + [(o.id, o.name) for o in owners])
    if form.validate_on_submit():
        person = services.Registration(form.name.data, form.email.data, form.phone.data, form.password.data,
                                       consent=form.consent.data)
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
        _check_mailbox()
        flash(_("单位用户的注册还需区县或市级工作人员审核，审核通过后即可登录。"), "info")
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
        sessions.keep_signed_in(current_user)
        flash(_("密码已修改，其他设备上的登录已失效。"), "success")
        return redirect(url_for("main.dashboard"))
    return render_template("auth/change_password.html", form=form)


@bp.route("/reset", methods=["GET", "POST"])
@rate_limit(PASSWORD_RESET)
def request_reset():
    form = ResetRequestForm()
    if form.validate_on_submit():
        services.request_password_reset(db.session, form.email.data)
        flash(_("如果该邮箱已注册，重置密码的链接已发送到该邮箱，1 小时内有效。"), "info")
        return redirect(url_for("auth.login"))
    return render_template("auth/reset_request.html", form=form)


@bp.route("/reset/<token>", methods=["GET", "POST"])
@rate_limit(PASSWORD_RESET)
def reset_password(token: str):
    try:
        services.user_for_reset_token(db.session, token)
    except DomainError as error:  # an expired or spent link: offer a new one rather than an error page
        flash(error.message, "danger")
        return redirect(url_for("auth.request_reset"))
    form = ResetPasswordForm()
    if form.validate_on_submit():
        try:
            services.reset_password(db.session, token, form.password.data, request.remote_addr)
        except ValidationFailed as error:
            status = rejected(form, error)
            return render_template("auth/reset_password.html", form=form), status
        flash(_("新密码已设置，请登录。"), "success")
        return redirect(url_for("auth.login"))
    return render_template("auth/reset_password.html", form=form)


@bp.route("/confirm/<token>", methods=["GET", "POST"])
def confirm_email(token: str):
    """The link mailed at registration: the page shows a button (GET never writes); the POST confirms."""
    try:
        user = services.user_for_confirmation(db.session, token)
    except DomainError as error:
        flash(error.message, "danger")
        return redirect(url_for("auth.login"))
    form = ConfirmForm()
    if form.validate_on_submit():
        user = services.confirm_email(db.session, token, request.remote_addr)
        if user.is_active:
            sessions.sign_in(user)
            flash(_("邮箱已确认。请完善企业能力信息，以便获得场景推荐。"), "success")
            return redirect(url_for("main.dashboard"))
        flash(_("邮箱已确认。区县或市级工作人员审核通过后即可登录。"), "success")
        return redirect(url_for("auth.login"))
    return render_template("auth/confirm.html", form=form, email=user.email,
                           intro=_("请点击下方按钮，确认此邮箱属于您，完成注册。"))


@bp.route("/email", methods=["GET", "POST"])
@signed_in
@rate_limit(PASSWORD_RESET)
def change_email():
    """Ask to change the account's address: a link goes to the new address."""
    form = EmailChangeForm()
    if form.validate_on_submit():
        try:
            services.request_email_change(db.session, current_user, form.email.data, form.password.data)
        except ValidationFailed as error:
            status = rejected(form, error)
            return render_template("auth/change_email.html", form=form), status
        flash(_("确认链接已发送到新邮箱，请查收邮件；打开链接后新邮箱才会生效。"), "info")
        return redirect(url_for("main.dashboard"))
    return render_template("auth/change_email.html", form=form)


@bp.route("/email/confirm/<token>", methods=["GET", "POST"])
def confirm_email_change(token: str):
    """The link sent to the new address (GET shows a button; the POST applies the change)."""
    try:
        _user, new_email = services.pending_email_change(db.session, token)
    except DomainError as error:
        flash(error.message, "danger")
        return redirect(url_for("main.index"))
    form = ConfirmForm()
    if form.validate_on_submit():
        services.confirm_email_change(db.session, token, request.remote_addr)
        flash(_("邮箱已更换为 %(email)s，请用新邮箱登录。", email=new_email), "success")
        return redirect(url_for("main.dashboard" if current_user.is_authenticated else "auth.login"))
    return render_template("auth/confirm.html", form=form, email=new_email,
                           intro=_("请点击下方按钮，确认把账号邮箱改为此邮箱。"))
