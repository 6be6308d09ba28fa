"""Excel import of scenario drafts by district and city staff (the open-data exports are in
:mod:`marketplace.scenarios.exports`).

Import is all-or-nothing: every row is parsed and checked — value by value, then
against the same publish-gate rules as the drafting form (except the funding
evidence, which the owner attaches afterwards) — before anything is added to the
session. Rows become drafts of the named owner organisations; the owner still
uploads the evidence and submits them for review.

The spreadsheet headers are fixed Chinese strings on purpose: they are the file
format that staff exchange, not interface text, so they are not translated.
"""

from __future__ import annotations

import io
import re
import warnings
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, time
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

import openpyxl
import sqlalchemy as sa
from email_validator import EmailNotValidError, validate_email
from flask import current_app
from flask_babel import force_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.utils.datetime import from_excel
from sqlalchemy.orm import Session

from marketplace import attachments, audit, clock
from marketplace.errors import PermissionDenied, ValidationFailed
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
from marketplace.scenarios import services
from marketplace.scenarios.import_limits import (
    ImportLimits,
    check_archive,
    check_dimensions,
    row_limit,
    too_many_rows,
)

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


def read_rows(data: bytes, limits: ImportLimits | None = None) -> list[ParsedRow]:
    """The non-empty data rows of an XLSX file, by column key; a broken file, a wrong layout or a file
    over the limits (checked before parsing: :mod:`marketplace.scenarios.import_limits`) is refused."""
    limits = limits or ImportLimits()
    check_archive(data, limits)
    try:
        # Files saved by Excel or WPS may carry extensions openpyxl warns about; they do not matter here.
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            workbook = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
            try:
                sheet = workbook[DATA_SHEET] if DATA_SHEET in workbook.sheetnames else workbook.worksheets[0]
                check_dimensions(sheet, limits)
                rows = sheet.iter_rows(values_only=True, max_col=len(COLUMNS) + 30, max_row=row_limit(limits) + 1)
                return _rows_of(rows, limits)
            finally:
                workbook.close()
    except ValidationFailed:
        raise
    except Exception:
        raise _refuse(_("无法读取该 Excel 文件，文件可能已损坏。请用模板重新填写并保存为 .xlsx 后上传。"))


def _rows_of(rows: Iterator[tuple], limits: ImportLimits) -> list[ParsedRow]:
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
        if number > row_limit(limits):
            raise too_many_rows(limits)
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
    rows = read_rows(data, ImportLimits.from_config(current_app.config))
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
