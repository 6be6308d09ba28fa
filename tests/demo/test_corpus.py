"""The demo corpus: deterministic, large enough, varied and internally consistent (no app, no database)."""

from __future__ import annotations

import random
import re
from collections import Counter
from decimal import Decimal

import pytest

from marketplace.demo import corpus
from marketplace.demo.corpus_orgs import DISTRICTS, DOMAINS, THEMES, is_valid_uscc

SEED = 2025


@pytest.fixture(scope="module")
def data():
    rng = random.Random(SEED)
    owners = corpus.owner_organisations(rng, n=48)
    firms = corpus.software_firms(rng, n=320)
    scenarios = corpus.scenario_texts(rng, n=200)
    return owners, firms, scenarios


def _sentences(text: str) -> set[str]:
    """Sentences of ``text`` split on 。； and line breaks, without list numbering."""
    out = set()
    for part in re.split(r"[。；\n]", text):
        part = re.sub(r"^\s*(\d+[.、]\s*|不包括：)", "", part).strip()
        if len(part) >= 6:
            out.add(part)
    return out


def _max_share(records: list[str]) -> tuple[str, float]:
    counts: Counter[str] = Counter()
    for text in records:
        counts.update(_sentences(text))
    sentence, count = counts.most_common(1)[0]
    return sentence, count / len(records)


def test_same_seed_same_output():
    def build(seed: int):
        rng = random.Random(seed)
        owners = corpus.owner_organisations(rng, n=48)
        firms = corpus.software_firms(rng, n=60)
        scenarios = corpus.scenario_texts(rng, n=60)
        qa = corpus.questions_and_answers(rng, scenarios[0], 3)
        app = corpus.application_texts(rng, scenarios[1], firms[0])
        demo = corpus.demonstration_texts(rng, scenarios[2], firms[1])
        return owners, firms, scenarios, qa, app, demo

    assert build(7) == build(7)
    assert build(7)[2] != build(8)[2]


def test_counts_and_uniqueness(data):
    owners, firms, scenarios = data
    assert len(owners) >= 40
    assert len(firms) >= 300
    assert len({f["name"] for f in firms}) == len(firms)
    assert all(is_valid_uscc(o["uscc"]) for o in owners)
    assert all(is_valid_uscc(f["uscc"]) for f in firms)
    assert len(scenarios) >= 150
    assert len({s["title"] for s in scenarios}) == len(scenarios)
    assert {s["domain"] for s in scenarios} == set(DOMAINS)
    assert {s["theme"] for s in scenarios} == set(THEMES)


def test_every_district_has_firms(data):
    _, firms, _ = data
    assert {f["district"] for f in firms} == set(DISTRICTS)


def test_scenario_text_is_varied(data):
    _, _, scenarios = data
    texts = ["\n".join(s[k] for k in ("summary", "description", "boundary", "requirements", "acceptance", "outcomes"))
             for s in scenarios]
    sentence, share = _max_share(texts)
    assert share <= 0.03, (sentence, share)


def test_firm_capabilities_are_varied(data):
    _, firms, _ = data
    sentence, share = _max_share([f["capabilities"] for f in firms])
    assert share <= 0.03, (sentence, share)


def test_scenario_fields(data):
    _, _, scenarios = data
    for s in scenarios:
        assert Decimal(s["budget_wan"]) > 0
        assert 20 <= Decimal(s["budget_wan"]) <= 3000
        assert re.fullmatch(r"\d+\.\d\d", s["budget_wan"])
        assert 3 <= s["delivery_months"] <= 24
        assert s["funding_source"] in ("fiscal", "soe_own", "social", "mixed")
        assert s["owner_hint"] in ("government", "soe")
        if s["funding_source"] == "soe_own":
            assert s["owner_hint"] == "soe"
        if s["mode"] == "horse_race":
            assert s["teams"] in (2, 3)
        else:
            assert s["mode"] == "open_call" and s["teams"] is None
        assert "不包括：" in s["boundary"]
        assert re.search(r"\d", s["acceptance"])
    horse = sum(s["mode"] == "horse_race" for s in scenarios)
    assert 0.05 * len(scenarios) <= horse <= 0.3 * len(scenarios)
    budgets = sorted(Decimal(s["budget_wan"]) for s in scenarios)
    assert 50 <= budgets[len(budgets) // 2] <= 500


def test_questions_and_answers(data):
    _, _, scenarios = data
    rng = random.Random(1)
    for s in scenarios[:24]:
        pairs = corpus.questions_and_answers(rng, s, 3)
        assert len(pairs) == 3
        assert len({q for q, _ in pairs}) == 3
        assert all(q and a for q, a in pairs)
    # The seed command passes only the title and the domain.
    pairs = corpus.questions_and_answers(rng, {"title": scenarios[0]["title"], "domain": scenarios[0]["domain"]}, 2)
    assert len(pairs) == 2


def test_application_and_demonstration(data):
    _, firms, scenarios = data
    rng = random.Random(2)
    for s, f in zip(scenarios[:30], firms[:30], strict=True):
        app = corpus.application_texts(rng, s, f)
        price = Decimal(app["price_wan"])
        budget = Decimal(s["budget_wan"])
        assert price > 0
        assert budget * Decimal("0.69") <= price <= budget * Decimal("1.06")
        assert 3 <= len(app["team"]) <= 6
        assert all(set(member) == {"name", "role", "specialty"} for member in app["team"])
        offsets = [m for _, m in app["milestones"]]
        assert offsets == sorted(offsets) and offsets[-1] == s["delivery_months"]
        assert app["summary"] and app["approach"] and app["plan"]
        demo = corpus.demonstration_texts(rng, s, f)
        assert set(demo) == {"problem", "solution", "outcomes", "highlights"}
        assert re.search(r"\d", demo["outcomes"])


def test_uscc_check_char():
    assert corpus.uscc_check_char("91350100M000100Y4") == "3"
    assert is_valid_uscc("91350100M000100Y43")
    assert not is_valid_uscc("91350100M000100Y44")
    code = corpus.make_uscc(random.Random(3), "91", "500112")
    assert is_valid_uscc(code)
