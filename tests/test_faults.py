"""Faults (issue 13): the database restarting under the site.

* A request that meets an unreachable database answers ``503`` with ``Retry-After`` (page or JSON),
  never a 500, and even when the error page itself cannot read the database.
* Connections the database dropped (a PostgreSQL restart) are replaced by the pool's pre-ping: the
  next request works. Run on SQLite and on PostgreSQL (``TEST_DB=postgres``).

Redis down is covered by tests/test_rate_limits.py (limits fall back to process memory),
tests/test_jobs.py (readiness names Redis; enqueue failures are logged) and scripts/faultrun.py.
"""

from __future__ import annotations

import sqlalchemy as sa

from marketplace.extensions import db


def _gone(*_args, **_kwargs):
    raise sa.exc.OperationalError("SELECT 1", {}, Exception("server closed the connection unexpectedly"))


def test_an_unreachable_database_is_a_503_page(app, client, monkeypatch):
    monkeypatch.setattr(db.session, "execute", _gone)
    response = client.get("/statistics")
    assert response.status_code == 503
    assert response.headers["Retry-After"] == "5"
    assert "数据库暂时不可用" in response.get_data(as_text=True)  # the bare page: rendering needed the database too


def test_an_unreachable_database_is_a_503_json_error(app, client, monkeypatch):
    monkeypatch.setattr(db.session, "execute", _gone)
    response = client.get("/api/v1/scenarios")
    assert response.status_code == 503
    assert response.headers["Retry-After"] == "5"
    assert response.get_json()["error"]["status"] == 503


def test_a_refused_write_during_the_outage_changes_nothing_and_says_so(app, client, login, make_user, monkeypatch):
    from marketplace.models import Notification

    user = make_user("enterprise")
    login(user)
    before = db.session.scalar(sa.select(sa.func.count()).select_from(Notification))
    monkeypatch.setattr(db.session, "execute", _gone)
    response = client.post("/notifications/read-all")
    assert response.status_code == 503
    assert "您的操作未被保存" in response.get_data(as_text=True)
    monkeypatch.undo()
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Notification)) == before


def test_connections_dropped_by_a_database_restart_are_replaced(app, client):
    """Every pooled connection is closed behind the pool's back (as a PostgreSQL restart does); on
    PostgreSQL the server side is also terminated. The next requests still answer 200."""
    engine = db.engine
    held = [engine.raw_connection() for _ in range(3)]
    if engine.dialect.name == "postgresql":
        with engine.connect() as admin:
            pids = [c.dbapi_connection.info.backend_pid for c in held]
            admin.execute(sa.text("SELECT pg_terminate_backend(pid) FROM unnest(CAST(:p AS int[])) AS pid"),
                          {"p": pids})
            admin.commit()
    else:
        for connection in held:
            connection.dbapi_connection.close()
    for connection in held:
        connection.close()  # back to the pool, dead
    db.session.remove()
    for _ in range(4):
        assert client.get("/scenarios").status_code == 200
        assert client.get("/api/v1/scenarios").status_code == 200


def test_a_commit_that_loses_the_database_is_a_503_and_nothing_is_kept(app, client, login, make_user, monkeypatch):
    """The view succeeded, the request's one commit fails (PostgreSQL went away): 503, rolled back."""
    from marketplace.models import Notification

    user = make_user("enterprise")
    login(user)
    before = db.session.scalar(sa.select(sa.func.count()).select_from(Notification))
    monkeypatch.setattr(db.session, "commit", _gone)
    response = client.post("/notifications/read-all")
    assert response.status_code == 503
    assert response.headers["Retry-After"] == "5"
    monkeypatch.undo()
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Notification)) == before


def test_a_signed_in_user_meeting_the_outage_gets_a_503_not_a_500(app, client, login, make_user, monkeypatch):
    """Loading the signed-in user fails too; neither the error page nor the response hooks (security
    headers ask whether someone is signed in) may try the database again and turn the 503 into a 500."""
    login(make_user("enterprise"))
    db.session.remove()
    monkeypatch.setattr(sa.orm.Session, "execute", _gone)
    monkeypatch.setattr(sa.orm.Session, "rollback", _gone)
    response = client.get("/scenarios")
    assert response.status_code == 503
    assert response.headers["X-Frame-Options"] == "DENY"  # the response hooks ran
