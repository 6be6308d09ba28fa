"""Statistics: the public ``/statistics`` page and the staff district dashboards (``/dashboard/districts``).

Modules: :mod:`~marketplace.statistics.scope` (which district and year, who may ask, labels),
:mod:`~marketplace.statistics.facts` (one light row per scenario), :mod:`~marketplace.statistics.queries`
(the records behind each number), :mod:`~marketplace.statistics.figures` (the tables),
:mod:`~marketplace.statistics.export` (XLSX), :mod:`~marketplace.statistics.serializers` (tables as
data for templates, charts and the API) and :mod:`~marketplace.statistics.routes`.

Definitions (shown on the pages too):

- A scenario's *date* is when it was published or, not yet published, when it was submitted
  for review; "year" and "month" are those of that date in Asia/Shanghai. A year scope is a
  cohort: "of the scenarios published in 2024, how many were awarded".
- Drafts are never counted: a scenario is *collected* (征集) once submitted.
- The funnel is cumulative: collected → published (published or later) → awarded (awarded,
  in delivery or accepted) → in delivery (in delivery or accepted) → accepted → demonstration.
- "Closed" is derived from the clock, as everywhere: published and past its deadline.
- Awarded funding: the scenario's contract amounts, or, while no contract is recorded, the quoted
  prices of its selected applications (the rule of :mod:`marketplace.showcase.facts`). Only
  scenarios awarded or later whose deadline has passed are read: applications are sealed before.
- A winner is a *district* firm when its organisation is in the scenario's district, a *city*
  firm when its organisation has any district but "other".
- Public statistics read public scenarios only (published and later) and show counts only:
  no funding, no firms, nothing from applications.
"""

from flask import Blueprint, Flask

bp = Blueprint("statistics", __name__)

from marketplace.statistics import routes  # noqa: E402,F401  (registers the views on bp)


def init_app(app: Flask) -> None:
    """Register the public statistics and the district dashboards."""
    app.register_blueprint(bp)
