"""What counts as a matching term; exclusion clauses; reasons a person can check (no Flask)."""

from __future__ import annotations

import copy
import dataclasses
import pickle
import random

import numpy as np
import pytest

from marketplace.matching.evaluation import VARIANTS, evaluate, restructure
from marketplace.matching.matcher import FirmProfile, Matcher, MatcherOptions, ScenarioDoc
from marketplace.matching.terms import (
    exclusion_spans,
    is_meaningful,
    is_quantity,
    matching_stopwords,
    strip_exclusions,
    term_kind,
)
from marketplace.text.tokenizer import tokenize

# ------------------------------------------------------------------ words


@pytest.mark.parametrize("term", ["30", "2.5", "2024-06", "7x24", "10gb", "100ms", "24h", "三十", "第一", "一期",
                                  "两年", "十四五", "分钟", "小时", "万元", "个月", "每年", "平方米"])
def test_numbers_dates_units_are_quantities(term: str) -> None:
    assert is_quantity(term) and term_kind(term) == "quantity" and not is_meaningful(term)


@pytest.mark.parametrize("term", ["5g", "3d", "2.5d", "iso27001", "gb/t", "v2x", "b2b", "三维", "千兆", "一体化",
                                  "数据治理", "摄像头", "百度"])
def test_technology_terms_stay(term: str) -> None:
    assert is_meaningful(term), term_kind(term)


def test_single_characters_stopwords_and_boilerplate() -> None:
    assert term_kind("月") == term_kind("a") == "single"
    stop = matching_stopwords()
    # stopwords-iso's Chinese list (e.g. 尔后, 与此同时), the tokeniser's list, and the platform's own.
    assert {"尔后", "与此同时", "我们", "建设", "实现", "提升", "现有", "不少", "营业执照"} <= stop
    for word in ("建设", "实现", "提升", "现有", "超过", "与此同时"):
        assert term_kind(word) == "stopword"
    # Search keeps its own analysis: the tokeniser still yields these words.
    assert {"建设", "30"} <= set(tokenize("建设30个路口"))


# ------------------------------------------------------------------ exclusion clauses


@pytest.mark.parametrize("text, gone, kept", [
    ("建设边界：包括数据汇聚、治理和共享平台；不包括：摄像头等硬件采购。验收标准：上线运行。",
     ["摄像头", "硬件", "采购"], ["数据汇聚", "共享平台", "验收标准"]),
    ("建设边界：包括A、B，不包括C、D，E由业主负责。", ["C、D"], ["A、B", "E由业主负责"]),
    ("预算200万元（不含税），工期6个月。", ["税"], ["预算200万元", "工期6个月"]),
    ("摄像头等硬件采购除外。本项目建设数据平台。", ["摄像头", "硬件"], ["数据平台"]),
    ("前端感知设备不包括在内，需对接视频平台。", ["感知设备"], ["视频平台"]),
    ("机房土建不属于本项目建设范围。软件开发。", ["机房", "土建"], ["软件开发"]),
    ("硬件采购不在本项目范围内；软件开发。", ["硬件"], ["软件开发"]),
    ("不包括：\n1. 摄像头\n2. 服务器\n建设内容：数据中台", ["摄像头", "服务器"], ["数据中台"]),
    ("以下内容不属于本项目范围：网络改造，机房建设。数据治理。", ["网络改造", "机房"], ["数据治理"]),
    ("不涉及硬件，重点建设数据平台。", ["硬件"], ["数据平台"]),
])
def test_exclusion_clauses_are_removed(text: str, gone: list[str], kept: list[str]) -> None:
    stripped = strip_exclusions(text)
    for word in gone:
        assert word not in stripped, (word, stripped)
    for word in kept:
        assert word in stripped, (word, stripped)
    assert exclusion_spans("没有排除条款的文本。") == [] and strip_exclusions("") == ""


FIRMS = [
    FirmProfile(id="data", capabilities="政务数据治理、数据中台、数据共享交换平台建设与运维。"),
    FirmProfile(id="camera", capabilities="视频监控摄像头、前端感知硬件设备采购、安装与维护。"),
    FirmProfile(id="traffic", capabilities="路口交通信号配时优化、交通流量预测与信号控制平台。"),
    FirmProfile(id="health", capabilities="医学影像辅助诊断、电子病历系统。"),
]
EXCLUDING = ScenarioDoc(
    id="s", title="政务数据治理平台", description="建设全市政务数据治理和共享交换平台，支撑数据中台。",
    boundary="包括：数据汇聚、治理与共享。不包括：视频监控摄像头等前端感知硬件设备采购。",
)


def test_exclusion_words_never_reach_the_query_or_the_reasons() -> None:
    model = Matcher.fit_firms(FIRMS)
    idx, _w = model.query_vector(EXCLUDING)
    features = {model.feature_name(int(j)) for j in idx}
    for word in ("摄像头", "硬件", "采购", "视频监控", "前端", "感知", "摄", "像"):
        assert word not in features, word
    hits = {h.id: h for h in model.suggest(EXCLUDING, k=4)}
    assert next(iter(hits)) == "data"
    # The camera firm shares nothing with the scenario but the excluded words (and two characters).
    assert "camera" not in hits or (hits["camera"].text_score < 0.05 and hits["camera"].terms == [])
    for hit in hits.values():
        assert not any(w in t for t, _ in hit.terms for w in ("摄像", "硬件", "采购", "监控", "感知"))
    # Without the clause removal the excluded words would attract it.
    raw = [h.id for h in Matcher.fit_firms(FIRMS, MatcherOptions(strip_exclusions=False)).suggest(EXCLUDING, k=4)]
    assert raw[:2] == ["data", "camera"]


def test_no_reason_is_a_stopword_number_or_single_character() -> None:
    noisy = "现有系统超过30分钟响应，每月巡检2次；建设实现提升，5G 专网、月报、3D 建模、数据治理、信号配时。"
    firms = [FirmProfile(id=i, capabilities=noisy + extra) for i, extra in enumerate(
        ["交通信号配时优化", "数据治理平台", "医学影像", "5G专网建设", "三维建模 3D"])]
    model = Matcher.fit_firms(firms)
    assert all(is_meaningful(t) for t in model.terms)
    assert not {"30", "2", "月", "分钟", "现有", "超过", "建设", "实现", "提升"} & set(model.terms)
    assert {"5g", "3d", "数据治理"} <= set(model.terms)
    hits = model.suggest(ScenarioDoc(id="q", title="交通信号", text=noisy), k=5)
    shown = [t for h in hits for t, _ in h.terms]
    assert shown and all(is_meaningful(t) for t in shown)
    assert all(len(t) > 1 and not is_quantity(t) and t not in matching_stopwords() for t in shown)
    for h in hits:
        shares = [w for _, w in h.terms]
        assert len(shares) <= 6 and all(0 < w <= 1 for w in shares) and sum(shares) <= 1 + 1e-9


def _docs(n: int, common: str, seed: int = 3) -> list[str]:
    rng = random.Random(seed)
    topics = ["交通信号配时", "医学影像诊断", "数据中台治理", "网络安全测评", "智慧农业灌溉", "工业设备联网",
              "电子病历系统", "城市内涝监测"]
    return [f"{common}{rng.choice(topics)}{rng.choice(topics)}。" for _ in range(n)]


def test_boilerplate_is_found_in_the_data() -> None:
    # "接口" / "规范" are in every document: boilerplate of this corpus, not features.
    firms = [FirmProfile(id=i, capabilities=t) for i, t in enumerate(_docs(60, "遵循接口规范。"))]
    model = Matcher.fit_firms(firms)
    assert not {"接口", "规范"} & set(model.terms) and {"接口", "规范"} <= set(model.boilerplate)
    assert "交通" in model.terms
    # Found in most queries (scenarios) only: still boilerplate for the firms model.
    plain = [FirmProfile(id=i, capabilities=t) for i, t in enumerate(_docs(60, ""))]
    plain[0].capabilities += "遵循接口规范。"
    queries = [ScenarioDoc(id=i, text=t) for i, t in enumerate(_docs(60, "遵循接口规范。", seed=5))]
    assert "接口" in Matcher.fit_firms(plain).terms
    assert "接口" not in Matcher.fit_firms(plain, query_corpus=queries).terms
    # Too few documents to tell: nothing is dropped for being common.
    small = Matcher.fit_firms(firms[:10])
    assert "接口" in small.terms and small.boilerplate == []


# ------------------------------------------------------------------ topics


def _topic_corpus(n: int = 240) -> list[FirmProfile]:
    rng = random.Random(7)
    groups = [["交通", "信号", "路口", "配时", "拥堵", "车流"], ["医院", "影像", "病历", "诊断", "医生", "患者"],
              ["农业", "灌溉", "土壤", "大棚", "墒情", "种植"], ["安全", "漏洞", "渗透", "测评", "攻击", "防护"]]
    firms = []
    for i in range(n):
        words = groups[i % 4]
        firms.append(FirmProfile(id=i, capabilities="，".join(rng.sample(words, 4)) + "。"))
    return firms


def test_topic_factor_reranks_the_best_by_words() -> None:
    model = Matcher.fit_firms(_topic_corpus())
    assert model.topic_docs is not None and model.topic_docs.shape[0] == 240
    hits = model.suggest(ScenarioDoc(id="q", text="路口信号配时优化，缓解拥堵。"), k=10)
    beta, mu = model.options.topic_weight, model.options.neighbour_weight
    for h in hits:
        assert 1 / ((1 + beta) * (1 + mu)) - 1e-9 <= h.topic <= 1 + 1e-9
        assert h.text_score == pytest.approx(h.word_score * h.topic)
        assert int(h.id) % 4 == 0  # the traffic group
    scores = model.text_scores(ScenarioDoc(id="q", text="路口信号配时优化，缓解拥堵。"))
    assert [model.ids[i] for i in np.argsort(-scores, kind="stable")[:10]] == [h.id for h in hits]
    again = pickle.loads(pickle.dumps(model))
    assert [h.id for h in again.suggest(ScenarioDoc(id="q", text="路口信号配时优化"), k=5)] == [
        h.id for h in model.suggest(ScenarioDoc(id="q", text="路口信号配时优化"), k=5)]
    # Small corpora have no topic model: text score = words.
    small = Matcher.fit_firms(_topic_corpus(40))
    assert small.topic_docs is None
    assert all(h.topic == 1.0 for h in small.suggest("路口信号配时", k=3))


def test_neighbour_agreement_keeps_clustered_candidates_and_lowers_isolated_ones() -> None:
    model = Matcher.fit_firms(_topic_corpus())
    mu = model.options.neighbour_weight
    assert mu > 0
    traffic = np.arange(0, 48, 4)  # one topic group: each other's nearest neighbours
    medical = np.asarray([1])  # another group, alone among the candidates
    docs = np.concatenate([traffic, medical])
    text = np.full(docs.size, 0.25)
    text[-1] = 0.5  # the isolated candidate scores best by words, its neighbours half as well
    factors = model.neighbour_factors(docs, text)
    assert factors[:-1] == pytest.approx(np.ones(traffic.size))
    assert factors[-1] == pytest.approx((1 + mu / 2) / (1 + mu))
    assert model.neighbour_factors(docs, np.full(docs.size, 0.25)) == pytest.approx(np.ones(docs.size))
    # Off: μ = 0, or no topic model.
    off = Matcher.fit_firms(_topic_corpus(), MatcherOptions(neighbour_weight=0))
    assert (off.neighbour_factors(docs, text) == 1).all()
    assert (Matcher.fit_firms(_topic_corpus(40)).neighbour_factors(np.arange(10), np.ones(10)) == 1).all()


def test_neighbour_agreement_is_part_of_the_topic_factor_of_suggestions() -> None:
    query = ScenarioDoc(id="q", text="路口信号配时优化，缓解拥堵；医院影像。")
    model = Matcher.fit_firms(_topic_corpus())
    plain = Matcher.fit_firms(_topic_corpus(), MatcherOptions(neighbour_weight=0))
    hits, before = model.suggest(query, k=20), {h.id: h for h in plain.suggest(query, k=20)}
    assert any(h.topic < before[h.id].topic - 1e-9 for h in hits if h.id in before)
    for h in hits:
        assert h.text_score == pytest.approx(h.word_score * h.topic)
        if h.id in before:
            assert h.topic <= before[h.id].topic + 1e-9


# ------------------------------------------------------------------ restructured copies


def test_restructured_copies_keep_ids_and_labels() -> None:
    firms = [{"id": "F1", "name": "x", "text": "交通信号配时优化。路口协同控制。\n交通流量预测。"},
             {"id": "F2", "name": "y", "text": "医学影像诊断。\n电子病历。"}]
    scenarios = [{"id": "S1", "title": "信号优化", "text": "路口信号配时。缓解拥堵。"},
                 {"id": "S2", "title": "影像", "text": "医院影像诊断。"}]
    qrels = {"S1": {"F1": 1.0}, "S2": {"F2": 1.0}}
    for how in VARIANTS:
        f2, s2 = restructure(firms, scenarios, qrels, how)
        assert [f["id"] for f in f2] == ["F1", "F2"] and [s["id"] for s in s2] == ["S1", "S2"]
        result = evaluate(f2, s2, qrels)
        assert result["tfidf"]["ndcg@10"] > 0.5, how
    f2, _s = restructure(firms, scenarios, qrels, "sentences")
    assert f2[0]["text"].count("\n") == 2
    _f, s2 = restructure(firms, scenarios, qrels, "exclusions")
    assert "不包括：医院影像诊断" in s2[0]["text"]
    with pytest.raises(ValueError):
        restructure(firms, scenarios, qrels, "nonsense")


def test_topic_feedback_moves_the_query_towards_its_best_candidates() -> None:
    model = Matcher.fit_firms(_topic_corpus())
    assert model.options.topic_feedback_docs > 0
    off = copy.copy(model)
    off.options = dataclasses.replace(model.options, topic_feedback_docs=0)
    q_idx, q_w = model.query_vector(ScenarioDoc(id="q", text="路口信号配时优化，缓解拥堵；医院影像诊断。"))
    topic = model.topic_vector(q_idx, q_w)
    traffic, medical = np.arange(0, 48, 4), np.arange(1, 49, 4)
    docs = np.concatenate([traffic, medical])
    words = np.concatenate([np.full(traffic.size, 0.3), np.full(medical.size, 0.25)])  # traffic firms lead
    plain = off.agreement_factors(docs, words, topic)
    first = model.topic_factors(docs, topic)
    assert plain == pytest.approx(first * model.neighbour_factors(docs, words * first))
    moved = model.agreement_factors(docs, words, topic)
    # The query's topic moves towards the traffic firms that lead: they gain, the medical firms lose.
    assert (moved[: traffic.size] >= plain[: traffic.size] - 1e-9).all()
    assert (moved[traffic.size :] < plain[traffic.size :] - 1e-6).all()
    # Off without a topic vector.
    assert model.agreement_factors(docs, words, None) == pytest.approx(np.ones(docs.size))
