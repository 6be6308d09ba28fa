"""Highlighting of matched words, shared by every backend.

Text is analysed with the shared tokeniser; a token whose normalised form is one of the query's
tokens is wrapped in ``<mark>``.  Overlapping or touching marks are merged, so a compound and its
components give one mark (``<mark>工业互联网</mark>平台``).  Everything else is HTML-escaped.
"""

from __future__ import annotations

import html
import re
from bisect import bisect_right
from collections.abc import Collection

from marketplace.text.tokenizer import normalize, normalized_token_spans, token_spans

__all__ = ["highlight", "snippet"]

#: Default snippet length in characters (without the ellipses).
SNIPPET_CHARS = 120
#: Characters of context kept before the first mark of a snippet.
_LEAD_CHARS = 16
#: Only this much of a long text is analysed to find the snippet.
_SCAN_CHARS = 6000
_BLANKS = re.compile(r"\s+")
_ELLIPSIS = "…"
#: Blanks and sentence punctuation: no token crosses them (the segmenter works on runs of
#: Chinese characters, Latin tokens on runs of letters and digits), so tokenising the piece of
#: text between two of them on its own gives the same tokens as the whole text, and only the
#: pieces holding a query word as a substring need tokenising at all.
_BREAKS = re.compile(r"[\s。，、；：！？,;:!?（）()]")


def _spans(text: str, terms: Collection[str]) -> list[tuple[int, int]]:
    if not terms or not text:
        return []
    norm = normalize(text)
    if len(norm) != len(text):  # (rare: normalisation changed lengths; no shortcut)
        found = sorted(token_spans(text, terms))
    else:
        pieces: set[int] = set()
        breaks: list[int] | None = None
        for term in terms:
            at = norm.find(term)
            while at != -1:
                if breaks is None:
                    breaks = [m.start() for m in _BREAKS.finditer(norm)]
                pieces.add(bisect_right(breaks, at))
                at = norm.find(term, at + 1)
        if not pieces:
            return []
        assert breaks is not None
        edges = [-1, *breaks, len(norm)]
        # The pieces holding a query word, joined by blanks, are tokenised in one call (a blank
        # is a break too, so each piece gives the tokens it gives alone): the normalised text is
        # reused, and the segmenter is called once, not once per piece.
        starts: list[int] = []  # where each piece starts in the joined text
        origins: list[int] = []  # ... and in the text
        parts: list[str] = []
        at = 0
        for piece in sorted(pieces):
            start, end = edges[piece] + 1, edges[piece + 1]
            starts.append(at)
            origins.append(start)
            parts.append(norm[start:end])
            at += end - start + 1
        found = []
        for s, e in normalized_token_spans(" ".join(parts), terms):
            i = bisect_right(starts, s) - 1
            shift = origins[i] - starts[i]
            found.append((s + shift, e + shift))
        found.sort()
    merged: list[tuple[int, int]] = []
    for start, end in found:
        if merged and start <= merged[-1][1]:
            if end > merged[-1][1]:
                merged[-1] = (merged[-1][0], end)
        else:
            merged.append((start, end))
    return merged


def _render(text: str, spans: list[tuple[int, int]], start: int, end: int) -> str:
    out: list[str] = []
    cursor = start
    for s, e in spans:
        s, e = max(s, start), min(e, end)
        if s >= e:
            continue
        out.append(html.escape(_BLANKS.sub(" ", text[cursor:s])))
        out.append("<mark>" + html.escape(_BLANKS.sub(" ", text[s:e])) + "</mark>")
        cursor = e
    out.append(html.escape(_BLANKS.sub(" ", text[cursor:end])))
    return "".join(out)


def highlight(text: str, terms: Collection[str]) -> str:
    """*text*, HTML-escaped, with every matched token wrapped in ``<mark>``."""
    text = text or ""
    return _render(text, _spans(text, terms), 0, len(text))


def snippet(text: str, terms: Collection[str], length: int = SNIPPET_CHARS) -> str:
    """An escaped extract of about *length* characters around the densest group of matches.

    Without matches it is the beginning of the text.  Cut ends get an ellipsis.
    """
    text = (text or "").strip()
    if not text:
        return ""
    scan = text[:_SCAN_CHARS]
    spans = _spans(scan, terms)
    start = 0
    if spans:
        best = (-1, 0)
        for i, (s, _e) in enumerate(spans):
            window_end = s + length
            count = sum(1 for t in spans[i:] if t[1] <= window_end)
            if count > best[0]:
                best = (count, s)
        start = max(0, best[1] - _LEAD_CHARS)
    end = min(len(text), start + length)
    if end - start < length:
        start = max(0, end - length)
    body = _render(text, spans, start, end).strip()
    prefix = _ELLIPSIS if start > 0 else ""
    suffix = _ELLIPSIS if end < len(text) else ""
    return prefix + body + suffix
