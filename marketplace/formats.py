"""How values are written in JSON, exports and pages: money in 万元 as exact decimal strings (spreadsheet
cells that never run as a formula: :mod:`marketplace.exports`)."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

#: 1 万元 in yuan.
YUAN_PER_WAN = Decimal(10000)
CENT = Decimal("0.01")


def money(value: Decimal | float | int | None) -> str | None:
    """An amount in 万元 as a two-decimal string, never a float (None stays None)."""
    return f"{Decimal(value):.2f}" if value is not None else None


def wan_from_yuan(value: Decimal | int | str | None) -> Decimal | None:
    """An amount kept in whole yuan as 万元, rounded half up to two decimals (5000000 → 500.00)."""
    return (Decimal(value) / YUAN_PER_WAN).quantize(CENT, ROUND_HALF_UP) if value is not None else None


def wan_text(value: Decimal | int | str | None) -> str:
    """An amount kept in whole yuan for people: 万元, two decimals, thousands separators ("3,000.00")."""
    wan = wan_from_yuan(value)
    return "" if wan is None else f"{wan:,.2f}"


def two_decimals(value: Decimal | float | int | str | None) -> str:
    """A score (or any decimal) with exactly two decimals, half up ("35.333333" → "35.33")."""
    return "" if value is None or value == "" else f"{Decimal(str(value)).quantize(CENT, ROUND_HALF_UP)}"

