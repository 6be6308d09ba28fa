""""不相关" / "恢复推荐" on a scenario's 推荐企业 (owner organisation and its reviewers).

Registered on the matching blueprint (:mod:`marketplace.matching.routes`) by
:func:`marketplace.matching.init_app`.  Thin views: one service call, a flash, a redirect; the unit
of work commits (:mod:`marketplace.unit_of_work`) and domain errors become a flash + redirect or an
error page in one place (:mod:`marketplace.errors`).
"""

from __future__ import annotations

from flask import flash, redirect, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from marketplace.errors import NotFound
from marketplace.extensions import db
from marketplace.matching import services
from marketplace.matching.routes import bp
from marketplace.models import Scenario
from marketplace.permissions import signed_in
from marketplace.scenarios import policy as scenario_policy


def _scenario(scenario_id: int) -> Scenario:
    scenario = db.session.get(Scenario, scenario_id)
    if scenario is None or not scenario_policy.can_view(current_user, scenario):
        raise NotFound(_("找不到该场景。"))
    return scenario


def _back(scenario: Scenario):
    return redirect(url_for("scenarios.detail", scenario_id=scenario.id) + "#match-suggestions", 303)


@bp.route("/scenarios/<int:scenario_id>/suggestions/<int:profile_id>/not-relevant", methods=["POST"])
@signed_in
def not_relevant(scenario_id: int, profile_id: int):
    """不相关: the firm is no longer suggested for this scenario (only)."""
    scenario = _scenario(scenario_id)
    if services.mark_not_relevant(db.session, current_user, scenario, profile_id, request.remote_addr):
        flash(_("已标记为不相关，该企业不再出现在本场景的推荐中。"), "success")
    else:
        flash(_("该企业已标记为不相关。"), "info")
    return _back(scenario)


@bp.route("/scenarios/<int:scenario_id>/suggestions/<int:profile_id>/relevant", methods=["POST"])
@signed_in
def relevant_again(scenario_id: int, profile_id: int):
    """恢复推荐: withdraw a "not relevant" mark."""
    scenario = _scenario(scenario_id)
    if services.restore_suggestion(db.session, current_user, scenario, profile_id, request.remote_addr):
        flash(_("已恢复推荐该企业。"), "success")
    else:
        flash(_("该企业未被标记为不相关。"), "info")
    return _back(scenario)
