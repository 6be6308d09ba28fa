"""Delivery views: contract, milestones, progress and acceptance of an awarded scenario.

The owner writes; the winning firm and reviewing staff read the same page without forms. A
refused input re-renders the page with the messages beside the fields; a refused action (the
scenario's state) is flashed by :mod:`marketplace.errors` and the browser sent back.
"""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from marketplace import confirmation
from marketplace.applications import bp, delivery, publicity
from marketplace.applications.evaluation_forms import (
    AcceptanceForm,
    ContractForm,
    MilestoneForm,
    MilestoneRecordForm,
    ProgressForm,
)
from marketplace.errors import ValidationFailed, rejected
from marketplace.extensions import db
from marketplace.formfields import options
from marketplace.models import MilestoneStatus, Role, Scenario, ScenarioStatus
from marketplace.permissions import roles_required, signed_in
from marketplace.scenarios import policy as scenario_policy


def _scenario_or_404(scenario_id: int) -> Scenario:
    scenario = db.session.get(Scenario, scenario_id)
    if scenario is None or not scenario_policy.can_view(current_user, scenario):
        abort(404)
    return scenario


def _render(scenario: Scenario, **given):
    """The delivery page; forms only for the owner, and only where the status allows the action."""
    delivery.require_view(db.session, current_user, scenario)
    manage = delivery.can_manage(current_user, scenario)
    contracts = delivery.contracts_of(db.session, scenario)
    winners = delivery.winners(db.session, scenario)
    contracted = {c.application_id for c in contracts}
    final = publicity.is_final(db.session, scenario)
    notice = None if final else publicity.notice_of(db.session, scenario)
    context = {"scenario": scenario, "manage": manage, "contracts": contracts, "winners": winners,
               "contracted": contracted, "acceptance": delivery.acceptance_of(db.session, scenario),
               "publicity_notice": notice}
    if manage:
        in_delivery = scenario.status == ScenarioStatus.IN_DELIVERY
        open_winners = [a for a in winners if a.id not in contracted]
        if final and open_winners and scenario.status in (ScenarioStatus.AWARDED, ScenarioStatus.IN_DELIVERY):
            form = given.pop("contract_form", None) or ContractForm(prefix="contract", formdata=None)
            form.application_id.choices = options((str(a.id), a.organisation.name) for a in open_winners)
            if form.amount_wan.data is None and len(open_winners) == 1 and open_winners[0].price_wan is not None:
                form.amount_wan.data = f"{open_winners[0].price_wan:.2f}"
            context["contract_form"] = form
        if in_delivery:
            milestone_forms = given.pop("milestone_forms", {})
            progress_forms = given.pop("progress_forms", {})
            record_forms = given.pop("record_forms", {})
            context["milestone_forms"] = {c.id: milestone_forms.get(c.id) or MilestoneForm(prefix=f"ms{c.id}",
                                                                                           formdata=None)
                                          for c in contracts}
            context["progress_forms"] = {c.id: progress_forms.get(c.id) or ProgressForm(prefix=f"pg{c.id}",
                                                                                        formdata=None)
                                         for c in contracts}
            context["record_forms"] = {m.id: record_forms.get(m.id) or MilestoneRecordForm(prefix=f"mr{m.id}",
                                                                                           formdata=None)
                                       for c in contracts for m in c.milestones}
            if contracts:
                context["acceptance_form"] = given.pop("acceptance_form", None) or AcceptanceForm(
                    prefix="acceptance", formdata=None)
    context["pending"] = MilestoneStatus.PENDING
    return render_template("applications/delivery/delivery.html", **context)


def _submit(scenario: Scenario, form, given_key: str, given_value, call, success: str,
            confirm: confirmation.Confirmation | None = None):
    """Validate → (confirm) → service → flash → redirect; field errors re-render with the typed input kept."""
    if not form.validate_on_submit():
        return _render(scenario, **{given_key: given_value}), 422
    try:
        if confirm is not None:
            page = confirmation.require(confirm)
            if page is not None:
                return page
        call(form)
    except ValidationFailed as error:
        status = rejected(form, error)  # roll back and attach the messages before the page renders
        return _render(scenario, **{given_key: given_value}), status
    flash(success, "success")
    return redirect(url_for("applications.delivery", scenario_id=scenario.id))


@bp.route("/scenarios/<int:scenario_id>/delivery", endpoint="delivery")
@signed_in
def delivery_page(scenario_id: int):
    return _render(_scenario_or_404(scenario_id))


@bp.route("/scenarios/<int:scenario_id>/delivery/contract", methods=["POST"])
@roles_required(Role.OWNER)
def delivery_contract(scenario_id: int):
    scenario = _scenario_or_404(scenario_id)
    form = ContractForm(prefix="contract")
    return _submit(scenario, form, "contract_form", form,
                   lambda f: delivery.record_contract(db.session, current_user, scenario, f.application_id.data,
                                                      f.amount_wan.data, f.signed_on.data, f.plan_milestones.data,
                                                      ip=request.remote_addr),
                   _("合同已登记，场景进入实施阶段。"))


@bp.route("/scenarios/<int:scenario_id>/delivery/contracts/<int:contract_id>/milestones", methods=["POST"])
@roles_required(Role.OWNER)
def delivery_milestone(scenario_id: int, contract_id: int):
    scenario = _scenario_or_404(scenario_id)
    form = MilestoneForm(prefix=f"ms{contract_id}")
    return _submit(scenario, form, "milestone_forms", {contract_id: form},
                   lambda f: delivery.add_milestone(db.session, current_user, scenario, contract_id, f.title.data,
                                                    f.due_on.data, ip=request.remote_addr),
                   _("里程碑已添加。"))


@bp.route("/scenarios/<int:scenario_id>/delivery/milestones/<int:milestone_id>", methods=["POST"])
@roles_required(Role.OWNER)
def delivery_milestone_record(scenario_id: int, milestone_id: int):
    scenario = _scenario_or_404(scenario_id)
    form = MilestoneRecordForm(prefix=f"mr{milestone_id}")
    return _submit(scenario, form, "record_forms", {milestone_id: form},
                   lambda f: delivery.record_milestone(db.session, current_user, scenario, milestone_id,
                                                       f.status.data, f.note.data, ip=request.remote_addr),
                   _("里程碑结果已记录。"))


@bp.route("/scenarios/<int:scenario_id>/delivery/contracts/<int:contract_id>/progress", methods=["POST"])
@roles_required(Role.OWNER)
def delivery_progress(scenario_id: int, contract_id: int):
    scenario = _scenario_or_404(scenario_id)
    form = ProgressForm(prefix=f"pg{contract_id}")
    return _submit(scenario, form, "progress_forms", {contract_id: form},
                   lambda f: delivery.add_progress(db.session, current_user, scenario, contract_id, f.text.data,
                                                   f.percent.data, ip=request.remote_addr),
                   _("进度已记录。"))


@bp.route("/scenarios/<int:scenario_id>/delivery/acceptance", methods=["POST"])
@roles_required(Role.OWNER)
def delivery_acceptance(scenario_id: int):
    scenario = _scenario_or_404(scenario_id)
    form = AcceptanceForm(prefix="acceptance")

    def call(f: AcceptanceForm) -> None:
        acceptance = delivery.record_acceptance(db.session, current_user, scenario, f.accepted_on.data,
                                                f.result.data, f.report.data, f.note.data, ip=request.remote_addr)
        if acceptance.result.value == "failed":
            flash(_("已登记验收不通过，场景仍在实施中。"), "warning")

    passed = form.result.data == "passed"
    confirm = confirmation.Confirmation(
        "acceptance", scenario.id, _("确认登记验收：%(t)s", t=scenario.title),
        notified=[_("揭榜单位")],
        public=[_("验收结论和日期（通过时场景状态变为“已验收”，可推荐为示范项目）")] if passed
        else [_("验收不通过的记录（场景仍在实施中）")],
        summary=[(_("验收结论"), _("通过") if passed else _("不通过")),
                 (_("验收日期"), str(form.accepted_on.data or ""))],
        back_url=url_for("applications.delivery", scenario_id=scenario.id),
        file_fields=[(form.report.name, _("验收报告（PDF 或 DOCX）"))],
        precheck=lambda: delivery.check_acceptance(db.session, current_user, scenario, form.accepted_on.data,
                                                   form.result.data, form.report.data, form.note.data))
    return _submit(scenario, form, "acceptance_form", form, call, _("验收已登记。"), confirm)
