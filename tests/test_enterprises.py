"""Enterprise capability profiles: editing by the firm, verification by staff, the public directory.

Covers the permission matrix (every role on every protected route), verification only by
same-district or city staff, that nothing unverified or pending is ever public, evidence
download rights, directory filters, bad input with field errors, panels and the demo data.
"""

from __future__ import annotations

import hashlib
import io
import re
import secrets
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from tests.conftest import ON_POSTGRES
from tests.races import second_waits_for_first

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32
ROLES = ["owner", "enterprise", "district_staff", "city_staff", "expert"]


# ---------------------------------------------------------------- helpers (also used by test_api_enterprises)

def create_evidence(organisation, filename: str = "证书.pdf"):
    """A stored qualification-evidence file of ``organisation``."""
    from flask import current_app

    from marketplace.extensions import db
    from marketplace.models import Attachment, AttachmentPurpose

    folder = Path(current_app.config["UPLOAD_DIR"])
    folder.mkdir(parents=True, exist_ok=True)
    name = secrets.token_hex(16)
    (folder / name).write_bytes(PDF)
    attachment = Attachment(purpose=AttachmentPurpose.QUALIFICATION_EVIDENCE, filename=filename, stored_name=name,
                            content_type="application/pdf", size=len(PDF), sha256=hashlib.sha256(PDF).hexdigest(),
                            organisation=organisation)
    db.session.add(attachment)
    db.session.flush()
    return attachment


def create_profile(organisation, status: str = "verified", *, domains=("software",), qualifications=(),
                   cases=(), capabilities: str = "政务数据治理和智慧城市平台建设，拥有自主知识产权的数据中台产品。",
                   tags: str = "数据中台、数字孪生", **fields):
    """The organisation's profile filled in through the ORM (created if the organisation has none).

    ``qualifications``: (kind, status[, detail]) tuples.
    """
    from marketplace import clock
    from marketplace.enterprises.services import profile_of
    from marketplace.extensions import db
    from marketplace.models import (
        Domain,
        EnterpriseProfile,
        ProfileCase,
        Qualification,
        QualificationKind,
        RevenueBand,
        VerificationStatus,
    )

    values = dict(organisation=organisation, status=VerificationStatus(status), address="重庆市渝中区解放碑路1号",
                  building="解放碑金融大厦", founded_on=date(2015, 3, 1), employees=120,
                  revenue_band=RevenueBand.FROM_20M, business_scope="软件开发；信息系统集成服务；数据处理服务",
                  capabilities=capabilities, tags=tags, contact_name="王芳", contact_phone="023-63001111",
                  contact_email="wang@firm.cq", website="https://www.firm.example.cq")
    if status == "verified":
        values["verified_at"] = clock.now()
    values.update(fields)
    profile = profile_of(db.session, organisation.id) or EnterpriseProfile(organisation=organisation)
    for name, value in values.items():
        setattr(profile, name, value)
    profile.domains = [db.session.query(Domain).filter_by(code=code).one() for code in domains]
    db.session.add(profile)
    for item in qualifications:
        kind, q_status, *rest = item
        db.session.add(Qualification(profile=profile, kind=QualificationKind(kind), status=VerificationStatus(q_status),
                                     detail=rest[0] if rest else None, year=2022,
                                     evidence=create_evidence(organisation)))
    for title in cases:
        db.session.add(ProfileCase(profile=profile, title=title, client="重庆市大数据应用发展管理局", year=2023,
                                   amount_wan=Decimal("180.50"), description="建设全市数据共享交换平台。"))
    db.session.commit()
    return profile


def download(client, attachment_id: int):
    """GET a file and close the response (downloads hold an open file)."""
    response = client.get(f"/files/{attachment_id}")
    response.get_data()
    response.close()
    return response


def _get(model, ident):
    from marketplace.extensions import db

    db.session.expire_all()
    return db.session.get(model, ident)


def _profile(organisation_id: int):
    from marketplace.extensions import db
    from marketplace.models import EnterpriseProfile

    db.session.expire_all()
    return db.session.query(EnterpriseProfile).filter_by(organisation_id=organisation_id).one_or_none()


def _actions(object_type: str) -> list[str]:
    from marketplace.extensions import db
    from marketplace.models import AuditEvent

    return [e.action for e in db.session.query(AuditEvent).filter_by(object_type=object_type).order_by(AuditEvent.id)]


FULL_FORM = {
    "address": "重庆市渝北区星光大道1号", "building": "星光时代广场", "founded_on": "2016-05-20", "settled_year": "",
    "employees": "85", "revenue_band": "2000w_1y", "business_scope": "软件开发；信息技术咨询服务",
    "capabilities": "专注工业互联网平台与设备联网，服务汽车、电子制造企业两百余家。",
    "domains": ["industrial_internet", "software"], "tags": "工业互联网, 设备联网；数字孪生、工业互联网",
    "website": "www.example-firm.cq", "contact_name": "李强", "contact_phone": "13800001111",
    "contact_email": "LI@example-firm.cq",
}


@pytest.fixture
def firm_user(make_user):
    return make_user("enterprise", district="yuzhong")


# ---------------------------------------------------------------- editing by the firm

def test_registration_creates_the_profile_and_saving_edits_it(client):
    from marketplace.extensions import db
    from marketplace.models import AuditEvent, RevenueBand, User, VerificationStatus
    from tests.test_auth import register_and_confirm

    register_and_confirm(client)
    user = db.session.query(User).filter_by(email="wang.fang@firm.cq").one()
    profile = _profile(user.organisation_id)
    assert profile is not None and profile.status == VerificationStatus.UNVERIFIED
    assert profile.contact_email == user.email and profile.contact_name == user.name  # the registrant is the contact
    created = db.session.query(AuditEvent).filter_by(action="enterprise_profile.create").one()
    assert created.actor_id == user.id and created.after == {"organisation": user.organisation_id}
    assert client.get("/my/profile").status_code == 200
    response = client.post("/my/profile", data={**FULL_FORM, "save": "y"})
    assert response.status_code == 302
    profile = _profile(user.organisation_id)
    assert profile.building == "星光时代广场" and profile.employees == 85
    assert profile.revenue_band == RevenueBand.FROM_20M
    assert profile.founded_on == date(2016, 5, 20)
    assert [d.code for d in profile.domains] == ["software", "industrial_internet"]
    assert profile.tags == "工业互联网、设备联网、数字孪生"
    assert profile.website == "https://www.example-firm.cq"
    assert profile.contact_email == "li@example-firm.cq"
    assert profile.status == VerificationStatus.UNVERIFIED
    assert _actions("enterprise_profile") == ["enterprise_profile.create", "enterprise_profile.update"]


def _row_counts() -> dict[str, int]:
    """Rows in every table, the audit log included."""
    import sqlalchemy as sa

    from marketplace.extensions import db

    return {table.name: db.session.scalar(sa.select(sa.func.count()).select_from(table))
            for table in db.metadata.sorted_tables}


def test_the_profile_pages_of_a_newly_registered_firm_write_nothing(client):
    from marketplace.extensions import db
    from marketplace.models import User
    from tests.test_auth import register_and_confirm

    register_and_confirm(client)
    user = db.session.query(User).filter_by(email="wang.fang@firm.cq").one()
    before = _row_counts()
    assert before["enterprise_profiles"] == 1 and before["audit_events"] >= 2
    page = client.get("/my/profile")
    assert page.status_code == 200 and user.organisation.name in page.get_data(as_text=True)
    assert client.get("/dashboard").status_code == 200
    db.session.expire_all()
    assert _row_counts() == before


def test_a_firm_without_a_profile_is_told_to_contact_staff_and_nothing_is_written(client, login, firm_user):
    from marketplace.extensions import db
    from marketplace.models import EnterpriseProfile

    db.session.delete(_profile(firm_user.organisation_id))  # as before the backfill of existing firms
    db.session.commit()
    login(firm_user)
    before = _row_counts()
    response = client.get("/my/profile")
    assert response.status_code == 404 and "请联系平台工作人员" in response.get_data(as_text=True)
    response = client.post("/my/profile", data={**FULL_FORM, "save": "y"})
    assert response.status_code == 404
    db.session.expire_all()
    assert _row_counts() == before and db.session.query(EnterpriseProfile).count() == 0


def test_submitting_needs_scope_capabilities_and_a_domain_and_keeps_the_edits(client, login, firm_user):
    from marketplace.models import VerificationStatus

    login(firm_user)
    client.get("/my/profile")
    data = {**FULL_FORM, "business_scope": "", "domains": [], "submit_for_verification": "y"}
    response = client.post("/my/profile", data=data)
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "请填写经营范围" in html and "请至少选择一个产业领域" in html
    assert 'value="星光时代广场"' in html  # the form keeps what was typed
    profile = _profile(firm_user.organisation_id)
    assert profile.status == VerificationStatus.UNVERIFIED
    assert profile.building == "星光时代广场"  # ...and the edits themselves were saved


def test_submitting_sets_pending_and_tells_district_staff(client, login, firm_user, make_user):
    from marketplace.extensions import db
    from marketplace.models import Notification, VerificationStatus

    staff = make_user("district_staff", district="yuzhong")
    other = make_user("district_staff", district="yubei")
    login(firm_user)
    client.get("/my/profile")
    response = client.post("/my/profile", data={**FULL_FORM, "submit_for_verification": "y"})
    assert response.status_code == 302
    assert _profile(firm_user.organisation_id).status == VerificationStatus.PENDING
    assert db.session.query(Notification).filter_by(user_id=staff.id, kind="enterprise.submitted").count() == 1
    assert db.session.query(Notification).filter_by(user_id=other.id).count() == 0
    assert "enterprise_profile.submit" in _actions("enterprise_profile")
    # Submitting twice is refused with a message, nothing else changes.
    response = client.post("/my/profile/submit")
    assert response.status_code == 303 and response.headers["Location"] == "/my/profile"
    assert "企业信息已提交核验，请等待区县工作人员处理" in client.get("/my/profile").get_data(as_text=True)


@pytest.mark.parametrize(("field", "value", "message"), [
    ("settled_year", "20x5", "不是有效的整数"),
    ("settled_year", "1800", "年份应在"),
    ("settled_year", "2010", "入驻年份不能早于成立年份"),
    ("employees", "-3", "员工人数应为"),
    ("founded_on", "2999-01-01", "成立日期不能晚于今天"),
    ("founded_on", "2020-13-40", "不是有效的日期"),
    ("website", "not a url", "网址格式不正确"),
    ("contact_phone", "abc", "联系电话格式不正确"),
    ("contact_email", "nobody", "邮箱格式不正确"),
    ("domains", ["nonsense"], "请选择有效的产业领域"),
    ("revenue_band", "huge", "Not a valid choice"),
])
def test_bad_profile_input_gives_field_errors_and_keeps_the_form(client, login, firm_user, field, value, message):
    login(firm_user)
    client.get("/my/profile")
    response = client.post("/my/profile", data={**FULL_FORM, field: value, "save": "y"})
    html = response.get_data(as_text=True)
    assert response.status_code == 422, html[:500]
    if message != "Not a valid choice":
        assert message in html
    assert "is-invalid" in html
    assert "专注工业互联网平台与设备联网" in html  # other fields are kept in the form
    assert _profile(firm_user.organisation_id).building == ""  # nothing half-saved


def test_the_refusal_summary_has_no_doubled_punctuation(client, login, firm_user):
    """The summary said "成立日期不能晚于今天。；员工人数应为…。；网址格式不正确…。" (every refusal that lists its
    field messages in one line: profile, qualification, case, appraisal, showcase, scoring, application)."""
    login(firm_user)
    client.get("/my/profile")
    html = client.post("/my/profile", data={**FULL_FORM, "founded_on": "2999-01-01", "employees": "-3",
                                            "website": "not a url", "save": "y"}).get_data(as_text=True)
    assert "成立日期不能晚于今天；" in html and "。；" not in html


def test_create_profile_once_per_firm_and_only_for_firms(app, make_org, make_user):
    from marketplace.enterprises import services
    from marketplace.extensions import db
    from marketplace.models import EnterpriseProfile

    firm = make_org("software_enterprise")  # the factory creates the profile as registration does
    first = services.profile_of(db.session, firm.id)
    assert first is not None and first.contact_name == ""  # nobody of the firm created it: no contact yet
    staff = make_user("city_staff")
    assert services.create_profile(db.session, firm, staff) is first
    db.session.commit()
    assert db.session.query(EnterpriseProfile).count() == 1
    assert _actions("enterprise_profile") == ["enterprise_profile.create"]
    with pytest.raises(ValueError):
        services.create_profile(db.session, make_org("government"), staff)
    assert services.normalise_tags("CI/CD、Spring Boot，大数据;大数据") == ["CI/CD", "Spring Boot", "大数据"]


def test_city_staff_creating_a_firm_or_its_user_create_the_profile(app, make_org, make_user):
    from marketplace.admin import services as admin
    from marketplace.enterprises import services
    from marketplace.extensions import db

    staff = make_user("city_staff")
    firm = admin.save_organisation(db.session, staff, None, {"name": "重庆新建软件有限公司",
                                                              "kind": "software_enterprise", "district": "yubei"},
                                   "127.0.0.1")
    db.session.commit()
    assert services.profile_of(db.session, firm.id) is not None
    # An organisation made a software firm later gets its profile then.
    other = make_org("other")
    admin.save_organisation(db.session, staff, other, {"name": other.name, "kind": "software_enterprise"}, None)
    db.session.commit()
    assert services.profile_of(db.session, other.id) is not None
    # A firm that has none (created before profiles came with firms) gets it with its next user.
    legacy = make_org("software_enterprise")
    db.session.delete(services.profile_of(db.session, legacy.id))
    db.session.commit()
    admin.save_user(db.session, staff, None, {"email": "new.user@firm.cq", "name": "新用户", "role": "enterprise",
                                              "organisation_id": legacy.id, "password": "pw-12345678"}, None)
    db.session.commit()
    assert services.profile_of(db.session, legacy.id) is not None
    assert _actions("enterprise_profile") == ["enterprise_profile.create"] * 4


def test_tags_are_limited(client, login, firm_user):
    login(firm_user)
    client.get("/my/profile")
    response = client.post("/my/profile", data={**FULL_FORM, "tags": "这是一个远远超过二十个字的技术标签名称用来测试长度限制"})
    assert response.status_code == 422
    assert "每个标签不超过 20 个字" in response.get_data(as_text=True)


# ---------------------------------------------------------------- qualifications and cases

def _qualification_data(**changes):
    data = {"qualification-kind": "cmmi", "qualification-detail": "3级", "qualification-year": "2022",
            "qualification-evidence": (io.BytesIO(PDF), "CMMI证书.pdf")}
    data.update(changes)
    return data


def test_firm_adds_a_pending_qualification_with_evidence_and_removes_it(client, login, firm_user):
    from marketplace.models import AttachmentPurpose, Qualification, VerificationStatus

    login(firm_user)
    client.get("/my/profile")
    response = client.post("/my/profile/qualifications", data=_qualification_data(), content_type="multipart/form-data")
    assert response.status_code == 302, response.get_data(as_text=True)[:800]
    profile = _profile(firm_user.organisation_id)
    [qualification] = profile.qualifications
    assert qualification.status == VerificationStatus.PENDING
    assert qualification.label == "CMMI 3级" and qualification.year == 2022
    assert qualification.evidence.purpose == AttachmentPurpose.QUALIFICATION_EVIDENCE
    assert qualification.evidence.organisation_id == firm_user.organisation_id
    assert download(client, qualification.evidence_id).status_code == 200
    response = client.post(f"/my/profile/qualifications/{qualification.id}/delete")
    assert response.status_code == 302
    assert _get(Qualification, qualification.id) is None
    assert _actions("qualification") == ["qualification.add", "qualification.remove"]


@pytest.mark.parametrize(("changes", "message"), [
    ({"qualification-year": "20x2"}, "不是有效的整数"),
    ({"qualification-year": "1900"}, "年份应在"),
    ({"qualification-year": ""}, "请填写取得资质的年份"),
    ({"qualification-kind": ""}, "请选择资质类型"),
    ({"qualification-detail": ""}, "请填写 CMMI 等级"),
    ({"qualification-evidence": (io.BytesIO(b"plain text, not a pdf"), "证书.pdf")}, "文件内容与扩展名不符"),
    ({"qualification-evidence": (io.BytesIO(b"PK\x03\x04junk"), "证书.docx")}, "不支持该文件类型"),
    ({"qualification-evidence": (io.BytesIO(b""), "")}, "请上传资质证明文件"),
])
def test_bad_qualification_input_gives_field_errors(client, login, firm_user, changes, message):
    from marketplace.extensions import db
    from marketplace.models import Attachment, Qualification

    login(firm_user)
    client.get("/my/profile")
    response = client.post("/my/profile/qualifications", data=_qualification_data(**changes),
                           content_type="multipart/form-data")
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert message in html
    assert "is-invalid" in html
    assert db.session.query(Qualification).count() == 0
    assert db.session.query(Attachment).count() == 0  # no stray file row
    if changes.get("qualification-kind", "cmmi") and changes.get("qualification-detail", "3级"):
        assert 'value="3级"' in html  # the form keeps the typed values


def test_images_are_accepted_as_evidence_and_duplicates_refused(client, login, firm_user):
    login(firm_user)
    client.get("/my/profile")
    data = _qualification_data(**{"qualification-kind": "iso27001", "qualification-detail": "",
                                  "qualification-evidence": (io.BytesIO(PNG), "证书.png")})
    assert client.post("/my/profile/qualifications", data=data, content_type="multipart/form-data").status_code == 302
    data["qualification-evidence"] = (io.BytesIO(PNG), "证书.png")
    response = client.post("/my/profile/qualifications", data=data, content_type="multipart/form-data")
    assert response.status_code == 422
    assert "该资质已登记" in response.get_data(as_text=True)


def test_firm_adds_edits_and_removes_cases(client, login, firm_user):
    from marketplace.models import ProfileCase

    login(firm_user)
    client.get("/my/profile")
    response = client.post("/my/profile/cases", data={"case-title": "园区能耗监测平台", "case-client": "两江新区管委会",
                                                      "case-year": "2023", "case-amount_wan": "86.5",
                                                      "case-description": "接入能耗表计三千余个。"})
    assert response.status_code == 302
    [case] = _profile(firm_user.organisation_id).cases
    assert case.amount_wan == Decimal("86.50")
    assert client.get(f"/my/profile/cases/{case.id}/edit").status_code == 200
    response = client.post(f"/my/profile/cases/{case.id}/edit", data={"title": "园区能耗监测平台二期", "year": "2024",
                                                                       "amount_wan": "120"})
    assert response.status_code == 302
    case = _get(ProfileCase, case.id)
    assert case.title == "园区能耗监测平台二期" and case.amount_wan == Decimal("120.00")
    assert client.post(f"/my/profile/cases/{case.id}/delete").status_code == 302
    assert _get(ProfileCase, case.id) is None
    assert _actions("profile_case") == ["profile_case.add", "profile_case.update", "profile_case.remove"]


@pytest.mark.parametrize(("changes", "message"), [
    ({"case-amount_wan": "-5"}, "合同金额必须大于 0"),
    ({"case-amount_wan": "abc"}, "不是有效的小数"),
    ({"case-year": "3000"}, "年份应在"),
    ({"case-year": "二〇二三"}, "不是有效的整数"),
    ({"case-title": ""}, "请填写项目名称"),
])
def test_bad_case_input_gives_field_errors_and_keeps_the_form(client, login, firm_user, changes, message):
    login(firm_user)
    client.get("/my/profile")
    data = {"case-title": "园区能耗监测平台", "case-client": "两江新区管委会", "case-year": "2023",
            "case-amount_wan": "86.5", "case-description": "接入能耗表计三千余个。", **changes}
    response = client.post("/my/profile/cases", data=data)
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert message in html and "is-invalid" in html
    assert "接入能耗表计三千余个。" in html
    assert _profile(firm_user.organisation_id).cases == []


def test_bad_case_edit_keeps_the_stored_case(client, login, firm_user):
    from marketplace.models import ProfileCase

    profile = create_profile(firm_user.organisation, "verified", cases=["智慧工地平台"])
    case_id = profile.cases[0].id
    login(firm_user)
    response = client.post(f"/my/profile/cases/{case_id}/edit", data={"title": "改名", "amount_wan": "-1"})
    assert response.status_code == 422
    assert "合同金额必须大于 0" in response.get_data(as_text=True)
    assert _get(ProfileCase, case_id).title == "智慧工地平台"


# ---------------------------------------------------------------- who may edit

PROFILE_ROUTES = [
    ("get", "/my/profile"),
    ("post", "/my/profile"),
    ("post", "/my/profile/submit"),
    ("post", "/my/profile/qualifications"),
    ("post", "/my/profile/cases"),
]


@pytest.mark.parametrize(("method", "path"), PROFILE_ROUTES)
def test_anonymous_is_sent_to_login(client, method, path):
    response = getattr(client, method)(path)
    assert response.status_code == 302 and "/auth/login" in response.headers["Location"]


@pytest.mark.parametrize("role", [r for r in ROLES if r != "enterprise"])
@pytest.mark.parametrize(("method", "path"), PROFILE_ROUTES)
def test_only_enterprise_users_keep_profiles(client, make_user, login, role, method, path):
    from marketplace.extensions import db
    from marketplace.models import EnterpriseProfile

    login(make_user(role))
    response = getattr(client, method)(path, data=FULL_FORM)
    assert response.status_code == 403
    assert db.session.query(EnterpriseProfile).count() == 0


def test_enterprise_user_of_an_inactive_firm_is_refused(client, make_user, login):
    from marketplace.extensions import db

    user = make_user("enterprise")
    login(user)
    user.organisation.active = False
    db.session.commit()
    assert client.get("/my/profile").status_code == 403


def test_another_firm_cannot_touch_my_qualifications_or_cases(client, make_user, login, firm_user):
    from marketplace.models import ProfileCase, Qualification

    profile = create_profile(firm_user.organisation, "verified", qualifications=[("cmmi", "verified", "3级")],
                             cases=["智慧工地平台"])
    qualification_id, case_id = profile.qualifications[0].id, profile.cases[0].id
    login(make_user("enterprise", district="yuzhong"))
    assert client.post(f"/my/profile/qualifications/{qualification_id}/delete").status_code == 404
    assert client.get(f"/my/profile/cases/{case_id}/edit").status_code == 404
    assert client.post(f"/my/profile/cases/{case_id}/edit", data={"title": "篡改"}).status_code == 404
    assert client.post(f"/my/profile/cases/{case_id}/delete").status_code == 404
    assert _get(Qualification, qualification_id) is not None
    assert _get(ProfileCase, case_id).title == "智慧工地平台"
    # Their own profile page shows their firm, not mine.
    assert firm_user.organisation.name not in client.get("/my/profile").get_data(as_text=True)


# ---------------------------------------------------------------- verification

@pytest.fixture
def pending(make_org):
    firm = make_org("software_enterprise", district="yuzhong")
    return create_profile(firm, "pending", qualifications=[("city_specialised", "pending")])


@pytest.mark.parametrize(("reviewer", "district", "allowed"), [
    ("district_staff", "yuzhong", True),
    ("city_staff", None, True),
    ("district_staff", "yubei", False),
])
def test_profile_verification_by_same_district_or_city_staff_only(client, make_user, login, pending, reviewer,
                                                                  district, allowed):
    from marketplace.extensions import db
    from marketplace.models import EnterpriseProfile, Notification, VerificationStatus

    firm_member = make_user("enterprise", organisation=pending.organisation)
    staff = make_user(reviewer, district=district)
    login(staff)
    review_page = client.get("/enterprises/review").get_data(as_text=True)
    assert (f'data-profile-id="{pending.id}"' in review_page) == allowed
    response = client.post(f"/enterprises/{pending.id}/verify")
    profile = _get(EnterpriseProfile, pending.id)
    if allowed:
        assert response.status_code == 302
        assert profile.status == VerificationStatus.VERIFIED and profile.verified_by_id == staff.id
        notes = db.session.query(Notification).filter_by(user_id=firm_member.id).all()
        assert [n.kind for n in notes] == ["enterprise.verify"]
        assert "enterprise_profile.verify" in _actions("enterprise_profile")
        assert client.get("/enterprises").get_data(as_text=True).count(f'data-enterprise-id="{pending.id}"') == 1
    else:
        assert response.status_code in (403, 404)
        assert profile.status == VerificationStatus.PENDING
        assert db.session.query(Notification).count() == 0


@pytest.mark.parametrize("role", ["owner", "enterprise", "expert"])
def test_other_roles_cannot_verify(client, make_user, login, pending, role):
    from marketplace.models import EnterpriseProfile, Qualification, VerificationStatus

    user = make_user(role, district="yuzhong") if role != "enterprise" else make_user(
        "enterprise", organisation=pending.organisation)  # not even the firm itself
    login(user)
    assert client.get("/enterprises/review").status_code == 403
    assert client.post(f"/enterprises/{pending.id}/verify").status_code == 403
    qualification_id = pending.qualifications[0].id
    assert client.post(f"/enterprises/qualifications/{qualification_id}/verify").status_code == 403
    assert _get(EnterpriseProfile, pending.id).status == VerificationStatus.PENDING
    assert _get(Qualification, qualification_id).status == VerificationStatus.PENDING


def test_anonymous_cannot_verify(client, pending):
    assert client.post(f"/enterprises/{pending.id}/verify").status_code == 302
    assert client.get("/enterprises/review").status_code == 302


def test_rejection_needs_a_reason_and_tells_the_firm(client, make_user, login, pending):
    from marketplace.extensions import db
    from marketplace.models import EnterpriseProfile, Notification, VerificationStatus

    member = make_user("enterprise", organisation=pending.organisation)
    login(make_user("district_staff", district="yuzhong"))
    # Refused: flashed, and the browser is sent back to the page the form was on (303).
    response = client.post(f"/enterprises/{pending.id}/reject", data={"reason": "  "},
                           headers={"Referer": "http://localhost/enterprises/review"})
    assert response.status_code == 303 and response.headers["Location"] == "http://localhost/enterprises/review"
    assert "请写明原因" in client.get("/enterprises/review").get_data(as_text=True)
    assert _get(EnterpriseProfile, pending.id).status == VerificationStatus.PENDING
    response = client.post(f"/enterprises/{pending.id}/reject", data={"reason": "经营范围与营业执照不一致"})
    assert response.status_code == 302
    profile = _get(EnterpriseProfile, pending.id)
    assert profile.status == VerificationStatus.REJECTED and profile.review_note == "经营范围与营业执照不一致"
    [note] = db.session.query(Notification).filter_by(user_id=member.id).all()
    assert note.kind == "enterprise.reject" and "经营范围与营业执照不一致" in note.body
    # Verifying a rejected profile again is refused: the firm must resubmit first.
    response = client.post(f"/enterprises/{pending.id}/verify")  # no Referer: back to the firm's page
    assert response.status_code == 303 and response.headers["Location"] == f"/enterprises/{pending.id}"
    assert "企业提交核验后才能处理" in client.get(response.headers["Location"]).get_data(as_text=True)
    # The firm sees the reason and can resubmit.
    client.post("/auth/logout")
    login(member)
    html = client.get("/my/profile").get_data(as_text=True)
    assert "经营范围与营业执照不一致" in html
    assert client.post("/my/profile/submit").status_code == 302
    assert _get(EnterpriseProfile, pending.id).status == VerificationStatus.PENDING


@pytest.mark.parametrize(("reviewer", "district", "allowed"), [
    ("district_staff", "yuzhong", True),
    ("city_staff", None, True),
    ("district_staff", "jiangbei", False),
])
def test_qualification_verification_by_reviewers_only(client, make_user, login, pending, reviewer, district,
                                                      allowed):
    from marketplace.models import Qualification, VerificationStatus

    qualification_id = pending.qualifications[0].id
    login(make_user(reviewer, district=district))
    review_page = client.get("/enterprises/review").get_data(as_text=True)
    assert (f'data-qualification-id="{qualification_id}"' in review_page) == allowed
    response = client.post(f"/enterprises/qualifications/{qualification_id}/verify")
    status = _get(Qualification, qualification_id).status
    if allowed:
        assert response.status_code == 302 and status == VerificationStatus.VERIFIED
    else:
        assert response.status_code in (403, 404) and status == VerificationStatus.PENDING


def test_qualification_rejection_reason_reaches_the_firm(client, make_user, login, pending):
    from marketplace.extensions import db
    from marketplace.models import Notification, Qualification, VerificationStatus

    member = make_user("enterprise", organisation=pending.organisation)
    qualification_id = pending.qualifications[0].id
    login(make_user("city_staff"))
    response = client.post(f"/enterprises/qualifications/{qualification_id}/reject", data={"reason": ""},
                           headers={"Referer": "http://localhost/enterprises/review#qualifications"})
    assert response.status_code == 303 and response.headers["Location"].endswith("/enterprises/review#qualifications")
    assert "不通过时请写明原因" in client.get("/enterprises/review").get_data(as_text=True)
    assert _get(Qualification, qualification_id).status == VerificationStatus.PENDING
    client.post(f"/enterprises/qualifications/{qualification_id}/reject", data={"reason": "证书已过有效期"})
    assert _get(Qualification, qualification_id).status == VerificationStatus.REJECTED
    assert db.session.query(Notification).filter_by(user_id=member.id, kind="qualification.reject").count() == 1
    assert _get(Qualification, qualification_id).review_note == "证书已过有效期"
    client.post("/auth/logout")
    login(member)
    assert "证书已过有效期" in client.get("/my/profile").get_data(as_text=True)
    # The page reads the qualification's note, not the audit log.
    db.session.get(Qualification, qualification_id).review_note = "请上传复审后的证书"
    db.session.commit()
    html = client.get("/my/profile").get_data(as_text=True)
    assert "请上传复审后的证书" in html and "证书已过有效期" not in html


def test_a_verification_note_is_kept_and_replaced_by_the_next_decision(make_user, pending):
    from marketplace.enterprises import verification
    from marketplace.extensions import db

    staff = make_user("city_staff")
    qualification = pending.qualifications[0]
    verification.review_qualification(db.session, staff, qualification.id, "verify", "已与发证机关核对")
    assert qualification.review_note == "已与发证机关核对"
    verification.review_qualification(db.session, staff, qualification.id, "reject", "证书已被发证机关撤销")
    assert qualification.review_note == "证书已被发证机关撤销"


# ---------------------------------------------------------------- verified profiles stay public when edited

def test_edits_to_a_verified_profile_keep_it_public_and_are_listed_for_review(client, make_user, login, firm_user):
    from marketplace.models import EnterpriseProfile, VerificationStatus

    profile = create_profile(firm_user.organisation, "verified", domains=("software",))
    login(firm_user)
    data = {**FULL_FORM, "capabilities": "新增：城市级数字孪生底座。" + FULL_FORM["capabilities"]}
    assert client.post("/my/profile", data=data).status_code == 302
    assert _get(EnterpriseProfile, profile.id).status == VerificationStatus.VERIFIED
    assert "enterprise_profile.revise" in _actions("enterprise_profile")
    client.post("/auth/logout")
    assert client.get(f"/enterprises/{profile.id}").status_code == 200
    assert "城市级数字孪生底座" in client.get(f"/enterprises/{profile.id}").get_data(as_text=True)
    login(make_user("district_staff", district="yuzhong"))
    assert f'data-revised-id="{profile.id}"' in client.get("/enterprises/review").get_data(as_text=True)
    assert client.post(f"/enterprises/{profile.id}/verify").status_code == 302  # re-confirm
    assert f'data-revised-id="{profile.id}"' not in client.get("/enterprises/review").get_data(as_text=True)
    assert "enterprise_profile.reconfirm" in _actions("enterprise_profile")


def test_contact_edits_are_not_revisions(client, login, firm_user):
    create_profile(firm_user.organisation, "verified", domains=("software",))
    login(firm_user)
    client.post("/my/profile", data={**FULL_FORM, "domains": ["software"], "contact_name": "赵六"})
    actions = _actions("enterprise_profile")
    assert actions[-1] == "enterprise_profile.revise"  # the form changed substantive fields too
    client.post("/my/profile", data={**FULL_FORM, "domains": ["software"], "contact_name": "钱七"})
    assert _actions("enterprise_profile")[-1] == "enterprise_profile.update"


def test_verified_profile_cannot_lose_required_fields(client, login, firm_user):
    from marketplace.models import EnterpriseProfile

    profile = create_profile(firm_user.organisation, "verified")
    login(firm_user)
    response = client.post("/my/profile", data={**FULL_FORM, "capabilities": "", "domains": []})
    assert response.status_code == 422
    assert "需要保留能力介绍" in response.get_data(as_text=True)
    assert _get(EnterpriseProfile, profile.id).capabilities.startswith("政务数据治理")


def test_staff_can_revoke_a_verified_profile(client, make_user, login, make_org):
    from marketplace.models import EnterpriseProfile, VerificationStatus

    profile = create_profile(make_org("software_enterprise", district="yuzhong"), "verified")
    login(make_user("district_staff", district="yuzhong"))
    client.post(f"/enterprises/{profile.id}/reject", data={"reason": "企业已注销"})
    assert _get(EnterpriseProfile, profile.id).status == VerificationStatus.REJECTED
    assert "enterprise_profile.revoke" in _actions("enterprise_profile")
    client.post("/auth/logout")
    assert client.get(f"/enterprises/{profile.id}").status_code == 404


def test_a_new_qualification_on_a_verified_profile_is_pending_and_not_public(client, login, firm_user):
    profile = create_profile(firm_user.organisation, "verified", qualifications=[("iso27001", "verified")])
    login(firm_user)
    client.post("/my/profile/qualifications", data=_qualification_data(), content_type="multipart/form-data")
    client.post("/auth/logout")
    html = client.get(f"/enterprises/{profile.id}").get_data(as_text=True)
    assert "ISO 27001" in html and "CMMI 3级" not in html
    assert f'data-enterprise-id="{profile.id}"' not in client.get("/enterprises?qualification=cmmi").get_data(
        as_text=True)


# ---------------------------------------------------------------- the public directory and detail

@pytest.mark.parametrize("status", ["unverified", "pending", "rejected"])
def test_unverified_profiles_are_never_public(client, make_org, make_user, login, status):
    firm = make_org("software_enterprise", district="yuzhong", name="隐身科技有限公司")
    profile = create_profile(firm, status)
    assert "隐身科技有限公司" not in client.get("/enterprises").get_data(as_text=True)
    assert "隐身科技有限公司" not in client.get("/enterprises?q=隐身").get_data(as_text=True)
    assert client.get(f"/enterprises/{profile.id}").status_code == 404
    for viewer in (make_user("enterprise", district="yuzhong"), make_user("owner", district="yuzhong"),
                   make_user("expert"), make_user("district_staff", district="yubei")):
        login(viewer)
        assert client.get(f"/enterprises/{profile.id}").status_code == 404, viewer.role
        assert "隐身科技有限公司" not in client.get("/enterprises").get_data(as_text=True)
        client.post("/auth/logout")
    # The firm itself and its reviewers may preview it, clearly marked as not public.
    login(make_user("enterprise", organisation=firm))
    html = client.get(f"/enterprises/{profile.id}").get_data(as_text=True)
    assert "尚未公开" in html
    client.post("/auth/logout")
    login(make_user("district_staff", district="yuzhong"))
    assert client.get(f"/enterprises/{profile.id}").status_code == 200


def test_deactivated_firms_disappear(client, make_org):
    from marketplace.extensions import db

    firm = make_org("software_enterprise", name="停用科技有限公司")
    profile = create_profile(firm, "verified")
    assert client.get(f"/enterprises/{profile.id}").status_code == 200
    firm.active = False
    db.session.commit()
    assert client.get(f"/enterprises/{profile.id}").status_code == 404
    assert "停用科技有限公司" not in client.get("/enterprises").get_data(as_text=True)


def test_detail_shows_public_fields_and_verified_qualifications_only(client, make_org):
    firm = make_org("software_enterprise", district="yubei", name="明镜软件有限公司")
    profile = create_profile(firm, "verified", employees=150, settled_year=2025,
                             qualifications=[("key_software", "verified"), ("cmmi", "pending", "5级"),
                                             ("little_giant", "rejected")],
                             cases=["智慧社区综合治理平台"])
    html = client.get(f"/enterprises/{profile.id}").get_data(as_text=True)
    assert "明镜软件有限公司" in html and "渝北区" in html and "解放碑金融大厦" in html
    assert "国家鼓励的重点软件企业" in html
    assert "CMMI 5级" not in html and "小巨人" not in html
    assert "100–299 人" in html and "150 人" not in html  # a band, not the exact head count
    assert "智慧社区综合治理平台" in html and "180.50" in html
    assert "王芳" in html and "023-63001111" in html
    assert "/files/" not in html  # evidence never linked publicly
    assert "解放碑路1号" not in html  # the street address is not a public field
    assert "2023" in html


def test_directory_filters_counts_and_pagination(client, make_org):
    a = create_profile(make_org("software_enterprise", district="yuzhong", name="甲数据科技有限公司"), "verified",
                       domains=("data_services",), qualifications=[("cmmi", "verified", "3级")], tags="数据治理、隐私计算")
    b = create_profile(make_org("software_enterprise", district="yubei", name="乙智能科技有限公司"), "verified",
                       domains=("ai", "software"), qualifications=[("cmmi", "pending", "3级")],
                       capabilities="计算机视觉和工业质检算法，服务汽车零部件企业。")
    c = create_profile(make_org("software_enterprise", district="jiangbei", name="丙安全技术有限公司"), "verified",
                       domains=("infosec",), qualifications=[("iso27001", "verified")])

    def ids(query: str = "") -> set[int]:
        html = client.get("/enterprises" + query).get_data(as_text=True)
        return {int(x) for x in re.findall(r'data-enterprise-id="(\d+)"', html)}

    assert ids() == {a.id, b.id, c.id}
    assert ids("?district=yuzhong&district=yubei") == {a.id, b.id}
    assert ids("?domain=ai") == {b.id}
    assert ids("?qualification=cmmi") == {a.id}  # b's CMMI is only pending
    assert ids("?qualification=iso27001&district=jiangbei") == {c.id}
    assert ids("?q=隐私计算") == {a.id}  # tags
    assert ids("?q=工业质检") == {b.id}  # capabilities
    assert ids("?q=丙安全") == {c.id}  # name
    assert ids("?q=隐私 甲数据") == {a.id}  # every term must match
    html = client.get("/enterprises?district=yuzhong").get_data(as_text=True)
    assert "共 1 家企业" in html
    assert re.search(r"渝北区 <span[^>]*>\(1\)</span>", html)  # counts ignore the district filter itself
    assert "CMMI (1)" in html
    # Bad parameters never break the page.
    response = client.get("/enterprises?district=atlantis&page=abc&per_page=1000")
    assert response.status_code == 200 and "参数有误" in response.get_data(as_text=True)
    assert ids("?per_page=2") | ids("?per_page=2&page=2") == {a.id, b.id, c.id}
    assert len(ids("?per_page=2")) == 2
    assert ids("?per_page=2&page=9") == set()
    assert ids("?sort=employees") == {a.id, b.id, c.id}
    assert ids("?sort=recent") == {a.id, b.id, c.id}


# ---------------------------------------------------------------- evidence downloads

@pytest.mark.parametrize(("viewer", "allowed"), [
    ("member", True), ("same_district_staff", True), ("city_staff", True), ("other_firm", False),
    ("other_district_staff", False), ("owner", False), ("expert", False), ("anonymous", False),
])
def test_evidence_only_for_the_firm_and_its_reviewers(client, make_user, login, make_org, viewer, allowed):
    firm = make_org("software_enterprise", district="yuzhong")
    profile = create_profile(firm, "verified", qualifications=[("cmmi", "verified", "3级"),
                                                               ("iso27001", "pending")])
    users = {
        "member": lambda: make_user("enterprise", organisation=firm),
        "same_district_staff": lambda: make_user("district_staff", district="yuzhong"),
        "city_staff": lambda: make_user("city_staff"),
        "other_firm": lambda: make_user("enterprise", district="yuzhong"),
        "other_district_staff": lambda: make_user("district_staff", district="nanan"),
        "owner": lambda: make_user("owner", district="yuzhong"),
        "expert": lambda: make_user("expert"),
    }
    if viewer != "anonymous":
        login(users[viewer]())
    for qualification in profile.qualifications:
        response = download(client, qualification.evidence_id)
        assert response.status_code == (200 if allowed else 404), (viewer, qualification.kind)
        if allowed:
            assert response.data == PDF


# ---------------------------------------------------------------- workspace and navigation

def test_workspace_panels(client, make_user, login, firm_user, pending):
    login(firm_user)
    html = client.get("/dashboard").get_data(as_text=True)
    assert 'id="panel-enterprise-profile"' in html and "信息完整度" in html
    assert 'data-nav="my_profile"' in html and 'data-nav="verify"' not in html
    client.post("/auth/logout")
    login(make_user("district_staff", district="yuzhong"))
    html = client.get("/dashboard").get_data(as_text=True)
    assert re.search(r'data-pending-profiles>1<', html)
    assert 'data-nav="verify"' in html and 'data-nav="my_profile"' not in html
    client.post("/auth/logout")
    login(make_user("district_staff", district="yubei"))
    assert re.search(r'data-pending-profiles>0<', client.get("/dashboard").get_data(as_text=True))


def test_completeness_counts_what_is_filled(app, make_org):
    from marketplace.enterprises.services import completeness

    assert completeness(None).percent == 0
    profile = create_profile(make_org("software_enterprise"), "verified",
                             qualifications=[("cmmi", "verified", "3级")], cases=["某项目"])
    assert completeness(profile).percent == 100 and completeness(profile).missing == []


# ---------------------------------------------------------------- the SQL rule and its Python twin agree

def test_public_clause_matches_is_public(app, make_org):
    from marketplace.enterprises import policy
    from marketplace.extensions import db
    from marketplace.models import EnterpriseProfile

    profiles = [create_profile(make_org("software_enterprise"), status)
                for status in ("verified", "pending", "unverified", "rejected", "verified")]
    profiles[-1].organisation.active = False
    db.session.commit()
    public_ids = set(db.session.execute(
        db.select(EnterpriseProfile.id).where(policy.public_clause())).scalars())
    assert public_ids == {p.id for p in profiles if policy.is_public(p)} == {profiles[0].id}


# ---------------------------------------------------------------- demo data

def test_demo_profiles(app):
    from marketplace.demo.seed import DemoLoader
    from marketplace.demo.seed_profiles import certificate_pdf, load_profiles
    from marketplace.extensions import db
    from marketplace.models import EnterpriseProfile, Qualification, VerificationStatus

    loader = DemoLoader(db.session, 2025, lambda _m: None)
    for step in (loader.owners, loader.offices, loader.firms, loader.demo_accounts):
        step()
    db.session.flush()
    created = load_profiles(loader)
    db.session.commit()
    profiles = db.session.query(EnterpriseProfile).all()
    assert created == len(profiles) == len(loader.firm_orgs)
    by_status = {s: sum(1 for p in profiles if p.status == s) for s in VerificationStatus}
    assert 0.75 < by_status[VerificationStatus.VERIFIED] / len(profiles) < 0.93
    assert by_status[VerificationStatus.PENDING] >= 3 and by_status[VerificationStatus.UNVERIFIED] >= 1
    for p in profiles:
        assert p.business_scope and p.capabilities and p.domains and p.cases and p.contact_name
        if p.status == VerificationStatus.VERIFIED:
            assert p.verified_by is not None and p.verified_at is not None
            assert p.verified_by.role.value in ("district_staff", "city_staff")
        else:
            assert all(q.status == VerificationStatus.PENDING for q in p.qualifications)
    demo = next(p for p in profiles if p.organisation is loader.demo_firm_org)
    assert demo.status == VerificationStatus.VERIFIED
    assert sum(q.status == VerificationStatus.VERIFIED for q in demo.qualifications) == 2
    pending_yuzhong = [p for p in profiles if p.status == VerificationStatus.PENDING
                       and p.organisation.district.code == "yuzhong"]
    assert len(pending_yuzhong) >= 3
    qualification = db.session.query(Qualification).first()
    data = (Path(app.config["UPLOAD_DIR"]) / qualification.evidence.stored_name).read_bytes()
    assert data.startswith(b"%PDF-") and data.rstrip().endswith(b"%%EOF")
    assert qualification.evidence.purpose.value == "qualification_evidence"
    assert hashlib.sha256(data).hexdigest() == qualification.evidence.sha256
    # The PDF's cross-reference table points at its objects.
    pdf = certificate_pdf(["Hello (demo)"])
    xref = int(pdf.rsplit(b"startxref\n", 1)[1].split(b"\n")[0])
    assert pdf[xref:].startswith(b"xref")
    for number, line in enumerate(pdf[xref:].split(b"\n")[3:8], start=1):
        assert pdf[int(line[:10]):].startswith(f"{number} 0 obj".encode())


@pytest.mark.postgres
@pytest.mark.skipif(not ON_POSTGRES, reason="row locks: PostgreSQL only (SQLite writes are serial)")
def test_a_profile_decision_waits_for_a_concurrent_one_and_is_refused(client, make_user, login, pending):
    """Two reviewers at once: the second waits for the first (a rejection) and is refused, not verified over it."""

    from sqlalchemy.orm import Session

    from marketplace.enterprises import verification
    from marketplace.extensions import db
    from marketplace.models import User, VerificationStatus

    first, second = (make_user("district_staff", district="yuzhong") for _ in range(2))
    login(second)
    with Session(db.engine) as other:
        verification.review_profile(other, other.get(User, first.id), pending.id, "reject", "营业执照信息不清晰。")
        answer = second_waits_for_first(other, lambda: client.post(f"/enterprises/{pending.id}/verify"), "the second decision")
    assert answer.status_code in (303, 409), answer.status_code
    db.session.expire_all()
    assert pending.status == VerificationStatus.REJECTED
