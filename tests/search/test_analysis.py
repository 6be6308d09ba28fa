"""Chinese analysis for the index, the query syntax and highlighting."""

from __future__ import annotations

import pytest
from whoosh import query as wq
from whoosh.fields import ID, TEXT, Schema
from whoosh.filedb.filestore import RamStorage

from marketplace.search.analysis import ChineseTokenizer, analyse, index_tokens
from marketplace.search.highlight import highlight, snippet
from marketplace.search.query import AllOf, AnyOf, PhraseNode, TermNode, parse_query


def positions(text: str) -> list[tuple[str, int]]:
    return [(t.text, t.pos) for t in index_tokens(text, shingles=False)]


def test_leaves_are_numbered_consecutively_and_compounds_share_the_first_position() -> None:
    assert positions("智慧交通信号灯控制系统") == [
        ("智慧交通", 0),
        ("智慧", 0),
        ("交通", 1),
        ("信号灯", 2),
        ("信号", 2),
        ("控制系统", 3),
        ("控制", 3),
        ("系统", 4),
    ]


def test_dropped_stop_words_and_punctuation_break_adjacency_but_blanks_do_not() -> None:
    assert positions("信息与安全") == [("信息", 0), ("安全", 2)]
    assert positions("信息，安全") == [("信息", 0), ("安全", 2)]
    assert positions("ISO 27001认证") == [("iso", 0), ("27001", 1), ("认证", 2)]


def test_latin_and_numbers_stay_whole_and_lower_case() -> None:
    assert [t for t, _ in positions("支持5G和B/S架构，C++开发")] == [
        "支持",
        "5g",
        "b/s",
        "架构",
        "c++",
        "开发",
    ]


def test_offsets_point_into_the_original_text() -> None:
    text = "基于ＡＩ的智慧交通（试点）"
    words = {t.text: text[t.start : t.end] for t in index_tokens(text, shingles=False)}
    assert words["ai"] == "ＡＩ"
    assert words["智慧交通"] == "智慧交通"
    assert words["试点"] == "试点"


def test_shingles_join_adjacent_leaves_only() -> None:
    tokens = {t.text: t.pos for t in index_tokens("个人信息安全") if " " in t.text}
    assert tokens == {"个人 信息": 0, "信息 安全": 1}
    assert not [t for t in index_tokens("信息与安全") if " " in t.text]


def test_whoosh_tokenizer_gives_positions_and_chars() -> None:
    tokens = [
        (t.text, t.pos, t.startchar, t.endchar)
        for t in ChineseTokenizer()("智慧交通", positions=True, chars=True, start_pos=10, start_char=100)
    ]
    assert tokens == [
        ("智慧交通", 10, 100, 104),
        ("智慧", 10, 100, 102),
        ("交通", 11, 102, 104),
        ("智慧 交通", 10, 100, 104),
    ]


def test_plain_whoosh_phrase_queries_work_with_these_positions() -> None:
    """jieba's ChineseAnalyzer uses character offsets as positions, so Whoosh phrase queries of
    Chinese words find nothing; with consecutive leaf positions they work."""
    storage = RamStorage()
    ix = storage.create_index(Schema(id=ID(stored=True), text=TEXT(analyzer=ChineseTokenizer(), phrase=True)))
    with ix.writer() as writer:
        writer.add_document(id="adjacent", text="建设全市网络信息安全态势感知平台")
        writer.add_document(id="apart", text="政务信息化项目运维，保障安全生产")
        writer.add_document(id="stopword", text="信息与安全培训")
    with ix.searcher() as searcher:

        def found(q: wq.Query) -> set[str]:
            return {hit["id"] for hit in searcher.search(q, limit=None)}

        assert found(wq.Phrase("text", ["信息", "安全"])) == {"adjacent"}
        assert found(wq.Phrase("text", ["网络", "信息", "安全", "态势"])) == {"adjacent"}
        assert found(wq.And([wq.Term("text", "信息"), wq.Term("text", "安全")])) == {
            "adjacent",
            "apart",
            "stopword",
        }


# -- query syntax -----------------------------------------------------------------------------


def test_words_phrases_and_exclusions() -> None:
    parsed = parse_query('人工智能 "信息安全" -数字孪生 -"区块链"')
    assert parsed.must == (
        AnyOf((TermNode("人工智能"), PhraseNode(("人工", "智能"), (0, 1), exact=False))),
        PhraseNode(("信息", "安全"), (0, 1)),
    )
    assert parsed.must_not == (
        AnyOf((TermNode("数字孪生"), PhraseNode(("数字", "孪生"), (0, 1), exact=False))),
        TermNode("区块链"),
    )
    assert {"人工智能", "信息", "安全"} <= parsed.highlight
    assert "区块链" not in parsed.highlight


def test_one_word_that_splits_into_several_tokens_needs_them_all() -> None:
    node = parse_query("智慧交通信号灯").must[0]
    assert isinstance(node, AllOf)
    assert node.children[1] == TermNode("信号灯")


@pytest.mark.parametrize(
    "raw",
    ["“信息安全”", "「信息安全」", "＂信息安全＂", '"信息安全'],
)
def test_quote_styles(raw: str) -> None:
    assert parse_query(raw).must == (PhraseNode(("信息", "安全"), (0, 1)),)


def test_full_width_minus_and_plus_and_empty_parts() -> None:
    parsed = parse_query("＋医疗　－影像 - 的")
    assert parsed.must == (TermNode("医疗"),)
    assert parsed.must_not == (TermNode("影像"),)
    assert parse_query("   ").is_empty and parse_query("的 了 。").is_empty


def test_phrase_with_a_stop_word_keeps_the_gap() -> None:
    assert parse_query('"信息与安全"').must == (PhraseNode(("信息", "安全"), (0, 2)),)


# -- highlighting -----------------------------------------------------------------------------


def test_highlight_merges_compound_and_components_and_escapes() -> None:
    assert (
        highlight("工业互联网平台<建设>", {"工业", "互联网", "工业互联网"})
        == "<mark>工业互联网</mark>平台&lt;建设&gt;"
    )
    assert highlight('a "b" & c', set()) == "a &quot;b&quot; &amp; c"


def test_snippet_centres_on_matches_and_marks_cuts() -> None:
    text = "前言。" * 60 + "本项目建设区块链电子证照存证系统。" + "后记。" * 60
    cut = snippet(text, {"区块链"}, length=40)
    assert cut.startswith("…") and cut.endswith("…")
    assert "<mark>区块链</mark>" in cut
    assert snippet("短文本", {"无"}) == "短文本"
    assert snippet("", {"x"}) == ""


@pytest.mark.parametrize(
    "text",
    [
        "本项目采用GIS和BIM技术（含C++开发），通过ISO 27001认证；大数据平台,5G!人工智能?",
        "智慧交通信号灯系统。交通数据\n采集、交通\t治理：智能交通",
        "采用ＧＩＳ和ＢＩＭ，全角字母改变长度的ﬁ连字",
        "信息安全等级保护三级测评，信息与安全",
        # several pieces holding a query word, Latin at their edges (tokenised in one call)
        "GIS。BIM，C++；5G!交通GIS(交通)信号,信号灯 bim-gis 27001:交通",
        "",
    ],
)
def test_marks_are_those_of_tokenising_the_whole_text(text: str) -> None:
    """Only the pieces of text holding a query word are tokenised: the marks are the same as
    tokenising everything."""
    from marketplace.search import highlight as module
    from marketplace.text.tokenizer import token_spans

    for q in ("GIS c++ 27001", "交通 信号", "大数据 人工智能", "信息安全", "bim", "fi 连字", "无关", "gis 交通 5g"):
        terms = parse_query(q).highlight
        reference: list[tuple[int, int]] = []
        for start, end in sorted(token_spans(text, terms)):
            if reference and start <= reference[-1][1]:
                reference[-1] = (reference[-1][0], max(end, reference[-1][1]))
            else:
                reference.append((start, end))
        assert module._spans(text, terms) == reference, (text, q)


def test_analyse_words_expose_leaves() -> None:
    word = analyse("自然语言处理")[0]
    assert [leaf.text for leaf in word.leaves] == ["自然", "语言", "处理"]
    assert [leaf.pos for leaf in word.leaves] == [0, 1, 2]
