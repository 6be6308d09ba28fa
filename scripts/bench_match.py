"""Benchmark the matcher on synthetic firm profiles: fit time, model size, top-10 latency.

Firm profiles (~200 Chinese characters) and scenario queries (~300 characters) are generated
deterministically from the domain dictionary and from nouns/verbs of jieba's dictionary (a
Zipf-like choice, so some words are common and most are rare), in sentence templates.

For each size the script prints fit time, model memory (sparse matrices + vocabulary) and, over
``--queries`` scenarios, the p50/p95 latency of

* ``postings``: top-10 by accumulating only the postings of the query's terms + argpartition;
* ``naive``: top-10 by ``X @ q`` over every row + argpartition (same query vectors, same run);
* ``query_vector``: building the query vector (tokenisation included);
* ``suggest``: the end-to-end :meth:`Matcher.suggest` (query vector, feedback expansion, topic
  factor, signals, explanations).

Wall-clock percentiles, plus the CPU time of this process (p50) for the postings top-10 and for
``suggest``: on a machine shared with other work, CPU time is the steadier figure (the 1-minute
load average is printed with it).

The last line is one JSON object with all figures.

    .venv/bin/python scripts/bench_match.py --sizes 10000,100000 --queries 200
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import random
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from marketplace.matching.matcher import FirmProfile, Matcher, ScenarioDoc
from marketplace.text.tokenizer import domain_terms, warm_up

_CUSTOMERS = [
    "政府部门",
    "区县政务服务中心",
    "三甲医院",
    "中小学",
    "高校",
    "制造企业",
    "工业园区",
    "交通管理部门",
    "公安机关",
    "应急管理局",
    "水务集团",
    "电力公司",
    "银行",
    "物流企业",
    "社区街道",
    "文旅集团",
]
_TEMPLATES_FIRM = [
    "公司专注于{d1}和{d2}领域，主要从事{w1}{w2}系统的研发与{w3}。",
    "具备{d1}平台建设能力，为{c}提供{w1}、{w2}及{w3}服务。",
    "核心产品包括{d2}解决方案和{w1}{w2}软件，已在{c}落地应用。",
    "团队拥有{w1}、{w2}方面的专业人才，承担过{c}的{d1}项目。",
    "案例：为{c}建设{d1}{w1}平台，实现{w2}{w3}的统一管理。",
]
_TEMPLATES_SCENARIO = [
    "本场景面向{c}，拟建设{d1}{w1}系统，解决{w2}{w3}等问题。",
    "需求：利用{d2}技术实现{w1}与{w2}的协同，提升{w3}水平。",
    "要求揭榜企业具备{d1}相关经验，能够提供{w1}{w2}整体方案。",
    "项目需对接现有{w1}平台，支持{w2}数据汇聚与{w3}分析。",
]


def _jieba_words(limit: int = 6000) -> list[str]:
    """Common 2–4 character nouns/verbs from jieba's dictionary (falls back to domain terms)."""
    try:
        import jieba

        path = Path(jieba.__file__).resolve().parent / "dict.txt"
        words = []
        with path.open(encoding="utf-8") as fh:
            for line in fh:
                parts = line.split()
                if (
                    len(parts) == 3
                    and parts[2] in {"n", "vn", "v", "nz"}
                    and 2 <= len(parts[0]) <= 4
                    and int(parts[1]) >= 300
                    and all("\u4e00" <= ch <= "\u9fff" for ch in parts[0])
                ):
                    words.append((int(parts[1]), parts[0]))
        words.sort(reverse=True)
        return [w for _, w in words[:limit]]
    except (ImportError, OSError):  # pragma: no cover
        return sorted(domain_terms())


class Generator:
    """Deterministic generator of synthetic firm profiles and scenario texts."""

    def __init__(self, seed: int = 20240601) -> None:
        """Seeded generator over the domain dictionary and jieba's common words."""
        self.rng = random.Random(seed)
        self.domains = sorted(domain_terms())
        self.words = _jieba_words()
        ranks = np.arange(1, len(self.words) + 1, dtype=np.float64)
        weights = 1.0 / ranks**0.8
        self.cum = np.cumsum(weights / weights.sum()).tolist()

    def _word(self) -> str:
        import bisect

        return self.words[min(bisect.bisect(self.cum, self.rng.random()), len(self.words) - 1)]

    def _fill(self, template: str, d1: str, d2: str) -> str:
        return template.format(
            d1=d1, d2=d2, w1=self._word(), w2=self._word(), w3=self._word(), c=self.rng.choice(_CUSTOMERS)
        )

    def text(self, templates: list[str], length: int) -> tuple[str, list[str]]:
        """A text of about *length* characters and the two domain terms it is about."""
        d1, d2 = self.rng.sample(self.domains, 2)
        out = ""
        while len(out) < length:
            out += self._fill(
                self.rng.choice(templates),
                d1 if self.rng.random() < 0.7 else self.rng.choice(self.domains),
                d2,
            )
        return out, [d1, d2]

    def firm(self, i: int) -> FirmProfile:
        """A synthetic firm with ~200 characters of profile text and random signals."""
        text, domains = self.text(_TEMPLATES_FIRM, 200)
        return FirmProfile(
            id=i,
            text=text,
            domain_codes=domains,
            district_code=f"D{self.rng.randrange(12):02d}",
            verified_qualifications=self.rng.randrange(6),
            accepted_projects=self.rng.randrange(4),
        )

    def scenario(self, i: int) -> ScenarioDoc:
        """A synthetic scenario with ~300 characters of text."""
        text, domains = self.text(_TEMPLATES_SCENARIO, 300)
        return ScenarioDoc(
            id=f"S{i}",
            title=text[:20],
            text=text,
            domain_codes=domains[:1],
            district_code=f"D{self.rng.randrange(12):02d}",
        )


def _pct(values: list[float], q: float) -> float:
    return round(float(np.percentile(np.asarray(values) * 1000.0, q)), 3)


def bench(size: int, n_queries: int, seed: int, n_jobs: int = -1) -> dict[str, float | int]:
    """Run the benchmark for *size* firms; returns the figures (milliseconds, seconds, bytes)."""
    gen = Generator(seed)
    firms = [gen.firm(i) for i in range(size)]
    scenarios = [gen.scenario(i) for i in range(n_queries)]
    gc.collect()
    t0 = time.perf_counter()
    cpu0 = time.process_time()
    matcher = Matcher.fit_firms(firms, n_jobs=n_jobs)
    fit_s = time.perf_counter() - t0
    fit_cpu = time.process_time() - cpu0
    mem = matcher.nbytes()
    del firms
    gc.collect()

    qv_t: list[float] = []
    vectors = []
    for s in scenarios:
        t = time.perf_counter()
        vectors.append(matcher.query_vector(s))
        qv_t.append(time.perf_counter() - t)

    matcher.top_k_naive(*vectors[0], k=10)  # build the row-major copy outside the timings
    post_t: list[float] = []
    post_cpu: list[float] = []
    naive_t: list[float] = []
    mismatches = 0
    for idx, w in vectors:
        t, c = time.perf_counter(), time.process_time()
        a = matcher.top_k_postings(idx, w, k=10)
        post_t.append(time.perf_counter() - t)
        post_cpu.append(time.process_time() - c)
        t = time.perf_counter()
        b = matcher.top_k_naive(idx, w, k=10)
        naive_t.append(time.perf_counter() - t)
        if [i for i, _ in a] != [i for i, _ in b] and not np.allclose(
            [s for _, s in a], [s for _, s in b], atol=1e-5
        ):
            mismatches += 1

    sug_t: list[float] = []
    sug_cpu: list[float] = []
    for s in scenarios:
        t, c = time.perf_counter(), time.process_time()
        matcher.suggest(s, k=10)
        sug_t.append(time.perf_counter() - t)
        sug_cpu.append(time.process_time() - c)

    p50_post, p50_naive = _pct(post_t, 50), _pct(naive_t, 50)
    return {
        "firms": size,
        "queries": n_queries,
        "fit_s": round(fit_s, 2),
        "fit_cpu_s": round(fit_cpu, 2),  # main process only (tokenising workers excluded)
        "load_avg_1m": round(os.getloadavg()[0], 2),
        "n_features": matcher.n_features,
        "nnz": int(matcher.postings.nnz),
        "mem_sparse_bytes": mem["sparse"],
        "mem_vocabulary_bytes": mem["vocabulary"],
        "mem_total_bytes": mem["total"],
        "query_vector_p50_ms": _pct(qv_t, 50),
        "postings_p50_ms": p50_post,
        "postings_p95_ms": _pct(post_t, 95),
        "naive_p50_ms": p50_naive,
        "naive_p95_ms": _pct(naive_t, 95),
        "naive_over_postings_p50": round(p50_naive / p50_post, 2) if p50_post else 0.0,
        "suggest_p50_ms": _pct(sug_t, 50),
        "suggest_p95_ms": _pct(sug_t, 95),
        # CPU time of this process: less sensitive than wall time to other processes on a shared machine.
        "postings_cpu_p50_ms": _pct(post_cpu, 50),
        "suggest_cpu_p50_ms": _pct(sug_cpu, 50),
        "topk_mismatches": mismatches,
    }


def main(argv: list[str] | None = None) -> int:
    """CLI entry point; prints a table and, last, one JSON object."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10000,100000", help="comma-separated firm counts")
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--seed", type=int, default=20240601)
    parser.add_argument("--jobs", type=int, default=-1, help="tokenising processes for fit (-1: all CPUs)")
    args = parser.parse_args(argv)
    warm_up()
    results = []
    for size in (int(s) for s in args.sizes.split(",") if s.strip()):
        r = bench(size, args.queries, args.seed, args.jobs)
        results.append(r)
        print(
            f"{r['firms']:>7} firms  fit {r['fit_s']:6.2f} s (cpu {r['fit_cpu_s']:.2f})  "
            f"mem {r['mem_total_bytes'] / 2**20:7.1f} MiB  features {r['n_features']}  nnz {r['nnz']}"
        )
        print(
            f"         top-10 postings p50 {r['postings_p50_ms']:.2f} ms p95 {r['postings_p95_ms']:.2f} ms | "
            f"naive X@q p50 {r['naive_p50_ms']:.2f} ms p95 {r['naive_p95_ms']:.2f} ms | "
            f"ratio {r['naive_over_postings_p50']:.1f}x"
        )
        print(
            f"         query vector p50 {r['query_vector_p50_ms']:.2f} ms | suggest() end-to-end "
            f"p50 {r['suggest_p50_ms']:.2f} ms p95 {r['suggest_p95_ms']:.2f} ms | mismatches {r['topk_mismatches']}\n"
            f"         CPU time p50: postings {r['postings_cpu_p50_ms']:.2f} ms, suggest() {r['suggest_cpu_p50_ms']:.2f} ms "
            f"(load average {r['load_avg_1m']})",
            flush=True,
        )
    print(json.dumps({"results": results}, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
