"""An appraisal as an XLSX workbook: the ranking, the indicators and weights, every evidence row, the rules."""

from __future__ import annotations

import io
from decimal import Decimal
from typing import Any

import openpyxl
from flask_babel import gettext as _
from openpyxl.styles import Font
from sqlalchemy.orm import Session

from marketplace.appraisal.computation import BY_CODE, RULES_SUMMARY, outcome
from marketplace.exports import append_row
from marketplace.formats import two_decimals, wan_from_yuan
from marketplace.models import Appraisal

#: Money cells: 万元 with two decimals and thousands separators.
MONEY = "#,##0.00"


def export_xlsx(session: Session, appraisal: Appraisal) -> bytes:
    """The ranking, every indicator's evidence and the rules, as an XLSX workbook."""
    result = outcome(session, appraisal)
    indicators = list(appraisal.indicators)
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = _("排名")
    append_row(sheet, [appraisal.name])
    sheet["A1"].font = Font(bold=True, size=14)
    append_row(sheet, [_("状态"), appraisal.status.label, _("奖励资金总额（万元）"), wan_from_yuan(appraisal.reward_pool_yuan),
                  _("单个区县上限（万元）"), wan_from_yuan(appraisal.cap_yuan), _("获奖名次"), appraisal.top_n,
                  _("未分配（万元）"), wan_from_yuan(result.unallocated_yuan)])
    for column in ("D", "F", "J"):
        sheet[f"{column}2"].number_format = MONEY
    header = [_("排名"), _("区县")]
    for i in indicators:
        header += [f"{i.name}（{BY_CODE[i.code].unit if i.code in BY_CODE else ''}）", _("%(n)s 标准化", n=i.name)]
    header += [_("得分"), _("奖励（万元）")]
    append_row(sheet, header)
    for cell in sheet[3]:
        cell.font = Font(bold=True)
    for line in result.results:
        row: list[Any] = [line.rank, line.district.name]
        for i in indicators:
            values = line.indicators.get(i.code, {})
            row += [Decimal(values.get("raw", "0")), Decimal(values.get("normalised", "0"))]
        row += [Decimal(two_decimals(line.score)), wan_from_yuan(line.reward_yuan)]
        append_row(sheet, row)
        sheet.cell(row=sheet.max_row, column=len(row) - 1).number_format = "0.00"
        sheet.cell(row=sheet.max_row, column=len(row)).number_format = MONEY
    weights = book.create_sheet(_("指标与权重"))
    append_row(weights, [_("代码"), _("指标"), _("权重（%）"), _("定义")])
    for i in indicators:
        append_row(weights, [i.code, i.name, i.weight, str(BY_CODE[i.code].definition) if i.code in BY_CODE else ""])
    evidence = book.create_sheet(_("证据"))
    append_row(evidence, [_("区县"), _("指标"), _("场景编号"), _("场景名称"), _("取值"), _("是否计入")])
    for line in result.results:
        for i in indicators:
            for item in line.evidence.get(i.code, []):
                append_row(evidence, [line.district.name, i.name, item["scenario_id"], item["title"], item["value"],
                                 _("是") if item["counted"] else _("否")])
    rules = book.create_sheet(_("计算规则"))
    for text in RULES_SUMMARY:
        append_row(rules, [str(text)])
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()
