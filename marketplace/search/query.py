"""The user's query string, parsed once into a small backend-neutral tree.

Syntax (documented for users on the search page):

* ``智慧交通 信号``: several words, separated by blanks; **every word must match** (AND).  A
  word may match in any field; the title counts most.  If no record holds every word, the
  backends fall back to *any* word, ranked by relevance, so records matching more words come
  first, and say so in :attr:`~marketplace.search.documents.SearchResults.notice`.
* ``"信息安全"`` (ASCII ``"…"``, Chinese ``“…”`` or ``「…」``): a phrase, its words adjacent and
  in order.
* ``-数字孪生`` / ``-"数字孪生"``: exclude records containing the word or phrase.

A word is analysed with the shared tokeniser (:mod:`marketplace.search.analysis`).  A word that
is one dictionary token matches that token; a compound whose components tile it
(``人工智能`` = ``人工`` + ``智能``) matches the token **or** its components side by side, so
``工业互联网`` also finds ``工业互联网平台`` (jieba keeps that as one word) and text where jieba
cut the same characters differently.  A blank-free word that splits into several tokens
(``智慧交通信号灯``) requires all of them, in any order.  Two-character words inside longer words
are found because the index holds the components too (``交通`` finds ``智慧交通``).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field

from marketplace.search.analysis import PositionedToken, Word, analyse

__all__ = [
    "AllOf",
    "AnyOf",
    "Node",
    "ParsedQuery",
    "PhraseNode",
    "TermNode",
    "parse_query",
]


@dataclass(frozen=True, slots=True)
class TermNode:
    """One normalised token."""

    token: str


@dataclass(frozen=True, slots=True)
class PhraseNode:
    """Tokens at fixed relative positions: ``tokens[i]`` at ``offsets[i]`` (``offsets[0] == 0``).

    Offsets are consecutive except where the phrase itself contains a stop word or punctuation.
    """

    tokens: tuple[str, ...]
    offsets: tuple[int, ...]
    #: Check positions exactly (a quoted phrase).  ``False`` for the leaves of one unquoted
    #: compound word: every adjacent pair must occur (as a shingle), which is cheaper and, for a
    #: word, as good.
    exact: bool = True

    @property
    def consecutive(self) -> bool:
        """Whether the offsets are 0, 1, 2, …."""
        return all(o == i for i, o in enumerate(self.offsets))


@dataclass(frozen=True, slots=True)
class AllOf:
    """Every child must match."""

    children: tuple[Node, ...]


@dataclass(frozen=True, slots=True)
class AnyOf:
    """At least one child must match."""

    children: tuple[Node, ...]


Node = TermNode | PhraseNode | AllOf | AnyOf


@dataclass(frozen=True, slots=True)
class ParsedQuery:
    """The parsed query: clauses that must (or, in ``any`` mode, may) match, clauses that must
    not, and the tokens to highlight."""

    must: tuple[Node, ...] = ()
    must_not: tuple[Node, ...] = ()
    #: Tokens of the positive clauses, highlighted in titles and snippets.
    highlight: frozenset[str] = field(default_factory=frozenset)

    @property
    def is_empty(self) -> bool:
        """No text condition at all: browse."""
        return not self.must and not self.must_not

    @property
    def can_relax(self) -> bool:
        """Whether an "any word" fallback could find more than "every word"."""
        return len(self.must) > 1


# An optional leading minus, then a quoted phrase (three quote styles) or a bare word.  An
# unbalanced opening quote runs to the end of the string.
_CLAUSE_RE = re.compile(
    r"""(?P<neg>-?)(?:"(?P<q1>[^"]*)"?|“(?P<q2>[^”]*)”?|「(?P<q3>[^」]*)」?|(?P<word>[^\s"“「]+))"""
)


def _word_node(word: Word) -> Node:
    if len(word.leaves) < 2:
        return TermNode(word.text)
    phrase = PhraseNode(tuple(t.text for t in word.leaves), tuple(range(len(word.leaves))), exact=False)
    return AnyOf((TermNode(word.text), phrase))


def _phrase_node(words: list[Word]) -> Node | None:
    leaves: list[PositionedToken] = [leaf for w in words for leaf in w.leaves]
    if not leaves:
        return None
    if len(leaves) == 1:
        return TermNode(leaves[0].text)
    base = leaves[0].pos
    return PhraseNode(tuple(t.text for t in leaves), tuple(t.pos - base for t in leaves))


def _clause(text: str, quoted: bool) -> tuple[Node | None, set[str]]:
    words = analyse(text)
    terms = {tok.text for w in words for tok in (*w.leaves, w.tokens[0])}
    if quoted:
        return _phrase_node(words), terms
    nodes = [_word_node(w) for w in words]
    if not nodes:
        return None, terms
    if len(nodes) == 1:
        return nodes[0], terms
    return AllOf(tuple(nodes)), terms


def parse_query(q: str) -> ParsedQuery:
    """Parse the user's query string (see the module docstring for the syntax).

    Words that analyse to nothing (stop words, punctuation) are dropped; so is a lone ``-``.
    """
    text = unicodedata.normalize("NFKC", q or "").strip()
    # NFKC maps full-width quotes/minus to ASCII but keeps “” and 「」.
    must: list[Node] = []
    must_not: list[Node] = []
    highlight: set[str] = set()
    for match in _CLAUSE_RE.finditer(text):
        quoted_text = match.group("q1") or match.group("q2") or match.group("q3")
        quoted = quoted_text is not None
        body = quoted_text if quoted else match.group("word")
        if not body:
            continue
        negative = bool(match.group("neg"))
        if not negative and not quoted and body.startswith("+"):
            body = body.lstrip("+")
        node, terms = _clause(body, quoted)
        if node is None:
            continue
        if negative:
            if node not in must_not:
                must_not.append(node)
        else:
            if node not in must:
                must.append(node)
            highlight |= terms
    return ParsedQuery(tuple(must), tuple(must_not), frozenset(highlight))


def node_tokens(node: Node) -> set[str]:
    """Every token mentioned in *node*."""
    if isinstance(node, TermNode):
        return {node.token}
    if isinstance(node, PhraseNode):
        return set(node.tokens)
    found: set[str] = set()
    for child in node.children:
        found |= node_tokens(child)
    return found
