"""The one way this site writes spreadsheet files (CSV and XLSX), so that no cell runs as a formula.

Text that users typed (firm, batch, scenario and organisation names) ends up in exported files that
staff open in Excel or WPS. A cell starting with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return
is a formula there (CSV injection, OWASP "CSV Injection"). Every export goes through this module:

* CSV: :func:`csv_bytes` writes each text cell through :func:`csv_cell`, which prefixes such text with
  ``'`` (Excel shows the text and keeps it text).
* XLSX: :func:`append_row` writes text cells with the string type, so the text is stored as text
  whatever it starts with (openpyxl would otherwise store ``=…`` as a formula); characters an XLSX
  file cannot hold are dropped. The text itself is kept exactly, so that a value can be read back
  (the import template's lists of allowed names).

Hand-written because openpyxl and the csv module have no such switch, and the few lines here are
clearer than a dependency.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from typing import Any

from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

#: First characters that make spreadsheet programs read a cell as a formula.
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
XLSX_MIMETYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
#: werkzeug adds ``; charset=utf-8`` to a ``text/*`` mimetype (naming it here too gave the parameter twice).
CSV_MIMETYPE = "text/csv"


def csv_cell(value: Any) -> Any:
    """*value* for a CSV cell: text that would start a formula gets a leading ``'``; None is empty."""
    if value is None:
        return ""
    if isinstance(value, str) and value.startswith(FORMULA_PREFIXES):
        return "'" + value
    return value


def csv_bytes(header: Sequence[Any] | None, rows: Iterable[Sequence[Any]]) -> bytes:
    """A CSV file in UTF-8 with a byte-order mark (so that Excel reads the Chinese text), CRLF lines."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    if header is not None:
        writer.writerow([csv_cell(v) for v in header])
    for row in rows:
        writer.writerow([csv_cell(v) for v in row])
    return buffer.getvalue().encode("utf-8-sig")


def xlsx_cell(sheet, value: Any):
    """A cell for *sheet* (normal or write-only) holding *value*; text is always stored as text."""
    if isinstance(value, str):
        cell = WriteOnlyCell(sheet, value=ILLEGAL_CHARACTERS_RE.sub("", value))
        cell.data_type = "s"  # never a formula, whatever the text starts with
        return cell
    return WriteOnlyCell(sheet, value=value)


def append_row(sheet, values: Iterable[Any]) -> None:
    """Append one row of *values* to *sheet* (see :func:`xlsx_cell`)."""
    sheet.append([xlsx_cell(sheet, v) for v in values])


def set_cell(sheet, row: int, column: int, value: Any):
    """Write *value* at (*row*, *column*) of a normal sheet, text as text; returns the cell."""
    cell = sheet.cell(row=row, column=column)
    cell.value = ILLEGAL_CHARACTERS_RE.sub("", value) if isinstance(value, str) else value
    if isinstance(value, str):
        cell.data_type = "s"
    return cell
