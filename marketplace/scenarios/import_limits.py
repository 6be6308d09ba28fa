"""Limits an uploaded spreadsheet must meet *before* it is parsed (spreadsheet / zip bombs).

An XLSX file is a zip archive. openpyxl reads the whole shared-strings part into memory even in
read-only mode, so a 300 KB upload whose strings unpack to 300 MB costs 300 MB of memory; the 20 MB
upload limit alone would allow ~20 GB. :func:`check_archive` therefore reads only the zip's central
directory (the declared sizes; :mod:`zipfile` never unpacks more than a member declares) and refuses:

* more than ``IMPORT_MAX_UNPACKED_MB`` unpacked in total, or more than 1,000 members;
* any member over 1 MB unpacked whose unpacked/packed ratio exceeds ``IMPORT_MAX_RATIO``.

:func:`check_dimensions` then refuses a sheet that declares more than ``IMPORT_MAX_ROWS`` rows or
``IMPORT_MAX_COLUMNS`` columns, and :func:`row_limit` bounds the rows actually read (a sheet may lie).
Every refusal is a :class:`~marketplace.errors.ValidationFailed` (422) with a Chinese message.
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from flask_babel import gettext as _

from marketplace.errors import ValidationFailed

MB = 1024 * 1024
#: Members below this unpacked size are not checked for their ratio (small XML compresses very well).
RATIO_FLOOR = MB
MAX_MEMBERS = 1000


@dataclass(frozen=True)
class ImportLimits:
    """The configured limits (see ``marketplace.config``)."""

    max_rows: int = 5000
    max_columns: int = 100
    max_unpacked_bytes: int = 50 * MB
    max_ratio: int = 100

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> ImportLimits:
        return cls(max_rows=int(config.get("IMPORT_MAX_ROWS", 5000)),
                   max_columns=int(config.get("IMPORT_MAX_COLUMNS", 100)),
                   max_unpacked_bytes=int(config.get("IMPORT_MAX_UNPACKED_MB", 50)) * MB,
                   max_ratio=int(config.get("IMPORT_MAX_RATIO", 100)))


def _refuse(message: str) -> ValidationFailed:
    return ValidationFailed(message, {"file": [message]})


def check_archive(data: bytes, limits: ImportLimits) -> None:
    """Refuse an XLSX whose zip declares too much unpacked data (see the module docstring)."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            members = archive.infolist()
    except (zipfile.BadZipFile, ValueError, OSError):
        raise _refuse(_("无法读取该 Excel 文件，文件可能已损坏。请用模板重新填写并保存为 .xlsx 后上传。")) from None
    if len(members) > MAX_MEMBERS:
        raise _refuse(_("文件包含的部件过多（%(n)d 个），不是正常的导入文件。请使用下载的导入模板填写。", n=len(members)))
    total = sum(m.file_size for m in members)
    if total > limits.max_unpacked_bytes:
        raise _refuse(_("文件解压后过大（%(size)d MB，上限 %(limit)d MB），可能是恶意构造的文件，已拒绝。"
                        "请删除多余内容或拆分后重新上传。",
                        size=total // MB, limit=limits.max_unpacked_bytes // MB))
    for member in members:
        if member.file_size > RATIO_FLOOR and member.file_size > limits.max_ratio * max(member.compress_size, 1):
            raise _refuse(_("文件的压缩比异常（%(part)s 解压后是压缩前的 %(ratio)d 倍，上限 %(limit)d 倍），"
                            "可能是恶意构造的文件，已拒绝。请用导入模板重新填写后上传。",
                            part=member.filename, ratio=member.file_size // max(member.compress_size, 1),
                            limit=limits.max_ratio))


def check_dimensions(sheet, limits: ImportLimits) -> None:
    """Refuse a sheet that declares more rows or columns than allowed (read-only sheets read the
    ``<dimension>`` element; a sheet without one is bounded by :func:`row_limit` while reading)."""
    rows, columns = sheet.max_row or 0, sheet.max_column or 0
    if rows > limits.max_rows + 1:
        raise too_many_rows(limits)
    if columns > limits.max_columns:
        raise _refuse(_("工作表有 %(n)d 列，超过上限 %(limit)d 列。请使用下载的导入模板，删除多余的列后重新上传。",
                        n=columns, limit=limits.max_columns))


def too_many_rows(limits: ImportLimits) -> ValidationFailed:
    return _refuse(_("工作表超过 %(limit)d 行（含空行）。请删除多余的行，或拆分后分批上传。", limit=limits.max_rows))


def row_limit(limits: ImportLimits) -> int:
    """The last sheet row read (the header plus ``max_rows`` rows); a row beyond it is refused."""
    return limits.max_rows + 1
