"""Tests for the TF-IDF matcher (no Flask, no database)."""

from __future__ import annotations

import pickle
import random

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.feature_extraction.text import TfidfVectorizer

from marketplace.matching import matcher as matcher_module
from marketplace.matching.matcher import (
    DEFAULT_WEIGHTS,
    FirmProfile,
    Matcher,
    MatcherOptions,
    ScenarioDoc,
    Suggestion,
)
from marketplace.matching.sparse import char_codes, count_matrix, decode, factorize
from marketplace.matching.terms import is_meaningful
from marketplace.text.tokenizer import domain_terms, tokenize, tokenize_with_han

NO_SIGNALS = {"same_domain": 0.0, "same_district": 0.0, "qualifications": 0.0, "accepted_projects": 0.0}

FIRMS = [
    FirmProfile(
        id="F1",
        name="蓉城智行交通科技有限公司",
        business_scope="智慧交通系统开发与集成，交通信号控制系统，城市交通大脑。",
        capabilities="路口信号配时优化算法，交通流量预测，拥堵治理与车路协同。",
        domains=["智慧交通"],
        tags=["交通信号", "车路协同"],
        case_titles=["高新区路口信号优化项目"],
        case_descriptions=["为高新区120个路口实施自适应信号控制，早晚高峰通行效率提升15%。"],
        domain_codes=["traffic"],
        district_code="D01",
        verified_qualifications=3,
        accepted_projects=2,
    ),
    FirmProfile(
        id="F2",
        name="华西医信软件有限公司",
        business_scope="医院信息系统、电子病历系统研发。",
        capabilities="医学影像人工智能辅助诊断，肺结节检测，医疗数据治理。",
        domains=["智慧医疗"],
        tags=["医学影像", "电子病历"],
        case_titles=["三甲医院影像AI平台"],
        case_descriptions=["为三甲医院部署肺结节CT影像辅助诊断系统，阅片效率提升一倍。"],
        domain_codes=["health"],
        district_code="D02",
        verified_qualifications=2,
        accepted_projects=3,
    ),
    FirmProfile(
        id="F3",
        name="天府政通数字科技有限公司",
        business_scope="电子政务软件开发，政务服务平台建设。",
        capabilities="一网通办，电子证照共享，统一身份认证，审批流程再造。",
        domains=["智慧政务"],
        tags=["一网通办", "电子证照"],
        case_titles=["区政务服务一网通办平台"],
        case_descriptions=["建设企业开办一网通办系统，实现电子证照互认共享，办理时限压缩到1天。"],
        domain_codes=["gov"],
        district_code="D01",
        verified_qualifications=4,
        accepted_projects=5,
    ),
    FirmProfile(
        id="F4",
        name="锦江网安信息技术有限公司",
        business_scope="网络安全服务，信息安全咨询。",
        capabilities="等保测评，渗透测试，态势感知平台，应急响应。",
        domains=["网络安全"],
        tags=["等保", "渗透测试"],
        case_titles=["市级单位等级保护测评"],
        case_descriptions=["为40家市级单位开展网络安全等级保护测评与渗透测试，出具整改方案。"],
        domain_codes=["security"],
        district_code="D03",
        verified_qualifications=5,
        accepted_projects=4,
    ),
    FirmProfile(
        id="F5",
        name="西部智造工业软件有限公司",
        business_scope="工业软件、工业互联网平台研发。",
        capabilities="制造执行系统MES，设备预测性维护，设备故障诊断，数字孪生工厂。",
        domains=["智能制造"],
        tags=["工业互联网", "预测性维护"],
        case_titles=["汽车零部件工厂设备预测性维护"],
        case_descriptions=["采集机床振动与温度数据，基于机器学习预测设备故障，停机时间减少30%。"],
        domain_codes=["manufacturing"],
        district_code="D04",
        verified_qualifications=1,
        accepted_projects=1,
    ),
    FirmProfile(
        id="F6",
        name="青羊智慧教育科技有限公司",
        business_scope="教育信息化软件开发。",
        capabilities="智慧校园平台，在线教育，课堂教学分析，学生综合素质评价。",
        domains=["智慧教育"],
        tags=["智慧校园"],
        case_titles=["区域智慧校园建设"],
        case_descriptions=["为30所中小学建设智慧校园平台和在线课堂。"],
        domain_codes=["edu"],
        district_code="D02",
    ),
    FirmProfile(
        id="F7",
        name="双流通达交通信息有限公司",
        business_scope="交通信息化系统集成，智能交通工程。",
        capabilities="路口信号控制机接入，交通信号配时优化，停车诱导。",
        domains=["智慧交通"],
        tags=["交通信号"],
        case_titles=["县城路口信号改造"],
        case_descriptions=["完成县城20个路口信号控制机改造与联网。"],
        domain_codes=["traffic"],
        district_code="D02",
        verified_qualifications=0,
        accepted_projects=0,
    ),
    FirmProfile(
        id="F8",
        name="数智中台科技有限公司",
        business_scope="大数据平台，数据中台建设。",
        capabilities="数据治理，主数据管理，数据质量，数据资产目录，数据共享交换。",
        domains=["大数据"],
        tags=["数据中台", "数据治理"],
        case_titles=["市级政务数据中台"],
        case_descriptions=["建设政务数据中台，汇聚50个部门数据，开展数据治理与共享交换。"],
        domain_codes=["data"],
        district_code="D03",
        verified_qualifications=2,
        accepted_projects=2,
    ),
    FirmProfile(
        id="F9",
        name="川农物联科技有限公司",
        business_scope="农业物联网系统。",
        capabilities="智慧农业，土壤墒情传感器，智能灌溉，农产品质量追溯。",
        domains=["智慧农业"],
        tags=["物联网"],
        case_titles=["万亩果园智能灌溉"],
        case_descriptions=["部署土壤墒情传感器和智能灌溉系统，节水30%。"],
        domain_codes=["agri"],
        district_code="D05",
    ),
    FirmProfile(
        id="F10",
        name="蓝天环境监测技术有限公司",
        business_scope="生态环境监测软件。",
        capabilities="大气污染监测，水质在线监测，污染源溯源分析，环保执法。",
        domains=["智慧环保"],
        tags=["生态环境监测"],
        case_titles=["河道水质自动监测"],
        case_descriptions=["建设河道水质在线监测站和污染溯源分析平台。"],
        domain_codes=["env"],
        district_code="D04",
        verified_qualifications=1,
    ),
]
SCENARIOS = {
    "traffic": ScenarioDoc(
        id="S1",
        title="主干道路口交通信号配时优化",
        text="早晚高峰主干道拥堵严重，需要对路口交通信号进行自适应配时优化，提升通行效率。",
        domain_codes=["traffic"],
        district_code="D02",
    ),
    "health": ScenarioDoc(
        id="S2",
        title="肺结节影像辅助诊断",
        text="区人民医院影像科CT阅片量大，需要人工智能辅助诊断肺结节，提高阅片效率。",
        domain_codes=["health"],
        district_code="D02",
    ),
    "gov": ScenarioDoc(
        id="S3",
        title="企业开办一网通办",
        text="推动企业开办一网通办，实现电子证照共享互认，减少群众跑腿。",
        domain_codes=["gov"],
        district_code="D01",
    ),
    "security": ScenarioDoc(
        id="S4",
        title="网络安全等级保护测评",
        text="对区属单位信息系统开展等保测评和渗透测试，发现安全漏洞并整改。",
        domain_codes=["security"],
        district_code="D01",
    ),
    "manufacturing": ScenarioDoc(
        id="S5",
        title="工厂设备故障预测",
        text="园区制造企业设备突发故障导致停机，希望通过振动和温度数据实现预测性维护。",
        domain_codes=["manufacturing"],
        district_code="D04",
    ),
    "data": ScenarioDoc(
        id="S6",
        title="部门数据共享与治理",
        text="各部门数据标准不一，需要建设数据中台开展数据治理和共享交换。",
        domain_codes=["data"],
        district_code="D03",
    ),
    "agri": ScenarioDoc(
        id="S7",
        title="果园智能灌溉",
        text="果园缺水，需要土壤墒情监测和智能灌溉。",
        domain_codes=["agri"],
        district_code="D05",
    ),
}


@pytest.fixture(scope="module")
def firm_model() -> Matcher:
    return Matcher.fit_firms(FIRMS)


EXPECTED_BEST = {
    "traffic": "F1",
    "health": "F2",
    "gov": "F3",
    "security": "F4",
    "manufacturing": "F5",
    "data": "F8",
    "agri": "F9",
}


@pytest.mark.parametrize("key", sorted(EXPECTED_BEST))
def test_best_firm_by_text(firm_model: Matcher, key: str) -> None:
    results = firm_model.suggest(SCENARIOS[key], k=3, weights=NO_SIGNALS)
    assert results[0].id == EXPECTED_BEST[key]
    assert results[0].text_score > 2 * results[1].text_score or key == "traffic"
    assert all(isinstance(r, Suggestion) for r in results)


def test_best_firm_with_default_signals(firm_model: Matcher) -> None:
    for key, best in EXPECTED_BEST.items():
        assert firm_model.suggest(SCENARIOS[key], k=1)[0].id == best


def test_explanations_carry_shared_terms(firm_model: Matcher) -> None:
    top = firm_model.suggest(SCENARIOS["security"], k=1)[0]
    terms = [t for t, _ in top.terms]
    assert "渗透测试" in terms
    assert any("测评" in t or "等保" in t for t in terms)
    values = [v for _, v in top.terms]
    assert values == sorted(values, reverse=True) and all(v > 0 for v in values)
    # Each term's value is its share of the text score (word feature + the n-grams inside it).
    assert len(terms) <= 6 and 0 < sum(values) <= 1.0 + 1e-9

    gov = firm_model.suggest(SCENARIOS["gov"], k=1)[0]
    gov_terms = [t for t, _ in gov.terms]
    assert "一网通办" in gov_terms
    assert "一网通" not in gov_terms  # component of a listed compound is not repeated


def test_signal_contributions_add_up(firm_model: Matcher) -> None:
    top = firm_model.suggest(SCENARIOS["gov"], k=1)[0]
    names = {name for name, _, _ in top.signals}
    assert names == {"same_domain", "same_district", "qualifications", "accepted_projects"}
    labels = {name: label for name, label, _ in top.signals}
    assert labels["same_district"].startswith("同一区县")
    assert top.score == pytest.approx(top.text_score + sum(c for _, _, c in top.signals), rel=1e-6)
    contrib = {name: c for name, _, c in top.signals}
    assert contrib["same_domain"] == pytest.approx(top.text_score * DEFAULT_WEIGHTS["same_domain"], rel=1e-6)
    # F3 has 5 accepted projects = the cap: the full weight.
    assert contrib["accepted_projects"] == pytest.approx(
        top.text_score * DEFAULT_WEIGHTS["accepted_projects"], rel=1e-6
    )


def test_without_signals_score_is_text_score(firm_model: Matcher) -> None:
    for r in firm_model.suggest(SCENARIOS["health"], k=5, weights=NO_SIGNALS):
        assert r.signals == []
        assert r.score == pytest.approx(r.text_score)


def test_local_district_changes_order(firm_model: Matcher) -> None:
    scenario = SCENARIOS["traffic"]  # district D02, where F7 sits; F1 has the better text
    plain = firm_model.suggest(scenario, k=2, weights=NO_SIGNALS)
    assert [r.id for r in plain] == ["F1", "F7"]
    local = firm_model.suggest(scenario, k=2, weights={**NO_SIGNALS, "same_district": 0.5})
    assert [r.id for r in local] == ["F7", "F1"]
    f7 = local[0]
    assert [name for name, _, _ in f7.signals] == ["same_district"]
    assert f7.signals[0][2] == pytest.approx(0.5 * f7.text_score)


def test_same_domain_changes_order() -> None:
    scenario = SCENARIOS["traffic"]
    # Only the runner-up (F7) keeps the scenario's domain code.
    firms = [FirmProfile(**{**f.__dict__, "domain_codes": ["other"]}) if f.id == "F1" else f for f in FIRMS]
    model = Matcher.fit_firms(firms)
    assert [r.id for r in model.suggest(scenario, k=2, weights=NO_SIGNALS)] == ["F1", "F7"]
    boosted = model.suggest(scenario, k=2, weights={**NO_SIGNALS, "same_domain": 0.5})
    assert [r.id for r in boosted] == ["F7", "F1"]
    assert boosted[0].signals == [("same_domain", "同一领域", pytest.approx(0.5 * boosted[0].text_score))]
    assert boosted[1].signals == []


def test_qualifications_and_projects_signals(firm_model: Matcher) -> None:
    r = firm_model.suggest(SCENARIOS["security"], k=1, weights={**NO_SIGNALS, "qualifications": 0.2})[0]
    assert r.id == "F4"
    ((name, label, value),) = r.signals
    assert name == "qualifications" and label == "已核验资质"
    assert value == pytest.approx(0.2 * r.text_score)  # 5 verified = cap


def test_exclude_and_min_score(firm_model: Matcher) -> None:
    results = firm_model.suggest(SCENARIOS["traffic"], k=3, exclude_ids=["F1"])
    assert "F1" not in [r.id for r in results]
    assert results[0].id == "F7"
    strict = firm_model.suggest(SCENARIOS["traffic"], k=10, min_text_score=0.3, weights=NO_SIGNALS)
    assert {r.id for r in strict} == {"F1", "F7"}


def test_free_text_and_mapping_queries(firm_model: Matcher) -> None:
    assert firm_model.suggest("需要建设数据中台，开展数据治理", k=1)[0].id == "F8"
    as_dict = {"id": "S", "title": "智能灌溉", "text": "土壤墒情监测与果园灌溉", "district_code": "D05"}
    assert firm_model.suggest(as_dict, k=1)[0].id == "F9"
    assert firm_model.rank_text("网络安全等级保护测评", k=1)[0][0] == "F4"


def test_firm_to_scenarios() -> None:
    model = Matcher.fit_scenarios(list(SCENARIOS.values()))
    assert model.kind == "scenario"
    by_firm = {f.id: f for f in FIRMS}
    for key, firm_id in EXPECTED_BEST.items():
        top = model.suggest(by_firm[firm_id], k=1)[0]
        assert top.id == SCENARIOS[key].id
        assert top.terms
    # Signals from the firm's side: same district and domain.
    top = model.suggest(by_firm["F7"], k=1, weights={**NO_SIGNALS, "same_district": 0.3})[0]
    assert top.id == "S1" and [n for n, _, _ in top.signals] == ["same_district"]


def test_similar_scenarios() -> None:
    scenarios = list(SCENARIOS.values()) + [
        ScenarioDoc(
            id="S9",
            title="主干道路口信号配时优化",
            text="早晚高峰主干道拥堵，需要对路口交通信号自适应配时优化，提升通行效率。",
        )
    ]
    model = Matcher.fit_scenarios(scenarios)
    dupes = model.similar(scenarios[-1], threshold=0.5, exclude_ids=["S9"])
    assert [d.id for d in dupes] == ["S1"]
    assert dupes[0].score > 0.7
    assert model.similar("果园缺水，需要土壤墒情监测和智能灌溉。", threshold=0.9)[0].id == "S7"
    assert model.similar("完全无关的内容：足球比赛直播", threshold=0.5) == []


def test_pickle_round_trip(firm_model: Matcher) -> None:
    blob = pickle.dumps(firm_model, protocol=pickle.HIGHEST_PROTOCOL)
    restored = pickle.loads(blob)
    assert len(blob) < 200_000
    for scenario in SCENARIOS.values():
        a = firm_model.suggest(scenario, k=5)
        b = restored.suggest(scenario, k=5)
        assert [(r.id, round(r.score, 6), r.terms, r.signals) for r in a] == [
            (r.id, round(r.score, 6), r.terms, r.signals) for r in b
        ]
    assert "_rows" not in blob.decode("latin-1") or restored._rows is None


# --------------------------------------------------------------------------- internals


def _synthetic_firms(n: int, seed: int = 7) -> list[FirmProfile]:
    rng = random.Random(seed)
    terms = sorted(domain_terms())
    fillers = ["平台", "系统", "服务", "建设", "管理", "数据", "应用", "运营", "集成", "研发", "监测", "分析"]
    firms = []
    for i in range(n):
        own = rng.sample(terms, 3)
        words = [rng.choice(own) if rng.random() < 0.5 else rng.choice(terms + fillers) for _ in range(40)]
        firms.append(FirmProfile(id=i, text="，".join(words), district_code=f"D{i % 7}"))
    return firms


@pytest.fixture(scope="module")
def synthetic_model() -> Matcher:
    return Matcher.fit_firms(_synthetic_firms(1500), MatcherOptions(prf_docs=0))


def test_postings_top_k_equals_naive(synthetic_model: Matcher) -> None:
    rng = random.Random(3)
    terms = sorted(domain_terms())
    queries = ["，".join(rng.sample(terms, rng.randint(1, 30))) for _ in range(25)]
    for q in queries:
        idx, w = synthetic_model.query_vector(q)
        fast = synthetic_model.top_k_postings(idx, w, 10)
        naive = synthetic_model.top_k_naive(idx, w, 10)
        assert len(fast) == len(naive) == 10
        assert np.allclose([s for _, s in fast], [s for _, s in naive], atol=1e-6)
        # Same documents (ties at the cut aside).
        kth = naive[-1][1]
        assert {i for i, s in fast if s > kth + 1e-6} == {i for i, s in naive if s > kth + 1e-6}


def test_postings_scores_equal_dense_product(synthetic_model: Matcher) -> None:
    idx, w = synthetic_model.query_vector("智慧交通 信号 数据中台 网络安全")
    a = synthetic_model.scores_postings(idx, w)
    b = synthetic_model.scores_naive(idx, w)
    assert np.allclose(a, b, atol=1e-6)


def test_word_space_equals_sklearn_tfidf_vectorizer() -> None:
    texts = [f.text for f in _synthetic_firms(60, seed=11)]
    docs = [FirmProfile(id=i, text=t) for i, t in enumerate(texts)]
    model = Matcher.fit_firms(docs, MatcherOptions(word_weight=1.0, prf_docs=0, boilerplate_df=1.0))
    # The word space holds the meaningful tokens only (no stopword, number or single character).
    vec = TfidfVectorizer(analyzer=lambda t: [w for w in tokenize(t) if is_meaningful(w)], sublinear_tf=True,
                          lowercase=False)
    expected = vec.fit_transform(texts).toarray()
    ours = model._row_matrix().toarray()
    cols = [vec.vocabulary_[t] for t in model.terms]
    assert np.allclose(ours, expected[:, cols], atol=1e-6)


def test_count_matrix_and_factorize() -> None:
    vocab, counts = count_matrix([["a", "b", "a"], [], ["c", "a"]])
    assert vocab == ["a", "b", "c"]
    assert counts.toarray().tolist() == [[2, 1, 0], [0, 0, 0], [1, 0, 1]]
    rng = np.random.default_rng(0)
    codes = rng.integers(0, 50, size=500).astype(np.int64)
    u, inv = factorize(codes)
    u2, inv2 = np.unique(codes, return_inverse=True)
    assert np.array_equal(u, u2) and np.array_equal(inv, inv2.ravel())


def test_char_codes_round_trip() -> None:
    _, han = tokenize_with_han("智慧交通，5G网络")
    codes = char_codes(han, 1, 3)
    grams = sorted(decode(int(c)) for c in codes)
    assert grams == sorted(
        ["智", "慧", "交", "通", "网", "络", "智慧", "慧交", "交通", "网络", "智慧交", "慧交通"]
    )
    assert char_codes("", 1, 2).size == 0


def test_nbytes_and_features(synthetic_model: Matcher) -> None:
    sizes = synthetic_model.nbytes()
    assert sizes["total"] == sizes["sparse"] + sizes["vocabulary"] + sizes["arrays"]
    assert sizes["sparse"] > 0 and synthetic_model.n_features == synthetic_model.postings.shape[0]
    assert synthetic_model.feature_name(synthetic_model.n_word_features).strip()
    assert isinstance(synthetic_model.postings, sp.csr_matrix)


def test_empty_query_and_empty_model(firm_model: Matcher) -> None:
    assert firm_model.suggest("", k=5) == []
    assert firm_model.suggest("，。！", k=5) == []
    empty = Matcher.fit_firms([])
    assert empty.suggest("智慧交通", k=3) == []
    blank = Matcher.fit_firms([FirmProfile(id=1)])
    assert blank.suggest("智慧交通", k=3) == []


def test_parallel_fit_is_identical(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(matcher_module, "_PARALLEL_MIN_DOCS", 10)
    firms = _synthetic_firms(120, seed=5)
    serial = Matcher.fit_firms(firms)
    parallel = Matcher.fit_firms(firms, n_jobs=2)
    assert serial.terms == parallel.terms
    assert np.array_equal(serial.char_codes, parallel.char_codes)
    assert (serial.postings != parallel.postings).nnz == 0
    query = SCENARIOS["data"]
    assert [(r.id, r.score) for r in serial.suggest(query)] == [
        (r.id, r.score) for r in parallel.suggest(query)
    ]
