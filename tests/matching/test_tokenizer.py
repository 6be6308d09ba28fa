"""Tests for the shared tokeniser (no Flask)."""

from __future__ import annotations

import pickle
import subprocess
import sys
import threading

import pytest

from marketplace.text import tokenizer
from marketplace.text.tokenizer import domain_terms, iter_tokens, search_terms, stopwords, tokenize


@pytest.mark.parametrize(
    "term",
    [
        "工业互联网",
        "数字孪生",
        "智慧交通",
        "信创",
        "等保",
        "低代码",
        "大数据",
        "云计算",
        "区块链",
        "人工智能",
        "智能制造",
        "车联网",
        "智慧城市",
        "智慧医疗",
        "智慧政务",
        "城市大脑",
        "一网通办",
        "电子政务",
        "网络安全",
        "数据治理",
        "边缘计算",
        "物联网",
        "集成电路",
        "工业软件",
        "机器视觉",
        "知识图谱",
        "自然语言处理",
        "计算机视觉",
        "数据中台",
        "政务云",
    ],
)
def test_domain_terms_are_single_tokens(term: str) -> None:
    text = f"本项目建设{term}相关系统"
    tokens = tokenize(text)
    assert term in tokens
    # The compound is one token, emitted before any of its components.
    spans = [(t, s, e) for t, s, e in iter_tokens(text) if t == term]
    assert spans == [(term, 5, 5 + len(term))]


def test_domain_dictionary_size_and_content() -> None:
    terms = domain_terms()
    assert 200 <= len(terms) <= 600
    assert {"一网通办", "信创", "等保", "数据中台", "政务云"} <= terms


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("智慧交通信号优化算法", ["交通", "算法", "信号", "优化"]),
        ("区县医院的医疗数据共享", ["医疗", "医院"]),
        ("城市道路交通拥堵治理", ["交通", "拥堵", "治理"]),
        ("基于深度学习的图像识别算法研究", ["算法", "图像识别"]),
    ],
)
def test_ordinary_two_character_words(text: str, words: list[str]) -> None:
    tokens = tokenize(text)
    for word in words:
        assert word in tokens


def test_compound_emits_components_after_the_compound() -> None:
    tokens = tokenize("智慧交通信号优化算法")
    assert tokens == ["智慧交通", "智慧", "交通", "信号", "优化", "算法"]
    assert tokenize("网络安全等级保护") == [
        "网络安全等级保护",
        "网络安全",
        "网络",
        "安全",
        "等级保护",
        "等级",
        "保护",
    ]
    assert tokenize("大数据") == ["大数据", "数据"]


def test_component_offsets_lie_inside_the_compound() -> None:
    text = "建设智慧交通平台"
    toks = list(iter_tokens(text))
    assert toks[:3] == [("建设", 0, 2), ("智慧交通", 2, 6), ("智慧", 2, 4)]
    assert ("交通", 4, 6) in toks
    for token, start, end in toks:
        assert 0 <= start < end <= len(text)
        assert text[start:end] == token


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("LP-MOCVD设备", ["lp-mocvd", "设备"]),
        ("5G网络", ["5g", "网络"]),
        ("ISO27001认证", ["iso27001", "认证"]),
        ("ISO 27001认证", ["iso", "27001", "认证"]),
        ("B/S架构", ["b/s", "架构"]),
        ("C++开发", ["c++", "开发"]),
        ("C#和Java", ["c#", "java"]),
        ("2.5D封装", ["2.5d", "封装"]),
        ("5G+工业互联网", ["5g", "工业互联网", "工业", "互联网"]),
        ("Node.js。", ["node.js"]),
        ("版本v1.2.3.", ["版本", "v1.2.3"]),
    ],
)
def test_latin_and_numbers_kept_whole(text: str, expected: list[str]) -> None:
    assert tokenize(text) == expected


def test_full_width_is_folded_and_offsets_point_to_the_original() -> None:
    text = "采用ＬＰ－ＭＯＣＶＤ和５Ｇ技术"
    toks = list(iter_tokens(text))
    words = [t for t, _, _ in toks]
    assert "lp-mocvd" in words and "5g" in words
    for _token, start, end in toks:
        assert 0 <= start < end <= len(text)
    surface = {t: text[s:e] for t, s, e in toks}
    assert surface["lp-mocvd"] == "ＬＰ－ＭＯＣＶＤ"
    assert surface["5g"] == "５Ｇ"


def test_offsets_when_normalisation_changes_length() -> None:
    # U+3392 (㎒) and U+2460 (①) expand under NFKC; offsets must still index the original.
    text = "频率㎒与①号智慧交通"
    toks = list(iter_tokens(text))
    assert [t for t, _, _ in toks] == tokenize(text)
    for _token, start, end in toks:
        assert 0 <= start < end <= len(text)
    surface = {t: text[s:e] for t, s, e in toks}
    assert surface["智慧交通"] == "智慧交通"
    assert surface["mhz"] == "㎒"


def test_stopwords_and_punctuation_removed() -> None:
    tokens = tokenize("政府的数据和企业的数据，是在对平台进行治理！？（等）……  ")
    stop = stopwords()
    for word in ("的", "和", "是", "在", "对", "等"):
        assert word in stop
        assert word not in tokens
    for token in tokens:
        assert token.strip() == token and token
        assert any(ch.isalnum() for ch in token)
    assert tokens.count("数据") == 2


def test_iter_tokens_matches_tokenize_on_mixed_text() -> None:
    text = (
        "为提升城市治理水平，拟建设“城市大脑”一期：汇聚公安、交通、医疗等12类数据，"
        "采用Ｂ/Ｓ架构与微服务，满足等保2.0三级要求，兼容信创环境（麒麟OS、达梦DB）。"
    )
    toks = list(iter_tokens(text))
    assert [t for t, _, _ in toks] == tokenize(text) == search_terms(text)
    starts = [s for _, s, _ in toks]
    assert starts == sorted(starts)
    for _token, start, end in toks:
        assert 0 <= start < end <= len(text)


def test_empty_and_blank() -> None:
    assert tokenize("") == []
    assert tokenize("  ，。！ ") == []
    assert list(iter_tokens("")) == []


def test_tokens_are_picklable_strings() -> None:
    tokens = tokenize("数字孪生工厂")
    assert pickle.loads(pickle.dumps(tokens)) == tokens
    assert all(type(t) is str for t in tokens)


def test_concurrent_first_use_is_safe() -> None:
    results: list[list[str]] = []

    def work() -> None:
        results.append(tokenize("智慧政务一网通办"))

    threads = [threading.Thread(target=work) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(results) == 4
    assert all(r == results[0] for r in results)
    assert tokenizer.backend_name() in {"rjieba", "jieba"}


def test_import_is_cheap() -> None:
    code = (
        "import sys, marketplace.text.tokenizer as t;"
        "assert 'rjieba' not in sys.modules and 'jieba' not in sys.modules;"
        "assert t._state is None"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
