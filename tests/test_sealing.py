"""Sealed until the deadline: no one but the applying firm reads an application — on every path.

Paths: the application page, the owner/reviewer list, the attachment download, the CSV export of
applications, the JSON API, the scenario page, the scenario exports, search, and the query layer
itself. Roles: owner, same-district staff, other-district staff, city staff, declared expert,
other firm, anonymous. After the deadline the owner, reviewers and declared experts read
submitted applications; drafts and withdrawn applications stay private for ever.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa

from marketplace import clock
from marketplace.extensions import db
from marketplace.models import Application, ApplicationStatus, ScenarioStatus
from tests.test_applications import FULL, as_role, attach_pdf, build_world, close, fetch, submit


@pytest.fixture
def world(make_scenario, make_user, make_org):
    """The shared world of ``tests/test_applications.py``: one sealed application, one draft, every role."""
    return build_world(make_scenario, make_user, make_org)

#: Strings that belong to the sealed application of 甲软件股份有限公司 (see the ``world`` fixture).
SECRETS = ("SEALTOKEN", "312.34", "甲软件股份有限公司", "甲公司技术方案.pdf")
NON_APPLICANTS = ["anonymous", "owner", "district", "other_district", "city", "expert", "other_firm",
                  "other_owner", "expert_undeclared"]
#: May read submitted applications once the deadline has passed.
READERS_AFTER = ["owner", "district", "city", "expert"]
NEVER_READERS = ["anonymous", "other_district", "other_firm", "other_owner", "expert_undeclared"]


def assert_no_secrets(text: str) -> None:
    for secret in SECRETS:
        assert secret not in text, secret


def pages(client, world):
    """Every read path for an application, as (name, response)."""
    s, a = world.scenario.id, world.application.id
    return [
        ("application page", client.get(f"/applications/{a}")),
        ("attachment", fetch(client, f"/files/{world.document.id}")),
        ("owner list", client.get(f"/scenarios/{s}/applications")),
        ("applications csv", client.get(f"/scenarios/{s}/applications.csv")),
        ("api", client.get(f"/api/v1/scenarios/{s}/applications")),
        ("scenario page", client.get(f"/scenarios/{s}")),
        ("scenario api", client.get(f"/api/v1/scenarios/{s}")),
        ("scenario list", client.get("/scenarios")),
        *[(f"scenario export {fmt}", client.get(f"/scenarios/export.{fmt}")) for fmt in ("csv", "json")],
        ("my applications", client.get("/my/applications")),
    ]


# ---------------------------------------------------------------- before the deadline

@pytest.mark.parametrize("role", NON_APPLICANTS)
def test_sealed_on_every_path_before_the_deadline(client, login, world, role):
    as_role(client, login, world, role)
    for name, response in pages(client, world):
        body = response.get_data(as_text=True)
        assert_no_secrets(body)
        if name in ("application page", "attachment"):
            assert response.status_code in (302, 404), (name, response.status_code)
        if name == "api":
            assert response.status_code == (401 if role == "anonymous" else 403)
            assert response.get_json()["error"]["status"] == response.status_code


@pytest.mark.parametrize("role", NON_APPLICANTS)
def test_query_layer_returns_nothing_before_the_deadline(world, role):
    from marketplace.applications import policy, services

    user = world.users.get(role)
    own = {world.draft.id} if role == "other_firm" else set()  # the other firm reads its own draft only
    assert {a.id for a in services.readable_applications(db.session, user)} == own
    assert {a.id for a in services.readable_applications(db.session, user, world.scenario)} == own
    assert not policy.can_read(user, world.application)
    from marketplace.errors import NotFound

    with pytest.raises(NotFound):
        services.get_readable(db.session, user, world.application.id)


@pytest.mark.parametrize("role", ["owner", "district", "city", "expert"])
def test_owner_list_shows_only_the_count_while_sealed(client, login, world, role):
    as_role(client, login, world, role)
    response = client.get(f"/scenarios/{world.scenario.id}/applications")
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert 'data-count="1"' in html  # the submitted one; the other firm's draft does not count
    assert 'id="sealed-notice"' in html and 'id="applications-table"' not in html
    assert_no_secrets(html)


@pytest.mark.parametrize("role", ["owner", "district", "city"])
def test_api_is_403_json_before_the_deadline(client, login, world, role):
    as_role(client, login, world, role)
    response = client.get(f"/api/v1/scenarios/{world.scenario.id}/applications")
    assert response.status_code == 403
    error = response.get_json()["error"]
    assert error["status"] == 403 and "密封" in error["message"] and "1 份" in error["message"]


def test_scenario_page_shows_the_count_to_everyone(client, world):
    html = client.get(f"/scenarios/{world.scenario.id}").get_data(as_text=True)
    assert 'data-application-count="1"' in html and "家企业已揭榜" in html
    assert_no_secrets(html)


def test_the_firm_reads_its_own_application_before_the_deadline(client, login, world):
    login(world.users["firm"])
    page = client.get(f"/applications/{world.application.id}").get_data(as_text=True)
    assert "SEALTOKEN" in page and "312.34" in page
    assert fetch(client, f"/files/{world.document.id}").status_code == 200
    assert "贵单位的申请" in client.get(f"/scenarios/{world.scenario.id}").get_data(as_text=True)
    # …but not another firm's draft.
    assert client.get(f"/applications/{world.draft.id}").status_code == 404


def test_audit_log_and_notifications_hold_no_sealed_content(world):
    from marketplace.models import AuditEvent, Notification, OutboxMessage

    for event in db.session.execute(sa.select(AuditEvent)).scalars():
        assert "SEALTOKEN" not in str(event.after) and "312.34" not in str(event.after)
    for n in db.session.execute(sa.select(Notification)).scalars():
        assert "SEALTOKEN" not in n.body and "312.34" not in n.body
        assert n.user.organisation_id == world.application.organisation_id
    for message in db.session.execute(sa.select(OutboxMessage)).scalars():
        assert "312.34" not in message.body


def test_search_never_indexes_applications(client, world):
    """Applications are not a searchable document type; any search page returns none of their text."""
    from flask import current_app

    from marketplace.search.documents import DOC_TYPES

    assert "application" not in DOC_TYPES
    for rule in current_app.url_map.iter_rules():
        if rule.rule in ("/search", "/api/v1/search") and "GET" in rule.methods:
            for q in ("SEALTOKEN", "甲软件股份有限公司"):
                response = client.get(rule.rule, query_string={"q": q})
                # The search page repeats the query itself; the application's text appears nowhere else.
                assert "SEALTOKEN" not in response.get_data(as_text=True).replace(q, "")
                assert "<mark>" not in response.get_data(as_text=True) or q != "SEALTOKEN"


# ---------------------------------------------------------------- after the deadline

@pytest.mark.parametrize("role", READERS_AFTER)
def test_owner_reviewers_and_declared_experts_read_after_the_deadline(client, login, world, role):
    close(world.scenario)
    as_role(client, login, world, role)
    page = client.get(f"/applications/{world.application.id}").get_data(as_text=True)
    assert "SEALTOKEN" in page and "312.34" in page and "甲公司技术方案.pdf" in page
    assert fetch(client, f"/files/{world.document.id}").status_code == 200
    listing = client.get(f"/scenarios/{world.scenario.id}/applications").get_data(as_text=True)
    assert "甲软件股份有限公司" in listing and "312.34" in listing and 'id="sealed-notice"' not in listing
    exported = client.get(f"/scenarios/{world.scenario.id}/applications.csv")
    assert exported.headers["Content-Type"] == "text/csv; charset=utf-8"  # the parameter once
    csv_text = exported.get_data(as_text=True)
    assert csv_text.startswith("\ufeff") and "甲软件股份有限公司" in csv_text and "312.34" in csv_text
    # The other firm's draft is never among them.
    assert "DRAFTTOKEN" not in listing and "DRAFTTOKEN" not in csv_text
    assert client.get(f"/applications/{world.draft.id}").status_code == 404
    # The scenario page links to the list.
    assert "查看揭榜申请" in client.get(f"/scenarios/{world.scenario.id}").get_data(as_text=True)


@pytest.mark.parametrize("role", ["owner", "district", "city"])
def test_api_lists_applications_after_the_deadline(client, login, world, role):
    import re

    close(world.scenario)
    as_role(client, login, world, role)
    response = client.get(f"/api/v1/scenarios/{world.scenario.id}/applications")
    assert response.status_code == 200
    body = response.get_json()
    assert body["count"] == 1 and [i["id"] for i in body["items"]] == [world.application.id]
    item = body["items"][0]
    assert item["firm"] == "甲软件股份有限公司"
    assert item["price_wan"] == "312.34" and isinstance(item["price_wan"], str)
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+08:00", item["submitted_at"])
    assert item["status"] == "submitted"


@pytest.mark.parametrize("role", NEVER_READERS)
def test_others_never_read_even_after_the_deadline(client, login, world, role):
    close(world.scenario)
    as_role(client, login, world, role)
    for name, response in pages(client, world):
        if name == "my applications":
            continue
        assert_no_secrets(response.get_data(as_text=True))
    assert client.get(f"/applications/{world.application.id}").status_code in (302, 404)
    assert fetch(client, f"/files/{world.document.id}").status_code == 404


@pytest.mark.parametrize("role", READERS_AFTER)
def test_drafts_and_withdrawn_applications_stay_private_after_the_deadline(client, login, world, make_user, role):
    from marketplace.applications import services, submission

    draft_document = attach_pdf(world.draft, "乙公司草稿附件.pdf")
    leaver = make_user("enterprise")
    withdrawn = submit(leaver, world.scenario, summary="WITHDRAWNTOKEN 的方案内容，已经撤回。")
    submission.withdraw(db.session, leaver, withdrawn)
    db.session.commit()
    close(world.scenario)
    as_role(client, login, world, role)
    for application in (world.draft, withdrawn):
        assert client.get(f"/applications/{application.id}").status_code == 404
    assert fetch(client, f"/files/{draft_document.id}").status_code == 404
    listing = client.get(f"/scenarios/{world.scenario.id}/applications").get_data(as_text=True)
    assert "DRAFTTOKEN" not in listing and "WITHDRAWNTOKEN" not in listing
    assert [a.id for a in services.readable_applications(db.session, world.users[role], world.scenario)] == [
        world.application.id]


def test_deadline_is_exact_to_the_second_for_readers(client, login, world, monkeypatch):
    deadline = world.scenario.deadline
    login(world.users["owner"])
    monkeypatch.setattr(clock, "now", lambda: deadline - timedelta(microseconds=1))
    assert client.get(f"/applications/{world.application.id}").status_code == 404
    monkeypatch.setattr(clock, "now", lambda: deadline)
    assert client.get(f"/applications/{world.application.id}").status_code == 200


@pytest.mark.parametrize("status", ["submitted", "returned", "withdrawn", "draft"])
def test_scenario_outside_the_public_statuses_stays_sealed_past_its_deadline(client, login, world, status):
    """An owner cannot move the deadline into the past during re-review (or withdraw) to read bids early."""
    world.scenario.status = ScenarioStatus(status)
    db.session.commit()
    close(world.scenario)
    for role in ("owner", "city"):
        user = world.users[role]
        from marketplace.applications import policy, services

        assert not policy.can_read(user, world.application)
        assert services.readable_applications(db.session, user, world.scenario) == []
    login(world.users["owner"])
    assert client.get(f"/applications/{world.application.id}").status_code == 404
    # The firm itself still reads its own.
    from marketplace.applications import policy

    assert policy.can_read(world.users["firm"], world.application)


@pytest.mark.parametrize("opened", [False, True])
def test_readable_clause_agrees_with_can_read(world, make_user, opened):
    """The SQL rule and the Python twin give the same answer for every user and application."""
    from marketplace.applications import policy

    leaver = make_user("enterprise")
    withdrawn = submit(leaver, world.scenario, summary="撤回的方案内容写满十个字以上。")
    withdrawn.status = ApplicationStatus.WITHDRAWN
    db.session.commit()
    if opened:
        close(world.scenario)
    users = [None, *world.users.values(), leaver]
    applications = db.session.execute(sa.select(Application)).scalars().all()
    assert len(applications) == 3
    for user in users:
        in_sql = set(db.session.execute(
            sa.select(Application.id).join(Application.scenario).where(policy.readable_clause(user))).scalars())
        in_python = {a.id for a in applications if policy.can_read(user, a)}
        assert in_sql == in_python, user


def test_document_access_rule_is_registered(app):
    from marketplace.models import AttachmentPurpose

    assert AttachmentPurpose.APPLICATION_DOCUMENT in app.extensions["marketplace.attachment_rules"]


def test_full_application_fixture_is_complete(world):
    assert world.application.status == ApplicationStatus.SUBMITTED
    assert world.draft.status == ApplicationStatus.DRAFT
    assert FULL["declares_no_conflict"]
