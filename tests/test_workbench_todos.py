"""Workbench to-dos of the 公示/异议 process (issue 15.1) and of experts removed from a panel.

District staff (city staff for city lists) see 异议待决定; owners see 异议待答复 and 公示中的场景;
each is a count linking to the filtered list where the work is done. Nobody else sees them, and
another district's objections never count.
"""

from __future__ import annotations

import re
from datetime import date

import pytest

from marketplace.applications import completeness, evaluation, publicity
from marketplace.applications.panels import expert_panel, experts_pending_count, to_declare_count
from marketplace.extensions import db
from marketplace.models import Batch, BatchLevel, BatchStage
from tests.test_evaluation import (  # noqa: F401  (fixtures)
    closed_scenario,
    make_application,
    set_criteria,
    sign_in,
    travel,
)
from tests.test_publicity import GROUNDS, in_publicity  # noqa: F401  (fixture)


def _todos(html: str) -> dict[str, tuple[int, str]]:
    return {key: (int(count), href.replace("&amp;", "&")) for href, key, count in re.findall(
        r'href="([^"]+)" data-todo="(\w+)">\s*<div class="card-body">\s*<div class="stat-card">'
        r'<span class="stat-number[^"]*">(\d+)', html)}


def _workbench(client, sign_in, user) -> dict[str, tuple[int, str]]:  # noqa: F811
    sign_in(user)
    response = client.get("/dashboard")
    assert response.status_code == 200
    return _todos(response.get_data(as_text=True))


@pytest.fixture
def objected(in_publicity, make_user):  # noqa: F811
    """A scenario in 公示 with one objection (unanswered, undecided) → (scenario, owner, notice, objection)."""
    scenario, owner, _winner, _others, notice = in_publicity(n=2)
    objection = publicity.file_objection(db.session, make_user("enterprise"), notice, GROUNDS)
    db.session.commit()
    return scenario, owner, notice, objection


def test_district_staff_see_objections_to_decide(objected, make_user, client, sign_in):  # noqa: F811
    scenario, _owner, _notice, objection = objected
    staff = make_user("district_staff", district=scenario.district.code)
    todos = _workbench(client, sign_in, staff)
    assert todos["objections_to_decide"] == (1, "/objections?status=undecided")
    assert "objections_to_answer" not in todos and "notices_open" not in todos
    page = client.get("/objections?status=undecided").get_data(as_text=True)
    assert f'data-objection-row="{objection.id}"' in page and scenario.title in page
    assert f"/scenarios/{scenario.id}/publicity#objection-{objection.id}" in page
    notice_page = client.get(f"/scenarios/{scenario.id}/publicity").get_data(as_text=True)
    assert f'id="objection-{objection.id}"' in notice_page and "data-decide-form" in notice_page
    # Decided: the count drops to 0 and the list is empty.
    publicity.decide_objection(db.session, staff, objection, "dismissed", "经核查，报价合理。")
    db.session.commit()
    assert _workbench(client, sign_in, staff)["objections_to_decide"][0] == 0
    assert f'data-objection-row="{objection.id}"' not in client.get("/objections").get_data(as_text=True)


@pytest.mark.parametrize("who", ["other_district", "city_staff"])
def test_objections_of_a_district_list_are_not_other_staffs(objected, make_user, client, sign_in, who):  # noqa: F811
    scenario, _owner, _notice, objection = objected
    other = "yubei" if scenario.district.code != "yubei" else "yuzhong"
    user = make_user("district_staff", district=other) if who == "other_district" else make_user("city_staff")
    todos = _workbench(client, sign_in, user)
    assert todos["objections_to_decide"][0] == 0
    assert f'data-objection-row="{objection.id}"' not in client.get("/objections").get_data(as_text=True)
    listed = client.get("/publicity?status=open&mine=1").get_data(as_text=True)
    assert f'data-notice="{scenario.id}"' not in listed


def test_city_staff_decide_city_lists(objected, make_user, client, sign_in):  # noqa: F811
    scenario, _owner, notice, objection = objected
    batch = Batch(name="2025年市级第1批", level=BatchLevel.CITY, stage=BatchStage.COLLECT,
                  published_on=date(2025, 1, 1))
    scenario.batches.append(batch)
    notice.level = "city"  # as an award of a city-listed scenario records it
    db.session.commit()
    assert _workbench(client, sign_in, make_user("city_staff"))["objections_to_decide"] == (
        1, "/objections?status=undecided")
    assert f'data-objection-row="{objection.id}"' in client.get("/objections").get_data(as_text=True)
    district_staff = make_user("district_staff", district=scenario.district.code)
    assert _workbench(client, sign_in, district_staff)["objections_to_decide"][0] == 0


def test_owner_sees_objections_to_answer_and_scenarios_in_publicity(objected, make_user, client,
                                                                   sign_in, travel):  # noqa: F811
    scenario, owner, notice, objection = objected
    todos = _workbench(client, sign_in, owner)
    assert todos["objections_to_answer"] == (1, "/objections?status=unanswered")
    assert todos["notices_open"] == (1, "/publicity?mine=1&status=open")
    assert "objections_to_decide" not in todos
    page = client.get("/objections?status=unanswered").get_data(as_text=True)
    assert f'data-objection-row="{objection.id}"' in page
    listed = client.get("/publicity?mine=1&status=open").get_data(as_text=True)
    assert f'data-notice="{scenario.id}"' in listed and 'id="f-mine"' in listed
    # Answered: no longer to answer, still undecided for the staff (the "undecided" filter lists it).
    publicity.answer_objection(db.session, owner, objection, "报价经成本测算，团队成员无重叠。")
    db.session.commit()
    todos = _workbench(client, sign_in, owner)
    assert todos["objections_to_answer"][0] == 0 and todos["notices_open"][0] == 1
    assert f'data-objection-row="{objection.id}"' not in client.get("/objections").get_data(as_text=True)
    assert f'data-objection-row="{objection.id}"' in client.get("/objections?status=undecided").get_data(
        as_text=True)
    # The period over: no longer "in 公示" on the list's terms.
    travel(notice.ends_at)
    assert _workbench(client, sign_in, owner)["notices_open"][0] == 0


def test_another_owner_and_firms_see_none_of_it(objected, make_user, client, sign_in):  # noqa: F811
    scenario, _owner, _notice, objection = objected
    todos = _workbench(client, sign_in, make_user("owner"))
    assert todos["objections_to_answer"][0] == 0 and todos["notices_open"][0] == 0
    assert f'data-objection-row="{objection.id}"' not in client.get("/objections").get_data(as_text=True)
    listed = client.get("/publicity?status=open&mine=1").get_data(as_text=True)
    assert f'data-notice="{scenario.id}"' not in listed
    for role in ("enterprise", "expert"):
        user = make_user(role)
        todos = _workbench(client, sign_in, user)
        assert not {"objections_to_answer", "notices_open", "objections_to_decide"} & set(todos)
        assert client.get("/objections").status_code == 403
        # mine=1 means nothing for them: the public list, unfiltered.
        listed = client.get("/publicity?status=open&mine=1").get_data(as_text=True)
        assert f'data-notice="{scenario.id}"' in listed and 'id="f-mine"' not in listed


def test_withdrawn_notice_leaves_no_objection_to_handle(objected, make_user, client, sign_in):  # noqa: F811
    scenario, owner, notice, objection = objected
    second = publicity.file_objection(db.session, make_user("enterprise"), notice, GROUNDS)
    staff = make_user("district_staff", district=scenario.district.code)
    publicity.decide_objection(db.session, staff, objection, "upheld", "团队成员确有重叠。")
    db.session.commit()
    # The other objection needs nothing more: the withdrawal closed it, with its reason.
    assert second.decision.value == "closed" and second.decision_reason == publicity.CLOSED_REASON
    assert publicity.objections_to_decide_count(db.session, staff) == 0
    assert publicity.objections_to_answer_count(db.session, owner) == 0
    assert publicity.open_notices_count(db.session, owner) == 0


def test_bad_filters_are_not_errors(objected, client, sign_in):  # noqa: F811
    _scenario, owner, _notice, _objection = objected
    sign_in(owner)
    assert client.get("/objections?status=nonsense").status_code == 200
    assert client.get("/publicity?mine=yes").status_code == 200


# ------------------------------------------------------------------ removed experts (15.1, 11.2)

def test_a_removed_expert_has_no_to_do_for_that_scenario(closed_scenario, make_user, client, sign_in):  # noqa: F811
    scenario, owner, _apps = closed_scenario(n=2)
    set_criteria(scenario, owner)
    expert = make_user("expert")
    assignment = evaluation.invite_expert(db.session, owner, scenario, expert.id)
    db.session.commit()
    assert to_declare_count(db.session, expert) == 1 and experts_pending_count(db.session, owner) == 1
    assert _workbench(client, sign_in, expert)["to_declare"] == (1, "/reviews")
    completeness.remove_expert(db.session, owner, scenario, assignment.id, "专家两周未响应评审邀请，电话无法联系。")
    db.session.commit()
    assert to_declare_count(db.session, expert) == 0 and experts_pending_count(db.session, owner) == 0
    panel = expert_panel(db.session, expert)
    assert panel["pending"] == [] and panel["active"] == []
    assert _workbench(client, sign_in, expert)["to_declare"][0] == 0
    html = client.get("/dashboard").get_data(as_text=True)
    assert f"/reviews/{assignment.id}" not in html


def test_a_removed_declared_expert_is_not_listed_as_scoring(closed_scenario, make_user, client, sign_in):  # noqa: F811
    scenario, owner, _apps = closed_scenario(n=2)
    set_criteria(scenario, owner)
    expert = make_user("expert")
    assignment = evaluation.invite_expert(db.session, owner, scenario, expert.id)
    evaluation.declare(db.session, expert, assignment, True)
    db.session.commit()
    assert [a.id for a in expert_panel(db.session, expert)["active"]] == [assignment.id]
    completeness.remove_expert(db.session, owner, scenario, assignment.id, "专家两周未完成评分，电话无法联系。")
    db.session.commit()
    assert expert_panel(db.session, expert)["active"] == []
    sign_in(expert)
    assert f"/reviews/{assignment.id}" not in client.get("/dashboard").get_data(as_text=True)
