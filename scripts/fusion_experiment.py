"""Experiment (issue 16, item 7): learn how to combine the matcher's per-candidate signals.

For the development set and each restructured copy, the default matcher is fitted once and, for
every judged scenario, the signals it already computes for its ``topic_candidates`` best
documents by words are recorded:

* ``words``  — word score of the feedback-expanded query (word + character channels);
* ``topic``  — topic factor after topic feedback; ``neigh`` — neighbour factor after it;
* ``wchan`` / ``cchan`` — the word-channel and character-channel parts of ``words``;
* ``orig``   — the score of the query before word feedback;
* ``bm25``   — BM25 (same tokens as the evaluation's baseline);
* ``rank``   — the candidate's rank by words; ``cos`` — its raw topic cosine (moved topic).

The shipped score is ``words × topic × neigh``, i.e. weights (1, 1, 1, 0 …) on the logarithms.
A pairwise logistic regression (no intercept, L2, sklearn) on the log features is estimated by
k-fold cross-validation over the development scenarios: trained on k−1 folds, it ranks the held-out
fold; the nDCG@10 of the held-out folds is reported (never the in-sample one).  The copies are
ranked with weights learned on the dev scenarios of the other folds too (same scenarios, other
layout), and with weights learned on all dev scenarios.

Run: ``python scripts/fusion_experiment.py ../shared/data/matching-dev`` (features are cached per data set in
``--cache``; about 10 s per copy to fit; ``--c -1`` is coordinate ascent on nDCG@10,
``--top``, ``--lambda-weights`` and ``--prior`` change the pairwise loss, ``--diagnostics`` adds a hubness signal and a
gradient-boosting bound).
"""

from __future__ import annotations

import argparse
import hashlib
import math
import pickle
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from marketplace.matching.bm25 import BM25
from marketplace.matching.evaluation import (
    _FIRM_FIELDS,
    VARIANTS,
    _field_text,
    _firm_doc,
    _scenario_doc,
    _scenario_query_text,
    load_dataset,
    ndcg_at_k,
    restructure,
)
from marketplace.matching.matcher import Matcher
from marketplace.text.tokenizer import tokenize

FEATURES = ("words", "topic", "neigh", "wchan", "cchan", "orig", "bm25", "rank", "cos")


def _factors(m: Matcher, docs: np.ndarray, words: np.ndarray, topic: np.ndarray) -> tuple[np.ndarray, ...]:
    """As :meth:`Matcher.agreement_factors`, with the topic and neighbour factors apart."""
    sim = m._neighbour_similarities(docs)
    tf = m.topic_factors(docs, topic)
    nf = m.neighbour_factors(docs, words * tf, sim)
    fb = min(m.options.topic_feedback_docs, docs.size)
    moved = topic
    if fb > 0 and m.options.topic_feedback_weight > 0:
        text = words * tf * nf
        best = np.lexsort((docs, -text))[:fb]
        centroid = np.einsum("i,ik->k", text[best], m.topic_docs[docs[best]].astype(np.float64))
        norm = float(np.linalg.norm(centroid))
        if norm > 0:
            mv = topic.astype(np.float64) + centroid * (m.options.topic_feedback_weight / norm)
            moved = (mv / max(float(np.linalg.norm(mv)), 1e-12)).astype(np.float32)
            tf = m.topic_factors(docs, moved)
            nf = m.neighbour_factors(docs, words * tf, sim)
    cos = np.clip(m.topic_docs[docs] @ moved, 0.0, 1.0).astype(np.float64)
    return tf, nf, cos


def extract(firms, scenarios, qrels) -> list[dict]:
    queries = [_scenario_doc(s) for s in scenarios]
    m = Matcher.fit_firms([_firm_doc(f) for f in firms], query_corpus=queries)
    bm25 = BM25().fit([tokenize(_field_text(f, _FIRM_FIELDS)) for f in firms])
    out = []
    for s, query in zip(scenarios, queries, strict=True):
        sid = str(s["id"])
        if sid not in qrels or not any(r > 0 for r in qrels[sid].values()):
            continue
        q_idx, q_w = m.query_vector(query)
        idx, w = m._feedback(q_idx, q_w)
        topic = m.topic_vector(q_idx, q_w)
        cand, words = m._best_by_words(idx, w, m.options.topic_candidates)
        tf, nf, cos = _factors(m, cand, words, topic)
        is_word = idx < m.n_word_features
        wchan = m.scores_postings(idx[is_word], w[is_word])[cand].astype(np.float64)
        cchan = m.scores_postings(idx[~is_word], w[~is_word])[cand].astype(np.float64)
        orig = m.scores_postings(q_idx, q_w)[cand].astype(np.float64)
        b = bm25.get_scores(tokenize(_scenario_query_text(s)))[cand].astype(np.float64)
        rank = np.arange(cand.size, dtype=np.float64)
        x = np.column_stack([words, tf, nf, wchan, cchan, orig, b, rank, cos])
        rel = np.asarray([qrels[sid].get(m.ids[i], 0.0) for i in cand])
        out.append({"sid": sid, "ids": [m.ids[i] for i in cand], "x": x, "rel": rel, "judged": qrels[sid]})
    return out


def design(x: np.ndarray, which: str) -> np.ndarray:
    """Log-space features (the shipped score is the sum of the first three)."""
    eps = 1e-4
    words, tf, nf, wchan, cchan, orig, b, rank, cos = x.T
    cols = {
        "lw": np.log(words + eps), "lt": np.log(tf), "ln": np.log(nf),
        "lwc": np.log(wchan + eps), "lcc": np.log(cchan + eps), "lo": np.log(orig + eps),
        "bm": b / max(float(b.max()), 1e-9), "lbm": np.log(b / max(float(b.max()), 1e-9) + 0.01),
        "rr": 1.0 / np.log2(rank + 2.0), "cos": cos,
    }
    return np.column_stack([cols[c] for c in which.split(",")])


def ndcg(q: dict, score: np.ndarray) -> float:
    order = np.lexsort((np.arange(score.size), -score))
    return ndcg_at_k([q["ids"][i] for i in order], q["judged"], 10)


LAMBDA = False  # weight pairs by the |Δ discount| of swapping them in the shipped ranking
PRIOR = 0.0  # > 0: penalty on the distance to the shipped weights (times a learned scale)
TOP = 0  # > 0: pairs only among the TOP best by the shipped score (the top of the ranking)


def pairs(qs: list[dict], which: str, max_pairs: int, rng) -> tuple[np.ndarray, np.ndarray]:
    xs, ys, ws = [], [], []
    for q in qs:
        x = design(q["x"], which)
        pool = np.ones(len(x), dtype=bool)
        if TOP:
            shipped = q["x"][:, 0] * q["x"][:, 1] * q["x"][:, 2]
            pool[:] = False
            pool[np.lexsort((np.arange(len(x)), -shipped))[:TOP]] = True
        pos, neg = np.flatnonzero((q["rel"] > 0) & pool), np.flatnonzero((q["rel"] <= 0) & pool)
        if not pos.size or not neg.size:
            continue
        pp, nn = np.meshgrid(pos, neg)
        pp, nn = pp.ravel(), nn.ravel()
        if pp.size > max_pairs:
            keep = rng.choice(pp.size, max_pairs, replace=False)
            pp, nn = pp[keep], nn[keep]
        d = x[pp] - x[nn]
        xs += [d, -d]
        ys += [np.ones(len(d)), np.zeros(len(d))]
        if LAMBDA:
            shipped = q["x"][:, 0] * q["x"][:, 1] * q["x"][:, 2]
            pos_of = np.empty(len(x), dtype=np.int64)
            pos_of[np.lexsort((np.arange(len(x)), -shipped))] = np.arange(len(x))
            disc = np.where(pos_of < 10, 1.0 / np.log2(pos_of + 2.0), 0.0)
            lw = np.abs(disc[pp] - disc[nn]) + 1e-3
            ws.extend([lw, lw])
    if LAMBDA:
        return np.vstack(xs), np.concatenate(ys), np.concatenate(ws)
    return np.vstack(xs), np.concatenate(ys)


def coordinate_ascent(qs, which, steps=(0.5, 0.2, 0.1, 0.05, 0.02), rounds=3, extra=None) -> np.ndarray:
    """Coordinate ascent on the mean nDCG@10 of *qs* (Metzler & Croft), from the shipped weights
    (1 on the first three log features, 0 elsewhere); the first weight stays 1 (scale)."""
    xs = [extra(q) if extra else design(q["x"], which) for q in qs]
    k = xs[0].shape[1]
    w = np.zeros(k)
    w[: min(3, k)] = 1.0

    def value(v):
        return float(np.mean([ndcg(q, x @ v) for q, x in zip(qs, xs, strict=True)]))

    best = value(w)
    for _ in range(rounds):
        improved = False
        for j in range(1, k):
            for step in steps:
                for sign in (1, -1):
                    v = w.copy()
                    v[j] += sign * step
                    val = value(v)
                    if val > best + 1e-4:
                        best, w, improved = val, v, True
        if not improved:
            break
    return w


def learn(qs, which, c, max_pairs=200, seed=0) -> np.ndarray:
    from sklearn.linear_model import LogisticRegression

    if c < 0:
        return coordinate_ascent(qs, which)

    got = pairs(qs, which, max_pairs, np.random.default_rng(seed))
    x, y = got[0], got[1]
    sw = got[2] if LAMBDA else None
    if PRIOR > 0:
        from scipy.optimize import minimize

        k = x.shape[1]
        w0 = np.zeros(k)
        w0[: min(3, k)] = 1.0
        sign = 2 * y - 1
        sw = sw if sw is not None else np.ones(len(y))
        sw = sw / sw.sum()

        def loss(p):
            a, delta = p[0], p[1:]
            z = sign * (x @ (a * (w0 + delta)))
            return float(np.sum(sw * np.logaddexp(0, -z)) + PRIOR * delta @ delta)

        res = minimize(loss, np.concatenate([[1.0], np.zeros(k)]), method="L-BFGS-B")
        return w0 + res.x[1:]
    model = LogisticRegression(C=c, fit_intercept=False, max_iter=2000)
    model.fit(x, y, sample_weight=sw)
    return model.coef_.ravel()


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("path")
    ap.add_argument("--cache", default=None, help="feature cache file (default: one per data set path in /tmp)")
    ap.add_argument("--folds", type=int, default=5)
    ap.add_argument("--sets", default="lw,lt,ln")
    ap.add_argument("--c", default="0.01,0.1,1", help="L2 C of the logistic regression; -1: coordinate ascent")
    ap.add_argument("--top", type=int, default=0, help="pairs among the TOP best by the shipped score only")
    ap.add_argument("--lambda-weights", action="store_true")
    ap.add_argument("--prior", type=float, default=0.0)
    ap.add_argument("--diagnostics", action="store_true", help="hubness signal and gradient-boosting bound")
    args = ap.parse_args()
    global TOP, LAMBDA, PRIOR
    TOP, LAMBDA, PRIOR = args.top, args.lambda_weights, args.prior
    source = str(Path(args.path).resolve())
    cache = Path(args.cache or f"/tmp/fusion-{hashlib.sha1(source.encode()).hexdigest()[:12]}.pkl")
    if cache.exists():
        data = pickle.loads(cache.read_bytes())
    else:
        firms, scenarios, qrels = load_dataset(args.path)
        data = {}
        for how in ("dev", *VARIANTS):
            t = time.perf_counter()
            f2, s2 = (firms, scenarios) if how == "dev" else restructure(firms, scenarios, qrels, how)
            data[how] = extract(f2, s2, qrels)
            print(f"{how}: {time.perf_counter() - t:.0f} s", file=sys.stderr, flush=True)
        cache.write_bytes(pickle.dumps(data))
    dev = data["dev"]
    n_sids = len(dev)
    # Scenario folds (fixed seed); nDCG over all judged scenarios (a scenario with fewer than 10
    # candidates still counts).
    rng = np.random.default_rng(1)
    fold_of = {q["sid"]: f for q, f in zip(dev, rng.permutation(n_sids) % args.folds, strict=True)}

    def mean_ndcg(qs, scorer):
        return float(np.mean([ndcg(q, scorer(q)) for q in qs]))

    base = {how: mean_ndcg(qs, lambda q: q["x"][:, 0] * q["x"][:, 1] * q["x"][:, 2]) for how, qs in data.items()}
    copies = [h for h in data if h != "dev"]
    print(f"shipped product: dev {base['dev']:.4f} copies mean {np.mean([base[h] for h in copies]):.4f} "
          f"min {min(base[h] for h in copies):.4f}")
    print("  " + " ".join(f"{h} {base[h]:.4f}" for h in copies))
    for which in args.sets.split(";"):
        for c in (float(v) for v in args.c.split(",")):
            fold_w = {f: learn([q for q in dev if fold_of[q["sid"]] != f], which, c) for f in range(args.folds)}
            cv = {
                how: float(np.mean([ndcg(q, design(q["x"], which) @ fold_w[fold_of[q["sid"]]]) for q in qs]))
                for how, qs in data.items()
            }
            w_all = learn(dev, which, c)
            full = {h: float(np.mean([ndcg(q, design(q["x"], which) @ w_all) for q in data[h]])) for h in copies}
            ws = np.vstack(list(fold_w.values()))
            print(f"[{which}] C={c}: CV dev {cv['dev']:.4f} ({cv['dev'] - base['dev']:+.4f}); "
                  f"copies CV mean {np.mean([cv[h] for h in copies]):.4f} min {min(cv[h] for h in copies):.4f}; "
                  f"copies with all-dev weights mean {np.mean(list(full.values())):.4f} "
                  f"min {min(full.values()):.4f}")
            print("   weights (all dev, / first): " + " ".join(f"{v / w_all[0]:.3f}" for v in w_all)
                  + "  fold spread: " + " ".join(f"{v:.3f}" for v in (ws / ws[:, :1]).std(axis=0)))
            print("   per copy CV: " + " ".join(f"{h} {cv[h] - base[h]:+.4f}" for h in copies), flush=True)
    if args.diagnostics:
        diagnostics(data, fold_of, args.folds, copies)
    return 0


def diagnostics(data: dict, fold_of: dict, folds: int, copies: list[str]) -> None:
    """Two checks beyond the linear fusion, same folds: a hubness signal (how many of the set's
    scenarios have the firm among their candidates, and its mean shipped score there — label-free)
    by coordinate ascent, and a gradient-boosted pointwise classifier on every feature (plus
    per-scenario relative ones) as a non-linear upper bound of what these signals can give."""
    from sklearn.ensemble import HistGradientBoostingClassifier

    for qs in data.values():
        count: dict[str, int] = {}
        total: dict[str, float] = {}
        for q in qs:
            shipped = q["x"][:, 0] * q["x"][:, 1] * q["x"][:, 2]
            for fid, v in zip(q["ids"], shipped, strict=True):
                count[fid] = count.get(fid, 0) + 1
                total[fid] = total.get(fid, 0.0) + float(v)
        for q in qs:
            q["hub"] = np.asarray([[math.log1p(count[f]), math.log(total[f] / count[f])] for f in q["ids"]])
    dev = data["dev"]

    def report(name: str, cv: dict) -> None:
        print(f"{name}: CV dev {cv['dev']:.4f} copies mean {np.mean([cv[h] for h in copies]):.4f} "
              f"min {min(cv[h] for h in copies):.4f}", flush=True)

    def hub_x(q: dict) -> np.ndarray:
        return np.column_stack([design(q["x"], "lw,lt,ln"), q["hub"]])

    hub_w = {f: coordinate_ascent([q for q in dev if fold_of[q["sid"]] != f], "lw,lt,ln", extra=hub_x)
             for f in range(folds)}
    report("hubness, coordinate ascent",
           {h: float(np.mean([ndcg(q, hub_x(q) @ hub_w[fold_of[q["sid"]]]) for q in qs])) for h, qs in data.items()})
    print("   fold weights: " + "; ".join(" ".join(f"{v:.2f}" for v in w) for w in hub_w.values()))

    def gbm_x(q: dict) -> np.ndarray:
        d = design(q["x"], "lw,lt,ln,lwc,lcc,lo,bm,rr,cos")
        return np.column_stack([d, d - d.max(axis=0), q["hub"]])

    models = {}
    for f in range(folds):
        train = [q for q in dev if fold_of[q["sid"]] != f]
        model = HistGradientBoostingClassifier(max_depth=3, max_iter=200, learning_rate=0.05,
                                               l2_regularization=1.0, random_state=0)
        model.fit(np.vstack([gbm_x(q) for q in train]), np.concatenate([q["rel"] > 0 for q in train]))
        models[f] = model
    report("gradient boosting (pointwise, depth 3, 200 trees)",
           {h: float(np.mean([ndcg(q, models[fold_of[q["sid"]]].predict_proba(gbm_x(q))[:, 1]) for q in qs]))
            for h, qs in data.items()})


if __name__ == "__main__":
    raise SystemExit(main())
