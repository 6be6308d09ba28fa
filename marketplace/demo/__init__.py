"""Demonstration data for the 应用场景揭榜平台.

``marketplace.demo.corpus`` generates deterministic, realistic Chinese text for
owner organisations, software firms, application scenarios, clarification
questions, 揭榜 applications and demonstration projects.  It is pure data and pure
functions: no Flask, no database, no models.  Every function takes a
``random.Random`` first, so a given seed always yields the same corpus.

All organisations' codes, contacts, figures and project histories produced here
are fictitious demonstration data.
"""
