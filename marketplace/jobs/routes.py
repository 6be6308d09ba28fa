"""``/admin/jobs``: failed background jobs for city staff, with a requeue button (POST)."""

from __future__ import annotations

import redis
from flask import abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_wtf import FlaskForm

from marketplace import jobs
from marketplace.jobs import bp
from marketplace.jobs.tasks import JOBS
from marketplace.models import Role
from marketplace.permissions import roles_required

#: Jobs city staff may start by hand from the page (the others run on their schedule or on a change).
MANUAL = ("search_repair", "search_reindex", "match_refit", "notifications_scan", "outbox_send", "fail")


class JobActionForm(FlaskForm):
    """A button: only the CSRF token."""


@bp.route("")
@roles_required(Role.CITY_STAFF)
def index():
    runner = jobs.get_runner()
    try:
        failures = runner.failures()
        status = runner.status()
        unavailable = None
    except redis.RedisError as error:
        failures, status, unavailable = [], {"mode": runner.mode}, str(error)
    return render_template("jobs/index.html", failures=failures, status=status, unavailable=unavailable,
                           manual=[JOBS[name] for name in MANUAL if name in JOBS], form=JobActionForm())


@bp.route("/<job_id>/requeue", methods=["POST"])
@roles_required(Role.CITY_STAFF)
def requeue(job_id: str):
    if not JobActionForm().validate_on_submit():
        abort(400)
    jobs.get_runner().requeue(job_id)
    flash(_("任务已重新排队。"), "success")
    return redirect(url_for("jobs.index"))


@bp.route("/run/<name>", methods=["POST"])
@roles_required(Role.CITY_STAFF)
def run(name: str):
    if name not in MANUAL or name not in JOBS:
        abort(404)
    if not JobActionForm().validate_on_submit():
        abort(400)
    if jobs.enqueue(name) is None:
        flash(_("任务队列暂不可用，请稍后再试。"), "danger")
    else:
        flash(_("任务“%(label)s”已排队。", label=JOBS[name].label), "success")
    return redirect(url_for("jobs.index"))
