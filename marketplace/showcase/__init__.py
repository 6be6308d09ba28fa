"""Demonstration projects (示范项目): the selection rounds that choose them, the public gallery, and reuse.

One blueprint, ``showcase``, mounted at the site root: the public gallery lives under
``/demonstrations``; the selection workflow under ``/showcase``. The statistics
(:mod:`marketplace.statistics`) and the appraisal (:mod:`marketplace.appraisal`) read this area's
models and delivery facts; this area reads neither.
"""

from __future__ import annotations

from flask import Blueprint, Flask

bp = Blueprint("showcase", __name__)

from marketplace import attachments  # noqa: E402
from marketplace.models import AttachmentPurpose  # noqa: E402
from marketplace.showcase import policy, routes  # noqa: E402,F401


def init_app(app: Flask) -> None:
    """Routes and the access rule of demonstration media."""
    app.register_blueprint(bp)
    attachments.add_access_rule(app, AttachmentPurpose.DEMONSTRATION_MEDIA, policy.media_rule)
