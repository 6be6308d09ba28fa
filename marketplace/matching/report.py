"""``flask match report``: a self-check of 推荐企业 over the open scenarios, as staff would see them.

For every open scenario (published, before its deadline) the top-10 suggestions are computed as
the scenario page shows them (firms marked "not relevant" left out), then:

* ``domain_share`` — the share of those suggestions whose profile lists the scenario's domain
  (scenarios without a domain are not counted); a rough, label-free sign of topical fit;
* ``noise_terms`` — shown shared terms that are stopwords, numbers/dates/units or single
  characters, by kind, and their share of all shown terms (should be 0);
* ``exclusion_terms`` — shown terms found only in the scenario's exclusion clauses (不包括 / 不含 /
  … 除外), i.e. words the owner said are *not* wanted (should be 0);
* ``not_relevant`` — the "不相关" marks: how many, on how many scenarios and firms, the firms
  marked most often and the terms shown most often on marked suggestions;
* ``weakest`` — the scenarios whose suggestions have the lowest mean text score, with them.

:func:`format_report` prints a readable summary and, as its last line, the JSON object.
"""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session, selectinload

from marketplace import clock
from marketplace.matching import feedback, services
from marketplace.matching.terms import exclusion_spans, strip_exclusions, term_kind
from marketplace.models import Scenario, ScenarioStatus
from marketplace.text.tokenizer import tokenize

_SCENARIO_FIELDS = ("title", "summary", "description", "boundary", "requirements", "acceptance", "outcomes")


def open_scenarios(session: Session) -> list[Scenario]:
    """Published scenarios whose deadline has not passed, oldest first."""
    now = clock.now()
    return list(session.execute(
        sa.select(Scenario).where(Scenario.status == ScenarioStatus.PUBLISHED,
                                  sa.or_(Scenario.deadline.is_(None), Scenario.deadline > now))
        .options(selectinload(Scenario.domain), selectinload(Scenario.district))
        .order_by(Scenario.id)
    ).scalars())


def excluded_only_words(scenario: Scenario) -> set[str]:
    """Words found in the scenario's exclusion clauses and nowhere else in its text."""
    excluded: set[str] = set()
    kept: set[str] = set()
    for name in _SCENARIO_FIELDS:
        text = getattr(scenario, name) or ""
        for start, end in exclusion_spans(text):
            excluded.update(tokenize(text[start:end]))
        kept.update(tokenize(strip_exclusions(text)))
    return excluded - kept


def _share(part: int, whole: int) -> float:
    return round(part / whole, 4) if whole else 0.0


def quality_report(session: Session, k: int = services.TOP_K, weakest: int = 10) -> dict[str, Any]:
    """The figures described in the module docstring, as one JSON-ready dict."""
    scenarios = open_scenarios(session)
    checked: list[dict[str, Any]] = []
    n_suggestions = with_domain = in_domain = 0
    shown_terms = 0
    noise: Counter[str] = Counter()
    noise_examples: Counter[str] = Counter()
    leaked: Counter[str] = Counter()
    for scenario in scenarios:
        found = services.suggest_firms(session, scenario, k=k)
        n_suggestions += len(found)
        hits = 0
        if scenario.domain_id is not None:
            with_domain += len(found)
            hits = sum(1 for s in found if any(d.id == scenario.domain_id for d in s.profile.domains))
            in_domain += hits
        excluded = excluded_only_words(scenario)
        for s in found:
            for term, _w in s.terms:
                shown_terms += 1
                kind = term_kind(term)
                if kind is not None:
                    noise[kind] += 1
                    noise_examples[term] += 1
                if term in excluded:
                    leaked[term] += 1
        mean_text = sum(s.text_score for s in found) / len(found) if found else 0.0
        checked.append({
            "scenario_id": scenario.id,
            "title": scenario.title,
            "domain": scenario.domain.name if scenario.domain else None,
            "mean_text_score": round(mean_text, 4),
            "domain_share": _share(hits, len(found)) if scenario.domain_id is not None else None,
            "suggestions": [
                {"firm_id": s.profile.id, "firm": s.profile.organisation.name, "score": round(s.score, 4),
                 "text_score": round(s.text_score, 4), "terms": [t for t, _w in s.terms]}
                for s in found
            ],
        })
    marks = feedback.summary(session, [s.id for s in scenarios])
    checked.sort(key=lambda c: (c["mean_text_score"], len(c["suggestions"]), c["scenario_id"]))
    return {
        "open_scenarios": len(scenarios),
        "without_suggestions": sum(1 for c in checked if not c["suggestions"]),
        "suggestions": n_suggestions,
        "domain_share": _share(in_domain, with_domain),
        "shown_terms": shown_terms,
        "noise_terms": {"count": sum(noise.values()), "share": _share(sum(noise.values()), shown_terms),
                        "by_kind": dict(sorted(noise.items())),
                        "examples": [t for t, _n in noise_examples.most_common(10)]},
        "exclusion_terms": {"count": sum(leaked.values()), "share": _share(sum(leaked.values()), shown_terms),
                            "examples": [t for t, _n in leaked.most_common(10)]},
        "not_relevant": {"marks": marks.marks, "scenarios": marks.scenarios, "firms": marks.firms,
                         "on_open_scenarios": marks.open_scenario_marks,
                         "most_marked_firms": [{"firm": f, "marks": n} for f, n in marks.most_marked],
                         "terms_on_marked": [{"term": t, "marks": n} for t, n in marks.misleading_terms]},
        "weakest": checked[:weakest],
    }


def format_report(report: dict[str, Any]) -> str:
    """A readable summary, then the JSON object as the last line."""
    noise = report["noise_terms"]
    leaked = report["exclusion_terms"]
    marks = report["not_relevant"]
    lines = [
        f"open scenarios: {report['open_scenarios']} ({report['without_suggestions']} without suggestions); "
        f"suggestions: {report['suggestions']}",
        f"suggested firms listing the scenario's domain: {100 * report['domain_share']:.1f}%",
        f"shared terms shown: {report['shown_terms']}; stopwords/numbers/single characters: {noise['count']} "
        f"({100 * noise['share']:.1f}%){' e.g. ' + '、'.join(noise['examples']) if noise['examples'] else ''}; "
        f"from exclusion clauses: {leaked['count']}",
        f"not relevant marks: {marks['marks']} on {marks['scenarios']} scenarios ({marks['on_open_scenarios']} "
        f"on open ones), {marks['firms']} firms",
    ]
    if marks["most_marked_firms"]:
        lines.append("  most marked: " + "; ".join(f"{m['firm']} ×{m['marks']}" for m in marks["most_marked_firms"]))
    if marks["terms_on_marked"]:
        lines.append("  terms shown on marked suggestions: "
                     + "、".join(f"{m['term']}×{m['marks']}" for m in marks["terms_on_marked"]))
    if report["weakest"]:
        lines.append(f"weakest {len(report['weakest'])} scenarios (lowest mean text score of their suggestions):")
    for c in report["weakest"]:
        share = "—" if c["domain_share"] is None else f"{100 * c['domain_share']:.0f}%"
        lines.append(f"  #{c['scenario_id']} {c['title']} [{c['domain'] or '—'}] "
                     f"mean text {c['mean_text_score']:.3f}, in domain {share}")
        for s in c["suggestions"][:3]:
            lines.append(f"      {s['firm']} {s['score']:.3f} ({s['text_score']:.3f}) {'、'.join(s['terms'])}")
    lines.append(json.dumps(report, ensure_ascii=False, sort_keys=True))
    return "\n".join(lines)
