"""Babel extractor for the Python sources: Babel's own, plus ``_("…")`` calls inside f-strings.

On Python 3.11 the tokenizer returns an f-string as one string token, so Babel's Python extractor never sees
the ``_()`` calls written inside one (``f'<label>{_("关键词")}</label>'``, as in the Python-rendered list parts).
Without this, ``make translations`` would drop those messages from the catalogue and English pages would show
them in Chinese. ``babel.cfg`` names it in its ``[extractors]`` section.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from babel.messages.extract import extract_python

#: ``_("…")`` or ``_('…')`` with a plain literal (no escapes, no keyword arguments inside the literal).
_CALL = re.compile(r"""(?<![\w.])_\(\s*(?:"([^"\\\n]+)"|'([^'\\\n]+)')\s*[,)]""")
#: The start of an f-string literal (any prefix that includes f).
_FSTRING = re.compile(r"""(?<![\w])(?:[rR]?[fF]|[fF][rR])(['"])""")


def extract(fileobj, keywords, comment_tags, options: dict[str, Any]) -> Iterator[tuple]:
    found = set()
    for lineno, funcname, message, comments in extract_python(fileobj, keywords, comment_tags, options):
        found.add((lineno, message))
        yield lineno, funcname, message, comments
    fileobj.seek(0)
    encoding = options.get("encoding", "utf-8")
    for lineno, raw in enumerate(fileobj, start=1):
        line = raw.decode(encoding) if isinstance(raw, bytes) else raw
        if not _FSTRING.search(line):
            continue
        for match in _CALL.finditer(line):
            message = match.group(1) or match.group(2)
            if (lineno, message) not in found and not _outside_fstring(line, match.start()):
                found.add((lineno, message))
                yield lineno, "_", message, []


def _outside_fstring(line: str, position: int) -> bool:
    """True when the call at *position* is plain code (Babel's extractor has it already) — i.e. not within
    the braces of an f-string: approximated by no f-string literal opening before it on the line."""
    return not any(m.start() < position for m in _FSTRING.finditer(line))
