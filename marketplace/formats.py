"""How values are written in JSON, exports and pages: money in 万元 as exact decimal strings, CSV cells
that no spreadsheet runs as a formula."""

from __future__ import annotations

from decimal import Decimal
from typing import Any


def money(value: Decimal | float | int | None) -> str | None:
    """An amount in 万元 as a two-decimal string, never a float (None stays None)."""
    return f"{Decimal(value):.2f}" if value is not None else None


def csv_safe(value: Any) -> Any:
    """Keep spreadsheet programs from running text as a formula (CSV injection): prefix ``'``."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value
