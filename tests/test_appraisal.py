"""The district appraisal: indicator computations on a hand-built data set, the reward rule, freezing,
pages, export, API and who may see what."""

from __future__ import annotations

import io
import random
from datetime import UTC, date, datetime
from decimal import Decimal
from fractions import Fraction

import pytest

from marketplace.appraisal.computation import (
    Period,
    allocate_rewards,
    competition_ranks,
    normalise,
)
from marketplace.showcase.facts import add_months
from tests.confirm_support import post_confirmed
from tests.conftest import ON_POSTGRES
from tests.races import second_waits_for_first

ROLES = ["owner", "enterprise", "district_staff", "city_staff", "expert"]


# ====================================================================== pure rules

def test_add_months_clamps_to_month_end():
    assert add_months(date(2025, 1, 31), 1) == date(2025, 2, 28)
    assert add_months(date(2024, 1, 31), 1) == date(2024, 2, 29)
    assert add_months(date(2025, 4, 20), 6) == date(2025, 10, 20)
    assert add_months(date(2025, 11, 15), 3) == date(2026, 2, 15)


def test_period_bounds_are_local_midnights():
    from marketplace.models import AppraisalPeriod

    annual = Period(2025, AppraisalPeriod.ANNUAL)
    assert annual.start_utc == datetime(2024, 12, 31, 16, 0, tzinfo=UTC)
    assert annual.end_utc == datetime(2025, 12, 31, 16, 0, tzinfo=UTC)
    half = Period(2025, AppraisalPeriod.HALF_YEAR)
    assert half.has_date(date(2025, 6, 30)) and not half.has_date(date(2025, 7, 1))


def test_normalise_is_share_of_the_maximum():
    assert normalise({1: Fraction(3), 2: Fraction(2), 3: Fraction(0)}) == {1: 1, 2: Fraction(2, 3), 3: 0}
    assert normalise({1: Fraction(0), 2: Fraction(0)}) == {1: 0, 2: 0}


def test_ties_share_a_rank_and_the_next_is_skipped():
    ranks = competition_ranks({"a": Decimal("80"), "b": Decimal("70"), "c": Decimal("70"), "d": Decimal("60")})
    assert ranks == {"a": 1, "b": 2, "c": 2, "d": 4}


def test_rewards_proportional_when_nobody_reaches_the_cap():
    scores = {"a": Decimal("60"), "b": Decimal("40"), "c": Decimal("10")}
    ranks = competition_ranks(scores)
    rewards = allocate_rewards(scores, ranks, top_n=2, pool_yuan=1_000_000, cap_yuan=5_000_000)
    assert rewards == {"a": 600_000, "b": 400_000, "c": 0}


def test_capped_excess_is_shared_again_among_the_others():
    scores = {"a": Decimal("90"), "b": Decimal("60"), "c": Decimal("30")}
    ranks = competition_ranks(scores)
    rewards = allocate_rewards(scores, ranks, top_n=3, pool_yuan=12_000_000, cap_yuan=5_000_000)
    # a: 12M × 90/180 = 6M > cap → 5M; then 7M between b and c 2:1; b's 4.67M is under the cap.
    assert rewards["a"] == 5_000_000
    assert rewards["b"] == 7_000_000 * 60 // 90
    assert rewards["c"] == 7_000_000 * 30 // 90
    assert sum(rewards.values()) <= 12_000_000


def test_redistribution_can_cap_a_second_district():
    scores = {"a": Decimal("50"), "b": Decimal("45"), "c": Decimal("5")}
    ranks = competition_ranks(scores)
    rewards = allocate_rewards(scores, ranks, top_n=3, pool_yuan=10_000_000, cap_yuan=4_000_000)
    # a: 5M → cap; 6M left: b 6M × 45/50 = 5.4M → cap; 2M left all to c.
    assert rewards == {"a": 4_000_000, "b": 4_000_000, "c": 2_000_000}


def test_when_everyone_is_capped_the_rest_stays_unallocated():
    scores = {"a": Decimal("50"), "b": Decimal("50")}
    rewards = allocate_rewards(scores, competition_ranks(scores), top_n=5, pool_yuan=30_000_000, cap_yuan=5_000_000)
    assert rewards == {"a": 5_000_000, "b": 5_000_000}


def test_tied_scores_get_equal_rewards_and_a_tie_at_rank_n_is_included():
    scores = {"a": Decimal("80"), "b": Decimal("50"), "c": Decimal("50"), "d": Decimal("20")}
    ranks = competition_ranks(scores)
    rewards = allocate_rewards(scores, ranks, top_n=2, pool_yuan=1_000_001, cap_yuan=5_000_000)
    assert rewards["b"] == rewards["c"] > 0  # both tied at rank 2 share in the top 2
    assert rewards["d"] == 0
    assert sum(rewards.values()) <= 1_000_001


def test_zero_scores_and_an_empty_pool_get_nothing():
    scores = {"a": Decimal("0"), "b": Decimal("0")}
    assert allocate_rewards(scores, competition_ranks(scores), 5, 1_000_000, 5_000_000) == {"a": 0, "b": 0}
    scores = {"a": Decimal("10")}
    assert allocate_rewards(scores, competition_ranks(scores), 5, 0, 5_000_000) == {"a": 0}


def test_random_allocations_never_break_the_cap_or_the_pool():
    rng = random.Random(7)
    for _ in range(400):
        n = rng.randint(1, 11)
        scores = {k: Decimal(rng.randint(0, 10000)) / 100 for k in range(n)}
        if rng.random() < 0.3 and n > 1:
            scores[1] = scores[0]  # a tie
        ranks = competition_ranks(scores)
        pool, cap, top_n = rng.randint(0, 60_000_000), rng.randint(1, 8_000_000), rng.randint(1, 11)
        rewards = allocate_rewards(scores, ranks, top_n, pool, cap)
        assert all(isinstance(v, int) and 0 <= v <= cap for v in rewards.values())
        assert sum(rewards.values()) <= pool
        for a in scores:
            for b in scores:
                if scores[a] == scores[b]:
                    assert rewards[a] == rewards[b]
                if ranks[a] > top_n or scores[a] == 0:
                    assert rewards[a] == 0


# ====================================================================== the hand-built data set

def utc(*args) -> datetime:
    return datetime(*args, tzinfo=UTC)


@pytest.fixture
def award(app):
    """``award(scenario, firm, decided=None, price=None, contract=None, accepted=None)`` adds delivery records."""
    from marketplace.extensions import db
    from marketplace.models import Acceptance, AcceptanceResult, Application, ApplicationStatus, Contract

    def make(scenario, firm, decided=None, price=None, contract=None, accepted=None, result="passed"):
        application = Application(scenario=scenario, organisation=firm, status=ApplicationStatus.SELECTED,
                                  decided_at=decided, price_wan=Decimal(price) if price else None)
        db.session.add(application)
        if contract:
            db.session.add(Contract(scenario=scenario, application=application, signed_on=contract[0],
                                    amount_wan=Decimal(contract[1])))
        if accepted:
            db.session.add(Acceptance(scenario=scenario, accepted_on=accepted, result=AcceptanceResult(result)))
        db.session.commit()
        return application

    return make


@pytest.fixture
def dataset(make_scenario, make_org, award):
    """Known data for 2025 in 渝中 (A…), 渝北 (B…) and 江北 (C…); the docstring of each line says why it counts."""
    from marketplace.extensions import db
    from marketplace.models import Demonstration, DemonstrationReuse

    firm_yz = make_org("software_enterprise", district="yuzhong", name="渝中软件公司")
    firm_yb = make_org("software_enterprise", district="yubei", name="渝北软件公司")
    s = {}
    # A1: published in 2025, local winner, contract 100, 6 months from 2025-04-20, accepted on the due day.
    s["A1"] = make_scenario("accepted", district="yuzhong", title="A1 渝中已验收", published_at=utc(2025, 3, 1),
                            delivery_months=6)
    award(s["A1"], firm_yz, decided=utc(2025, 4, 10, 2), contract=(date(2025, 4, 20), "100.00"),
          accepted=date(2025, 10, 20))
    # A2: awarded to a firm of another district, no contract: the quoted 50 counts.
    s["A2"] = make_scenario("awarded", district="yuzhong", title="A2 渝中已揭榜", published_at=utc(2025, 5, 1))
    award(s["A2"], firm_yb, decided=utc(2025, 6, 1, 2), price="50.00")
    # A3: published at 2025-01-01 00:00 Beijing time → in 2025.  A4: one second earlier → in 2024.
    s["A3"] = make_scenario("published", district="yuzhong", title="A3 元旦零点", published_at=utc(2024, 12, 31, 16))
    s["A4"] = make_scenario("published", district="yuzhong", title="A4 除夕", published_at=utc(2024, 12, 31, 15, 59, 59))
    # A5: withdrawn after publication → not counted.
    s["A5"] = make_scenario("withdrawn", district="yuzhong", title="A5 已撤回", published_at=utc(2025, 4, 1))
    # B1: local winner, contract 300 signed 2025-03-10 for 3 months → due 2025-06-10; accepted 2025-07-01: late.
    s["B1"] = make_scenario("accepted", district="yubei", title="B1 渝北逾期验收", published_at=utc(2025, 2, 1),
                            delivery_months=3)
    award(s["B1"], firm_yb, decided=utc(2025, 3, 1, 2), contract=(date(2025, 3, 10), "300.00"),
          accepted=date(2025, 7, 1))
    # B2: awarded in December 2024 → not an award of 2025.
    s["B2"] = make_scenario("in_delivery", district="yubei", title="B2 渝北去年揭榜", published_at=utc(2025, 2, 2))
    award(s["B2"], firm_yb, decided=utc(2024, 12, 20, 2), contract=(date(2024, 12, 28), "40.00"))
    # C1: no decision date, so the contract date (2025-06-15) is the award date; firm of 渝中 → not local;
    # accepted in 2026 → not in 2025's on-time count.
    s["C1"] = make_scenario("accepted", district="jiangbei", title="C1 江北", published_at=utc(2025, 6, 1),
                            delivery_months=12)
    award(s["C1"], firm_yz, contract=(date(2025, 6, 15), "80.00"), accepted=date(2026, 1, 5))
    # Demonstrations: A1's published in 2025 (counts for 渝中), B1's in 2026 (does not).
    demo_a1 = Demonstration(scenario=s["A1"], year=2025, title="A1 示范", published_at=utc(2025, 9, 26, 2))
    demo_b1 = Demonstration(scenario=s["B1"], year=2025, title="B1 示范", published_at=utc(2026, 1, 10, 2))
    db.session.add_all([demo_a1, demo_b1])
    db.session.flush()
    # Reuse: C1 (江北) adopted A1's demonstration in 2025 → 江北 1; B2 (渝北) in 2026 → not counted.
    db.session.add(DemonstrationReuse(demonstration=demo_a1, scenario=s["C1"], owner_id=s["C1"].owner_id,
                                      created_at=utc(2025, 11, 1)))
    db.session.add(DemonstrationReuse(demonstration=demo_a1, scenario=s["B2"], owner_id=s["B2"].owner_id,
                                      created_at=utc(2026, 2, 1)))
    db.session.commit()
    return s


@pytest.fixture
def make_appraisal(app, make_user):
    """``make_appraisal(year=2025, period='annual', pool=12_000_000, top_n=3, **weights)`` → draft Appraisal."""
    from marketplace.appraisal import computation, services
    from marketplace.extensions import db

    city = make_user("city_staff")

    def make(year=2025, period="annual", pool="12000000", cap="5000000", top_n=3, **weights):
        data = {"year": year, "period": period, "reward_pool_yuan": pool, "cap_yuan": cap, "top_n": top_n}
        data.update({f"w_{i.code}": str(i.default_weight) for i in computation.INDICATORS})
        data.update({f"w_{k}": v for k, v in weights.items()})
        appraisal = services.create_appraisal(db.session, city, data)
        db.session.commit()
        return appraisal

    make.city = city
    return make


def _line(outcome, code):
    return outcome.for_district(code)


def test_indicators_on_the_hand_built_data(dataset, make_appraisal):
    from marketplace.appraisal import computation
    from marketplace.extensions import db

    outcome = computation.compute(db.session, make_appraisal())
    yz, yb, jb = (_line(outcome, c) for c in ("yuzhong", "yubei", "jiangbei"))
    raw = {code: [line.indicators[code]["raw"] for line in (yz, yb, jb)] for code in yz.indicators}
    assert raw == {
        "published": ["3", "2", "1"],
        "awarded": ["2", "1", "1"],
        "funding": ["150.00", "300.00", "80.00"],
        "local_share": ["0.500000", "1.000000", "0.000000"],
        "on_time": ["1", "0", "0"],
        "demonstrations": ["1", "0", "0"],
        "reuse": ["0", "0", "1"],
    }
    assert yb.indicators["published"]["normalised"] == "0.666667"
    assert jb.indicators["funding"]["normalised"] == "0.266667"
    # 72.5 = 15 + 20 + 20×0.5 + 15×0.5 + 10 + 10;  55 = 15×2/3 + 20×0.5 + 20 + 15;  30.33 = 5 + 10 + 20×4/15 + 10
    assert (yz.score, yb.score, jb.score) == (Decimal("72.50"), Decimal("55.00"), Decimal("30.33"))
    assert (yz.rank, yb.rank, jb.rank) == (1, 2, 3)
    others = [line for line in outcome.results if line.district.code not in ("yuzhong", "yubei", "jiangbei")]
    assert len(outcome.results) == 11 and len(others) == 8
    assert all(line.score == 0 and line.rank == 4 and line.reward_yuan == 0 for line in others)
    # Rewards: 渝中 capped at 5M; 7M shared 55 : 30.33 and floored.
    assert yz.reward_yuan == 5_000_000
    assert yb.reward_yuan == 7_000_000 * 5500 // 8533
    assert jb.reward_yuan == 7_000_000 * 3033 // 8533
    assert outcome.total_reward_yuan + outcome.unallocated_yuan == 12_000_000
    assert outcome.unallocated_yuan == 7_000_000 - yb.reward_yuan - jb.reward_yuan == 1  # the floored fractions


def test_evidence_names_the_scenarios_behind_each_number(dataset, make_appraisal):
    from marketplace.appraisal import computation
    from marketplace.extensions import db

    outcome = computation.compute(db.session, make_appraisal())
    yz, yb = _line(outcome, "yuzhong"), _line(outcome, "yubei")

    def ids(line, code, counted=True):
        return sorted(e["scenario_id"] for e in line.evidence[code] if e["counted"] == counted)

    s = dataset
    assert ids(yz, "published") == sorted([s["A1"].id, s["A2"].id, s["A3"].id])
    assert ids(yz, "awarded") == sorted([s["A1"].id, s["A2"].id])
    assert ids(yz, "local_share") == [s["A1"].id] and ids(yz, "local_share", False) == [s["A2"].id]
    assert ids(yb, "on_time") == [] and ids(yb, "on_time", False) == [s["B1"].id]
    assert ids(yz, "demonstrations") == [s["A1"].id]
    assert ids(_line(outcome, "jiangbei"), "reuse") == [s["C1"].id]
    funding = {e["scenario_id"]: e["value"] for e in yz.evidence["funding"]}
    assert funding[s["A2"].id].startswith("50.00")


def test_half_year_covers_january_to_june(dataset, make_appraisal):
    from marketplace.appraisal import computation
    from marketplace.extensions import db

    outcome = computation.compute(db.session, make_appraisal(period="half_year"))
    yz, yb = _line(outcome, "yuzhong"), _line(outcome, "yubei")
    assert yz.indicators["published"]["raw"] == "3"
    assert yz.indicators["awarded"]["raw"] == "2"
    # A1 was accepted in October and B1 on 1 July: neither falls in the first half.
    assert yz.indicators["on_time"]["raw"] == "0" and yb.evidence["on_time"] == []
    assert yz.indicators["demonstrations"]["raw"] == "0"


def test_weights_of_zero_leave_an_indicator_out(dataset, make_appraisal):
    from marketplace.appraisal import computation
    from marketplace.extensions import db

    appraisal = make_appraisal(published="50", awarded="50", funding="0", local_share="0", on_time="0",
                               demonstrations="0", reuse="0")
    assert [i.code for i in appraisal.indicators] == ["published", "awarded"]
    outcome = computation.compute(db.session, appraisal)
    # 渝中 50 + 50; 渝北 50×2/3 + 50×1/2 = 58.33; 江北 50×1/3 + 25 = 41.67
    assert [str(_line(outcome, c).score) for c in ("yuzhong", "yubei", "jiangbei")] == ["100.00", "58.33", "41.67"]


# ====================================================================== freezing

def test_publication_freezes_the_results(dataset, make_appraisal, make_scenario, client):
    from marketplace.appraisal import computation, services
    from marketplace.extensions import db
    from marketplace.models import AppraisalResult

    appraisal = make_appraisal()
    published = services.publish_appraisal(db.session, make_appraisal.city, appraisal)
    db.session.commit()
    before = [(r.district.code, r.indicators, r.score, r.rank, r.reward_yuan) for r in published.results]
    api_before = client.get("/api/v1/appraisals/2025").get_json()

    # Later data changes: a new scenario published in 2025 in 江北, and a published scenario withdrawn.
    make_scenario("published", district="jiangbei", title="后来补录", published_at=utc(2025, 8, 1))
    make_scenario("published", district="jiangbei", title="后来补录二", published_at=utc(2025, 8, 2))
    dataset["A3"].status = dataset["A3"].status.WITHDRAWN
    db.session.commit()

    db.session.expire_all()
    frozen = computation.outcome(db.session, appraisal)
    assert frozen.frozen
    assert [(r.district.code, r.indicators, r.score, r.rank, r.reward_yuan) for r in frozen.results] == before
    assert client.get("/api/v1/appraisals/2025").get_json() == api_before
    # A live computation would now differ — proof that the stored figures are what is shown.
    live = computation.compute(db.session, appraisal)
    assert live.for_district("jiangbei").indicators["published"]["raw"] == "3"
    assert frozen.for_district("jiangbei").indicators["published"]["raw"] == "1"
    assert db.session.query(AppraisalResult).filter_by(appraisal_id=appraisal.id).count() == 11


def test_a_published_appraisal_cannot_be_edited_or_published_again(dataset, make_appraisal):
    from marketplace.appraisal import services
    from marketplace.errors import InvalidTransition
    from marketplace.extensions import db

    appraisal = make_appraisal()
    services.publish_appraisal(db.session, make_appraisal.city, appraisal)
    db.session.commit()
    with pytest.raises(InvalidTransition):
        services.publish_appraisal(db.session, make_appraisal.city, appraisal)
    with pytest.raises(InvalidTransition):
        services.update_appraisal(db.session, make_appraisal.city, appraisal, {"year": 2025, "top_n": 3,
                                                                              "reward_pool_yuan": "1"})


def test_publication_is_audited(dataset, make_appraisal):
    from marketplace.appraisal import services
    from marketplace.extensions import db
    from marketplace.models import AuditEvent

    appraisal = make_appraisal()
    services.publish_appraisal(db.session, make_appraisal.city, appraisal)
    db.session.commit()
    actions = [e.action for e in db.session.query(AuditEvent).filter_by(object_type="appraisal").order_by(AuditEvent.id)]
    assert actions == ["appraisal.create", "appraisal.publish"]


# ====================================================================== validation

@pytest.mark.parametrize(("changes", "field", "message"), [
    ({"w_reuse": "5"}, "weights", "权重之和必须为 100"),
    ({"w_reuse": "-1"}, "w_reuse", "权重应在 0–100 之间"),
    ({"w_reuse": "abc"}, "w_reuse", "权重必须是数字"),
    ({"reward_pool_yuan": "1.5"}, "reward_pool_yuan", "整数"),
    ({"reward_pool_yuan": "很多"}, "reward_pool_yuan", "必须是数字"),
    ({"cap_yuan": "0"}, "cap_yuan", "必须大于 0"),
    ({"top_n": 12}, "top_n", "1–11"),
    ({"year": 1999}, "year", "2000–2100"),
])
def test_bad_settings_are_refused_with_field_messages(app, make_user, changes, field, message):
    from marketplace.appraisal import computation, services
    from marketplace.errors import ValidationFailed
    from marketplace.extensions import db

    data = {"year": 2025, "period": "annual", "reward_pool_yuan": "1000000", "cap_yuan": "5000000", "top_n": 3}
    data.update({f"w_{i.code}": str(i.default_weight) for i in computation.INDICATORS})
    data.update(changes)
    with pytest.raises(ValidationFailed) as error:
        services.create_appraisal(db.session, make_user("city_staff"), data)
    assert message in " ".join(error.value.field_errors[field])


def test_one_appraisal_per_year_and_period(make_appraisal):
    from marketplace.errors import ValidationFailed

    make_appraisal()
    with pytest.raises(ValidationFailed) as error:
        make_appraisal()
    assert "year" in error.value.field_errors
    make_appraisal(period="half_year")  # a half-year evaluation of the same year is fine


# ====================================================================== pages, export, API

def _form(**changes):
    from marketplace.appraisal.computation import INDICATORS

    data = {"year": "2025", "period": "annual", "name": "", "reward_pool_wan": "1200.00", "cap_wan": "500.00",
            "top_n": "3", "note": ""}
    data.update({f"w_{i.code}": str(i.default_weight) for i in INDICATORS})
    data.update(changes)
    return data


def test_the_form_shows_every_problem_in_one_round(client, make_user, login):
    """A year out of range hid the other problems (a pool and a weight that are not numbers): they appeared
    only after the year was corrected and the form sent again."""
    from marketplace.extensions import db
    from marketplace.models import Appraisal

    login(make_user("city_staff"))
    html = client.post("/appraisals/new", data=_form(year="1800", reward_pool_wan="很多", w_reuse="abc")
                       ).get_data(as_text=True)
    assert "2000–2100" in html and "奖励资金总额必须是数字" in html and "权重必须是数字" in html
    assert db.session.query(Appraisal).count() == 0


def test_city_staff_create_publish_and_export_through_the_pages(dataset, client, make_user, login):
    import openpyxl

    from marketplace.extensions import db
    from marketplace.models import Appraisal

    login(make_user("city_staff"))
    response = client.post("/appraisals/new", data=_form(w_reuse="20"))
    assert response.status_code == 422
    assert "权重之和必须为 100（当前为 110）" in response.get_data(as_text=True)
    assert db.session.query(Appraisal).count() == 0

    response = client.post("/appraisals/new", data=_form())
    assert response.status_code == 302
    appraisal = db.session.query(Appraisal).one()
    assert appraisal.name == "2025年度中心城区应用场景建设考评"
    page = client.get(f"/appraisals/{appraisal.id}").get_data(as_text=True)
    assert "实时计算" in page and "500.00 万元" in page and "1,200.00 万元" in page
    assert f"/appraisals/{appraisal.id}/evidence/yuzhong/published" in page

    evidence = client.get(f"/appraisals/{appraisal.id}/evidence/yuzhong/awarded").get_data(as_text=True)
    assert "A1 渝中已验收" in evidence and "A2 渝中已揭榜" in evidence and "A3 元旦零点" not in evidence
    assert client.get(f"/appraisals/{appraisal.id}/evidence/yuzhong/nonsense").status_code == 404
    assert client.get(f"/appraisals/{appraisal.id}/evidence/nowhere/published").status_code == 404

    assert post_confirmed(client, f"/appraisals/{appraisal.id}/publish").status_code == 302
    db.session.expire_all()
    assert db.session.get(Appraisal, appraisal.id).is_published
    again = client.post(f"/appraisals/{appraisal.id}/publish")  # refused: 303 back, with the reason
    assert again.status_code == 303 and again.headers["Location"].endswith(f"/appraisals/{appraisal.id}")
    assert "考评已发布。" in client.get(again.headers["Location"]).get_data(as_text=True)
    page = client.get(f"/appraisals/{appraisal.id}").get_data(as_text=True)
    assert "已冻结" in page and "发布并冻结结果" not in page
    assert client.get(f"/appraisals/{appraisal.id}/edit").status_code == 302

    response = client.get(f"/appraisals/{appraisal.id}/export.xlsx")
    assert response.status_code == 200
    book = openpyxl.load_workbook(io.BytesIO(response.data))
    ranking = book["排名"]
    rows = list(ranking.iter_rows(min_row=4, values_only=True))
    assert rows[0][0] == 1 and rows[0][1] == "渝中区" and rows[0][-1] == Decimal("500.00")  # 万元
    evidence_rows = list(book["证据"].iter_rows(min_row=2, values_only=True))
    assert any(r[0] == "江北区" and r[2] == dataset["C1"].id for r in evidence_rows)

    printable = client.get(f"/appraisals/{appraisal.id}/print").get_data(as_text=True)
    assert "no-print" in printable and "证据清单" in printable and "A1 渝中已验收" in printable


@pytest.mark.parametrize("role", [r for r in ROLES if r != "city_staff"])
def test_only_city_staff_reach_the_appraisal(dataset, make_appraisal, client, make_user, login, role):
    appraisal = make_appraisal()
    login(make_user(role))
    for path in ("/appraisals", "/appraisals/new", f"/appraisals/{appraisal.id}", f"/appraisals/{appraisal.id}/edit",
                 f"/appraisals/{appraisal.id}/print", f"/appraisals/{appraisal.id}/export.xlsx",
                 f"/appraisals/{appraisal.id}/evidence/yuzhong/published"):
        assert client.get(path).status_code == 403, path
    assert client.post(f"/appraisals/{appraisal.id}/publish").status_code == 403
    assert client.post("/appraisals/new", data=_form(year="2030")).status_code == 403


def test_anonymous_visitors_are_sent_to_login(make_appraisal, client):
    appraisal = make_appraisal()
    for path in ("/appraisals", f"/appraisals/{appraisal.id}", f"/appraisals/{appraisal.id}/export.xlsx"):
        response = client.get(path)
        assert response.status_code == 302 and "/auth/login" in response.headers["Location"]


def test_api_serves_only_published_annual_appraisals(dataset, make_appraisal, client):
    from marketplace.appraisal import services
    from marketplace.extensions import db

    annual = make_appraisal()
    response = client.get("/api/v1/appraisals/2025")
    assert response.status_code == 404
    assert response.get_json()["error"]["status"] == 404  # a draft is as absent as a missing one

    half = make_appraisal(period="half_year")
    services.publish_appraisal(db.session, make_appraisal.city, half)
    db.session.commit()
    assert client.get("/api/v1/appraisals/2025").status_code == 404  # half-year results are not the annual

    services.publish_appraisal(db.session, make_appraisal.city, annual)
    db.session.commit()
    body = client.get("/api/v1/appraisals/2025").get_json()
    assert body["year"] == 2025 and body["period"] == "annual"
    assert body["reward_pool_yuan"] == 12_000_000 and body["cap_yuan"] == 5_000_000
    first = body["items"][0]
    assert set(first) >= {"district", "indicators", "score", "rank", "reward_yuan"}
    assert first["district"] == "渝中区" and first["score"] == "72.50" and first["rank"] == 1
    assert first["reward_yuan"] == 5_000_000
    assert first["indicators"]["funding"] == {"raw": "150.00", "normalised": "0.500000"}
    assert len(body["items"]) == 11
    assert sum(i["reward_yuan"] for i in body["items"]) + body["unallocated_yuan"] == 12_000_000
    assert "evidence" not in first
    assert client.get("/api/v1/appraisals/2024").status_code == 404
    assert client.get("/api/v1/appraisals/abc").status_code == 404


@pytest.mark.postgres
@pytest.mark.skipif(not ON_POSTGRES, reason="concurrent transactions: PostgreSQL only (SQLite writes are serial)")
def test_an_appraisal_created_twice_at_once_is_refused_with_a_field_message(client, make_user, login):
    """Two city staff (or a double click) create the same year's appraisal at the same moment: the second waits on
    the unique year and period and gets the field message (was a unique-constraint 500)."""

    from sqlalchemy.orm import Session

    from marketplace.appraisal import computation, services
    from marketplace.extensions import db
    from marketplace.models import Appraisal, User

    first = make_user("city_staff")
    login(make_user("city_staff"))
    data = {"year": 2025, "period": "annual", "reward_pool_yuan": "12000000", "cap_yuan": "5000000", "top_n": 3}
    data.update({f"w_{i.code}": str(i.default_weight) for i in computation.INDICATORS})
    form = _form()
    with Session(db.engine) as other:
        services.create_appraisal(other, other.get(User, first.id), data)  # created, not yet committed
        answer = second_waits_for_first(other, lambda: client.post("/appraisals/new", data=form), "the second creation")
    assert answer.status_code == 422, answer.status_code
    assert "2025 年已有同一周期的考评" in answer.get_data(as_text=True)
    assert db.session.query(Appraisal).count() == 1
