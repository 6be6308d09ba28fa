"""Matching of scenarios and firms: the shared tokeniser, a TF-IDF matcher with explainable
signals, a BM25 baseline and offline evaluation.  Pure Python/NumPy/SciPy/scikit-learn: no Flask
or database imports in this package."""
