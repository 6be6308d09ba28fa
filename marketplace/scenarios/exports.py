"""Open-data exports of the public scenario list: XLSX, CSV (UTF-8 with BOM) and JSON.

Every format carries the records the API lists (:func:`marketplace.scenarios.serializers.scenario_summary`);
text never becomes a spreadsheet formula (CSV injection: :mod:`marketplace.exports`).
"""

from __future__ import annotations

import io
import json
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import openpyxl
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from openpyxl.cell import WriteOnlyCell
from openpyxl.utils import get_column_letter
from sqlalchemy.orm import Session

from marketplace import clock
from marketplace.errors import ValidationFailed
from marketplace.exports import CSV_MIMETYPE, XLSX_MIMETYPE, csv_bytes, xlsx_cell
from marketplace.models import Scenario
from marketplace.scenarios import listing
from marketplace.scenarios.serializers import scenario_summary

#: Name of the exported sheet, in the request's language (the import template's data sheet is "场景清单";
#: the importer falls back to the first sheet, so an English export imports too).
SHEET_TITLE = _l("场景清单")

#: Columns of the CSV and XLSX exports (the JSON export has the API's item shape).
EXPORT_COLUMNS = ("id", "title", "owner", "district", "district_code", "domain", "domain_code", "theme",
                  "budget_wan", "funding_source", "funding_source_label", "deadline", "status", "status_label",
                  "batches", "url")
EXPORT_FORMATS = ("xlsx", "csv", "json")


@dataclass(frozen=True)
class ExportFile:
    """A built export, ready to send."""

    content: bytes
    mimetype: str
    filename: str


def export_records(scenarios: Iterable[Scenario], publicity: frozenset[int] = frozenset()) -> list[dict[str, Any]]:
    """Public records of the scenarios, as the API lists them (*publicity*: ids whose award is in 公示)."""
    now = clock.now()
    return [scenario_summary(s, now, s.id in publicity) for s in scenarios]


def _flat(record: dict[str, Any]) -> dict[str, Any]:
    return {**record, "batches": "；".join(record["batch"])}


def export_csv(records: list[dict[str, Any]]) -> bytes:
    """UTF-8 with a byte-order mark, so that Excel opens the Chinese text correctly."""
    return csv_bytes(EXPORT_COLUMNS, ([_flat(record)[name] for name in EXPORT_COLUMNS] for record in records))


def export_json(records: list[dict[str, Any]]) -> bytes:
    return json.dumps({"items": records, "total": len(records)}, ensure_ascii=False).encode("utf-8")


def export_xlsx(records: list[dict[str, Any]]) -> bytes:
    workbook = openpyxl.Workbook(write_only=True)
    sheet = workbook.create_sheet(str(SHEET_TITLE))
    widths = {"title": 40, "owner": 28, "url": 40, "deadline": 26, "batches": 30}
    for index, name in enumerate(EXPORT_COLUMNS, start=1):
        sheet.column_dimensions[get_column_letter(index)].width = widths.get(name, 14)
    sheet.append(EXPORT_COLUMNS)
    for record in records:
        flat = _flat(record)
        cells = []
        for name in EXPORT_COLUMNS:
            value = flat[name]
            if name == "budget_wan" and value is not None:
                cell = WriteOnlyCell(sheet, value=Decimal(value))
                cell.number_format = "0.00"
            else:
                cell = xlsx_cell(sheet, value.strip() if isinstance(value, str) else value)
            cells.append(cell)
        sheet.append(cells)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


_EXPORTERS = {
    "xlsx": (export_xlsx, XLSX_MIMETYPE),
    "csv": (export_csv, CSV_MIMETYPE),
    "json": (export_json, "application/json"),
}


def export_public(session: Session, filters: listing.ScenarioFilters, fmt: str) -> ExportFile:
    """Every public scenario matching the list filters, as an XLSX, CSV or JSON file."""
    if fmt not in _EXPORTERS:
        raise ValidationFailed(_("不支持的导出格式：%(fmt)s", fmt=fmt), {"fmt": [_("可选 xlsx、csv 或 json。")]})
    builder, mimetype = _EXPORTERS[fmt]
    scenarios = listing.all_matching(session, filters)
    records = export_records(scenarios, listing.in_publicity(session, scenarios))
    return ExportFile(builder(records), mimetype, f"scenarios-{clock.local_today().isoformat()}.{fmt}")
