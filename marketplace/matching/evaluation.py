"""Offline evaluation of scenario → firm matching against a BM25 baseline.

A data set directory holds:

* ``firms.jsonl`` — one JSON object a line: ``id``, ``name``, ``text``;
* ``scenarios.jsonl`` — ``id``, ``title``, ``text``;
* ``qrels.tsv`` — ``scenario_id<TAB>firm_id<TAB>relevance`` (relevance > 0 means relevant).

For every scenario with at least one relevant firm, firms are ranked (a) by the matcher's text
component (:meth:`Matcher.rank_text`: word + character TF-IDF, no signals) and (b) by BM25 on the
same tokens (firm text; scenario title + text).  Metrics, averaged over scenarios:

* ``ndcg@10`` — linear gain (``rel / log2(rank + 1)``), ideal ranking from all judged firms;
* ``recall@10`` — share of the relevant firms found in the top 10;
* ``mrr`` — reciprocal rank of the first relevant firm in the full ranking (0 if none scored).

Firm names are not used as text (in evaluation sets they are placeholders).  Rows may carry the
matcher's named fields instead of (or besides) ``text``: a firm's ``business_scope``,
``capabilities``, ``case_descriptions`` …, a scenario's ``summary``, ``requirements``, ``boundary`` …
(BM25 reads all of them joined).  The scenarios also serve as the matcher's query-side corpus
(boilerplate words, no labels involved).

Restructured copies (:func:`restructure`) check that what is tuned on one data set does not
depend on its layout: firm texts cut into one paragraph per sentence (``sentences``) or flattened
into one (``flat``); texts spread over named fields (``fields``); scenario titles dropped
(``no_title``); sentences shuffled (``shuffled``); and an exclusion clause listing another
scenario's sentences appended to every scenario (``exclusions``: what a scenario says it does
not want must not attract firms).

Run ``python -m marketplace.matching.evaluation DIR [--variants all] [--option NAME=VALUE ...]``:
a table, then the JSON object as last line.  ``--option`` sets a :class:`MatcherOptions` field for
this run (``--option topic_weight=16 --option prf_docs=10``), to try a change before making it
the default (:func:`parse_options`).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import math
import random
import re
import sys
import time
from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from marketplace.matching.bm25 import BM25
from marketplace.matching.matcher import FirmProfile, Matcher, MatcherOptions, ScenarioDoc
from marketplace.text.tokenizer import tokenize

__all__ = [
    "evaluate",
    "evaluate_dir",
    "format_report",
    "load_dataset",
    "main",
    "mrr",
    "ndcg_at_k",
    "parse_options",
    "recall_at_k",
    "restructure",
    "VARIANTS",
]

Qrels = dict[str, dict[str, float]]


def _read_jsonl(path: Path) -> list[dict[str, Any]]:
    rows = []
    with path.open(encoding="utf-8") as fh:
        for line in fh:
            line = line.strip()
            if line:
                rows.append(json.loads(line))
    return rows


def load_dataset(path: str | Path) -> tuple[list[dict[str, Any]], list[dict[str, Any]], Qrels]:
    """Read ``firms.jsonl``, ``scenarios.jsonl`` and ``qrels.tsv`` from directory *path*."""
    root = Path(path)
    firms = _read_jsonl(root / "firms.jsonl")
    scenarios = _read_jsonl(root / "scenarios.jsonl")
    qrels: Qrels = defaultdict(dict)
    with (root / "qrels.tsv").open(encoding="utf-8") as fh:
        for line in fh:
            parts = line.rstrip("\n").split("\t")
            if len(parts) < 3 or not parts[0] or parts[0].startswith("#"):
                continue
            try:
                rel = float(parts[2])
            except ValueError:  # header line
                continue
            qrels[str(parts[0])][str(parts[1])] = rel
    return firms, scenarios, dict(qrels)


def ndcg_at_k(ranked: Sequence[str], judgements: Mapping[str, float], k: int = 10) -> float:
    """nDCG@k with linear gain; the ideal DCG uses all positively judged documents."""
    dcg = sum(
        judgements.get(doc, 0.0) / math.log2(rank + 2)
        for rank, doc in enumerate(ranked[:k])
        if judgements.get(doc, 0.0) > 0
    )
    ideal = sorted((r for r in judgements.values() if r > 0), reverse=True)[:k]
    idcg = sum(r / math.log2(rank + 2) for rank, r in enumerate(ideal))
    return dcg / idcg if idcg > 0 else 0.0


def recall_at_k(ranked: Sequence[str], judgements: Mapping[str, float], k: int = 10) -> float:
    """Share of the relevant documents that appear in the top *k*."""
    relevant = {d for d, r in judgements.items() if r > 0}
    if not relevant:
        return 0.0
    return len(relevant.intersection(ranked[:k])) / len(relevant)


def mrr(ranked: Sequence[str], judgements: Mapping[str, float]) -> float:
    """Reciprocal rank of the first relevant document (0 when none is ranked)."""
    for rank, doc in enumerate(ranked):
        if judgements.get(doc, 0.0) > 0:
            return 1.0 / (rank + 1)
    return 0.0


def _ranking(scores: np.ndarray, ids: Sequence[str]) -> list[str]:
    """Documents with a positive score, best first (ties: original order)."""
    positive = np.flatnonzero(scores > 0)
    order = positive[np.lexsort((positive, -scores[positive]))]
    return [ids[i] for i in order]


def _metrics(rankings: Mapping[str, list[str]], qrels: Qrels, k: int = 10) -> dict[str, float]:
    queries = [q for q in rankings if any(r > 0 for r in qrels.get(q, {}).values())]
    if not queries:
        return {f"ndcg@{k}": 0.0, f"recall@{k}": 0.0, "mrr": 0.0}
    n = len(queries)
    return {
        f"ndcg@{k}": round(sum(ndcg_at_k(rankings[q], qrels[q], k) for q in queries) / n, 4),
        f"recall@{k}": round(sum(recall_at_k(rankings[q], qrels[q], k) for q in queries) / n, 4),
        "mrr": round(sum(mrr(rankings[q], qrels[q]) for q in queries) / n, 4),
    }


_FIRM_FIELDS = ("business_scope", "capabilities", "case_titles", "case_descriptions", "tags", "text")
_SCENARIO_FIELDS = ("title", "summary", "text", "description", "boundary", "requirements", "acceptance", "outcomes")


def _field_text(row: Mapping[str, Any], fields: Sequence[str]) -> str:
    parts = []
    for name in fields:
        value = row.get(name)
        if isinstance(value, list | tuple):
            parts.extend(str(v) for v in value if v)
        elif value:
            parts.append(str(value))
    return "\n".join(parts)


def _scenario_query_text(s: Mapping[str, Any]) -> str:
    return _field_text(s, _SCENARIO_FIELDS)


def _firm_doc(row: Mapping[str, Any]) -> FirmProfile:
    data = {k: v for k, v in row.items() if k in _FIRM_FIELDS}
    return FirmProfile.from_mapping({**data, "id": str(row["id"])})


def _scenario_doc(row: Mapping[str, Any]) -> ScenarioDoc:
    data = {k: v for k, v in row.items() if k in _SCENARIO_FIELDS}
    return ScenarioDoc.from_mapping({**data, "id": str(row["id"])})


def evaluate(
    firms: Sequence[Mapping[str, Any]],
    scenarios: Sequence[Mapping[str, Any]],
    qrels: Qrels,
    options: MatcherOptions | None = None,
    k: int = 10,
    analyzer: Callable[[str], list[str]] = tokenize,
) -> dict[str, dict[str, float]]:
    """Metrics of the matcher's text component (``"tfidf"``) and of BM25 (``"bm25"``)."""
    firm_ids = [str(f["id"]) for f in firms]
    queries = [_scenario_doc(s) for s in scenarios]
    matcher = Matcher.fit_firms([_firm_doc(f) for f in firms], options, query_corpus=queries)
    bm25 = BM25().fit([analyzer(_field_text(f, _FIRM_FIELDS)) for f in firms])
    tfidf_rank: dict[str, list[str]] = {}
    bm25_rank: dict[str, list[str]] = {}
    for s, query in zip(scenarios, queries, strict=True):
        sid = str(s["id"])
        if sid not in qrels:
            continue
        tfidf_rank[sid] = _ranking(matcher.text_scores(query), matcher.ids)
        bm25_rank[sid] = _ranking(bm25.get_scores(analyzer(_scenario_query_text(s))), firm_ids)
    return {"tfidf": _metrics(tfidf_rank, qrels, k), "bm25": _metrics(bm25_rank, qrels, k)}


# ------------------------------------------------------------------ restructured copies

_SENTENCE_RE = re.compile(r"(?<=[。！？!?；;])|\n")

Rows = list[dict[str, Any]]


def _sentences(text: str) -> list[str]:
    return [p for p in (s.strip() for s in _SENTENCE_RE.split(text or "")) if p]


def _cases(row: Mapping[str, Any]) -> list[str]:
    return [c for c in (str(row.get("text") or "")).split("\n") if c.strip()]


def restructure(firms: Rows, scenarios: Rows, qrels: Qrels, how: str, seed: int = 7) -> tuple[Rows, Rows]:
    """A copy of the data set with the same labels and a different layout (see the module docstring)."""
    rng = random.Random(seed)
    if how == "sentences":
        return [{**f, "text": "\n".join(_sentences(f.get("text", "")))} for f in firms], scenarios
    if how == "flat":
        return [{**f, "text": "。".join(_cases(f))} for f in firms], scenarios
    if how == "fields":
        new_firms = []
        for f in firms:
            cases = _cases(f)
            new_firms.append({"id": f["id"], "capabilities": cases[0] if cases else "",
                              "case_descriptions": cases[1:]})
        new_scenarios = []
        for s in scenarios:
            sents = _sentences(s.get("text", ""))
            half = 1 + (len(sents) - 1) // 2
            new_scenarios.append({"id": s["id"], "title": s.get("title", ""), "summary": "".join(sents[:1]),
                                  "description": "".join(sents[1:half]), "requirements": "".join(sents[half:])})
        return new_firms, new_scenarios
    if how == "no_title":
        return firms, [{**s, "title": ""} for s in scenarios]
    if how == "shuffled":
        def shuffle(text: str) -> str:
            sents = _sentences(text)
            rng.shuffle(sents)
            return "".join(sents)

        return ([{**f, "text": "\n".join(shuffle(c) for c in _cases(f))} for f in firms],
                [{**s, "text": shuffle(s.get("text", ""))} for s in scenarios])
    if how == "exclusions":
        relevant = {sid: {d for d, r in judged.items() if r > 0} for sid, judged in qrels.items()}
        out = []
        for s in scenarios:
            mine = relevant.get(str(s["id"]), set())
            others = [o for o in scenarios if o is not s and not (relevant.get(str(o["id"]), set()) & mine)]
            other = rng.choice(others) if others else s
            clause = "，".join(x.strip("。！？!?；;") for x in _sentences(other.get("text", ""))[:2])
            out.append({**s, "text": f"{s.get('text', '')}\n建设边界：不包括：{clause}。"})
        return firms, out
    raise ValueError(f"unknown restructuring {how!r}")


#: The restructured copies run by ``--variants all``.
VARIANTS = ("sentences", "flat", "fields", "no_title", "shuffled", "exclusions")


def evaluate_dir(
    path: str | Path, options: MatcherOptions | None = None, variants: Sequence[str] = ()
) -> dict[str, dict[str, float]]:
    """Evaluate on the data set in directory *path* (and on its restructured copies *variants*,
    reported as ``"tfidf/<variant>"`` and ``"bm25/<variant>"``); see the module docstring."""
    firms, scenarios, qrels = load_dataset(path)
    result = evaluate(firms, scenarios, qrels, options)
    for how in variants:
        f2, s2 = restructure(firms, scenarios, qrels, how)
        for method, values in evaluate(f2, s2, qrels, options).items():
            result[f"{method}/{how}"] = values
    return result


def format_report(result: Mapping[str, Mapping[str, float]]) -> str:
    """A human-readable table of *result* followed by the JSON object on the last line."""
    metrics = list(next(iter(result.values())).keys()) if result else []
    width = max([10, *(len(m) + 2 for m in result)])
    lines = [f"{'method':<{width}}" + "".join(f"{m:>12}" for m in metrics)]
    for method, values in result.items():
        lines.append(f"{method:<{width}}" + "".join(f"{values[m]:>12.4f}" for m in metrics))
    if "tfidf" in result and "bm25" in result and metrics:
        key = metrics[0]
        base = result["bm25"][key]
        if base > 0:
            lines.append(f"tfidf vs bm25 {key}: {100.0 * (result['tfidf'][key] / base - 1.0):+.1f}%")
    lines.append(json.dumps(result, sort_keys=True))
    return "\n".join(lines)


def parse_options(pairs: Sequence[str]) -> MatcherOptions | None:
    """:class:`MatcherOptions` with the ``NAME=VALUE`` *pairs* set (``None`` when there are none).

    Values take the type of the field's default (numbers, ``true``/``false``; a tuple such as
    ``char_ngram_range=1,3``).  Raises :class:`ValueError` naming a bad pair.
    """
    if not pairs:
        return None
    fields = {f.name: f for f in dataclasses.fields(MatcherOptions)}
    defaults = MatcherOptions()
    values: dict[str, Any] = {}
    for pair in pairs:
        name, sep, raw = pair.partition("=")
        name, raw = name.strip(), raw.strip()
        if not sep or name not in fields:
            raise ValueError(f"unknown matcher option {pair!r} (known: {', '.join(sorted(fields))})")
        default = getattr(defaults, name)
        try:
            if isinstance(default, bool):
                if raw.lower() not in ("true", "false", "1", "0"):
                    raise ValueError(raw)
                values[name] = raw.lower() in ("true", "1")
            elif isinstance(default, int | float):
                values[name] = type(default)(raw)
            elif isinstance(default, tuple):
                values[name] = tuple(type(d)(v) for d, v in zip(default, raw.split(","), strict=True))
            else:
                raise ValueError(raw)
        except ValueError:
            raise ValueError(f"bad value for matcher option {name}: {raw!r}") from None
    return dataclasses.replace(defaults, **values)


def main(argv: Sequence[str] | None = None) -> int:
    """CLI: ``python -m marketplace.matching.evaluation DIR``; prints the report."""
    parser = argparse.ArgumentParser(description="Evaluate scenario → firm matching (TF-IDF vs BM25).")
    parser.add_argument("path", help="directory with firms.jsonl, scenarios.jsonl, qrels.tsv")
    parser.add_argument("--variants", default="", help=f"restructured copies too: 'all' or some of {','.join(VARIANTS)}")
    parser.add_argument("--option", action="append", default=[], metavar="NAME=VALUE",
                        help="set a matcher option for this run (repeatable), e.g. topic_weight=16")
    args = parser.parse_args(argv)
    variants = VARIANTS if args.variants == "all" else tuple(v for v in args.variants.split(",") if v)
    try:
        options = parse_options(args.option)
    except ValueError as exc:
        parser.error(str(exc))
    start = time.perf_counter()
    result = evaluate_dir(args.path, options, variants=variants)
    print(f"evaluated {args.path} in {time.perf_counter() - start:.1f} s", file=sys.stderr)
    print(format_report(result))
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
