"""``GET /api/v1/scenarios/<id>/applications``: a scenario's applications, sealed until the deadline.

For the owner organisation, the scenario's district staff and city staff (session cookie).
401 without a session, 404 for an unknown or never-published scenario, 403 for other
users and for everyone while the applications are sealed (the body says how many there are).
"""

from __future__ import annotations

from flask import jsonify
from flask_babel import gettext as _
from flask_login import current_user

from marketplace.api import bp
from marketplace.applications import policy, services
from marketplace.applications.serializers import application_item
from marketplace.clock import iso_local
from marketplace.errors import NotFound, PermissionDenied
from marketplace.extensions import db
from marketplace.models import Role, Scenario
from marketplace.permissions import roles_required
from marketplace.scenarios import policy as scenario_policy


@bp.route("/scenarios/<int:scenario_id>/applications")
@roles_required(Role.OWNER, Role.DISTRICT_STAFF, Role.CITY_STAFF)
def scenario_applications(scenario_id: int):
    scenario = db.session.get(Scenario, scenario_id)
    if scenario is None or scenario.published_at is None or not scenario_policy.can_view(current_user, scenario):
        raise NotFound(_("找不到该场景，或该场景尚未公开发布。"))
    if not services.can_use_api(current_user, scenario):
        raise PermissionDenied(_("只有业主单位、所在区县和市级工作人员可以查看揭榜申请。"))
    if policy.is_sealed(scenario):
        raise PermissionDenied(_("揭榜截止（%(d)s，北京时间）前申请材料密封，不能查看；目前已收到 %(n)d 份申请。",
                                 d=services.deadline_text(scenario), n=services.public_count(db.session, scenario)))
    items = [application_item(a) for a in services.readable_applications(db.session, current_user, scenario)]
    return jsonify({"scenario": scenario.id, "deadline": iso_local(scenario.deadline), "count": len(items),
                    "items": items})
