"""Demo capability profiles (企业能力清单) for every demo software firm.

Called from :class:`marketplace.demo.seed.DemoLoader` after the firms and the staff
accounts exist. About 85 % of the profiles are verified by their district's staff,
some wait for verification and a few were never submitted; the demo firm
(``firm@demo.cq``) is verified with two verified qualifications and one pending, so
both the firm's and the district reviewer's pages have something to show.
Qualification evidence is a small, valid one-page PDF marked as demonstration data.
"""

from __future__ import annotations

import hashlib
import random
import secrets
from datetime import timedelta
from decimal import Decimal
from typing import Any

from marketplace import clock
from marketplace.attachments import save_bytes
from marketplace.models import (
    Attachment,
    AttachmentPurpose,
    EnterpriseProfile,
    Organisation,
    ProfileCase,
    Qualification,
    QualificationKind,
    RevenueBand,
    Role,
    User,
    VerificationStatus,
)

#: The corpus's revenue bands → the model's.
REVENUE_BANDS = {
    "<500万": RevenueBand.UNDER_5M,
    "500万-2000万": RevenueBand.FROM_5M,
    "2000万-1亿": RevenueBand.FROM_20M,
    "1亿-5亿": RevenueBand.FROM_100M,
    ">5亿": RevenueBand.OVER_500M,
}
#: Share of profiles verified, and (of the rest) share pending rather than never submitted.
VERIFIED_SHARE = 0.85
PENDING_SHARE = 0.10
#: Pending profiles kept in the demo district (yuzhong) so its reviewer always has a queue.
DEMO_DISTRICT_PENDING = 3
#: Why a reviewer rejected a qualification's evidence (``Qualification.review_note``).
REJECTION_NOTES = (
    "证书扫描件不清晰，无法核对证书编号，请重新上传清晰的扫描件。",
    "证书已过有效期，请上传复审后的有效证书。",
    "证书上的单位名称与企业名称不一致，请补充更名证明。",
)

_KIND_EN = {
    "key_software": "National key software enterprise",
    "little_giant": "Specialised and sophisticated 'little giant'",
    "city_key_software": "Chongqing key software and IT services enterprise",
    "city_specialised": "Chongqing specialised and sophisticated SME",
    "cmmi": "CMMI maturity level",
    "iso27001": "ISO/IEC 27001 certification",
    "other": "Other qualification",
}


def certificate_pdf(lines: list[str]) -> bytes:
    """A valid one-page PDF (A4, Helvetica) showing ``lines`` of ASCII text."""
    def escape(text: str) -> str:
        text = text.encode("ascii", "replace").decode("ascii")
        return text.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")

    text = "BT /F1 16 Tf 72 770 Td 24 TL " + " ".join(f"({escape(line)}) Tj T*" for line in lines) + " ET"
    stream = text.encode("ascii")
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Resources << /Font << /F1 4 0 R >> >> "
        b"/Contents 5 0 R >>",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
        b"<< /Length " + str(len(stream)).encode() + b" >>\nstream\n" + stream + b"\nendstream",
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += f"{number} 0 obj\n".encode() + body + b"\nendobj\n"
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    for offset in offsets:
        out += f"{offset:010d} 00000 n \n".encode()
    out += f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode()
    return bytes(out)


def qualification_evidence(organisation: Organisation, kind: QualificationKind, detail: str | None,
                           year: int | None, label: str) -> Attachment:
    """Write a demo certificate PDF to the upload folder and return its (unsaved) Attachment."""
    data = certificate_pdf([
        "DEMONSTRATION DATA - NOT A REAL CERTIFICATE",
        "",
        f"Qualification: {_KIND_EN[kind.value]}" + (f" {detail}" if kind == QualificationKind.CMMI and detail else ""),
        f"Holder USCC: {organisation.uscc or '-'}",
        f"Year granted: {year or '-'}",
        "Issued for the Chongqing application-scenario marketplace demo.",
    ])
    stored = secrets.token_hex(16)
    save_bytes(stored, data, "application/pdf")
    filename = f"{label}证书.pdf".replace("/", "-").replace("\\", "-")[:255]
    return Attachment(purpose=AttachmentPurpose.QUALIFICATION_EVIDENCE, filename=filename, stored_name=stored,
                      content_type="application/pdf", size=len(data), sha256=hashlib.sha256(data).hexdigest(),
                      organisation=organisation)


def _detail(row: dict[str, Any]) -> str | None:
    if row["kind"] == "cmmi":
        return f"{row['level']}级" if row.get("level") else None
    if row["kind"] == "other":
        return row["name"]
    return None


def _website(contact: dict[str, Any]) -> str | None:
    domain = (contact.get("email") or "").partition("@")[2]
    return f"https://www.{domain}" if domain else None


def _plan_statuses(loader: Any, rng: random.Random) -> list[VerificationStatus]:
    """One status per firm: the demo firm verified, a few pending in the demo district, the rest shuffled
    so that the shares are exact (about 85 % verified, 10 % pending, 5 % never submitted)."""
    total = len(loader.firm_orgs)
    fixed: dict[int, VerificationStatus] = {}
    for i, org in enumerate(loader.firm_orgs):
        if org is loader.demo_firm_org:
            fixed[i] = VerificationStatus.VERIFIED
    for i, org in enumerate(loader.firm_orgs):
        pending_here = sum(1 for s in fixed.values() if s == VerificationStatus.PENDING)
        if (i not in fixed and org.district is not None and org.district.code == "yuzhong"
                and pending_here < DEMO_DISTRICT_PENDING):
            fixed[i] = VerificationStatus.PENDING
    verified = round(total * VERIFIED_SHARE) - sum(1 for s in fixed.values() if s == VerificationStatus.VERIFIED)
    pending = round(total * PENDING_SHARE) - sum(1 for s in fixed.values() if s == VerificationStatus.PENDING)
    rest = total - len(fixed)
    verified = max(0, min(verified, rest))
    pending = max(0, min(pending, rest - verified))
    pool = ([VerificationStatus.VERIFIED] * verified + [VerificationStatus.PENDING] * pending
            + [VerificationStatus.UNVERIFIED] * (rest - verified - pending))
    rng.shuffle(pool)
    shuffled = iter(pool)
    return [fixed[i] if i in fixed else next(shuffled) for i in range(total)]


def _reviewer(loader: Any, org: Organisation) -> User:
    code = org.district.code if org.district is not None else None
    return loader.staff.get(code) or loader.demo_users[Role.CITY_STAFF]


def _demo_firm_qualifications(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The demo firm's list: its own first, topped up to three (two verified, one pending)."""
    rows = list(rows[:3])
    extras = [
        {"kind": "city_specialised", "level": None, "year": 2023, "name": '重庆市"专精特新"中小企业'},
        {"kind": "cmmi", "level": 3, "year": 2022, "name": "CMMI 3级（能力成熟度模型集成）"},
        {"kind": "iso27001", "level": None, "year": 2024, "name": "ISO/IEC 27001信息安全管理体系认证"},
    ]
    for extra in extras:
        if len(rows) >= 3:
            break
        if all(r["kind"] != extra["kind"] for r in rows):
            rows.append(extra)
    return rows


def load_profiles(loader: Any) -> int:
    """Give every demo firm a full capability profile; returns how many were created (the caller commits)."""
    rng = random.Random(loader.rng.getrandbits(64))
    session = loader.session
    now = getattr(loader, "now", None) or clock.now()
    this_year = clock.to_local(now).year
    statuses = _plan_statuses(loader, rng)
    counts = dict.fromkeys(VerificationStatus, 0)
    qualification_count = 0
    for org, row, status in zip(loader.firm_orgs, loader.firm_rows, statuses, strict=True):
        contact = row["contact"]
        profile = EnterpriseProfile(
            organisation=org, address=row["address"], building=row["building"], founded_on=row["founded"],
            settled_year=row.get("newly_settled_year"), employees=row["employees"],
            revenue_band=REVENUE_BANDS[row["revenue_band"]], business_scope=row["business_scope"],
            capabilities=row["capabilities"], tags="、".join(row["tags"]), website=_website(contact),
            contact_name=contact["name"], contact_phone=contact["phone"], contact_email=contact["email"],
            status=status,
        )
        profile.domains = [loader.domains[code] for code in row["domains"]]
        created = now - timedelta(days=rng.randint(120, 700))
        profile.created_at = created
        if status == VerificationStatus.VERIFIED:
            profile.verified_at = now - timedelta(days=rng.randint(3, 110), hours=rng.randint(0, 8))
            profile.verified_by = _reviewer(loader, org)
            profile.updated_at = profile.verified_at
        elif status == VerificationStatus.PENDING:
            profile.updated_at = now - timedelta(days=rng.randint(1, 12), hours=rng.randint(0, 20))
        else:
            profile.updated_at = created + timedelta(days=rng.randint(0, 30))
        session.add(profile)
        counts[status] += 1

        demo = org is loader.demo_firm_org
        quals = _demo_firm_qualifications(row["qualifications"]) if demo else row["qualifications"]
        for i, q in enumerate(quals):
            kind = QualificationKind(q["kind"])
            detail = _detail(q)
            year = min(q["year"], this_year) if q.get("year") else None
            qualification = Qualification(profile=profile, kind=kind, detail=detail, year=year,
                                          status=VerificationStatus.PENDING, created_at=created,
                                          updated_at=profile.updated_at)
            qualification.evidence = qualification_evidence(org, kind, detail, year, qualification.label)
            if demo:
                verified = i < 2
            else:
                verified = status == VerificationStatus.VERIFIED and rng.random() < 0.9
            if verified:
                qualification.status = VerificationStatus.VERIFIED
                qualification.verified_at = profile.verified_at
                qualification.verified_by = profile.verified_by
            elif status == VerificationStatus.VERIFIED and not demo and i % 2:
                # Some evidence the reviewer did not accept, with the reason the firm reads.
                qualification.status = VerificationStatus.REJECTED
                qualification.review_note = REJECTION_NOTES[i % len(REJECTION_NOTES)]
            session.add(qualification)
            qualification_count += 1

        for case in row["cases"]:
            session.add(ProfileCase(profile=profile, title=case["title"], client=case["client"], year=case["year"],
                                    amount_wan=Decimal(case["amount_wan"]), description=case["description"],
                                    created_at=created, updated_at=created))
    session.flush()
    total = sum(counts.values())
    if hasattr(loader, "summary"):
        loader.summary["enterprise profiles"] = total
        loader.summary["verified profiles"] = counts[VerificationStatus.VERIFIED]
        loader.summary["qualifications"] = qualification_count
    return total
