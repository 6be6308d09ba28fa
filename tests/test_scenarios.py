"""Scenario lifecycle: the publish gate, every transition for every role, visibility, batches, Q&A, audit."""

import re
from datetime import timedelta
from decimal import Decimal
from io import BytesIO

import pytest
import sqlalchemy as sa

from marketplace import clock
from marketplace.errors import InvalidTransition, PermissionDenied, ValidationFailed
from marketplace.extensions import db
from marketplace.models import AuditEvent, Batch, Question, Scenario, ScenarioStatus
from marketplace.scenarios import services
from tests.confirm_support import post_confirmed
from tests.conftest import ON_POSTGRES
from tests.races import second_waits_for_first
from tests.scenario_factory import PDF

ROLES = ["owner", "enterprise", "district_staff", "city_staff", "expert"]


def owner_of(make_user, scenario):
    return make_user("owner", organisation=scenario.owner)


# ------------------------------------------------------------------ the publish gate

def test_gate_lists_every_missing_condition(make_scenario):
    scenario = make_scenario("draft", complete=False)
    fields = {p.field for p in services.gate_problems(scenario)}
    assert {"boundary", "acceptance", "funding_source", "budget_wan", "funding_evidence", "deadline",
            "domain", "theme", "delivery_months"} <= fields
    groups = {p.group for p in services.gate_problems(scenario)}
    assert groups == {"basics", "boundary", "funding"}


@pytest.mark.parametrize("missing", ["boundary", "acceptance", "contact_name", "funding_source", "budget_wan",
                                     "funding_evidence"])
def test_submit_refused_while_a_condition_is_missing(make_scenario, make_user, missing):
    scenario = make_scenario("draft")
    setattr(scenario, missing, None if missing in ("funding_source", "budget_wan", "funding_evidence") else "")
    if missing == "funding_evidence":
        scenario.funding_evidence_id = None
    db.session.flush()
    owner = owner_of(make_user, scenario)
    with pytest.raises(ValidationFailed) as error:
        services.transition(db.session, owner, scenario, "submit")
    assert missing in error.value.field_errors
    assert scenario.status == ScenarioStatus.DRAFT


def test_zero_budget_is_refused(make_scenario, make_user):
    scenario = make_scenario("draft")
    with pytest.raises(ValidationFailed) as error:
        services.update(db.session, owner_of(make_user, scenario), scenario, {"budget_wan": Decimal("0")})
    assert "budget_wan" in error.value.field_errors
    scenario.budget_wan = None
    assert "budget_wan" in {p.field for p in services.gate_problems(scenario)}


def test_past_deadline_is_refused_by_the_gate(make_scenario, make_user):
    scenario = make_scenario("draft", deadline=clock.now() - timedelta(hours=1))
    with pytest.raises(ValidationFailed) as error:
        services.transition(db.session, owner_of(make_user, scenario), scenario, "submit")
    assert "deadline" in error.value.field_errors


# ------------------------------------------------------------------ transitions × roles

def actor_for(role, make_user, scenario, same_district=True):
    if role == "owner":
        return owner_of(make_user, scenario)
    district = scenario.district.code if same_district else "yubei"
    return make_user(role, district=district)


ALLOWED = {
    # action: (start status, roles allowed)
    "submit": ("draft", {"owner"}),
    "return": ("submitted", {"district_staff", "city_staff"}),
    "publish": ("submitted", {"district_staff", "city_staff"}),
    "withdraw": ("published", {"owner"}),
}


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("action", list(ALLOWED))
def test_transition_permissions(make_scenario, make_user, role, action):
    start, roles = ALLOWED[action]
    scenario = make_scenario(start)
    actor = actor_for(role, make_user, scenario)
    batch = None
    if action == "publish" and role in roles:
        batch = services.create_batch(db.session, actor, "2025年第9批应用场景清单", "collect", None)
    kwargs = {"reason": "理由充分，请修改", "batch": batch}
    if role in roles:
        services.transition(db.session, actor, scenario, action, **kwargs)
        db.session.commit()
        assert scenario.status == services.TRANSITIONS[action][1]
        event = db.session.execute(sa.select(AuditEvent).where(AuditEvent.action == f"scenario.{action}")).scalar_one()
        assert event.actor_id == actor.id and event.object_id == str(scenario.id)
    else:
        with pytest.raises(PermissionDenied):
            services.transition(db.session, actor, scenario, action, **kwargs)
        assert scenario.status == ScenarioStatus(start)


@pytest.mark.parametrize("action", ["return", "publish"])
def test_district_staff_of_another_district_are_refused(make_scenario, make_user, action):
    scenario = make_scenario("submitted")
    other = actor_for("district_staff", make_user, scenario, same_district=False)
    with pytest.raises(PermissionDenied):
        services.transition(db.session, other, scenario, action, reason="x")


def test_owner_of_another_organisation_is_refused(make_scenario, make_user):
    scenario = make_scenario("draft")
    with pytest.raises(PermissionDenied):
        services.transition(db.session, make_user("owner"), scenario, "submit")


@pytest.mark.parametrize(("start", "action"), [("published", "submit"), ("draft", "publish"), ("draft", "return"),
                                               ("accepted", "withdraw"), ("awarded", "withdraw"),
                                               ("withdrawn", "submit")])
def test_invalid_transitions_are_refused(make_scenario, make_user, start, action):
    scenario = make_scenario(start)
    role = "owner" if action in ("submit", "withdraw") else "city_staff"
    with pytest.raises(InvalidTransition):
        services.transition(db.session, actor_for(role, make_user, scenario), scenario, action, reason="r")


def test_return_needs_a_reason_and_owner_sees_it(make_scenario, make_user, client, login):
    scenario = make_scenario("submitted")
    staff = actor_for("district_staff", make_user, scenario)
    with pytest.raises(ValidationFailed):
        services.transition(db.session, staff, scenario, "return", reason=" ")
    services.transition(db.session, staff, scenario, "return", reason="验收标准不可衡量，请补充量化指标")
    db.session.commit()
    login(owner_of(make_user, scenario))
    html = client.get(f"/scenarios/{scenario.id}").get_data(as_text=True)
    assert "验收标准不可衡量" in html


def test_publish_into_batch_of_wrong_level_is_refused(make_scenario, make_user):
    scenario = make_scenario("submitted")
    city = make_user("city_staff")
    city_batch = services.create_batch(db.session, city, "2025年市级第1批", "collect", None)
    district_staff = actor_for("district_staff", make_user, scenario)
    with pytest.raises(PermissionDenied):
        services.transition(db.session, district_staff, scenario, "publish", batch=city_batch)


def test_city_takes_district_scenario_into_city_list_without_copying(make_scenario, make_user):
    scenario = make_scenario("published")
    city = make_user("city_staff")
    city_batch = services.create_batch(db.session, city, "2025年市级第2批", "develop", None)
    services.take_into_city_batch(db.session, city, scenario, city_batch)
    db.session.commit()
    assert {b.level.value for b in scenario.batches} == {"district", "city"}
    assert db.session.scalar(sa.select(sa.func.count(Scenario.id))) == 1
    with pytest.raises(PermissionDenied):
        services.take_into_city_batch(db.session, actor_for("district_staff", make_user, scenario), scenario,
                                      city_batch)


def test_substantive_edit_of_published_scenario_reopens_review(make_scenario, make_user):
    scenario = make_scenario("published")
    owner = owner_of(make_user, scenario)
    assert services.update(db.session, owner, scenario, {"contact_phone": "023-11112222"}) is False
    assert scenario.status == ScenarioStatus.PUBLISHED
    assert services.update(db.session, owner, scenario, {"budget_wan": Decimal("420.00")}) is True
    db.session.commit()
    assert scenario.status == ScenarioStatus.SUBMITTED and scenario.revision == 2
    # Re-review publishes it again into its existing batch.
    staff = actor_for("district_staff", make_user, scenario)
    services.transition(db.session, staff, scenario, "publish")
    assert scenario.status == ScenarioStatus.PUBLISHED and len(scenario.batches) == 1


def test_closed_is_derived_from_the_deadline(make_scenario, client):
    scenario = make_scenario("published")
    assert scenario.display_status() == ScenarioStatus.PUBLISHED
    scenario.deadline = clock.now() - timedelta(seconds=1)
    db.session.commit()
    assert scenario.display_status() == ScenarioStatus.CLOSED
    assert scenario.status == ScenarioStatus.PUBLISHED  # nothing was written
    html = client.get("/scenarios?status=closed").get_data(as_text=True)
    assert scenario.title in html
    assert scenario.title not in client.get("/scenarios?status=open").get_data(as_text=True)


# ------------------------------------------------------------------ visibility

@pytest.mark.parametrize("status", ["draft", "submitted", "returned", "withdrawn"])
@pytest.mark.parametrize("viewer", ["anonymous", "enterprise", "other_owner", "expert", "other_district"])
def test_unpublished_scenarios_never_leak(make_scenario, make_user, client, login, status, viewer):
    scenario = make_scenario(status, title="内部草稿场景甲乙丙")
    if viewer == "other_owner":
        login(make_user("owner"))
    elif viewer == "other_district":
        login(make_user("district_staff", district="yubei"))
    elif viewer != "anonymous":
        login(make_user(viewer))
    assert client.get(f"/scenarios/{scenario.id}").status_code == 404
    assert "内部草稿场景甲乙丙" not in client.get("/scenarios").get_data(as_text=True)
    evidence = scenario.funding_evidence_id
    assert client.get(f"/files/{evidence}").status_code == 404


@pytest.mark.parametrize("status", ["submitted", "returned"])
def test_owner_and_reviewers_see_review_states(make_scenario, make_user, client, login, status):
    scenario = make_scenario(status)
    for user in (owner_of(make_user, scenario), make_user("district_staff"), make_user("city_staff")):
        login(user)
        assert client.get(f"/scenarios/{scenario.id}").status_code == 200
        with client.get(f"/files/{scenario.funding_evidence_id}") as response:
            assert response.status_code == 200 and response.data == PDF
        client.post("/auth/logout")


def test_drafts_are_for_the_owner_only(make_scenario, make_user, client, login):
    scenario = make_scenario("draft")
    login(make_user("city_staff"))
    assert client.get(f"/scenarios/{scenario.id}").status_code == 404
    client.post("/auth/logout")
    login(owner_of(make_user, scenario))
    assert client.get(f"/scenarios/{scenario.id}").status_code == 200


def test_funding_evidence_of_a_published_scenario_is_not_public(make_scenario, client):
    scenario = make_scenario("published")
    assert client.get(f"/scenarios/{scenario.id}").status_code == 200
    assert client.get(f"/files/{scenario.funding_evidence_id}").status_code == 404


# ------------------------------------------------------------------ list filters and sorting

def test_list_filters_and_sorting(make_scenario, client):
    a = make_scenario("published", title="甲场景", district="yuzhong", budget_wan=Decimal("100.00"),
                      deadline=clock.now() + timedelta(days=3))
    b = make_scenario("published", title="乙场景", district="yubei", budget_wan=Decimal("900.00"),
                      deadline=clock.now() + timedelta(days=30))
    c = make_scenario("awarded", title="丙场景", district="jiangbei", budget_wan=Decimal("500.00"))

    def titles(query):
        html = client.get("/scenarios" + query).get_data(as_text=True)
        return [t for t in (a.title, b.title, c.title) if t in html]

    assert titles("?district=yuzhong&district=yubei") == ["甲场景", "乙场景"]
    assert titles("?status=awarded") == ["丙场景"]
    assert titles("?budget_min=400") == ["乙场景", "丙场景"]
    assert titles("?due_within=7") == ["甲场景"]
    assert titles(f"?batch={b.batches[0].id}") == ["乙场景"]
    html = client.get("/scenarios?sort=budget").get_data(as_text=True)
    assert html.index("乙场景") < html.index("丙场景") < html.index("甲场景")
    html = client.get("/scenarios?sort=deadline&status=open").get_data(as_text=True)
    assert html.index("甲场景") < html.index("乙场景")
    assert client.get("/scenarios?budget_min=abc").status_code == 200  # a bad filter is a message, not a 500


# ------------------------------------------------------------------ pages: drafting and review

def test_owner_drafts_is_told_what_is_missing_then_submits(make_user, client, login, make_org):
    owner = make_user("owner")
    login(owner)
    response = client.post("/scenarios/new", data={"title": "城市内涝监测预警系统", "submit_for_review": "1",
                                                   "mode": "open_call"})
    # The draft is kept (committed) and the owner is sent back to the form with what is missing.
    assert response.status_code == 303 and "/edit" in response.headers["Location"]
    db.session.rollback()  # what follows was committed by the request
    scenario = db.session.execute(sa.select(Scenario)).scalar_one()
    assert scenario.status == ScenarioStatus.DRAFT
    assert not db.session.scalar(sa.select(sa.func.count(AuditEvent.id)).where(AuditEvent.action == "scenario.submit"))
    html = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "发布条件" in html  # the warning flash
    assert 'data-gate-field="boundary"' in html and 'data-gate-field="funding_evidence"' in html
    deadline = clock.to_local(clock.now() + timedelta(days=15)).strftime("%Y-%m-%dT%H:%M")
    response = client.post(f"/scenarios/{scenario.id}/edit", data={
        "title": "城市内涝监测预警系统", "description": "汛期主城区低洼路段积水频发，需要实时监测与预警。",
        "boundary": "包括：30个易涝点监测。不包括：排水管网改造。", "acceptance": "预警提前量不少于30分钟；准确率90%以上。",
        "domain": "iot_embedded", "theme": "smart_city", "contact_name": "陈静", "contact_phone": "023-61234567",
        "funding_source": "fiscal", "budget_wan": "280.5", "deadline": deadline, "delivery_months": "8",
        "mode": "open_call", "submit_for_review": "1",
        "funding_evidence": (BytesIO(PDF), "资金证明.pdf"),
    }, content_type="multipart/form-data")
    assert response.status_code == 302
    db.session.refresh(scenario)
    assert scenario.status == ScenarioStatus.SUBMITTED
    assert scenario.budget_wan == Decimal("280.50")
    assert scenario.funding_evidence.sha256 and scenario.funding_evidence.content_type == "application/pdf"


def test_bad_upload_keeps_the_form(make_user, client, login):
    login(make_user("owner"))
    response = client.post("/scenarios/new", data={
        "title": "智慧医疗影像平台", "description": "保留我填写的描述内容", "mode": "open_call",
        "funding_evidence": (BytesIO(b"MZ\x90\x00 not a pdf"), "证明.pdf"),
    }, content_type="multipart/form-data")
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "文件内容与扩展名不符" in html and "保留我填写的描述内容" in html
    assert db.session.scalar(sa.select(sa.func.count(Scenario.id))) == 0


@pytest.mark.parametrize(("name", "data", "message"), [
    ("a.exe", b"MZ....", "不支持该文件类型"),
    ("a.docx", b"PK\x03\x04garbage", "文件内容与扩展名不符"),
    ("a.png", b"%PDF-1.4", "文件内容与扩展名不符"),
    ("a.pdf", b"", "文件为空"),
])
def test_upload_checks(app, name, data, message):
    from marketplace.attachments import check_file

    with pytest.raises(ValidationFailed) as error:
        check_file(name, data)
    assert message in error.value.message


def test_upload_size_limit(app):
    from marketplace.attachments import MAX_BYTES, check_file

    with pytest.raises(ValidationFailed, match="20 MB"):
        check_file("big.pdf", b"%PDF-" + b"0" * MAX_BYTES)


def test_district_staff_publish_through_the_page(make_scenario, make_user, client, login):
    scenario = make_scenario("submitted")
    login(make_user("district_staff"))
    assert scenario.title in client.get("/review").get_data(as_text=True)
    response = post_confirmed(client, f"/scenarios/{scenario.id}/publish",
                              data={"batch_id": "0", "new_batch_name": "2025年渝中区第4批", "new_batch_stage": "collect"})
    assert response.status_code == 302
    db.session.refresh(scenario)
    assert scenario.status == ScenarioStatus.PUBLISHED
    batch = db.session.execute(sa.select(Batch).where(Batch.name == "2025年渝中区第4批")).scalar_one()
    assert batch.level.value == "district" and batch.district.code == "yuzhong"
    assert scenario.title in client.get(f"/batches/{batch.id}").get_data(as_text=True)
    assert "2025年渝中区第4批" in client.get("/batches").get_data(as_text=True)


def test_refused_return_goes_back_with_the_message(make_scenario, make_user, client, login):
    scenario = make_scenario("submitted")
    login(make_user("district_staff"))
    response = client.post(f"/scenarios/{scenario.id}/return", data={"reason": " "})
    assert response.status_code == 303 and response.headers["Location"] == f"/scenarios/{scenario.id}"
    assert "退回时请写明原因" in client.get(response.headers["Location"]).get_data(as_text=True)
    db.session.refresh(scenario)
    assert scenario.status == ScenarioStatus.SUBMITTED


def test_refused_publish_keeps_nothing_it_wrote(make_scenario, make_user, client, login):
    """The new batch is flushed before the publish gate refuses: the request rolls both back."""
    scenario = make_scenario("submitted", complete=False)
    login(make_user("district_staff"))
    page = f"http://localhost/scenarios/{scenario.id}"
    response = client.post(f"/scenarios/{scenario.id}/publish", headers={"Referer": page},
                           data={"batch_id": "0", "new_batch_name": "不应留下的批次", "new_batch_stage": "collect"})
    assert response.status_code == 303 and response.headers["Location"] == page
    assert "发布条件" in client.get(page).get_data(as_text=True)
    db.session.rollback()
    assert db.session.scalar(sa.select(sa.func.count(Batch.id))) == 0
    assert db.session.get(Scenario, scenario.id).status == ScenarioStatus.SUBMITTED
    assert not db.session.scalar(sa.select(sa.func.count(AuditEvent.id)).where(AuditEvent.action == "batch.create"))


def test_refused_question_goes_back_with_the_message(make_scenario, make_user, client, login):
    scenario = make_scenario("published")
    login(make_user("enterprise"))
    response = client.post(f"/scenarios/{scenario.id}/questions", data={"text": "短"})
    assert response.status_code == 303 and response.headers["Location"] == f"/scenarios/{scenario.id}"
    assert db.session.scalar(sa.select(sa.func.count(Question.id))) == 0
    # The reason names the question (was WTForms' generic "字段长度必须介于 5 到 2000 个字符之间。").
    assert "问题应为 5–2000 个字。" in client.get(response.headers["Location"]).get_data(as_text=True)


@pytest.mark.parametrize("role", ["enterprise", "expert", "owner"])
def test_non_staff_cannot_publish_or_create_batches(make_scenario, make_user, client, login, role):
    scenario = make_scenario("submitted")
    login(make_user(role))
    assert client.post(f"/scenarios/{scenario.id}/publish", data={"batch_id": "0", "new_batch_name": "x"}).status_code in (403, 404)
    assert client.get("/batches/new").status_code == 403
    assert client.get("/review").status_code == 403


@pytest.mark.parametrize("role", ["enterprise", "district_staff", "city_staff", "expert"])
def test_only_owners_draft_scenarios(make_user, client, login, role):
    login(make_user(role))
    assert client.get("/scenarios/new").status_code == 403
    assert client.post("/scenarios/new", data={"title": "x"}).status_code == 403


# ------------------------------------------------------------------ questions and answers

def test_questions_answers_and_anonymity(make_scenario, make_user, client, login, app):
    scenario = make_scenario("published")
    firm = make_user("enterprise", name="提问企业联系人")
    login(firm)
    client.post(f"/scenarios/{scenario.id}/questions", data={"text": "是否需要对接现有的交通信号控制系统？"})
    question = db.session.execute(sa.select(Question)).scalar_one()
    client.post("/auth/logout")
    # Unanswered: not public.
    assert "对接现有的交通信号控制系统" not in client.get(f"/scenarios/{scenario.id}").get_data(as_text=True)
    # Another firm may not answer; the owner does.
    login(make_user("enterprise"))
    assert client.post(f"/scenarios/{scenario.id}/questions/{question.id}/answer", data={"answer": "x"}).status_code == 403
    client.post("/auth/logout")
    login(owner_of(make_user, scenario))
    client.post(f"/scenarios/{scenario.id}/questions/{question.id}/answer", data={"answer": "需要，接口文档由业主提供。"})
    client.post("/auth/logout")
    html = client.get(f"/scenarios/{scenario.id}").get_data(as_text=True)
    assert "对接现有的交通信号控制系统" in html and "接口文档由业主提供" in html
    assert "提问企业联系人" not in html and firm.organisation.name not in html


def test_questions_close_before_the_deadline(make_scenario, make_user, app):
    scenario = make_scenario("published", deadline=clock.now() + timedelta(hours=10))
    firm = make_user("enterprise")
    with pytest.raises(InvalidTransition):
        services.ask(db.session, firm, scenario, "截止前十小时还能提问吗？")
    with pytest.raises(PermissionDenied):
        services.ask(db.session, make_user("owner"), make_scenario("published"), "业主不能提问吧？")


def test_publishing_into_a_new_batch_without_its_name_is_refused_before_the_confirmation(make_scenario, make_user,
                                                                                        client, login):
    """The missing batch name is reported at once, not after the user confirmed the irreversible publish."""
    scenario = make_scenario("submitted")
    login(make_user("district_staff"))
    page = f"/scenarios/{scenario.id}"
    response = client.post(f"{page}/publish", headers={"Referer": page},
                           data={"batch_id": "0", "new_batch_name": "  ", "new_batch_stage": "collect"})
    assert response.status_code == 303 and response.headers["Location"].endswith(page)
    assert "请选择批次或填写新建批次的名称。" in client.get(page).get_data(as_text=True)
    db.session.expire_all()
    assert scenario.status == ScenarioStatus.SUBMITTED


@pytest.mark.parametrize(("budget", "message"), [("0", "预算必须大于 0。"), ("-3", "预算必须大于 0。"),
                                                 ("99999999999999", "预算不能超过 10,000,000 万元")])
def test_an_absurd_budget_is_refused_with_the_right_reason(make_user, client, login, budget, message):
    """A budget above the ceiling was refused with "预算必须大于 0。" — the wrong reason."""
    login(make_user("owner"))
    response = client.post("/scenarios/new", data={"title": "城市内涝监测预警系统", "budget_wan": budget,
                                                   "mode": "open_call", "save": "1"})
    html = response.get_data(as_text=True)
    assert response.status_code in (200, 422)  # the form again, with the value kept
    assert message in html and f'value="{budget}"' in html
    if message != "预算必须大于 0。":
        assert "预算必须大于 0。" not in html


def test_an_overlong_text_field_is_not_blamed_on_an_attachment(make_user, client, login):
    """A description of 200 000 characters (over MAX_FORM_MEMORY_SIZE, far under the upload limit) was answered
    "上传的内容过大，单个附件不能超过 20 MB" — the form held no attachment."""
    login(make_user("owner"))
    # The multipart body is built here: the test client spools a body this large to a file it never closes.
    parts = [("title", "城市内涝监测预警系统"), ("mode", "open_call"), ("description", "描述" * 100_000)]
    body = b"".join(f'--XyZ\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode()
                    for name, value in parts) + b"--XyZ--\r\n"
    response = client.post("/scenarios/new", data=body, content_type="multipart/form-data; boundary=XyZ")
    html = response.get_data(as_text=True)
    assert response.status_code == 413
    assert "表单中某一栏的文字过长" in html and "单个附件" not in html
    assert db.session.scalar(sa.select(sa.func.count(Scenario.id))) == 0


@pytest.mark.parametrize(("status", "label"), [("draft", "保存草稿"), ("returned", "保存草稿"), ("published", "保存修改")])
def test_the_save_button_of_a_published_scenario_is_not_called_save_draft(make_scenario, make_user, client, login,
                                                                         status, label):
    """Editing a published scenario offered only "保存草稿": pressing it sent the scenario back to review."""
    scenario = make_scenario(status)
    login(owner_of(make_user, scenario))
    html = client.get(f"/scenarios/{scenario.id}/edit").get_data(as_text=True)
    save = re.search(r'<input[^>]*name="save"[^>]*>', html).group(0)
    assert f'value="{label}"' in save


def test_an_empty_question_or_answer_is_a_field_error_not_a_server_error(make_scenario, make_user, client, login):
    scenario = make_scenario("published")
    login(make_user("enterprise"))
    response = client.post(f"/scenarios/{scenario.id}/questions", data={"text": ""})
    assert response.status_code == 303  # the message is flashed on the scenario page
    assert "请填写问题" in client.get(response.headers["Location"]).get_data(as_text=True)
    assert client.post(f"/scenarios/{scenario.id}/questions",
                       data={"text": "是否需要对接现有系统？"}).status_code == 302
    question = db.session.execute(sa.select(Question)).scalar_one()
    client.post("/auth/logout")
    login(owner_of(make_user, scenario))
    response = client.post(f"/scenarios/{scenario.id}/questions/{question.id}/answer", data={"answer": ""})
    assert response.status_code == 303
    assert "请填写答复内容" in client.get(response.headers["Location"]).get_data(as_text=True)


def test_a_question_is_answered_only_under_its_own_scenario(make_scenario, make_user, client, login):
    """The owner's other scenario in the URL: "not found", nothing answered."""
    scenario = make_scenario("published")
    owner = owner_of(make_user, scenario)
    other = make_scenario("published", owner=owner.organisation)
    question = services.ask(db.session, make_user("enterprise"), scenario, "是否需要对接现有系统？")
    db.session.commit()
    login(owner)
    response = client.post(f"/scenarios/{other.id}/questions/{question.id}/answer", data={"answer": "需要。"})
    assert response.status_code == 404
    db.session.expire_all()
    assert question.answer is None


@pytest.mark.postgres
@pytest.mark.skipif(not ON_POSTGRES, reason="row locks: PostgreSQL only (SQLite writes are serial)")
def test_a_transition_waits_for_a_concurrent_one_and_is_refused(make_scenario, make_user, client, login):
    """Staff return a submitted scenario while its owner withdraws it: the return waits for the withdrawal and
    is refused (without the row lock both passed the state check and the later one overwrote the other)."""

    from sqlalchemy.orm import Session

    from marketplace.models import User

    scenario = make_scenario("submitted")
    owner = owner_of(make_user, scenario)
    login(make_user("district_staff", district=scenario.district.code))
    with Session(db.engine) as other:
        services.transition(other, other.get(User, owner.id), other.get(Scenario, scenario.id), "withdraw")
        answer = second_waits_for_first(other, lambda:
            client.post(f"/scenarios/{scenario.id}/return", data={"reason": "请补充验收指标。"}), "the return", "the withdrawal")
    assert answer.status_code in (303, 409), answer.status_code
    db.session.expire_all()
    assert scenario.status == ScenarioStatus.WITHDRAWN
    assert db.session.scalar(sa.select(sa.func.count(AuditEvent.id)).where(AuditEvent.action == "scenario.return")) == 0


def test_a_second_answer_to_a_question_is_refused_not_overwritten(make_scenario, make_user, client, login):
    """A published answer is final (the page shows no form once answered): a double-clicked form or a second
    owner user posting later is refused with a message instead of silently replacing the public answer."""
    scenario = make_scenario("published")
    owner = owner_of(make_user, scenario)
    question = services.ask(db.session, make_user("enterprise"), scenario, "是否需要对接现有系统？")
    db.session.commit()
    login(owner)
    url = f"/scenarios/{scenario.id}/questions/{question.id}/answer"
    assert client.post(url, data={"answer": "需要，接口文档由业主提供。"}).status_code == 302
    again = client.post(url, data={"answer": "不需要。"})
    assert again.status_code in (303, 409), again.status_code
    page = client.get(again.headers["Location"]).get_data(as_text=True) if again.status_code == 303 \
        else again.get_data(as_text=True)
    assert "该问题已答复" in page
    db.session.expire_all()
    assert question.answer == "需要，接口文档由业主提供。"
    assert db.session.scalar(sa.select(sa.func.count(AuditEvent.id)).where(AuditEvent.action == "question.answer")) == 1


@pytest.mark.postgres
@pytest.mark.skipif(not ON_POSTGRES, reason="row locks: PostgreSQL only (SQLite writes are serial)")
def test_an_answer_waits_for_a_concurrent_one_and_is_refused(make_scenario, make_user, client, login):
    """Two owner users answer one question at the same moment: the second waits for the first and is refused."""

    from sqlalchemy.orm import Session

    from marketplace.models import User

    scenario = make_scenario("published")
    first = owner_of(make_user, scenario)
    second = make_user("owner", organisation=scenario.owner)
    question = services.ask(db.session, make_user("enterprise"), scenario, "是否需要对接现有系统？")
    db.session.commit()
    login(second)
    with Session(db.engine) as other:
        services.answer(other, other.get(User, first.id), question.id, "需要，接口文档由业主提供。")
        url = f"/scenarios/{scenario.id}/questions/{question.id}/answer"
        answer = second_waits_for_first(other, lambda: client.post(url, data={"answer": "不需要。"}), "the second answer")
    assert answer.status_code in (303, 409), answer.status_code
    db.session.expire_all()
    assert question.answer == "需要，接口文档由业主提供。" and question.answered_by_id == first.id


def test_the_same_question_posted_twice_is_one_question(make_scenario, make_user, client, login):
    """A double-clicked question form made two identical questions for the owner to answer."""
    scenario = make_scenario("published")
    login(make_user("enterprise"))
    url, data = f"/scenarios/{scenario.id}/questions", {"text": "是否需要对接现有的交通信号控制系统？"}
    assert client.post(url, data=data).status_code == 302
    again = client.post(url, data=data)
    page = client.get(again.headers["Location"]).get_data(as_text=True) if again.status_code in (302, 303) \
        else again.get_data(as_text=True)
    assert again.status_code in (303, 422), again.status_code
    assert "请勿重复提交" in page
    assert db.session.scalar(sa.select(sa.func.count(Question.id))) == 1
    assert client.post(url, data={"text": "接口文档何时提供？"}).status_code == 302  # another question is welcome
