"""Concurrency on PostgreSQL: submissions racing the deadline and each other (slow; PostgreSQL only).

Runs ``scripts/submit_race.py`` (small numbers) against a real threaded HTTP server bound to the
test database, and races two transactions for one firm's live application.
"""

from __future__ import annotations

import importlib.util
import threading
from pathlib import Path

import pytest

from tests.conftest import ON_POSTGRES, make_test_app

pytestmark = [pytest.mark.slow, pytest.mark.postgres,
              pytest.mark.skipif(not ON_POSTGRES, reason="needs TEST_DB=postgres")]

SCRIPT = Path(__file__).resolve().parent.parent / "scripts" / "submit_race.py"


def _load_script():
    spec = importlib.util.spec_from_file_location("submit_race", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_race_script_against_a_live_server(database_url, app, tmp_path, capsys):
    from werkzeug.serving import make_server

    server_app = make_test_app(database_url, tmp_path, WTF_CSRF_ENABLED=True)
    server = make_server("127.0.0.1", 0, server_app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        script = _load_script()
        code = script.main(["--url", f"http://127.0.0.1:{server.server_port}", "--database-url", database_url,
                            "--firms", "24", "--processes", "3", "--spread", "1.5", "--lead", "2"])
    finally:
        server.shutdown()
        thread.join(timeout=10)
        with server_app.app_context():
            from marketplace.extensions import db

            db.engine.dispose()
    output = capsys.readouterr().out
    import json

    figures = json.loads(output.strip().splitlines()[-1])
    assert code == 0, output
    assert figures["ok"] and figures["db_submitted_at_or_after_deadline"] == 0
    assert figures["accepted_missing_from_db"] == 0 and figures["refused_but_row_in_db"] == 0
    assert figures["accepted"] + figures["refused_after_deadline"] == 24


def test_two_transactions_racing_for_one_live_application(app, make_scenario, make_user):
    """Both pass the service check at once; the partial unique index lets exactly one through, cleanly."""
    from sqlalchemy.orm import Session

    from marketplace.applications import submission
    from marketplace.errors import InvalidTransition
    from marketplace.extensions import db
    from marketplace.models import Application, Scenario, User
    from tests.test_applications import FULL

    scenario = make_scenario()
    firm = make_user("enterprise")
    colleague = make_user("enterprise", organisation=firm.organisation)
    ids = (scenario.id, firm.id, colleague.id)
    barrier = threading.Barrier(2)
    outcomes: list[str] = []
    real_live = submission.live_application

    def racing_live(*args, **kwargs):
        found = real_live(*args, **kwargs)
        barrier.wait(timeout=10)  # both transactions have looked, and seen nothing
        return found

    def attempt(user_id: int) -> None:
        with app.app_context(), Session(db.engine) as session:
            user = session.get(User, user_id)
            try:
                submission.save(session, user, session.get(Scenario, ids[0]), FULL, submit=True)
                session.commit()
                outcomes.append("accepted")
            except InvalidTransition as error:
                session.rollback()
                outcomes.append("refused: " + error.message)

    submission.live_application = racing_live
    try:
        threads = [threading.Thread(target=attempt, args=(uid,)) for uid in ids[1:]]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=30)
    finally:
        submission.live_application = real_live
    assert sorted(o.split(":")[0] for o in outcomes) == ["accepted", "refused"], outcomes
    assert "只能有一份" in next(o for o in outcomes if o.startswith("refused"))
    assert db.session.query(Application).count() == 1


def test_a_submit_waits_for_an_owner_moving_the_deadline_and_obeys_the_new_one(app, client, login, make_scenario,
                                                                               make_user):
    """The 揭榜 POST reads the scenario under its share lock at its very first read (``open_for_write``): an
    owner's uncommitted change of the deadline makes it wait, and the committed deadline then refuses it."""
    import time
    from datetime import timedelta

    import sqlalchemy as sa
    from sqlalchemy.orm import Session

    from marketplace import clock
    from marketplace.extensions import db
    from marketplace.models import Application, Scenario
    from tests.test_applications import form_data

    scenario = make_scenario()
    login(make_user("enterprise"))
    answers = []
    with Session(db.engine) as owner:
        owner.execute(sa.update(Scenario).where(Scenario.id == scenario.id)
                      .values(deadline=clock.now() - timedelta(minutes=1)))  # row locked, not yet committed
        post = threading.Thread(target=lambda: answers.append(
            client.post(f"/scenarios/{scenario.id}/apply", data=form_data())))
        started = time.monotonic()
        post.start()
        post.join(timeout=1.0)
        assert post.is_alive(), "the submit did not wait for the owner's change of the deadline"
        owner.commit()
    post.join(timeout=30)
    assert time.monotonic() - started >= 1.0
    assert answers and answers[0].status_code == 409, answers and answers[0].status_code
    assert "已超过揭榜截止时间" in answers[0].get_data(as_text=True)
    db.session.expire_all()
    assert db.session.query(Application).filter_by(scenario_id=scenario.id).count() == 0
