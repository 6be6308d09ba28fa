"""The annual appraisal of districts (年度考评) and the half-year evaluation, under ``/appraisals``.

:mod:`~marketplace.appraisal.computation` holds the rules (indicators, normalisation, ranking,
rewards) and computes them from platform data; :mod:`~marketplace.appraisal.services` creates,
edits and publishes (freezes) an appraisal; :mod:`~marketplace.appraisal.export` writes the XLSX;
:mod:`~marketplace.appraisal.serializers` shapes the public API record. The appraisal reads the
demonstration area's delivery facts (:mod:`marketplace.showcase.facts`); nothing reads the appraisal.
"""

from flask import Blueprint, Flask

bp = Blueprint("appraisal", __name__)

from marketplace.appraisal import routes  # noqa: E402,F401  (registers the views on bp)


def init_app(app: Flask) -> None:
    """Register the appraisal pages (city staff only)."""
    app.register_blueprint(bp)
