"""Spreadsheet bombs on /scenarios/import are refused before parsing, with 422 and a Chinese message."""

from __future__ import annotations

import io
import re
import tracemalloc
import zipfile

import openpyxl
import pytest

from tests.test_scenario_transfer import HEADERS, create_owner, row, scenario_count, upload, xlsx

MB = 1024 * 1024


@pytest.fixture
def district_staff(make_user, login):
    user = make_user("district_staff", district="yuzhong")
    login(user)
    return user


def rewrite(content: bytes, changes, extra: dict[str, str] | None = None) -> bytes:
    """The same XLSX with some members' text changed by ``changes[name](text)`` and ``extra`` members added."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(content)) as source, \
            zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as target:
        for info in source.infolist():
            data = source.read(info.filename)
            if info.filename in changes:
                data = changes[info.filename](data.decode("utf-8")).encode("utf-8")
            target.writestr(info.filename, data)
        for name, text in (extra or {}).items():
            target.writestr(name, text.encode("utf-8"))
    return out.getvalue()


SST = "application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"
SST_REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships/sharedStrings"


def bomb(unpacked_mb: int) -> bytes:
    """A small valid XLSX with a shared-strings part (read whole even in read-only mode) of ``unpacked_mb`` MB."""
    valid = xlsx([row("某单位")])
    padding = "炸" * (unpacked_mb * MB // 3)  # 3 bytes each in UTF-8
    strings = ('<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" count="1" uniqueCount="1">'
               f"<si><t>{padding}</t></si></sst>")
    return rewrite(valid, {
        "[Content_Types].xml": lambda t: t.replace(
            "</Types>", f'<Override PartName="/xl/sharedStrings.xml" ContentType="{SST}"/></Types>'),
        "xl/_rels/workbook.xml.rels": lambda t: t.replace(
            "</Relationships>", f'<Relationship Id="rIdSST" Type="{SST_REL}" Target="sharedStrings.xml"/></Relationships>'),
    }, {"xl/sharedStrings.xml": strings})


def refused(response, *fragments: str) -> str:
    html = response.get_data(as_text=True)
    assert response.status_code == 422, html[-2000:]
    text = re.sub(r"\s+", " ", html)
    assert any(f in text for f in fragments), text[-3000:]
    assert scenario_count() == 0
    return text


@pytest.mark.parametrize(("unpacked_mb", "fragment"), [(60, "文件解压后过大"), (8, "压缩比异常")])
def test_a_zip_bomb_is_refused_before_parsing(client, district_staff, unpacked_mb, fragment):
    create_owner("yuzhong", name="某单位")
    content = bomb(unpacked_mb)
    assert len(content) < 200 * 1024  # small upload, huge declared size
    tracemalloc.start()
    try:
        response = upload(client, content)
        _current, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    refused(response, fragment)
    assert peak < 20 * MB + len(content) * 4  # the strings were never unpacked


def test_too_many_declared_rows_are_refused(client, district_staff):
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.append(HEADERS)
    sheet.cell(row=5003, column=1, value="远处的一格")  # the sheet now declares A1:S5003
    buffer = io.BytesIO()
    workbook.save(buffer)
    refused(upload(client, buffer.getvalue()), "超过 5000 行")


def test_too_many_columns_are_refused(client, district_staff):
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.append(HEADERS)
    sheet.cell(row=2, column=300, value="远处的一格")
    buffer = io.BytesIO()
    workbook.save(buffer)
    refused(upload(client, buffer.getvalue()), "超过上限 100 列")


def test_rows_beyond_the_limit_are_refused_when_the_sheet_hides_its_size(app, client, district_staff,
                                                                         monkeypatch):
    create_owner("yuzhong", name="某单位")
    monkeypatch.setitem(app.config, "IMPORT_MAX_ROWS", 3)
    content = rewrite(xlsx([row("某单位", 场景名称=f"场景{i}") for i in range(5)]),
                      {"xl/worksheets/sheet1.xml": lambda text: re.sub(r"<dimension[^>]*/>", "", text)})
    refused(upload(client, content), "超过 3 行")


def test_a_file_within_the_limits_still_imports(client, district_staff):
    create_owner("yuzhong", name="某单位")
    response = upload(client, xlsx([row("某单位")]))
    assert response.status_code == 200 and scenario_count() == 1
