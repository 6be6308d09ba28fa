"""The firm's 揭榜 application: save a draft, submit, revise, withdraw, re-confirm after a change.

The deadline is enforced to the second against the time the request *arrived*
(``clock.request_time()``: stamped at WSGI entry, or by the trusted proxy's ``X-Request-Start``),
so a firm that sent its submission before the deadline is not refused because the servers were
busy at the last second. The check runs *inside* the writing transaction: the scenario row is
read (the view's first read on a ``POST``, :func:`open_for_write`) or re-read under a shared row lock
(so an owner's concurrent edit of the deadline waits), the write
is made and audited, and the deadline is checked once more as the very last step before the
request commits. A write that arrived at or after the deadline raises :class:`DeadlinePassed`
and the request rolls everything back (files written to disk by the request are removed too);
``submitted_at`` is the arrival time. Reads (sealed) live in
:mod:`marketplace.applications.services`.

Services flush; the request's unit of work commits once.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

import sqlalchemy as sa
from flask import current_app, has_request_context, url_for
from flask_babel import gettext as _
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from werkzeug.datastructures import FileStorage

from marketplace import attachments, audit, clock
from marketplace.applications import policy
from marketplace.applications.services import deadline_text, fingerprint, is_firm_user, live_application
from marketplace.errors import InvalidTransition, NotFound, PermissionDenied, ValidationFailed, joined
from marketplace.models import (
    Application,
    ApplicationDocument,
    ApplicationStatus,
    Attachment,
    AttachmentPurpose,
    Role,
    Scenario,
    ScenarioStatus,
    User,
)
from marketplace.notifications.services import notify, organisation_users
from marketplace.scenarios import policy as scenario_policy

#: File kinds accepted as application documents.
DOCUMENT_TYPES = {"pdf", "docx", "xlsx"}
#: Most documents one application may carry.
MAX_DOCUMENTS = 10
#: Most team members / milestones.
MAX_TEAM = 50
MAX_MILESTONES = 60
#: Largest quoted price accepted (万元).
MAX_PRICE_WAN = Decimal("10000000")
#: Statuses the firm may still edit (before the deadline).
EDITABLE = (ApplicationStatus.DRAFT, ApplicationStatus.SUBMITTED)
#: Separators accepted between the parts of a team or milestone line.
_SEPARATORS = re.compile(r"\s*[｜|]\s*")
_MONTH = re.compile(r"^第?\s*(\d{1,3})\s*(?:个)?\s*月?\s*(?:末|底)?$")


class DeadlinePassed(InvalidTransition):
    """A write arrived at or after the scenario's deadline (nothing was changed)."""


def _deadline_error(scenario: Scenario, verb: str) -> DeadlinePassed:
    return DeadlinePassed(_("已超过揭榜截止时间（%(deadline)s），%(verb)s未被接受。",
                            deadline=deadline_text(scenario), verb=verb))


# ------------------------------------------------------------------ input rules

def parse_team(text: str | None) -> list[dict[str, str]]:
    """Team members, one per line: ``姓名｜角色｜专长`` (``|`` also accepted; specialty optional)."""
    members, errors = [], []
    for number, line in enumerate((text or "").splitlines(), start=1):
        line = line.strip()
        if not line:
            continue
        parts = _SEPARATORS.split(line)
        if len(parts) < 2 or len(parts) > 3 or not parts[0] or not parts[1]:
            errors.append(_("第 %(n)d 行格式不对：请按“姓名｜角色｜专长”填写，每行一人。", n=number))
            continue
        name, role = parts[0], parts[1]
        specialty = parts[2] if len(parts) == 3 else ""
        if len(name) > 64 or len(role) > 64 or len(specialty) > 200:
            errors.append(_("第 %(n)d 行内容过长（姓名、角色不超过 64 字，专长不超过 200 字）。", n=number))
            continue
        members.append({"name": name, "role": role, "specialty": specialty})
    if len(members) > MAX_TEAM:
        errors.append(_("团队成员最多 %(n)d 人。", n=MAX_TEAM))
    if errors:
        raise ValidationFailed("；".join(errors), {"team": errors})
    return members


def parse_milestones(text: str | None, max_month: int | None = None) -> list[dict[str, Any]]:
    """Milestones, one per line: ``月份｜里程碑`` (or ``里程碑｜月份``), sorted by month."""
    limit = max_month or 120
    items, errors = [], []
    for number, line in enumerate((text or "").splitlines(), start=1):
        line = line.strip()
        if not line:
            continue
        parts = _SEPARATORS.split(line)
        matches = [(i, _MONTH.match(p)) for i, p in enumerate(parts)] if len(parts) == 2 else []
        months = [(i, m) for i, m in matches if m]
        if len(parts) != 2 or not months:
            errors.append(_("第 %(n)d 行格式不对：请按“月份｜里程碑”填写，例如“3｜完成系统上线”。", n=number))
            continue
        index, match = months[0]
        month = int(match.group(1))
        title = parts[1 - index].strip()
        if not title or len(title) > 200:
            errors.append(_("第 %(n)d 行：请填写里程碑内容（不超过 200 字）。", n=number))
            continue
        if not 1 <= month <= limit:
            errors.append(_("第 %(n)d 行：月份应在 1–%(max)d 之间（场景建设周期为 %(max)d 个月）。",
                            n=number, max=limit))
            continue
        items.append({"title": title, "month": month})
    if len(items) > MAX_MILESTONES:
        errors.append(_("里程碑最多 %(n)d 条。", n=MAX_MILESTONES))
    if errors:
        raise ValidationFailed("；".join(errors), {"milestones": errors})
    return sorted(items, key=lambda m: m["month"])


def parse_price(value: Any) -> Decimal | None:
    """A quoted price in 万元: exact decimal, more than 0, at most two decimals."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    text = str(value).strip().replace(",", "").replace("，", "").removesuffix("万元").removesuffix("万").strip()
    message = _("请填写有效的报价金额（万元），例如 120.50。")
    try:
        price = Decimal(text)
    except InvalidOperation:
        raise ValidationFailed(message, {"price_wan": [message]})
    if not price.is_finite():
        raise ValidationFailed(message, {"price_wan": [message]})
    if price <= 0:
        message = _("报价必须大于 0 万元。")
        raise ValidationFailed(message, {"price_wan": [message]})
    if price > MAX_PRICE_WAN:
        message = _("报价超出可接受范围（不超过 %(max)s 万元）。", max=f"{MAX_PRICE_WAN:,}")
        raise ValidationFailed(message, {"price_wan": [message]})
    if price != price.quantize(Decimal("0.01")):
        message = _("报价最多保留两位小数（万元）。")
        raise ValidationFailed(message, {"price_wan": [message]})
    return price.quantize(Decimal("0.01"))


@dataclass
class CleanedApplication:
    """Validated form content of an application."""

    summary: str = ""
    approach: str = ""
    team: list[dict[str, str]] = field(default_factory=list)
    price_wan: Decimal | None = None
    plan: str = ""
    milestones: list[dict[str, Any]] = field(default_factory=list)
    declares_meets_requirements: bool = False
    declares_no_conflict: bool = False


def clean(data: dict[str, Any], scenario: Scenario, complete: bool) -> CleanedApplication:
    """Check the content; formats always, completeness and declarations when submitting.

    Collects every field's problems at once (``ValidationFailed.field_errors``).
    """
    errors: dict[str, list[str]] = {}
    cleaned = CleanedApplication(
        summary=(data.get("summary") or "").strip(),
        approach=(data.get("approach") or "").strip(),
        plan=(data.get("plan") or "").strip(),
        declares_meets_requirements=bool(data.get("declares_meets_requirements")),
        declares_no_conflict=bool(data.get("declares_no_conflict")),
    )
    for name, parse in (("team", lambda: parse_team(data.get("team"))),
                        ("milestones", lambda: parse_milestones(data.get("milestones"), scenario.delivery_months)),
                        ("price_wan", lambda: parse_price(data.get("price_wan")))):
        try:
            setattr(cleaned, name, parse())
        except ValidationFailed as error:
            for key, messages in error.field_errors.items():
                errors.setdefault(key, []).extend(messages)
    if complete:
        def need(ok: bool, name: str, message: str) -> None:
            if not ok and name not in errors:
                errors[name] = [message]

        need(len(cleaned.summary) >= 10, "summary", _("请填写方案摘要（至少 10 个字）。"))
        need(len(cleaned.approach) >= 10, "approach", _("请填写技术方案（至少 10 个字）。"))
        need(bool(cleaned.team), "team", _("请至少填写一名团队成员（每行：姓名｜角色｜专长）。"))
        need(cleaned.price_wan is not None, "price_wan", _("请填写报价（万元）。"))
        need(len(cleaned.plan) >= 5, "plan", _("请填写实施计划（至少 5 个字）。"))
        need(bool(cleaned.milestones), "milestones", _("请至少填写一个里程碑（每行：月份｜里程碑）。"))
        need(cleaned.declares_meets_requirements, "declares_meets_requirements",
             _("提交前请确认方案满足场景的各项需求。"))
        need(cleaned.declares_no_conflict, "declares_no_conflict", _("提交前请声明与业主单位不存在利益冲突。"))
    if errors:
        summary = _("请修改标出的内容后再保存：%(items)s", items=joined(errors))
        raise ValidationFailed(summary, errors)
    return cleaned



def _snapshot(application: Application) -> dict[str, Any]:
    """What the audit log records of an application: state and a content digest, no sealed content."""
    return {"status": application.status.value, "scenario": application.scenario_id,
            "organisation": application.organisation_id, "confirmed_revision": application.confirmed_revision,
            "sealed_until": application.sealed_until.isoformat() if application.sealed_until else None,
            "submitted_at": application.submitted_at.isoformat() if application.submitted_at else None,
            "documents": len(application.documents), "content_sha256": fingerprint(application)}


def _lock_scenario(session: Session, scenario: Scenario) -> None:
    """Re-read the scenario under a shared row lock (PostgreSQL ``FOR SHARE``; a no-op on SQLite).

    The deadline, status and revision used by the write are then the committed ones, and an
    owner's concurrent edit (which bumps the revision or moves the deadline) waits for us.
    """
    session.refresh(scenario, attribute_names=["status", "deadline", "revision", "delivery_months"],
                    with_for_update={"read": True})


@dataclass
class WriteTarget:
    """A scenario and the firm's live application, read under the locks of a write (:func:`open_for_write`)."""

    scenario: Scenario | None
    application: Application | None


def open_for_write(session: Session, actor: User, scenario_id: int) -> WriteTarget:
    """First reads of a 揭榜 ``POST``: the scenario under ``FOR SHARE``, then the firm's live application
    ``FOR UPDATE`` — the locks :func:`save` takes, in the same order, taken by the reads the view needs
    anyway, so that :func:`save` (given this target) reads neither row a second time. The scenario is
    ``None`` when it does not exist (the caller still checks who may see it)."""
    scenario = session.get(Scenario, scenario_id, with_for_update={"read": True}, populate_existing=True)
    application = live_application(session, actor.organisation_id, scenario_id, lock=True) if scenario else None
    return WriteTarget(scenario, application)


def _require_open(scenario: Scenario, verb: str) -> None:
    """Refuse unless the scenario took applications when the request arrived (:func:`clock.request_time`)."""
    if scenario.deadline is not None and clock.request_time() >= scenario.deadline:
        raise _deadline_error(scenario, verb)
    if scenario.status != ScenarioStatus.PUBLISHED or scenario.deadline is None:
        raise InvalidTransition(_("该场景当前不在征集期（可能正在重新审核或已撤回），暂不接受揭榜申请的%(verb)s。",
                                  verb=verb))


def _final_deadline_check(scenario: Scenario, verb: str) -> None:
    """The last step of every write, after all locks are held: check the (committed) deadline once more
    against the request's arrival time — a deadline moved meanwhile counts, queueing in a busy server does not."""
    if clock.request_time() >= scenario.deadline:
        raise _deadline_error(scenario, verb)


def _require_firm(actor: User) -> None:
    if not is_firm_user(actor):
        raise PermissionDenied(_("只有已注册软件企业的用户可以揭榜。"))


def _require_applicant(actor: User, application: Application) -> None:
    if not policy.is_applicant(actor, application):
        raise NotFound(_("找不到该揭榜申请。"))


def _discard(stored: Sequence[Attachment]) -> None:
    attachments.discard_bytes(attachment.stored_name for attachment in stored)  # the rows are rolled back anyway


def _path(endpoint: str, **values: Any) -> str:
    """A site-relative URL, also outside a request (hooks run from services and the CLI)."""
    if has_request_context():
        return url_for(endpoint, **values)
    return current_app.url_map.bind("localhost").build(endpoint, values)


def _firm_users(session: Session, application: Application) -> list[User]:
    return organisation_users(session, application.organisation_id, Role.ENTERPRISE)


#: save() event → audit action.
AUDIT_ACTIONS = {"draft_saved": "application.save_draft", "submitted": "application.submit",
                 "revised": "application.revise"}


@dataclass
class SaveResult:
    """What :func:`save` did: ``event`` is ``draft_saved``, ``submitted`` or ``revised``."""

    application: Application
    event: str
    created: bool
    #: Stored names of the removed documents' files (deleted from disk when the transaction commits).
    removed_files: list[str] = field(default_factory=list)


def save(session: Session, actor: User, scenario: Scenario, data: dict[str, Any],
         uploads: Sequence[FileStorage] = (), *, submit: bool = False,
         remove_document_ids: Iterable[int] = (), ip: str | None = None,
         locked: WriteTarget | None = None) -> SaveResult:
    """Create or edit the actor's firm's live application for a scenario.

    ``submit=False`` saves a draft (incomplete content allowed, formats checked). ``submit=True``
    submits a draft; a submitted application is *revised* by any save and stays submitted (its
    content must stay complete). Either way the firm confirms the scenario's current revision.
    Refused at or after the deadline with nothing changed; files written by this call are removed.
    The files of removed documents are deleted from disk when the transaction commits.
    *locked*: the :func:`open_for_write` of this scenario earlier in the same transaction (its rows are
    locked and current already: they are not read again).
    """
    _require_firm(actor)
    if not scenario_policy.can_view(actor, scenario):
        raise NotFound(_("找不到该场景。"))
    stored: list[Attachment] = []
    try:
        if locked is not None and locked.scenario is scenario:
            existing = locked.application
        else:
            _lock_scenario(session, scenario)
            existing = live_application(session, actor.organisation_id, scenario.id, lock=True)
        revising = existing is not None and existing.status == ApplicationStatus.SUBMITTED
        verb = _("修改") if revising else (_("提交") if submit else _("保存"))
        _require_open(scenario, verb)
        if existing is not None and existing.status not in EDITABLE:
            raise InvalidTransition(_("该申请已进入评审（%(status)s），不能再修改。", status=existing.status.label))
        cleaned = clean(data, scenario, complete=submit or revising)

        created = existing is None
        # A new application starts with an empty document list (no lazy load of it after the insert).
        application = existing or Application(scenario=scenario, organisation_id=actor.organisation_id,
                                              created_by=actor, status=ApplicationStatus.DRAFT,
                                              confirmed_revision=scenario.revision, documents=[])
        before = None if created else _snapshot(application)
        for name in ("summary", "approach", "team", "price_wan", "plan", "milestones",
                     "declares_meets_requirements", "declares_no_conflict"):
            setattr(application, name, getattr(cleaned, name))

        removed_files = _remove_documents(session, application, remove_document_ids)
        uploads = [u for u in uploads if u is not None and u.filename]
        if len(application.documents) + len(uploads) > MAX_DOCUMENTS:
            message = _("每份申请最多 %(n)d 个附件。", n=MAX_DOCUMENTS)
            raise ValidationFailed(message, {"documents": [message]})
        for upload in uploads:
            attachment = attachments.store(session, upload, AttachmentPurpose.APPLICATION_DOCUMENT, actor,
                                           field="documents", allowed=DOCUMENT_TYPES)
            stored.append(attachment)
            application.documents.append(ApplicationDocument(attachment=attachment))

        if submit or revising:
            # Declarations are made against the scenario as it reads now, and under its deadline.
            application.confirmed_revision = scenario.revision
            _promise_seal(application, scenario)
        event = "revised" if revising else ("submitted" if submit else "draft_saved")
        if event == "submitted":
            application.status = ApplicationStatus.SUBMITTED
            application.submitted_at = clock.request_time()
        if created:
            session.add(application)
        _flush_one_live(session)
        if event in ("submitted", "revised"):
            _notify_receipt(session, application, event)
        after = _snapshot(application)
        if removed_files:
            after["removed_documents"] = len(removed_files)
        # The audit event is chained at the start of the commit (defer): the chain's lock is then held
        # only for the head read, the insert and the commit, so concurrent submitters queue briefly.
        audit.record(session, actor=actor, action=AUDIT_ACTIONS[event], object_type="application",
                     object_id=application.id, before=before, after=after, ip=ip, defer=True)
        _final_deadline_check(scenario, verb)
        attachments.remove_on_commit(session, removed_files)
        return SaveResult(application, event, created, removed_files)
    except BaseException:
        _discard(stored)
        raise


def stage_documents(session: Session, actor: User, scenario: Scenario, uploads: Sequence[FileStorage],
                    ip: str | None = None) -> tuple[Application, int] | None:
    """Keep the files chosen on a refused 揭榜 form: stage them on the firm's draft (created if needed).

    Called after the refused save was rolled back; the view keeps this write (``unit_of_work.keep``).
    Only drafts stage files (a submitted application changes only by a deliberate revision); files that
    are themselves refused (type, size, the 10-file limit) are left out. Returns the draft and how many
    files were staged, or None when nothing could be staged (not open, not a draft, no acceptable file).
    """
    uploads = [u for u in uploads if u is not None and u.filename]
    if not uploads or not is_firm_user(actor) or not scenario.is_open(clock.request_time()):
        return None
    stored: list[Attachment] = []
    try:
        _lock_scenario(session, scenario)
        existing = live_application(session, actor.organisation_id, scenario.id, lock=True)
        if existing is not None and existing.status != ApplicationStatus.DRAFT:
            return None
        application = existing or Application(scenario=scenario, organisation_id=actor.organisation_id,
                                              created_by=actor, status=ApplicationStatus.DRAFT,
                                              confirmed_revision=scenario.revision)
        for upload in uploads:
            if len(application.documents) >= MAX_DOCUMENTS:
                break
            upload.stream.seek(0)
            try:
                attachment = attachments.store(session, upload, AttachmentPurpose.APPLICATION_DOCUMENT, actor,
                                               field="documents", allowed=DOCUMENT_TYPES)
            except ValidationFailed:
                continue  # this file itself is refused; the form says why
            stored.append(attachment)
            application.documents.append(ApplicationDocument(attachment=attachment))
        if not stored:
            return None
        if existing is None:
            session.add(application)
        _flush_one_live(session)
        audit.record(session, actor=actor, action="application.stage_documents", object_type="application",
                     object_id=application.id, after={**_snapshot(application), "staged": len(stored)}, ip=ip)
        _final_deadline_check(scenario, _("保存附件"))
        return application, len(stored)
    except BaseException:
        _discard(stored)
        raise


def _remove_documents(session: Session, application: Application, ids: Iterable[int]) -> list[str]:
    """Detach and delete the named documents of this application; returns their stored names."""
    wanted = {int(i) for i in ids}
    removed = []
    for document in list(application.documents):
        if document.id in wanted:
            removed.append(document.attachment.stored_name)
            attachment = document.attachment
            application.documents.remove(document)
            session.delete(attachment)
    return removed


def _flush_one_live(session: Session) -> None:
    """Flush; the partial unique index turns a concurrent second live application into a clear refusal.

    No savepoint: the caller rolls the whole transaction back on any domain error.
    """
    try:
        session.flush()
    except IntegrityError as error:
        text = str(error.orig)
        if "uq_applications_live" in text or "applications.scenario_id, applications.organisation_id" in text:
            raise InvalidTransition(_("贵单位已有一份该场景的有效揭榜申请，每家企业每个场景只能有一份；"
                                      "请在“我的揭榜”中修改原申请，或撤回后重新申请。"))
        raise


def withdraw(session: Session, actor: User, application: Application, ip: str | None = None) -> Application:
    """The firm withdraws its draft or submitted application before the deadline."""
    _require_firm(actor)
    _require_applicant(actor, application)
    scenario = application.scenario
    verb = _("撤回")
    _lock_scenario(session, scenario)
    session.refresh(application, with_for_update=True)
    if application.status not in EDITABLE:
        raise InvalidTransition(_("该申请当前状态为“%(status)s”，不能撤回。", status=application.status.label))
    _require_open(scenario, verb)
    before = _snapshot(application)
    application.status = ApplicationStatus.WITHDRAWN
    application.decided_at = None
    session.flush()
    audit.record(session, actor=actor, action="application.withdraw", object_type="application",
                 object_id=application.id, before=before, after=_snapshot(application), ip=ip)
    if before["status"] == ApplicationStatus.SUBMITTED.value:
        notify(session, _firm_users(session, application), "application.withdrawn",
               _("揭榜申请已撤回：%(title)s", title=scenario.title),
               _("贵单位对《%(title)s》的揭榜申请已于 %(time)s（北京时间）撤回。截止前可重新申请。",
                 title=scenario.title, time=clock.to_local(clock.request_time()).strftime("%Y-%m-%d %H:%M:%S")),
               _path("applications.detail", application_id=application.id))
    _final_deadline_check(scenario, verb)
    return application


def reconfirm(session: Session, actor: User, application: Application, ip: str | None = None) -> Application:
    """After a substantive change the firm confirms its submitted application against the new revision."""
    _require_firm(actor)
    _require_applicant(actor, application)
    scenario = application.scenario
    verb = _("确认")
    _lock_scenario(session, scenario)
    session.refresh(application, with_for_update=True)
    if application.status != ApplicationStatus.SUBMITTED:
        raise InvalidTransition(_("只有已提交的申请需要重新确认。"))
    _require_open(scenario, verb)
    if application.confirmed_revision >= scenario.revision:
        raise InvalidTransition(_("该申请已按场景最新内容确认，无需再次确认。"))
    before = _snapshot(application)
    application.confirmed_revision = scenario.revision
    _promise_seal(application, scenario)
    session.flush()
    audit.record(session, actor=actor, action="application.reconfirm", object_type="application",
                 object_id=application.id, before=before, after=_snapshot(application), ip=ip)
    notify(session, _firm_users(session, application), "application.reconfirmed",
           _("揭榜申请已重新确认：%(title)s", title=scenario.title),
           _("贵单位已按《%(title)s》修改后的内容（第 %(rev)d 版）确认揭榜申请。",
             title=scenario.title, rev=scenario.revision),
           _path("applications.detail", application_id=application.id))
    _final_deadline_check(scenario, verb)
    return application


def _promise_seal(application: Application, scenario: Scenario) -> None:
    """The firm submits or re-confirms under the current deadline: sealed until then at least (never earlier)."""
    promised = application.sealed_until
    application.sealed_until = max(promised, scenario.deadline) if promised is not None else scenario.deadline


def _notify_receipt(session: Session, application: Application, event: str) -> None:
    scenario = application.scenario
    when = clock.to_local(clock.request_time()).strftime("%Y-%m-%d %H:%M:%S")
    receipt = fingerprint(application)[:16]
    if event == "submitted":
        title = _("揭榜申请已提交：%(title)s", title=scenario.title)
        body = _("贵单位对《%(title)s》的揭榜申请已于 %(time)s（北京时间）提交，回执编号 %(receipt)s。"
                 "截止时间 %(deadline)s 前可以修改或撤回；截止前任何其他单位都看不到申请内容。",
                 title=scenario.title, time=when, receipt=receipt, deadline=deadline_text(scenario))
    else:
        title = _("揭榜申请已修改：%(title)s", title=scenario.title)
        body = _("贵单位对《%(title)s》的揭榜申请已于 %(time)s（北京时间）修改，新的回执编号 %(receipt)s。",
                 title=scenario.title, time=when, receipt=receipt)
    notify(session, _firm_users(session, application), f"application.{event}", title, body,
           _path("applications.detail", application_id=application.id))


def flag_for_reconfirmation(scenario: Scenario, session: Session, **_signal: Any) -> list[Application]:
    """Receiver of :data:`marketplace.signals.scenario_changed`: tell firms their application must be
    confirmed again.

    The flag itself is ``confirmed_revision < scenario.revision`` (the scenario's revision was
    just bumped); this notifies the firms with submitted applications, and those with drafts,
    and records one audit event.
    """
    rows = list(session.execute(
        sa.select(Application).where(Application.scenario_id == scenario.id,
                                     Application.status.in_(EDITABLE))
        .order_by(Application.id)).scalars())
    flagged = [a for a in rows if a.status == ApplicationStatus.SUBMITTED and a.confirmed_revision < scenario.revision]
    for application in rows:
        url = _path("applications.detail", application_id=application.id)
        if application in flagged:
            notify(session, _firm_users(session, application), "application.reconfirm",
                   _("请重新确认揭榜申请：%(title)s", title=scenario.title),
                   _("业主单位修改了《%(title)s》的实质内容，场景正在重新审核，修改后的揭榜截止时间为 %(deadline)s"
                     "（北京时间）。重新发布后，请在截止时间前核对修改内容并重新确认（或修改、撤回）贵单位的揭榜申请。"
                     "贵单位的申请在原截止时间前始终密封。", title=scenario.title, deadline=deadline_text(scenario)), url)
        else:
            notify(session, _firm_users(session, application), "application.scenario_changed",
                   _("场景内容已修改：%(title)s", title=scenario.title),
                   _("业主单位修改了《%(title)s》的实质内容，请在提交前核对您的揭榜草稿。", title=scenario.title), url)
    if flagged:
        audit.record(session, actor=None, action="application.flag_reconfirm", object_type="scenario",
                     object_id=scenario.id, after={"revision": scenario.revision,
                                                   "applications": [a.id for a in flagged]})
    return flagged
