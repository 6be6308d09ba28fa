"""Demonstration projects (示范项目), their reuse, and the annual appraisal of districts (年度考评).

One blueprint, ``showcase``, mounted at the site root: the public gallery lives under
``/demonstrations``; the selection workflow under ``/showcase``; the appraisal under ``/appraisals``.
"""

from __future__ import annotations

from flask import Blueprint, Flask

bp = Blueprint("showcase", __name__)

from marketplace import attachments  # noqa: E402
from marketplace.models import AttachmentPurpose  # noqa: E402
from marketplace.showcase import appraisal_routes, policy, routes, statistics_routes  # noqa: E402,F401


def init_app(app: Flask) -> None:
    """Routes and the access rule of demonstration media."""
    app.register_blueprint(bp)
    attachments.add_access_rule(app, AttachmentPurpose.DEMONSTRATION_MEDIA, policy.media_rule)
