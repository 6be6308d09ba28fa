"""公示 (public notice of an award) and 异议 (objections): the rule that makes an award final.

**Finality rule.** Awarding (揭榜挂帅 winner, 赛马 final winners) opens a :class:`PublicityNotice`
running ``PUBLICITY_DAYS`` calendar days (default 5) to the second from the award time
(Asia/Shanghai is only how it is shown; the instant is exact). The award is **final** only when
the notice has ended *and* no objection on it is undecided. Like deadlines, this is derived
from the clock at read time — there is no job that "closes" a notice. Until final: no contract
may be recorded (:mod:`marketplace.applications.delivery`), the scenario is not eligible for a
demonstration round, and statistics and the appraisal do not count it as awarded (they filter
with :func:`marketplace.models.final_award_clause`, the same rule in SQL). Scenarios awarded
before notices existed (no notice row) are final.

During the notice any signed-in enterprise user may file an 异议 (grounds ≥ 20 characters,
optional evidence files). The objector is shown to the owner and the reviewing staff, never to
the public. The owner answers; the deciding staff — district staff of the scenario's district,
or city staff when the scenario is on a city list — **uphold** it (the notice is withdrawn with
a public reason, every application returns to its status before the award and the scenario to
evaluation, and the notice's other undecided objections are closed with a recorded reason, their
objectors told) or **dismiss** it (reason recorded, objector told). Every step is audited and
notified. Services flush; the request's unit of work commits.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

import sqlalchemy as sa
from flask import current_app
from flask_babel import gettext as _
from sqlalchemy.orm import Session
from werkzeug.datastructures import FileStorage

from marketplace import attachments, audit, clock
from marketplace.applications import evaluation
from marketplace.errors import BadParameters, InvalidTransition, NotFound, PermissionDenied, ValidationFailed
from marketplace.models import (
    Application,
    ApplicationStatus,
    Attachment,
    AttachmentPurpose,
    BatchLevel,
    District,
    Objection,
    ObjectionDecision,
    ObjectionDocument,
    PublicityNotice,
    Role,
    Scenario,
    ScenarioStatus,
    User,
)
from marketplace.models.publicity import AWARDED_OR_LATER
from marketplace.notifications.services import followers, notify, organisation_users
from marketplace.queryargs import integral
from marketplace.scenarios import policy as scenario_policy
from marketplace.scenarios import services as scenario_services

#: The states :func:`award_state` returns.
AWARD_STATES = ("evaluation", "publicity", "final", "withdrawn", "unsuccessful")
#: Notice states on the public list and in the API.
NOTICE_STATES = ("open", "ended", "withdrawn")
MIN_GROUNDS = 20
MAX_TEXT = 5000
MAX_EVIDENCE_FILES = 5
PER_PAGE = 20
MAX_PER_PAGE = 100
#: The highest page number accepted (as the other API lists: ``openapi.page_params``).
MAX_PAGE = 100_000


def notice_path(scenario_id: int) -> str:
    return f"/scenarios/{scenario_id}/publicity"


def publicity_days() -> int:
    return int(current_app.config.get("PUBLICITY_DAYS", 5))


# ------------------------------------------------------------------ reading the state

def notice_of(session: Session, scenario: Scenario) -> PublicityNotice | None:
    """The scenario's latest notice (earlier ones were withdrawn)."""
    return session.execute(sa.select(PublicityNotice).where(PublicityNotice.scenario_id == scenario.id)
                           .order_by(PublicityNotice.id.desc()).limit(1)).scalar_one_or_none()


def undecided(notice: PublicityNotice) -> list[Objection]:
    return [o for o in notice.objections if o.decision is None]


def notice_status(notice: PublicityNotice, now: datetime | None = None) -> str:
    """``open`` while the period runs, ``ended`` after it, ``withdrawn`` after an upheld objection."""
    if notice.withdrawn_at is not None:
        return "withdrawn"
    return "open" if notice.ends_at > (now or clock.now()) else "ended"


def award_state(session: Session, scenario: Scenario, now: datetime | None = None) -> str | None:
    """evaluation | publicity | final | withdrawn | unsuccessful (None before the deadline).

    ``withdrawn``: the last award was withdrawn by an upheld objection and the scenario is being
    evaluated again. See the module docstring for the finality rule.
    """
    now = now or clock.now()
    if scenario.status == ScenarioStatus.UNSUCCESSFUL:
        return "unsuccessful"
    notice = notice_of(session, scenario)
    if scenario.status in AWARDED_OR_LATER:
        if notice is None or notice.withdrawn_at is not None:
            return "final"
        if notice.ends_at > now or undecided(notice):
            return "publicity"
        return "final"
    if scenario.display_status(now) == ScenarioStatus.CLOSED:
        return "withdrawn" if notice is not None and notice.withdrawn_at is not None else "evaluation"
    return None


def is_final(session: Session, scenario: Scenario, now: datetime | None = None) -> bool:
    return award_state(session, scenario, now) == "final"


def require_final(session: Session, scenario: Scenario) -> None:
    """Refuse contract-phase actions while the award is still in 公示 or an objection is undecided."""
    if scenario.status in AWARDED_OR_LATER and not is_final(session, scenario):
        notice = notice_of(session, scenario)
        raise InvalidTransition(_("揭榜结果公示中（至 %(t)s），公示期结束且异议全部处理后方可进入合同阶段。",
                                  t=local(notice.ends_at) if notice else "—"))


def local(value: datetime | None) -> str:
    return clock.to_local(value).strftime("%Y-%m-%d %H:%M:%S") if value is not None else "—"


# ------------------------------------------------------------------ who

def is_enterprise(user: User | None) -> bool:
    return user is not None and user.is_authenticated and user.role == Role.ENTERPRISE


def can_decide(user: User | None, notice: PublicityNotice) -> bool:
    """District staff of the scenario's district decide; city staff when the scenario is on a city list."""
    if user is None or not user.is_authenticated:
        return False
    if notice.level == BatchLevel.CITY.value:
        return user.role == Role.CITY_STAFF
    return user.role == Role.DISTRICT_STAFF and user.district_id == notice.scenario.district_id


def can_answer(user: User | None, notice: PublicityNotice) -> bool:
    return scenario_policy.is_owner_member(user, notice.scenario)


def can_see_objections(user: User | None, notice: PublicityNotice) -> bool:
    """The owner and reviewing staff see every objection with its objector."""
    return can_answer(user, notice) or scenario_policy.is_reviewer(user, notice.scenario) or can_decide(user, notice)


def visible_objections(user: User | None, notice: PublicityNotice) -> list[Objection]:
    """All objections for owner and staff; an enterprise user sees only their own firm's."""
    if can_see_objections(user, notice):
        return list(notice.objections)
    if is_enterprise(user):
        return [o for o in notice.objections if o.objector_id == user.id
                or (user.organisation_id and o.organisation_id == user.organisation_id)]
    return []


def can_object(user: User | None, notice: PublicityNotice, now: datetime | None = None) -> bool:
    return is_enterprise(user) and notice_status(notice, now) == "open"


def objection_rule(user: User | None, attachment: Attachment, session: Session) -> bool:
    """Evidence files: the objector's firm, the owner and the reviewing staff."""
    objection = session.execute(sa.select(Objection).join(ObjectionDocument)
                                .where(ObjectionDocument.attachment_id == attachment.id)).scalar_one_or_none()
    if objection is None or user is None or not user.is_authenticated:
        return False
    return objection in visible_objections(user, objection.notice)


# ------------------------------------------------------------------ opening a notice

def level_of(scenario: Scenario) -> str:
    """``city`` when the scenario is on a city list (city staff decide its objections), else ``district``."""
    return BatchLevel.CITY.value if any(b.level == BatchLevel.CITY for b in scenario.batches) \
        else BatchLevel.DISTRICT.value


def _firm_users(session: Session, organisation_id: int | None) -> list[User]:
    return organisation_users(session, organisation_id, Role.ENTERPRISE) if organisation_id else []


def _staff(session: Session, notice: PublicityNotice) -> list[User]:
    query = sa.select(User).where(User.active)
    if notice.level == BatchLevel.CITY.value:
        query = query.where(User.role == Role.CITY_STAFF)
    else:
        query = query.where(User.role == Role.DISTRICT_STAFF, User.district_id == notice.scenario.district_id)
    return list(session.execute(query.order_by(User.id)).scalars())


def _owners(session: Session, scenario: Scenario) -> list[User]:
    return organisation_users(session, scenario.owner_id, Role.OWNER)


def snapshot(session: Session, user: User, scenario: Scenario) -> dict:
    """What a notice shows, taken at award time: winners (firm, quoted amount, score), every evaluated
    applicant's weighted total and rank, and the names of the experts who scored (not the recused)."""
    ranked = evaluation.ranking(session, user, scenario)
    totals = {r.application.id: r.total for r in ranked}
    winners = [r.application for r in ranked if r.application.status == ApplicationStatus.SELECTED]

    def _score(value: Decimal | None) -> str | None:
        return f"{value:.2f}" if value is not None else None

    return {
        "winners": [{"application_id": a.id, "firm": a.organisation.name,
                     "amount_wan": f"{a.price_wan:.2f}" if a.price_wan is not None else None,
                     "score": _score(totals.get(a.id))} for a in winners],
        "ranking": [{"firm": r.application.organisation.name, "score": _score(r.total), "rank": r.rank,
                     "selected": r.application.status == ApplicationStatus.SELECTED} for r in ranked],
        "panel": [a.expert.name for a in evaluation.assignments_of(session, scenario)
                  if not a.recused and a.declared_at is not None],
        "level": level_of(scenario),
    }


def open_notice(session: Session, actor: User, scenario: Scenario, prior_statuses: dict[int, ApplicationStatus],
                ip: str | None = None) -> PublicityNotice:
    """Called by the award: snapshot winners, scores, ranks and panel; start the ``PUBLICITY_DAYS`` period."""
    now = clock.now()
    notice = PublicityNotice(
        scenario_id=scenario.id, starts_at=now, ends_at=now + timedelta(days=publicity_days()),
        created_by_id=actor.id, prior_statuses={str(k): v.value for k, v in prior_statuses.items()},
        **snapshot(session, actor, scenario))
    session.add(notice)
    session.flush()
    audit.record(session, actor=actor, action="publicity.open", object_type="publicity_notice", object_id=notice.id,
                 after={"scenario": scenario.id, "ends_at": notice.ends_at.isoformat(),
                        "winners": [w["firm"] for w in notice.winners]}, ip=ip)
    ends = local(notice.ends_at)
    notify(session, followers(session, scenario.id), "publicity.opened",
           _("揭榜结果公示：%(title)s", title=scenario.title)[:200],
           _("“%(title)s”拟揭榜单位已公示，公示期至 %(t)s。对结果有异议的企业可在公示期内提出。",
             title=scenario.title, t=ends), notice_path(scenario.id))
    return notice


# ------------------------------------------------------------------ objections

def notice_for(session: Session, scenario_id: int) -> tuple[Scenario, PublicityNotice]:
    """A public scenario and its latest notice, or 404."""
    scenario = session.get(Scenario, scenario_id)
    if scenario is None or not scenario.is_public:
        raise NotFound(_("场景不存在。"))
    notice = notice_of(session, scenario)
    if notice is None:
        raise NotFound(_("该场景没有揭榜结果公示。"))
    return scenario, notice


def objection_of(session: Session, objection_id: int, user: User | None) -> Objection:
    """An objection *user* may see, or 404: a stranger cannot tell an existing objection (private to the owner,
    the deciding and reviewing staff and the objecting firm) from a missing one."""
    objection = session.get(Objection, objection_id)
    if objection is None or objection not in visible_objections(user, objection.notice):
        raise NotFound(_("异议不存在。"))
    return objection


def _text(value: str | None, field: str, minimum: int, message: str) -> str:
    text = (value or "").strip()
    if len(text) < minimum:
        raise ValidationFailed(message, {field: [message]})
    if len(text) > MAX_TEXT:
        message = _("内容不能超过 %(n)d 个字。", n=MAX_TEXT)
        raise ValidationFailed(message, {field: [message]})
    return text


def file_objection(session: Session, actor: User, notice: PublicityNotice, grounds: str | None,
                   files: Sequence[FileStorage] = (), ip: str | None = None) -> Objection:
    """An enterprise user objects during the notice; the owner and the deciding staff are told."""
    if not is_enterprise(actor):
        raise PermissionDenied(_("只有已登录的企业用户可以提出异议。"))
    _lock_notice(session, notice)  # not filed on a notice an upheld objection is withdrawing at this moment
    if notice_status(notice) != "open":
        raise InvalidTransition(_("公示期已结束或公示已撤销，不能再提出异议。"))
    grounds = _text(grounds, "grounds", MIN_GROUNDS, _("请写明异议理由（不少于 %(n)d 个字）。", n=MIN_GROUNDS))
    uploads = [f for f in files if f is not None and f.filename]
    if len(uploads) > MAX_EVIDENCE_FILES:
        message = _("最多上传 %(n)d 个证明材料。", n=MAX_EVIDENCE_FILES)
        raise ValidationFailed(message, {"evidence": [message]})
    if any(o.objector_id == actor.id and o.grounds == grounds for o in notice.objections):
        # A double-clicked form (read afresh under the notice's lock): one objection, not two to answer and decide.
        message = _("您已就本公示提交过相同理由的异议，请勿重复提交。")
        raise ValidationFailed(message, {"grounds": [message]})
    objection = Objection(notice=notice, objector_id=actor.id, organisation_id=actor.organisation_id,
                          grounds=grounds)
    session.add(objection)
    session.flush()
    for upload in uploads:
        attachment = attachments.store(session, upload, AttachmentPurpose.OBJECTION_EVIDENCE, actor, field="evidence")
        session.add(ObjectionDocument(objection_id=objection.id, attachment_id=attachment.id))
    session.flush()
    audit.record(session, actor=actor, action="objection.file", object_type="objection", object_id=objection.id,
                 after={"notice": notice.id, "scenario": notice.scenario_id, "files": len(uploads)}, ip=ip)
    scenario = notice.scenario
    notify(session, [*_owners(session, scenario), *_staff(session, notice)], "objection.filed",
           _("收到异议：%(title)s", title=scenario.title)[:200],
           _("“%(title)s”的揭榜结果公示收到一件异议，请业主单位答复、主管部门处理。异议未处理前结果不生效。",
             title=scenario.title), notice_path(scenario.id))
    return objection


def _lock_notice(session: Session, notice: PublicityNotice) -> None:
    """Serialise the changes to one notice's objections (filing, answering, deciding), and read the notice and
    its objections afresh under the lock: two staff members (or a double-clicked form) deciding at once get one
    decision and a clear refusal, never two (row locks on PostgreSQL; SQLite writes are serial anyway)."""
    session.flush()
    session.refresh(notice, with_for_update=True)
    session.execute(sa.select(Objection).where(Objection.notice_id == notice.id).with_for_update()
                    .execution_options(populate_existing=True)).scalars().all()


def _require_undecided(objection: Objection) -> None:
    if objection.decision is not None:
        raise InvalidTransition(_("该异议已处理。"))
    if objection.notice.withdrawn_at is not None:
        raise InvalidTransition(_("公示已撤销，无需再处理该异议。"))


def answer_objection(session: Session, actor: User, objection: Objection, answer: str | None,
                     ip: str | None = None) -> Objection:
    """The owner's answer (答复); the objector and the deciding staff are told."""
    if not can_answer(actor, objection.notice):
        raise PermissionDenied(_("只有业主单位可以答复异议。"))
    _lock_notice(session, objection.notice)
    _require_undecided(objection)
    # Until the decision the owner may revise the answer (the page keeps the form): a revision is audited with the
    # answer it replaces and the objector is told it changed; the same answer again (a double click) is refused.
    text = _text(answer, "answer", 4, _("请填写答复内容。"))
    if objection.answer == text:
        message = _("该答复已提交，请勿重复提交。")
        raise ValidationFailed(message, {"answer": [message]})
    before = {"answer": objection.answer}
    revised = objection.answer is not None
    objection.answer = text
    objection.answered_at = clock.now()
    objection.answered_by_id = actor.id
    session.flush()
    audit.record(session, actor=actor, action="objection.answer", object_type="objection", object_id=objection.id,
                 before=before, after={"answer": objection.answer}, ip=ip)
    scenario = objection.notice.scenario
    if revised:
        title = _("异议答复已修改：%(title)s", title=scenario.title)
        body = _("业主单位修改了关于“%(title)s”揭榜结果的异议答复。", title=scenario.title)
    else:
        title = _("异议已答复：%(title)s", title=scenario.title)
        body = _("业主单位已答复关于“%(title)s”揭榜结果的异议。", title=scenario.title)
    notify(session, [objection.objector, *_staff(session, objection.notice)], "objection.answered", title[:200],
           body, notice_path(scenario.id))
    return objection


def decide_objection(session: Session, actor: User, objection: Objection, decision: str | None,
                     reason: str | None, ip: str | None = None) -> Objection:
    """Uphold (withdraw the notice and the award) or dismiss an objection, with a reason."""
    notice = objection.notice
    if not can_decide(actor, notice):
        raise PermissionDenied(_("只有场景所在区县的主管部门（市级清单为市级主管部门）可以处理异议。"))
    _lock_notice(session, notice)
    _require_undecided(objection)
    outcome = next((d for d in ObjectionDecision.staff_choices() if d.value == decision), None)
    if outcome is None:
        message = _("请选择处理结果。")
        raise ValidationFailed(message, {"decision": [message]})
    reason = _text(reason, "reason", 4, _("请写明处理理由。"))
    now = clock.now()
    objection.decision, objection.decision_reason = outcome, reason
    objection.decided_at, objection.decided_by_id = now, actor.id
    session.flush()
    audit.record(session, actor=actor, action=f"objection.{outcome.value}", object_type="objection",
                 object_id=objection.id, after={"notice": notice.id, "reason": reason}, ip=ip)
    scenario = notice.scenario
    if outcome == ObjectionDecision.DISMISSED:
        notify(session, [objection.objector], "objection.dismissed",
               _("异议处理结果：%(title)s", title=scenario.title)[:200],
               _("经审核，您对“%(title)s”揭榜结果提出的异议不成立。理由：%(reason)s", title=scenario.title,
                 reason=reason), notice_path(scenario.id))
        notify(session, _owners(session, scenario), "objection.dismissed",
               _("异议已处理：%(title)s", title=scenario.title)[:200],
               _("主管部门认定关于“%(title)s”的一件异议不成立。", title=scenario.title), notice_path(scenario.id))
        return objection
    _withdraw(session, actor, notice, reason, ip)
    return objection


def _withdraw(session: Session, actor: User, notice: PublicityNotice, reason: str, ip: str | None) -> None:
    """An upheld objection: withdraw the notice, restore the applications, reopen the evaluation."""
    scenario = notice.scenario
    notice.withdrawn_at = clock.now()
    notice.withdrawn_reason = reason
    restored: list[Application] = []
    for application_id, status in sorted(notice.prior_statuses.items()):
        application = session.get(Application, int(application_id))
        if application is None:
            continue
        before = application.status.value
        application.status = ApplicationStatus(status)
        application.decided_at = None
        application.decision_note = None
        restored.append(application)
        audit.record(session, actor=actor, action="application.restore", object_type="application",
                     object_id=application.id, before={"status": before}, after={"status": status}, ip=ip)
    session.flush()
    scenario_services.transition(session, actor, scenario, "reopen_evaluation", reason=reason, ip=ip)
    audit.record(session, actor=actor, action="publicity.withdraw", object_type="publicity_notice",
                 object_id=notice.id, after={"scenario": scenario.id, "reason": reason}, ip=ip)
    closed = _close_open_objections(session, actor, notice, ip)
    title = _("揭榜结果公示撤销：%(title)s", title=scenario.title)[:200]
    body = _("因异议成立，“%(title)s”的揭榜结果公示已撤销，场景重新进入评审。理由：%(reason)s",
             title=scenario.title, reason=reason)
    recipients: list[User] = []
    for application in restored:
        recipients.extend(_firm_users(session, application.organisation_id))
    recipients.extend(o.objector for o in notice.objections if o not in closed)
    recipients.extend(_owners(session, scenario))
    recipients.extend(followers(session, scenario.id))
    notify(session, recipients, "publicity.withdrawn", title, body, notice_path(scenario.id))


#: The reason recorded on the objections a withdrawal closes (stored in the database language, Chinese).
CLOSED_REASON = "公示已因其他异议成立而撤销，本异议不再单独处理。"


def _close_open_objections(session: Session, actor: User, notice: PublicityNotice,
                           ip: str | None) -> list[Objection]:
    """A withdrawn notice leaves nothing to decide: close its other undecided objections with the recorded
    reason (decision ``closed``, by the staff member who upheld the objection), audit and tell each objector."""
    now = clock.now()
    closed = undecided(notice)
    scenario = notice.scenario
    for objection in closed:
        objection.decision, objection.decision_reason = ObjectionDecision.CLOSED, CLOSED_REASON
        objection.decided_at, objection.decided_by_id = now, actor.id
    session.flush()
    for objection in closed:
        audit.record(session, actor=actor, action="objection.close", object_type="objection",
                     object_id=objection.id, after={"notice": notice.id, "reason": CLOSED_REASON}, ip=ip)
        notify(session, [objection.objector], "objection.closed",
               _("异议已终结：%(title)s", title=scenario.title)[:200],
               _("因另一件异议成立，“%(title)s”的揭榜结果公示已撤销，场景重新进入评审；您的异议不再单独处理。"
                 "撤销理由：%(reason)s", title=scenario.title, reason=notice.withdrawn_reason),
               notice_path(scenario.id))
    return closed


def notify_applicants_of_notice(session: Session, notice: PublicityNotice,
                                applications: Iterable[Application]) -> None:
    """Tell every applicant (winners and others) that the result is in 公示 until ``ends_at``."""
    scenario = notice.scenario
    for application in applications:
        won = application.status == ApplicationStatus.SELECTED
        body = (_("贵单位为“%(title)s”的拟揭榜单位，结果公示至 %(t)s；公示期结束且异议全部处理后结果生效。",
                  title=scenario.title, t=local(notice.ends_at)) if won else
                _("“%(title)s”揭榜结果公示至 %(t)s。如有异议，可在公示期内登录后提出。",
                  title=scenario.title, t=local(notice.ends_at)))
        notify(session, _firm_users(session, application.organisation_id), "publicity.applicant",
               _("揭榜结果公示：%(title)s", title=scenario.title)[:200], body, notice_path(scenario.id))


# ------------------------------------------------------------------ the public list

@dataclass
class NoticeRow:
    notice: PublicityNotice
    scenario: Scenario
    status: str
    objections: int
    undecided: int


def _int(value: object, name: str, default: int, maximum: int | None = None) -> int:
    if value in (None, ""):
        return default
    number = integral(str(value))  # "30" and also "30.0" (JSON Schema counts it as an integer)
    if number is None:
        message = _("参数 %(name)s 应为正整数。", name=name)
        raise BadParameters(message, {name: [message]})
    if number < 1 or (maximum is not None and number > maximum):
        message = _("参数 %(name)s 超出范围（1–%(hi)d）。", name=name, hi=maximum or MAX_PAGE)
        raise BadParameters(message, {name: [message]})
    return number


def list_notices(session: Session, status: str | None = None, district: str | None = None,
                 page: object = None, per_page: object = None,
                 mine: User | None = None) -> tuple[list[NoticeRow], int, int, int]:
    """Public notices, newest first, filtered by status (open/ended/withdrawn) and district code;
    with *mine*, only that owner's or deciding staff member's notices (see :func:`_mine`)."""
    page_n = _int(page, "page", 1, MAX_PAGE)
    size = _int(per_page, "per_page", PER_PAGE, MAX_PER_PAGE)
    now = clock.now()
    query = sa.select(PublicityNotice).join(Scenario, PublicityNotice.scenario_id == Scenario.id)
    if mine is not None:
        query = _mine(query, mine)
    if status:
        if status not in NOTICE_STATES:
            message = _("未知的公示状态：%(s)s（可用：%(ok)s）", s=status, ok="、".join(NOTICE_STATES))
            raise BadParameters(message, {"status": [message]})
        if status == "withdrawn":
            query = query.where(PublicityNotice.withdrawn_at.is_not(None))
        elif status == "open":
            query = query.where(PublicityNotice.withdrawn_at.is_(None), PublicityNotice.ends_at > now)
        else:
            query = query.where(PublicityNotice.withdrawn_at.is_(None), PublicityNotice.ends_at <= now)
    if district:
        district_id = session.execute(sa.select(District.id).where(District.code == district)).scalar_one_or_none()
        if district_id is None:
            message = _("未知的区县代码：%(c)s", c=district)
            raise BadParameters(message, {"district": [message]})
        query = query.where(Scenario.district_id == district_id)
    total = session.execute(sa.select(sa.func.count()).select_from(query.subquery())).scalar_one()
    notices = session.execute(query.order_by(PublicityNotice.starts_at.desc(), PublicityNotice.id.desc())
                              .limit(size).offset((page_n - 1) * size)).scalars().all()
    rows = [NoticeRow(n, n.scenario, notice_status(n, now), len(n.objections), len(undecided(n))) for n in notices]
    return rows, total, page_n, size


def districts(session: Session) -> list[District]:
    return list(session.execute(sa.select(District).order_by(District.id)).scalars())


def serialize(row: NoticeRow) -> dict:
    """The API item (``GET /api/v1/publicity``)."""
    n = row.notice
    return {"scenario_id": row.scenario.id, "title": row.scenario.title,
            "district": row.scenario.district.code if row.scenario.district else None,
            "winners": [{"firm": w["firm"], "amount_wan": w.get("amount_wan"), "score": w.get("score")}
                        for w in n.winners],
            "starts_at": clock.iso_local(n.starts_at), "ends_at": clock.iso_local(n.ends_at),
            "status": row.status, "objections": row.objections}


def award_summary(session: Session, scenario: Scenario) -> dict | None:
    """``{"status", "publicity_ends_at"}`` for the scenario API, when there is an award state."""
    state = award_state(session, scenario)
    if state is None:
        return None
    notice = notice_of(session, scenario)
    return {"status": state, "publicity_ends_at": clock.iso_local(notice.ends_at) if notice else None}


# ------------------------------------------------------------------ workbench to-dos

#: Filters of the work list (``/objections``): undecided objections, and those not yet answered.
WORK_FILTERS = ("undecided", "unanswered")


def _pending_objections() -> sa.Select:
    """Objections still open to an answer or a decision (undecided, on a notice not withdrawn)."""
    return (sa.select(Objection).join(PublicityNotice, Objection.notice_id == PublicityNotice.id)
            .join(Scenario, PublicityNotice.scenario_id == Scenario.id)
            .where(Objection.decision.is_(None), PublicityNotice.withdrawn_at.is_(None)))


def _mine(query: sa.Select, user: User) -> sa.Select:
    """Limit a notice query to the user's work: the deciding staff's notices (as :func:`can_decide`),
    the owner's own scenarios; nothing for anybody else."""
    if user.role == Role.CITY_STAFF:
        return query.where(PublicityNotice.level == BatchLevel.CITY.value)
    if user.role == Role.DISTRICT_STAFF and user.district_id is not None:
        return query.where(PublicityNotice.level == BatchLevel.DISTRICT.value,
                           Scenario.district_id == user.district_id)
    if user.role == Role.OWNER and user.organisation_id is not None:
        return query.where(Scenario.owner_id == user.organisation_id)
    return query.where(sa.false())


def has_own_notices(user: User | None) -> bool:
    """Whether ``mine=1`` means something on the public list for this user (owner or deciding staff)."""
    return user is not None and user.is_authenticated and user.role in (Role.OWNER, Role.DISTRICT_STAFF,
                                                                          Role.CITY_STAFF)


def work_objections(session: Session, user: User, status: str | None = None) -> list[Objection]:
    """The objections waiting for *user*: staff see those they decide; owners those on their scenarios
    (``unanswered``: not answered yet). Oldest first — the longest-waiting comes first."""
    query = _mine(_pending_objections(), user)
    if status == "unanswered" or (status is None and user.role == Role.OWNER):
        query = query.where(Objection.answer.is_(None))
    return list(session.execute(query.order_by(Objection.created_at, Objection.id)).scalars())


def objections_to_decide_count(session: Session, user: User) -> int:
    """异议待决定: undecided objections the staff member decides."""
    if user.role not in (Role.DISTRICT_STAFF, Role.CITY_STAFF):
        return 0
    query = _mine(_pending_objections(), user)
    return session.execute(sa.select(sa.func.count()).select_from(query.subquery())).scalar_one()


def objections_to_answer_count(session: Session, user: User) -> int:
    """异议待答复: undecided objections on the owner's scenarios that have no answer yet."""
    if user.role != Role.OWNER:
        return 0
    query = _mine(_pending_objections(), user).where(Objection.answer.is_(None))
    return session.execute(sa.select(sa.func.count()).select_from(query.subquery())).scalar_one()


def open_notices_count(session: Session, user: User) -> int:
    """公示中的场景: the owner's scenarios whose notice period is running (the list's ``status=open``)."""
    if user.role != Role.OWNER:
        return 0
    query = _mine(sa.select(PublicityNotice.id).join(Scenario, PublicityNotice.scenario_id == Scenario.id)
                  .where(PublicityNotice.withdrawn_at.is_(None), PublicityNotice.ends_at > clock.now()), user)
    return session.execute(sa.select(sa.func.count()).select_from(query.subquery())).scalar_one()
