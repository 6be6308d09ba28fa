"""``/api/v1/enterprises``: the public enterprise directory as JSON (verified firms only, public fields only).

Same envelope and errors as the scenario endpoints: ``{"items", "total", "page", "per_page"}``
for lists, ``{"error": {"status", "message", "fields"}}`` for bad parameters (400) and for
profiles that do not exist or are not public (404). Head counts are given as the same band
the public page shows, never the exact number; evidence files never appear.
"""

from __future__ import annotations

from flask import jsonify, request
from flask_babel import gettext as _

from marketplace.api import bp
from marketplace.cors import open_to_other_sites
from marketplace.enterprises import directory
from marketplace.enterprises.serializers import enterprise_detail, enterprise_summary
from marketplace.errors import BadParameters, NotFound, ValidationFailed
from marketplace.extensions import db
from marketplace.pagecache import cached_page


@bp.route("/enterprises")
@open_to_other_sites
@cached_page
def enterprises():
    """Verified firms, filtered like the directory page (district, domain, qualification, q), one page at a time."""
    try:
        filters = directory.parse_filters(db.session, request.args)
    except ValidationFailed as error:
        raise BadParameters(error.message, error.field_errors) from None
    page = directory.page_of(db.session, filters, with_counts=False)
    return jsonify({
        "items": [enterprise_summary(p) for p in page.items],
        "total": page.total,
        "page": page.page,
        "per_page": page.per_page,
    })


@bp.route("/enterprises/<int:profile_id>")
@open_to_other_sites
@cached_page
def enterprise(profile_id: int):
    """The public record of one verified firm; 404 for anything unverified."""
    profile = directory.public_profile(db.session, profile_id)
    if profile is None:
        raise NotFound(_("找不到该企业，或该企业信息尚未通过核验。"))
    return jsonify(enterprise_detail(profile))
