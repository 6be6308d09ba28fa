"""Suggestions as JSON (session cookie; read-only).

``GET /api/v1/scenarios/<id>/suggestions`` — 推荐企业 of a scenario, for its owner organisation, its
district staff and city staff: 401 without a session, 404 for a scenario the user cannot see,
403 for other users, 409 when the scenario has no suggestions in its state.
``GET /api/v1/my/recommendations[?domain=code…]`` — 为你推荐, for an enterprise user whose firm has
a verified profile (403 otherwise, 400 for an unknown domain code).

Both answer ``{"items": [...], "model_version"}`` (:mod:`marketplace.matching.serializers`).
"""

from __future__ import annotations

from flask import jsonify, request
from flask_babel import gettext as _
from flask_login import current_user

from marketplace.api import bp
from marketplace.errors import NotFound
from marketplace.extensions import db
from marketplace.matching import serializers, services
from marketplace.models import Role, Scenario
from marketplace.permissions import roles_required
from marketplace.scenarios import policy as scenario_policy


@bp.route("/scenarios/<int:scenario_id>/suggestions")
@roles_required(Role.OWNER, Role.DISTRICT_STAFF, Role.CITY_STAFF)
def scenario_suggestions(scenario_id: int):
    """The firms suggested for one scenario, with their reasons."""
    scenario = db.session.get(Scenario, scenario_id)
    if scenario is None or not scenario_policy.can_view(current_user, scenario):
        raise NotFound(_("找不到该场景。"))
    items, version = services.readable_suggestions(db.session, current_user, scenario)
    return jsonify(serializers.suggestions(items, version))


@bp.route("/my/recommendations")
@roles_required(Role.ENTERPRISE)
def my_recommendations():
    """Open scenarios recommended to the signed-in firm, with their reasons."""
    items, version = services.readable_recommendations(db.session, current_user, request.args.getlist("domain"))
    return jsonify(serializers.suggestions(items, version))
