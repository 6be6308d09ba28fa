"""The OpenAPI 3.1 description of ``/api/v1``, served at ``/api/v1/openapi.json``.

Hand-written on purpose: the API's views are plain Flask views over hand-made serializers, so a generator
(apispec, spectree) would need the same schemas written as marshmallow or pydantic models beside them —
twice the code for the same facts. Instead the bounds and value lists come from the code's own constants
(``MAX_PER_PAGE``, the reference lists, the status and sort tuples), and the tests hold the description
to the code: every route under ``/api/v1`` must appear in :data:`PATHS`, live responses must validate
against the declared schemas, and schemathesis fuzzes every operation from this description.

**Adding an endpoint** is one entry in :data:`PATHS`: ``"/things/{thing_id}": {"get": operation(...)}``
with :func:`operation`, parameters from :func:`query` / :func:`path_id` / :func:`codes` and, for a new
shape, a schema in :data:`SCHEMAS` referred to with :func:`ref`. Errors all share the envelope
``{"error": {"status", "message", "fields"?}}`` (:mod:`marketplace.errors`).
"""

from __future__ import annotations

from typing import Any

from flask import jsonify, url_for

from marketplace import reference_data, search
from marketplace.api import bp
from marketplace.applications.publicity import AWARD_STATES, NOTICE_STATES
from marketplace.applications.publicity import MAX_PER_PAGE as PUBLICITY_PER_PAGE
from marketplace.enterprises.directory import MAX_PER_PAGE as ENTERPRISES_PER_PAGE
from marketplace.enterprises.directory import SORTS as ENTERPRISE_SORTS
from marketplace.models import AppraisalPeriod, QualificationKind, RevenueBand, ScenarioMode, ScenarioStatus
from marketplace.opendata import query as release_query
from marketplace.scenarios import listing
from marketplace.search_views import MAX_QUERY_CHARS
from marketplace.search_views import STATUS_VALUES as SEARCH_STATUSES
from marketplace.showcase.gallery import MAX_PER_PAGE as DEMONSTRATIONS_PER_PAGE
from marketplace.statistics import scope as statistics

API_VERSION = "1.0.0"
#: Text parameters never contain a NUL character (every request with one is a 400).
NO_NUL = r"^[^\x00]*$"
INT32 = 2**31 - 1
#: The displayed status of a public scenario (``Scenario.display_status``).
SCENARIO_STATUSES = [s.value for s in (*ScenarioStatus.public(), ScenarioStatus.CLOSED, ScenarioStatus.PUBLICITY)]
DISTRICT_CODES = [code for code, *_rest in reference_data.DISTRICTS]
DOMAIN_CODES = [code for code, *_rest in reference_data.DOMAINS]
THEME_CODES = [code for code, *_rest in reference_data.THEMES]

# ------------------------------------------------------------------ building blocks


def ref(name: str) -> dict[str, str]:
    """``{"$ref": "#/components/schemas/<name>"}``."""
    return {"$ref": f"#/components/schemas/{name}"}


def nullable(schema: dict[str, Any]) -> dict[str, Any]:
    """The schema, or null (OpenAPI 3.1 / JSON Schema 2020-12 style)."""
    if "$ref" in schema:
        return {"anyOf": [schema, {"type": "null"}]}
    kind = schema.get("type", "string")
    widened = {**schema, "type": [kind, "null"] if isinstance(kind, str) else [*kind, "null"]}
    if "enum" in schema:
        widened["enum"] = [*schema["enum"], None]
    return widened


def query(name: str, description: str, schema: dict[str, Any], *, multiple: bool = False) -> dict[str, Any]:
    """An optional query parameter; ``multiple`` repeats it (``?district=a&district=b``)."""
    if schema.get("type") == "string" and "enum" not in schema and "format" not in schema:
        schema = {**schema, "pattern": NO_NUL}  # refused with a 400 by marketplace.queryargs
    if multiple:
        schema = {"type": "array", "items": schema}
    # An empty value (``?status=``) means "not given", as when a form's select is left on "all".
    parameter = {"name": name, "in": "query", "required": False, "description": description, "schema": schema,
                 "allowEmptyValue": True}
    if multiple:
        parameter.update({"style": "form", "explode": True})
    return parameter


def integer(low: int, high: int) -> dict[str, Any]:
    return {"type": "integer", "minimum": low, "maximum": high}


def codes(name: str, values: list[str] | tuple[str, ...], description: str, *, multiple: bool = False):
    """A query parameter taking one of the listed codes (anything else is a 400 naming the accepted ones)."""
    return query(name, description, {"type": "string", "enum": list(values)}, multiple=multiple)


def path_id(name: str, description: str) -> dict[str, Any]:
    """An integer id in the path (URLs with larger numbers do not exist: 404)."""
    return {"name": name, "in": "path", "required": True, "description": description, "schema": integer(1, INT32)}


def page_params(max_per_page: int, default: int) -> list[dict[str, Any]]:
    return [query("page", "页码（从 1 开始）", integer(1, 100_000)),
            query("per_page", f"每页条数（默认 {default}）", integer(1, max_per_page))]


#: Error responses every operation may answer, by status.
ERROR_DESCRIPTIONS = {
    400: "参数有误：信封里的 fields 逐项说明（未知的代码会列出可用的代码）",
    401: "需要登录（会话 Cookie）",
    403: "已登录，但无权查看（或申请材料尚在密封期）",
    404: "不存在或未公开",
    409: "当前状态下不可用（例如场景尚无推荐）",
    429: "请求过于频繁（限流）",
}


def operation(summary: str, description: str, *, tag: str, parameters: list[dict[str, Any]] | None = None,
              ok: dict[str, Any] | None = None, errors: tuple[int, ...] = (400,), media: str = "application/json",
              secured: bool = False, operation_id: str) -> dict[str, Any]:
    """One GET operation answering ``ok`` (a JSON schema, or a binary body for other media types)."""
    content = {media: {"schema": ok if ok is not None else {"type": "string"}}}
    responses: dict[str, Any] = {"200": {"description": "成功", "content": content}}
    for status in sorted({*errors, 429}):
        responses[str(status)] = {"$ref": f"#/components/responses/Error{status}"}
    op: dict[str, Any] = {"operationId": operation_id, "summary": summary, "description": description,
                          "tags": [tag], "parameters": parameters or [], "responses": responses}
    op["security"] = [{"session": []}] if secured else []
    return op


def list_of(item: str) -> dict[str, Any]:
    """The list envelope ``{"items", "total", "page", "per_page"}``."""
    return {"type": "object", "required": ["items", "total", "page", "per_page"], "properties": {
        "items": {"type": "array", "items": ref(item)},
        "total": {"type": "integer", "minimum": 0},
        "page": {"type": "integer", "minimum": 1},
        "per_page": {"type": "integer", "minimum": 1},
    }}


def obj(required: list[str] | None = None, **properties: Any) -> dict[str, Any]:
    """A JSON object schema; every property listed is required unless ``required`` says otherwise."""
    return {"type": "object", "required": list(properties) if required is None else required,
            "properties": properties}


STR = {"type": "string"}
INT = {"type": "integer"}
BOOL = {"type": "boolean"}
URL = {"type": "string", "format": "uri"}
TIME = {"type": "string", "format": "date-time", "description": "ISO 8601, 北京时间 +08:00"}
WAN = {"type": "string", "pattern": r"^-?\d+\.\d{2}$", "description": "万元，两位小数的十进制字符串"}
DECIMAL = {"type": "string", "pattern": r"^-?\d+(\.\d+)?$"}

# ------------------------------------------------------------------ schemas

SCENARIO_SUMMARY = obj(
    id=INT, title=STR, owner=STR, district=STR, district_code={"type": "string", "enum": DISTRICT_CODES},
    domain=nullable(STR), domain_code=nullable({"type": "string", "enum": DOMAIN_CODES}),
    theme=nullable(STR), theme_code=nullable({"type": "string", "enum": THEME_CODES}),
    budget_wan=nullable(WAN), funding_source=nullable(STR), funding_source_label=nullable(STR),
    deadline=nullable(TIME), status={"type": "string", "enum": SCENARIO_STATUSES,
                                     "description": "published = 征集中（截止前），closed = 已截止（由截止时间推出）"},
    status_label=STR,
    batch={"type": "array", "items": STR}, url=URL,
)

SCHEMAS: dict[str, dict[str, Any]] = {
    "Error": obj(["error"], error=obj(
        ["status", "message"], status={"type": "integer", "minimum": 400, "maximum": 599}, message=STR,
        fields={"type": "object", "additionalProperties": {"type": "array", "items": STR},
                "description": "参数名 → 错误说明"})),
    "ScenarioSummary": SCENARIO_SUMMARY,
    "ScenarioDetail": {"allOf": [ref("ScenarioSummary"), obj(
        summary=STR, description=STR, boundary=STR, requirements=STR, acceptance=STR, outcomes=STR,
        delivery_months=nullable(INT), mode={"type": "string", "enum": [m.value for m in ScenarioMode]},
        mode_label=STR, race_teams=nullable(INT),
        contact=obj(name=STR, phone=STR, email=nullable(STR)),
        published_at=nullable(TIME), revision=INT,
        documents={"type": "array", "description": "业主公开的附件（内部附件不列出）", "items": obj(
            filename=STR, kind={"type": "string", "description": "PDF、Word、Excel 或 图片"}, content_type=STR,
            size={"type": "integer", "minimum": 0, "description": "字节"},
            size_label={"type": "string", "description": "如 1.2 MB"}, url=URL)},
        questions={"type": "array", "items": obj(question=STR, asked_at=TIME, answer=STR,
                                                 answered_at=nullable(TIME))},
    ), obj([], award=ref("Award"))]},
    "Award": obj(
        status={"type": "string", "enum": list(AWARD_STATES),
                "description": "evaluation 评审中；publicity 公示中（或公示期满但有未处理异议）；final 已生效；"
                               "withdrawn 公示因异议成立而撤销、重新评审；unsuccessful 流榜"},
        publicity_ends_at=nullable(TIME)),
    "PublicityNotice": obj(
        scenario_id=INT, title=STR, district=nullable({"type": "string", "enum": DISTRICT_CODES}),
        winners={"type": "array", "items": obj(firm=STR, amount_wan=nullable(WAN), score=nullable(DECIMAL))},
        starts_at=TIME, ends_at=TIME, status={"type": "string", "enum": list(NOTICE_STATES)},
        objections={"type": "integer", "minimum": 0}),
    "ScenarioApplications": obj(scenario=INT, deadline=TIME, count=INT, items={"type": "array", "items": obj(
        id=INT, firm=STR, price_wan=nullable(WAN), submitted_at=nullable(TIME), status=STR, status_label=STR,
        needs_reconfirmation=BOOL)}),
    "EnterpriseSummary": obj(
        id=INT, name=STR, uscc=nullable(STR), district=nullable(STR),
        district_code=nullable({"type": "string", "enum": DISTRICT_CODES}),
        domains={"type": "array", "items": obj(code={"type": "string", "enum": DOMAIN_CODES}, name=STR)},
        tags={"type": "array", "items": STR}, qualifications={"type": "array", "items": STR},
        employees=nullable(STR), employees_label=nullable(STR),
        revenue_band=nullable({"type": "string", "enum": [b.value for b in RevenueBand]}),
        revenue_band_label=nullable(STR), url=URL),
    "EnterpriseDetail": {"allOf": [ref("EnterpriseSummary"), obj(
        building=nullable(STR), founded_on=nullable({"type": "string", "format": "date"}),
        business_scope=nullable(STR), capabilities=nullable(STR),
        qualification_details={"type": "array", "items": obj(
            kind={"type": "string", "enum": [k.value for k in QualificationKind]}, kind_label=STR, label=STR,
            year=nullable(INT), verified_at=nullable(TIME))},
        cases={"type": "array", "items": obj(title=STR, client=nullable(STR), year=nullable(INT),
                                             amount_wan=nullable(WAN), description=nullable(STR))},
        contact=obj(name=nullable(STR), phone=nullable(STR), email=nullable(STR), website=nullable(STR)),
        verified_at=nullable(TIME))]},
    "SearchResults": obj(
        items={"type": "array", "items": obj(
            type={"type": "string", "enum": list(search.DOC_TYPES)}, id=INT, title=STR, title_html=STR,
            snippet_html=STR, status=nullable(STR), score={"type": "number"}, url=STR)},
        total=INT, total_is_estimate=BOOL, page=INT, per_page=INT,
        facets={"type": "object", "additionalProperties": {"type": "array", "items": obj(
            value=STR, label=STR, count=INT)}},
        notice=nullable(STR)),
    "Demonstration": obj(
        id=INT, year=INT, title=STR, district=STR, district_code={"type": "string", "enum": DISTRICT_CODES},
        domain=nullable(STR), domain_code=nullable(STR), owner=STR, firm=nullable(STR),
        contract_amount_wan=nullable(WAN), problem=nullable(STR), solution=nullable(STR),
        outcomes=nullable(STR), highlights=nullable(STR), published_at=nullable(TIME), scenario_id=INT,
        scenario_url=URL, reuse_count=INT,
        media={"type": "array", "items": obj(filename=STR, content_type=STR, url=URL)}, url=URL),
    "Appraisal": obj(
        year=INT, period={"type": "string", "enum": [p.value for p in AppraisalPeriod]}, name=STR,
        published_at=nullable(TIME), reward_pool_yuan=INT, cap_yuan=INT, top_n=INT, unallocated_yuan=INT,
        indicators={"type": "array", "items": obj(code=STR, name=STR, weight=DECIMAL)},
        items={"type": "array", "items": obj(
            district=STR, district_code={"type": "string", "enum": DISTRICT_CODES},
            indicators={"type": "object"}, score=DECIMAL, rank=INT, reward_yuan=INT)}),
    "StatisticsEntry": obj(total=INT, by_status={"type": "object", "additionalProperties": INT}, url=URL),
    "Statistics": obj(
        filters=obj(year=nullable(INT), district=nullable({"type": "string", "enum": DISTRICT_CODES})),
        generated_at=TIME, total=INT,
        statuses={"type": "array", "items": obj(code=STR, label=STR)},
        by_status={"type": "array", "items": obj(status=STR, label=STR, count=INT, url=URL)},
        by_district={"type": "array", "items": {"allOf": [obj(district=STR, name=STR), ref("StatisticsEntry")]}},
        by_domain={"type": "array", "items": {"allOf": [obj(domain=STR, name=STR), ref("StatisticsEntry")]}},
        by_year={"type": "array", "items": {"allOf": [obj(year=INT), ref("StatisticsEntry")]}}),
    "OcdsRelease": {
        "type": "object", "required": ["ocid", "id", "date", "tag", "initiationType"],
        "description": "OCDS 1.1 release（完整结构见 OCDS 1.1.5 release schema 与 /open-data 的字段说明）",
        "properties": {"ocid": STR, "id": STR, "date": TIME, "tag": {"type": "array", "items": STR},
                       "initiationType": {"const": "tender"}},
    },
    "OcdsPackageHead": obj(
        ["uri", "version", "publishedDate", "publisher"], uri=URL, version={"const": "1.1"},
        publishedDate=TIME, publisher=obj(["name"], name=STR, uri=URL), license=URL, publicationPolicy=URL),
    "OcdsReleasePackage": {"allOf": [ref("OcdsPackageHead"), obj(
        ["releases"], releases={"type": "array", "items": ref("OcdsRelease")},
        links=obj([], next=URL, prev=URL))]},
    "OcdsRecordPackage": {"allOf": [ref("OcdsPackageHead"), obj(records={
        "type": "array", "minItems": 1, "maxItems": 1, "items": obj(
            ocid=STR, releases={"type": "array", "minItems": 1, "items": ref("OcdsRelease")},
            compiledRelease=ref("OcdsRelease"))})]},
    "OcdsBulkFiles": obj(items={"type": "array", "items": obj(
        year=INT, processes={"type": "integer", "minimum": 1}, jsonl_gz=URL, csv=URL)}),
    "Suggestions": obj(
        items={"type": "array", "items": {"allOf": [
            {"oneOf": [obj(firm_id=INT, firm=STR, district=nullable(STR)),
                       obj(scenario_id=INT, scenario=STR, district=nullable(STR))]},
            obj(score={"type": "number"}, text_score={"type": "number"},
                signals={"type": "array", "items": obj(name=STR, contribution={"type": "number"})},
                shared_terms={"type": "array", "maxItems": 6, "items": obj(
                    term=STR, weight={"type": "number", "minimum": 0, "maximum": 1})})]}},
        model_version=STR),
}

# ------------------------------------------------------------------ paths

_LIST_FILTERS = "与列表页相同的筛选参数；未知的代码返回 400，并列出可用的代码（只接受代码，不接受名称）。"

PATHS: dict[str, dict[str, Any]] = {
    "/scenarios": {"get": operation(
        "公开的应用场景列表", _LIST_FILTERS, tag="scenarios", operation_id="listScenarios",
        parameters=[
            codes("district", DISTRICT_CODES, "区县代码，可重复", multiple=True),
            codes("domain", DOMAIN_CODES, "产业领域代码"),
            codes("theme", THEME_CODES, "应用主题代码"),
            codes("status", listing.STATUS_FILTERS, "状态（open = 征集中，closed = 已截止）"),
            query("budget_min", "预算下限（万元）", {"type": "number", "minimum": 0}),
            query("budget_max", "预算上限（万元）", {"type": "number", "minimum": 0}),
            query("due_within", "多少天内截止", integer(1, 3650)),
            query("batch", "批次 id", integer(1, INT32)),
            query("q", "关键词（只用前 100 个字）", {"type": "string"}),
            codes("sort", listing.SORTS, "排序"),
            *page_params(listing.MAX_PER_PAGE, 20)],
        ok=list_of("ScenarioSummary"))},
    "/scenarios/{scenario_id}": {"get": operation(
        "一个公开场景的完整记录", "不含资金证明；答疑不显示提问企业。", tag="scenarios", operation_id="getScenario",
        parameters=[path_id("scenario_id", "场景 id")], ok=ref("ScenarioDetail"), errors=(404,))},
    "/scenarios/{scenario_id}/applications": {"get": operation(
        "场景的揭榜申请（截止后）", "业主单位、所在区县和市级工作人员可见；截止前密封（403，并给出申请数）。",
        tag="scenarios", operation_id="listScenarioApplications", secured=True,
        parameters=[path_id("scenario_id", "场景 id")], ok=ref("ScenarioApplications"), errors=(401, 403, 404))},
    "/scenarios/{scenario_id}/suggestions": {"get": operation(
        "场景的推荐企业（含理由）",
        "业主单位、所在区县和市级工作人员可见；score = text_score + 各信号贡献之和，shared_terms 为权重最高的"
        "至多 6 个共同词及其占文本得分的份额。",
        tag="matching", operation_id="listScenarioSuggestions", secured=True,
        parameters=[path_id("scenario_id", "场景 id")], ok=ref("Suggestions"), errors=(401, 403, 404, 409))},
    "/my/recommendations": {"get": operation(
        "为你推荐（企业用户）", "已通过核验的企业可见；可按产业领域代码筛选（可重复）。",
        tag="matching", operation_id="listMyRecommendations", secured=True,
        parameters=[codes("domain", DOMAIN_CODES, "产业领域代码，可重复", multiple=True)],
        ok=ref("Suggestions"), errors=(400, 401, 403))},
    "/enterprises": {"get": operation(
        "通过核验的软件企业名录", "只含公开字段；人数以区间表示。", tag="enterprises", operation_id="listEnterprises",
        parameters=[
            codes("district", DISTRICT_CODES, "区县代码，可重复", multiple=True),
            codes("domain", DOMAIN_CODES, "产业领域代码"),
            codes("qualification", [k.value for k in QualificationKind], "资质类型"),
            query("q", "关键词（只用前 100 个字）", {"type": "string"}),
            codes("sort", ENTERPRISE_SORTS, "排序"),
            *page_params(ENTERPRISES_PER_PAGE, 20)],
        ok=list_of("EnterpriseSummary"))},
    "/enterprises/{profile_id}": {"get": operation(
        "一家企业的公开档案", "未通过核验的企业返回 404。", tag="enterprises", operation_id="getEnterprise",
        parameters=[path_id("profile_id", "企业档案 id")], ok=ref("EnterpriseDetail"), errors=(404,))},
    "/search": {"get": operation(
        "全站搜索", "场景、企业和示范项目；参数与 /search 页面相同。", tag="search", operation_id="search",
        parameters=[
            query("q", "关键词", {"type": "string", "maxLength": MAX_QUERY_CHARS}),
            codes("type", search.DOC_TYPES, "结果类型，可重复", multiple=True),
            codes("district", DISTRICT_CODES, "区县代码，可重复", multiple=True),
            codes("domain", DOMAIN_CODES, "产业领域代码，可重复", multiple=True),
            codes("status", SEARCH_STATUSES, "场景状态，可重复", multiple=True),
            codes("theme", THEME_CODES, "应用主题代码，可重复", multiple=True),
            query("batch", "批次 id", integer(1, INT32)),
            codes("budget", [band.label for band in search.BUDGET_BANDS], "预算区间"),
            codes("sort", search.SORTS, "排序"),
            *page_params(search.MAX_PER_PAGE, 20)],
        ok=ref("SearchResults"))},
    "/publicity": {"get": operation(
        "揭榜结果公示", "公示中、已期满和已撤销的公示，最新在前；只给出异议件数，不公开异议人。", tag="scenarios",
        operation_id="listPublicity",
        parameters=[codes("status", NOTICE_STATES, "公示状态：open 公示中，ended 公示期满，withdrawn 已撤销"),
                    codes("district", DISTRICT_CODES, "区县代码"),
                    *page_params(PUBLICITY_PER_PAGE, 20)],
        ok=list_of("PublicityNotice"))},
    "/demonstrations": {"get": operation(
        "已发布的示范项目", "按年份、区县、领域和关键词筛选。", tag="showcase", operation_id="listDemonstrations",
        parameters=[
            query("year", "评选年份", integer(2000, 2100)),
            codes("district", DISTRICT_CODES, "区县代码"),
            codes("domain", DOMAIN_CODES, "产业领域代码"),
            query("q", "关键词（只用前 100 个字）", {"type": "string"}),
            *page_params(DEMONSTRATIONS_PER_PAGE, 20)],
        ok=list_of("Demonstration"))},
    "/appraisals/{year}": {"get": operation(
        "已发布的年度考评结果", "未发布（或草稿）的年度返回 404。", tag="showcase", operation_id="getAppraisal",
        parameters=[{"name": "year", "in": "path", "required": True, "description": "年度",
                     "schema": integer(1, INT32)}],
        ok=ref("Appraisal"), errors=(404,))},
    "/statistics": {"get": operation(
        "公开场景的统计数", "只有计数，不含资金和企业。", tag="statistics", operation_id="getStatistics",
        parameters=[query("year", "年份", integer(statistics.YEAR_MIN, statistics.YEAR_MAX)),
                    codes("district", DISTRICT_CODES, "区县代码")],
        ok=ref("Statistics"))},
    "/ocds/releases": {"get": operation(
        "OCDS release package（最新在前）",
        "每个公开场景的每次发布（招标、变更、答疑、截止、结果、合同、实施、验收）各是一个 release；"
        "since / until 按 release 日期筛选（ISO 8601 日期或时间，不带时区按北京时间）；"
        "links.next 指向下一页。字段对照见 /open-data。",
        tag="open data", operation_id="listOcdsReleases",
        parameters=[
            query("since", "起始时间（含）", {"type": "string", "format": "date-time"}),
            query("until", "截止时间（含）", {"type": "string", "format": "date-time"}),
            query("page", "页码（从 1 开始）", integer(1, release_query.MAX_PAGE)),
            query("per_page", f"每页条数（默认 {release_query.MAX_PER_PAGE}）",
                  integer(1, release_query.MAX_PER_PAGE))],
        ok=ref("OcdsReleasePackage"))},
    "/ocds/records/{ocid}": {"get": operation(
        "一个合同过程的 OCDS record package", "全部 release（最早在前）与 compiledRelease。",
        tag="open data", operation_id="getOcdsRecord",
        parameters=[{"name": "ocid", "in": "path", "required": True, "description": "ocds-<前缀>-<场景 id>",
                     "schema": {"type": "string", "maxLength": 100, "pattern": NO_NUL}}],
        ok=ref("OcdsRecordPackage"), errors=(404,))},
    "/ocds/bulk": {"get": operation(
        "按年份的批量下载文件", "有公开场景的年份（按首次发布的北京时间年份）。", tag="open data",
        operation_id="listOcdsBulkFiles", ok=ref("OcdsBulkFiles"), errors=())},
    "/ocds/bulk/{year}.jsonl.gz": {"get": operation(
        "某年的 compiled release（JSON Lines，gzip）", "每行一个 compiled release。", tag="open data",
        operation_id="getOcdsBulkJsonl", media="application/gzip",
        parameters=[{"name": "year", "in": "path", "required": True, "description": "年份",
                     "schema": integer(2000, 2100)}],
        ok={"type": "string", "contentMediaType": "application/gzip"}, errors=(404,))},
    "/ocds/bulk/{year}.csv": {"get": operation(
        "某年的主要字段（CSV，UTF-8 带 BOM）", "每个合同过程一行；列见 /open-data。", tag="open data",
        operation_id="getOcdsBulkCsv", media="text/csv",
        parameters=[{"name": "year", "in": "path", "required": True, "description": "年份",
                     "schema": integer(2000, 2100)}],
        ok={"type": "string"}, errors=(404,))},
    "/openapi.json": {"get": operation(
        "本 API 的 OpenAPI 3.1 描述", "即本文档。", tag="meta", operation_id="getOpenApi",
        ok={"type": "object"}, errors=())},
}


def _error_response(status: int) -> dict[str, Any]:
    return {"description": ERROR_DESCRIPTIONS[status],
            "content": {"application/json": {"schema": ref("Error")}}}


def spec() -> dict[str, Any]:
    """The OpenAPI 3.1 document (absolute server URL of this site)."""
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "应用场景揭榜平台 API",
            "version": API_VERSION,
            "description": "只读 JSON API：公开的应用场景、企业名录、示范项目、考评结果、统计和 OCDS 开放数据。"
                           "金额为万元的十进制字符串（OCDS 中为人民币元），时间为 ISO 8601 北京时间（+08:00）。"
                           "错误统一为 {\"error\": {\"status\", \"message\", \"fields\"}}。",
            "license": {"name": "开放数据许可见 /open-data", "url": url_for("opendata.index", _external=True)},
        },
        "servers": [{"url": url_for("api.openapi_json", _external=True).rsplit("/openapi.json", 1)[0]}],
        "paths": PATHS,
        "components": {
            "schemas": SCHEMAS,
            "responses": {f"Error{status}": _error_response(status) for status in ERROR_DESCRIPTIONS},
            "securitySchemes": {"session": {"type": "apiKey", "in": "cookie", "name": "session",
                                            "description": "登录网站后的会话 Cookie"}},
        },
    }


# The /api/docs page (area ``opendata``) renders the same document; it finds it here, per app, without
# importing the api package (which imports opendata).
bp.record_once(lambda state: state.app.extensions.setdefault("openapi_spec", spec))


@bp.route("/openapi.json")
def openapi_json():
    """This API's OpenAPI 3.1 description."""
    return jsonify(spec())
