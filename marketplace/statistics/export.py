"""XLSX export of one statistics table: the numbers on the first sheet, what they mean on the second."""

from __future__ import annotations

import io
import re
from datetime import datetime

import openpyxl
from flask_babel import gettext as _
from openpyxl.styles import Font

from marketplace import clock
from marketplace.exports import append_row
from marketplace.statistics.figures import Table
from marketplace.statistics.scope import Scope, fail


def table_xlsx(table: Table, scope: Scope, generated: datetime | None = None) -> bytes:
    """One table as an XLSX workbook: the numbers on the first sheet, what they mean on the second."""
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.title = re.sub(r"[\\/*?:\[\]]", " ", table.title)[:31] or "data"
    append_row(sheet, [_("项目"), *[c.label for c in table.columns]])
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    formats = {"wan": "#,##0.00", "percent": "0.0%", "count": "0"}
    for row in table.rows:
        append_row(sheet, [row.label, *[row.cells[c.key].value for c in table.columns]])
        for index, column in enumerate(table.columns, start=2):
            sheet.cell(row=sheet.max_row, column=index).number_format = formats[column.format]
    sheet.column_dimensions["A"].width = 36
    for index in range(2, len(table.columns) + 2):
        sheet.column_dimensions[openpyxl.utils.get_column_letter(index)].width = 16
    sheet.freeze_panes = "B2"
    about = workbook.create_sheet(_("说明"))
    generated = generated or clock.now()
    for line in ((_("表格"), table.title), (_("范围"), scope.describe()),
                 (_("生成时间"), clock.to_local(generated).strftime("%Y-%m-%d %H:%M")), (_("说明"), table.note),
                 (_("口径"), _("草稿不计入；“已截止”由截止时间推算；年份和月份按发布时间（尚未发布的按提交审核时间）。"))):
        append_row(about, list(line))
    about.column_dimensions["A"].width = 12
    about.column_dimensions["B"].width = 90
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def pick_table(tables: list[Table], key: str | None) -> Table:
    """The table an export asks for by ``table=``; an unknown or missing key is a bad parameter."""
    found = next((t for t in tables if t.key == key), None)
    if found is None:
        raise fail("table", _("可选：%(v)s", v="、".join(t.key for t in tables)))
    return found


def filename(prefix: str, table: Table, scope: Scope) -> str:
    """``dashboard-funnel-yuzhong-2025.xlsx``."""
    return f"{prefix}-{table.key}-{scope.district_code or 'all'}-{scope.year or 'all'}.xlsx"
