"""The demo data set shows 公示 in every state (issue 11): open notices (one with an objection awaiting
decision), ended notices and one withdrawn after an upheld objection."""

import sqlalchemy as sa

from marketplace.applications import publicity
from marketplace.extensions import db
from marketplace.models import Objection, ObjectionDecision, PublicityNotice, ScenarioStatus


def test_demo_notices_in_every_state(demo_app):
    with demo_app.app_context():
        notices = db.session.execute(sa.select(PublicityNotice)).scalars().all()
        states = [publicity.notice_status(n) for n in notices]
        assert states.count("open") >= 3 and states.count("ended") >= 2 and states.count("withdrawn") == 1
        open_notices = [n for n in notices if publicity.notice_status(n) == "open"]
        assert any(o.decision is None for n in open_notices for o in n.objections)
        withdrawn = next(n for n in notices if n.withdrawn_at is not None)
        assert withdrawn.withdrawn_reason and withdrawn.scenario.status == ScenarioStatus.PUBLISHED
        assert publicity.award_state(db.session, withdrawn.scenario) == "withdrawn"
        assert any(o.decision == ObjectionDecision.UPHELD for o in withdrawn.objections)
        for notice in notices:  # in order: award, objections, answers, decisions, withdrawal; nothing after now
            for objection in db.session.execute(sa.select(Objection).where(Objection.notice_id == notice.id)).scalars():
                assert notice.starts_at <= objection.created_at <= (objection.answered_at or objection.created_at)
                if objection.decided_at:
                    assert objection.created_at <= objection.decided_at
        client = demo_app.test_client()
        body = client.get("/api/v1/publicity?status=open").get_json()
        assert body["total"] >= 3
        html = client.get("/publicity").get_data(as_text=True)
        assert 'data-notice-status="open"' in html and 'data-notice-status="withdrawn"' in html
        page = client.get(f"/scenarios/{open_notices[0].scenario_id}/publicity/objections")
        assert page.status_code == 302 and "/auth/login" in page.headers["Location"]
