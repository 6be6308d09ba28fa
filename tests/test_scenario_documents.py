"""Issue 15 item 5, the scenario page: public documents, the print view, case links and the 公示中 badge."""

from __future__ import annotations

import io
import re
from datetime import timedelta

import pytest
import sqlalchemy as sa

from tests.scenario_factory import PDF

DOCX_TYPE = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"


@pytest.fixture
def add_document(app):
    """``add_document(scenario, public=False, filename='需求说明书.pdf', data=PDF)`` → ScenarioDocument (row made directly)."""
    import hashlib
    import secrets
    from pathlib import Path

    from marketplace.extensions import db
    from marketplace.models import Attachment, AttachmentPurpose, ScenarioDocument

    def add(scenario, public: bool = False, filename: str = "需求说明书.pdf", data: bytes = PDF,
            content_type: str = "application/pdf", size: int | None = None):
        folder = Path(app.config["UPLOAD_DIR"])
        folder.mkdir(parents=True, exist_ok=True)
        name = secrets.token_hex(16)
        (folder / name).write_bytes(data)
        attachment = Attachment(purpose=AttachmentPurpose.SCENARIO_DOCUMENT, filename=filename, stored_name=name,
                                content_type=content_type, size=size if size is not None else len(data),
                                sha256=hashlib.sha256(data).hexdigest())
        document = ScenarioDocument(scenario=scenario, attachment=attachment, public=public)
        db.session.add(document)
        db.session.commit()
        return document

    return add


def _owner_of(make_user, scenario):
    return make_user("owner", organisation=scenario.owner)


def _doc_url(document) -> str:
    return f"/scenarios/{document.scenario_id}/documents/{document.id}"


def _status(client, url: str) -> int:
    """GET *url* and close the response (a served file stays open until then)."""
    response = client.get(url)
    response.close()
    return response.status_code


# ------------------------------------------------------------------ helpers


def test_kind_and_human_size():
    from marketplace.scenarios.documents import human_size, kind_label

    assert human_size(512) == "512 B"
    assert human_size(12 * 1024) == "12 KB"
    assert human_size(int(1.2 * 1024 * 1024)) == "1.2 MB"
    assert kind_label("application/pdf") == "PDF"
    assert kind_label(DOCX_TYPE) == "Word"


# ------------------------------------------------------------------ who downloads what


def test_public_document_of_a_published_scenario_is_listed_and_downloads(client, make_scenario, add_document):
    scenario = make_scenario("published")
    public = add_document(scenario, public=True, filename="需求说明书.pdf", size=int(1.2 * 1024 * 1024))
    internal = add_document(scenario, public=False, filename="内部预算测算.pdf")

    page = client.get(f"/scenarios/{scenario.id}").get_data(as_text=True)
    assert "需求说明书.pdf" in page and "PDF" in page and "1.2 MB" in page
    assert "内部预算测算.pdf" not in page
    assert f'data-document="{internal.id}"' not in page

    response = client.get(_doc_url(public))
    assert response.status_code == 200
    assert response.data == PDF
    response.close()
    assert response.mimetype == "application/pdf"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    disposition = response.headers["Content-Disposition"]
    assert disposition.startswith("attachment;")
    assert "filename*=UTF-8''%E9%9C%80%E6%B1%82%E8%AF%B4%E6%98%8E%E4%B9%A6.pdf" in disposition
    # The generic file URL follows the same rule.
    assert _status(client, f"/files/{public.attachment_id}") == 200


def test_internal_document_is_refused_to_the_public_and_to_firms(client, login, make_scenario, make_user,
                                                                 add_document):
    scenario = make_scenario("published")
    internal = add_document(scenario, public=False)
    assert _status(client, _doc_url(internal)) == 404
    assert _status(client, f"/files/{internal.attachment_id}") == 404
    login(make_user("enterprise"))
    assert _status(client, _doc_url(internal)) == 404
    assert _status(client, f"/files/{internal.attachment_id}") == 404


def test_internal_document_downloads_for_owner_and_reviewer(app, make_scenario, make_user, add_document):
    scenario = make_scenario("published")
    internal = add_document(scenario, public=False)
    for user in (_owner_of(make_user, scenario), make_user("district_staff"),
                 make_user("city_staff")):
        client = app.test_client()
        client.post("/auth/login", data={"email": user.email, "password": "pw-12345678"})
        assert _status(client, _doc_url(internal)) == 200, user.role


def test_public_document_of_a_draft_is_not_downloadable_by_the_public(client, login, make_scenario, make_user,
                                                                      add_document):
    scenario = make_scenario("draft")
    document = add_document(scenario, public=True)
    assert _status(client, _doc_url(document)) == 404
    assert _status(client, f"/files/{document.attachment_id}") == 404
    login(make_user("enterprise"))
    assert _status(client, _doc_url(document)) == 404


def test_api_lists_only_public_documents(client, make_scenario, add_document):
    scenario = make_scenario("published")
    public = add_document(scenario, public=True, filename="接口规范.pdf")
    add_document(scenario, public=False, filename="内部.pdf")
    record = client.get(f"/api/v1/scenarios/{scenario.id}").get_json()
    assert [d["filename"] for d in record["documents"]] == ["接口规范.pdf"]
    item = record["documents"][0]
    assert item["kind"] == "PDF" and item["size"] == len(PDF) and item["size_label"] == f"{len(PDF)} B"
    assert item["url"].endswith(_doc_url(public))


# ------------------------------------------------------------------ the owner uploads and toggles


def test_owner_uploads_internal_then_publishes_and_audit_records_it(client, login, make_scenario, make_user):
    from marketplace.extensions import db
    from marketplace.models import AuditEvent, ScenarioDocument

    scenario = make_scenario("published")
    login(_owner_of(make_user, scenario))
    response = client.post(f"/scenarios/{scenario.id}/documents",
                           data={"file": (io.BytesIO(PDF), "图纸.pdf")}, content_type="multipart/form-data")
    assert response.status_code == 303
    document = db.session.execute(sa.select(ScenarioDocument)).scalar_one()
    assert document.public is False

    anonymous = client.application.test_client()
    assert _status(anonymous, _doc_url(document)) == 404

    assert client.post(f"/scenarios/{scenario.id}/documents/{document.id}/publish").status_code == 303
    db.session.expire_all()
    assert db.session.get(ScenarioDocument, document.id).public is True
    assert _status(anonymous, _doc_url(document)) == 200
    assert "图纸.pdf" in anonymous.get(f"/scenarios/{scenario.id}").get_data(as_text=True)

    assert client.post(f"/scenarios/{scenario.id}/documents/{document.id}/unpublish").status_code == 303
    assert _status(anonymous, _doc_url(document)) == 404
    actions = db.session.execute(sa.select(AuditEvent.action).where(AuditEvent.object_type == "scenario")
                                 .order_by(AuditEvent.id)).scalars().all()
    assert actions[-3:] == ["scenario.document_add", "scenario.document_publish", "scenario.document_unpublish"]


def test_upload_with_public_ticked_and_bad_file_is_a_clear_message(client, login, make_scenario, make_user):
    from marketplace.extensions import db
    from marketplace.models import ScenarioDocument

    scenario = make_scenario("published")
    login(_owner_of(make_user, scenario))
    response = client.post(f"/scenarios/{scenario.id}/documents",
                           data={"file": (io.BytesIO(b"not a pdf"), "说明.pdf")}, content_type="multipart/form-data",
                           follow_redirects=True)
    assert response.status_code == 200
    assert "文件内容与扩展名不符" in response.get_data(as_text=True)
    response = client.post(f"/scenarios/{scenario.id}/documents", data={}, follow_redirects=True)
    assert "请选择要上传的文件" in response.get_data(as_text=True)
    client.post(f"/scenarios/{scenario.id}/documents", data={"file": (io.BytesIO(PDF), "公开.pdf"), "public": "y"},
                content_type="multipart/form-data")
    assert db.session.execute(sa.select(ScenarioDocument.public)).scalars().all() == [True]


def test_owner_deletes_a_document(client, login, make_scenario, make_user, add_document):
    from marketplace.extensions import db
    from marketplace.models import Attachment, ScenarioDocument

    scenario = make_scenario("published")
    document = add_document(scenario, public=True)
    attachment_id = document.attachment_id
    login(_owner_of(make_user, scenario))
    assert client.post(f"/scenarios/{scenario.id}/documents/{document.id}/delete").status_code == 303
    db.session.expire_all()
    assert db.session.get(ScenarioDocument, document.id) is None
    assert db.session.get(Attachment, attachment_id) is None


@pytest.mark.parametrize("who", ["other_owner", "enterprise", "district_staff", "city_staff"])
def test_only_the_owner_toggles_and_uploads(app, make_scenario, make_user, add_document, who):
    from marketplace.extensions import db
    from marketplace.models import ScenarioDocument

    scenario = make_scenario("published")
    document = add_document(scenario, public=False)
    user = make_user("owner") if who == "other_owner" else make_user(who) \
        if who == "district_staff" else make_user(who)
    client = app.test_client()
    client.post("/auth/login", data={"email": user.email, "password": "pw-12345678"})
    toggle = client.post(f"/scenarios/{scenario.id}/documents/{document.id}/publish")
    upload = client.post(f"/scenarios/{scenario.id}/documents", data={"file": (io.BytesIO(PDF), "x.pdf")},
                         content_type="multipart/form-data")
    assert toggle.status_code == 403 and upload.status_code == 403
    db.session.expire_all()
    assert db.session.get(ScenarioDocument, document.id).public is False
    assert db.session.scalar(sa.select(sa.func.count(ScenarioDocument.id))) == 1


def test_owner_cannot_toggle_when_the_edit_rule_refuses(client, login, make_scenario, make_user, add_document):
    """After the deadline the owner no longer edits the scenario, so its documents stay as they are."""
    from marketplace import clock

    scenario = make_scenario("published", deadline=clock.now() - timedelta(hours=1))
    document = add_document(scenario, public=False)
    login(_owner_of(make_user, scenario))
    assert client.post(f"/scenarios/{scenario.id}/documents/{document.id}/publish",
                       follow_redirects=False).status_code == 403


# ------------------------------------------------------------------ print view


def test_print_view_is_public_for_published_and_hidden_for_drafts(client, make_scenario, add_document):
    scenario = make_scenario("published")
    add_document(scenario, public=True, filename="需求说明书.pdf")
    add_document(scenario, public=False, filename="内部.pdf")
    response = client.get(f"/scenarios/{scenario.id}/print")
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert scenario.title in page and "张伟" in page and "023-63001234" in page
    assert "建设边界" in page and "验收标准" in page and "350.00" in page
    assert "需求说明书.pdf" in page and "内部.pdf" not in page
    assert "打印时间" in page and f"/scenarios/{scenario.id}" in page
    assert 'class="navbar' not in page  # no navigation
    assert "js/print.js" in page and "<script>" not in page  # window.print() from a static file (CSP)
    for path, needle in (("/static/css/print.css", "@media print"), ("/static/js/print.js", "window.print()")):
        static = client.get(path)
        assert needle in static.get_data(as_text=True)
        static.close()
    detail = client.get(f"/scenarios/{scenario.id}").get_data(as_text=True)
    assert f'href="/scenarios/{scenario.id}/print"' in detail

    draft = make_scenario("draft")
    assert client.get(f"/scenarios/{draft.id}/print").status_code == 404


# ------------------------------------------------------------------ links between scenario, case and firm


def _verified_firm(make_org):
    from marketplace.extensions import db
    from marketplace.models import EnterpriseProfile, VerificationStatus

    firm = make_org("software_enterprise", name="重庆数智科技有限公司")
    profile = db.session.execute(sa.select(EnterpriseProfile).where(
        EnterpriseProfile.organisation_id == firm.id)).scalar_one()
    profile.status = VerificationStatus.VERIFIED
    db.session.commit()
    return firm, profile


def test_accepted_scenario_links_its_case_and_the_case_links_scenario_and_firm(client, make_scenario, make_org):
    from marketplace import clock
    from marketplace.extensions import db
    from marketplace.models import Demonstration

    firm, profile = _verified_firm(make_org)
    scenario = make_scenario("accepted")
    demo = Demonstration(scenario=scenario, firm=firm, year=2025, title="示范：信号灯联网联控",
                         published_at=clock.now())
    db.session.add(demo)
    db.session.commit()

    page = client.get(f"/scenarios/{scenario.id}").get_data(as_text=True)
    assert "示范案例" in page and f'href="/demonstrations/{demo.id}"' in page

    case = client.get(f"/demonstrations/{demo.id}").get_data(as_text=True)
    assert f'href="/scenarios/{scenario.id}"' in case
    assert re.search(rf'<a href="/enterprises/{profile.id}" id="firm-profile">重庆数智科技有限公司</a>', case)


def test_case_does_not_link_an_unverified_firm_and_scenario_without_case_has_no_link(client, make_scenario,
                                                                                   make_org):
    from marketplace import clock
    from marketplace.extensions import db
    from marketplace.models import Demonstration

    firm = make_org("software_enterprise", name="未认证企业")
    scenario = make_scenario("accepted")
    plain = make_scenario("accepted")
    demo = Demonstration(scenario=scenario, firm=firm, year=2025, title="示范", published_at=clock.now())
    db.session.add(demo)
    db.session.commit()
    case = client.get(f"/demonstrations/{demo.id}").get_data(as_text=True)
    assert "未认证企业" in case and 'id="firm-profile"' not in case
    assert 'id="demonstration-link"' not in client.get(f"/scenarios/{plain.id}").get_data(as_text=True)


# ------------------------------------------------------------------ 公示中


def test_badge_says_publicity_during_the_notice(client, make_scenario):
    from marketplace import clock
    from marketplace.extensions import db
    from marketplace.models import PublicityNotice

    now = clock.now()
    scenario = make_scenario("awarded", title="公示中的场景")
    final = make_scenario("awarded", title="已生效的场景")
    db.session.add_all([
        PublicityNotice(scenario_id=scenario.id, starts_at=now - timedelta(days=1), ends_at=now + timedelta(days=4)),
        PublicityNotice(scenario_id=final.id, starts_at=now - timedelta(days=9), ends_at=now - timedelta(days=4)),
    ])
    db.session.commit()

    detail = client.get(f"/scenarios/{scenario.id}").get_data(as_text=True)
    assert 'data-status="publicity">公示中</span>' in detail
    assert 'data-status="awarded"' not in detail
    assert 'data-status="awarded">已揭榜</span>' in client.get(f"/scenarios/{final.id}").get_data(as_text=True)

    cards = client.get("/scenarios").get_data(as_text=True)
    card = cards[cards.index(f'data-scenario-id="{scenario.id}"'):]
    assert 'data-status="publicity">公示中</span>' in card[:card.index("</article>")]
    card = cards[cards.index(f'data-scenario-id="{final.id}"'):]
    assert 'data-status="awarded">已揭榜</span>' in card[:card.index("</article>")]

    batch = scenario.batches[0]
    assert 'data-status="publicity"' in client.get(f"/batches/{batch.id}").get_data(as_text=True)
    printed = client.get(f"/scenarios/{scenario.id}/print").get_data(as_text=True)
    assert "公示中" in printed


def test_status_macro_colours_publicity():
    from marketplace.models import ScenarioStatus
    from marketplace.scenarios.cards import STATUS_COLOURS, status_badge

    assert STATUS_COLOURS["publicity"].startswith("warning")
    assert 'data-status="publicity"' in str(status_badge(ScenarioStatus.PUBLICITY))


# ------------------------------------------------------------------ English


def test_scenario_list_in_english_has_no_chinese_title(client, make_scenario):
    from datetime import date

    from marketplace.models import Batch, BatchLevel, BatchStage

    make_scenario("published", batch=Batch(name="Batch 2025-1", level=BatchLevel.CITY, stage=BatchStage.COLLECT,
                                           published_on=date.today()))
    client.get("/lang/en")  # the first request of this test (tests share one app context, so Babel's locale)
    page = client.get("/scenarios").get_data(as_text=True)
    assert "<title>Scenarios" in page
    assert "场景清单" not in page, [page[max(0, i - 200):i + 50] for i in [page.find("场景清单")]]


def test_xlsx_export_from_the_english_list_names_its_sheet_in_english(client, make_scenario):
    import openpyxl
    from flask_babel import refresh

    make_scenario("published")
    assert openpyxl.load_workbook(io.BytesIO(client.get("/scenarios/export.xlsx").data)).sheetnames == ["场景清单"]
    client.get("/lang/en")
    refresh()  # tests share one app context, where Babel keeps the locale of the first request
    assert openpyxl.load_workbook(io.BytesIO(client.get("/scenarios/export.xlsx").data)).sheetnames == ["Scenarios"]
