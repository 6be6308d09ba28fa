"""JSON shapes of suggestions (``/api/v1/scenarios/<id>/suggestions``, ``/api/v1/my/recommendations``).

One item per suggestion: who or what is suggested, ``score = text_score + Σ signals.contribution``,
and ``shared_terms``: up to six words of the scenario (or profile) shared with the suggestion, each
with its ``weight``, the share of the text score it carries (0–1).
"""

from __future__ import annotations

from typing import Any

from marketplace.matching.services import FirmSuggestion, Reason, ScenarioSuggestion


def _explanation(score: float, text_score: float, signals: list[Reason], terms: list[tuple[str, float]]
                 ) -> dict[str, Any]:
    return {
        "score": round(score, 4),
        "text_score": round(text_score, 4),
        "signals": [{"name": r.name, "contribution": round(r.contribution, 4)} for r in signals],
        "shared_terms": [{"term": term, "weight": round(weight, 4)} for term, weight in terms],
    }


def firm_suggestion(s: FirmSuggestion) -> dict[str, Any]:
    """One suggested firm: ``firm_id``, ``firm``, ``district``, scores, signals, shared terms."""
    organisation = s.profile.organisation
    return {
        "firm_id": s.profile.id,
        "firm": organisation.name,
        "district": organisation.district.name if organisation.district else None,
        **_explanation(s.score, s.text_score, s.signals, s.terms),
    }


def scenario_suggestion(s: ScenarioSuggestion) -> dict[str, Any]:
    """One recommended scenario: ``scenario_id``, ``scenario`` (its title), ``district``, scores, signals, terms."""
    return {
        "scenario_id": s.scenario.id,
        "scenario": s.scenario.title,
        "district": s.scenario.district.name if s.scenario.district else None,
        **_explanation(s.score, s.text_score, s.signals, s.terms),
    }


def suggestions(items: list[FirmSuggestion] | list[ScenarioSuggestion], model_version: str) -> dict[str, Any]:
    """The response body: ``{"items": [...], "model_version"}``."""
    return {
        "items": [firm_suggestion(s) if isinstance(s, FirmSuggestion) else scenario_suggestion(s) for s in items],
        "model_version": model_version,
    }
