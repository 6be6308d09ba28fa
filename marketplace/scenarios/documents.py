"""Scenario documents (需求说明书, drawings, interface specs …): uploaded by the owner, internal until published.

A document is *internal* when uploaded: the owner organisation and the staff who review the scenario
see and download it. The owner publishes it (公开) or takes it back (设为内部); a published document
of a public scenario (published and later, the detail page's rule) is listed on the scenario page, its
print view, the API and open data, and served to anyone. Who may upload and toggle follows the edit
rule (:func:`marketplace.scenarios.services.can_edit`). Every change is in the audit log.
"""

from __future__ import annotations

from typing import Any

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Session
from werkzeug.datastructures import FileStorage

from marketplace import attachments, audit
from marketplace.errors import NotFound, PermissionDenied, ValidationFailed
from marketplace.models import AttachmentPurpose, Scenario, ScenarioDocument, User
from marketplace.scenarios import policy, services

#: File kinds a scenario document may be.
ALLOWED = {"pdf", "docx", "xlsx", "png", "jpg", "jpeg"}
#: Most documents one scenario may carry.
MAX_DOCUMENTS = 20

#: MIME type → the kind people read in the list.
KIND_LABELS = {
    "application/pdf": "PDF",
    attachments.ALLOWED["docx"]: "Word",
    attachments.ALLOWED["xlsx"]: "Excel",
    "image/png": _l("图片"),
    "image/jpeg": _l("图片"),
}


def kind_label(content_type: str) -> str:
    """``PDF`` / ``Word`` / ``Excel`` / ``图片`` for a stored MIME type (else the type itself)."""
    return str(KIND_LABELS.get(content_type, content_type))


def human_size(size: int) -> str:
    """``512 B``, ``12 KB``, ``1.2 MB`` (binary units, one decimal from a megabyte on)."""
    if size < 1024:
        return f"{size} B"
    if size < 1024 * 1024:
        return f"{max(1, round(size / 1024))} KB"
    return f"{size / (1024 * 1024):.1f} MB"


def can_manage(user: User | None, scenario: Scenario) -> bool:
    """Upload documents and publish or withdraw them: whoever may edit the scenario (its owner organisation)."""
    return services.can_edit(user, scenario)


def public_documents(scenario: Scenario) -> list[ScenarioDocument]:
    """The documents everyone sees: the published ones of a public scenario, or of one withdrawn after
    publication (its public trace: the page and the OCDS releases that list them)."""
    if not (scenario.is_public or policy.was_public_withdrawn(scenario)):
        return []
    return [doc for doc in scenario.documents if doc.public]


def visible_documents(user: User | None, scenario: Scenario) -> list[ScenarioDocument]:
    """All documents for the owner and reviewers, the public ones for everyone else."""
    return list(scenario.documents) if policy.sees_internal_documents(user, scenario) else public_documents(scenario)


def can_download(user: User | None, document: ScenarioDocument) -> bool:
    """Published documents of a public scenario for anyone; internal ones for owner and reviewers."""
    return policy.can_download_document(user, document)


def describe(document: ScenarioDocument) -> dict[str, Any]:
    """What the lists show of a document: name, kind, size (and the raw values)."""
    attachment = document.attachment
    return {"id": document.id, "filename": attachment.filename, "kind": kind_label(attachment.content_type),
            "size": human_size(attachment.size), "bytes": attachment.size,
            "content_type": attachment.content_type, "public": document.public}


def _audit_row(document: ScenarioDocument) -> dict[str, Any]:
    attachment = document.attachment
    return {"document_id": document.id, "filename": attachment.filename, "sha256": attachment.sha256,
            "public": document.public}


def document_of(scenario: Scenario, document_id: int) -> ScenarioDocument:
    """The scenario's document by id, or :class:`NotFound`."""
    for document in scenario.documents:
        if document.id == document_id:
            return document
    raise NotFound(_("附件不存在。"))


def add(session: Session, actor: User, scenario: Scenario, upload: FileStorage | None, public: bool = False,
        ip: str | None = None) -> ScenarioDocument:
    """Store an uploaded document on the scenario (internal unless *public*)."""
    if not can_manage(actor, scenario):
        raise PermissionDenied(_("只有业主单位可以管理场景附件。"))
    if upload is None or not upload.filename:
        message = _("请选择要上传的文件。")
        raise ValidationFailed(message, {"file": [message]})
    if len(scenario.documents) >= MAX_DOCUMENTS:
        message = _("每个场景最多 %(n)d 个附件，请先删除不需要的附件。", n=MAX_DOCUMENTS)
        raise ValidationFailed(message, {"file": [message]})
    attachment = attachments.store(session, upload, AttachmentPurpose.SCENARIO_DOCUMENT, actor, field="file",
                                   allowed=ALLOWED)
    document = ScenarioDocument(scenario=scenario, attachment=attachment, public=bool(public))
    session.add(document)
    session.flush()
    audit.record(session, actor=actor, action="scenario.document_add", object_type="scenario",
                 object_id=scenario.id, after=_audit_row(document), ip=ip)
    return document


def set_public(session: Session, actor: User, scenario: Scenario, document_id: int, public: bool,
               ip: str | None = None) -> ScenarioDocument:
    """Publish a document (公开) or make it internal again; recorded in the audit log."""
    if not can_manage(actor, scenario):
        raise PermissionDenied(_("只有业主单位可以管理场景附件。"))
    document = document_of(scenario, document_id)
    if document.public == public:
        return document
    before = _audit_row(document)
    document.public = public
    session.flush()
    audit.record(session, actor=actor, action="scenario.document_publish" if public else "scenario.document_unpublish",
                 object_type="scenario", object_id=scenario.id, before=before, after=_audit_row(document), ip=ip)
    return document


def remove(session: Session, actor: User, scenario: Scenario, document_id: int, ip: str | None = None) -> None:
    """Delete a document and, once the request commits, its file."""
    if not can_manage(actor, scenario):
        raise PermissionDenied(_("只有业主单位可以管理场景附件。"))
    document = document_of(scenario, document_id)
    before = _audit_row(document)
    attachment = document.attachment
    scenario.documents.remove(document)
    session.delete(attachment)
    session.flush()
    attachments.remove_on_commit(session, [attachment.stored_name])
    audit.record(session, actor=actor, action="scenario.document_remove", object_type="scenario",
                 object_id=scenario.id, before=before, ip=ip)
