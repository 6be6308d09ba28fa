"""Applications keep their files (issue 11.7): files chosen before a validation error are staged on the firm's
draft (listed, removable, never dropped), and a printable receipt (回执) lists each file's name, size and SHA-256.
"""

from __future__ import annotations

import hashlib
import re
from datetime import timedelta

import pytest
import sqlalchemy as sa

from marketplace import clock
from marketplace.extensions import db
from marketplace.models import Application, ApplicationStatus, AuditEvent
from tests.scenario_factory import PDF
from tests.test_applications import attach_pdf, close, form_data, pdf, submit


def test_files_chosen_before_a_validation_error_are_staged_on_the_draft(client, login, make_scenario, make_user):
    scenario = make_scenario()
    firm = make_user("enterprise")
    login(firm)
    # Submitting without the declaration ticked: refused, but the two files are kept on a draft.
    response = client.post(f"/scenarios/{scenario.id}/apply", content_type="multipart/form-data",
                           data=form_data(declares_no_conflict=None, documents=[pdf("技术方案.pdf"), pdf("报价单.pdf")]))
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "已将本次选择的 2 个附件暂存" in html and "附件未保存" not in html
    db.session.expire_all()
    draft = db.session.execute(sa.select(Application).where(Application.scenario_id == scenario.id)).scalar_one()
    assert draft.status == ApplicationStatus.DRAFT and draft.submitted_at is None
    assert {d.attachment.filename for d in draft.documents} == {"报价单.pdf", "技术方案.pdf"}
    # Listed on the re-shown form, removable.
    listed = html[html.index('id="existing-documents"'):]
    assert all(f'id="remove-doc-{d.id}"' in listed for d in draft.documents)
    assert db.session.execute(sa.select(AuditEvent).where(AuditEvent.action == "application.stage_documents")).first()
    # Re-submitting without choosing the files again keeps them: the application is not 无附件.
    removed = next(d for d in draft.documents if d.attachment.filename == "报价单.pdf")
    response = client.post(f"/scenarios/{scenario.id}/apply", content_type="multipart/form-data",
                           data=form_data(remove_documents=str(removed.id)))
    assert response.status_code == 302
    db.session.expire_all()
    assert draft.status == ApplicationStatus.SUBMITTED
    assert [d.attachment.filename for d in draft.documents] == ["技术方案.pdf"]


def test_a_refused_file_is_not_staged_and_the_form_says_so(client, login, make_scenario, make_user):
    scenario = make_scenario()
    login(make_user("enterprise"))
    response = client.post(f"/scenarios/{scenario.id}/apply", content_type="multipart/form-data",
                           data=form_data(documents=[(pdf()[0], "病毒.exe")]))
    assert response.status_code == 422 and "附件未保存" in response.get_data(as_text=True)
    assert db.session.execute(sa.select(sa.func.count(Application.id))).scalar_one() == 0


def test_files_are_not_staged_onto_a_submitted_application(client, login, make_scenario, make_user):
    """A submitted application changes only by a deliberate revision: a refused revision stages nothing."""
    scenario = make_scenario()
    firm = make_user("enterprise")
    application = submit(firm, scenario)
    login(firm)
    response = client.post(f"/scenarios/{scenario.id}/apply", content_type="multipart/form-data",
                           data=form_data(price_wan="", documents=[pdf()]))
    assert response.status_code == 422 and "附件未保存" in response.get_data(as_text=True)
    db.session.expire_all()
    assert application.documents == []


def test_nothing_is_staged_after_the_deadline(client, login, make_scenario, make_user):
    scenario = make_scenario(deadline=clock.now() - timedelta(seconds=1))
    login(make_user("enterprise"))
    client.post(f"/scenarios/{scenario.id}/apply", content_type="multipart/form-data",
                data=form_data(declares_no_conflict=None, documents=[pdf()]))
    assert db.session.execute(sa.select(sa.func.count(Application.id))).scalar_one() == 0


# ------------------------------------------------------------------ the receipt

@pytest.fixture
def submitted(make_scenario, make_user, make_org):
    scenario = make_scenario()
    firm = make_user("enterprise", organisation=make_org("software_enterprise", name="甲软件股份有限公司"))
    application = submit(firm, scenario)
    attachment = attach_pdf(application, "甲公司技术方案.pdf")
    return scenario, application, attachment, firm


def test_the_firm_prints_a_receipt_with_every_file_hash(submitted, client, login):
    from marketplace.applications import services

    scenario, application, attachment, firm = submitted
    login(firm)
    html = client.get(f"/applications/{application.id}/receipt").get_data(as_text=True)
    assert services.receipt_number(application) in html
    assert re.search(r'id="submitted-at">\d{4}-\d\d-\d\d \d\d:\d\d:\d\d', html)  # to the second
    assert "甲公司技术方案.pdf" in html and f"{len(PDF):,}" in html
    assert hashlib.sha256(PDF).hexdigest() == attachment.sha256 and attachment.sha256 in html
    assert f"/applications/{application.id}/receipt" in client.get(f"/applications/{application.id}").get_data(
        as_text=True)


@pytest.mark.parametrize("role", ["owner", "district_staff", "city_staff", "expert", "other_firm"])
def test_nobody_else_sees_the_receipt_while_sealed(submitted, client, login, make_user, role):
    scenario, application, _attachment, _firm = submitted
    user = make_user("owner", organisation=scenario.owner) if role == "owner" else make_user(
        "enterprise" if role == "other_firm" else role, district="yuzhong" if role == "district_staff" else None)
    login(user)
    response = client.get(f"/applications/{application.id}/receipt")
    assert response.status_code == 404 and "甲公司技术方案.pdf" not in response.get_data(as_text=True)


def test_staff_see_the_receipt_after_sealing_experts_never(submitted, client, login, make_user):
    from marketplace.models import ExpertAssignment

    scenario, application, _attachment, _firm = submitted
    expert = make_user("expert", district=None)
    db.session.add(ExpertAssignment(scenario_id=scenario.id, expert_id=expert.id, declared_at=clock.now()))
    close(scenario)
    login(make_user("district_staff"))
    assert client.get(f"/applications/{application.id}/receipt").status_code == 200
    client.post("/auth/logout")
    login(expert)
    assert client.get(f"/applications/{application.id}/receipt").status_code == 404


def test_anonymous_is_sent_to_login(submitted, client):
    _scenario, application, _attachment, _firm = submitted
    response = client.get(f"/applications/{application.id}/receipt")
    assert response.status_code == 302 and "/auth/login" in response.headers["Location"]



def _multipart(fields: dict, filename: bytes, content: bytes) -> tuple[bytes, str]:
    """A form with one file whose name is sent byte for byte (the test client would clean it up first)."""
    parts = [b'--B\r\nContent-Disposition: form-data; name="%s"\r\n\r\n%s\r\n' % (k.encode(), str(v).encode())
             for k, v in fields.items()]
    parts.append(b'--B\r\nContent-Disposition: form-data; name="documents"; filename="%s"\r\n'
                 b"Content-Type: application/pdf\r\n\r\n%s\r\n" % (filename, content))
    return b"".join(parts) + b"--B--\r\n", "multipart/form-data; boundary=B"


@pytest.mark.parametrize(("sent", "kept"), [
    ("技术\x00方案.pdf", "技术方案.pdf"),  # PostgreSQL text cannot hold a NUL: a server error there
    ("../x/方案\x07\x1b.pdf", "方案.pdf"),
    ("方" * 300 + ".pdf", "方" * 251 + ".pdf"),  # cut to 255 characters, the extension kept
])
def test_upload_names_are_cleaned_before_they_are_stored(client, login, make_scenario, make_user, sent, kept):
    scenario = make_scenario()
    login(make_user("enterprise"))
    body, content_type = _multipart(form_data(submit=None), sent.encode(), PDF)
    response = client.post(f"/scenarios/{scenario.id}/apply", data=body, content_type=content_type)
    assert response.status_code == 302
    db.session.expire_all()
    draft = db.session.execute(sa.select(Application).where(Application.scenario_id == scenario.id)).scalar_one()
    assert [d.attachment.filename for d in draft.documents] == [kept]
