"""Excel import of scenario drafts by district and city staff, and open-data exports of the public lists.

Import is all-or-nothing: every row is parsed and checked — value by value, then
against the same publish-gate rules as the drafting form (except the funding
evidence, which the owner attaches afterwards) — before anything is added to the
session. Rows become drafts of the named owner organisations; the owner still
uploads the evidence and submits them for review.

The spreadsheet headers are fixed Chinese strings on purpose: they are the file
format that staff exchange, not interface text, so they are not translated.
"""

from __future__ import annotations

import csv
import io
import json
import re
import warnings
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

import openpyxl
import sqlalchemy as sa
from email_validator import EmailNotValidError, validate_email
from flask_babel import force_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.utils.datetime import from_excel
from openpyxl.worksheet.datavalidation import DataValidation
from sqlalchemy.orm import Session

from marketplace import attachments, audit, clock
from marketplace.errors import PermissionDenied, ValidationFailed
from marketplace.formats import csv_safe
from marketplace.models import (
    District,
    Domain,
    FundingSource,
    Organisation,
    OrganisationKind,
    Role,
    Scenario,
    ScenarioMode,
    ScenarioStatus,
    Theme,
    User,
)
from marketplace.scenarios import listing, services
from marketplace.scenarios.serializers import scenario_summary

#: Most data rows one file may hold.
MAX_ROWS = 500
#: Name of the data sheet (the first sheet is used when no sheet has this name).
DATA_SHEET = "场景清单"
#: Name of the instructions sheet.
HELP_SHEET = "填写说明"
#: Rows whose 场景名称 starts with this are examples and are skipped.
EXAMPLE_MARK = "【示例】"
#: Upper bounds that catch typing mistakes (same as the drafting form).
MAX_BUDGET = Decimal("10000000")
MONTHS_RANGE = (1, 120)
TEAMS_RANGE = (2, 10)
#: Limit for the long text columns.
LONG_TEXT = 10000

XLSX_MIMETYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@dataclass(frozen=True)
class Column:
    """One column of the import spreadsheet."""

    key: str
    header: str
    required: bool
    help: Any
    max_length: int | None = None
    width: int = 16


COLUMNS: tuple[Column, ...] = (
    Column("title", "场景名称", True, _l("至少 4 个字，不超过 200 字。"), 200, 32),
    Column("summary", "一句话简介", False, _l("选填，不超过 500 字。"), 500, 32),
    Column("description", "场景描述", True, _l("背景、痛点和建设目标，至少 10 个字。"), LONG_TEXT, 40),
    Column("boundary", "建设边界", True, _l("建设内容以及明确不包括的内容，至少 10 个字。"), LONG_TEXT, 40),
    Column("requirements", "技术要求", False, _l("选填。"), LONG_TEXT, 32),
    Column("acceptance", "验收标准", True, _l("可衡量、可核验的验收指标，至少 10 个字。"), LONG_TEXT, 32),
    Column("outcomes", "预期成效", False, _l("选填。"), LONG_TEXT, 32),
    Column("domain", "产业领域", True, _l("填写右侧“产业领域”中的名称（也可填写代码）。"), None, 18),
    Column("theme", "应用主题", True, _l("填写右侧“应用主题”中的名称（也可填写代码）。"), None, 12),
    Column("owner", "业主单位", True, _l("平台已登记的发榜单位（政府部门、国有企业或重点行业单位）全称；"
                                         "区县工作人员只能导入本区县的单位。"), None, 30),
    Column("contact_name", "联系人", True, _l("业主单位联系人姓名。"), 64, 10),
    Column("contact_phone", "联系电话", True, _l("至少 7 位数字，如 023-63891234。"), 32, 16),
    Column("contact_email", "联系邮箱", False, _l("选填。"), 254, 24),
    Column("funding_source", "资金来源", True, _l("填写右侧“资金来源”中的一项。"), None, 16),
    Column("budget_wan", "预算（万元）", True, _l("大于 0 的数字，单位万元，保留两位小数。"), None, 14),
    Column("deadline", "揭榜截止时间", True, _l("北京时间，须晚于当前时间，如 2026-03-31 17:00；"
                                               "只填日期时按当天 23:59:59 截止。"), None, 20),
    Column("delivery_months", "建设周期（月）", True, _l("1–120 的整数。"), None, 14),
    Column("mode", "揭榜方式", False, _l("揭榜挂帅或赛马，不填按揭榜挂帅。"), None, 12),
    Column("race_teams", "赛马团队数", False, _l("揭榜方式为赛马时必填，2–10 的整数。"), None, 12),
)
COLUMN_BY_KEY = {c.key: c for c in COLUMNS}


def _header_key(text: object) -> str:
    """Headers compared without spaces and with half-width brackets made full-width."""
    return re.sub(r"\s+", "", str(text or "")).replace("(", "（").replace(")", "）")


HEADER_INDEX = {_header_key(c.header): c for c in COLUMNS}


# ------------------------------------------------------------------ who may import

def can_import(user: User | None) -> bool:
    """District staff (for owners in their district) and city staff (for any owner)."""
    if user is None or not user.is_authenticated:
        return False
    if user.role == Role.CITY_STAFF:
        return True
    return user.role == Role.DISTRICT_STAFF and user.district_id is not None


def importable_owners(session: Session, actor: User) -> list[Organisation]:
    """Active owner organisations the actor may import scenarios for."""
    query = (sa.select(Organisation)
             .where(Organisation.kind.in_(OrganisationKind.owner_kinds()), Organisation.active.is_(True))
             .order_by(Organisation.name))
    if actor.role == Role.DISTRICT_STAFF:
        query = query.where(Organisation.district_id == actor.district_id)
    return list(session.execute(query).scalars())


# ------------------------------------------------------------------ the template

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
    sheet.append([example[c.key] for c in COLUMNS])
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
            sheet.cell(row=HELP_LIST_ROW + offset, column=col, value=value)
    for letter, width in (("A", 16), ("B", 10), ("C", 60), ("E", 20), ("F", 12), ("G", 18), ("H", 12), ("I", 32)):
        sheet.column_dimensions[letter].width = width


# ------------------------------------------------------------------ reading a file

@dataclass(frozen=True)
class RowError:
    """One problem in the uploaded file: Excel row number, column header and message."""

    row: int
    column: str
    message: str

    def __str__(self) -> str:
        return _("第 %(row)d 行 · %(column)s：%(message)s", row=self.row, column=self.column, message=self.message)


class ImportRejected(ValidationFailed):
    """The file has invalid rows; nothing was saved. ``errors`` lists every problem."""

    def __init__(self, errors: list[RowError]) -> None:
        super().__init__(_("没有导入任何场景：文件中有 %(n)d 处错误。请修改后重新上传整个文件。", n=len(errors)),
                         {"file": [_("文件中有错误，请查看下方列表。")]})
        self.errors = errors


@dataclass
class ParsedRow:
    """A data row: its Excel row number and the values read from it (by column key)."""

    row: int
    raw: dict[str, Any]
    values: dict[str, Any] = field(default_factory=dict)


def _refuse(message: str) -> ValidationFailed:
    return ValidationFailed(message, {"file": [message]})


def _blank(value: object) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def read_rows(data: bytes) -> list[ParsedRow]:
    """The non-empty data rows of an XLSX file, by column key; a broken file or a wrong layout is refused."""
    try:
        # Files saved by Excel or WPS may carry extensions openpyxl warns about; they do not matter here.
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            workbook = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
            try:
                sheet = workbook[DATA_SHEET] if DATA_SHEET in workbook.sheetnames else workbook.worksheets[0]
                return _rows_of(sheet.iter_rows(values_only=True, max_col=len(COLUMNS) + 30))
            finally:
                workbook.close()
    except ValidationFailed:
        raise
    except Exception:
        raise _refuse(_("无法读取该 Excel 文件，文件可能已损坏。请用模板重新填写并保存为 .xlsx 后上传。"))


def _rows_of(rows: Iterator[tuple]) -> list[ParsedRow]:
    header = next(rows, None)
    positions: dict[str, int] = {}
    for index, text in enumerate(header or ()):
        column = HEADER_INDEX.get(_header_key(text))
        if column is not None and column.key not in positions:
            positions[column.key] = index
    missing = [c.header for c in COLUMNS if c.required and c.key not in positions]
    if not positions:
        raise _refuse(_("第 1 行没有找到模板的列名，请使用下载的导入模板填写。"))
    if missing:
        raise _refuse(_("缺少必填列：%(columns)s。请使用下载的导入模板，不要修改第 1 行的列名。",
                        columns="、".join(missing)))
    parsed: list[ParsedRow] = []
    for number, values in enumerate(rows, start=2):
        raw = {key: values[i] if i < len(values) else None for key, i in positions.items()}
        if all(_blank(v) for v in raw.values()):
            continue
        if _text(raw.get("title")).startswith(EXAMPLE_MARK):
            continue
        parsed.append(ParsedRow(number, raw))
        if len(parsed) > MAX_ROWS:
            raise _refuse(_("一个文件最多导入 %(n)d 行，请拆分后分批上传。", n=MAX_ROWS))
    if not parsed:
        raise _refuse(_("文件中没有可导入的数据行（示例行不会导入）。"))
    return parsed


# ------------------------------------------------------------------ cell values

class CellError(Exception):
    """A cell's value is unusable; the message is shown with the row and column."""


def _text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return ILLEGAL_CHARACTERS_RE.sub("", str(value)).strip()


def _norm(text: str) -> str:
    return re.sub(r"\s+", "", text).lower()


def _decimal(value: object) -> Decimal:
    message = _("必须是大于 0 的数字")
    if isinstance(value, bool):
        raise CellError(message)
    try:
        if isinstance(value, int | Decimal):
            number = Decimal(value)
        elif isinstance(value, float):
            number = Decimal(repr(value))
        else:
            number = Decimal(_text(value).replace(",", "").replace("，", ""))
    except (InvalidOperation, ValueError):
        raise CellError(message)
    if not number.is_finite() or number <= 0:
        raise CellError(message)
    number = number.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
    if number <= 0:
        raise CellError(message)
    if number > MAX_BUDGET:
        raise CellError(_("预算不能超过 %(max)s 万元", max=f"{MAX_BUDGET:,}"))
    return number


def _integer(value: object, low: int, high: int) -> int:
    message = _("必须是 %(lo)d–%(hi)d 之间的整数", lo=low, hi=high)
    if isinstance(value, bool):
        raise CellError(message)
    try:
        number = Decimal(repr(value)) if isinstance(value, float) else Decimal(_text(value))
    except (InvalidOperation, ValueError):
        raise CellError(message)
    if not number.is_finite() or number != number.to_integral_value() or not low <= number <= high:
        raise CellError(message)
    return int(number)


_DATE_FORMATS = ("%Y-%m-%d", "%Y/%m/%d", "%Y.%m.%d", "%Y年%m月%d日")
_DATETIME_FORMATS = tuple(f"{d}{sep}{t}" for d in _DATE_FORMATS for sep in (" ", "T")
                          for t in ("%H:%M", "%H:%M:%S"))


def _deadline(value: object, now: datetime) -> datetime:
    """A future deadline in UTC; wall times are Asia/Shanghai, a bare date means the end of that day."""
    message = _("请填写日期或日期时间，如 2026-03-31 或 2026-03-31 17:00")
    moment: datetime | None = None
    if isinstance(value, datetime):
        if value.tzinfo is None and value.time() == time(0):
            moment = clock.local_day_end(value.date())
        else:
            moment = clock.local_to_utc(value)
    elif isinstance(value, date):
        moment = clock.local_day_end(value)
    elif isinstance(value, int | float) and not isinstance(value, bool):
        try:
            return _deadline(from_excel(value), now)
        except (ValueError, OverflowError, TypeError):
            raise CellError(message)
    else:
        text = re.sub(r"\s+", " ", _text(value))
        for fmt in _DATE_FORMATS:
            try:
                moment = clock.local_day_end(datetime.strptime(text, fmt).date())
                break
            except ValueError:
                continue
        else:
            for fmt in _DATETIME_FORMATS:
                try:
                    moment = clock.local_to_utc(datetime.strptime(text, fmt))
                    break
                except ValueError:
                    continue
            else:
                try:
                    moment = clock.local_to_utc(datetime.fromisoformat(text))
                except ValueError:
                    raise CellError(message)
    if moment <= now:
        raise CellError(_("截止时间必须晚于当前时间（北京时间 %(now)s）",
                          now=clock.to_local(now).strftime("%Y-%m-%d %H:%M")))
    return moment


class _Lookups:
    """Reference values and owner organisations, loaded once per file."""

    def __init__(self, session: Session, actor: User) -> None:
        self.actor = actor
        self.domains = self._reference(session, Domain)
        self.themes = self._reference(session, Theme)
        self.funding = self._enum(FundingSource)
        self.modes = self._enum(ScenarioMode)
        owners = session.execute(
            sa.select(Organisation).where(Organisation.kind.in_(OrganisationKind.owner_kinds()))
        ).scalars()
        self.owners = {_norm(o.name): o for o in owners}
        self.other_district_id = session.execute(
            sa.select(District.id).where(District.code == "other")).scalar_one_or_none()
        self.actor_district = actor.district.name if actor.district else ""

    @staticmethod
    def _reference(session: Session, model) -> dict[str, Any]:
        index: dict[str, Any] = {}
        for row in session.execute(sa.select(model)).scalars():
            for name in (row.code, row.name, row.name_en):
                index[_norm(name)] = row
        return index

    @staticmethod
    def _enum(enum_class) -> dict[str, Any]:
        index = {_norm(m.value): m for m in enum_class}
        index.update({_norm(m.label): m for m in enum_class})
        with force_locale("zh_CN"):
            index.update({_norm(m.label): m for m in enum_class})
        return index

    def choice(self, index: dict[str, Any], value: object, column: str) -> Any:
        found = index.get(_norm(_text(value)))
        if found is None:
            raise CellError(_("“%(v)s”不是有效的%(column)s，请从模板“填写说明”列出的取值中选择",
                              v=_text(value), column=column))
        return found

    def owner(self, value: object) -> Organisation:
        organisation = self.owners.get(_norm(_text(value)))
        if organisation is None:
            raise CellError(_("找不到发榜单位“%(name)s”，请填写平台已登记的政府部门、国有企业或重点行业单位的全称",
                              name=_text(value)))
        if not organisation.active:
            raise CellError(_("业主单位“%(name)s”已停用", name=organisation.name))
        if self.actor.role == Role.DISTRICT_STAFF and organisation.district_id != self.actor.district_id:
            raise CellError(_("只能导入本区县（%(district)s）业主单位的场景", district=self.actor_district))
        return organisation


def _parse_row(row: ParsedRow, lookups: _Lookups, now: datetime) -> dict[str, str]:
    """Fill ``row.values`` from ``row.raw``; returns column key → message for every bad cell."""
    problems: dict[str, str] = {}
    for column in COLUMNS:
        raw = row.raw.get(column.key)
        if _blank(raw):
            if column.required:
                problems[column.key] = _("必填，不能为空")
            continue
        try:
            row.values[column.key] = _cell_value(column, raw, lookups, now)
        except CellError as error:
            problems[column.key] = str(error)
    mode = row.values.get("mode", ScenarioMode.OPEN_CALL)
    row.values["mode"] = mode
    if mode == ScenarioMode.HORSE_RACE and "race_teams" not in row.values and "race_teams" not in problems:
        problems["race_teams"] = _("揭榜方式为赛马时必填，至少 2 个团队")
    return problems


def _cell_value(column: Column, raw: object, lookups: _Lookups, now: datetime) -> Any:
    key = column.key
    if key == "domain":
        return lookups.choice(lookups.domains, raw, column.header)
    if key == "theme":
        return lookups.choice(lookups.themes, raw, column.header)
    if key == "funding_source":
        return lookups.choice(lookups.funding, raw, column.header)
    if key == "mode":
        return lookups.choice(lookups.modes, raw, column.header)
    if key == "owner":
        return lookups.owner(raw)
    if key == "budget_wan":
        return _decimal(raw)
    if key == "deadline":
        return _deadline(raw, now)
    if key == "delivery_months":
        return _integer(raw, *MONTHS_RANGE)
    if key == "race_teams":
        return _integer(raw, *TEAMS_RANGE)
    text = _text(raw)
    if column.max_length is not None and len(text) > column.max_length:
        raise CellError(_("不能超过 %(n)d 个字（现有 %(m)d 个）", n=column.max_length, m=len(text)))
    if key == "contact_email":
        try:
            validate_email(text, check_deliverability=False)
        except EmailNotValidError:
            raise CellError(_("邮箱格式不正确"))
    if key == "contact_phone" and len(re.sub(r"\D", "", text)) < 7:
        raise CellError(_("请填写有效的电话号码（至少 7 位数字）"))
    return text


def _draft_of(session: Session, actor: User, row: ParsedRow, lookups: _Lookups) -> Scenario:
    """A transient draft built from a row's good values (not yet in the session)."""
    values = row.values
    owner: Organisation | None = values.get("owner")
    scenario = Scenario(status=ScenarioStatus.DRAFT, created_by_id=actor.id, mode=values["mode"],
                        owner_id=owner.id if owner else None,
                        district_id=(owner.district_id or lookups.other_district_id) if owner else None)
    data: dict[str, Any] = {name: values.get(name, "") for name in (
        "title", "summary", "description", "boundary", "requirements", "acceptance", "outcomes",
        "contact_name", "contact_phone", "contact_email")}
    data.update({
        "domain": values["domain"].code if "domain" in values else None,
        "theme": values["theme"].code if "theme" in values else None,
        "funding_source": values["funding_source"].value if "funding_source" in values else None,
        "budget_wan": values.get("budget_wan"),
        "deadline": values.get("deadline"),
        "delivery_months": values.get("delivery_months"),
        "mode": values["mode"].value,
        "race_teams": values.get("race_teams"),
    })
    services.apply_fields(session, scenario, data)
    return scenario


def check_rows(session: Session, actor: User, rows: list[ParsedRow]) -> tuple[list[Scenario], list[RowError]]:
    """Parse and check every row; returns the transient drafts and every problem found."""
    now = clock.now()
    lookups = _Lookups(session, actor)
    errors: list[RowError] = []
    drafts: list[Scenario] = []
    seen: dict[tuple[int, str], int] = {}
    existing = _existing_titles(session, rows, lookups)
    for row in rows:
        problems = _parse_row(row, lookups, now)
        draft = _draft_of(session, actor, row, lookups)
        # The publish gate, minus the evidence the owner uploads later: same rules as the drafting form.
        for problem in services.gate_problems(draft, now):
            if problem.field in COLUMN_BY_KEY and problem.field not in problems:
                problems[problem.field] = problem.message.rstrip("。")
        owner = row.values.get("owner")
        if owner is not None and "title" not in problems:
            key = (owner.id, _norm(draft.title))
            if key in seen:
                problems["title"] = _("与第 %(row)d 行重复（同一业主单位的同名场景）", row=seen[key])
            elif key in existing:
                problems["title"] = _("该业主单位已有同名场景（编号 %(id)d），请勿重复导入", id=existing[key])
            seen.setdefault(key, row.row)
        for column in COLUMNS:
            if column.key in problems:
                errors.append(RowError(row.row, column.header, problems[column.key]))
        drafts.append(draft)
    return drafts, errors


def _existing_titles(session: Session, rows: list[ParsedRow], lookups: _Lookups) -> dict[tuple[int, str], int]:
    owner_ids = {o.id for o in (lookups.owners.get(_norm(_text(r.raw.get("owner")))) for r in rows) if o}
    if not owner_ids:
        return {}
    found = session.execute(
        sa.select(Scenario.id, Scenario.owner_id, Scenario.title)
        .where(Scenario.owner_id.in_(owner_ids), Scenario.status != ScenarioStatus.WITHDRAWN)
    ).all()
    return {(owner_id, _norm(title)): scenario_id for scenario_id, owner_id, title in found}


@dataclass
class ImportResult:
    """The drafts created by one import, with the Excel row each came from."""

    rows: list[tuple[int, Scenario]]

    @property
    def count(self) -> int:
        return len(self.rows)


def import_scenarios(session: Session, actor: User, filename: str, data: bytes,
                     ip: str | None = None) -> ImportResult:
    """Create one draft per row of an XLSX file, or nothing at all when any row is invalid.

    Raises :class:`ImportRejected` (with every row error) or :class:`ValidationFailed`
    for a file that is not a readable XLSX in the template's layout. Flushes; the view commits.
    """
    if not can_import(actor):
        raise PermissionDenied(_("只有区县或市级工作人员可以批量导入场景。"))
    attachments.check_file(filename or "", data, field="file", allowed={"xlsx"})
    rows = read_rows(data)
    drafts, errors = check_rows(session, actor, rows)
    if errors:
        raise ImportRejected(errors)
    session.add_all(drafts)
    session.flush()
    for row, draft in zip(rows, drafts, strict=True):
        audit.record(session, actor=actor, action="scenario.import", object_type="scenario", object_id=draft.id,
                     after={"title": draft.title, "owner": draft.owner_id, "district": draft.district_id,
                            "status": draft.status.value, "source": filename, "row": row.row}, ip=ip)
    return ImportResult([(row.row, draft) for row, draft in zip(rows, drafts, strict=True)])


# ------------------------------------------------------------------ exports

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


def export_records(scenarios: Iterable[Scenario]) -> list[dict[str, Any]]:
    """Public records of the scenarios, as the API lists them."""
    now = clock.now()
    return [scenario_summary(s, now) for s in scenarios]


def _flat(record: dict[str, Any]) -> dict[str, Any]:
    return {**record, "batches": "；".join(record["batch"])}


def export_csv(records: list[dict[str, Any]]) -> bytes:
    """UTF-8 with a byte-order mark, so that Excel opens the Chinese text correctly."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(EXPORT_COLUMNS)
    for record in records:
        flat = _flat(record)
        writer.writerow([csv_safe(flat[name]) if flat[name] is not None else "" for name in EXPORT_COLUMNS])
    return buffer.getvalue().encode("utf-8-sig")


def export_json(records: list[dict[str, Any]]) -> bytes:
    return json.dumps({"items": records, "total": len(records)}, ensure_ascii=False).encode("utf-8")


def export_xlsx(records: list[dict[str, Any]]) -> bytes:
    workbook = openpyxl.Workbook(write_only=True)
    sheet = workbook.create_sheet(DATA_SHEET)
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
                cell = WriteOnlyCell(sheet, value=_text(value) if isinstance(value, str) else value)
                if isinstance(value, str):
                    cell.data_type = "s"  # never a formula, whatever the text starts with
            cells.append(cell)
        sheet.append(cells)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


_EXPORTERS = {
    "xlsx": (export_xlsx, XLSX_MIMETYPE),
    "csv": (export_csv, "text/csv; charset=utf-8"),
    "json": (export_json, "application/json"),
}


def export_public(session: Session, filters: listing.ScenarioFilters, fmt: str) -> ExportFile:
    """Every public scenario matching the list filters, as an XLSX, CSV or JSON file."""
    if fmt not in _EXPORTERS:
        raise ValidationFailed(_("不支持的导出格式：%(fmt)s", fmt=fmt), {"fmt": [_("可选 xlsx、csv 或 json。")]})
    builder, mimetype = _EXPORTERS[fmt]
    records = export_records(listing.all_matching(session, filters))
    return ExportFile(builder(records), mimetype, f"scenarios-{clock.local_today().isoformat()}.{fmt}")
