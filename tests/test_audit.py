import sqlalchemy as sa

from marketplace import audit
from marketplace.extensions import db
from marketplace.models import AuditEvent


def _three_events(user):
    for i in range(3):
        audit.record(db.session, actor=user, action="test.action", object_type="thing", object_id=i,
                     before={"n": i}, after={"n": i + 1, "名称": "场景"})
    db.session.commit()


def test_chain_links_each_event_to_the_previous(make_user):
    _three_events(make_user("city_staff"))
    events = db.session.execute(sa.select(AuditEvent).order_by(AuditEvent.id)).scalars().all()
    assert events[0].prev_hash == audit.GENESIS_HASH
    assert [e.prev_hash for e in events[1:]] == [e.hash for e in events[:-1]]
    assert audit.verify_chain(db.session).ok


def test_edited_row_is_detected(make_user, runner):
    _three_events(make_user("city_staff"))
    second = db.session.execute(sa.select(AuditEvent.id).order_by(AuditEvent.id).offset(1).limit(1)).scalar_one()
    db.session.execute(sa.update(AuditEvent).where(AuditEvent.id == second).values(after={"n": 99}))
    db.session.commit()
    report = audit.verify_chain(db.session)
    assert not report.ok and report.broken_at == second and "edited" in report.reason
    result = runner.invoke(args=["audit", "verify"])
    assert result.exit_code == 1 and "BROKEN" in result.output


def test_deleted_row_is_detected(make_user):
    _three_events(make_user("city_staff"))
    first = db.session.execute(sa.select(AuditEvent.id).order_by(AuditEvent.id).limit(1)).scalar_one()
    db.session.execute(sa.delete(AuditEvent).where(AuditEvent.id == first))
    db.session.commit()
    assert not audit.verify_chain(db.session).ok


def test_verify_command_on_intact_chain(make_user, runner):
    _three_events(make_user("city_staff"))
    result = runner.invoke(args=["audit", "verify"])
    assert result.exit_code == 0 and "intact: 3 events" in result.output
