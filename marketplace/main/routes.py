"""Public home page, the signed-in workspace, health check, language switch and file downloads."""

from __future__ import annotations

import sqlalchemy as sa
from flask import abort, current_app, jsonify, redirect, render_template, request, send_file, session, url_for
from flask_login import current_user

from marketplace import attachments
from marketplace.downloads import content_disposition
from marketplace.extensions import db
from marketplace.main import bp, services
from marketplace.main.panels import panels_for
from marketplace.models import Attachment
from marketplace.permissions import signed_in
from marketplace.redirects import safe_target


@bp.route("/")
def index():
    return render_template("main/index.html", counts=services.home_counts(db.session))


@bp.route("/dashboard")
@signed_in
def dashboard():
    return render_template("main/dashboard.html", data=services.workspace(db.session, current_user),
                           panels=panels_for(db.session, current_user))


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
    """Remember the interface language in the session and go back to the page the link was on (on this site only)."""
    if code in current_app.config["LANGUAGES"]:
        session["lang"] = code
    return redirect(safe_target(request.referrer, url_for("main.index")))


@bp.route("/files/<int:attachment_id>")
def download(attachment_id: int):
    """Serve an attachment to those its purpose's rule allows (404 for everyone else)."""
    attachment = db.session.get(Attachment, attachment_id)
    user = current_user if current_user.is_authenticated else None
    if attachment is None or not attachments.can_download(user, attachment, db.session):
        abort(404)
    inline = attachment.content_type in attachments.IMAGE_TYPES or attachment.content_type == "application/pdf"
    response = send_file(attachments.path_of(attachment), mimetype=attachment.content_type, max_age=0)
    response.headers["Content-Disposition"] = content_disposition(attachment.filename, inline=inline)
    return response
