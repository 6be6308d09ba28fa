"""The demo corpus: one import for everything the seed command needs.

A thin facade over :mod:`corpus_orgs` (reference tables, names, USCCs, owners),
:mod:`corpus_firms` (software firms), :mod:`corpus_scenarios` (application
scenarios) and :mod:`corpus_texts` (Q&A, applications, demonstrations).  Every
function takes a ``random.Random`` first and is deterministic for its state.
"""

from __future__ import annotations

from .corpus_firms import software_firms
from .corpus_orgs import (
    DISTRICTS,
    DOMAINS,
    FUNDING_SOURCES,
    THEMES,
    is_valid_uscc,
    make_uscc,
    owner_organisations,
    person_name,
    uscc_check_char,
)
from .corpus_scenarios import _PLACES_SOE as COMPANY_PLACES
from .corpus_scenarios import SECTORS_BY_TOPIC, doubled_word, scenario_texts, topics_for
from .corpus_texts import application_texts, demonstration_texts, questions_and_answers

__all__ = [
    "COMPANY_PLACES",
    "DISTRICTS",
    "DOMAINS",
    "FUNDING_SOURCES",
    "SECTORS_BY_TOPIC",
    "THEMES",
    "application_texts",
    "demonstration_texts",
    "doubled_word",
    "is_valid_uscc",
    "make_uscc",
    "owner_organisations",
    "person_name",
    "questions_and_answers",
    "scenario_texts",
    "software_firms",
    "topics_for",
    "uscc_check_char",
]
