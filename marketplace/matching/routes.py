"""Matching views: "邀请揭榜" from a scenario's 推荐企业, the firm's "为你推荐" page and panel.

The scenario page's block is rendered from ``matching_panel(scenario)``, a template global
(``templates/matching/_suggestions.html``); the workspace panel is registered for enterprises.
"""

from __future__ import annotations

import logging

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from marketplace.extensions import db
from marketplace.matching import services
from marketplace.models import Role, Scenario
from marketplace.permissions import roles_required, signed_in
from marketplace.scenarios import policy as scenario_policy

log = logging.getLogger("marketplace.matching")

bp = Blueprint("matching", __name__)


@bp.app_template_global()
def matching_panel(scenario: Scenario) -> dict | None:
    """Context of ``matching/_suggestions.html`` (``None`` for everybody but owner and reviewers)."""
    user = current_user if current_user.is_authenticated else None
    try:
        return services.scenario_panel(db.session, user, scenario)
    except Exception:  # matching must never break the scenario page
        log.exception("matching: suggestions for scenario %s failed", scenario.id)
        return {"error": True}


@bp.route("/scenarios/<int:scenario_id>/invite/<int:profile_id>", methods=["POST"])
@signed_in
def invite(scenario_id: int, profile_id: int):
    """邀请揭榜: notify the firm's users once (a second click only says so)."""
    scenario = db.session.get(Scenario, scenario_id)
    if scenario is None or not scenario_policy.can_view(current_user, scenario):
        abort(404)
    sent = services.invite(db.session, current_user, scenario, profile_id, request.remote_addr)
    if sent:
        flash(_("已向该企业发送揭榜邀请。"), "success")
    else:
        flash(_("已邀请过该企业，不再重复发送。"), "info")
    return redirect(url_for("scenarios.detail", scenario_id=scenario.id) + "#match-suggestions")


@bp.route("/my/recommendations")
@roles_required(Role.ENTERPRISE)
def recommendations():
    """为你推荐: open scenarios fitting the firm's profile, tunable by domain (``?domain=…``)."""
    context = services.firm_recommendations(db.session, current_user, request.args.getlist("domain"))
    return render_template("matching/recommendations.html", rec=context)
