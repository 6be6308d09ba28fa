"""Admin views: approvals for district and city staff; users and organisations for city staff."""

from __future__ import annotations

import sqlalchemy as sa
from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from marketplace.admin import bp, services
from marketplace.admin.forms import DecisionForm, OrganisationForm, UserForm
from marketplace.errors import ValidationFailed, rejected
from marketplace.extensions import db
from marketplace.formfields import options
from marketplace.main.services import pending_approvals_query
from marketplace.models import District, Organisation, OrganisationKind, Role, User
from marketplace.permissions import roles_required
from marketplace.queryargs import page_number

STAFF = (Role.DISTRICT_STAFF, Role.CITY_STAFF)


@bp.route("/approvals")
@roles_required(*STAFF)
def approvals():
    pending = db.session.execute(pending_approvals_query(current_user)).scalars().all()
    return render_template("admin/approvals.html", pending=pending, form=DecisionForm())


@bp.route("/approvals/<int:user_id>/<decision>", methods=["POST"])
@roles_required(*STAFF)
def decide(user_id: int, decision: str):
    if decision not in ("approve", "reject"):
        abort(404)
    form = DecisionForm()
    if not form.validate_on_submit():
        abort(400)
    user = services.decide_registration(db.session, current_user, user_id, decision == "approve",
                                        form.reason.data, request.remote_addr)
    flash(_("已审核通过 %(name)s 的注册申请。", name=user.name) if decision == "approve"
          else _("已退回 %(name)s 的注册申请。", name=user.name), "success")
    return redirect(url_for("admin.approvals"))


@bp.route("/users")
@roles_required(Role.CITY_STAFF)
def users():
    q = (request.args.get("q") or "").strip()
    role = request.args.get("role") or ""
    query = sa.select(User).outerjoin(User.organisation).order_by(User.id.desc())
    if q:
        like = f"%{q}%"
        query = query.where(sa.or_(User.name.ilike(like), User.email.ilike(like), Organisation.name.ilike(like)))
    if role in {r.value for r in Role}:
        query = query.where(User.role == Role(role))
    page = db.paginate(query, page=page_number(request.args), per_page=30, error_out=False)
    return render_template("admin/users.html", page=page, q=q, role=role, roles=Role)


def _organisation_choices() -> list[tuple[int, str]]:
    rows = db.session.execute(sa.select(Organisation.id, Organisation.name).order_by(Organisation.name)).all()
    return options([(0, _("（无）"))] + [(r.id, r.name) for r in rows])


@bp.route("/users/new", methods=["GET", "POST"])
@bp.route("/users/<int:user_id>", methods=["GET", "POST"])
@roles_required(Role.CITY_STAFF)
def edit_user(user_id: int | None = None):
    user = db.get_or_404(User, user_id) if user_id else None
    form = UserForm(obj=user)
    form.organisation_id.choices = _organisation_choices()
    if request.method == "GET" and user is not None:
        form.role.data = user.role.value
        form.organisation_id.data = user.organisation_id or 0
    if form.validate_on_submit():
        try:
            services.save_user(db.session, current_user, user, form.data, request.remote_addr)
        except ValidationFailed as error:
            status = rejected(form, error)
            return render_template("admin/user_form.html", form=form, user=user), status
        flash(_("用户已保存。"), "success")
        return redirect(url_for("admin.users"))
    return render_template("admin/user_form.html", form=form, user=user)


@bp.route("/organisations")
@roles_required(Role.CITY_STAFF)
def organisations():
    q = (request.args.get("q") or "").strip()
    kind = request.args.get("kind") or ""
    query = sa.select(Organisation).order_by(Organisation.id.desc())
    if q:
        query = query.where(sa.or_(Organisation.name.ilike(f"%{q}%"), Organisation.uscc.ilike(f"%{q}%")))
    if kind in {k.value for k in OrganisationKind}:
        query = query.where(Organisation.kind == OrganisationKind(kind))
    page = db.paginate(query, page=page_number(request.args), per_page=30, error_out=False)
    return render_template("admin/organisations.html", page=page, q=q, kind=kind, kinds=OrganisationKind)


@bp.route("/organisations/new", methods=["GET", "POST"])
@bp.route("/organisations/<int:organisation_id>", methods=["GET", "POST"])
@roles_required(Role.CITY_STAFF)
def edit_organisation(organisation_id: int | None = None):
    organisation = db.get_or_404(Organisation, organisation_id) if organisation_id else None
    form = OrganisationForm(obj=organisation)
    districts = db.session.execute(sa.select(District).order_by(District.sort_order)).scalars()
    form.district.choices = options([("", _("（无）"))] + [(d.code, d.name) for d in districts])
    if request.method == "GET" and organisation is not None:
        form.kind.data = organisation.kind.value
        form.district.data = organisation.district.code if organisation.district else ""
    if form.validate_on_submit():
        try:
            services.save_organisation(db.session, current_user, organisation, form.data, request.remote_addr)
        except ValidationFailed as error:
            status = rejected(form, error)
            return render_template("admin/organisation_form.html", form=form, organisation=organisation), status
        flash(_("单位已保存。"), "success")
        return redirect(url_for("admin.organisations"))
    return render_template("admin/organisation_form.html", form=form, organisation=organisation)
