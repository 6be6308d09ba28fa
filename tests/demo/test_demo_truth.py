"""The demo reads true (issue 15 item 9): owners publish scenarios of their own sector, every published batch
lists published scenarios, no generated text doubles a word, and every demonstration case has its own picture."""

from __future__ import annotations

import random
from collections import Counter

import pytest
import sqlalchemy as sa

from marketplace.demo import corpus
from marketplace.demo.corpus_orgs import SECTORS_BY_OWNER
from marketplace.demo.corpus_scenarios import TOPICS, all_topics, undouble
from marketplace.demo.pictures import case_picture
from marketplace.models import Batch, Demonstration, Scenario, ScenarioStatus


def _topic_core(title: str) -> str:
    """The topic a seeded title was made from: the longest topic core it starts with."""
    cores = [core for core in corpus.SECTORS_BY_TOPIC if title.startswith(core)]
    assert cores, f"no topic for title {title!r}"
    return max(cores, key=len)


# ---------------------------------------------------------------------- the corpus alone


def test_every_topic_has_sectors_some_owner_holds():
    cores = {raw.split("|")[0] for raws in TOPICS.values() for raw in raws}
    assert cores == set(corpus.SECTORS_BY_TOPIC)
    held = {sector for sectors in SECTORS_BY_OWNER.values() for sector in sectors}
    assert {s for sectors in corpus.SECTORS_BY_TOPIC.values() for s in sectors} <= held
    assert all(corpus.SECTORS_BY_TOPIC[t["core"]] == t["sectors"] for t in all_topics())


@pytest.mark.parametrize("owner, unfit", [("重庆市大渡口区人民医院", "新能源汽车BMS电池采样芯片联合开发"),
                                          ("重庆市医疗保障局", "车路协同示范道路")])
def test_the_reported_misfits_do_not_fit(owner, unfit):
    assert not set(SECTORS_BY_OWNER[owner]) & set(corpus.SECTORS_BY_TOPIC[unfit])
    assert unfit not in {t["core"] for t in corpus.topics_for(SECTORS_BY_OWNER[owner])}


@pytest.mark.parametrize("seed", [1, 2025, 77])
def test_generated_texts_never_double_a_word(seed):
    for record in corpus.scenario_texts(random.Random(seed), n=400):
        assert corpus.doubled_word(record["title"]) is None, record["title"]
        for field in ("summary", "description", "boundary", "requirements", "acceptance", "outcomes"):
            assert undouble(record[field]) == record[field], record[field]


def test_doubled_word_detection():
    assert corpus.doubled_word("零信任远程办公接入体系建设建设") == "建设建设"
    assert corpus.doubled_word("数字人民币智慧食堂应用应用示范") == "应用应用"
    assert corpus.doubled_word("零信任远程办公接入体系建设") is None
    assert undouble("提升居家养老服务服务的便利度") == "提升居家养老服务的便利度"
    assert undouble("移动政务服务服务的便利度") == "移动政务服务的便利度"


def test_case_pictures_differ_by_title_and_figures():
    a = case_picture("汽车零部件数字化车间", "industrial_internet", [(300.0, 280.0), (12.0, 11.0)])
    b = case_picture("汽车零部件数字化车间（二期）", "industrial_internet", [(300.0, 280.0), (12.0, 11.0)])
    c = case_picture("汽车零部件数字化车间", "industrial_internet", [(300.0, 150.0), (12.0, 11.0)])
    assert a.startswith(b"\x89PNG") and len({a, b, c}) == 3


# ---------------------------------------------------------------------- the seeded demo


def test_every_owner_publishes_scenarios_of_its_own_sector(demo_app):
    from marketplace.extensions import db

    with demo_app.app_context():
        scenarios = db.session.execute(sa.select(Scenario)).scalars().all()
        assert len(scenarios) >= 150
        misfits = []
        for s in scenarios:
            topic = corpus.SECTORS_BY_TOPIC[_topic_core(s.title)]
            if not set(SECTORS_BY_OWNER[s.owner.name]) & set(topic):
                misfits.append((s.owner.name, s.title))
            assert s.district_id == s.owner.district_id
            if not s.owner.uscc.startswith("9"):  # departments, hospitals and universities spend public money
                assert s.funding_source.value != "soe_own", s.title
                assert "公司" not in s.description and "集团本部" not in s.description, s.description
        assert misfits == []
        # The demo owner still sees scenarios in every state.
        demo_owner = db.session.execute(sa.text(
            "SELECT organisation_id FROM users WHERE email = 'owner@demo.cq'")).scalar_one()
        states = {s.status for s in scenarios if s.owner_id == demo_owner}
        assert {ScenarioStatus.DRAFT, ScenarioStatus.SUBMITTED, ScenarioStatus.RETURNED, ScenarioStatus.PUBLISHED,
                ScenarioStatus.ACCEPTED} <= states


def test_every_published_batch_lists_published_scenarios(demo_app):
    from marketplace.extensions import db

    with demo_app.app_context():
        batches = db.session.execute(sa.select(Batch)).scalars().all()
        assert len(batches) >= 10
        empty = [b.name for b in batches if not any(s.status in ScenarioStatus.public() for s in b.scenarios)]
        assert empty == []
        names = Counter(b.name for b in batches)
        assert [n for n, k in names.items() if k > 1] == []
        for b in batches:  # a district list holds only its own district's scenarios
            if b.district_id is not None:
                assert all(s.district_id == b.district_id for s in b.scenarios), b.name


def test_seeded_titles_and_summaries_have_no_doubled_word(demo_app):
    from marketplace.extensions import db

    with demo_app.app_context():
        for s in db.session.execute(sa.select(Scenario)).scalars():
            assert corpus.doubled_word(s.title) is None, s.title
            first_sentence = s.description.split("。")[0]
            assert undouble(first_sentence) == first_sentence, first_sentence
            assert undouble(s.summary) == s.summary, s.summary


def test_every_demonstration_has_its_own_picture(demo_app):
    from marketplace.attachments import IMAGE_TYPES
    from marketplace.extensions import db

    with demo_app.app_context():
        demos = db.session.execute(sa.select(Demonstration)).scalars().all()
        assert len(demos) >= 12
        hashes = []
        for d in demos:
            images = [a for a in d.media if a.content_type in IMAGE_TYPES]
            assert images, d.title
            hashes.extend(a.sha256 for a in images)
        assert len(hashes) == len(set(hashes))


def test_batch_stages_are_explained_where_they_show(demo_app):
    from marketplace.extensions import db

    with demo_app.app_context():
        batch = db.session.execute(sa.select(Batch).order_by(Batch.published_on.desc()).limit(1)).scalar_one()
        scenario = batch.scenarios[0]
        batch_id, scenario_id = batch.id, scenario.id
    client = demo_app.test_client()
    listing = client.get("/batches").get_data(as_text=True)
    assert 'id="stages"' in listing and "征集一批、开发一批、拓展一批" in listing
    for text in ("征集：正在征集需求", "开发：已确定揭榜企业", "拓展：已建成交付"):
        assert text in listing
    assert 'class="batch-stage" title="' in listing
    page = client.get(f"/batches/{batch_id}").get_data(as_text=True)
    assert "征集：正在征集需求、面向软件企业公开揭榜的场景清单。" in page and "/batches#stages" in page
    detail = client.get(f"/scenarios/{scenario_id}").get_data(as_text=True)
    assert 'class="batch-stage" title="征集：' in detail
    scenarios = client.get("/scenarios").get_data(as_text=True)
    assert 'id="batch-help"' in scenarios and "/batches#stages" in scenarios
    client.get("/lang/en")
    english = client.get("/batches").get_data(as_text=True)
    assert "collect a batch, develop a batch, expand a batch" in english
    assert "Expand: the scenarios have been delivered" in english
