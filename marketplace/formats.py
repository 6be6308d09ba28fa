"""How values are written in JSON, exports and pages: money in 万元 as exact decimal strings (spreadsheet
cells that never run as a formula: :mod:`marketplace.exports`)."""

from __future__ import annotations

from decimal import Decimal


def money(value: Decimal | float | int | None) -> str | None:
    """An amount in 万元 as a two-decimal string, never a float (None stays None)."""
    return f"{Decimal(value):.2f}" if value is not None else None
