"""Which words count as evidence for matching, and which parts of a scenario are not demand.

Search and matching share one tokeniser (:mod:`marketplace.text.tokenizer`); search keeps every
token it yields (a user may search for "2024" or "省"), but matching must not: a reason shown to
staff ("shared keyword") that reads ``30`` / ``月`` / ``现有`` / ``建设`` is noise, and such words
skew scores.  So this module decides, on the matching side only:

**Meaningful terms** (:func:`is_meaningful`).  A word is never a matching feature when it is

* a stopword: the maintained Chinese list of the ``stopwordsiso`` package (stopwords-iso, MIT;
  installed data, read offline), the tokeniser's own list, and :data:`PLATFORM_BOILERPLATE`
  (``data/boilerplate.txt``) — verbs, adverbs and generic nouns of government project prose
  (建设 / 实现 / 提升 / 现有 / 要求 …) that say *that* something is built, never *what*, and the
  fixed phrases of a business licence's 经营范围;
* a number, a date, a quantity or a unit: ``30``, ``2.5``, ``2024-06``, ``100%``, ``7x24``,
  ``10gb``, ``三十``, ``第一``, ``一期``, ``分钟``, ``万元`` (:func:`is_quantity`); tokens that
  start with a digit but name a technology (``5g``, ``3d``, ``2.5d``) stay;
* a single character (one Chinese character or one Latin letter says nothing on its own).

On top of these fixed lists, the matcher drops words that the data itself shows to be boilerplate:
those found in more than 80 % of the fitted documents or of the query-side corpus (see
``MatcherOptions.boilerplate_df``), so that 技术 in a city where nearly every profile says 技术
stops counting, whatever the city writes.

**Exclusion clauses** (:func:`strip_exclusions`).  A scenario's 建设边界 often says what is *not*
wanted ("不包括：摄像头等硬件采购"); those words are removed from the scenario before it is
analysed, in every field.  Prefix markers (不包括 / 不包含 / 不含 / 不涉及 / 不属于) remove the text
from the marker to the end of its clause (to the end of the sentence when a colon introduces a
list, and over the following list lines when the marker heads a list); postfix markers (… 除外,
… 不包括在内, … 不在本项目范围内) remove the clause they close.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from functools import lru_cache
from pathlib import Path

from marketplace.text.tokenizer import normalize, stopwords

__all__ = [
    "PLATFORM_BOILERPLATE",
    "exclusion_spans",
    "is_meaningful",
    "is_quantity",
    "matching_stopwords",
    "strip_exclusions",
    "term_kind",
]

BOILERPLATE_PATH = Path(__file__).resolve().parent / "data" / "boilerplate.txt"


def _read_words(path: Path) -> frozenset[str]:
    words: set[str] = set()
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            words.update(normalize(w) for w in line.split())
    return frozenset(words)


#: Words of project prose that never say what is to be built (the platform's own boilerplate,
#: ``data/boilerplate.txt``).  Data-derived boilerplate (document frequency) is added at fit time.
PLATFORM_BOILERPLATE: frozenset[str] = _read_words(BOILERPLATE_PATH)

# ------------------------------------------------------------------ numbers, dates, units

#: Han unit and time words (a quantity without its number is no topic).
_HAN_UNITS = (
    "小时|分钟|秒钟|毫秒|工作日|个工作日|年度|季度|月份|星期|个月|周年|万元|亿元|千元|百万元|千万元|百万|千万|"
    "平方米|平方公里|平米|公里|千米|厘米|毫米|公斤|千克|公顷|人次|户次|台套|万人|万户|万条|万次|亿条|亿次|"
    "年|月|日|号|天|周|时|分|秒|元|万|亿|米|亩|吨|克|台|套|个|次|人|家|项|户|件|辆|座|条|处|所|名|批|期|级|层|倍|类|种|路|张|份|款"
)
_HAN_NUMERALS = "零〇一二三四五六七八九十百千万亿两几数"
_HAN_QUANTITY_RE = re.compile(rf"^(?:第?[{_HAN_NUMERALS}]+个?(?:{_HAN_UNITS})?|(?:{_HAN_UNITS})|每(?:{_HAN_UNITS}))$")
#: Latin unit suffixes after a number (``10gb``, ``5ms``, ``100kw``); not ``g`` (5g) nor ``d`` (3d).
_LATIN_UNITS = (
    "ms|s|sec|min|h|hr|hrs|m|km|cm|mm|nm|kg|t|w|kw|mw|kwh|mwh|v|kv|kva|a|ma|hz|khz|mhz|ghz|"
    "b|kb|mb|gb|tb|pb|bps|kbps|mbps|gbps|fps|dpi|ppi|px|k|x|p|qps|tps|rmb|yuan|cny"
)
_LATIN_QUANTITY_RE = re.compile(
    rf"^(?:[0-9]+(?:[.,:/x*-][0-9]+)*(?:%|‰)?(?:{_LATIN_UNITS})?|(?:{_LATIN_UNITS})?[0-9]+(?:[.,:/x*-][0-9]+)*)$"
)


def is_quantity(term: str) -> bool:
    """Whether the normalised *term* is a number, a date, a quantity or a bare unit."""
    if not term:
        return False
    if term[0].isascii():
        return bool(_LATIN_QUANTITY_RE.match(term))
    return bool(_HAN_QUANTITY_RE.match(term))


@lru_cache(maxsize=1)
def matching_stopwords() -> frozenset[str]:
    """stopwords-iso's Chinese list + the tokeniser's list + :data:`PLATFORM_BOILERPLATE`, normalised."""
    import stopwordsiso  # imported when first needed: reading its JSON costs ~30 ms

    words = set(stopwords())
    words.update(normalize(w) for w in stopwordsiso.stopwords("zh"))
    words.update(PLATFORM_BOILERPLATE)
    return frozenset(w for w in words if w and not w.isspace())


def term_kind(term: str) -> str | None:
    """Why *term* is not a matching feature (``"single"``, ``"quantity"``, ``"stopword"``), or ``None``."""
    if len(term) < 2:
        return "single"
    if is_quantity(term):
        return "quantity"
    if term in matching_stopwords():
        return "stopword"
    return None


def is_meaningful(term: str) -> bool:
    """Whether the normalised token *term* may be a matching feature and a reason shown to users."""
    return term_kind(term) is None


def meaningful_mask(terms: Iterable[str]) -> list[bool]:
    """:func:`is_meaningful` over a vocabulary (one call per distinct term)."""
    stop = matching_stopwords()
    return [len(t) >= 2 and t not in stop and not is_quantity(t) for t in terms]


# ------------------------------------------------------------------ exclusion clauses

_PREFIX_MARKERS = "不包括|不包含|不含|不涉及|不属于"
_MARKER_RE = re.compile(rf"(?:{_PREFIX_MARKERS})|除外|不在[本项目次期建设采购实施工作之的]{{0,10}}范围[内之]*")
#: What may follow a prefix marker when the marker closes the clause ("…硬件不包括在内").
_POSTFIX_REST_RE = re.compile(r"^(?:在内|之内|[在本项目次期建设采购实施工作之的]{0,10}范围[内之]*)?\s*$")
_SENTENCE_END = "。；;！!？?\n"
_CLAUSE_END = "，," + _SENTENCE_END
_CLOSERS = "）)】]」』"
_CLAUSE_START = "，,。；;：:！!？?\n（(【[「『"
_LIST_ITEM_RE = re.compile(r"^\s*(?:[0-9]+[.、)）]|[（(][0-9一二三四五六七八九十]+[)）]|[①-⑳]|[-•·*—]|[一二三四五六七八九十]+、)")


def _clause_start(text: str, pos: int) -> int:
    i = pos
    while i > 0 and text[i - 1] not in _CLAUSE_START:
        i -= 1
    return i


def _find_any(text: str, chars: str, start: int) -> int:
    for i in range(start, len(text)):
        if text[i] in chars:
            return i
    return len(text)


def _list_end(text: str, pos: int) -> int:
    """End of the list lines that follow a heading line ending at *pos* (a newline)."""
    end = pos
    while end < len(text) and text[end] == "\n":
        line_end = text.find("\n", end + 1)
        line_end = len(text) if line_end < 0 else line_end
        line = text[end + 1 : line_end]
        if not line.strip() or not _LIST_ITEM_RE.match(line):
            break
        end = line_end
    return end


def exclusion_spans(text: str) -> list[tuple[int, int]]:
    """``(start, end)`` spans of *text* that state what a scenario does not include, merged."""
    if not text:
        return []
    spans: list[tuple[int, int]] = []
    for m in _MARKER_RE.finditer(text):
        marker = m.group()
        if marker == "除外" or marker.startswith("不在"):
            spans.append((_clause_start(text, m.start()), m.end()))
            continue
        sentence_end = _find_any(text, _SENTENCE_END, m.end())
        clause_end = _find_any(text, _CLAUSE_END, m.end())
        rest = text[m.end() : clause_end]
        if rest.strip() and _POSTFIX_REST_RE.match(rest):
            # "…硬件不包括在内" / "…采购不属于本项目范围": the clause before the marker is excluded.
            spans.append((_clause_start(text, m.start()), clause_end))
            continue
        after = text[m.end() : sentence_end]
        if not after.strip(" ：:\t") and sentence_end < len(text) and text[sentence_end] == "\n":
            # A heading ("不包括：") over list lines.
            spans.append((m.start(), _list_end(text, sentence_end)))
            continue
        # "不包括：A，B，C。" (a labelled list) runs to the end of the sentence, otherwise the clause;
        # inside brackets ("（不含税）") it ends at the closing bracket.
        end = sentence_end if any(c in after for c in "：:") else clause_end
        spans.append((m.start(), min(end, _find_any(text, _CLOSERS, m.end()))))
    if not spans:
        return []
    spans.sort()
    merged = [spans[0]]
    for start, end in spans[1:]:
        if start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
        else:
            merged.append((start, end))
    return merged


def strip_exclusions(text: str) -> str:
    """*text* without its exclusion clauses (each replaced by one space, so words never join)."""
    spans = exclusion_spans(text)
    if not spans:
        return text
    out = []
    last = 0
    for start, end in spans:
        out.append(text[last:start])
        out.append(" ")
        last = end
    out.append(text[last:])
    return "".join(out)
