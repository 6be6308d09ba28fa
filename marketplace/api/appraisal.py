"""``GET /api/v1/appraisals/<year>``: the published annual appraisal of a year (read-only).

Nothing unpublished is served: a draft appraisal, or only a half-year evaluation, answers 404
like a missing one.
"""

from __future__ import annotations

from flask import jsonify
from flask_babel import gettext as _

from marketplace.api import bp
from marketplace.appraisal.computation import outcome
from marketplace.appraisal.serializers import appraisal_record
from marketplace.appraisal.services import published_annual
from marketplace.cors import open_to_other_sites
from marketplace.errors import NotFound
from marketplace.extensions import db
from marketplace.pagecache import cached_page


@bp.route("/appraisals/<int:year>")
@open_to_other_sites
@cached_page
def appraisal(year: int):
    """The published annual appraisal of ``year``: each district's indicators, score, rank and reward."""
    found = published_annual(db.session, year)
    if found is None:
        raise NotFound(_("%(y)d 年度考评结果尚未发布。", y=year))
    return jsonify(appraisal_record(found, outcome(db.session, found)))
