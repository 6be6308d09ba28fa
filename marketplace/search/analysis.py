"""Chinese text analysis for the search index, on top of the project's one tokeniser.

:func:`marketplace.text.tokenizer.iter_tokens` yields *main* tokens (jieba words, Latin and
number runs) each followed by its *component* words (``智慧交通`` → ``智慧交通, 智慧, 交通``).
This module gives every token a **position** so that phrase queries work:

* A main token is split into its **leaves**: the finest cover of the word by its components
  (``自然语言处理`` → ``自然 语言 处理``; ``工业互联网平台`` → ``工业 互联网 平台``).  A word
  whose components do not cover it completely is its own leaf (``大数据`` → ``大数据``; its
  component ``数据`` is still indexed).
* Leaves are numbered **consecutively** (0, 1, 2, …) through the text.  Every other token (the
  compound itself, intermediate components) takes the position of the leaf it starts on, like
  a synonym.  A stop word, punctuation or any other dropped non-blank text between two words
  adds one to the position, so ``"信息安全"`` does not match ``信息与安全``; blanks do not
  (``ISO 27001`` stays adjacent).

Phrase queries are built from leaves, so they do not depend on how jieba grouped the words in a
given context: ``"工业互联网"`` matches ``工业互联网平台`` (one dictionary word) because the
leaves ``工业 互联网`` are adjacent in both.  jieba's bundled ``ChineseAnalyzer`` uses character
offsets as positions, which makes every phrase query of Chinese words fail; this one does not.

**Shingles**: every two adjacent leaves also give one token (``信息 安全``, the words joined by a
blank, which no ordinary token contains) at the first leaf's position.  A two-word phrase is then
one term lookup instead of a positional check over two frequent words, and a longer phrase is a
phrase of shingles, whose posting lists are short (Elasticsearch's ``index_phrases`` does the
same).  They cost about 40% more postings at indexing time.

The same tokens and positions feed the Whoosh index (:class:`ChineseTokenizer`) and the
PostgreSQL ``tsvector`` (see :mod:`marketplace.search.postgres_backend`), so both backends match
exactly the same records.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import NamedTuple

from whoosh.analysis import Token, Tokenizer

from marketplace.text.tokenizer import iter_tokens

__all__ = [
    "SHINGLE_SEPARATOR",
    "ChineseTokenizer",
    "PositionedToken",
    "Word",
    "analyse",
    "index_positions",
    "index_tokens",
    "shingle",
]


class PositionedToken(NamedTuple):
    """A token with its position and character span in the original text."""

    text: str
    pos: int
    start: int
    end: int


@dataclass(frozen=True, slots=True)
class Word:
    """A main token with its leaves and every token it contributes to the index."""

    #: The main token (normalised).
    text: str
    start: int
    end: int
    #: Position of the first leaf.
    pos: int
    #: The leaves, in order, positions ``pos, pos + 1, …``.
    leaves: tuple[PositionedToken, ...]
    #: Every token for the index: the word first, then its components (no duplicates).
    tokens: tuple[PositionedToken, ...]


_Span = tuple[str, int, int]
#: Separator inside a shingle token (no token contains a blank).
SHINGLE_SEPARATOR = " "


class _Layout(NamedTuple):
    """A word's tokens and leaves relative to the word's start (memoised per word: components
    depend only on the word)."""

    #: ``(text, position, start, end)`` of the word and its components.
    tokens: tuple[tuple[str, int, int, int], ...]
    #: ``(text, start, end)`` of the leaves, in order (position = index).
    leaves: tuple[_Span, ...]


_LAYOUTS: dict[tuple[str, int], _Layout] = {}
_MAX_LAYOUTS = 200_000


def shingle(left: str, right: str) -> str:
    """The token standing for *left* immediately followed by *right*."""
    return left + SHINGLE_SEPARATOR + right


def _cover(start: int, end: int, comps: list[_Span]) -> list[_Span] | None:
    """The top-level components inside ``[start, end)`` if they tile it exactly (two or more)."""
    inside = [c for c in comps if c[1] >= start and c[2] <= end and (c[1], c[2]) != (start, end)]
    top = [c for c in inside if not any(o is not c and o[1] <= c[1] and c[2] <= o[2] for o in inside)]
    top.sort(key=lambda c: c[1])
    if len(top) < 2 or top[0][1] != start or top[-1][2] != end:
        return None
    for a, b in zip(top, top[1:], strict=False):
        if a[2] != b[1]:
            return None
    return top


def _leaves(word: _Span, comps: list[_Span]) -> list[_Span]:
    top = _cover(word[1], word[2], comps)
    if top is None:
        return [word]
    leaves: list[_Span] = []
    for comp in top:
        leaves.extend(_leaves(comp, comps))
    return leaves


def _layout(main: _Span, comps: list[_Span]) -> _Layout:
    """Positions of a word's tokens relative to the word (memoised by word)."""
    key = (main[0], main[2] - main[1])
    found = _LAYOUTS.get(key)
    if found is not None:
        return found
    base = main[1]
    rel_main = (main[0], 0, main[2] - base)
    rel_comps = [(t, s - base, e - base) for t, s, e in comps]
    leaves = _leaves(rel_main, rel_comps)
    leaf_starts = [s for _, s, _ in leaves]

    def position_of(start: int) -> int:
        found_pos = 0
        for i, leaf_start in enumerate(leaf_starts):
            if leaf_start <= start:
                found_pos = i
        return found_pos

    tokens: list[tuple[str, int, int, int]] = []
    seen: set[tuple[str, int]] = set()
    for text, start, end in [rel_main, *rel_comps]:
        pos = position_of(start)
        if (text, pos) not in seen:
            seen.add((text, pos))
            tokens.append((text, pos, start, end))
    layout = _Layout(tuple(tokens), tuple(leaves))
    if len(_LAYOUTS) < _MAX_LAYOUTS:
        _LAYOUTS[key] = layout
    return layout


def _iter_words(text: str) -> Iterator[tuple[_Span, _Layout | None, int]]:
    """``(main token, its layout or None without components, position of its first leaf)``."""
    main: _Span | None = None
    comps: list[_Span] = []
    pos = 0
    prev_end = -1
    for token, start, end in iter_tokens(text):
        if main is not None and start >= main[1] and end <= main[2]:
            comps.append((token, start, end))
            continue
        if main is not None:
            if prev_end >= 0 and prev_end < main[1] and text[prev_end : main[1]].strip():
                pos += 1  # a dropped stop word or punctuation breaks adjacency
            layout = _layout(main, comps) if comps else None
            yield main, layout, pos
            pos += len(layout.leaves) if layout else 1
            prev_end = main[2]
        main, comps = (token, start, end), []
    if main is not None:
        if prev_end >= 0 and prev_end < main[1] and text[prev_end : main[1]].strip():
            pos += 1
        yield main, _layout(main, comps) if comps else None, pos


def index_tokens(text: str, shingles: bool = True) -> list[PositionedToken]:
    """Every token of *text* to index, with positions and character offsets.

    With *shingles*, every two adjacent leaves also give a shingle token (``信息 安全``) at the
    position of the first one, spanning both: a two-leaf phrase is then one term lookup, and a
    longer phrase a phrase of shingles (like Elasticsearch's ``index_phrases``).
    """
    out: list[PositionedToken] = []
    if not text:
        return out
    append = out.append
    prev_leaf: PositionedToken | None = None
    for main, layout, pos in _iter_words(text):
        if layout is None:
            leaf = PositionedToken(main[0], pos, main[1], main[2])
            append(leaf)
            if shingles and prev_leaf is not None and prev_leaf.pos == pos - 1:
                append(
                    PositionedToken(
                        shingle(prev_leaf.text, leaf.text), prev_leaf.pos, prev_leaf.start, leaf.end
                    )
                )
            prev_leaf = leaf
            continue
        base = main[1]
        for tok, rel_pos, rel_start, rel_end in layout.tokens:
            append(PositionedToken(tok, pos + rel_pos, base + rel_start, base + rel_end))
        if shingles:
            for i, (tok, rel_start, rel_end) in enumerate(layout.leaves):
                leaf = PositionedToken(tok, pos + i, base + rel_start, base + rel_end)
                if prev_leaf is not None and prev_leaf.pos == leaf.pos - 1:
                    append(
                        PositionedToken(
                            shingle(prev_leaf.text, tok), prev_leaf.pos, prev_leaf.start, leaf.end
                        )
                    )
                prev_leaf = leaf
    return out


#: Positions of short texts (the ``extra`` field: owner, district, domain, batch names) repeat
#: across records: memoised up to this many texts of at most ``_POSITIONS_MAX_LEN`` characters.
_POSITIONS: dict[str, dict[str, list[int]]] = {}
_MAX_POSITIONS = 50_000
_POSITIONS_MAX_LEN = 120


def index_positions(text: str) -> dict[str, list[int]]:
    """``{token: [positions]}`` of :func:`index_tokens` (with shingles), positions in the order
    the tokens come, without building the tokens: what Whoosh's ``Positions`` format stores.

    Used by the rebuild's segment writer.  The result of a short text may be shared between
    calls: never modify it.
    """
    if not text:
        return {}
    short = len(text) <= _POSITIONS_MAX_LEN
    if short:
        found = _POSITIONS.get(text)
        if found is not None:
            return found
    out: dict[str, list[int]] = {}
    get = out.get
    prev_text = ""
    prev_pos = -2  # no previous leaf
    for main, layout, pos in _iter_words(text):
        if layout is None:
            tok = main[0]
            found_list = get(tok)
            if found_list is None:
                out[tok] = [pos]
            else:
                found_list.append(pos)
            if prev_pos == pos - 1:
                sh = prev_text + SHINGLE_SEPARATOR + tok
                found_list = get(sh)
                if found_list is None:
                    out[sh] = [prev_pos]
                else:
                    found_list.append(prev_pos)
            prev_text, prev_pos = tok, pos
            continue
        for tok, rel_pos, _start, _end in layout.tokens:
            found_list = get(tok)
            if found_list is None:
                out[tok] = [pos + rel_pos]
            else:
                found_list.append(pos + rel_pos)
        for i, (tok, _start, _end) in enumerate(layout.leaves):
            leaf_pos = pos + i
            if prev_pos == leaf_pos - 1:
                sh = prev_text + SHINGLE_SEPARATOR + tok
                found_list = get(sh)
                if found_list is None:
                    out[sh] = [prev_pos]
                else:
                    found_list.append(prev_pos)
            prev_text, prev_pos = tok, leaf_pos
    if short and len(_POSITIONS) < _MAX_POSITIONS:
        _POSITIONS[text] = out
    return out


def analyse(text: str) -> list[Word]:
    """Split *text* into positioned words (see the module docstring)."""
    words: list[Word] = []
    for main, layout, pos in _iter_words(text or ""):
        if layout is None:
            token = PositionedToken(main[0], pos, main[1], main[2])
            words.append(Word(main[0], main[1], main[2], pos, (token,), (token,)))
            continue
        base = main[1]
        tokens = tuple(PositionedToken(t, pos + p, base + s, base + e) for t, p, s, e in layout.tokens)
        leaves = tuple(
            PositionedToken(t, pos + i, base + s, base + e) for i, (t, s, e) in enumerate(layout.leaves)
        )
        words.append(Word(main[0], main[1], main[2], pos, leaves, tokens))
    return words


class ChineseTokenizer(Tokenizer):
    """Whoosh tokenizer over :func:`index_tokens`: normalised tokens, positions as described in
    the module docstring, ``startchar`` / ``endchar`` into the original text.

    Stop words are already removed by the shared tokeniser, so no filter follows it.
    """

    def __eq__(self, other: object) -> bool:
        return type(other) is type(self)

    def __hash__(self) -> int:
        return hash(type(self).__name__)

    def __call__(  # type: ignore[override]
        self,
        value: str,
        positions: bool = False,
        chars: bool = False,
        keeporiginal: bool = False,
        removestops: bool = True,
        start_pos: int = 0,
        start_char: int = 0,
        tokenize: bool = True,
        mode: str = "",
        **kwargs: object,
    ) -> Iterator[Token]:
        token = Token(positions, chars, removestops=removestops, mode=mode, **kwargs)
        if not tokenize:
            token.original = token.text = value
            token.boost = 1.0
            if positions:
                token.pos = start_pos
            if chars:
                token.startchar = start_char
                token.endchar = start_char + len(value)
            yield token
            return
        for item in index_tokens(value):
            token.text = item.text
            token.boost = 1.0
            token.stopped = False
            if keeporiginal:
                token.original = value[item.start : item.end]
            if positions:
                token.pos = start_pos + item.pos
            if chars:
                token.startchar = start_char + item.start
                token.endchar = start_char + item.end
            yield token
