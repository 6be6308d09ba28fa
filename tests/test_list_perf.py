"""The shortcuts that make the uncached list page cheap give exactly what the slow paths gave."""

from __future__ import annotations

from decimal import Decimal

from flask import url_for


def test_query_url_matches_url_for(app):
    from marketplace.paging import query_url

    cases = [{}, {"page": None}, {"district": ["yuzhong", "jiangbei"], "q": "智慧 交通/a&b", "sort": "deadline"},
             {"budget_min": Decimal("1.50"), "page": 3, "status": None}, {"q": "a+b=c?d#e", "batch": 7}]
    with app.test_request_context("/scenarios", base_url="http://localhost/mounted"):
        base = url_for("scenarios.index")
        assert base == "/mounted/scenarios"
        for args in cases:
            assert query_url(base, args) == url_for("scenarios.index", **args)


def test_id_url_matches_url_for(app):
    from marketplace.paging import id_url

    with app.test_request_context("/scenarios"):
        detail, batch = id_url("scenarios.detail", "scenario_id"), id_url("scenarios.batch", "batch_id")
        for n in (1, 42, 2**31 - 1):
            assert detail(n) == url_for("scenarios.detail", scenario_id=n)
            assert batch(n) == url_for("scenarios.batch", batch_id=n)


def test_cards_show_what_the_scenario_holds(client, make_scenario):
    scenario = make_scenario(title="<b>标题</b>", summary="摘要 & 说明")
    html = client.get("/scenarios").get_data(as_text=True)
    assert f'data-scenario-id="{scenario.id}"' in html
    assert f'href="/scenarios/{scenario.id}">&lt;b&gt;标题&lt;/b&gt;</a>' in html  # escaped, linked
    assert "摘要 &amp; 说明" in html
    assert "<strong>350.00</strong>" in html
    assert f'href="/batches/{scenario.batches[0].id}"' in html
    assert 'data-status="published"' in html


def test_filter_choices_follow_committed_changes(app, client, make_scenario):
    """The per-process copy of the filter lists is keyed by the data version: a new batch shows at once."""
    from marketplace.extensions import db
    from marketplace.models import Batch

    make_scenario()
    client.get("/scenarios")
    batch = db.session.query(Batch).first()
    batch.name = "改名后的批次清单"
    db.session.commit()
    assert "改名后的批次清单" in client.get("/scenarios").get_data(as_text=True)


def test_navigation_follows_the_role(client, make_user, login):
    anonymous = client.get("/scenarios").get_data(as_text=True)
    assert 'data-nav="scenarios">场景清单' in anonymous and 'data-nav="users"' not in anonymous
    login(make_user("city_staff"))
    staff = client.get("/scenarios").get_data(as_text=True)
    assert 'data-nav="users"' in staff and 'data-nav="scenarios">场景清单' in staff


def test_list_page_in_english(client, make_scenario):
    """Navigation, filter names and card labels come in the visitor's language (cached per language)."""
    make_scenario()
    client.get("/lang/en")  # the first request of this test (tests share one app context, so Babel's locale)
    html = client.get("/scenarios").get_data(as_text=True)
    assert 'data-nav="scenarios">Scenarios' in html
    assert 'for="d-yuzhong">Yuzhong District' in html
