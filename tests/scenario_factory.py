"""Factories for scenarios and batches (tests build rows directly, then exercise services and pages)."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


@pytest.fixture
def make_evidence(app):
    """An Attachment row for funding evidence (bytes written to the upload folder)."""
    import hashlib
    import secrets
    from pathlib import Path

    from marketplace.extensions import db
    from marketplace.models import Attachment, AttachmentPurpose

    def make(organisation=None):
        folder = Path(app.config["UPLOAD_DIR"])
        folder.mkdir(parents=True, exist_ok=True)
        name = secrets.token_hex(16)
        (folder / name).write_bytes(PDF)
        attachment = Attachment(purpose=AttachmentPurpose.FUNDING_EVIDENCE, filename="资金证明.pdf", stored_name=name,
                                content_type="application/pdf", size=len(PDF), sha256=hashlib.sha256(PDF).hexdigest(),
                                organisation=organisation)
        db.session.add(attachment)
        db.session.flush()
        return attachment

    return make


@pytest.fixture
def make_scenario(app, make_org, make_evidence):
    """``make_scenario(status='published', owner=None, district='yuzhong', complete=True, **fields)`` → Scenario."""
    from marketplace import clock
    from marketplace.extensions import db
    from marketplace.models import (
        Batch,
        BatchLevel,
        BatchStage,
        District,
        Domain,
        FundingSource,
        Scenario,
        ScenarioStatus,
        Theme,
    )

    def make(status: str = "published", owner=None, district: str = "yuzhong", complete: bool = True,
             batch=None, **fields):
        district_row = db.session.query(District).filter_by(code=district).one()
        owner = owner or make_org("government", district=district)
        now = clock.now()
        values = dict(
            title="智慧交通信号协同优化平台", summary="用算法优化主城区路口信号配时。",
            description="主城区早晚高峰拥堵严重，现有信号配时依赖人工经验，需要建设协同优化平台。",
            owner=owner, district=district_row, status=ScenarioStatus(status),
            contact_name="张伟", contact_phone="023-63001234", contact_email="zhang@gov.cq",
        )
        if complete:
            values.update(
                boundary="包括：50个路口信号优化。不包括：路口土建改造。",
                requirements="支持国产化环境部署；提供开放接口。",
                acceptance="高峰平均通行时间下降10%以上；系统可用性99.9%。",
                outcomes="缓解拥堵，提升通行效率。",
                domain=db.session.query(Domain).filter_by(code="ai").one(),
                theme=db.session.query(Theme).filter_by(code="smart_city").one(),
                funding_source=FundingSource.FISCAL, budget_wan=Decimal("350.00"),
                funding_evidence=make_evidence(owner), deadline=now + timedelta(days=20), delivery_months=12,
            )
        if values["status"] in ScenarioStatus.public():
            values["published_at"] = now - timedelta(days=1)
        values.update(fields)
        scenario = Scenario(**values)
        db.session.add(scenario)
        if values["status"] in ScenarioStatus.public():
            if batch is None:
                batch = Batch(name=f"2025年第{district_row.id}批应用场景清单", level=BatchLevel.DISTRICT,
                              district=district_row, stage=BatchStage.COLLECT, published_on=date.today())
            scenario.batches.append(batch)
        db.session.commit()
        return scenario

    return make
