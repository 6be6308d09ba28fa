"""Every page in English (issue 15 done-when): crawl every GET page as each role and as an anonymous visitor
over the demo data set with the English locale, take the visible text (text nodes outside scripts and
styles, plus the placeholder, title, aria-label and alt attributes) and collect every run of CJK characters.

Each run must be *data*: a substring of some text value stored in the database (names, titles, bodies stay
Chinese), or one of a few allowed interface words (the language switcher's "中文"). Anything else is
interface text that was not translated: wrap it in ``_()`` and translate it.

Reuses the demo database and the route crawl of :mod:`tests.test_get_never_writes`, fewer ids per route.
"""

from __future__ import annotations

import json
import re
from html.parser import HTMLParser

import pytest
import sqlalchemy as sa

from tests.test_get_never_writes import ACCOUNTS, DEMO_PASSWORD, _candidates, _urls


def _allowed() -> set[str]:
    """Chinese on purpose in every language: the language switcher's name of Chinese, the column names of the
    scenario import spreadsheet (the file's headers, matched as written), the sample searches (the data is
    Chinese) and the configured OCDS publisher name."""
    from marketplace.scenarios.importer import COLUMNS
    from marketplace.search_views import SUGGESTIONS

    words = {"中文", "简体中文", "重庆市应用场景揭榜平台", *SUGGESTIONS}
    for column in COLUMNS:
        words.update(CJK_RUN.findall(column.header))
    return words

#: Not pages: the language switch (a redirect). The API reference (``opendata.api_docs``) is crawled like any
#: page: marketplace/api/openapi.py holds its descriptions in both languages.
SKIPPED = {"main.set_language"}
#: Pages tried per route (the crawl of test_get_never_writes tries up to six).
PER_ENDPOINT = 1
#: A run of CJK ideographs: CJK punctuation ends a run, so a translated label next to Chinese data
#: ("Technical approach：方案完整") leaves only the data.
CJK_RUN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+")
VISIBLE_ATTRIBUTES = ("placeholder", "title", "aria-label", "alt")


class _VisibleText(HTMLParser):
    """The text a reader sees (or hears): text nodes outside script/style, and a few attributes."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._hidden = 0

    def handle_starttag(self, tag, attrs):
        if tag in ("script", "style", "template"):
            self._hidden += 1
        for name, value in attrs:
            if name in VISIBLE_ATTRIBUTES and value:
                self.parts.append(value)

    def handle_endtag(self, tag):
        if tag in ("script", "style", "template") and self._hidden:
            self._hidden -= 1

    def handle_data(self, data):
        if not self._hidden and data.strip():
            self.parts.append(data)


def visible_texts(html: str) -> list[str]:
    parser = _VisibleText()
    parser.feed(html)
    parser.close()
    return parser.parts


def cjk_runs(text: str) -> list[str]:
    """Runs of CJK ideographs."""
    return CJK_RUN.findall(text)


def stored_text(engine) -> str:
    """Every string (and JSON) value of every row of every table, joined: what counts as data."""
    from marketplace.extensions import db

    values: list[str] = []
    with engine.connect() as conn:
        for table in db.metadata.sorted_tables:
            columns = [c for c in table.columns
                       if isinstance(c.type, (sa.String, sa.Text, sa.JSON)) or _python_type(c) in (str, dict, list)]
            if not columns:
                continue
            for row in conn.execute(sa.select(*columns)):
                for value in row:
                    if isinstance(value, str):
                        values.append(value)
                    elif value is not None:
                        values.append(json.dumps(value, ensure_ascii=False, default=str))
    return "\n".join(values)


def _python_type(column) -> type | None:
    try:
        return column.type.python_type
    except NotImplementedError:
        return None


def _english_urls(app, candidates) -> list[tuple[str, str]]:
    kept: dict[str, list[str]] = {}
    for endpoint, url in _urls(app, candidates):
        if endpoint.startswith("api.") or endpoint in SKIPPED:
            continue
        urls = kept.setdefault(endpoint, [])
        if len(urls) < PER_ENDPOINT:
            urls.append(url)
    return [(endpoint, url) for endpoint, urls in kept.items() for url in urls]


def _english_page(client, url: str) -> str | None:
    """The page's HTML in English, or None for a redirect, an error or a download. Some pages start a new
    session (a refused e-mail confirmation link, for instance), forgetting the language: choose it again."""
    for _attempt in range(2):
        response = client.get(url)
        html = response.get_data(as_text=True) if response.mimetype == "text/html" else None
        response.close()
        if response.status_code != 200 or html is None:
            return None
        if '<html lang="en"' in html:
            return html
        client.get("/lang/en")
    raise AssertionError(f"{url} is not in English")


@pytest.fixture(scope="module")
def stored(demo_app):
    from marketplace.extensions import db

    with demo_app.app_context():
        text = stored_text(db.engine)
        db.session.remove()
    return text


@pytest.mark.parametrize("principal", ["anonymous", *ACCOUNTS])
def test_every_page_in_english_has_no_untranslated_interface_text(demo_app, stored, principal):
    from marketplace.extensions import db

    with demo_app.app_context():
        urls = _english_urls(demo_app, _candidates(db.session))
        db.session.remove()
    # Requests run outside any pushed app context: within one, every request would share ``g`` (and
    # Flask-Babel's cached locale of the first request).
    allowed = _allowed()
    client = demo_app.test_client()
    assert client.get("/lang/en").status_code in (302, 303)  # before signing in: the welcome is flashed then
    if principal != "anonymous":
        response = client.post("/auth/login", data={"email": ACCOUNTS[principal], "password": DEMO_PASSWORD})
        assert response.status_code == 302
    untranslated: dict[str, set[str]] = {}
    pages = 0
    for endpoint, url in urls:
        html = _english_page(client, url)
        if html is None:
            continue
        pages += 1
        for text in visible_texts(html):
            for run in cjk_runs(text):
                if run not in allowed and run not in stored:
                    untranslated.setdefault(run, set()).add(endpoint)
    report = sorted((run, sorted(endpoints)[:3]) for run, endpoints in untranslated.items())
    assert report == [], "\n".join(f"{run!r}: {endpoints}" for run, endpoints in report)
    assert pages > 10
