"""统一社会信用代码 (Unified Social Credit Code) checks, GB 32100-2015."""

from __future__ import annotations

import re

#: The code's alphabet: digits and upper-case letters without I, O, S, V, Z.
ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
_PATTERN = re.compile(r"^[0-9A-HJ-NPQRTUWXY]{2}\d{6}[0-9A-HJ-NPQRTUWXY]{10}$")


def check_char(first17: str) -> str:
    """The 18th (check) character for the first 17 characters of a code."""
    total = sum(ALPHABET.index(ch) * w for ch, w in zip(first17, WEIGHTS, strict=True))
    value = 31 - total % 31
    return "0" if value == 31 else ALPHABET[value]


def normalise(code: str) -> str:
    """Upper-case and strip spaces (people paste codes with spaces or in lower case)."""
    return re.sub(r"\s+", "", code or "").upper()


def problem(code: str) -> str | None:
    """Why a code is invalid, in Chinese, or None when it is valid."""
    code = normalise(code)
    if len(code) != 18:
        return f"统一社会信用代码应为18位，当前为{len(code)}位。"
    if not _PATTERN.match(code):
        return "统一社会信用代码含有不允许的字符（不使用 I、O、S、V、Z），或第3-8位行政区划码不是数字。"
    if check_char(code[:17]) != code[17]:
        return "统一社会信用代码校验位不正确，请核对后重新输入。"
    return None


def is_valid(code: str) -> bool:
    """True when the code has the right form and check character."""
    return problem(code) is None
