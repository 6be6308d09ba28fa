"""Demonstration selection, the public gallery and case pages, reuse, the demonstrations API, and that
nothing unpublished leaks."""

from __future__ import annotations

import io
import struct
import zlib
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from tests.confirm_support import post_confirmed
from tests.conftest import ON_POSTGRES
from tests.races import second_waits_for_first

ROLES = ["owner", "enterprise", "district_staff", "city_staff", "expert"]

WRITEUP = {
    "problem": "过去企业开办需要跑多个窗口，材料重复提交，平均办理时间长达五个工作日，群众意见较大。",
    "solution": "揭榜企业建设一网通办平台，打通市场监管、税务、社保等系统，实现一表申请、并联审批和电子证照共享。",
    "outcomes": "企业开办时间由 5 天缩短到 1 天，材料减少 60%，上线一年服务 12000 家企业。",
    "highlights": "全市首个全流程无纸化企业开办系统。",
}


def png_bytes() -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    raw = b"".join(b"\x00" + b"\x10\x20\x30" * 4 for _ in range(4))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 4, 4, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))


# ====================================================================== fixtures

@pytest.fixture
def delivered(make_scenario, make_org):
    """``delivered(owner=None, district='yuzhong', **fields)`` → an accepted scenario with a winner, contract and acceptance."""
    from marketplace.extensions import db
    from marketplace.models import Acceptance, AcceptanceResult, Application, ApplicationStatus, Contract

    def make(owner=None, district: str = "yuzhong", amount: str = "280.00", **fields):
        scenario = make_scenario("accepted", owner=owner, district=district, **fields)
        firm = make_org("software_enterprise", district=district, name=f"揭榜软件公司{scenario.id}")
        application = Application(scenario=scenario, organisation=firm, status=ApplicationStatus.SELECTED,
                                  decided_at=datetime(2025, 3, 1, tzinfo=UTC), price_wan=Decimal(amount))
        db.session.add(application)
        db.session.add(Contract(scenario=scenario, application=application, amount_wan=Decimal(amount),
                                signed_on=date(2025, 3, 10)))
        db.session.add(Acceptance(scenario=scenario, accepted_on=date(2025, 9, 1), result=AcceptanceResult.PASSED))
        db.session.commit()
        scenario.firm = firm
        return scenario

    return make


def file_status(client, attachment_id: int) -> int:
    """GET a file and close the response (downloads hold an open file)."""
    with client.get(f"/files/{attachment_id}") as response:
        response.get_data()
        return response.status_code


@pytest.fixture
def switch(client, login):
    """Sign out whoever is signed in, then sign ``user`` in."""

    def do(user):
        client.post("/auth/logout")
        return login(user)

    return do


@pytest.fixture
def services():
    from marketplace.showcase import services as module

    return module


@pytest.fixture
def gallery():
    from marketplace.showcase import gallery as module

    return module


def refused(response, client, message: str) -> None:
    """A refused form POST: 303 back to a page that shows ``message``."""
    assert response.status_code == 303, response.status_code
    page = client.get(response.headers["Location"])
    assert page.status_code == 200 and message in page.get_data(as_text=True), message


@pytest.fixture
def city(make_user):
    return make_user("city_staff")


@pytest.fixture
def open_round(app, city, services):
    """An open round for 2025 with two criteria (60 / 40)."""
    from marketplace.extensions import db

    rnd = services.create_round(db.session, city, {"year": 2025, "name": "2025年度示范项目评选", "criteria": [
        {"name": "创新性", "weight": "60"}, {"name": "应用成效", "weight": "40"}]})
    services.round_transition(db.session, city, rnd, "open")
    db.session.commit()
    return rnd


@pytest.fixture
def publish_case(services, city, make_user, delivered, open_round):
    """Run a round to the end and return the published Demonstration (owner's scenario, one expert's scores)."""
    from marketplace.extensions import db

    def run(scenario=None, owner_user=None):
        owner_user = owner_user or make_user("owner")
        scenario = scenario or delivered(owner=owner_user.organisation, title="企业开办一网通办")
        nomination = services.nominate(db.session, owner_user, open_round, scenario, WRITEUP)
        services.round_transition(db.session, city, open_round, "start_scoring")
        expert = make_user("expert")
        services.assign_expert(db.session, city, open_round, expert)
        assignment = nomination.experts[0]
        services.declare(db.session, expert, assignment, True)
        services.submit_scores(db.session, expert, assignment, {c.id: "90" for c in open_round.criteria})
        demos = services.publish_round(db.session, city, open_round, [nomination.id])
        db.session.commit()
        return demos[0]

    return run


# ====================================================================== rounds

@pytest.mark.parametrize(("criteria", "message"), [
    ([{"name": "创新性", "weight": "60"}, {"name": "成效", "weight": "30"}], "权重之和必须为 100（当前为 90）"),
    ([], "请至少设置一项评审标准"),
    ([{"name": "创新性", "weight": "abc"}], "权重必须是数字"),
    ([{"name": "创新性", "weight": "0"}, {"name": "成效", "weight": "100"}], "权重应大于 0"),
    ([{"name": "", "weight": "100"}], "都要有名称"),
    ([{"name": "成效", "weight": "50"}, {"name": "成效", "weight": "50"}], "不能重复"),
])
def test_round_criteria_must_be_named_and_weigh_100(app, city, services, criteria, message):
    from marketplace.errors import ValidationFailed
    from marketplace.extensions import db

    with pytest.raises(ValidationFailed) as error:
        services.create_round(db.session, city, {"year": 2025, "name": "评选", "criteria": criteria})
    assert message in " ".join(error.value.field_errors["criteria"])


@pytest.mark.parametrize("role", [r for r in ROLES if r != "city_staff"])
def test_only_city_staff_run_rounds(app, make_user, services, open_round, role):
    from marketplace.errors import PermissionDenied
    from marketplace.extensions import db

    actor = make_user(role)
    with pytest.raises(PermissionDenied):
        services.create_round(db.session, actor, {"year": 2025, "name": "x", "criteria": [{"name": "a", "weight": "100"}]})
    with pytest.raises(PermissionDenied):
        services.round_transition(db.session, actor, open_round, "start_scoring")
    with pytest.raises(PermissionDenied):
        services.assign_expert(db.session, actor, open_round, make_user("expert"))
    with pytest.raises(PermissionDenied):
        services.publish_round(db.session, actor, open_round, [1])


def test_the_round_form_shows_every_problem_in_one_round(client, make_user, login):
    """A year out of range hid the criteria's problems (a weight that is not a number): they appeared only after
    the year was corrected and the form sent again."""
    from marketplace.extensions import db
    from marketplace.models import SelectionRound

    login(make_user("city_staff"))
    data = {"year": "1800", "name": "2025年度评选", "description": "",
            "criteria-0-name": "创新性", "criteria-0-weight": "很多", "criteria-1-name": "成效", "criteria-1-weight": "30"}
    html = client.post("/showcase/rounds/new", data=data).get_data(as_text=True)
    assert "2000–2100" in html and "“创新性”的权重必须是数字。" in html
    assert db.session.query(SelectionRound).count() == 0


def test_round_form_through_the_pages(client, make_user, login):
    from marketplace.extensions import db
    from marketplace.models import RoundStatus, SelectionRound

    login(make_user("city_staff"))
    page = client.get("/showcase/rounds/new").get_data(as_text=True)
    assert "应用成效（可量化）" in page  # default criteria offered
    data = {"year": "2025", "name": "2025年度评选", "description": "",
            "criteria-0-name": "创新性", "criteria-0-weight": "70", "criteria-1-name": "成效", "criteria-1-weight": "20"}
    response = client.post("/showcase/rounds/new", data=data)
    assert response.status_code == 422 and "权重之和必须为 100（当前为 90）" in response.get_data(as_text=True)
    assert db.session.query(SelectionRound).count() == 0
    data["criteria-1-weight"] = "30"
    response = client.post("/showcase/rounds/new", data=data)
    assert response.status_code == 302
    rnd = db.session.query(SelectionRound).one()
    assert [(c.name, c.weight) for c in rnd.criteria] == [("创新性", Decimal("70")), ("成效", Decimal("30"))]
    edit = client.get(f"/showcase/rounds/{rnd.id}/edit").get_data(as_text=True)
    assert 'value="创新性"' in edit and 'value="70"' in edit
    assert client.post(f"/showcase/rounds/{rnd.id}/open").status_code == 302
    db.session.expire_all()
    assert db.session.get(SelectionRound, rnd.id).status == RoundStatus.OPEN
    # Nominations are needed before scoring can start.
    response = client.post(f"/showcase/rounds/{rnd.id}/start_scoring")
    refused(response, client, "还没有推荐项目，不能开始评审。")
    assert response.headers["Location"].endswith(f"/showcase/rounds/{rnd.id}")
    db.session.expire_all()
    assert db.session.get(SelectionRound, rnd.id).status == RoundStatus.OPEN


# ====================================================================== nominations

def test_owner_nominates_own_accepted_scenario_only(make_user, make_scenario, delivered, services, open_round):
    from marketplace.errors import PermissionDenied, ValidationFailed
    from marketplace.extensions import db

    owner = make_user("owner")
    own = delivered(owner=owner.organisation)
    other_org = delivered()
    not_accepted = make_scenario("in_delivery", owner=owner.organisation)

    with pytest.raises(PermissionDenied):
        services.nominate(db.session, owner, open_round, other_org, WRITEUP)
    with pytest.raises(ValidationFailed):
        services.nominate(db.session, owner, open_round, not_accepted, WRITEUP)
    nomination = services.nominate(db.session, owner, open_round, own, WRITEUP)
    db.session.commit()
    assert nomination.status.value == "submitted"
    with pytest.raises(ValidationFailed):  # once per round
        services.nominate(db.session, owner, open_round, own, WRITEUP)


def test_district_staff_nominate_their_district_only(make_user, delivered, services, open_round):
    from marketplace.errors import PermissionDenied
    from marketplace.extensions import db

    staff = make_user("district_staff", district="yubei")
    with pytest.raises(PermissionDenied):
        services.nominate(db.session, staff, open_round, delivered(district="yuzhong"), WRITEUP)
    services.nominate(db.session, staff, open_round, delivered(district="yubei"), WRITEUP)


@pytest.mark.parametrize("role", ["enterprise", "city_staff", "expert"])
def test_other_roles_cannot_nominate(make_user, delivered, services, open_round, role):
    from marketplace.errors import PermissionDenied
    from marketplace.extensions import db

    with pytest.raises(PermissionDenied):
        services.nominate(db.session, make_user(role), open_round, delivered(), WRITEUP)


@pytest.mark.parametrize(("field", "value", "message"), [
    ("problem", "太慢", "至少 20 个字"),
    ("outcomes", "效果非常好，群众满意度很高。", "至少写出一项数据"),
    ("solution", "", "解决方案"),
])
def test_the_case_writeup_must_be_complete_and_measured(make_user, delivered, services, open_round, field, value,
                                                       message):
    from marketplace.errors import ValidationFailed
    from marketplace.extensions import db

    owner = make_user("owner")
    with pytest.raises(ValidationFailed) as error:
        services.nominate(db.session, owner, open_round, delivered(owner=owner.organisation),
                          {**WRITEUP, field: value})
    assert message in " ".join(error.value.field_errors[field])


def test_nominations_only_while_the_round_is_open(make_user, delivered, services, city):
    from marketplace.errors import InvalidTransition
    from marketplace.extensions import db

    rnd = services.create_round(db.session, city, {"year": 2025, "name": "草稿评选",
                                                   "criteria": [{"name": "综合", "weight": "100"}]})
    owner = make_user("owner")
    with pytest.raises(InvalidTransition):
        services.nominate(db.session, owner, rnd, delivered(owner=owner.organisation), WRITEUP)


def test_nominate_through_the_page_with_a_photo(client, make_user, login, delivered, open_round):
    from marketplace.extensions import db
    from marketplace.models import Nomination

    owner = make_user("owner")
    scenario = delivered(owner=owner.organisation, title="智慧社区服务平台")
    login(owner)
    listing = client.get("/showcase/nominations").get_data(as_text=True)
    assert "智慧社区服务平台" in listing and open_round.name in listing
    url = f"/showcase/rounds/{open_round.id}/nominate/{scenario.id}"
    bad = client.post(url, data={**WRITEUP, "outcomes": "很好很好很好很好很好", "media": (io.BytesIO(b"GIF89a"), "x.gif")},
                      content_type="multipart/form-data")
    assert bad.status_code == 422
    text = bad.get_data(as_text=True)
    assert "不支持该文件类型" in text or "至少写出一项数据" in text
    assert db.session.query(Nomination).count() == 0
    response = client.post(url, data={**WRITEUP, "media": [(io.BytesIO(png_bytes()), "现场.png"),
                                                           (io.BytesIO(b"%PDF-1.4\n%%EOF\n"), "报告.pdf")]},
                           content_type="multipart/form-data")
    assert response.status_code == 302
    nomination = db.session.query(Nomination).one()
    assert sorted(a.filename for a in nomination.media) == ["报告.pdf", "现场.png"]
    # Another owner's scenario: refused.
    other = delivered()
    assert client.get(f"/showcase/rounds/{open_round.id}/nominate/{other.id}").status_code == 403


def test_nominating_a_scenario_the_user_cannot_see_is_not_found(client, make_user, login, make_scenario, open_round):
    """Another owner's draft: 404 like a missing scenario (was 403, which told a stranger that it exists); a
    public scenario the user may not nominate stays 403."""
    from marketplace.extensions import db
    from marketplace.models import Nomination

    login(make_user("owner"))
    draft = make_scenario("draft")
    assert client.get(f"/showcase/rounds/{open_round.id}/nominate/{draft.id}").status_code == 404
    assert client.post(f"/showcase/rounds/{open_round.id}/nominate/{draft.id}", data=WRITEUP).status_code == 404
    assert client.get(f"/showcase/rounds/{open_round.id}/nominate/{draft.id + 1000}").status_code == 404
    published = make_scenario("published")
    assert client.get(f"/showcase/rounds/{open_round.id}/nominate/{published.id}").status_code == 403
    assert db.session.query(Nomination).count() == 0


def test_a_round_in_preparation_is_not_found_by_a_nominator(client, make_user, login, delivered, services, city):
    """A draft round is city staff's alone: 404 to a nominator as for a missing round (was a flashed redirect that
    told them it exists)."""
    from marketplace.extensions import db

    rnd = services.create_round(db.session, city, {"year": 2026, "name": "2026年度示范项目评选", "criteria": [
        {"name": "创新性", "weight": "100"}]})
    db.session.commit()
    owner = make_user("owner")
    scenario = delivered(owner=owner.organisation)
    login(owner)
    assert client.get(f"/showcase/rounds/{rnd.id}/nominate/{scenario.id}").status_code == 404
    assert client.get(f"/showcase/rounds/{rnd.id + 1000}/nominate/{scenario.id}").status_code == 404


def test_nominator_edits_and_withdraws_while_the_round_is_open(client, make_user, login, delivered, services,
                                                                open_round, city):
    from marketplace.extensions import db
    from marketplace.models import NominationStatus

    owner = make_user("owner")
    nomination = services.nominate(db.session, owner, open_round, delivered(owner=owner.organisation), WRITEUP)
    db.session.commit()
    login(owner)
    url = f"/showcase/nominations/{nomination.id}/edit"
    assert client.get(url).status_code == 200
    response = client.post(url, data={**WRITEUP, "outcomes": "办理时间缩短 80%，群众满意度 99%。"})
    assert response.status_code == 302
    db.session.expire_all()
    assert nomination.outcomes == "办理时间缩短 80%，群众满意度 99%。"
    assert client.post(f"/showcase/nominations/{nomination.id}/withdraw").status_code == 302
    db.session.expire_all()
    assert nomination.status == NominationStatus.WITHDRAWN
    # A withdrawn nomination may be put forward again while the round is open.
    services.nominate(db.session, owner, open_round, nomination.scenario, WRITEUP)
    services.round_transition(db.session, city, open_round, "start_scoring")
    db.session.commit()
    assert client.get(url).status_code == 403  # nominations closed
    response = client.post(f"/showcase/nominations/{nomination.id}/withdraw")
    refused(response, client, "推荐征集已结束，不能再修改或撤回。")
    db.session.expire_all()
    assert nomination.status == NominationStatus.SUBMITTED


# ====================================================================== experts and scores

def test_experts_declare_before_scoring_and_recused_experts_do_not_count(make_user, delivered, services, city,
                                                                       open_round):
    from marketplace.errors import InvalidTransition, PermissionDenied, ValidationFailed
    from marketplace.extensions import db

    owner = make_user("owner")
    nomination = services.nominate(db.session, owner, open_round, delivered(owner=owner.organisation), WRITEUP)
    e1, e2, e3 = make_user("expert"), make_user("expert"), make_user("expert")
    with pytest.raises(ValidationFailed):
        services.assign_expert(db.session, city, open_round, make_user("enterprise"))
    for expert in (e1, e2, e3):
        assert services.assign_expert(db.session, city, open_round, expert) == 1
    assert services.assign_expert(db.session, city, open_round, e1) == 0  # idempotent
    a1, a2, a3 = nomination.experts
    values = {c.id: "80" for c in open_round.criteria}
    with pytest.raises(InvalidTransition):  # scoring not started
        services.submit_scores(db.session, e1, a1, values)
    services.round_transition(db.session, city, open_round, "start_scoring")
    with pytest.raises(PermissionDenied):  # not declared yet
        services.submit_scores(db.session, e1, a1, values)
    with pytest.raises(PermissionDenied):  # somebody else's assignment
        services.declare(db.session, e2, a1, True)
    services.declare(db.session, e1, a1, True)
    services.declare(db.session, e2, a2, True)
    services.declare(db.session, e3, a3, False, "曾为揭榜企业提供咨询")
    with pytest.raises(InvalidTransition):
        services.declare(db.session, e3, a3, True)
    with pytest.raises(PermissionDenied):
        services.submit_scores(db.session, e3, a3, values)
    with pytest.raises(ValidationFailed) as error:
        services.submit_scores(db.session, e1, a1, {**values, open_round.criteria[0].id: "101"})
    assert f"score_{open_round.criteria[0].id}" in error.value.field_errors
    # e1: 90×0.6 + 70×0.4 = 82;  e2: 80 → mean 81
    c1, c2 = open_round.criteria
    services.submit_scores(db.session, e1, a1, {c1.id: "90", c2.id: "70"})
    services.submit_scores(db.session, e2, a2, {c1.id: "80", c2.id: "80"})
    row = services.totals(db.session, open_round)[0]
    assert row.total == Decimal("81.00") and row.scored == 2 and row.recused == 1 and row.pending == 0
    services.submit_scores(db.session, e2, a2, {c1.id: "60", c2.id: "60"})  # revised before publication
    assert services.totals(db.session, open_round)[0].total == Decimal("71.00")


def test_expert_scores_through_the_pages(client, make_user, login, switch, delivered, services, city, open_round):
    from marketplace.extensions import db
    from marketplace.models import NominationScore

    owner = make_user("owner")
    nomination = services.nominate(db.session, owner, open_round, delivered(owner=owner.organisation), WRITEUP)
    services.round_transition(db.session, city, open_round, "start_scoring")
    expert = make_user("expert")
    services.assign_expert(db.session, city, open_round, expert)
    db.session.commit()
    assignment = nomination.experts[0]
    login(expert)
    assert "待声明" in client.get("/showcase/reviews").get_data(as_text=True)
    assert client.get(f"/showcase/assignments/{assignment.id}/score").status_code == 302  # declare first
    client.post(f"/showcase/assignments/{assignment.id}/declare", data={"declare": "y"})  # box not ticked
    db.session.expire_all()
    assert assignment.declared_at is None
    client.post(f"/showcase/assignments/{assignment.id}/declare", data={"declare": "y", "no_conflict": "y"})
    c1, c2 = open_round.criteria
    bad = client.post(f"/showcase/assignments/{assignment.id}/score", data={f"score_{c1.id}": "九十",
                                                                           f"score_{c2.id}": "80"})
    assert bad.status_code == 422 and "0–100" in bad.get_data(as_text=True)
    ok = client.post(f"/showcase/assignments/{assignment.id}/score", data={f"score_{c1.id}": "90",
                                                                          f"score_{c2.id}": "80"})
    assert ok.status_code == 302
    assert db.session.query(NominationScore).count() == 2
    switch(make_user("expert"))
    assert client.get(f"/showcase/assignments/{assignment.id}/score").status_code == 404
    assert client.get(f"/showcase/nominations/{nomination.id}").status_code == 404


# ====================================================================== publication, gallery, case page

def test_publishing_creates_public_case_pages(publish_case, client):
    demo = publish_case()
    assert demo.year == 2025 and demo.title == "企业开办一网通办"
    assert demo.firm is not None and demo.nomination.status.value == "selected"
    page = client.get(f"/demonstrations/{demo.id}").get_data(as_text=True)
    for text in ("企业开办一网通办", WRITEUP["outcomes"], demo.firm.name, demo.scenario.owner.name, "渝中区",
                 "人工智能", "280.00", f"/scenarios/{demo.scenario_id}"):
        assert text in page, text
    gallery = client.get("/demonstrations").get_data(as_text=True)
    assert "企业开办一网通办" in gallery and "共 1 个示范项目" in gallery


def test_publishing_needs_scored_selections(make_user, delivered, services, city, open_round):
    from marketplace.errors import InvalidTransition, ValidationFailed
    from marketplace.extensions import db

    owner = make_user("owner")
    nomination = services.nominate(db.session, owner, open_round, delivered(owner=owner.organisation), WRITEUP)
    with pytest.raises(InvalidTransition):  # still open
        services.publish_round(db.session, city, open_round, [nomination.id])
    services.round_transition(db.session, city, open_round, "start_scoring")
    with pytest.raises(ValidationFailed):
        services.publish_round(db.session, city, open_round, [])
    with pytest.raises(ValidationFailed) as error:
        services.publish_round(db.session, city, open_round, [nomination.id])
    assert "还没有专家完成评分" in error.value.message


def test_round_publication_through_the_page(publish_case, client, make_user, login, delivered, services, city):
    from marketplace.extensions import db
    from marketplace.models import Demonstration, NominationStatus, RoundStatus, SelectionRound

    rnd = services.create_round(db.session, city, {"year": 2024, "name": "2024年度评选",
                                                   "criteria": [{"name": "综合", "weight": "100"}]})
    services.round_transition(db.session, city, rnd, "open")
    owner = make_user("owner")
    n1 = services.nominate(db.session, owner, rnd, delivered(owner=owner.organisation, title="入选项目"), WRITEUP)
    n2 = services.nominate(db.session, owner, rnd, delivered(owner=owner.organisation, title="落选项目"), WRITEUP)
    services.round_transition(db.session, city, rnd, "start_scoring")
    expert = make_user("expert")
    services.assign_expert(db.session, city, rnd, expert)
    for n, value in ((n1, "92"), (n2, "70")):
        services.declare(db.session, expert, n.experts[0], True)
        services.submit_scores(db.session, expert, n.experts[0], {rnd.criteria[0].id: value})
    db.session.commit()
    login(city)
    page = client.get(f"/showcase/rounds/{rnd.id}").get_data(as_text=True)
    assert page.index("入选项目") < page.index("落选项目") and "92.00" in page
    refused(client.post(f"/showcase/rounds/{rnd.id}/publish", data={"selected": ["x"]}), client,
            "请至少选择一个入选项目。")
    assert db.session.query(Demonstration).count() == 0
    response = post_confirmed(client, f"/showcase/rounds/{rnd.id}/publish", data={"selected": [str(n1.id)]})
    assert response.status_code == 302
    db.session.expire_all()
    assert db.session.get(SelectionRound, rnd.id).status == RoundStatus.PUBLISHED
    assert n2.status == NominationStatus.NOT_SELECTED
    assert [d.title for d in db.session.query(Demonstration)] == ["入选项目"]


def test_nothing_unpublished_leaks(client, make_user, switch, delivered, services, open_round, city):
    """Before publication: no gallery entry, no case page, nomination pages and media only for those involved."""
    from marketplace import attachments
    from marketplace.extensions import db
    from marketplace.models import AttachmentPurpose

    owner = make_user("owner")
    scenario = delivered(owner=owner.organisation, title="尚未公布的推荐项目")
    from werkzeug.datastructures import FileStorage

    photo = attachments.store(db.session, FileStorage(io.BytesIO(png_bytes()), "secret.png"),
                              AttachmentPurpose.DEMONSTRATION_MEDIA, owner, allowed={"png"})
    nomination = services.nominate(db.session, owner, open_round, scenario, WRITEUP, [photo])
    db.session.commit()

    assert "尚未公布的推荐项目" not in client.get("/demonstrations?q=尚未公布").get_data(as_text=True)
    assert client.get("/api/v1/demonstrations").get_json()["total"] == 0
    assert file_status(client, photo.id) == 404
    assert client.get(f"/showcase/nominations/{nomination.id}").status_code == 302  # anonymous → login
    for role in ("enterprise", "expert"):  # firms are refused the area (403); an unassigned expert sees nothing (404)
        switch(make_user(role))
        response = client.get(f"/showcase/nominations/{nomination.id}")
        assert response.status_code in (403, 404) and "尚未公布的推荐项目" not in response.get_data(as_text=True)
        assert file_status(client, photo.id) == 404
    switch(make_user("owner"))  # another organisation
    assert client.get(f"/showcase/nominations/{nomination.id}").status_code == 404
    assert file_status(client, photo.id) == 404
    switch(make_user("district_staff", district="yubei"))  # another district
    assert client.get(f"/showcase/nominations/{nomination.id}").status_code == 404
    switch(make_user("district_staff", district="yuzhong"))
    assert client.get(f"/showcase/nominations/{nomination.id}").status_code == 200
    switch(owner)
    assert client.get(f"/showcase/nominations/{nomination.id}").status_code == 200
    assert file_status(client, photo.id) == 200

    # Published: the photo is public, the scores are not.
    services.round_transition(db.session, city, open_round, "start_scoring")
    expert = make_user("expert")
    services.assign_expert(db.session, city, open_round, expert)
    services.declare(db.session, expert, nomination.experts[0], True)
    services.submit_scores(db.session, expert, nomination.experts[0], {c.id: "77" for c in open_round.criteria})
    demo = services.publish_round(db.session, city, open_round, [nomination.id])[0]
    db.session.commit()
    client.post("/auth/logout")
    assert file_status(client, photo.id) == 200
    page = client.get(f"/demonstrations/{demo.id}").get_data(as_text=True)
    assert "77" not in page and expert.name not in page
    assert client.get(f"/showcase/nominations/{nomination.id}").status_code == 302


@pytest.mark.parametrize(("path", "allowed"), [
    ("/showcase/rounds", {"city_staff"}),
    ("/showcase/rounds/new", {"city_staff"}),
    ("/showcase/nominations", {"owner", "district_staff"}),
    ("/showcase/reviews", {"expert"}),
])
@pytest.mark.parametrize("role", ROLES)
def test_workflow_pages_by_role(client, make_user, login, path, allowed, role):
    login(make_user(role))
    assert client.get(path).status_code == (200 if role in allowed else 403), (role, path)


@pytest.mark.parametrize("path", ["/showcase/rounds", "/showcase/nominations", "/showcase/reviews"])
def test_workflow_pages_need_login(client, path):
    response = client.get(path)
    assert response.status_code == 302 and "/auth/login" in response.headers["Location"]


@pytest.mark.parametrize("role", [r for r in ROLES if r != "city_staff"])
def test_round_pages_refuse_other_roles(client, make_user, login, open_round, role):
    login(make_user(role))
    assert client.get(f"/showcase/rounds/{open_round.id}").status_code == 403
    assert client.post(f"/showcase/rounds/{open_round.id}/start_scoring").status_code == 403
    assert client.post(f"/showcase/rounds/{open_round.id}/publish", data={"selected": ["1"]}).status_code == 403


# ====================================================================== gallery filters and API

@pytest.fixture
def three_demos(app, make_scenario, delivered):
    from marketplace.extensions import db
    from marketplace.models import Demonstration, Domain

    data = [("渝中政务一网通办", "yuzhong", "ai", 2024), ("渝北工业互联网平台", "yubei", "industrial_internet", 2025),
            ("江北数据治理", "jiangbei", "data_services", 2025)]
    demos = []
    for title, district, domain, year in data:
        scenario = delivered(district=district, title=title,
                             domain=db.session.query(Domain).filter_by(code=domain).one())
        demo = Demonstration(scenario=scenario, firm=scenario.firm, year=year, title=title,
                             problem="问题", solution=f"{title}的解决方案", outcomes="效率提升 30%",
                             published_at=datetime(year, 12, 1, tzinfo=UTC))
        db.session.add(demo)
        demos.append(demo)
    db.session.commit()
    return demos


def test_gallery_filters_search_and_pages(client, three_demos):
    def titles(query: str) -> list[str]:
        html = client.get(f"/demonstrations?{query}").get_data(as_text=True)
        return [d.title for d in three_demos if f'data-demonstration-id="{d.id}"' in html]

    assert titles("") == ["渝中政务一网通办", "渝北工业互联网平台", "江北数据治理"]
    assert titles("year=2025") == ["渝北工业互联网平台", "江北数据治理"]
    assert titles("district=yubei") == ["渝北工业互联网平台"]
    assert titles("domain=data_services") == ["江北数据治理"]
    assert titles("q=工业互联网") == ["渝北工业互联网平台"]
    assert titles("q=解决方案 渝中") == ["渝中政务一网通办"]
    assert titles("year=2025&per_page=1&page=2") in (["渝北工业互联网平台"], ["江北数据治理"])
    response = client.get("/demonstrations?year=abc")
    assert response.status_code == 200 and "必须是整数" in response.get_data(as_text=True)


def test_api_lists_published_demonstrations(client, three_demos):
    body = client.get("/api/v1/demonstrations?year=2025&per_page=1").get_json()
    assert body["total"] == 2 and body["per_page"] == 1 and len(body["items"]) == 1
    item = client.get("/api/v1/demonstrations?district=yuzhong").get_json()["items"][0]
    assert item["title"] == "渝中政务一网通办" and item["district_code"] == "yuzhong" and item["year"] == 2024
    assert item["contract_amount_wan"] == "280.00" and item["firm"] and item["url"].endswith(f"/demonstrations/{item['id']}")
    assert client.get("/api/v1/demonstrations?domain=data_services").get_json()["total"] == 1
    for bad in ("per_page=101", "page=0", "year=x", "district=no-such-district", "domain=渝中区"):
        response = client.get(f"/api/v1/demonstrations?{bad}")
        assert response.status_code == 400, bad
        assert response.get_json()["error"]["fields"]
    # An unknown code names the accepted ones (and the page says so instead of an empty gallery).
    refused = client.get("/api/v1/demonstrations?district=渝中区").get_json()["error"]["fields"]["district"][0]
    assert "yuzhong" in refused and "请使用代码" in refused
    page = client.get("/demonstrations?district=no-such-district").get_data(as_text=True)
    assert "未知的区县" in page and "渝中政务一网通办" in page


# ====================================================================== reuse

def test_owner_records_reuse_of_a_demonstration(client, make_user, login, make_scenario, three_demos):
    from marketplace.extensions import db
    from marketplace.models import AuditEvent, DemonstrationReuse

    demo = three_demos[0]
    owner = make_user("owner", district="yubei")
    mine = make_scenario("published", owner=owner.organisation, district="yubei", title="渝北复用场景")
    draft = make_scenario("draft", owner=owner.organisation, district="yubei", title="渝北草稿")
    someone_elses = make_scenario("published", district="yubei", title="别人的场景")
    login(owner)
    page = client.get(f"/demonstrations/{demo.id}").get_data(as_text=True)
    assert "登记复用" in page and "渝北复用场景" in page and "渝北草稿" not in page
    for scenario in (draft, someone_elses):
        client.post(f"/demonstrations/{demo.id}/reuse", data={"scenario_id": scenario.id})
    assert db.session.query(DemonstrationReuse).count() == 0
    response = client.post(f"/demonstrations/{demo.id}/reuse", data={"scenario_id": mine.id, "note": "复用其架构"})
    assert response.status_code == 302
    reuse = db.session.query(DemonstrationReuse).one()
    assert reuse.scenario_id == mine.id and reuse.owner_id == owner.organisation_id
    assert db.session.query(AuditEvent).filter_by(action="demonstration.reuse").count() == 1
    client.post("/auth/logout")
    page = client.get(f"/demonstrations/{demo.id}").get_data(as_text=True)
    assert "渝北复用场景" in page and "复用其架构" in page and f'action="/demonstrations/{demo.id}/reuse"' not in page


def test_reuse_rules(app, make_user, make_scenario, three_demos, gallery):
    from marketplace.errors import PermissionDenied, ValidationFailed
    from marketplace.extensions import db

    demo = three_demos[0]
    owner = make_user("owner")
    mine = make_scenario("published", owner=owner.organisation)
    with pytest.raises(PermissionDenied):
        gallery.record_reuse(db.session, make_user("enterprise"), demo, mine, "")
    with pytest.raises(PermissionDenied):
        gallery.record_reuse(db.session, make_user("city_staff"), demo, mine, "")
    with pytest.raises(ValidationFailed):  # the demonstration's own scenario
        demo_owner = make_user("owner", organisation=demo.scenario.owner)
        gallery.record_reuse(db.session, demo_owner, demo, demo.scenario, "")
    gallery.record_reuse(db.session, owner, demo, mine, "")
    with pytest.raises(ValidationFailed):  # twice
        gallery.record_reuse(db.session, owner, demo, mine, "")


@pytest.mark.parametrize("role", ["enterprise", "district_staff", "city_staff", "expert"])
def test_only_owners_may_post_reuse(client, make_user, login, three_demos, role):
    login(make_user(role))
    assert client.post(f"/demonstrations/{three_demos[0].id}/reuse", data={"scenario_id": 1}).status_code == 403


def test_unknown_demonstration_is_404(client):
    assert client.get("/demonstrations/999").status_code == 404


def test_navigation_entries_by_role(client, make_user, login, switch):
    login(make_user("city_staff"))
    html = client.get("/dashboard").get_data(as_text=True)
    assert 'data-nav="selection_rounds"' in html and 'data-nav="appraisals"' in html
    assert 'data-nav="demonstrations"' in html
    switch(make_user("owner"))
    html = client.get("/dashboard").get_data(as_text=True)
    assert 'data-nav="nominations"' in html and 'data-nav="appraisals"' not in html


def test_reuse_without_a_scenario_is_a_message_not_a_server_error(client, make_user, login, make_scenario,
                                                                  three_demos):
    demo = three_demos[0]
    owner = make_user("owner", district="yubei")
    make_scenario("published", owner=owner.organisation, district="yubei")
    login(owner)
    response = client.post(f"/demonstrations/{demo.id}/reuse", data={})
    assert response.status_code == 302
    assert "请选择本单位的场景" in client.get(response.headers["Location"]).get_data(as_text=True)


@pytest.mark.postgres
@pytest.mark.skipif(not ON_POSTGRES, reason="row locks: PostgreSQL only (SQLite writes are serial)")
def test_a_nomination_waits_for_a_concurrent_one_and_is_refused(client, make_user, login, delivered, services,
                                                                open_round):
    """The owner and the district (or a double click) nominate one scenario at the same moment: the second waits
    for the first and is refused with a field message (without the lock both inserted: a unique-constraint 500)."""

    from sqlalchemy.orm import Session

    from marketplace.extensions import db
    from marketplace.models import Nomination, Scenario, SelectionRound, User

    owner = make_user("owner")
    scenario = delivered(owner=owner.organisation)
    staff = make_user("district_staff", district="yuzhong")
    login(staff)
    url = f"/showcase/rounds/{open_round.id}/nominate/{scenario.id}"
    with Session(db.engine) as other:
        services.nominate(other, other.get(User, owner.id), other.get(SelectionRound, open_round.id),
                          other.get(Scenario, scenario.id), WRITEUP)  # nominated, not yet committed
        answer = second_waits_for_first(other, lambda: client.post(url, data=WRITEUP), "the second nomination")
    assert answer.status_code == 422, answer.status_code
    assert "已在本次评选中被推荐" in answer.get_data(as_text=True)
    assert db.session.query(Nomination).one().nominated_by_id == owner.id


@pytest.mark.postgres
@pytest.mark.skipif(not ON_POSTGRES, reason="row locks: PostgreSQL only (SQLite writes are serial)")
def test_a_declaration_waits_for_a_concurrent_one_and_is_refused(client, make_user, login, delivered, services,
                                                                 city, open_round):

    from sqlalchemy.orm import Session

    from marketplace.extensions import db
    from marketplace.models import AuditEvent, NominationExpert, User

    owner = make_user("owner")
    nomination = services.nominate(db.session, owner, open_round, delivered(owner=owner.organisation), WRITEUP)
    services.round_transition(db.session, city, open_round, "start_scoring")
    expert = make_user("expert")
    services.assign_expert(db.session, city, open_round, expert)
    db.session.commit()
    assignment = nomination.experts[0]
    login(expert)
    url = f"/showcase/assignments/{assignment.id}/declare"
    with Session(db.engine) as other:
        services.declare(other, other.get(User, expert.id), other.get(NominationExpert, assignment.id), True)
        answer = second_waits_for_first(other, lambda: client.post(
            url, data={"recuse": "y", "note": "曾为揭榜企业提供咨询"}), "the second declaration")
    assert answer.status_code in (303, 409), answer.status_code
    db.session.expire_all()
    assert assignment.declared_at is not None and not assignment.recused
    assert db.session.query(AuditEvent).filter(AuditEvent.action.in_(("nomination.declare",
                                                                      "nomination.recuse"))).count() == 1


@pytest.mark.postgres
@pytest.mark.skipif(not ON_POSTGRES, reason="row locks: PostgreSQL only (SQLite writes are serial)")
def test_scores_submitted_twice_at_once_are_one_set_revised(client, make_user, login, delivered, services, city,
                                                            open_round):
    """The score form double-clicked: the second waits for the first and revises it (without the lock both
    inserted the scores: a unique-constraint 500)."""

    from sqlalchemy.orm import Session

    from marketplace.extensions import db
    from marketplace.models import NominationExpert, NominationScore, User

    owner = make_user("owner")
    nomination = services.nominate(db.session, owner, open_round, delivered(owner=owner.organisation), WRITEUP)
    services.round_transition(db.session, city, open_round, "start_scoring")
    expert = make_user("expert")
    services.assign_expert(db.session, city, open_round, expert)
    assignment = nomination.experts[0]
    services.declare(db.session, expert, assignment, True)
    db.session.commit()
    c1, c2 = open_round.criteria
    ids = (c1.id, c2.id)
    login(expert)
    url = f"/showcase/assignments/{assignment.id}/score"
    with Session(db.engine) as other:
        services.submit_scores(other, other.get(User, expert.id), other.get(NominationExpert, assignment.id),
                               {ids[0]: "90", ids[1]: "80"})
        answer = second_waits_for_first(other, lambda: client.post(
            url, data={f"score_{ids[0]}": "85", f"score_{ids[1]}": "75"}), "the second scoring")
    assert answer.status_code == 302, answer.status_code
    db.session.expire_all()
    values = sorted(str(s.value) for s in db.session.query(NominationScore).all())
    assert values == ["75.00", "85.00"]


@pytest.mark.postgres
@pytest.mark.skipif(not ON_POSTGRES, reason="row locks: PostgreSQL only (SQLite writes are serial)")
def test_an_expert_assigned_twice_at_once_is_assigned_once(client, make_user, login, delivered, services, city,
                                                           open_round):
    """Two city staff (or a double click) assign one expert at the same moment: the second waits for the first and
    assigns nothing new (without the round's lock both inserted: a unique-constraint 500)."""

    from sqlalchemy.orm import Session

    from marketplace.extensions import db
    from marketplace.models import NominationExpert, SelectionRound, User

    owner = make_user("owner")
    services.nominate(db.session, owner, open_round, delivered(owner=owner.organisation), WRITEUP)
    expert = make_user("expert")
    db.session.commit()
    login(make_user("city_staff"))
    url, data = f"/showcase/rounds/{open_round.id}/experts", {"expert_id": str(expert.id)}
    with Session(db.engine) as other:
        services.assign_expert(other, other.get(User, city.id), other.get(SelectionRound, open_round.id),
                               other.get(User, expert.id))
        answer = second_waits_for_first(other, lambda: client.post(url, data=data), "the second assignment")
    assert answer.status_code == 302, answer.status_code
    assert db.session.query(NominationExpert).count() == 1
