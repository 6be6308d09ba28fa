"""The XLSX import template staff download: Chinese headers (required ones in red), an example
row, number formats, drop-down lists and a "填写说明" sheet listing each column's rules and the
allowed values. The columns themselves are defined with the reader, in
:mod:`marketplace.scenarios.importer`.
"""

from __future__ import annotations

import io
from datetime import datetime, time, timedelta
from decimal import Decimal

import openpyxl
import sqlalchemy as sa
from flask_babel import force_locale
from flask_babel import gettext as _
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.datavalidation import DataValidation
from sqlalchemy.orm import Session

from marketplace import clock
from marketplace.errors import PermissionDenied
from marketplace.exports import append_row, set_cell
from marketplace.models import Domain, FundingSource, ScenarioMode, Theme, User
from marketplace.scenarios.importer import (
    COLUMN_BY_KEY,
    COLUMNS,
    DATA_SHEET,
    EXAMPLE_MARK,
    HELP_SHEET,
    MAX_ROWS,
    can_import,
    importable_owners,
)


def _allowed_values(session: Session) -> dict[str, list[str]]:
    """Chinese names accepted in the coded columns, as listed in the template."""
    with force_locale("zh_CN"):
        return {
            "domain": list(session.execute(sa.select(Domain.name).order_by(Domain.sort_order)).scalars()),
            "theme": list(session.execute(sa.select(Theme.name).order_by(Theme.sort_order)).scalars()),
            "funding_source": [m.label for m in FundingSource],
            "mode": [m.label for m in ScenarioMode],
        }


def build_template(session: Session, actor: User) -> bytes:
    """The XLSX import template: Chinese headers, an example row, and a "填写说明" sheet with allowed values."""
    if not can_import(actor):
        raise PermissionDenied(_("只有区县或市级工作人员可以批量导入场景。"))
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.title = DATA_SHEET
    sheet.append([c.header for c in COLUMNS])
    header_fill = PatternFill("solid", fgColor="DDEBF7")
    for index, column in enumerate(COLUMNS, start=1):
        cell = sheet.cell(row=1, column=index)
        cell.font = Font(bold=True, color="C00000" if column.required else "000000")
        cell.fill = header_fill
        cell.alignment = Alignment(vertical="center", wrap_text=True)
        sheet.column_dimensions[get_column_letter(index)].width = column.width
    sheet.freeze_panes = "A2"

    owners = importable_owners(session, actor)
    allowed = _allowed_values(session)
    deadline = datetime.combine(clock.local_today() + timedelta(days=30), time(17, 0))
    example = {
        "title": EXAMPLE_MARK + "智慧社区综合治理平台建设",
        "summary": "整合社区网格、物业和政务数据，实现事件一网统管。",
        "description": "社区治理数据分散在多个系统，事件流转慢。建设综合治理平台，实现事件发现、派单、处置和评价闭环。",
        "boundary": "包括平台软件开发、与现有网格系统的接口对接；不包括前端感知设备采购和机房建设。",
        "requirements": "支持国产操作系统和数据库，满足等保二级要求。",
        "acceptance": "事件平均处置时长缩短 30%，系统可用性不低于 99.5%，通过第三方安全测评。",
        "outcomes": "覆盖辖区 20 个社区，年处置事件 5 万件以上。",
        "domain": allowed["domain"][0] if allowed["domain"] else "",
        "theme": allowed["theme"][-1] if allowed["theme"] else "",
        "owner": owners[0].name if owners else "（平台已登记的业主单位全称）",
        "contact_name": "张三",
        "contact_phone": "023-63891234",
        "contact_email": "zhangsan@example.gov.cn",
        "funding_source": allowed["funding_source"][0],
        "budget_wan": Decimal("350.00"),
        "deadline": deadline,
        "delivery_months": 12,
        "mode": allowed["mode"][0],
        "race_teams": None,
    }
    append_row(sheet, [example[c.key] for c in COLUMNS])
    last_row = MAX_ROWS + 1
    for key, fmt in (("budget_wan", "0.00"), ("deadline", "yyyy-mm-dd hh:mm"), ("contact_phone", "@")):
        letter = get_column_letter(_position(key))
        for row in range(2, last_row + 1):
            sheet[f"{letter}{row}"].number_format = fmt

    help_sheet = workbook.create_sheet(HELP_SHEET)
    _fill_help_sheet(help_sheet, allowed, [o.name for o in owners])
    lists = {"domain": "E", "theme": "F", "funding_source": "G", "mode": "H", "owner": "I"}
    sizes = {**{k: len(v) for k, v in allowed.items()}, "owner": len(owners)}
    for key, help_column in lists.items():
        if not sizes[key]:
            continue
        source = f"'{HELP_SHEET}'!${help_column}${HELP_LIST_ROW + 1}:${help_column}${HELP_LIST_ROW + sizes[key]}"
        validation = DataValidation(type="list", formula1=source, allow_blank=True, showErrorMessage=True,
                                    errorTitle=_("取值无效"),
                                    error=_("请从下拉列表中选择“%(name)s”。", name=COLUMN_BY_KEY[key].header))
        letter = get_column_letter(_position(key))
        validation.add(f"{letter}2:{letter}{last_row}")
        sheet.add_data_validation(validation)

    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


#: Row of the "填写说明" sheet holding the headers of the column table and of the value lists.
HELP_LIST_ROW = 8


def _position(key: str) -> int:
    return next(i for i, c in enumerate(COLUMNS, start=1) if c.key == key)


def _fill_help_sheet(sheet, allowed: dict[str, list[str]], owners: list[str]) -> None:
    notes = [
        _("1. 在“场景清单”工作表中每行填写一个场景，从第 2 行开始；场景名称以“%(mark)s”开头的行不会导入。",
          mark=EXAMPLE_MARK),
        _("2. 红色列名为必填列；请勿修改第 1 行的列名。"),
        _("3. 全部行都通过校验才会导入；任何一行有错，整个文件都不会保存，页面会按行号和列名列出错误。"),
        _("4. 导入的场景是业主单位的草稿：业主单位登录后须上传资金落实证明，再提交审核。"),
        _("5. 一个文件最多 %(n)d 行。", n=MAX_ROWS),
    ]
    sheet["A1"] = HELP_SHEET
    sheet["A1"].font = Font(bold=True, size=14)
    for offset, note in enumerate(notes, start=2):
        sheet.cell(row=offset, column=1, value=note)
    bold = Font(bold=True)
    for col, title in enumerate((_("列名"), _("是否必填"), _("填写要求")), start=1):
        sheet.cell(row=HELP_LIST_ROW, column=col, value=title).font = bold
    for offset, column in enumerate(COLUMNS, start=1):
        sheet.cell(row=HELP_LIST_ROW + offset, column=1, value=column.header)
        sheet.cell(row=HELP_LIST_ROW + offset, column=2, value=_("必填") if column.required else _("选填"))
        sheet.cell(row=HELP_LIST_ROW + offset, column=3, value=str(column.help))
    value_lists = (("产业领域", allowed["domain"]), ("应用主题", allowed["theme"]),
                   ("资金来源", allowed["funding_source"]), ("揭榜方式", allowed["mode"]),
                   ("业主单位", owners))
    for col, (title, values) in enumerate(value_lists, start=5):
        sheet.cell(row=HELP_LIST_ROW, column=col, value=title).font = bold
        for offset, value in enumerate(values, start=1):
            set_cell(sheet, HELP_LIST_ROW + offset, col, value)  # names typed by users: text, never a formula
    for letter, width in (("A", 16), ("B", 10), ("C", 60), ("E", 20), ("F", 12), ("G", 18), ("H", 12), ("I", 32)):
        sheet.column_dimensions[letter].width = width
