"""Tests for the BM25 baseline and the offline evaluation (no Flask)."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
from rank_bm25 import BM25Okapi

from marketplace.matching.bm25 import BM25
from marketplace.matching.evaluation import (
    evaluate_dir,
    format_report,
    load_dataset,
    main,
    mrr,
    ndcg_at_k,
    parse_options,
    recall_at_k,
)
from marketplace.matching.matcher import MatcherOptions
from marketplace.text.tokenizer import tokenize

DEV_SET = Path("/work/shared/data/matching-dev")

CORPUS_TEXTS = [
    "智慧交通信号控制系统，路口信号配时优化",
    "医院电子病历系统，医学影像辅助诊断",
    "政务服务一网通办平台，电子证照共享",
    "网络安全等级保护测评，渗透测试服务",
    "交通大数据分析平台，交通流量预测",
    "智慧校园平台，在线教育系统",
    "系统平台服务",
]


@pytest.fixture(scope="module")
def corpus() -> list[list[str]]:
    return [tokenize(t) for t in CORPUS_TEXTS]


@pytest.mark.parametrize(
    "query",
    ["路口交通信号优化", "医学影像诊断系统", "平台 系统 服务", "交通 交通 大数据", "完全无关的足球"],
)
def test_bm25_matches_rank_bm25(corpus: list[list[str]], query: str) -> None:
    q = tokenize(query)
    ours = BM25().fit(corpus).get_scores(q)
    reference = BM25Okapi(corpus).get_scores(q)
    assert np.allclose(ours, reference, atol=1e-9)
    assert list(np.argsort(-ours, kind="stable")) == list(np.argsort(-reference, kind="stable"))


def test_bm25_negative_idf_epsilon_like_rank_bm25() -> None:
    # "平台" is in 3 of 4 documents: its raw idf is negative and gets epsilon × mean idf.
    corpus = [["平台", "交通"], ["平台", "医疗"], ["平台", "教育"], ["安全"]]
    ours = BM25().fit(corpus)
    reference = BM25Okapi(corpus)
    assert ours.idf[ours.vocabulary["平台"]] == pytest.approx(reference.idf["平台"])
    assert np.allclose(ours.get_scores(["平台", "交通"]), reference.get_scores(["平台", "交通"]))


def test_bm25_top_k_and_from_texts() -> None:
    index = BM25.from_texts(CORPUS_TEXTS)
    top = index.top_k(tokenize("交通信号"), k=2)
    assert [i for i, _ in top] == [0, 4]
    assert top[0][1] > top[1][1] > 0
    assert BM25().fit([["a"]]).get_scores(["zzz"]).tolist() == [0.0]
    with pytest.raises(RuntimeError):
        BM25().get_scores(["a"])


def test_metrics_known_values() -> None:
    judgements = {"a": 1, "b": 1, "c": 1}
    ranked = ["a", "x", "b"]
    dcg = 1 / math.log2(2) + 1 / math.log2(4)
    idcg = 1 / math.log2(2) + 1 / math.log2(3) + 1 / math.log2(4)
    assert ndcg_at_k(ranked, judgements, 10) == pytest.approx(dcg / idcg)
    assert recall_at_k(ranked, judgements, 10) == pytest.approx(2 / 3)
    assert recall_at_k(ranked, judgements, 1) == pytest.approx(1 / 3)
    assert mrr(ranked, judgements) == 1.0
    assert mrr(["x", "y", "c"], judgements) == pytest.approx(1 / 3)
    assert mrr(["x"], judgements) == 0.0
    # Graded relevance, linear gain.
    graded = {"a": 2, "b": 1}
    assert ndcg_at_k(["b", "a"], graded, 10) == pytest.approx((1 + 2 / math.log2(3)) / (2 + 1 / math.log2(3)))
    assert ndcg_at_k(["a", "b"], graded, 10) == pytest.approx(1.0)
    assert ndcg_at_k([], {}, 10) == 0.0


def _write_dataset(root: Path) -> None:
    firms = [
        {"id": "F1", "name": "企业1", "text": "智慧交通信号控制，路口信号配时优化，交通拥堵治理"},
        {"id": "F2", "name": "企业2", "text": "交通信号灯改造，路口信号控制机联网"},
        {"id": "F3", "name": "企业3", "text": "医院电子病历系统，医学影像辅助诊断"},
        {"id": "F4", "name": "企业4", "text": "医学影像人工智能，肺结节检测，医院影像科"},
        {"id": "F5", "name": "企业5", "text": "智慧校园平台，在线教育，课堂教学"},
        {"id": "F6", "name": "企业6", "text": "农业物联网，智能灌溉，土壤墒情"},
    ]
    scenarios = [
        {"id": "S1", "title": "路口信号优化", "text": "路口交通信号配时优化，缓解拥堵"},
        {"id": "S2", "title": "影像辅助诊断", "text": "医院影像科需要医学影像辅助诊断"},
        # Judged relevant to a firm it shares no word with: nothing relevant is ranked.
        {"id": "S3", "title": "足球比赛", "text": "足球比赛直播"},
        # Not judged: ignored.
        {"id": "S4", "title": "未标注", "text": "智慧校园"},
    ]
    with (root / "firms.jsonl").open("w", encoding="utf-8") as fh:
        for f in firms:
            fh.write(json.dumps(f, ensure_ascii=False) + "\n")
    with (root / "scenarios.jsonl").open("w", encoding="utf-8") as fh:
        for s in scenarios:
            fh.write(json.dumps(s, ensure_ascii=False) + "\n")
    (root / "qrels.tsv").write_text(
        "scenario_id\tfirm_id\trelevance\nS1\tF1\t1\nS1\tF2\t1\nS2\tF3\t1\nS2\tF4\t1\nS3\tF6\t1\nS3\tF5\t0\n",
        encoding="utf-8",
    )


def test_load_dataset(tmp_path: Path) -> None:
    _write_dataset(tmp_path)
    firms, scenarios, qrels = load_dataset(tmp_path)
    assert len(firms) == 6 and len(scenarios) == 4
    assert qrels["S1"] == {"F1": 1.0, "F2": 1.0}
    assert qrels["S3"] == {"F6": 1.0, "F5": 0.0}


def test_evaluate_dir_known_values(tmp_path: Path) -> None:
    _write_dataset(tmp_path)
    result = evaluate_dir(tmp_path)
    assert set(result) == {"tfidf", "bm25"}
    for method in ("tfidf", "bm25"):
        # S1 and S2 are perfect, S3 finds nothing: every metric is 2/3.
        assert result[method]["ndcg@10"] == pytest.approx(2 / 3, abs=1e-4)
        assert result[method]["recall@10"] == pytest.approx(2 / 3, abs=1e-4)
        assert result[method]["mrr"] == pytest.approx(2 / 3, abs=1e-4)


def test_main_prints_table_then_json(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _write_dataset(tmp_path)
    assert main([str(tmp_path)]) == 0
    out = capsys.readouterr().out.strip().splitlines()
    assert out[0].split()[:4] == ["method", "ndcg@10", "recall@10", "mrr"]
    assert any(line.startswith("tfidf") for line in out) and any(line.startswith("bm25") for line in out)
    last = json.loads(out[-1])
    assert last == evaluate_dir(tmp_path)


def test_format_report_last_line_is_json() -> None:
    result = {
        "tfidf": {"ndcg@10": 0.5, "recall@10": 0.4, "mrr": 0.6},
        "bm25": {"ndcg@10": 0.4, "recall@10": 0.3, "mrr": 0.5},
    }
    text = format_report(result)
    assert json.loads(text.splitlines()[-1]) == result
    assert "+25.0%" in text


@pytest.mark.slow
@pytest.mark.skipif(not DEV_SET.is_dir(), reason="dev set not available")
def test_dev_set_tfidf_beats_bm25() -> None:
    result = evaluate_dir(DEV_SET)
    assert result["tfidf"]["ndcg@10"] >= 1.1 * result["bm25"]["ndcg@10"]


def test_parse_options_types_and_errors() -> None:
    assert parse_options([]) is None
    opts = parse_options(["topic_weight=16", "prf_docs=10", "sublinear_tf=false", "char_ngram_range=1,3"])
    assert opts == MatcherOptions(topic_weight=16.0, prf_docs=10, sublinear_tf=False, char_ngram_range=(1, 3))
    assert isinstance(opts.prf_docs, int) and isinstance(opts.topic_weight, float)
    with pytest.raises(ValueError, match="unknown matcher option 'no_such=1'"):
        parse_options(["no_such=1"])
    with pytest.raises(ValueError, match="unknown matcher option"):
        parse_options(["topic_weight"])
    with pytest.raises(ValueError, match="bad value for matcher option prf_docs: 'many'"):
        parse_options(["prf_docs=many"])
    with pytest.raises(ValueError, match="bad value for matcher option strip_exclusions"):
        parse_options(["strip_exclusions=maybe"])


def test_main_option_changes_the_matcher(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _write_dataset(tmp_path)
    assert main([str(tmp_path), "--option", "word_weight=1.0", "--option", "prf_docs=0"]) == 0
    last = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert last == evaluate_dir(tmp_path, MatcherOptions(word_weight=1.0, prf_docs=0))
    with pytest.raises(SystemExit) as exc:
        main([str(tmp_path), "--option", "no_such=1"])
    assert exc.value.code == 2
    assert "unknown matcher option" in capsys.readouterr().err
