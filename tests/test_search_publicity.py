"""The site search (``/search``, ``/api/v1/search``) and 公示: an award whose notice is pending is a hit, a
status facet value and a filter of its own (公示中, ``publicity``), apart from the final 已揭榜 (``awarded``),
as on the scenario list; the index follows notices and objections, and the clock ends the notice without
re-indexing."""

from datetime import timedelta
from urllib.parse import quote

import pytest
from flask_babel import refresh

from marketplace import search
from marketplace.applications import decisions, publicity
from marketplace.extensions import db
from marketplace.models import PublicityNotice, Scenario, User
from marketplace.search import sync
from tests.conftest import ON_POSTGRES, make_test_app
from tests.test_evaluation import closed_scenario, make_application, sign_in, travel
from tests.test_publicity import GROUNDS, _objector, in_publicity

#: Fixtures shared with the evaluation and publicity tests (pytest finds them as names of this module).
SHARED_FIXTURES = (closed_scenario, in_publicity, make_application, sign_in, travel)


def _award(in_publicity, title):
    """An award in 公示 on a scenario with a title of its own (the test database is shared)."""
    scenario, owner, winner, others, notice = in_publicity(n=2)
    scenario.title = title
    db.session.commit()
    return scenario, owner, others, notice


def _search(client, word, extra=""):
    return client.get(f"/api/v1/search?type=scenario&q={quote(word)}{extra}").get_json()


def _found(client, word, extra=""):
    return [(item["id"], item["status"]) for item in _search(client, word, extra)["items"]]


def _in_sync(scenario):
    report = sync.check(db.session, search.get_backend())
    return ("scenario", scenario.id) not in {*report.missing, *report.stale, *report.orphaned}


def test_facet_and_filter_count_publicity_apart_until_the_notice_ends(in_publicity, client, travel):
    scenario, _owner, _others, notice = _award(in_publicity, "长江鲟鱼增殖放流监测")
    body = _search(client, "鲟鱼")
    assert [(i["id"], i["status"]) for i in body["items"]] == [(scenario.id, "publicity")]
    assert body["facets"]["status"] == [{"value": "publicity", "label": "公示中", "count": 1}]
    assert _found(client, "鲟鱼", "&status=publicity") == [(scenario.id, "publicity")]
    assert _found(client, "鲟鱼", "&status=awarded") == []
    page = client.get(f"/search?type=scenario&q={quote('鲟鱼')}&status=publicity").get_data(as_text=True)
    assert page.count("公示中") >= 2  # the facet value (selected) and the hit's badge
    assert _in_sync(scenario)

    travel(notice.ends_at + timedelta(seconds=1))  # no re-indexing: the clock ends the notice
    body = _search(client, "鲟鱼", "&status=awarded")
    assert [(i["id"], i["status"]) for i in body["items"]] == [(scenario.id, "awarded")]
    assert body["facets"]["status"] == [{"value": "awarded", "label": "已揭榜", "count": 1}]
    assert _found(client, "鲟鱼", "&status=publicity") == []
    assert _in_sync(scenario)


def test_the_facet_value_is_translated(in_publicity, client):
    _award(in_publicity, "长江江豚栖息地巡护")
    refresh()  # (the tests share one application context: forget the locale the award's notifications used)
    try:
        client.get("/lang/en")
        page = client.get(f"/search?type=scenario&q={quote('江豚')}&status=publicity").get_data(as_text=True)
        body = _search(client, "江豚")
    finally:
        refresh()
    assert '<html lang="en"' in page and "Under public notice" in page and "公示中" not in page
    assert body["facets"]["status"] == [{"value": "publicity", "label": "Under public notice", "count": 1}]


def test_an_undecided_objection_keeps_the_hit_in_publicity_until_dismissed(in_publicity, make_user, client, travel):
    scenario, _owner, _others, notice = _award(in_publicity, "嘉陵江消落带生态修复")
    objection = publicity.file_objection(db.session, _objector(make_user), notice, GROUNDS)
    db.session.commit()
    travel(notice.ends_at + timedelta(days=3))
    assert _found(client, "消落带") == [(scenario.id, "publicity")]
    assert _found(client, "消落带", "&status=publicity") == [(scenario.id, "publicity")]
    staff = make_user("district_staff", district=scenario.district.code)
    publicity.decide_objection(db.session, staff, objection, "dismissed", "经核查，报价合理，团队无重叠。")
    db.session.commit()
    assert _found(client, "消落带", "&status=awarded") == [(scenario.id, "awarded")]
    assert _found(client, "消落带", "&status=publicity") == []
    assert _in_sync(scenario)


def test_a_withdrawn_notice_leaves_publicity_and_a_new_award_enters_it(in_publicity, make_user, client):
    scenario, owner, others, notice = _award(in_publicity, "三峡库区岸线无人机巡查")
    objection = publicity.file_objection(db.session, _objector(make_user), notice, GROUNDS)
    db.session.commit()
    staff = make_user("district_staff", district=scenario.district.code)
    publicity.decide_objection(db.session, staff, objection, "upheld", "经核查，第一名报价低于成本且未作说明。")
    db.session.commit()
    assert _found(client, "岸线") == [(scenario.id, "closed")]  # back to evaluation, its call closed
    assert _found(client, "岸线", "&status=publicity") == []
    decisions.award(db.session, owner, scenario, others[0].id)
    db.session.commit()
    assert _found(client, "岸线", "&status=publicity") == [(scenario.id, "publicity")]
    assert _in_sync(scenario)


@pytest.mark.skipif(not ON_POSTGRES, reason="the PostgreSQL search backend needs PostgreSQL")
def test_the_postgres_backend_counts_and_filters_publicity(app, in_publicity, make_user, travel, tmp_path):
    """``search_entries.publicity_until`` (migration 0017) filled by a reindex and kept by the commit hooks."""
    scenario, _owner, _others, notice = _award(in_publicity, "武陵山区古树名木数字档案")
    scenario_id, notice_id = scenario.id, notice.id
    objector_id = _objector(make_user).id
    staff_id = make_user("district_staff", district=scenario.district.code).id
    pg_app = make_test_app(app.config["SQLALCHEMY_DATABASE_URI"], tmp_path, SEARCH_BACKEND="postgres")
    with pg_app.app_context():  # (its own session: objects are loaded again)
        backend = search.get_backend()
        try:
            sync.reindex(db.session, backend)
            client = pg_app.test_client()
            body = _search(client, "古树名木", "&status=publicity")
            assert [(i["id"], i["status"]) for i in body["items"]] == [(scenario_id, "publicity")]
            assert body["facets"]["status"] == [{"value": "publicity", "label": "公示中", "count": 1}]
            notice = db.session.get(PublicityNotice, notice_id)
            objection = publicity.file_objection(db.session, db.session.get(User, objector_id), notice, GROUNDS)
            db.session.commit()  # (written to the PostgreSQL index by the commit hooks)
            travel(notice.ends_at + timedelta(days=1))
            assert _found(client, "古树名木", "&status=publicity") == [(scenario_id, "publicity")]
            publicity.decide_objection(db.session, db.session.get(User, staff_id), objection, "dismissed",
                                       "经核查，异议理由不成立。")
            db.session.commit()
            assert _found(client, "古树名木", "&status=awarded") == [(scenario_id, "awarded")]
            assert _found(client, "古树名木", "&status=publicity") == []
            assert _in_sync(db.session.get(Scenario, scenario_id))
        finally:
            backend.clear()
            db.session.remove()


def test_a_reindex_reads_the_notices_in_bulk(in_publicity):
    """The reindex loads every scenario's notices with the scenarios: no query per award."""
    import sqlalchemy as sa

    from marketplace.indexing import _scenarios, scenario_document

    def statements():
        count = 0

        def counted(*_args):
            nonlocal count
            count += 1

        sa.event.listen(db.engine, "before_cursor_execute", counted)
        try:
            db.session.expire_all()
            docs = [scenario_document(s) for s in db.session.scalars(_scenarios())]
        finally:
            sa.event.remove(db.engine, "before_cursor_execute", counted)
        return count, sum(d.publicity_until is not None for d in docs)

    _award(in_publicity, "乌江画廊航道整治")
    before, awards = statements()
    _award(in_publicity, "大宁河小三峡栈道修复")
    assert statements() == (before, awards + 1)
