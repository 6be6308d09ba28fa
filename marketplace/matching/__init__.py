"""Matching of scenarios and firms.

The core — :mod:`.matcher` (TF-IDF with explainable signals), :mod:`.terms` (what counts as a
term; exclusion clauses), :mod:`.bm25` and :mod:`.evaluation`, over the shared tokeniser
:mod:`marketplace.text.tokenizer` — is pure Python/NumPy/SciPy/scikit-learn with no Flask or
database imports. :mod:`.services`, :mod:`.feedback` ("不相关" marks), :mod:`.report` (``flask match
report``), :mod:`.freshness`, :mod:`.serializers` and the views (:mod:`.routes`,
:mod:`.feedback_routes`; the API in :mod:`marketplace.api.matching`) feed it from the database and
show it on the site; they are wired by :func:`init_app`, imported by the factory only (so
importing the core stays cheap).
"""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    """The "邀请揭榜" / "为你推荐" / "不相关" views, the firm's panel, the model cache and its commit hooks."""
    from marketplace.main.panels import add_panel
    from marketplace.matching import feedback_routes, freshness, routes, services  # noqa: F401  (feedback_routes: views on routes.bp)
    from marketplace.models import Role

    app.register_blueprint(routes.bp)
    add_panel(app, (Role.ENTERPRISE,), "matching/_panel.html", services.firm_panel)
    freshness.init_app(app, services.build_model)
