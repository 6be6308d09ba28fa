"""Matching of scenarios and firms.

The core — :mod:`.tokenizer` (the project's one tokeniser, shared with search), :mod:`.matcher`
(TF-IDF with explainable signals), :mod:`.bm25` and :mod:`.evaluation` — is pure
Python/NumPy/SciPy/scikit-learn with no Flask or database imports. :mod:`.services`,
:mod:`.freshness` and :mod:`.routes` feed it from the database and show it on the site.
"""
