"""Excel import of scenario drafts (all-or-nothing) and open-data exports of the public list."""

from __future__ import annotations

import csv
import io
import json
import zipfile
from datetime import datetime, timedelta
from decimal import Decimal

import openpyxl
import pytest

from tests.test_api import SUMMARY_KEYS, create_owner, create_scenario

HEADERS = ["场景名称", "一句话简介", "场景描述", "建设边界", "技术要求", "验收标准", "预期成效", "产业领域", "应用主题",
           "业主单位", "联系人", "联系电话", "联系邮箱", "资金来源", "预算（万元）", "揭榜截止时间", "建设周期（月）",
           "揭榜方式", "赛马团队数"]


# ---------------------------------------------------------------- helpers

def row(owner: str, **changes) -> dict[str, object]:
    """One valid data row (by header), with ``changes`` applied by header name."""
    values: dict[str, object] = {
        "场景名称": "智慧社区综合治理平台", "一句话简介": "事件一网统管。",
        "场景描述": "社区治理数据分散，事件流转慢，需要建设综合治理平台。", "建设边界": "包括平台软件开发和接口对接，不包括硬件采购。",
        "技术要求": "支持国产数据库。", "验收标准": "事件平均处置时长缩短 30%，可用性不低于 99.5%。", "预期成效": "覆盖 20 个社区。",
        "产业领域": "软件开发", "应用主题": "智慧名城", "业主单位": owner, "联系人": "李四", "联系电话": "023-63891234",
        "联系邮箱": "lisi@example.gov.cn", "资金来源": "财政资金", "预算（万元）": 350,
        "揭榜截止时间": datetime.now() + timedelta(days=40), "建设周期（月）": 12, "揭榜方式": "揭榜挂帅", "赛马团队数": None,
    }
    values.update(changes)
    return values


def xlsx(rows: list[dict[str, object]], headers: list[str] = HEADERS, template: bytes | None = None) -> bytes:
    """A workbook with the headers and rows; appended to the downloaded template when given."""
    if template is not None:
        workbook = openpyxl.load_workbook(io.BytesIO(template))
        sheet = workbook["场景清单"]
        start = 3
    else:
        workbook = openpyxl.Workbook()
        sheet = workbook.active
        sheet.append(headers)
        start = 2
    for offset, values in enumerate(rows):
        for col, header in enumerate(headers, start=1):
            sheet.cell(row=start + offset, column=col, value=values.get(header))
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def upload(client, content: bytes, filename: str = "scenarios.xlsx"):
    return client.post("/scenarios/import", data={"file": (io.BytesIO(content), filename)},
                       content_type="multipart/form-data")


def scenario_count() -> int:
    from marketplace.extensions import db
    from marketplace.models import Scenario

    return db.session.query(Scenario).count()


@pytest.fixture
def district_staff(make_user, login):
    user = make_user("district_staff", district="yuzhong")
    login(user)
    return user


# ---------------------------------------------------------------- access

IMPORT_PATHS = ["/scenarios/import", "/scenarios/import/template.xlsx"]


@pytest.mark.parametrize("path", IMPORT_PATHS)
def test_anonymous_is_sent_to_login(client, path):
    response = client.get(path)
    assert response.status_code == 302 and "/auth/login" in response.headers["Location"]
    response = client.post("/scenarios/import", data={})
    assert response.status_code == 302 and "/auth/login" in response.headers["Location"]


@pytest.mark.parametrize("role", ["owner", "enterprise", "expert"])
@pytest.mark.parametrize("path", IMPORT_PATHS)
def test_other_roles_are_refused(client, make_user, login, role, path):
    login(make_user(role))
    assert client.get(path).status_code == 403
    owner = create_owner()
    assert upload(client, xlsx([row(owner.name)])).status_code == 403
    assert scenario_count() == 0


@pytest.mark.parametrize("role", ["district_staff", "city_staff"])
def test_staff_see_the_import_page_and_the_review_link(client, make_user, login, role):
    login(make_user(role))
    html = client.get("/scenarios/import").get_data(as_text=True)
    assert "Excel 批量导入场景" in html and "/scenarios/import/template.xlsx" in html
    assert "/scenarios/import" in client.get("/review").get_data(as_text=True)


# ---------------------------------------------------------------- template

def test_template_is_an_xlsx_with_headers_example_and_instructions(client, district_staff):
    owner = create_owner("yuzhong", name="渝中区大数据发展局")
    create_owner("jiangbei", name="江北区城市管理局")
    response = client.get("/scenarios/import/template.xlsx")
    assert response.status_code == 200
    assert response.mimetype == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    assert "attachment" in response.headers["Content-Disposition"]
    workbook = openpyxl.load_workbook(io.BytesIO(response.data))
    assert workbook.sheetnames == ["场景清单", "填写说明"]
    sheet = workbook["场景清单"]
    assert [c.value for c in sheet[1]] == HEADERS
    assert sheet["A2"].value.startswith("【示例】")
    help_values = {c.value for r in workbook["填写说明"].iter_rows() for c in r if c.value}
    for value in ("软件开发", "新兴技术服务", "智造重镇", "智慧名城", "财政资金", "国有企业自有资金", "揭榜挂帅", "赛马"):
        assert value in help_values, value
    # District staff see the owners of their own district only.
    assert owner.name in help_values and "江北区城市管理局" not in help_values
    assert len(sheet.data_validations.dataValidation) >= 4


def test_the_template_itself_imports_after_filling_in(client, district_staff):
    owner = create_owner("yuzhong")
    template = client.get("/scenarios/import/template.xlsx").data
    response = upload(client, xlsx([row(owner.name)], template=template))
    assert response.status_code == 200
    assert "已导入 1 个场景草稿" in response.get_data(as_text=True)  # the example row is skipped
    assert scenario_count() == 1


# ---------------------------------------------------------------- import

def test_valid_file_imports_drafts_with_audit(client, district_staff):
    from marketplace import clock
    from marketplace.extensions import db
    from marketplace.models import AuditEvent, FundingSource, Scenario, ScenarioMode, ScenarioStatus

    owner = create_owner("yuzhong")
    other_owner = create_owner("yuzhong")
    rows = [
        row(owner.name, 场景名称="智慧社区综合治理平台"),
        row(owner.name, 场景名称="园区能耗监测系统", 产业领域="ai", 应用主题="smart_manufacturing", 资金来源="soe_own",
            **{"预算（万元）": "1,200.5", "揭榜截止时间": "2030-06-30", "揭榜方式": "赛马", "赛马团队数": 3}),
        row(other_owner.name, 场景名称="城市运行一网统管", **{"预算（万元）": 88.8,
                                                             "揭榜截止时间": "2030/07/01 17:30"}),
    ]
    response = upload(client, xlsx(rows))
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and "已导入 3 个场景草稿" in html
    for title in ("智慧社区综合治理平台", "园区能耗监测系统", "城市运行一网统管"):
        assert title in html
    scenarios = {s.title: s for s in db.session.query(Scenario)}
    assert len(scenarios) == 3
    for s in scenarios.values():
        assert s.status == ScenarioStatus.DRAFT
        assert s.created_by_id == district_staff.id
        assert s.district_id == owner.district_id
        assert s.funding_evidence_id is None
    race = scenarios["园区能耗监测系统"]
    assert race.owner_id == owner.id and race.budget_wan == Decimal("1200.50")
    assert race.mode == ScenarioMode.HORSE_RACE and race.race_teams == 3
    assert race.domain.code == "ai" and race.theme.code == "smart_manufacturing"
    assert race.funding_source == FundingSource.SOE_OWN
    assert clock.to_local(race.deadline).strftime("%Y-%m-%d %H:%M:%S") == "2030-06-30 23:59:59"
    third = scenarios["城市运行一网统管"]
    assert third.owner_id == other_owner.id and third.budget_wan == Decimal("88.80")
    assert clock.to_local(third.deadline).strftime("%Y-%m-%d %H:%M") == "2030-07-01 17:30"
    assert scenarios["智慧社区综合治理平台"].mode == ScenarioMode.OPEN_CALL
    events = db.session.query(AuditEvent).filter_by(action="scenario.import").all()
    assert sorted(int(e.object_id) for e in events) == sorted(s.id for s in scenarios.values())
    assert all(e.actor_id == district_staff.id for e in events)


def test_imported_drafts_only_lack_the_funding_evidence(client, district_staff):
    from marketplace.extensions import db
    from marketplace.models import Scenario
    from marketplace.scenarios import services

    owner = create_owner("yuzhong")
    upload(client, xlsx([row(owner.name)]))
    scenario = db.session.query(Scenario).one()
    assert [p.field for p in services.gate_problems(scenario)] == ["funding_evidence"]


def test_one_bad_row_saves_nothing_and_lists_errors(client, district_staff):
    owner = create_owner("yuzhong")
    rows = [
        row(owner.name, 场景名称="第一个好场景"),
        row(owner.name, 场景名称="预算有误的场景", **{"预算（万元）": -5}),
        row(owner.name, 场景名称="第三个好场景"),
    ]
    response = upload(client, xlsx(rows))
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "没有导入任何场景" in html
    assert 'data-row="3"' in html and "第 3 行" in html and "预算（万元）" in html and "必须是大于 0 的数字" in html
    assert 'data-row="2"' not in html and 'data-row="4"' not in html
    assert scenario_count() == 0


def test_every_kind_of_error_is_reported_by_row_and_column(client, district_staff):
    from marketplace.extensions import db
    from marketplace.models import AuditEvent

    owner = create_owner("yuzhong")
    rows = [
        row(owner.name, 场景名称=None),
        row(owner.name, 产业领域="区块链"),
        row(owner.name, 应用主题="智慧海洋"),
        row(owner.name, 资金来源="彩票"),
        row(owner.name, 揭榜方式="抽签"),
        row("不存在的单位"),
        row(owner.name, **{"预算（万元）": "三百万"}),
        row(owner.name, 揭榜截止时间=datetime.now() - timedelta(days=1)),
        row(owner.name, 揭榜截止时间="下个月"),
        row(owner.name, **{"建设周期（月）": 2.5}),
        row(owner.name, 揭榜方式="赛马", 赛马团队数=1),
        row(owner.name, 揭榜方式="赛马"),
        row(owner.name, 场景名称="长" * 201),
        row(owner.name, 联系邮箱="not-an-email"),
        row(owner.name, 联系电话="打电话"),
        row(owner.name, 验收标准="好"),
    ]
    for number, values in enumerate(rows, start=2):
        if values["场景名称"] == "智慧社区综合治理平台":
            values["场景名称"] = f"第{number}行的场景"
    html = upload(client, xlsx(rows)).get_data(as_text=True)
    expected = [
        (2, "场景名称", "必填"), (3, "产业领域", "区块链"), (4, "应用主题", "智慧海洋"), (5, "资金来源", "彩票"),
        (6, "揭榜方式", "抽签"), (7, "业主单位", "找不到发榜单位"), (8, "预算（万元）", "必须是大于 0 的数字"),
        (9, "揭榜截止时间", "必须晚于当前时间"), (10, "揭榜截止时间", "请填写日期"), (11, "建设周期（月）", "整数"),
        (12, "赛马团队数", "2–10"), (13, "赛马团队数", "赛马"), (14, "场景名称", "不能超过 200 个字"),
        (15, "联系邮箱", "邮箱格式不正确"), (16, "联系电话", "至少 7 位数字"), (17, "验收标准", "验收标准"),
    ]
    for number, column, text in expected:
        marker = f'data-row="{number}"'
        assert marker in html, (number, column)
        fragment = html.split(marker, 1)[1].split("</tr>", 1)[0]
        assert column in fragment and text in fragment, (number, column, fragment)
    assert scenario_count() == 0
    assert db.session.query(AuditEvent).filter_by(action="scenario.import").count() == 0


def test_duplicates_within_the_file_and_with_existing_scenarios(client, district_staff):
    owner = create_owner("yuzhong")
    create_scenario("draft", owner=owner, title="已有的场景")
    rows = [row(owner.name, 场景名称="重复的场景"), row(owner.name, 场景名称="重复的场景"),
            row(owner.name, 场景名称="已有的场景")]
    html = upload(client, xlsx(rows)).get_data(as_text=True)
    assert "与第 2 行重复" in html and "该业主单位已有同名场景" in html
    assert scenario_count() == 1


def test_district_staff_cannot_import_for_another_district(client, district_staff):
    jiangbei_owner = create_owner("jiangbei")
    html = upload(client, xlsx([row(jiangbei_owner.name)])).get_data(as_text=True)
    assert "第 2 行" in html and "业主单位" in html and "只能导入本区县（渝中区）业主单位的场景" in html
    assert scenario_count() == 0


def test_city_staff_import_for_any_district(client, make_user, login):
    from marketplace.extensions import db
    from marketplace.models import Scenario

    login(make_user("city_staff"))
    jiangbei_owner = create_owner("jiangbei")
    html = upload(client, xlsx([row(jiangbei_owner.name)])).get_data(as_text=True)
    assert "已导入 1 个场景草稿" in html
    assert db.session.query(Scenario).one().district_id == jiangbei_owner.district_id


def test_non_owner_organisations_are_refused(client, district_staff, make_org):
    firm = make_org("software_enterprise", district="yuzhong")
    html = upload(client, xlsx([row(firm.name)])).get_data(as_text=True)
    assert "找不到发榜单位" in html and scenario_count() == 0


@pytest.mark.parametrize(("content", "filename", "message"), [
    (b"title,budget\nx,1\n", "scenarios.csv", "不支持该文件类型"),
    (b"this is not a spreadsheet", "scenarios.xlsx", "文件内容与扩展名不符"),
    (b"", "scenarios.xlsx", "文件为空"),
])
def test_non_xlsx_uploads_are_refused(client, district_staff, content, filename, message):
    response = upload(client, content, filename)
    assert response.status_code == 422 and message in response.get_data(as_text=True)
    assert scenario_count() == 0


def test_missing_file_is_refused(client, district_staff):
    response = client.post("/scenarios/import", data={}, content_type="multipart/form-data")
    assert response.status_code == 200 and "请选择要上传的 Excel 文件" in response.get_data(as_text=True)


def test_broken_xlsx_is_refused_with_a_message(client, district_staff):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("[Content_Types].xml", "<broken")
        archive.writestr("xl/workbook.xml", "<also broken")
    html = upload(client, buffer.getvalue()).get_data(as_text=True)
    assert "无法读取该 Excel 文件" in html and scenario_count() == 0


def test_missing_columns_and_empty_files_are_refused(client, district_staff):
    owner = create_owner("yuzhong")
    headers = [h for h in HEADERS if h != "预算（万元）"]
    html = upload(client, xlsx([row(owner.name)], headers=headers)).get_data(as_text=True)
    assert "缺少必填列：预算（万元）" in html
    assert "没有可导入的数据行" in upload(client, xlsx([])).get_data(as_text=True)
    assert scenario_count() == 0


def test_row_limit(client, district_staff):
    from marketplace.scenarios.importer import MAX_ROWS

    owner = create_owner("yuzhong")
    rows = [row(owner.name, 场景名称=f"场景{i:04d}号") for i in range(MAX_ROWS + 1)]
    html = upload(client, xlsx(rows)).get_data(as_text=True)
    assert f"最多导入 {MAX_ROWS} 行" in html and scenario_count() == 0


# ---------------------------------------------------------------- export

@pytest.fixture
def listed():
    """Public scenarios in two districts, plus a draft and a submitted one that must never be exported."""
    return {
        "yuzhong": create_scenario(title="渝中智慧停车", district="yuzhong", budget="120.5"),
        "jiangbei": create_scenario(title="江北智慧水务", district="jiangbei"),
        "awarded": create_scenario("awarded", title="已揭榜的场景", district="yuzhong"),
        "closed": create_scenario(title="已截止的场景", district="jiangbei", deadline=timedelta(days=-3)),
        "draft": create_scenario("draft", title="草稿场景不可导出"),
        "submitted": create_scenario("submitted", title="待审核场景不可导出"),
    }


PUBLIC_TITLES = {"渝中智慧停车", "江北智慧水务", "已揭榜的场景", "已截止的场景"}


def test_json_export_has_api_items_and_only_public_scenarios(client, listed):
    from marketplace import clock

    response = client.get("/scenarios/export.json")
    assert response.status_code == 200 and response.mimetype == "application/json"
    disposition = response.headers["Content-Disposition"]
    assert f"scenarios-{clock.local_today().isoformat()}.json" in disposition
    body = json.loads(response.data)
    assert body["total"] == 4 and {i["title"] for i in body["items"]} == PUBLIC_TITLES
    assert all(set(i) == SUMMARY_KEYS for i in body["items"])
    closed = next(i for i in body["items"] if i["id"] == listed["closed"].id)
    assert closed["status"] == "closed" and closed["deadline"].endswith("+08:00")


def test_csv_export_has_bom_columns_and_respects_filters(client, listed):
    response = client.get("/scenarios/export.csv?district=yuzhong")
    assert response.status_code == 200 and response.headers["Content-Type"] == "text/csv; charset=utf-8"
    assert response.data.startswith(b"\xef\xbb\xbf")
    assert response.headers["Content-Disposition"].endswith(".csv")
    rows = list(csv.DictReader(io.StringIO(response.data.decode("utf-8-sig"))))
    assert {r["title"] for r in rows} == {"渝中智慧停车", "已揭榜的场景"}
    parking = next(r for r in rows if r["title"] == "渝中智慧停车")
    assert parking["budget_wan"] == "120.50" and parking["district"] == "渝中区"
    assert parking["status"] == "published" and parking["status_label"] == "征集中"
    assert parking["deadline"].endswith("+08:00") and parking["url"].endswith(f"/scenarios/{listed['yuzhong'].id}")
    assert {"id", "owner", "domain", "theme", "funding_source", "batches"} <= set(rows[0])
    everything = client.get("/scenarios/export.csv").data.decode("utf-8-sig")
    assert "草稿场景不可导出" not in everything and "待审核场景不可导出" not in everything


def test_xlsx_export_respects_filters_and_hides_unpublished(client, listed):
    from marketplace.scenarios.exports import EXPORT_COLUMNS

    response = client.get("/scenarios/export.xlsx?status=closed")
    assert response.status_code == 200
    sheet = openpyxl.load_workbook(io.BytesIO(response.data)).active
    values = list(sheet.iter_rows(values_only=True))
    assert list(values[0]) == list(EXPORT_COLUMNS)
    assert [r[1] for r in values[1:]] == ["已截止的场景"]
    everything = openpyxl.load_workbook(io.BytesIO(client.get("/scenarios/export.xlsx").data)).active
    titles = {r[1] for r in everything.iter_rows(min_row=2, values_only=True)}
    assert titles == PUBLIC_TITLES


def test_exports_never_turn_titles_into_formulas(client):
    create_scenario(title='=HYPERLINK("http://evil.example","点我")')
    text = client.get("/scenarios/export.csv").data.decode("utf-8-sig")
    assert "'=HYPERLINK" in text
    sheet = openpyxl.load_workbook(io.BytesIO(client.get("/scenarios/export.xlsx").data)).active
    assert sheet["B2"].data_type == "s" and sheet["B2"].value.startswith("=HYPERLINK")


def test_bad_export_parameters_are_400_with_a_message(client):
    response = client.get("/scenarios/export.csv?budget_min=x")
    assert response.status_code == 400
    assert "参数有误" in response.get_data(as_text=True) and "budget_min" in response.get_data(as_text=True)
    assert client.get("/scenarios/export.csv?status=foo").status_code == 400
    assert client.get("/scenarios/export.pdf").status_code == 404


def test_list_page_links_the_exports_with_its_filters(client, listed):
    html = client.get("/scenarios?district=yuzhong").get_data(as_text=True)
    assert "/scenarios/export.xlsx?district=yuzhong" in html
    assert "/scenarios/export.csv?district=yuzhong" in html
    assert "/scenarios/export.json?district=yuzhong" in html
