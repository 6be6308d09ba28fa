"""Legal document views: the public pages, the staff editor and the banner's POST (thin)."""

from __future__ import annotations

import logging

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from marketplace.errors import ValidationFailed, rejected
from marketplace.extensions import db
from marketplace.legal import bp, services
from marketplace.legal.forms import AcceptForm, LegalDocumentForm
from marketplace.models import LegalKind, Role
from marketplace.pagecache import cached_page
from marketplace.permissions import roles_required, signed_in
from marketplace.redirects import page_to_return_to

log = logging.getLogger(__name__)

KINDS = "any(terms, privacy)"


def consent_context() -> dict:
    """Template globals: ``pending_consents()`` — (kind, version) the signed-in user has still to accept."""

    def pending_consents() -> list[tuple[LegalKind, int]]:
        if not current_user.is_authenticated or request.endpoint in ("legal.accept", "static"):
            return []
        try:
            return services.outstanding(db.session, current_user)
        except Exception:  # an error page after a database failure shows no banner rather than failing again
            log.debug("pending consents not available", exc_info=True)
            return []

    return {"pending_consents": pending_consents}


@bp.route(f"/legal/<{KINDS}:kind>")
@cached_page
def document(kind: str):
    """The version in force (or ``?version=n``, an earlier one) of the 用户协议 or 隐私政策."""
    legal_kind = LegalKind(kind)
    current = services.current(db.session, legal_kind)
    shown = current
    requested = request.args.get("version", "")
    if requested:
        if not requested.isdigit():
            abort(404)
        shown = services.version_of(db.session, legal_kind, int(requested))
        if shown is None:
            abort(404)
    return render_template("legal/document.html", document=shown, current=current, kind=legal_kind,
                           history=services.history(db.session, legal_kind))


@bp.route("/legal/accept", methods=["POST"])
@signed_in
def accept():
    """The banner's 同意: consent to the versions in force the user has not accepted yet."""
    form = AcceptForm()
    if form.validate_on_submit():
        services.accept_outstanding(db.session, current_user, request.remote_addr)
        flash(_("感谢您的确认。"), "success")
    return redirect(page_to_return_to(request.form.get("next"), url_for("main.dashboard")))


@bp.route("/admin/legal")
@roles_required(Role.CITY_STAFF)
def manage():
    """Both documents with their version in force, for the city staff to pick one to edit."""
    documents = [(kind, services.current(db.session, kind)) for kind in LegalKind]
    return render_template("legal/manage.html", documents=documents)


@bp.route(f"/admin/legal/<{KINDS}:kind>", methods=["GET", "POST"])
@roles_required(Role.CITY_STAFF)
def edit(kind: str):
    """Edit a document: saving publishes the next version (earlier versions are kept)."""
    legal_kind = LegalKind(kind)
    current = services.current(db.session, legal_kind)
    form = LegalDocumentForm(data={"title": current.title, "body": current.body} if request.method == "GET" else None)
    context = {"kind": legal_kind, "current": current, "history": services.history(db.session, legal_kind)}
    if form.validate_on_submit():
        try:
            document = services.publish(db.session, current_user, legal_kind, form.title.data, form.body.data,
                                        request.remote_addr)
        except ValidationFailed as error:
            status = rejected(form, error)
            return render_template("legal/edit.html", form=form, **context), status
        flash(_("已发布%(title)s第 %(n)d 版。", title=legal_kind.label, n=document.version), "success")
        return redirect(url_for("legal.document", kind=kind))
    return render_template("legal/edit.html", form=form, **context)
