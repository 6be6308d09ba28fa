"""Scenario rules: the publish gate, every lifecycle transition, batches and clarification Q&A.

Every transition goes through :func:`transition`, which checks the actor's
permission and the current state and writes the audit log. Services flush; the
view commits once.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from flask import current_app
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Session, object_session

from marketplace import audit, clock, signals
from marketplace.errors import InvalidTransition, NotFound, PermissionDenied, ValidationFailed
from marketplace.models import (
    Attachment,
    AuditEvent,
    Batch,
    BatchLevel,
    BatchStage,
    District,
    Domain,
    FundingSource,
    Organisation,
    OrganisationKind,
    Question,
    Role,
    Scenario,
    ScenarioMode,
    ScenarioStatus,
    Theme,
    User,
)
from marketplace.scenarios import policy

#: Fields whose change after publication reopens review and asks applicants to re-confirm.
SUBSTANTIVE_FIELDS = (
    "title", "description", "boundary", "requirements", "acceptance", "outcomes", "domain_id", "theme_id",
    "funding_source", "budget_wan", "funding_evidence_id", "deadline", "delivery_months", "mode", "race_teams",
)
#: Fields the owner may change without a new review.
MINOR_FIELDS = ("summary", "contact_name", "contact_phone", "contact_email")

# ------------------------------------------------------------------ the publish gate

@dataclass(frozen=True)
class GateProblem:
    """One unmet condition of "边界清晰、业主明确、资金落实" (or of basic completeness)."""

    field: str
    message: str
    group: str


GATE_GROUPS = {"boundary": _l("边界清晰"), "owner": _l("业主明确"), "funding": _l("资金落实"),
               "basics": _l("基本信息")}


def gate_problems(scenario: Scenario, now=None) -> list[GateProblem]:
    """Everything that keeps a scenario from being submitted or published, field by field."""
    now = now or clock.now()
    problems: list[GateProblem] = []

    def need(ok: bool, field: str, message: str, group: str) -> None:
        if not ok:
            problems.append(GateProblem(field, message, group))

    def filled(text: str | None, minimum: int = 1) -> bool:
        return bool(text and len(text.strip()) >= minimum)

    need(filled(scenario.title, 4), "title", _("场景名称至少 4 个字。"), "basics")
    need(filled(scenario.description, 10), "description", _("场景描述至少 10 个字：写明背景、痛点和建设目标。"), "basics")
    need(scenario.domain_id is not None, "domain", _("请选择所属产业领域。"), "basics")
    need(scenario.theme_id is not None, "theme", _("请选择应用主题（智造重镇或智慧名城）。"), "basics")
    need(scenario.deadline is not None and scenario.deadline > now, "deadline",
         _("请设置晚于当前时间的揭榜截止时间。"), "basics")
    need(bool(scenario.delivery_months and scenario.delivery_months > 0), "delivery_months",
         _("请填写建设周期（1–120 个月）。"), "basics")
    if scenario.mode == ScenarioMode.HORSE_RACE:
        need(bool(scenario.race_teams and scenario.race_teams >= 2), "race_teams",
             _("赛马模式请填写参赛团队数（2–10 个）。"), "basics")
    need(filled(scenario.boundary, 10), "boundary", _("建设边界至少 10 个字：写明建设内容和不包括的内容。"), "boundary")
    need(filled(scenario.acceptance, 10), "acceptance", _("验收标准至少 10 个字：写明可衡量、可核验的验收指标。"), "boundary")
    need(scenario.owner_id is not None, "owner", _("请明确业主单位。"), "owner")
    need(filled(scenario.contact_name, 2), "contact_name", _("请填写业主联系人姓名（至少 2 个字）。"), "owner")
    need(filled(scenario.contact_phone, 7), "contact_phone", _("请填写业主联系人电话（至少 7 位）。"), "owner")
    need(scenario.funding_source is not None, "funding_source", _("请选择资金来源。"), "funding")
    need(scenario.budget_wan is not None and scenario.budget_wan > 0, "budget_wan",
         _("请填写大于 0 的项目预算（万元）。"), "funding")
    need(scenario.funding_evidence_id is not None or scenario.funding_evidence is not None, "funding_evidence",
         _("请上传资金落实证明文件。"), "funding")
    return problems


def gate_preview(session: Session, scenario: Scenario, data: dict[str, Any]) -> list[GateProblem]:
    """The gate as it would be with the submitted *data*, for a form re-shown after an error.

    A refused save (an upload error, a field error) rolls the scenario back to what is stored, but
    the form still shows what the owner typed; the "还需完善" box must judge those values, not the
    stored ones. The preview is a transient copy (never added to the session): nothing is written.
    Values the form could not read (an invalid code or budget) count as missing.
    """
    preview = Scenario()
    for attr in sa.inspect(Scenario).column_attrs:
        setattr(preview, attr.key, getattr(scenario, attr.key))
    for name, value in data.items():
        try:
            apply_fields(session, preview, {name: value})
        except (ValidationFailed, ValueError, ArithmeticError):
            continue
    return gate_problems(preview)


def _require_gate(scenario: Scenario) -> None:
    problems = gate_problems(scenario)
    if problems:
        fields: dict[str, list[str]] = {}
        for p in problems:
            fields.setdefault(p.field, []).append(p.message)
        # The summary only counts: the problems themselves are listed once, field by field (``fields``).
        raise ValidationFailed(
            _("场景尚不满足“边界清晰、业主明确、资金落实”的发布条件，还有 %(n)d 项需要完善。", n=len(problems)),
            fields,
        )


# ------------------------------------------------------------------ deadline rules

def _days(setting: str, default: int) -> timedelta:
    return timedelta(days=int(current_app.config.get(setting, default)))


def earliest_deadline(session: Session, scenario: Scenario, now: datetime | None = None) -> datetime:
    """The earliest application deadline the scenario may be (re-)published with at ``now``.

    * A published scenario keeps at least ``MIN_APPLICATION_DAYS`` from its first publication
      (``now`` when it has not been published yet);
    * a substantive change of a published scenario leaves at least ``MIN_DAYS_AFTER_CHANGE`` after ``now``;
    * once firms have applied, never earlier than a deadline any of them was promised (only later).
    """
    now = now or clock.now()
    earliest = (scenario.published_at or now) + _days("MIN_APPLICATION_DAYS", 10)
    if scenario.published_at is not None:
        earliest = max(earliest, now + _days("MIN_DAYS_AFTER_CHANGE", 5))
    promised = policy.promised_until(session, scenario)
    return max(earliest, promised) if promised is not None else earliest


def deadline_floor_text(value: datetime) -> str:
    """A deadline floor for people: Beijing time, rounded up to the next minute (the form's precision)."""
    local = clock.to_local(value)
    if local.second or local.microsecond:
        local = local.replace(second=0, microsecond=0) + timedelta(minutes=1)
    return local.strftime("%Y-%m-%d %H:%M")


def proposed_deadline(session: Session, scenario: Scenario, now: datetime | None = None) -> datetime:
    """What the edit form proposes for a substantive change: the current deadline, or later if it must move.

    Naive Beijing wall time to the minute, as the form's field holds it.
    """
    floor = earliest_deadline(session, scenario, now)
    wanted = max(floor, scenario.deadline) if scenario.deadline is not None else floor
    local = clock.to_local(wanted)
    if local.second or local.microsecond:
        local = local.replace(second=0, microsecond=0) + timedelta(minutes=1)
    return local.replace(tzinfo=None)


def _check_changed_deadline(session: Session, scenario: Scenario, before: datetime | None) -> None:
    """A substantive change of a published scenario: the deadline only moves later once firms have applied,
    and leaves at least ``MIN_DAYS_AFTER_CHANGE`` (and the first publication's ``MIN_APPLICATION_DAYS``)."""
    floor = earliest_deadline(session, scenario)
    if before is not None and policy.has_submitted_applications(session, scenario):
        floor = max(floor, before)
    if scenario.deadline is None or scenario.deadline < floor:
        message = _("修改已发布场景的实质内容时，揭榜截止时间不得早于 %(floor)s（北京时间）：修改后至少留出 "
                    "%(days)d 天供企业重新确认；已有企业揭榜的，截止时间只能延后。建议将截止时间延至 %(floor)s 或更晚。",
                    floor=deadline_floor_text(floor),
                    days=int(current_app.config.get("MIN_DAYS_AFTER_CHANGE", 5)))
        raise ValidationFailed(message, {"deadline": [message]})


def _check_publish_deadline(session: Session, scenario: Scenario, now: datetime) -> None:
    """Publishing refuses a deadline earlier than :func:`earliest_deadline`; the reviewer returns the scenario."""
    floor = earliest_deadline(session, scenario, now)
    if scenario.deadline is not None and scenario.deadline >= floor:
        return
    if scenario.published_at is None:
        rule = _("发布时须给企业留出至少 %(days)d 天的揭榜期",
                 days=int(current_app.config.get("MIN_APPLICATION_DAYS", 10)))
    else:
        rule = _("实质修改后须至少留出 %(days)d 天，已有企业揭榜的截止时间只能延后",
                 days=int(current_app.config.get("MIN_DAYS_AFTER_CHANGE", 5)))
    raise InvalidTransition(_("不能发布：揭榜截止时间 %(deadline)s 早于允许的最早截止时间 %(floor)s（北京时间；%(rule)s）。"
                              "请将场景退回业主单位，由业主单位修改截止时间后重新提交。",
                              deadline=clock.to_local(scenario.deadline).strftime("%Y-%m-%d %H:%M")
                              if scenario.deadline else "—",
                              floor=deadline_floor_text(floor), rule=rule))


# ------------------------------------------------------------------ drafting and editing

def _snapshot(scenario: Scenario) -> dict[str, Any]:
    return {name: getattr(scenario, name) for name in SUBSTANTIVE_FIELDS + MINOR_FIELDS} | {
        "status": scenario.status.value, "revision": scenario.revision}


def _lookup(session: Session, model, code: str | None, field: str, label: str):
    if not code:
        return None
    row = session.execute(sa.select(model).where(model.code == code)).scalar_one_or_none()
    if row is None:
        raise ValidationFailed(label, {field: [label]})
    return row


def apply_fields(session: Session, scenario: Scenario, data: dict[str, Any]) -> None:
    """Copy form data onto a scenario (drafts may be incomplete; the gate checks completeness)."""
    for name in ("title", "summary", "description", "boundary", "requirements", "acceptance", "outcomes",
                 "contact_name", "contact_phone", "contact_email"):
        if name in data:
            setattr(scenario, name, (data[name] or "").strip())
    if "domain" in data:
        domain = _lookup(session, Domain, data["domain"], "domain", _("请选择有效的产业领域。"))
        scenario.domain_id = domain.id if domain else None
    if "theme" in data:
        theme = _lookup(session, Theme, data["theme"], "theme", _("请选择有效的应用主题。"))
        scenario.theme_id = theme.id if theme else None
    if "funding_source" in data:
        scenario.funding_source = FundingSource(data["funding_source"]) if data["funding_source"] else None
    if "budget_wan" in data:
        budget = data["budget_wan"]
        if budget is not None:
            budget = Decimal(str(budget)).quantize(Decimal("0.01"))
            if budget <= 0:
                raise ValidationFailed(_("预算必须大于 0。"), {"budget_wan": [_("预算必须大于 0。")]})
        scenario.budget_wan = budget
    if "deadline" in data:
        scenario.deadline = clock.local_to_utc(data["deadline"]) if data["deadline"] else None
    if "delivery_months" in data:
        scenario.delivery_months = data["delivery_months"]
    if "mode" in data and data["mode"]:
        scenario.mode = ScenarioMode(data["mode"])
    if "race_teams" in data:
        scenario.race_teams = data["race_teams"] if scenario.mode == ScenarioMode.HORSE_RACE else None


def can_create(user: User) -> bool:
    """Owner users of an active owner organisation draft scenarios."""
    return (user.is_authenticated and user.role == Role.OWNER and user.organisation is not None
            and user.organisation.kind in OrganisationKind.owner_kinds() and user.organisation.active)


def create_draft(session: Session, actor: User, data: dict[str, Any], evidence: Attachment | None = None,
                 ip: str | None = None) -> Scenario:
    """A new draft for the actor's organisation, in the organisation's district."""
    if not can_create(actor):
        raise PermissionDenied(_("只有发榜单位的用户可以起草应用场景。"))
    organisation = actor.organisation
    district_id = organisation.district_id or _other_district(session).id
    scenario = Scenario(owner=organisation, district_id=district_id, created_by=actor, status=ScenarioStatus.DRAFT)
    if not data.get("contact_name"):
        data = {**data, "contact_name": actor.name, "contact_phone": data.get("contact_phone") or actor.phone or "",
                "contact_email": data.get("contact_email") or actor.email}
    apply_fields(session, scenario, data)
    if evidence is not None:
        scenario.funding_evidence = evidence
    session.add(scenario)
    session.flush()
    audit.record(session, actor=actor, action="scenario.create", object_type="scenario", object_id=scenario.id,
                 after=_snapshot(scenario), ip=ip)
    return scenario


def _other_district(session: Session) -> District:
    return session.execute(sa.select(District).where(District.code == "other")).scalar_one()


def can_edit(user: User | None, scenario: Scenario) -> bool:
    """The owner edits drafts, returned and submitted scenarios, and open published ones (re-review)."""
    if not policy.is_owner_member(user, scenario):
        return False
    if scenario.status in (ScenarioStatus.DRAFT, ScenarioStatus.RETURNED, ScenarioStatus.SUBMITTED):
        return True
    return scenario.is_open()


def update(session: Session, actor: User, scenario: Scenario, data: dict[str, Any],
           evidence: Attachment | None = None, ip: str | None = None) -> bool:
    """Edit a scenario. Returns True when a substantive edit sent a published scenario back to review."""
    if not can_edit(actor, scenario):
        raise PermissionDenied(_("您不能修改此场景。"))
    before = _snapshot(scenario)
    was_published = scenario.status == ScenarioStatus.PUBLISHED
    apply_fields(session, scenario, data)
    if scenario.published_at is not None and (was_published or before["deadline"] != scenario.deadline) \
            and any(before[name] != getattr(scenario, name) for name in SUBSTANTIVE_FIELDS):
        # Also while in re-review: the owner cannot shorten the deadline behind the reviewer's back.
        _check_changed_deadline(session, scenario, before["deadline"])
    if evidence is not None:
        scenario.funding_evidence = evidence
        scenario.funding_evidence_id = evidence.id
    after = _snapshot(scenario)
    substantive = [name for name in SUBSTANTIVE_FIELDS if before[name] != after[name]]
    reopened = False
    if was_published and substantive:
        _require_gate(scenario)
        scenario.status = ScenarioStatus.SUBMITTED
        scenario.submitted_at = clock.now()
        scenario.revision += 1
        reopened = True
        signals.scenario_changed.send(scenario, session=session, changed=substantive)
    session.flush()
    audit.record(session, actor=actor, action="scenario.reopen" if reopened else "scenario.update",
                 object_type="scenario", object_id=scenario.id, before=before,
                 after={**after, "changed": substantive}, ip=ip)
    return reopened


def can_delete(user: User | None, scenario: Scenario) -> bool:
    """Only a draft (never submitted) is deleted, by its owner organisation; later ones are withdrawn."""
    return scenario.status == ScenarioStatus.DRAFT and policy.is_owner_member(user, scenario)


def delete_draft(session: Session, actor: User, scenario: Scenario, ip: str | None = None) -> None:
    """Delete a draft scenario for good (the audit log keeps what it held)."""
    if not policy.is_owner_member(actor, scenario):
        raise PermissionDenied(_("只有业主单位可以删除自己的草稿。"))
    if scenario.status != ScenarioStatus.DRAFT:
        raise InvalidTransition(_("只能删除草稿；已提交审核或已发布的场景请撤回。"))
    before = _snapshot(scenario)
    scenario_id = scenario.id
    session.delete(scenario)
    session.flush()
    audit.record(session, actor=actor, action="scenario.delete", object_type="scenario", object_id=scenario_id,
                 before=before, ip=ip)


# ------------------------------------------------------------------ workbench to-dos

def review_queue(user: User) -> sa.Select:
    """Submitted scenarios the staff user reviews: their district's, or every district's for city staff."""
    query = sa.select(Scenario).where(Scenario.status == ScenarioStatus.SUBMITTED).order_by(Scenario.submitted_at)
    if user.role == Role.DISTRICT_STAFF:
        query = query.where(Scenario.district_id == user.district_id)
    elif user.role != Role.CITY_STAFF:
        query = query.where(sa.false())
    return query


def review_queue_count(session: Session, user: User) -> int:
    """How many scenarios wait for this staff user's review."""
    return session.execute(sa.select(sa.func.count()).select_from(review_queue(user).subquery())).scalar_one()


def own_scenarios(user: User, status: ScenarioStatus | None = None) -> sa.Select:
    """The owner organisation's scenarios (optionally of one status, as the list shows it: 已截止 is a published
    scenario past its deadline, 征集中 one before it), latest change first."""
    query = sa.select(Scenario).where(Scenario.owner_id == user.organisation_id).order_by(Scenario.updated_at.desc())
    if status is None:
        return query
    if status in (ScenarioStatus.PUBLISHED, ScenarioStatus.CLOSED):
        passed = sa.and_(Scenario.deadline.is_not(None), Scenario.deadline <= clock.now())
        return query.where(Scenario.status == ScenarioStatus.PUBLISHED,
                           passed if status == ScenarioStatus.CLOSED else sa.not_(passed))
    return query.where(Scenario.status == status)


def returned_count(session: Session, user: User) -> int:
    """How many of the owner's scenarios were returned for changes."""
    query = own_scenarios(user, ScenarioStatus.RETURNED).subquery()
    return session.execute(sa.select(sa.func.count()).select_from(query)).scalar_one()


# ------------------------------------------------------------------ transitions

#: action → (statuses it starts from, status it leads to)
TRANSITIONS: dict[str, tuple[tuple[ScenarioStatus, ...], ScenarioStatus]] = {
    "submit": ((ScenarioStatus.DRAFT, ScenarioStatus.RETURNED), ScenarioStatus.SUBMITTED),
    "return": ((ScenarioStatus.SUBMITTED,), ScenarioStatus.RETURNED),
    "publish": ((ScenarioStatus.SUBMITTED,), ScenarioStatus.PUBLISHED),
    "withdraw": ((ScenarioStatus.DRAFT, ScenarioStatus.SUBMITTED, ScenarioStatus.RETURNED,
                  ScenarioStatus.PUBLISHED), ScenarioStatus.WITHDRAWN),
    # After the deadline (checked below); driven by the applications area's evaluation services.
    "award": ((ScenarioStatus.PUBLISHED,), ScenarioStatus.AWARDED),
    "unsuccessful": ((ScenarioStatus.PUBLISHED,), ScenarioStatus.UNSUCCESSFUL),
    "start_delivery": ((ScenarioStatus.AWARDED,), ScenarioStatus.IN_DELIVERY),
    "accept": ((ScenarioStatus.IN_DELIVERY,), ScenarioStatus.ACCEPTED),
    # An upheld 异议 withdraws the award during its 公示 (marketplace.applications.publicity).
    "reopen_evaluation": ((ScenarioStatus.AWARDED,), ScenarioStatus.PUBLISHED),
}
#: Transitions offered as plain buttons on the scenario page (the others have their own forms).
BUTTON_ACTIONS = ("submit", "return", "withdraw")
#: Owner transitions that need the application deadline to have passed.
AFTER_DEADLINE = ("award", "unsuccessful")


def allowed_actions(user: User | None, scenario: Scenario) -> list[str]:
    """The transitions this user may start now (for buttons; :func:`transition` checks again)."""
    actions = []
    for action in BUTTON_ACTIONS:
        sources = TRANSITIONS[action][0]
        if scenario.status in sources and _permitted(user, scenario, action):
            actions.append(action)
    return actions


def _permitted(user: User | None, scenario: Scenario, action: str) -> bool:
    if action in ("submit", "withdraw", "award", "unsuccessful", "start_delivery", "accept"):
        return policy.is_owner_member(user, scenario)
    if action in ("return", "publish", "reopen_evaluation"):
        return policy.is_reviewer(user, scenario)
    return False


def require_transition(actor: User, scenario: Scenario, action: str) -> None:
    """Refuse (like :func:`transition`) when *actor* may not start *action* on the scenario now."""
    sources = TRANSITIONS[action][0]
    if not _permitted(actor, scenario, action):
        raise PermissionDenied(_("您无权对此场景执行该操作。"))
    if scenario.status not in sources:
        raise InvalidTransition(_("场景当前状态为“%(status)s”，不能执行该操作。",
                                  status=scenario.display_status().label))
    if action in ("submit", "publish"):
        _require_gate(scenario)
    if action == "publish":
        _check_publish_deadline(object_session(scenario), scenario, clock.now())


def transition(session: Session, actor: User, scenario: Scenario, action: str, *, reason: str | None = None,
               batch: Batch | None = None, ip: str | None = None) -> Scenario:
    """Move a scenario through its lifecycle: the one place that checks permission and state, and audits."""
    if action not in TRANSITIONS:
        raise InvalidTransition(_("未知的操作。"))
    sources, target = TRANSITIONS[action]
    # Read the state under the row's lock: two people acting at once (staff returning while the owner
    # withdraws, a double-clicked button) make one transition and a clear refusal, not two that both pass
    # the state check and overwrite each other (PostgreSQL row lock; SQLite writes are serial anyway).
    session.flush()
    session.refresh(scenario, with_for_update=True)
    if not _permitted(actor, scenario, action):
        raise PermissionDenied(_("您无权对此场景执行该操作。"))
    if scenario.status not in sources:
        raise InvalidTransition(_("场景当前状态为“%(status)s”，不能执行该操作。",
                                  status=scenario.display_status().label))
    before = {"status": scenario.status.value}
    now = clock.now()
    if action in AFTER_DEADLINE and scenario.is_open(now):
        raise InvalidTransition(_("揭榜截止前不能确定结果。"))
    if action == "submit":
        _require_gate(scenario)
        scenario.submitted_at = now
        scenario.return_reason = None
    elif action == "return":
        if not (reason or "").strip():
            raise ValidationFailed(_("退回时请写明原因。"), {"reason": [_("退回时请写明原因。")]})
        scenario.return_reason = reason.strip()
    elif action == "publish":
        _require_gate(scenario)
        if batch is None:
            if not scenario.batches:
                raise ValidationFailed(_("请选择发布批次。"), {"batch": [_("请选择发布批次。")]})
        else:
            _check_batch_for(actor, batch, scenario)
            if batch not in scenario.batches:
                scenario.batches.append(batch)
        _check_publish_deadline(session, scenario, now)
        scenario.published_at = scenario.published_at or now
    elif action == "withdraw" and not (reason or "").strip() and withdrawal_is_public(scenario):
        # Also from re-review: a scenario once published keeps a public trace with this reason.
        raise ValidationFailed(_("撤回已发布的场景时请说明原因。"), {"reason": [_("请说明撤回原因。")]})
    scenario.status = target
    session.flush()
    audit.record(session, actor=actor, action=f"scenario.{action}", object_type="scenario", object_id=scenario.id,
                 before=before, after={"status": target.value, "reason": reason,
                                       "batch": batch.id if batch else None}, ip=ip)
    return scenario


def withdrawal_is_public(scenario: Scenario) -> bool:
    """Withdrawing this scenario leaves a public trace (it has been published): the reason is required and
    shown on its page and in its OCDS record (:func:`policy.was_public_withdrawn`)."""
    return scenario.published_at is not None


@dataclass(frozen=True)
class Withdrawal:
    """The public notice of a scenario withdrawn after publication: when, and the owner's public reason."""

    at: datetime
    reason: str | None


def withdrawal_of(session: Session, scenario: Scenario) -> Withdrawal | None:
    """The withdrawal notice of a scenario withdrawn after publication (audit ``scenario.withdraw``), else None."""
    if not policy.was_public_withdrawn(scenario):
        return None
    row = session.execute(
        sa.select(AuditEvent.created_at, AuditEvent.after)
        .where(AuditEvent.object_type == "scenario", AuditEvent.object_id == str(scenario.id),
               AuditEvent.action == "scenario.withdraw")
        .order_by(AuditEvent.id.desc()).limit(1)).first()
    if row is None:  # withdrawn without an audit entry (not through transition): the row's last change
        return Withdrawal(scenario.updated_at, None)
    reason = ((row.after or {}).get("reason") or "").strip() or None
    return Withdrawal(row.created_at, reason)


# ------------------------------------------------------------------ batches

def can_manage_batches(user: User | None) -> bool:
    return user is not None and user.is_authenticated and user.role in (Role.DISTRICT_STAFF, Role.CITY_STAFF)


def batches_for(session: Session, user: User) -> list[Batch]:
    """Batches the staff user may publish into: their district's, or the city's."""
    query = sa.select(Batch).order_by(Batch.published_on.desc(), Batch.id.desc())
    if user.role == Role.DISTRICT_STAFF:
        query = query.where(Batch.level == BatchLevel.DISTRICT, Batch.district_id == user.district_id)
    elif user.role == Role.CITY_STAFF:
        query = query.where(Batch.level == BatchLevel.CITY)
    else:
        return []
    return list(session.execute(query).scalars())


def current_batch(batches: list[Batch]) -> Batch | None:
    """The batch a reviewer most likely publishes into: the newest one still collecting (征集), else the newest."""
    collecting = [b for b in batches if b.stage == BatchStage.COLLECT]
    return (collecting or batches or [None])[0]


def batch_name_example(batches: list[Batch]) -> str:
    """An example name for the reviewer's next batch, in the current year ("2026年第3批应用场景清单")."""
    year = clock.local_today().year
    number = sum(1 for b in batches if b.published_on.year == year) + 1
    return _("例如：%(year)d年第%(n)d批应用场景清单", year=year, n=number)


def create_batch(session: Session, actor: User, name: str, stage: str, published_on: date | None,
                 description: str | None = None, ip: str | None = None) -> Batch:
    """A new batch at the actor's level: district staff → their district's list, city staff → the city list."""
    if not can_manage_batches(actor):
        raise PermissionDenied(_("只有区县或市级工作人员可以发布批次。"))
    name = (name or "").strip()
    if not name:
        raise ValidationFailed(_("请填写批次名称。"), {"batch_name": [_("请填写批次名称。")]})
    level = BatchLevel.CITY if actor.role == Role.CITY_STAFF else BatchLevel.DISTRICT
    batch = Batch(name=name, level=level, stage=BatchStage(stage or "collect"),
                  published_on=published_on or clock.local_today(), description=description,
                  district_id=actor.district_id if level == BatchLevel.DISTRICT else None, created_by=actor)
    session.add(batch)
    session.flush()
    audit.record(session, actor=actor, action="batch.create", object_type="batch", object_id=batch.id,
                 after={"name": name, "level": level.value, "stage": batch.stage.value}, ip=ip)
    return batch


def _check_batch_for(actor: User, batch: Batch, scenario: Scenario) -> None:
    if actor.role == Role.CITY_STAFF:
        if batch.level != BatchLevel.CITY:
            raise PermissionDenied(_("市级工作人员只能发布到市级批次。"))
    elif actor.role == Role.DISTRICT_STAFF:
        if batch.level != BatchLevel.DISTRICT or batch.district_id != actor.district_id:
            raise PermissionDenied(_("只能发布到本区县的批次。"))
        if scenario.district_id != actor.district_id:
            raise PermissionDenied(_("只能发布本区县的场景。"))
    else:
        raise PermissionDenied(_("您无权发布场景。"))


def take_into_city_batch(session: Session, actor: User, scenario: Scenario, batch: Batch,
                         ip: str | None = None) -> None:
    """City staff list a published district scenario in a city batch too (市区两级联动), without copying it."""
    if actor.role != Role.CITY_STAFF:
        raise PermissionDenied(_("只有市级工作人员可以将场景纳入市级清单。"))
    if batch.level != BatchLevel.CITY:
        raise ValidationFailed(_("请选择市级批次。"), {"batch": [_("请选择市级批次。")]})
    if not scenario.is_public:
        raise InvalidTransition(_("只有已发布的场景可以纳入市级清单。"))
    if batch in scenario.batches:
        raise InvalidTransition(_("该场景已在此批次中。"))
    scenario.batches.append(batch)
    session.flush()
    audit.record(session, actor=actor, action="scenario.city_list", object_type="scenario", object_id=scenario.id,
                 after={"batch": batch.id}, ip=ip)


# ------------------------------------------------------------------ questions and answers

def question_cutoff(scenario: Scenario):
    """Questions close this long before the deadline (config ``QUESTION_CUTOFF_HOURS``)."""
    if scenario.deadline is None:
        return None
    return scenario.deadline - timedelta(hours=current_app.config.get("QUESTION_CUTOFF_HOURS", 48))


def can_ask(user: User | None, scenario: Scenario) -> bool:
    cutoff = question_cutoff(scenario)
    return (user is not None and user.is_authenticated and user.role == Role.ENTERPRISE and scenario.is_open()
            and cutoff is not None and clock.now() < cutoff)


def ask(session: Session, actor: User, scenario: Scenario, text: str, ip: str | None = None) -> Question:
    """A signed-in firm asks a clarification question before the cut-off."""
    if actor.role != Role.ENTERPRISE:
        raise PermissionDenied(_("只有注册企业可以提问。"))
    if not can_ask(actor, scenario):
        raise InvalidTransition(_("该场景的答疑已截止（截止前 %(h)d 小时停止提问）。",
                                  h=current_app.config.get("QUESTION_CUTOFF_HOURS", 48)))
    text = (text or "").strip()
    if len(text) < 5:
        raise ValidationFailed(_("问题太短，请具体描述。"), {"text": [_("问题太短，请具体描述。")]})
    # Under the scenario's row lock, read afresh: the same question posted twice (a double click) is one question.
    session.flush()
    session.refresh(scenario, with_for_update=True)
    if session.execute(sa.select(Question.id).where(Question.scenario_id == scenario.id,
                                                    Question.asked_by_id == actor.id, Question.text == text)).first():
        message = _("您已提交过相同的问题，请勿重复提交。")
        raise ValidationFailed(message, {"text": [message]})
    question = Question(scenario=scenario, asked_by=actor, text=text)
    session.add(question)
    session.flush()
    audit.record(session, actor=actor, action="question.ask", object_type="question", object_id=question.id,
                 after={"scenario": scenario.id}, ip=ip)
    return question


def answer(session: Session, actor: User, question_id: int, text: str, ip: str | None = None,
           scenario: Scenario | None = None) -> Question:
    """The owner answers; the answer becomes public on the scenario page. *scenario*: the one the request
    named (a question of another scenario is "not found" there)."""
    question = session.get(Question, question_id)
    if question is None or (scenario is not None and question.scenario_id != scenario.id):
        raise NotFound(_("找不到该问题。"))
    if not policy.is_owner_member(actor, question.scenario):
        raise PermissionDenied(_("只有业主单位可以答复问题。"))
    text = (text or "").strip()
    if not text:
        raise ValidationFailed(_("请填写答复内容。"), {"answer": [_("请填写答复内容。")]})
    # Read the question afresh under its row's lock: a published answer is final (the page offers no edit), so
    # a double-clicked form or a colleague answering at the same moment is refused instead of overwriting the
    # answer everyone may already have read (PostgreSQL row lock; SQLite writes are serial anyway).
    session.flush()
    session.refresh(question, with_for_update=True)
    if question.answer:
        raise InvalidTransition(_("该问题已答复，答复已公开，不能重复答复。"))
    question.answer = text
    question.answered_at = clock.now()
    question.answered_by = actor
    session.flush()
    signals.question_answered.send(question, session=session)
    audit.record(session, actor=actor, action="question.answer", object_type="question", object_id=question.id,
                 after={"scenario": question.scenario_id}, ip=ip)
    return question


def visible_questions(scenario: Scenario, user: User | None) -> list[Question]:
    """Answered questions for everyone; the owner sees all; a firm also sees its own unanswered ones."""
    owner = policy.is_owner_member(user, scenario)
    result = []
    for q in scenario.questions:
        if q.answer or owner or (user is not None and user.is_authenticated and q.asked_by_id == user.id):
            result.append(q)
    return result


def owner_organisations(session: Session) -> list[Organisation]:
    return list(session.execute(
        sa.select(Organisation).where(Organisation.kind.in_(OrganisationKind.owner_kinds()))
        .order_by(Organisation.name)).scalars())
