"""Public home page, the signed-in workspace, health check, language switch and file downloads."""

from __future__ import annotations

from pathlib import Path

from flask import (
    abort,
    current_app,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_login import current_user

from marketplace import attachments, clock, pagecache
from marketplace.downloads import send_attachment
from marketplace.extensions import db
from marketplace.main import bp, services
from marketplace.main.panels import panels_for, todos_for
from marketplace.models import Attachment
from marketplace.pagecache import cached_page
from marketplace.permissions import signed_in
from marketplace.redirects import is_safe_redirect, page_to_return_to


@bp.route("/")
@cached_page
def index():
    lists = services.home_lists(db.session, clock.now())
    pagecache.changes_at(lists["changes_at"])
    return render_template("main/index.html", counts=services.home_counts(db.session), lists=lists)


@bp.route("/dashboard")
@signed_in
def dashboard():
    return render_template("main/dashboard.html", data=services.workspace(db.session, current_user),
                           todos=todos_for(db.session, current_user), panels=panels_for(db.session, current_user))


@bp.route("/favicon.ico")
def favicon():
    """The site icon where browsers look for it first (pages also link it from ``static/``)."""
    icon = Path(current_app.static_folder, "favicon.ico").read_bytes()  # 1 KB: read whole, no open file left
    response = current_app.response_class(icon, mimetype="image/vnd.microsoft.icon")
    response.cache_control.public = True
    response.cache_control.max_age = 86400
    return response


#: Addresses people type for the account pages (the pages live under ``/auth``).
SHORTCUTS = {"/login": "auth.login", "/register": "auth.register"}


@bp.route("/login")
@bp.route("/register")
def shortcut():
    """``/login`` and ``/register`` lead to the account pages (``/login`` keeps a ``next`` on this site)."""
    target = SHORTCUTS[request.path]
    nxt = request.args.get("next")
    values = {"next": nxt} if target == "auth.login" and nxt and is_safe_redirect(nxt) else {}
    return redirect(url_for(target, **values), code=301 if not values else 302)


@bp.route("/lang/<code>")
def set_language(code: str):
    """Remember the interface language in the session and go back to the page the link was on (on this site only)."""
    if code in current_app.config["LANGUAGES"]:
        session["lang"] = code
    return redirect(page_to_return_to(request.referrer, url_for("main.index")))


@bp.route("/files/<int:attachment_id>")
def download(attachment_id: int):
    """Serve an attachment to those its purpose's rule allows (404 for everyone else)."""
    attachment = db.session.get(Attachment, attachment_id)
    user = current_user if current_user.is_authenticated else None
    if attachment is None or not attachments.can_download(user, attachment, db.session):
        abort(404)
    inline = attachment.content_type in attachments.IMAGE_TYPES or attachment.content_type == "application/pdf"
    return send_attachment(attachment, inline=inline)
