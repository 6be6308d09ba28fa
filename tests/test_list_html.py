"""Issue 13, second pass: the parts of ``/scenarios`` rendered in Python give the markup the Jinja they
replace gave (the old template text is kept here as the reference), values escaped; the site header and
footer kept for anonymous visitors are the ones rendered for them, and signed-in users get their own."""

from __future__ import annotations

from collections import namedtuple
from decimal import Decimal

import pytest

from tests.conftest import PASSWORD, make_test_app

Row = namedtuple("Row", "id name")

#: templates/scenarios/index.html before the form, tabs and sort links moved to scenarios/list_html.py.
OLD_FORM = """    <form method="get" id="filters" aria-label="{{ _('筛选') }}">
      <div class="mb-3"><label class="form-label" for="q">{{ _('关键词') }}</label>
        <input class="form-control" id="q" name="q" value="{{ filters.q or '' }}" placeholder="{{ _('如：智慧交通') }}"></div>
      <fieldset class="mb-3"><legend class="form-label fs-6">{{ _('区县（可多选）') }}</legend>
        {% for code, name in choices.labels.districts %}
        <div class="form-check"><input class="form-check-input" type="checkbox" name="district" value="{{ code }}" id="d-{{ code }}"{% if code in filters.districts %} checked{% endif %}>
          <label class="form-check-label" for="d-{{ code }}">{{ name }}</label></div>
        {% endfor %}
      </fieldset>
      <div class="mb-3"><label class="form-label" for="domain">{{ _('产业领域') }}</label>
        <select class="form-select" id="domain" name="domain"><option value="">{{ _('全部') }}</option>
        {% for code, name in choices.labels.domains %}<option value="{{ code }}"{% if code == filters.domain %} selected{% endif %}>{{ name }}</option>{% endfor %}</select></div>
      <div class="mb-3"><label class="form-label" for="theme">{{ _('应用主题') }}</label>
        <select class="form-select" id="theme" name="theme"><option value="">{{ _('全部') }}</option>
        {% for code, name in choices.labels.themes %}<option value="{{ code }}"{% if code == filters.theme %} selected{% endif %}>{{ name }}</option>{% endfor %}</select></div>
      <div class="mb-3"><label class="form-label" for="batch">{{ _('批次') }}</label>
        <select class="form-select" id="batch" name="batch" aria-describedby="batch-help"><option value="">{{ _('全部') }}</option>
        {% for b in choices.batches %}<option value="{{ b.id }}"{% if b.id == filters.batch %} selected{% endif %}>{{ b.name }}</option>{% endfor %}</select>
        <div class="form-text" id="batch-help">{{ _('批次按“征集一批、开发一批、拓展一批”滚动发布。') }} <a href="{{ url_for('scenarios.batches') }}#stages">{{ _('阶段说明') }}</a></div></div>
      <div class="row g-2 mb-3">
        <div class="col"><label class="form-label" for="budget_min">{{ _('预算下限') }}</label><input class="form-control" id="budget_min" name="budget_min" inputmode="decimal" value="{{ filters.budget_min if filters.budget_min is not none else '' }}"></div>
        <div class="col"><label class="form-label" for="budget_max">{{ _('预算上限') }}</label><input class="form-control" id="budget_max" name="budget_max" inputmode="decimal" value="{{ filters.budget_max if filters.budget_max is not none else '' }}"></div>
      </div>
      <div class="mb-3"><label class="form-label" for="due_within">{{ _('截止时间在 N 天内') }}</label>
        <input class="form-control" id="due_within" name="due_within" type="number" min="1" value="{{ filters.due_within or '' }}"></div>
      <input type="hidden" name="status" value="{{ filters.status or '' }}">
      <input type="hidden" name="sort" value="{{ filters.sort }}">
      <button class="btn btn-primary w-100" type="submit">{{ _('筛选') }}</button>
      <a class="btn btn-link w-100" href="{{ list_url }}">{{ _('清除筛选') }}</a>
    </form>"""
NEW_FORM = "    {{ filter_form(choices, filters, list_url, url_for('scenarios.batches')) }}"

OLD_TABS = """    <ul class="nav nav-pills mb-3 flex-wrap" aria-label="{{ _('按状态') }}">
      <li class="nav-item"><a class="nav-link{% if not filters.status %} active{% endif %}" href="{{ query_url(list_url, filters.args(status=None, page=None)) }}">{{ _('全部') }} <span class="badge text-bg-light">{{ counts.values()|sum }}</span></a></li>
      {% for key, label in [('open', _('征集中')), ('closed', _('已截止')), ('publicity', _('公示中')), ('awarded', _('已揭榜')), ('in_delivery', _('实施中')), ('accepted', _('已验收')), ('unsuccessful', _('流榜'))] %}
      <li class="nav-item"><a class="nav-link{% if filters.status == key %} active{% endif %}" data-status-filter="{{ key }}" href="{{ query_url(list_url, filters.args(status=key, page=None)) }}">{{ label }} <span class="badge text-bg-light">{{ counts[key] }}</span></a></li>
      {% endfor %}
    </ul>
      <div class="small">{{ _('排序') }}：
        {% for key, label in [('newest', _('最新发布')), ('deadline', _('截止时间')), ('budget', _('预算金额'))] %}
        <a href="{{ query_url(list_url, filters.args(sort=key, page=None)) }}" class="{{ 'fw-bold' if filters.sort == key else '' }}">{{ label }}</a>{% if not loop.last %} · {% endif %}
        {% endfor %}
      </div>"""
NEW_TABS = """    {{ status_tabs(list_url, filters, counts) }}
      <div class="small">{{ _('排序') }}：
        {{ sort_links(list_url, filters) }}
      </div>"""

CHOICES = {
    "labels": {"districts": [("yuzhong", "渝中区"), ("jiangbei", "江北<区>"), ("a&b", 'quote"d')],
               "domains": [("ai", "人工智能"), ("x<y", "a & b")], "themes": [("smart_city", "智慧城市")]},
    "batches": [Row(3, "2026 第一批"), Row(1, "<script>")],
}
FILTERS = [
    {},
    {"district": ["yuzhong", "a&b"], "status": "open", "sort": "deadline"},
    {"q": '<b>"智慧"</b>', "budget_min": "10", "budget_max": "500.5", "due_within": "30"},
    {"domain": "ai", "theme": "smart_city", "batch": "1", "status": "unsuccessful", "sort": "budget", "page": "3"},
]


def _filters(values):
    from werkzeug.datastructures import MultiDict

    from marketplace.scenarios.listing import ScenarioFilters

    args = MultiDict()
    for key, value in values.items():
        for item in value if isinstance(value, list) else [value]:
            args.add(key, item)
    filters = ScenarioFilters(
        districts=args.getlist("district"), domain=args.get("domain"), theme=args.get("theme"),
        status=args.get("status"), batch=int(args["batch"]) if "batch" in args else None, q=args.get("q"),
        budget_min=Decimal(args["budget_min"]) if "budget_min" in args else None,
        budget_max=Decimal(args["budget_max"]) if "budget_max" in args else None,
        due_within=int(args["due_within"]) if "due_within" in args else None, sort=args.get("sort", "newest"))
    return filters


@pytest.mark.parametrize("lang", ["zh_CN", "en"])
@pytest.mark.parametrize("values", FILTERS)
def test_filter_form_tabs_and_sort_links_match_the_jinja_they_replace(app, lang, values):
    from flask import session, url_for
    from flask_babel import refresh

    counts = {"open": 3, "closed": 1, "publicity": 2, "awarded": 0, "in_delivery": 2, "accepted": 5, "unsuccessful": 1}
    with app.test_request_context("/scenarios"):
        session["lang"] = lang
        refresh()  # Flask-Babel keeps the locale in g, which an application context left pushed shares
        context = {"choices": CHOICES, "filters": _filters(values), "counts": counts,
                   "list_url": url_for("scenarios.index")}
        for old, new in ((OLD_FORM, NEW_FORM), (OLD_TABS, NEW_TABS)):
            expected = app.jinja_env.from_string(old).render(context)
            assert app.jinja_env.from_string(new).render(context) == expected
        assert ("按状态" in expected) == (lang == "zh_CN")


def test_filter_form_escapes_values(app):
    from marketplace.scenarios.list_html import filter_form

    with app.test_request_context("/scenarios"):
        html = filter_form(CHOICES, _filters(FILTERS[2]), "/scenarios", "/batches")
    assert "<script>" not in html and "&lt;script&gt;" in html and "&lt;b&gt;&#34;智慧&#34;&lt;/b&gt;" in html
    assert 'value="10"' in html and 'value="500.5"' in html and 'value="30"' in html


OLD_PAGER = ("{% from '_macros.html' import pager %}"
             "{{ pager(current, pages, 'scenarios.index', args) }}")
NEW_PAGER = "{{ pager_markup(current, pages, url_for('scenarios.index'), args) }}"


@pytest.mark.parametrize("lang", ["zh_CN", "en"])
def test_pager_markup_matches_the_pager_macro(app, lang):
    from flask import session
    from flask_babel import refresh

    with app.test_request_context("/scenarios"):
        session["lang"] = lang
        refresh()  # Flask-Babel keeps the locale in g, which an application context left pushed shares
        for pages in (0, 1, 2, 3, 7, 30):
            for current in sorted({1, 2, 3, 5, pages - 1, pages, 15} - {0, -1}):
                if current > max(pages, 1):
                    continue
                for args in ({}, {"district": ["yuzhong", "a&b"], "q": "<x>", "sort": "deadline"}):
                    context = {"current": current, "pages": pages, "args": args}
                    assert (app.jinja_env.from_string(NEW_PAGER).render(context)
                            == app.jinja_env.from_string(OLD_PAGER).render(context)), (pages, current, args)


def _header(html: str) -> str:
    return html[html.index("<header>"):html.index("</header>")]


def test_the_kept_header_and_footer_are_per_language_and_page(app, database_url, tmp_path, make_user):
    app = make_test_app(database_url, tmp_path)  # its own application context: the language is not kept in g
    client = app.test_client()
    anonymous = client.get("/scenarios").get_data(as_text=True)
    assert " active" in _header(anonymous)
    assert client.get("/scenarios").get_data(as_text=True) == anonymous  # from the kept fragments
    batches = client.get("/batches").get_data(as_text=True)
    assert _header(batches) != _header(anonymous)  # another page: another active link
    client.get("/lang/en")
    english = client.get("/scenarios").get_data(as_text=True)
    assert _header(english) != _header(anonymous)
    assert "登录" not in _header(english)
    user = make_user("enterprise")
    signed_in = app.test_client()
    signed_in.post("/auth/login", data={"email": user.email, "password": PASSWORD})
    mine = signed_in.get("/scenarios").get_data(as_text=True)
    assert user.name in _header(mine) and 'name="csrf_token"' in _header(mine)
    assert user.name not in _header(client.get("/scenarios").get_data(as_text=True))


def test_the_search_page_header_repeats_the_query(client):
    client.get("/lang/zh_CN")
    assert 'value="路灯"' in _header(client.get("/search?q=路灯").get_data(as_text=True))
    assert 'value="桥梁"' in _header(client.get("/search?q=桥梁").get_data(as_text=True))


def test_card_text_escaping_is_markupsafe_escaping():
    from markupsafe import Markup, escape

    from marketplace.scenarios.cards import _text

    for value in ["", "普通文本", "<script>alert('x')</script>", 'a & b "c" <d> \'e\'', "&amp;", Markup("<b>ok</b>"), 12]:
        assert str(_text(value)) == str(escape(value))
