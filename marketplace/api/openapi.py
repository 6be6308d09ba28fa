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

**Two languages.** Every summary and description is written as :func:`t` ("中文", "English") beside each
other: the description is reference documentation of a few hundred sentences, kept in one place with the
schemas it describes rather than as msgids in the site's catalogue. :func:`spec` picks the request's language
(Flask-Babel's locale, chosen by the site's language switch; ``openapi.json`` also takes ``?lang=en`` or
``?lang=zh_CN`` for API clients without a session) — Chinese by default.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flask import jsonify, request, url_for
from flask_babel import gettext as _

from marketplace import reference_data, search
from marketplace.api import bp
from marketplace.applications.publicity import AWARD_STATES, NOTICE_STATES
from marketplace.applications.publicity import MAX_PER_PAGE as PUBLICITY_PER_PAGE
from marketplace.cors import open_to_other_sites
from marketplace.enterprises.directory import MAX_PER_PAGE as ENTERPRISES_PER_PAGE
from marketplace.enterprises.directory import SORTS as ENTERPRISE_SORTS
from marketplace.errors import BadParameters
from marketplace.i18n import request_language
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
#: The languages of this description (``?lang=`` of ``openapi.json``), as the site's ``LANGUAGES``.
LANGUAGES = ("zh_CN", "en")

# ------------------------------------------------------------------ building blocks


@dataclass(frozen=True)
class Text:
    """A summary or description in Chinese (the default) and English."""

    zh: str
    en: str


def t(zh: str, en: str) -> Text:
    """A text in both languages; :func:`localised` picks one."""
    return Text(zh, en)


def localised(value: Any, language: str) -> Any:
    """A copy of ``value`` with every :class:`Text` replaced by its ``language`` ("en", else Chinese) version."""
    if isinstance(value, Text):
        return value.en if language == "en" else value.zh
    if isinstance(value, dict):
        return {k: localised(v, language) for k, v in value.items()}
    if isinstance(value, list):
        return [localised(v, language) for v in value]
    return value


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


def query(name: str, description: Text, schema: dict[str, Any], *, multiple: bool = False) -> dict[str, Any]:
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


def codes(name: str, values: list[str] | tuple[str, ...], description: Text, *, multiple: bool = False):
    """A query parameter taking one of the listed codes (anything else is a 400 naming the accepted ones)."""
    return query(name, description, {"type": "string", "enum": list(values)}, multiple=multiple)


def path_id(name: str, description: Text) -> dict[str, Any]:
    """An integer id in the path (URLs with larger numbers do not exist: 404)."""
    return {"name": name, "in": "path", "required": True, "description": description, "schema": integer(1, INT32)}


def page_params(max_per_page: int, default: int) -> list[dict[str, Any]]:
    return [query("page", t("页码（从 1 开始）", "Page number (from 1)"), integer(1, 100_000)),
            query("per_page", t(f"每页条数（默认 {default}）", f"Items per page (default {default})"),
                  integer(1, max_per_page))]


#: Error responses every operation may answer, by status.
ERROR_DESCRIPTIONS = {
    400: t("参数有误：信封里的 fields 逐项说明（未知的代码会列出可用的代码）",
           "Bad parameters: the envelope's fields explain each one (an unknown code lists the accepted codes)"),
    401: t("需要登录（会话 Cookie）", "Sign-in required (session cookie)"),
    403: t("已登录，但无权查看（或申请材料尚在密封期）",
           "Signed in, but not allowed to see this (or the applications are still sealed)"),
    404: t("不存在或未公开", "Does not exist or is not public"),
    409: t("当前状态下不可用（例如场景尚无推荐）", "Not available in the current state (e.g. no suggestions yet)"),
    429: t("请求过于频繁（限流）；Retry-After 给出可重试的秒数",
           "Too many requests (rate limited); Retry-After gives the seconds to wait"),
    503: t("数据库暂时不可用（例如正在重启）；Retry-After 秒后重试",
           "The database is briefly unavailable (e.g. restarting); retry after Retry-After seconds"),
}
#: Statuses every operation may answer whatever its parameters (rate limit, database unavailable).
ALWAYS = (429, 503)


def operation(summary: Text, description: Text, *, tag: str, parameters: list[dict[str, Any]] | None = None,
              ok: dict[str, Any] | None = None, errors: tuple[int, ...] = (400,), media: str = "application/json",
              secured: bool = False, operation_id: str) -> dict[str, Any]:
    """One GET operation answering ``ok`` (a JSON schema, or a binary body for other media types)."""
    content = {media: {"schema": ok if ok is not None else {"type": "string"}}}
    responses: dict[str, Any] = {"200": {"description": t("成功", "OK"), "content": content}}
    for status in sorted({*errors, *ALWAYS}):
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
TIME = {"type": "string", "format": "date-time",
        "description": t("ISO 8601, 北京时间 +08:00", "ISO 8601, Beijing time +08:00")}
WAN = {"type": "string", "pattern": r"^-?\d+\.\d{2}$",
       "description": t("万元，两位小数的十进制字符串", "units of 10,000 yuan, a decimal string with two decimals")}
DECIMAL = {"type": "string", "pattern": r"^-?\d+(\.\d+)?$"}

# ------------------------------------------------------------------ schemas

SCENARIO_SUMMARY = obj(
    id=INT, title=STR, owner=STR, district=STR, district_code={"type": "string", "enum": DISTRICT_CODES},
    domain=nullable(STR), domain_code=nullable({"type": "string", "enum": DOMAIN_CODES}),
    theme=nullable(STR), theme_code=nullable({"type": "string", "enum": THEME_CODES}),
    budget_wan=nullable(WAN), funding_source=nullable(STR), funding_source_label=nullable(STR),
    deadline=nullable(TIME), status={"type": "string", "enum": SCENARIO_STATUSES, "description": t(
        "published = 征集中（截止前），closed = 已截止（由截止时间推出），publicity = 公示中（揭榜结果公示尚未结束或有未处理"
        "的异议），awarded = 已揭榜（结果已生效）",
        "published = open for applications (before the deadline), closed = deadline passed (derived from the "
        "deadline), publicity = award in its public notice (the notice is running or an objection is undecided), "
        "awarded = award final")},
    status_label=STR,
    batch={"type": "array", "items": STR}, url=URL,
)

SCHEMAS: dict[str, dict[str, Any]] = {
    "Error": obj(["error"], error=obj(
        ["status", "message"], status={"type": "integer", "minimum": 400, "maximum": 599}, message=STR,
        fields={"type": "object", "additionalProperties": {"type": "array", "items": STR},
                "description": t("参数名 → 错误说明", "parameter name → error messages")})),
    "ScenarioSummary": SCENARIO_SUMMARY,
    "ScenarioDetail": {"allOf": [ref("ScenarioSummary"), obj(
        summary=STR, description=STR, boundary=STR, requirements=STR, acceptance=STR, outcomes=STR,
        delivery_months=nullable(INT), mode={"type": "string", "enum": [m.value for m in ScenarioMode]},
        mode_label=STR, race_teams=nullable(INT),
        contact=obj(name=STR, phone=STR, email=nullable(STR)),
        published_at=nullable(TIME), revision=INT,
        documents={"type": "array", "description": t("业主公开的附件（内部附件不列出）",
                                                     "The owner's public documents (internal ones are not listed)"),
                   "items": obj(
            filename=STR, kind={"type": "string", "description": t("PDF、Word、Excel 或 图片",
                                                                   "PDF, Word, Excel or image")},
            content_type=STR, size={"type": "integer", "minimum": 0, "description": t("字节", "bytes")},
            size_label={"type": "string", "description": t("如 1.2 MB", "e.g. 1.2 MB")}, url=URL)},
        questions={"type": "array", "items": obj(question=STR, asked_at=TIME, answer=STR,
                                                 answered_at=nullable(TIME))},
    ), obj([], award=ref("Award"))]},
    "Award": obj(
        status={"type": "string", "enum": list(AWARD_STATES),
                "description": t("evaluation 评审中；publicity 公示中（或公示期满但有未处理异议）；final 已生效；"
                                 "withdrawn 公示因异议成立而撤销、重新评审；unsuccessful 流榜",
                                 "evaluation: being evaluated; publicity: in its public notice (or the notice has "
                                 "ended with an objection undecided); final: in force; withdrawn: the notice was "
                                 "withdrawn after an upheld objection, evaluated again; unsuccessful: no winner")},
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
        "description": t("OCDS 1.1 release（完整结构见 OCDS 1.1.5 release schema 与 /open-data 的字段说明）",
                         "OCDS 1.1 release (full structure: the OCDS 1.1.5 release schema and the field notes on "
                         "/open-data)"),
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

_LIST_FILTERS = t("与列表页相同的筛选参数；未知的代码返回 400，并列出可用的代码（只接受代码，不接受名称）。",
                  "The list page's filters; an unknown code is a 400 listing the accepted codes (codes only, "
                  "never names).")
SCENARIO_ID = t("场景 id", "Scenario id")
DISTRICTS = t("区县代码，可重复", "District code, repeatable")
DISTRICT = t("区县代码", "District code")
DOMAIN = t("产业领域代码", "Industry domain code")
KEYWORDS = t("关键词（只用前 100 个字）", "Keywords (the first 100 characters are used)")
SORT = t("排序", "Sort order")
YEAR = t("年份", "Year")

PATHS: dict[str, dict[str, Any]] = {
    "/scenarios": {"get": operation(
        t("公开的应用场景列表", "Public application scenarios"), _LIST_FILTERS, tag="scenarios",
        operation_id="listScenarios",
        parameters=[
            codes("district", DISTRICT_CODES, DISTRICTS, multiple=True),
            codes("domain", DOMAIN_CODES, DOMAIN),
            codes("theme", THEME_CODES, t("应用主题代码", "Application theme code")),
            codes("status", listing.STATUS_FILTERS, t(
                "状态（open = 征集中，closed = 已截止，publicity = 公示中，awarded = 已揭榜且结果已生效）",
                "Status (open = accepting applications, closed = deadline passed, publicity = award in its "
                "public notice, awarded = award final)")),
            query("budget_min", t("预算下限（万元）", "Minimum budget (10,000 yuan)"), {"type": "number", "minimum": 0}),
            query("budget_max", t("预算上限（万元）", "Maximum budget (10,000 yuan)"), {"type": "number", "minimum": 0}),
            query("due_within", t("多少天内截止", "Deadline within this many days"), integer(1, 3650)),
            query("batch", t("批次 id", "Batch id"), integer(1, INT32)),
            query("q", KEYWORDS, {"type": "string"}),
            codes("sort", listing.SORTS, SORT),
            *page_params(listing.MAX_PER_PAGE, 20)],
        ok=list_of("ScenarioSummary"))},
    "/scenarios/{scenario_id}": {"get": operation(
        t("一个公开场景的完整记录", "The full record of one public scenario"),
        t("不含资金证明；答疑不显示提问企业。已撤回的场景返回 404（发布后撤回的，其撤回时间和原因公开在场景页面"
          "和 OCDS record 中，tender.status 为 cancelled）。",
          "Without the funding evidence; answered questions do not name the asking firm. A withdrawn scenario is a "
          "404 (one withdrawn after publication keeps its withdrawal time and reason public on its page and in its "
          "OCDS record, with tender.status cancelled)."),
        tag="scenarios", operation_id="getScenario",
        parameters=[path_id("scenario_id", SCENARIO_ID)], ok=ref("ScenarioDetail"), errors=(404,))},
    "/scenarios/{scenario_id}/applications": {"get": operation(
        t("场景的揭榜申请（截止后）", "A scenario's applications (after the deadline)"),
        t("业主单位、所在区县和市级工作人员可见；截止前密封（403，并给出申请数）。",
          "For the owner and the district's and city staff; sealed before the deadline (403, with the number of "
          "applications)."),
        tag="scenarios", operation_id="listScenarioApplications", secured=True,
        parameters=[path_id("scenario_id", SCENARIO_ID)], ok=ref("ScenarioApplications"), errors=(401, 403, 404))},
    "/scenarios/{scenario_id}/suggestions": {"get": operation(
        t("场景的推荐企业（含理由）", "Suggested firms for a scenario, with reasons"),
        t("业主单位、所在区县和市级工作人员可见；score = text_score + 各信号贡献之和，shared_terms 为权重最高的"
          "至多 6 个共同词及其占文本得分的份额。",
          "For the owner and the district's and city staff; score = text_score + the sum of the signals' "
          "contributions; shared_terms are the at most 6 heaviest shared terms with their share of the text "
          "score."),
        tag="matching", operation_id="listScenarioSuggestions", secured=True,
        parameters=[path_id("scenario_id", SCENARIO_ID)], ok=ref("Suggestions"), errors=(401, 403, 404, 409))},
    "/my/recommendations": {"get": operation(
        t("为你推荐（企业用户）", "Recommended for you (firms)"),
        t("已通过核验的企业可见；可按产业领域代码筛选（可重复）。",
          "For verified firms; filter by industry domain code (repeatable)."),
        tag="matching", operation_id="listMyRecommendations", secured=True,
        parameters=[codes("domain", DOMAIN_CODES, t("产业领域代码，可重复", "Industry domain code, repeatable"),
                          multiple=True)],
        ok=ref("Suggestions"), errors=(400, 401, 403))},
    "/enterprises": {"get": operation(
        t("通过核验的软件企业名录", "Directory of verified software firms"),
        t("只含公开字段；人数以区间表示。", "Public fields only; headcount as a range."),
        tag="enterprises", operation_id="listEnterprises",
        parameters=[
            codes("district", DISTRICT_CODES, DISTRICTS, multiple=True),
            codes("domain", DOMAIN_CODES, DOMAIN),
            codes("qualification", [k.value for k in QualificationKind], t("资质类型", "Qualification type")),
            query("q", KEYWORDS, {"type": "string"}),
            codes("sort", ENTERPRISE_SORTS, SORT),
            *page_params(ENTERPRISES_PER_PAGE, 20)],
        ok=list_of("EnterpriseSummary"))},
    "/enterprises/{profile_id}": {"get": operation(
        t("一家企业的公开档案", "A firm's public profile"),
        t("未通过核验的企业返回 404。", "A firm that is not verified is a 404."),
        tag="enterprises", operation_id="getEnterprise",
        parameters=[path_id("profile_id", t("企业档案 id", "Firm profile id"))], ok=ref("EnterpriseDetail"),
        errors=(404,))},
    "/search": {"get": operation(
        t("全站搜索", "Site search"),
        t("场景、企业和示范项目；参数与 /search 页面相同。",
          "Scenarios, firms and demonstration projects; the same parameters as the /search page."),
        tag="search", operation_id="search",
        parameters=[
            query("q", t("关键词", "Keywords"), {"type": "string", "maxLength": MAX_QUERY_CHARS}),
            codes("type", search.DOC_TYPES, t("结果类型，可重复", "Result type, repeatable"), multiple=True),
            codes("district", DISTRICT_CODES, DISTRICTS, multiple=True),
            codes("domain", DOMAIN_CODES, t("产业领域代码，可重复", "Industry domain code, repeatable"), multiple=True),
            codes("status", SEARCH_STATUSES, t(
                "场景状态，可重复（open = 征集中，closed = 已截止，published = 两者，publicity = 公示中，"
                "awarded = 已揭榜且结果已生效）",
                "Scenario status, repeatable (open = accepting applications, closed = deadline passed, published = "
                "both, publicity = award in its public notice, awarded = award final)"), multiple=True),
            codes("theme", THEME_CODES, t("应用主题代码，可重复", "Application theme code, repeatable"), multiple=True),
            query("batch", t("批次 id", "Batch id"), integer(1, INT32)),
            codes("budget", [band.label for band in search.BUDGET_BANDS], t("预算区间", "Budget range")),
            codes("sort", search.SORTS, SORT),
            *page_params(search.MAX_PER_PAGE, 20)],
        ok=ref("SearchResults"))},
    "/publicity": {"get": operation(
        t("揭榜结果公示", "Award notices (public notice period)"),
        t("公示中、已期满和已撤销的公示，最新在前；只给出异议件数，不公开异议人。",
          "Running, ended and withdrawn notices, newest first; only the number of objections, never the "
          "objectors."),
        tag="scenarios", operation_id="listPublicity",
        parameters=[codes("status", NOTICE_STATES, t("公示状态：open 公示中，ended 公示期满，withdrawn 已撤销",
                                                     "Notice status: open (running), ended, withdrawn")),
                    codes("district", DISTRICT_CODES, DISTRICT),
                    *page_params(PUBLICITY_PER_PAGE, 20)],
        ok=list_of("PublicityNotice"))},
    "/demonstrations": {"get": operation(
        t("已发布的示范项目", "Published demonstration projects"),
        t("按年份、区县、领域和关键词筛选。", "Filter by year, district, domain and keywords."),
        tag="showcase", operation_id="listDemonstrations",
        parameters=[
            query("year", t("评选年份", "Selection year"), integer(2000, 2100)),
            codes("district", DISTRICT_CODES, DISTRICT),
            codes("domain", DOMAIN_CODES, DOMAIN),
            query("q", KEYWORDS, {"type": "string"}),
            *page_params(DEMONSTRATIONS_PER_PAGE, 20)],
        ok=list_of("Demonstration"))},
    "/appraisals/{year}": {"get": operation(
        t("已发布的年度考评结果", "A published annual appraisal"),
        t("未发布（或草稿）的年度返回 404。", "A year not published (or a draft) is a 404."),
        tag="showcase", operation_id="getAppraisal",
        parameters=[{"name": "year", "in": "path", "required": True, "description": t("年度", "Year"),
                     "schema": integer(1, INT32)}],
        ok=ref("Appraisal"), errors=(404,))},
    "/statistics": {"get": operation(
        t("公开场景的统计数", "Counts of public scenarios"),
        t("只有计数，不含资金和企业；公示中的揭榜结果单列为 publicity，不计入 awarded。",
          "Counts only, no funding or firms; awards still in their public notice are counted as publicity, "
          "not as awarded."),
        tag="statistics", operation_id="getStatistics",
        parameters=[query("year", YEAR, integer(statistics.YEAR_MIN, statistics.YEAR_MAX)),
                    codes("district", DISTRICT_CODES, DISTRICT)],
        ok=ref("Statistics"))},
    "/ocds/releases": {"get": operation(
        t("OCDS release package（最新在前）", "OCDS release package (newest first)"),
        t("每个公开场景（及发布后撤回的场景）的每次发布（招标、变更、答疑、截止、结果、合同、实施、验收、撤回）各是一个 release；"
          "since / until 按 release 日期筛选（ISO 8601 日期或时间，不带时区按北京时间）；"
          "links.next 指向下一页。字段对照见 /open-data。",
          "Every event of every public scenario, and of every scenario withdrawn after publication (tender, "
          "amendment, clarification, deadline, award, contract, implementation, acceptance, withdrawal) is one "
          "release; since / until filter on the release date (ISO 8601 date "
          "or time, Beijing time when no offset is given); links.next points to the next page. The field "
          "mapping is on /open-data."),
        tag="open data", operation_id="listOcdsReleases",
        parameters=[
            query("since", t("起始时间（含）", "From (inclusive)"), {"type": "string", "format": "date-time"}),
            query("until", t("截止时间（含）", "Until (inclusive)"), {"type": "string", "format": "date-time"}),
            query("page", t("页码（从 1 开始）", "Page number (from 1)"), integer(1, release_query.MAX_PAGE)),
            query("per_page", t(f"每页条数（默认 {release_query.MAX_PER_PAGE}）",
                                f"Items per page (default {release_query.MAX_PER_PAGE})"),
                  integer(1, release_query.MAX_PER_PAGE))],
        ok=ref("OcdsReleasePackage"))},
    "/ocds/records/{ocid}": {"get": operation(
        t("一个合同过程的 OCDS record package", "The OCDS record package of one contracting process"),
        t("全部 release（最早在前）与 compiledRelease。", "Every release (oldest first) and the compiledRelease."),
        tag="open data", operation_id="getOcdsRecord",
        parameters=[{"name": "ocid", "in": "path", "required": True,
                     "description": t("ocds-<前缀>-<场景 id>", "ocds-<prefix>-<scenario id>"),
                     "schema": {"type": "string", "maxLength": 100, "pattern": NO_NUL}}],
        ok=ref("OcdsRecordPackage"), errors=(404,))},
    "/ocds/bulk": {"get": operation(
        t("按年份的批量下载文件", "Bulk download files by year"),
        t("有公开场景的年份（按首次发布的北京时间年份）。",
          "The years with public scenarios (by the Beijing-time year of first publication)."),
        tag="open data", operation_id="listOcdsBulkFiles", ok=ref("OcdsBulkFiles"), errors=())},
    "/ocds/bulk/{year}.jsonl.gz": {"get": operation(
        t("某年的 compiled release（JSON Lines，gzip）", "A year's compiled releases (JSON Lines, gzip)"),
        t("每行一个 compiled release。", "One compiled release per line."), tag="open data",
        operation_id="getOcdsBulkJsonl", media="application/gzip",
        parameters=[{"name": "year", "in": "path", "required": True, "description": YEAR,
                     "schema": integer(2000, 2100)}],
        ok={"type": "string", "contentMediaType": "application/gzip"}, errors=(404,))},
    "/ocds/bulk/{year}.csv": {"get": operation(
        t("某年的主要字段（CSV，UTF-8 带 BOM）", "A year's main fields (CSV, UTF-8 with BOM)"),
        t("每个合同过程一行；列见 /open-data。", "One row per contracting process; the columns are on /open-data."),
        tag="open data", operation_id="getOcdsBulkCsv", media="text/csv",
        parameters=[{"name": "year", "in": "path", "required": True, "description": YEAR,
                     "schema": integer(2000, 2100)}],
        ok={"type": "string"}, errors=(404,))},
    "/openapi.json": {"get": operation(
        t("本 API 的 OpenAPI 3.1 描述", "This API's OpenAPI 3.1 description"),
        t("即本文档；默认中文，lang=en 给出英文版（不带 lang 时随网站所选语言）。",
          "This document; Chinese by default, English with lang=en (without lang, the language chosen on the "
          "site)."),
        tag="meta", operation_id="getOpenApi",
        parameters=[codes("lang", LANGUAGES, t("文档语言：zh_CN 中文，en 英文", "Language: zh_CN Chinese, en English"))],
        ok={"type": "object"}, errors=(400,))},
}


def _error_response(status: int) -> dict[str, Any]:
    response: dict[str, Any] = {"description": ERROR_DESCRIPTIONS[status],
                                "content": {"application/json": {"schema": ref("Error")}}}
    if status in ALWAYS:
        response["headers"] = {"Retry-After": {
            "description": t("重试前等待的秒数", "Seconds to wait before retrying"), "required": True,
            "schema": {"type": "integer", "minimum": 0}}}
    return response


def spec(language: str | None = None) -> dict[str, Any]:
    """The OpenAPI 3.1 document (absolute server URL of this site) in ``language`` ("en" or Chinese), by
    default the request's language."""
    document = {
        "openapi": "3.1.0",
        "info": {
            "title": t("应用场景揭榜平台 API", "Application Scenario Marketplace API"),
            "version": API_VERSION,
            "description": t(
                "只读 JSON API：公开的应用场景、企业名录、示范项目、考评结果、统计和 OCDS 开放数据。"
                "金额为万元的十进制字符串（OCDS 中为人民币元），时间为 ISO 8601 北京时间（+08:00）。"
                "错误统一为 {\"error\": {\"status\", \"message\", \"fields\"}}。"
                "其他网站的网页可以直接读取不需要登录的接口（CORS：匿名 GET 的应答带 Access-Control-Allow-Origin: *，"
                "并回答预检 OPTIONS；从不带凭据）；带登录 Cookie 或 Authorization 的请求和需要登录的接口的应答不带该头。",
                "Read-only JSON API: public application scenarios, the firm directory, demonstration projects, "
                "appraisal results, statistics and OCDS open data. Amounts are decimal strings in units of 10,000 "
                "yuan (yuan in OCDS), times ISO 8601 in Beijing time (+08:00). Every error is "
                "{\"error\": {\"status\", \"message\", \"fields\"}}. Web pages on other sites may read the endpoints "
                "that need no sign-in (CORS: anonymous GET answers carry Access-Control-Allow-Origin: *, and preflight "
                "OPTIONS requests are answered; never with credentials); answers to requests with the session cookie or "
                "Authorization, and endpoints that need sign-in, do not carry it."),
            "license": {"name": t("开放数据许可见 /open-data", "Open data licence: see /open-data"),
                        "url": url_for("opendata.index", _external=True)},
        },
        "servers": [{"url": url_for("api.openapi_json", _external=True).rsplit("/openapi.json", 1)[0]}],
        "paths": PATHS,
        "components": {
            "schemas": SCHEMAS,
            "responses": {f"Error{status}": _error_response(status) for status in ERROR_DESCRIPTIONS},
            "securitySchemes": {"session": {"type": "apiKey", "in": "cookie", "name": "session",
                                            "description": t("登录网站后的会话 Cookie",
                                                             "The session cookie of a signed-in user")}},
        },
    }
    return localised(document, language or request_language() or "zh")


# The /api/docs page (area ``opendata``) renders the same document; it finds it here, per app, without
# importing the api package (which imports opendata).
bp.record_once(lambda state: state.app.extensions.setdefault("openapi_spec", spec))


@bp.route("/openapi.json")
@open_to_other_sites
def openapi_json():
    """This API's OpenAPI 3.1 description, in the request's language or the one ``lang`` asks for."""
    lang = request.args.get("lang") or None
    if lang is not None and lang not in LANGUAGES:
        message = _("未知的语言：%(v)s（可用：%(ok)s）", v=lang[:20], ok="、".join(LANGUAGES))
        raise BadParameters(message, {"lang": [message]})
    return jsonify(spec("en" if lang == "en" else "zh" if lang else None))
