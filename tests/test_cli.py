"""``flask`` commands that write are one unit of work: committed when they return, rolled back when they fail."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from marketplace import unit_of_work
from marketplace.extensions import db
from marketplace.models import ApprovalStatus, District, OutboxMessage, Role, Scenario, User


def count(model) -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(model))


def test_seed_reference_is_idempotent_and_committed(runner):
    before = count(District)
    for _ in range(2):
        result = runner.invoke(args=["seed", "reference"])
        assert result.exit_code == 0 and "reference data loaded" in result.output
    db.session.rollback()  # only what the command committed is left
    assert count(District) == before > 0


def test_seed_demo_goes_into_an_empty_database_only(runner, make_user):
    make_user("owner")
    result = runner.invoke(args=["seed", "demo"])
    assert result.exit_code != 0 and "empty database only" in result.output
    result = runner.invoke(args=["seed", "demo", "--if-empty"])
    assert result.exit_code == 0 and "demo data not loaded" in result.output
    db.session.rollback()
    assert count(User) == 1 and count(Scenario) == 0


def test_seed_demo_commits_the_data_set_then_indexes_it(runner, monkeypatch):
    """The command's transaction, with a one-account stand-in for the (30-second) demo data set."""
    from marketplace.demo import seed

    def load_demo(session, seed, progress):
        session.add(User(email="demo@test.cq", name="演示专家", phone="023-12345678", password_hash="x",
                         role=Role.EXPERT, approval_status=ApprovalStatus.APPROVED))
        return {"users": 1}

    monkeypatch.setattr(seed, "load_demo", load_demo)
    result = runner.invoke(args=["seed", "demo"])
    assert result.exit_code == 0, result.output
    assert "users: 1" in result.output and "search index rebuilt" in result.output
    db.session.rollback()  # only what the command committed is left
    assert count(User) == 1


def test_outbox_send_without_a_mail_server_keeps_the_messages(runner):
    db.session.add(OutboxMessage(to_address="a@b.cq", subject="s", body="b"))
    db.session.commit()
    result = runner.invoke(args=["outbox", "send"])
    assert result.exit_code == 0 and "MAIL_SERVER is not set" in result.output
    assert count(OutboxMessage) == 1


def test_transactional_commits_on_return_and_rolls_back_on_failure(app):
    @unit_of_work.transactional
    def add(subject: str, fail: bool) -> None:
        db.session.add(OutboxMessage(to_address="a@b.cq", subject=subject, body="b"))
        db.session.flush()
        if fail:
            raise RuntimeError("the command failed")

    add("kept", fail=False)
    with pytest.raises(RuntimeError):
        add("dropped", fail=True)
    db.session.rollback()
    assert set(db.session.scalars(sa.select(OutboxMessage.subject))) == {"kept"}
