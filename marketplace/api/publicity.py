"""``/api/v1/publicity``: 揭榜结果公示 notices (read-only), newest first.

Same envelope as the other lists; an unknown ``status`` or ``district`` code is a 400. Objectors
are never served: only the number of objections.
"""

from __future__ import annotations

from flask import jsonify, request

from marketplace.api import bp
from marketplace.applications import publicity
from marketplace.cors import open_to_other_sites
from marketplace.extensions import db
from marketplace.pagecache import cached_page


@bp.route("/publicity")
@open_to_other_sites
@cached_page
def publicity_notices():
    """Notices filtered by ``status`` (open/ended/withdrawn) and ``district``; paged."""
    rows, total, page, per_page = publicity.list_notices(
        db.session, request.args.get("status") or None, request.args.get("district") or None,
        request.args.get("page"), request.args.get("per_page"))
    return jsonify({"items": [publicity.serialize(r) for r in rows], "total": total, "page": page,
                    "per_page": per_page})
