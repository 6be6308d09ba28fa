"""OCDS 1.1 releases and records for every public scenario (the open-data mapping; no HTTP here).

One **contracting process** per public scenario, identified by ``ocid = "ocds-<OCDS_PREFIX>-<scenario id>"``.
Scenarios in a public status (published and later, ``policy.public_clause``) have releases, and so do those
**withdrawn after publication** (``policy.was_public_withdrawn_clause``; together ``policy.open_data_clause``):
a tender that was public never silently disappears — its releases up to the withdrawal stay as they were and
a final ``cancelled`` release gives the withdrawal and its public reason. A scenario withdrawn before it was
ever published (draft, submitted, returned) has no process; one in re-review has none while it is in review.

Releases are **derived** from the database, never stored: each event of the process below is one release,
a cumulative snapshot of what was public *at that event's time* (``as_of``); sections appear when their
event has happened. The record's ``compiledRelease`` is the snapshot at the latest event (tag ``compiled``),
so merging the releases with the OCDS merge rules gives the same result (the tests check it).

Events → releases (``id = <ocid>-<key>``, ``date`` = the event time, ISO 8601 with +08:00; derived in
:mod:`.events`):

=====================  ===========================  =====================================================
key                    tag                          when
=====================  ===========================  =====================================================
``tender``             tender                       first publication (``Scenario.published_at``)
``amendment-<n>``      tenderAmendment              each re-publication after a substantive change
                                                    (audit log ``scenario.publish`` after the first)
``qa-<question id>``   tenderUpdate                 each answered clarification question
``closed``             tenderUpdate                 the application deadline, once passed: tenderers
                                                    and their number become public
``award``              award                        the award decision (winners' ``decided_at``); awards
                                                    ``pending`` while the 公示 notice runs
``award-final``        awardUpdate                  the notice ended with no objection undecided: awards
                                                    ``active`` (final)
``award-<n>-withdrawn``  awardUpdate                  notice ``n`` withdrawn after an upheld objection: its
                                                    awards ``cancelled`` (a later award's release is
                                                    ``award-<notice id>``)
``unsuccessful``       tenderUpdate                 流榜 (audit ``scenario.unsuccessful``)
``cancelled``          tenderUpdate                 withdrawn after publication (audit ``scenario.withdraw``,
                                                    its public reason ``after.reason``)
``contract-<id>``      contract                     each contract recorded
``milestone-<id>``     implementation(Update)       each milestone outcome recorded
``acceptance``         implementation(Update)       验收 recorded; when passed also contractTermination
=====================  ===========================  =====================================================

Field by field (amounts in 万元 become CNY: ``× 10000``, whole yuan; times to the second with +08:00):

* ``ocid``, ``id``, ``date``, ``tag`` as above; ``initiationType`` ``tender``; ``language`` ``zh``.
* ``parties``: the owner organisation (业主单位) with roles ``buyer`` and ``procuringEntity``, its
  统一社会信用代码 as ``identifier`` (scheme ``CN-USCC``; party ``id`` ``CN-USCC-<code>``, or ``org-<id>``
  without one), ``address`` (district, 重庆市, 中国) and the scenario's public ``contactPoint``;
  ``tenderer`` for every firm with a submitted (not withdrawn) application — **only once the deadline has
  passed** and sealing has ended (:func:`marketplace.applications.policy.seal_ends`), never before; a scenario
  withdrawn before sealing ended never names or counts its tenderers; ``supplier`` for winners.
* ``buyer`` / ``tender.procuringEntity``: reference to the owner party.
* ``planning.budget``: funding source (资金来源) as ``description`` and the budget as ``amount``.
* ``tender.id`` ``<ocid>-tender``; ``title``; ``description`` = summary, description and the sections
  建设边界 (boundary), 技术要求 (requirements), 验收标准 (acceptance criteria), 预期成效 (outcomes);
  ``status`` ``active`` → ``complete`` once the award is final (still ``active`` while it is ``pending``
  in 公示), ``unsuccessful`` after 流榜, ``cancelled`` once withdrawn after publication;
  ``value`` = budget; ``procurementMethod`` ``open``, ``procurementMethodDetails`` 揭榜挂帅 / 赛马;
  ``mainProcurementCategory`` ``services``; ``awardCriteria`` ``ratedCriteria`` with details;
  ``submissionMethod`` ``electronicSubmission``; ``tenderPeriod`` publication → deadline;
  ``enquiryPeriod`` publication → question cut-off (``QUESTION_CUTOFF_HOURS`` before the deadline);
  ``awardPeriod`` deadline → decision (after the deadline only); ``hasEnquiries``;
  ``items[0]`` classified by the platform's industry domain (scheme ``CQ-SCENARIO-DOMAIN``, id = domain code)
  with the application theme as additional classification (``CQ-SCENARIO-THEME``);
  ``numberOfTenderers`` and ``tenderers`` only after the deadline;
  ``documents``: the public scenario page (``tenderNotice``), the scenario's public attachments
  (``technicalSpecifications``), each answered question as ``clarifications`` (question and answer text,
  never the asking firm), the 流榜 notice with its public reason (``awardNotice``), the withdrawal notice
  with its public reason (``cancellationDetails``);
  ``amendments``: one per re-publication, with the changed fields.
* ``awards``: one per selected application (赛马 final winners give several awards), ``id``
  ``award-<application id>``, ``status`` from :func:`award_status`, ``date`` = decision time,
  ``value`` = the winner's quoted price (the awarded amount, public on the scenario page too),
  ``suppliers`` = the firm. None for 流榜 (``tender.status = unsuccessful`` says it). The awards of a
  notice withdrawn after an upheld objection stay, ``cancelled`` from the withdrawal, with the public
  reason as ``description`` (value and firm as the notice showed them); an application proposed again by a
  later notice gets ``award-<application id>-<notice id>`` there, so award ids stay unique and unchanged.
* ``contracts``: one per recorded contract, ``id`` ``contract-<id>``, ``awardID``, ``value`` (contract
  amount), ``dateSigned`` (signing day, 00:00 +08:00), ``period`` signing day → + ``delivery_months``,
  ``status`` ``active``, ``terminated`` once accepted; ``implementation.milestones``: each contract
  milestone (``type`` ``delivery``, ``dueDate`` end of the due day, ``status`` ``scheduled`` / ``met`` /
  ``notMet`` as recorded by then, ``dateMet``, ``dateModified``) and the acceptance (验收) as the last
  milestone (``id`` ``acceptance``, ``type`` ``assessment``, ``met`` when passed, ``notMet`` when failed).

Never published: application content (approach, team, plan, price of losing bids, attachments), scores,
expert names, funding evidence, acceptance reports and notes, milestone notes, progress notes.

Codelists: closed ones are enforced by the schema; of the open ones only ``itemClassificationScheme`` gets
values of our own (:data:`CODELIST_ADDITIONS`), documented on ``/open-data``.

Known limits (the data model keeps current values, not each revision): every snapshot carries the
tender text as it stands now; milestones have no creation time, so a milestone added later shows as
``scheduled`` from the contract's release on.
"""

from __future__ import annotations

import calendar
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from flask import current_app, url_for
from flask_babel import force_locale
from sqlalchemy.orm import Session, selectinload

from marketplace import clock
from marketplace.applications import policy as app_policy
from marketplace.applications.decisions import unsuccessful_reason
from marketplace.config import OCDS_PLACEHOLDER_PREFIX
from marketplace.models import (
    Acceptance,
    AcceptanceResult,
    Application,
    ApplicationStatus,
    Contract,
    Milestone,
    MilestoneStatus,
    Organisation,
    Scenario,
    ScenarioDocument,
    ScenarioMode,
    ScenarioStatus,
)
from marketplace.opendata.events import (
    Facts,
    ReleaseEvent,
    all_events,
    amendments_of,
    award_date,
    award_id,
    award_status,
    events_of,
    load_facts,
    unsuccessful_date,
    withdrawal_date,
    withdrawn_award_status,
)

#: The OCDS version of every package.
OCDS_VERSION = "1.1"
CURRENCY = "CNY"
YUAN_PER_WAN = Decimal(10000)
#: Identifier scheme of 统一社会信用代码 (GB 32100-2015).
USCC_SCHEME = "CN-USCC"
#: Our own item classification schemes (the platform's reference lists).
DOMAIN_SCHEME = "CQ-SCENARIO-DOMAIN"
THEME_SCHEME = "CQ-SCENARIO-THEME"
#: Values we add to OCDS *open* codelists, by codelist file name (documented on /open-data).
CODELIST_ADDITIONS: dict[str, frozenset[str]] = {
    "itemClassificationScheme.csv": frozenset({DOMAIN_SCHEME, THEME_SCHEME}),
}
#: Field names of a substantive change (``scenario.reopen`` audit entries) → the label shown in amendments.
CHANGED_FIELD_LABELS = {
    "title": "标题", "description": "场景描述", "boundary": "建设边界", "requirements": "技术要求",
    "acceptance": "验收标准", "outcomes": "预期成效", "domain_id": "产业领域", "theme_id": "应用主题",
    "funding_source": "资金来源", "budget_wan": "预算", "funding_evidence_id": "资金落实证明",
    "deadline": "揭榜截止时间", "delivery_months": "建设周期", "mode": "揭榜方式", "race_teams": "赛马团队数",
}


def ocid_prefix() -> str:
    """``ocds-<OCDS_PREFIX>``."""
    return f"ocds-{current_app.config['OCDS_PREFIX']}"


def ocid_for(scenario_id: int) -> str:
    """The ocid of a scenario's contracting process."""
    return f"{ocid_prefix()}-{scenario_id}"


def scenario_id_of(ocid: str) -> int | None:
    """The scenario id an ocid of this publisher names, or None for anything else."""
    prefix = ocid_prefix() + "-"
    if not ocid.startswith(prefix):
        return None
    rest = ocid[len(prefix):]
    if not rest.isascii() or not rest.isdigit() or rest.startswith("0") or len(rest) > 10:
        return None
    value = int(rest)
    return value if value <= 2**31 - 1 else None


def is_placeholder_prefix() -> bool:
    """True while ``OCDS_PREFIX`` is still the unregistered default."""
    return current_app.config["OCDS_PREFIX"] == OCDS_PLACEHOLDER_PREFIX


# ------------------------------------------------------------------ the public data of a process

@dataclass
class Process:
    """Everything public about one scenario's contracting process, loaded in bulk."""

    scenario: Scenario
    facts: Facts
    #: Submitted-or-later, never withdrawn applications (the tenderers), by id.
    tenderers: list[Application]
    contracts: list[Contract]
    acceptance: Acceptance | None
    unsuccessful_reason: str | None


def load_processes(session: Session, scenario_ids: Sequence[int]) -> list[Process]:
    """The processes of the given scenarios that have open data (public, or withdrawn after publication),
    in the order given."""
    facts = load_facts(session, scenario_ids)
    if not facts:
        return []
    ids = list(facts)
    scenarios = {s.id: s for s in session.execute(
        sa.select(Scenario).where(Scenario.id.in_(ids)).options(
            selectinload(Scenario.owner).selectinload(Organisation.district), selectinload(Scenario.district),
            selectinload(Scenario.domain), selectinload(Scenario.theme), selectinload(Scenario.questions),
            selectinload(Scenario.documents).selectinload(ScenarioDocument.attachment))).scalars()}
    tenderers: dict[int, list[Application]] = defaultdict(list)
    for application in session.execute(
            sa.select(Application).where(Application.scenario_id.in_(ids), app_policy.count_clause())
            .options(selectinload(Application.organisation).selectinload(Organisation.district))
            .order_by(Application.id)).scalars():
        tenderers[application.scenario_id].append(application)
    contracts: dict[int, list[Contract]] = defaultdict(list)
    for contract in session.execute(
            sa.select(Contract).where(Contract.scenario_id.in_(ids))
            .options(selectinload(Contract.milestones)).order_by(Contract.id)).scalars():
        contracts[contract.scenario_id].append(contract)
    acceptances = {a.scenario_id: a for a in session.execute(
        sa.select(Acceptance).where(Acceptance.scenario_id.in_(ids))).scalars()}
    processes = []
    for sid in scenario_ids:
        if sid not in facts:
            continue
        scenario = scenarios[sid]
        reason = unsuccessful_reason(session, scenario) if scenario.status == ScenarioStatus.UNSUCCESSFUL else None
        processes.append(Process(scenario, facts[sid], tenderers[sid], contracts[sid], acceptances.get(sid), reason))
    return processes


# ------------------------------------------------------------------ building a release

def _amount(wan: Decimal | None) -> dict[str, Any] | None:
    """万元 → ``{"amount": yuan, "currency": "CNY"}`` (a whole number: amounts have two decimals in 万元)."""
    if wan is None:
        return None
    yuan = Decimal(wan) * YUAN_PER_WAN
    return {"amount": int(yuan) if yuan == yuan.to_integral_value() else float(yuan), "currency": CURRENCY}


def _day_start(day: date) -> str:
    return clock.to_local(clock.local_to_utc(datetime.combine(day, time(0, 0)))).isoformat(timespec="seconds")


def _day_end(day: date) -> str:
    return clock.iso_local(clock.local_day_end(day))  # type: ignore[return-value]


def _add_months(day: date, months: int) -> date:
    month = day.month - 1 + months
    year, month = day.year + month // 12, month % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def party_id(organisation: Organisation) -> str:
    """``CN-USCC-<统一社会信用代码>``, or ``org-<id>`` for an organisation without one."""
    return f"{USCC_SCHEME}-{organisation.uscc}" if organisation.uscc else f"org-{organisation.id}"


def _party(organisation: Organisation, roles: Iterable[str]) -> dict[str, Any]:
    party: dict[str, Any] = {"id": party_id(organisation), "name": organisation.name}
    if organisation.uscc:
        party["identifier"] = {"scheme": USCC_SCHEME, "id": organisation.uscc, "legalName": organisation.name}
    address = {"region": "重庆市", "countryName": "中国"}
    if organisation.district is not None:
        address["locality"] = organisation.district.name
    party["address"] = address
    party["roles"] = sorted(set(roles), key=_ROLE_ORDER.index)
    return party


_ROLE_ORDER = ["buyer", "procuringEntity", "tenderer", "supplier"]


def _ref(organisation: Organisation) -> dict[str, str]:
    return {"id": party_id(organisation), "name": organisation.name}


def _description(scenario: Scenario) -> str:
    sections = [scenario.summary, scenario.description]
    for label, text in (("建设边界", scenario.boundary), ("技术要求", scenario.requirements),
                        ("验收标准", scenario.acceptance), ("预期成效", scenario.outcomes)):
        if text:
            sections.append(f"{label}：{text}")
    return "\n\n".join(s.strip() for s in sections if s and s.strip())


def _method_details(scenario: Scenario) -> str:
    if scenario.mode == ScenarioMode.HORSE_RACE:
        teams = f"（最多 {scenario.race_teams} 支团队）" if scenario.race_teams else ""
        return f"赛马{teams}：入选团队分阶段并行开发，按阶段评估择优确定最终揭榜单位"
    return "揭榜挂帅：公开征集，择优确定一家揭榜单位"


def _notice(scenario: Scenario, doc_id: str, doc_type: str, title: str, published: datetime,
            description: str | None) -> dict[str, Any]:
    """A public notice on the scenario page (流榜, withdrawal) as a document, with its public reason if any."""
    notice: dict[str, Any] = {
        "id": doc_id, "documentType": doc_type, "title": title,
        "url": url_for("scenarios.detail", scenario_id=scenario.id, _external=True),
        "datePublished": clock.iso_local(published), "format": "text/html", "language": "zh",
    }
    if description:
        notice["description"] = description
    return notice


def _documents(process: Process, as_of: datetime) -> list[dict[str, Any]]:
    scenario = process.scenario
    docs: list[dict[str, Any]] = [{
        "id": "scenario-page", "documentType": "tenderNotice", "title": f"应用场景：{scenario.title}",
        "url": url_for("scenarios.detail", scenario_id=scenario.id, _external=True),
        "datePublished": clock.iso_local(scenario.published_at), "format": "text/html", "language": "zh",
    }]
    for document in sorted((d for d in scenario.documents if d.public), key=lambda d: d.attachment_id):
        attachment = document.attachment
        published = max(attachment.created_at, scenario.published_at)  # type: ignore[type-var]
        if published > as_of:
            continue
        docs.append({
            "id": f"attachment-{attachment.id}", "documentType": "technicalSpecifications",
            "title": attachment.filename, "url": url_for("main.download", attachment_id=attachment.id, _external=True),
            "datePublished": clock.iso_local(published), "format": attachment.content_type, "language": "zh",
        })
    answered = [q for q in scenario.questions if q.answer and q.answered_at and q.answered_at <= as_of]
    for question in sorted(answered, key=lambda q: (q.answered_at, q.id)):
        docs.append({
            "id": f"qa-{question.id}", "documentType": "clarifications",
            "title": f"答疑：{question.text[:60]}", "description": f"问：{question.text}\n答：{question.answer}",
            "url": url_for("scenarios.detail", scenario_id=scenario.id, _external=True) + f"#question-{question.id}",
            "datePublished": clock.iso_local(question.answered_at), "format": "text/html", "language": "zh",
        })
    failed = unsuccessful_date(process.facts)
    if failed is not None and failed <= as_of:
        docs.append(_notice(scenario, "unsuccessful-notice", "awardNotice", "流榜公告", failed,
                            process.unsuccessful_reason))
    withdrawn = withdrawal_date(process.facts)
    if withdrawn is not None and withdrawn <= as_of:
        reason = process.facts.withdrawal_reason
        docs.append(_notice(scenario, "cancellation-notice", "cancellationDetails", "场景撤回公告", withdrawn,
                            f"撤回原因：{reason}" if reason else None))
    return docs


def _tender(process: Process, as_of: datetime, now: datetime, ocid: str,
            tenderers: list[Application]) -> dict[str, Any]:
    scenario, facts = process.scenario, process.facts
    decided, failed, withdrawn = award_date(facts), unsuccessful_date(facts), withdrawal_date(facts)
    status = "active"
    if withdrawn is not None and withdrawn <= as_of:  # withdrawn after publication (never after an award)
        status = "cancelled"
    elif award_status(facts, as_of, now) == "active":  # complete once the award is final, not during 公示
        status = "complete"
    elif failed is not None and failed <= as_of:
        status = "unsuccessful"
    tender: dict[str, Any] = {
        "id": f"{ocid}-tender", "title": scenario.title, "description": _description(scenario), "status": status,
        "procuringEntity": _ref(scenario.owner),
    }
    item: dict[str, Any] = {"id": "1", "description": scenario.title, "quantity": 1}
    if scenario.domain is not None:
        item["classification"] = {"scheme": DOMAIN_SCHEME, "id": scenario.domain.code,
                                  "description": scenario.domain.name}
    if scenario.theme is not None:
        item["additionalClassifications"] = [{"scheme": THEME_SCHEME, "id": scenario.theme.code,
                                              "description": scenario.theme.name}]
    tender["items"] = [item]
    value = _amount(scenario.budget_wan)
    if value:
        tender["value"] = value
    tender.update({
        "procurementMethod": "open", "procurementMethodDetails": _method_details(scenario),
        "mainProcurementCategory": "services", "awardCriteria": "ratedCriteria",
        "awardCriteriaDetails": "评审专家按业主单位设定的加权评审标准打分，业主单位据此择优确定揭榜单位。",
        "submissionMethod": ["electronicSubmission"],
        "submissionMethodDetails": "在平台上提交揭榜申请（截止前密封，任何人不可查看）。",
    })
    period: dict[str, Any] = {"startDate": clock.iso_local(scenario.published_at)}
    if scenario.deadline is not None:
        period["endDate"] = clock.iso_local(scenario.deadline)
    tender["tenderPeriod"] = period
    if scenario.deadline is not None:
        cutoff = scenario.deadline - timedelta(hours=current_app.config.get("QUESTION_CUTOFF_HOURS", 48))
        tender["enquiryPeriod"] = {"startDate": clock.iso_local(scenario.published_at),
                                   "endDate": clock.iso_local(max(cutoff, scenario.published_at))}
    tender["hasEnquiries"] = any(q.answer and q.answered_at and q.answered_at <= as_of for q in scenario.questions)
    if _open_to_public(process, as_of, now):
        award_period: dict[str, Any] = {"startDate": clock.iso_local(scenario.deadline)}
        end = next((when for when in (decided, failed, withdrawn) if when is not None and when <= as_of), None)
        if end is not None:
            award_period["endDate"] = clock.iso_local(end)
        tender["awardPeriod"] = award_period
        tender["numberOfTenderers"] = len(tenderers)
        tender["tenderers"] = [_ref(a.organisation) for a in tenderers]
    tender["documents"] = _documents(process, as_of)
    amendments = [a for a in amendments_of(process.facts) if a.date <= as_of]
    if amendments:
        tender["amendments"] = [{
            "id": str(a.number), "date": clock.iso_local(a.date),
            "rationale": "业主单位对已发布场景作出实质性修改，经审核后重新发布；已提交申请的企业须重新确认。",
            "description": "修改内容：" + ("、".join(CHANGED_FIELD_LABELS.get(n, n) for n in a.changed) or "未记录"),
            "releaseID": f"{ocid}-amendment-{a.number}",
        } for a in amendments]
    return tender


def _open_to_public(process: Process, as_of: datetime, now: datetime) -> bool:
    """Tenderers may be named: sealing had ended at ``as_of`` and the applications are unsealed now.

    ``Facts.seal_ends`` is the twin of :func:`marketplace.applications.policy.seal_ends` (read in bulk).
    """
    ends = process.facts.seal_ends()
    return ends is not None and ends <= as_of and process.facts.unsealed(now)


def _withdrawn_awards(process: Process, as_of: datetime) -> list[dict[str, Any]]:
    """The awards of notices withdrawn after an upheld objection: ``pending`` while the notice ran, then
    ``cancelled`` with the public reason — the process keeps a trace of every proposed award."""
    scenario, facts = process.scenario, process.facts
    by_id = {a.id: a for a in process.tenderers}
    awards = []
    for notice in facts.withdrawn:
        status = withdrawn_award_status(notice, as_of)
        if status is None:
            continue
        for application_id, amount_wan in notice.winners:
            application = by_id.get(application_id)
            if application is None:
                continue
            award: dict[str, Any] = {
                "id": award_id(facts, application_id, notice.id),
                "title": f"{scenario.title}：拟揭榜单位 {application.organisation.name}",
                "status": status, "date": clock.iso_local(notice.starts_at),
                "suppliers": [_ref(application.organisation)],
            }
            if status == "cancelled":
                award["description"] = ("公示期间异议成立，公示已撤销，场景重新评审。"
                                        + (f"撤销理由：{notice.reason}" if notice.reason else ""))
            value = _amount(Decimal(amount_wan)) if amount_wan else None
            if value:
                award["value"] = value
            awards.append(award)
    return awards


def _awards(process: Process, as_of: datetime, now: datetime) -> list[dict[str, Any]]:
    awards = _withdrawn_awards(process, as_of)
    status = award_status(process.facts, as_of, now)
    if status is None:
        return awards
    decided = award_date(process.facts)
    scenario = process.scenario
    for application in process.tenderers:
        if application.status != ApplicationStatus.SELECTED:
            continue
        award: dict[str, Any] = {
            "id": award_id(process.facts, application.id, process.facts.notice_id),
            "title": f"{scenario.title}：揭榜单位 {application.organisation.name}",
            "status": status, "date": clock.iso_local(application.decided_at or decided),
            "suppliers": [_ref(application.organisation)],
        }
        value = _amount(application.price_wan)
        if value:
            award["value"] = value
        awards.append(award)
    return awards


def _milestone(milestone: Milestone, as_of: datetime) -> dict[str, Any]:
    item: dict[str, Any] = {"id": f"milestone-{milestone.id}", "title": milestone.title, "type": "delivery",
                            "dueDate": _day_end(milestone.due_on), "status": "scheduled"}
    recorded = milestone.recorded_at
    if recorded is not None and recorded <= as_of and milestone.status != MilestoneStatus.PENDING:
        item["status"] = "met" if milestone.status == MilestoneStatus.MET else "notMet"
        if milestone.status == MilestoneStatus.MET:
            item["dateMet"] = clock.iso_local(recorded)
        item["dateModified"] = clock.iso_local(recorded)
    return item


def _contracts(process: Process, as_of: datetime) -> list[dict[str, Any]]:
    scenario, acceptance = process.scenario, process.acceptance
    accepted = acceptance if acceptance is not None and acceptance.created_at <= as_of else None
    contracts = []
    for contract in process.contracts:
        if contract.created_at > as_of:
            continue
        end = _add_months(contract.signed_on, scenario.delivery_months) if scenario.delivery_months else None
        period = {"startDate": _day_start(contract.signed_on)}
        if end is not None:
            period["endDate"] = _day_end(end)
        milestones = [_milestone(m, as_of) for m in sorted(contract.milestones, key=lambda m: (m.due_on, m.id))]
        if accepted is not None:
            passed = accepted.result == AcceptanceResult.PASSED
            final: dict[str, Any] = {"id": "acceptance", "title": "验收", "type": "assessment",
                                     "description": "业主单位组织验收" + ("，验收通过。" if passed else "，验收未通过，整改后再次验收。"),
                                     "status": "met" if passed else "notMet",
                                     "dateModified": clock.iso_local(accepted.created_at)}
            if end is not None:
                final["dueDate"] = _day_end(end)
            if passed:
                final["dateMet"] = _day_start(accepted.accepted_on)
            milestones.append(final)
        item: dict[str, Any] = {
            "id": f"contract-{contract.id}",
            "awardID": award_id(process.facts, contract.application_id, process.facts.notice_id),
            "title": f"{scenario.title}：合同", "period": period,
            "status": "terminated" if accepted is not None and accepted.result == AcceptanceResult.PASSED else "active",
            "dateSigned": _day_start(contract.signed_on),
        }
        value = _amount(contract.amount_wan)
        if value:
            item["value"] = value
        if milestones:
            item["implementation"] = {"milestones": milestones}
        contracts.append(item)
    return contracts


def build_release(process: Process, event: ReleaseEvent | None, now: datetime) -> dict[str, Any]:
    """The release of ``event`` (a snapshot as of its date); ``None`` builds the compiled release."""
    facts, scenario = process.facts, process.scenario
    ocid = ocid_for(scenario.id)
    events = events_of(facts, now)
    as_of = event.date if event is not None else events[-1].date
    unsealed = _open_to_public(process, as_of, now)
    tenderers = process.tenderers if unsealed else []
    awards = _awards(process, as_of, now)
    suppliers = {a["suppliers"][0]["id"] for a in awards}
    with force_locale("zh_CN"):
        funding = scenario.funding_source.label if scenario.funding_source else None
        release: dict[str, Any] = {
            "ocid": ocid,
            "id": f"{ocid}-{event.key}" if event is not None else f"{ocid}-compiled",
            "date": clock.iso_local(as_of),
            "tag": list(event.tags) if event is not None else ["compiled"],
            "initiationType": "tender",
            "language": "zh",
        }
        buyer = _party(scenario.owner, ("buyer", "procuringEntity"))
        contact = {k: v for k, v in (("name", scenario.contact_name), ("telephone", scenario.contact_phone),
                                     ("email", scenario.contact_email)) if v}
        if contact:
            buyer["contactPoint"] = contact
        parties: dict[str, dict[str, Any]] = {buyer["id"]: buyer}
        for application in tenderers:
            organisation = application.organisation
            roles = ["tenderer"] + (["supplier"] if party_id(organisation) in suppliers else [])
            if party_id(organisation) in parties:
                known = parties[party_id(organisation)]
                known["roles"] = sorted(set(known["roles"]) | set(roles), key=_ROLE_ORDER.index)
            else:
                parties[party_id(organisation)] = _party(organisation, roles)
        release["parties"] = list(parties.values())
        release["buyer"] = _ref(scenario.owner)
        budget: dict[str, Any] = {"id": "budget"}
        if funding:
            budget["description"] = f"资金来源：{funding}"
        amount = _amount(scenario.budget_wan)
        if amount:
            budget["amount"] = amount
        release["planning"] = {"budget": budget}
        release["tender"] = _tender(process, as_of, now, ocid, tenderers)
        if awards:
            release["awards"] = awards
        contracts = _contracts(process, as_of)
        if contracts:
            release["contracts"] = contracts
    return release


def releases_of(process: Process, now: datetime) -> list[dict[str, Any]]:
    """Every release of one process, oldest first."""
    return [build_release(process, event, now) for event in events_of(process.facts, now)]


def compiled_release(process: Process, now: datetime) -> dict[str, Any]:
    """The current state of the process (tag ``compiled``)."""
    return build_release(process, None, now)


# ------------------------------------------------------------------ packages

def _package_head(uri: str, published: datetime) -> dict[str, Any]:
    config = current_app.config
    return {
        "uri": uri,
        "version": OCDS_VERSION,
        "publishedDate": clock.iso_local(published),
        "publisher": {"name": config["OCDS_PUBLISHER"], "uri": config["SITE_URL"]},
        "license": config["OPEN_DATA_LICENSE"],
        "publicationPolicy": url_for("opendata.index", _external=True),
    }


@dataclass
class ReleasePage:
    """One page of the release list, newest first."""

    releases: list[dict[str, Any]]
    total: int
    page: int
    per_page: int

    @property
    def has_next(self) -> bool:
        return self.page * self.per_page < self.total


def release_page(session: Session, now: datetime, since: datetime | None, until: datetime | None,
                 page: int, per_page: int) -> ReleasePage:
    """Releases dated within [since, until], newest first, one page of them."""
    events = [e for e in all_events(session, now)
              if (since is None or e.date >= since) and (until is None or e.date <= until)]
    chosen = events[(page - 1) * per_page: page * per_page]
    processes = {p.scenario.id: p for p in load_processes(session, sorted({e.scenario_id for e in chosen}))}
    releases = [build_release(processes[e.scenario_id], e, now) for e in chosen if e.scenario_id in processes]
    return ReleasePage(releases, len(events), page, per_page)


def release_package(releases: list[dict[str, Any]], uri: str, now: datetime,
                    links: dict[str, str] | None = None) -> dict[str, Any]:
    """A release package; ``publishedDate`` is the newest release's date (the contents' last change)."""
    published = max((datetime.fromisoformat(r["date"]) for r in releases), default=now)
    package = _package_head(uri, published)
    package["releases"] = releases
    if links:
        package["links"] = links
    return package


def record_package(process: Process, uri: str, now: datetime) -> dict[str, Any]:
    """A record package with the one record of ``process``: every release (embedded) and the compiled one."""
    releases = releases_of(process, now)
    package = _package_head(uri, datetime.fromisoformat(releases[-1]["date"]))
    package["records"] = [{"ocid": ocid_for(process.scenario.id), "releases": releases,
                           "compiledRelease": compiled_release(process, now)}]
    return package


def process_for(session: Session, scenario_id: int) -> Process | None:
    """The process of one scenario with open data (public, or withdrawn after publication), or None."""
    found = load_processes(session, [scenario_id])
    return found[0] if found else None
