"""Public home page, the signed-in workspace, health check and language switch."""

from __future__ import annotations

import sqlalchemy as sa
from flask import current_app, jsonify, redirect, render_template, request, session, url_for
from flask_login import current_user, login_required

from marketplace.extensions import db
from marketplace.main import bp, services


@bp.route("/")
def index():
    return render_template("main/index.html", counts=services.home_counts(db.session))


@bp.route("/dashboard")
@login_required
def dashboard():
    return render_template("main/dashboard.html", data=services.workspace(db.session, current_user))


@bp.route("/healthz")
def healthz():
    try:
        db.session.execute(sa.text("SELECT 1"))
    except Exception as exc:  # the point is to report, not to raise
        current_app.logger.error("health check failed: %s", exc)
        return jsonify({"status": "error", "database": "unavailable"}), 503
    return jsonify({"status": "ok", "database": "ok"})


@bp.route("/lang/<code>")
def set_language(code: str):
    if code in current_app.config["LANGUAGES"]:
        session["lang"] = code
    target = request.referrer or url_for("main.index")
    host = request.host_url.rstrip("/")
    if not target.startswith(host):
        target = url_for("main.index")
    return redirect(target)
