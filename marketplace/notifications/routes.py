"""Notification centre, e-mail settings, follows and saved searches (thin views; the request's unit
of work commits). Reading the centre never writes: opening a notification is a POST that marks it
read and redirects to what it points at."""

from __future__ import annotations

from typing import Any

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from marketplace.errors import ValidationFailed, rejected
from marketplace.extensions import db
from marketplace.models import Role
from marketplace.notifications import bp, services
from marketplace.notifications.forms import ActionForm, SavedSearchForm, SettingsForm
from marketplace.permissions import roles_required, signed_in
from marketplace.queryargs import page_number
from marketplace.redirects import safe_target

PER_PAGE = 20


@bp.app_context_processor
def notification_helpers() -> dict[str, Any]:
    """Template helpers: the navigation's unread count and the follow button's state (no query unless called)."""
    def unread_notifications() -> int | None:
        return services.unread_count_for_navigation(db.session, current_user)

    def is_following(scenario_id: int) -> bool:
        return services.is_following(db.session, current_user, scenario_id)

    return {"unread_notifications": unread_notifications, "is_following": is_following,
            "notification_kind_label": services.kind_label}


def _back(default: str) -> str:
    """The form's ``next`` target when it is on this site, else ``default``."""
    return safe_target(request.form.get("next"), default)


# ------------------------------------------------------------------ the centre

@bp.route("/notifications")
@signed_in
def index():
    unread_only = request.args.get("filter") == "unread"
    page = db.paginate(services.inbox_query(current_user, unread_only), page=page_number(request.args),
                       per_page=PER_PAGE, max_per_page=PER_PAGE, error_out=False)
    return render_template("notifications/index.html", page=page, unread_only=unread_only,
                           unread=services.unread_count(db.session, current_user), form=ActionForm(),
                           mail_note=services.mail_note(current_user))


@bp.route("/notifications/<int:notification_id>/open", methods=["POST"], endpoint="open")
@signed_in
def open_notification(notification_id: int):
    """Mark the notification read and go to what it points at (a local path only), else back to the centre."""
    target = services.open_notification(db.session, current_user, notification_id)
    return redirect(target or url_for("notifications.index"), 303)


@bp.route("/notifications/<int:notification_id>/read", methods=["POST"])
@signed_in
def mark_read(notification_id: int):
    services.mark_read(db.session, current_user, notification_id)
    return redirect(_back(url_for("notifications.index")))


@bp.route("/notifications/read-all", methods=["POST"])
@signed_in
def mark_all_read():
    count = services.mark_all_read(db.session, current_user)
    flash(_("已将 %(n)d 条通知标为已读。", n=count) if count else _("没有未读通知。"), "success")
    return redirect(_back(url_for("notifications.index")))


# ------------------------------------------------------------------ settings

@bp.route("/notifications/settings", methods=["GET", "POST"])
@signed_in
def settings():
    status = 200
    form = SettingsForm() if request.method == "POST" else SettingsForm(mode=current_user.notification_mode)
    if form.validate_on_submit():
        try:
            services.set_mode(db.session, current_user, form.mode.data)
        except ValidationFailed as error:
            status = rejected(form, error)
        else:
            flash(_("通知设置已保存。"), "success")
            return redirect(url_for("notifications.settings"))
    searches = services.saved_searches(db.session, current_user) if current_user.role == Role.ENTERPRISE else []
    return render_template(
        "notifications/settings.html", form=form, action_form=ActionForm(), follows=services.followed(db.session, current_user),
        searches=[(s, services.describe_query(db.session, s.query or {})) for s in searches],
        list_url_args=services.list_url_args, max_searches=services.MAX_SAVED_SEARCHES), status


# ------------------------------------------------------------------ follows

@bp.route("/notifications/follows/<int:scenario_id>", methods=["POST"])
@signed_in
def follow(scenario_id: int):
    created = services.follow(db.session, current_user, scenario_id)
    flash(_("已关注。截止前、场景修改或有新答疑时将通知您。") if created else _("您已关注此场景。"), "success")
    return redirect(_back(url_for("scenarios.detail", scenario_id=scenario_id)))


@bp.route("/notifications/follows/<int:scenario_id>/delete", methods=["POST"])
@signed_in
def unfollow(scenario_id: int):
    removed = services.unfollow(db.session, current_user, scenario_id)
    flash(_("已取消关注。") if removed else _("您没有关注此场景。"), "success" if removed else "info")
    return redirect(_back(url_for("scenarios.detail", scenario_id=scenario_id)))


# ------------------------------------------------------------------ saved searches

def _list_args_from_form() -> dict[str, list[str]]:
    """The list page's arguments as posted with the save form (to return to the same list)."""
    keys = (*services.SEARCH_KEYS, "status", "sort")
    return {k: request.form.getlist(k) for k in keys if any(request.form.getlist(k))}


@bp.route("/notifications/searches", methods=["POST"])
@roles_required(Role.ENTERPRISE)
def save_search():
    form = SavedSearchForm()
    search = services.save_search(db.session, current_user, form.name.data, request.form)
    flash(_("已保存订阅“%(name)s”。有新发布的场景符合条件时将通知您，可在“通知设置”中管理订阅。", name=search.name),
          "success")
    return redirect(url_for("scenarios.index", **_list_args_from_form()))


@bp.route("/notifications/searches/<int:search_id>/rename", methods=["POST"])
@signed_in
def rename_search(search_id: int):
    form = SavedSearchForm()
    services.rename_search(db.session, current_user, search_id, form.name.data)
    flash(_("订阅已重命名。"), "success")
    return redirect(url_for("notifications.settings", _anchor="searches"))


@bp.route("/notifications/searches/<int:search_id>/delete", methods=["POST"])
@signed_in
def delete_search(search_id: int):
    services.delete_search(db.session, current_user, search_id)
    flash(_("订阅已删除。"), "success")
    return redirect(url_for("notifications.settings", _anchor="searches"))
