"""Demonstration projects (示范项目), their reuse, and the annual appraisal of districts (年度考评).

One blueprint, ``showcase``, mounted at the site root: the public gallery lives under
``/demonstrations``; the selection workflow under ``/showcase``; the appraisal under ``/appraisals``.
Other modules of the area (for example the public statistics) add their routes to the
same blueprint by importing it and appending an import line below.
"""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("showcase", __name__)

# Route modules, one line each (merge-friendly, hence I001 off for this block).
from marketplace.showcase import routes  # noqa: E402,F401,I001
from marketplace.showcase import appraisal_routes  # noqa: E402,F401
from marketplace.showcase import statistics_routes  # noqa: E402,F401
