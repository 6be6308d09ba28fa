import sqlalchemy as sa

from marketplace import audit
from marketplace.extensions import db
from marketplace.models import AuditEvent, User
from tests.conftest import ON_POSTGRES


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


# ------------------------------------------------------------------ keyed chain and checkpoints (issue 12.11)

import hashlib  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
import stat  # noqa: E402

import pytest  # noqa: E402

from marketplace.config import load_config  # noqa: E402


@pytest.fixture(autouse=True)
def _own_checkpoint_file(app, tmp_path, monkeypatch):
    """Each test anchors its own chain (the tables are emptied between tests; the file would not be)."""
    monkeypatch.setitem(app.config, "AUDIT_CHECKPOINT_FILE", str(tmp_path / "audit-checkpoints.log"))


def _ids():
    return db.session.execute(sa.select(AuditEvent.id).order_by(AuditEvent.id)).scalars().all()


def _checkpoints(app):
    with open(app.config["AUDIT_CHECKPOINT_FILE"], encoding="utf-8") as handle:
        return [json.loads(line) for line in handle]


def _recompute_from(second_id, key=None, version=2):
    """What a forger with database access does: edit a row, then recompute every hash after it."""
    events = db.session.execute(sa.select(AuditEvent).order_by(AuditEvent.id)).scalars().all()
    prev = audit.GENESIS_HASH
    for event in events:
        if event.id == second_id:
            event.after = {"n": 99}
        event.hash_version = version
        event.prev_hash = f"p{event.id:063d}"  # placeholders first: both columns are unique
        event.hash = f"h{event.id:063d}"
    db.session.flush()
    for event in events:
        event.prev_hash = prev
        event.hash = audit.compute_hash(event, key)
        prev = event.hash
        db.session.flush()
    db.session.commit()


def test_hashes_are_keyed_with_the_audit_key(make_user, app, monkeypatch):
    _three_events(make_user("city_staff"))
    event = db.session.execute(sa.select(AuditEvent).order_by(AuditEvent.id)).scalars().first()
    assert event.hash_version == audit.KEYED_HMAC
    event.hash_version = audit.LEGACY_SHA256
    assert audit.compute_hash(event) != event.hash  # not a plain SHA-256
    db.session.rollback()
    assert audit.verify_chain(db.session).ok
    monkeypatch.setitem(app.config, "AUDIT_KEY", "another-key")
    report = audit.verify_chain(db.session)
    assert not report.ok and "another key" in report.reason


def test_a_signed_checkpoint_follows_every_commit_that_wrote_events(make_user, app):
    _three_events(make_user("city_staff"))
    lines = _checkpoints(app)
    assert len(lines) == 1  # one commit, one checkpoint
    head = db.session.execute(sa.select(AuditEvent).order_by(AuditEvent.id.desc())).scalars().first()
    assert lines[-1]["count"] == 3 and lines[-1]["head_id"] == head.id and lines[-1]["head"] == head.hash
    assert len(lines[-1]["sig"]) == 64 and lines[-1]["at"]
    assert stat.S_IMODE(os.stat(app.config["AUDIT_CHECKPOINT_FILE"]).st_mode) == 0o600
    audit.record(db.session, actor=None, action="test.more", object_type="thing", object_id=9)
    db.session.commit()
    assert [line["count"] for line in _checkpoints(app)] == [3, 4]
    db.session.rollback()  # nothing written: no checkpoint
    assert len(_checkpoints(app)) == 2


def test_a_deleted_last_row_is_named_by_verify(make_user, runner):
    _three_events(make_user("city_staff"))
    assert runner.invoke(args=["audit", "verify"]).exit_code == 0
    last = _ids()[-1]
    db.session.execute(sa.delete(AuditEvent).where(AuditEvent.id == last))
    db.session.commit()
    assert audit.verify_chain(db.session).ok  # the chain alone cannot tell
    result = runner.invoke(args=["audit", "verify"])
    assert result.exit_code == 1
    assert f"event {last}" in result.output and "missing" in result.output and "truncated" in result.output


def test_a_chain_recomputed_with_plain_sha256_is_refused(make_user, runner):
    _three_events(make_user("city_staff"))
    _recompute_from(_ids()[1], version=audit.LEGACY_SHA256)
    result = runner.invoke(args=["audit", "verify"])
    assert result.exit_code == 1 and "recomputed" in result.output


def test_a_chain_recomputed_even_with_the_key_is_refused_by_the_checkpoint(make_user, runner, app):
    _three_events(make_user("city_staff"))
    _recompute_from(_ids()[1], key=app.config["AUDIT_KEY"].encode())
    assert audit.verify_chain(db.session).ok  # a consistent chain …
    result = runner.invoke(args=["audit", "verify"])  # … that is not the anchored one
    assert result.exit_code == 1 and "recomputed" in result.output


def test_a_forged_checkpoint_line_is_refused(make_user, runner, app):
    _three_events(make_user("city_staff"))
    path = app.config["AUDIT_CHECKPOINT_FILE"]
    line = _checkpoints(app)[0]
    line["count"] = 2
    with open(path, "w", encoding="utf-8") as handle:
        handle.write(json.dumps(line) + "\n")
    result = runner.invoke(args=["audit", "verify"])
    assert result.exit_code == 1 and "line 1: signature does not match" in result.output


def test_without_a_checkpoint_verify_fails_until_one_is_written(make_user, runner, app):
    _three_events(make_user("city_staff"))
    os.remove(app.config["AUDIT_CHECKPOINT_FILE"])
    result = runner.invoke(args=["audit", "verify"])
    assert result.exit_code == 1 and "no checkpoint" in result.output
    assert runner.invoke(args=["audit", "checkpoint"]).exit_code == 0
    result = runner.invoke(args=["audit", "verify"])
    assert result.exit_code == 0 and "intact: 3 events" in result.output


def test_unkeyed_rows_from_before_the_upgrade_verify_only_before_keyed_ones(make_user, app, runner):
    """Rows written before 0012_security keep their plain SHA-256 (hash_version 1)."""
    user = make_user("city_staff")
    _three_events(user)
    first, second, third = db.session.execute(sa.select(AuditEvent).order_by(AuditEvent.id)).scalars().all()
    first.hash_version = second.hash_version = audit.LEGACY_SHA256
    first.hash = "a" * 64
    second.hash = "b" * 64
    db.session.flush()
    first.hash = audit.compute_hash(first)
    second.prev_hash = first.hash
    second.hash = audit.compute_hash(second)
    third.prev_hash = second.hash
    third.hash = audit.compute_hash(third)
    db.session.commit()
    assert runner.invoke(args=["audit", "checkpoint"]).exit_code == 0
    assert runner.invoke(args=["audit", "verify"]).exit_code == 0
    # A version-1 row after a keyed one is refused (an attacker cannot append unkeyed rows).
    audit.record(db.session, actor=None, action="test.more", object_type="thing", object_id=4)
    db.session.commit()
    last = db.session.execute(sa.select(AuditEvent).order_by(AuditEvent.id.desc())).scalars().first()
    last.hash_version = audit.LEGACY_SHA256
    last.hash = audit.compute_hash(last)
    db.session.commit()
    report = audit.verify_chain(db.session)
    assert not report.ok and report.broken_at == last.id and "unkeyed" in report.reason
    assert hashlib.sha256  # (plain SHA-256 is what version 1 means)


def test_the_default_audit_key_is_generated_into_the_instance_folder(tmp_path):
    config = load_config({"MARKETPLACE_INSTANCE": str(tmp_path)})
    path = tmp_path / "audit_key"
    assert config["AUDIT_KEY"] == path.read_text().strip() and len(config["AUDIT_KEY"]) == 64
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert config["AUDIT_KEY"] != config["SECRET_KEY"]
    assert load_config({"MARKETPLACE_INSTANCE": str(tmp_path)})["AUDIT_KEY"] == config["AUDIT_KEY"]
    assert config["AUDIT_CHECKPOINT_FILE"] == str(tmp_path / "audit-checkpoints.log")
    assert load_config({"MARKETPLACE_INSTANCE": str(tmp_path), "AUDIT_KEY": "k"})["AUDIT_KEY"] == "k"


# ------------------------------------------------------------------ deferred chaining, async checkpoints (issue 13)


def test_a_deferred_event_is_chained_in_order_at_commit(make_user):
    user = make_user("city_staff")
    db.session.commit()
    existing = _ids()
    audit.record(db.session, actor=user, action="test.first", object_type="thing", object_id=1, defer=True)
    assert _ids() == existing  # not inserted yet: the chain's lock is not taken before the commit
    audit.record(db.session, actor=user, action="test.second", object_type="thing", object_id=2, defer=True)
    db.session.commit()
    audit.record(db.session, actor=user, action="test.third", object_type="thing", object_id=3, defer=True)
    audit.record(db.session, actor=user, action="test.fourth", object_type="thing", object_id=4)  # immediate
    db.session.commit()
    events = db.session.execute(sa.select(AuditEvent).order_by(AuditEvent.id)).scalars().all()
    assert [e.action for e in events][len(existing):] == ["test.first", "test.second", "test.third", "test.fourth"]
    assert [e.prev_hash for e in events[1:]] == [e.hash for e in events[:-1]]
    assert audit.verify_chain(db.session).ok


def test_a_deferred_event_is_dropped_by_a_rollback(make_user, runner):
    user = make_user("city_staff")
    audit.record(db.session, actor=user, action="test.kept", object_type="thing", object_id=1)
    db.session.commit()
    audit.record(db.session, actor=user, action="test.dropped", object_type="thing", object_id=2, defer=True)
    db.session.rollback()
    db.session.commit()  # a later commit does not resurrect it
    assert "test.dropped" not in [e.action for e in db.session.execute(sa.select(AuditEvent)).scalars()]
    assert runner.invoke(args=["audit", "verify"]).exit_code == 0


def test_another_session_appends_a_deferred_event_at_once(make_user, app):
    from sqlalchemy.orm import Session

    from marketplace.models import User

    user_id = make_user("city_staff").id
    db.session.commit()
    before = len(_ids())
    with Session(db.engine) as session:
        audit.record(session, actor=session.get(User, user_id), action="test.plain",
                     object_type="thing", object_id=1, defer=True)
        assert session.execute(sa.select(sa.func.count(AuditEvent.id))).scalar_one() == before + 1
        session.commit()
    assert audit.verify_chain(db.session).ok


def test_checkpoints_written_off_the_request_path_cover_every_commit(make_user, app, monkeypatch, runner):
    monkeypatch.setitem(app.config, "AUDIT_CHECKPOINT_ASYNC", True)
    user = make_user("city_staff")
    db.session.commit()
    before = len(_ids())
    for i in range(5):
        audit.record(db.session, actor=user, action="test.burst", object_type="thing", object_id=i, defer=True)
        db.session.commit()
    assert audit._writer.idle(timeout=10)
    lines = _checkpoints(app)
    assert 1 <= len(lines) <= 5  # coalesced: one checkpoint may cover several commits
    head = db.session.execute(sa.select(AuditEvent).order_by(AuditEvent.id.desc())).scalars().first()
    assert lines[-1]["count"] == before + 5 and lines[-1]["head_id"] == head.id and lines[-1]["head"] == head.hash
    result = runner.invoke(args=["audit", "verify"])
    assert result.exit_code == 0 and f"intact: {before + 5} events" in result.output


@pytest.mark.skipif(not ON_POSTGRES, reason="the append lock is PostgreSQL's (SQLite has one writer)")
def test_an_append_waiting_for_the_lock_links_to_what_the_holder_committed(make_user, app):
    """The head is read after the append lock is granted, with a snapshot taken then: an append that waited
    for another transaction's append links to that transaction's row (no fork of the chain)."""
    import threading
    import time

    from sqlalchemy.orm import Session

    actor = make_user("city_staff")
    db.session.commit()
    actor_id = actor.id
    with Session(db.engine) as holder:
        first = audit.record(holder, actor=holder.get(User, actor_id), action="test.first", object_type="x",
                             object_id=1)  # lock taken, row inserted, not committed
        appended: list[AuditEvent] = []

        def waiting_append() -> None:
            with app.app_context(), Session(db.engine) as other:
                event = audit.record(other, actor=other.get(User, actor_id), action="test.second",
                                     object_type="x", object_id=2)
                other.commit()
                appended.append((event.prev_hash, event.hash))

        thread = threading.Thread(target=waiting_append)
        thread.start()
        time.sleep(0.5)
        assert thread.is_alive() and not appended  # waits for the holder's lock
        holder.commit()
        first_hash = first.hash
    thread.join(timeout=30)
    assert appended and appended[0][0] == first_hash
    assert audit.verify_chain(db.session).ok
