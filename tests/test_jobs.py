"""Background jobs (marketplace.jobs): schedules, the in-process runner, and RQ on a real Redis.

The RQ tests need ``TEST_REDIS_URL`` (skipped without it; CI sets it and ``REQUIRE_REDIS=1``). Each
test uses its own queue name, so runs never see each other's jobs, and removes its keys afterwards.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

import pytest

from marketplace.jobs.schedule import PERIODIC, Periodic, periodic
from tests.conftest import PASSWORD, make_test_app

ROOT = Path(__file__).resolve().parent.parent


# ------------------------------------------------------------------ schedules (no database)

def test_every_five_minutes_is_aligned_to_the_clock():
    scan = periodic("notifications_scan")
    assert scan.next_slot(datetime(2026, 12, 5, 3, 7, 12, tzinfo=UTC)) == datetime(2026, 12, 5, 3, 10, tzinfo=UTC)
    assert scan.next_slot(datetime(2026, 12, 5, 3, 10, tzinfo=UTC)) == datetime(2026, 12, 5, 3, 15, tzinfo=UTC)


def test_the_digest_runs_at_eight_in_shanghai():
    digest = periodic("notifications_digest")
    # 08:00 in Shanghai is 00:00 UTC: before it, today's slot; at or after it, tomorrow's.
    assert digest.next_slot(datetime(2026, 12, 4, 23, 59, tzinfo=UTC)) == datetime(2026, 12, 5, 0, 0, tzinfo=UTC)
    assert digest.next_slot(datetime(2026, 12, 5, 0, 0, tzinfo=UTC)) == datetime(2026, 12, 6, 0, 0, tzinfo=UTC)
    assert digest.slot_id(datetime(2026, 12, 5, tzinfo=UTC)) == "periodic-notifications_digest-20261205T0000"


def test_a_slot_id_is_the_same_for_every_planner():
    every = Periodic("x", minutes=1)
    now = datetime(2026, 12, 5, 3, 7, 30, tzinfo=UTC)
    assert every.slot_id(every.next_slot(now)) == every.slot_id(every.next_slot(now.replace(second=59)))


# ------------------------------------------------------------------ in-process (no REDIS_URL)

def _sign_in(client, user):
    response = client.post("/auth/login", data={"email": user.email, "password": PASSWORD})
    assert response.status_code == 302


def test_only_city_staff_see_the_jobs_page(app, make_user):
    for role in ("enterprise", "owner", "district_staff", "expert"):
        client = app.test_client()
        _sign_in(client, make_user(role))
        assert client.get("/admin/jobs").status_code == 403
        assert client.post("/admin/jobs/run/fail").status_code == 403
        assert client.post("/admin/jobs/x/requeue").status_code == 403


def test_in_process_failure_is_retried_listed_and_requeued(app, make_user):
    client = app.test_client()
    _sign_in(client, make_user("city_staff"))
    page = client.get("/admin/jobs").get_data(as_text=True)
    assert "未配置 REDIS_URL" in page and "没有失败的任务" in page
    assert client.post("/admin/jobs/run/fail").status_code == 302  # runs after the response
    runner = app.extensions["marketplace.jobs"]
    failures = runner.failures()
    assert [(f.name, f.attempts) for f in failures][:1] == [("fail", 3)]
    assert "故意失败的任务" in failures[0].error
    page = client.get("/admin/jobs").get_data(as_text=True)
    assert failures[0].id in page and "重新排队" in page
    assert client.post(f"/admin/jobs/{failures[0].id}/requeue").status_code == 302
    assert [f.id for f in runner.failures()].count(failures[0].id) == 1  # ran again, failed again
    assert client.post("/admin/jobs/no-such-job/requeue").status_code == 404


def _wait_for(condition, timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.02)
    return condition()


def test_one_scheduler_per_instance_folder_and_the_other_takes_over(database_url, tmp_path):
    """Two serving processes on one instance folder (gunicorn workers): only one runs the periodic jobs;
    when it stops, the other takes over at its next try."""
    instance = tmp_path / "instance"
    first, second = (make_test_app(database_url, instance, JOBS_SCHEDULER_RETRY_SECONDS=0.05)
                     for _ in range(2))
    runners = [a.extensions["marketplace.jobs"] for a in (first, second)]
    try:
        runners[0].start_scheduler()
        assert _wait_for(lambda: runners[0].status()["scheduler"])
        runners[1].start_scheduler()
        assert _wait_for(lambda: runners[1].status()["scheduler_waiting"])
        time.sleep(0.3)  # several retries: still refused while the first one holds the lock
        assert runners[0].status()["scheduler"] and not runners[1].status()["scheduler"]
        assert (instance / "jobs-scheduler.lock").exists()

        runners[0].stop()
        assert not runners[0].status()["scheduler"]
        assert _wait_for(lambda: runners[1].status()["scheduler"])
        runners[0].start_scheduler()  # the first one, back (a recycled worker), now waits in turn
        assert _wait_for(lambda: runners[0].status()["scheduler_waiting"])
        time.sleep(0.2)
        assert not runners[0].status()["scheduler"] and runners[1].status()["scheduler"]
    finally:
        for runner in runners:
            runner.stop()


def test_a_killed_scheduler_process_hands_the_lock_over(database_url, tmp_path):
    """A holder killed with SIGKILL (no clean-up code runs) loses the lock with its process."""
    instance = tmp_path / "instance"
    holder = subprocess.Popen(
        [sys.executable, "-c", "import sys, time; from pathlib import Path; "
         "from marketplace.jobs.runners import SchedulerLock; "
         "assert SchedulerLock(Path(sys.argv[1]) / 'jobs-scheduler.lock').acquire(); "
         "print('held', flush=True); time.sleep(60)", str(instance)],
        cwd=ROOT, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        runner = make_test_app(database_url, instance, JOBS_SCHEDULER_RETRY_SECONDS=0.05) \
            .extensions["marketplace.jobs"]
        runner.start_scheduler()
        assert _wait_for(lambda: runner.status()["scheduler_waiting"])
        time.sleep(0.2)
        assert not runner.status()["scheduler"]
        holder.kill()
        holder.wait(timeout=10)
        assert _wait_for(lambda: runner.status()["scheduler"])
        runner.stop()
    finally:
        holder.kill()
        holder.wait(timeout=10)
        holder.stdout.close()


def test_search_repair_rebuilds_a_lost_index(app, make_scenario):
    from marketplace import search
    from marketplace.extensions import db
    from marketplace.jobs.tasks import run_job

    scenario = make_scenario(status="published")
    db.session.commit()
    backend = search.get_backend()
    backend.clear()
    assert ("scenario", scenario.id) not in backend.keys_and_versions()
    assert run_job(app, "search_repair")["reindexed"] >= 1
    assert ("scenario", scenario.id) in backend.keys_and_versions()
    assert run_job(app, "search_repair") == {"reindexed": 0}  # idempotent: nothing left to do


# ------------------------------------------------------------------ RQ on Redis

@pytest.fixture
def rq_app(app, redis_url, tmp_path):
    """An app on the same test database with ``REDIS_URL`` set and a queue of its own."""
    import redis

    queue = f"test-{uuid.uuid4().hex[:10]}"
    application = make_test_app(app.config["SQLALCHEMY_DATABASE_URI"], tmp_path, REDIS_URL=redis_url,
                                JOBS_QUEUE=queue, SEARCH_INDEX_DIR=app.config["SEARCH_INDEX_DIR"])
    with application.app_context():
        yield application
    connection = redis.Redis.from_url(redis_url)
    keys = list(connection.scan_iter(f"*{queue}*"))
    runner = application.extensions["marketplace.jobs"]
    for registry_key in [k for k in keys if b":failed:" in k or b":finished:" in k or b":scheduled:" in k]:
        keys += [b"rq:job:" + job_id for job_id in connection.zrange(registry_key, 0, -1)]
    keys += [b"rq:job:" + job_id for job_id in connection.lrange(f"rq:queue:{runner.queue.name}", 0, -1)]
    if keys:
        connection.delete(*keys)


def _burst(application, scheduler: bool = True) -> None:
    from rq import SimpleWorker
    from rq.scheduler import RQScheduler

    runner = application.extensions["marketplace.jobs"]
    # Each pass stands for a new worker: a scheduler lock left by an earlier pass (it lives 61 s) would
    # otherwise keep this pass's scheduler from releasing the due retries.
    runner.connection.delete(RQScheduler.get_locking_key(runner.queue.name))
    worker = SimpleWorker([runner.queue], connection=runner.connection)
    # No command channel for these in-process passes: stopping its pub/sub thread can wait out a 60 s poll.
    worker.subscribe = worker.unsubscribe = lambda: None
    worker.work(burst=True, with_scheduler=scheduler)


def test_a_job_enqueued_by_a_web_request_runs_in_a_worker_process(app, rq_app, make_user, make_scenario):
    """A published scenario bumps the model version; after the commit a refit job is queued; a real
    ``flask jobs worker --burst`` (forking RQ worker, own process) fits and saves the models; the web
    app, which never fits with a queue, then loads the worker's file."""
    from marketplace.extensions import db
    from marketplace.matching import freshness

    runner = rq_app.extensions["marketplace.jobs"]
    client = rq_app.test_client()
    _sign_in(client, make_user("city_staff"))
    assert client.post("/admin/jobs/run/search_repair").status_code == 302
    make_scenario(status="published")
    db.session.commit()  # the version bump: match_refit queued after the commit
    queued = [(job.meta["job"], job.args[1].get("name")) for job in runner.queue.get_jobs()]
    assert queued[0] == ("search_repair", None)
    assert {("match_refit", "scenarios"), ("match_refit", "review")} <= set(queued[1:])
    assert client.get("/readyz").json["checks"]["match_model"].startswith("no fitted model")

    env = {**os.environ, "DATABASE_URL": rq_app.config["SQLALCHEMY_DATABASE_URI"],
           "REDIS_URL": rq_app.config["REDIS_URL"], "JOBS_QUEUE": runner.queue.name,
           "MATCH_MODEL_DIR": rq_app.config["MATCH_MODEL_DIR"], "SEARCH_INDEX_DIR": rq_app.config["SEARCH_INDEX_DIR"],
           "MARKETPLACE_INSTANCE": str(Path(rq_app.config["INSTANCE_DIR"])), "SECRET_KEY": "x", "FLASK_APP": "wsgi"}
    # A few seconds' work: a worker that takes a minute waits for something (see the command channel test).
    done = subprocess.run([sys.executable, "-m", "flask", "jobs", "worker", "--burst"], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=45)
    assert done.returncode == 0, done.stderr[-3000:]
    assert runner.queue.count == 0 and runner.failures() == []
    cache = freshness.get_cache(rq_app)
    stamp = freshness.read_stamp(db.session, freshness.SCENARIOS)
    assert cache.load("scenarios", stamp) is not None  # the worker's file for the current version
    builds = cache.builds
    cache.invalidate()
    assert cache.get(db.session, "review").stamp == stamp and cache.builds == builds  # loaded, not fitted
    assert scheduled_count(runner) >= 4  # the worker planned the periodic jobs


def test_a_worker_stops_its_command_channel_without_waiting_out_a_poll(rq_app):
    """A worker listens for commands (shut down, stop a job) on a pub/sub thread that polls every 60 s. When
    the thread reads the reply to UNSUBSCRIBE before it is told to stop (the main thread paused a moment: a
    busy host), RQ's own order left it waiting out a whole poll, and the worker's end with it (a
    ``flask jobs worker --burst`` took 60 s more once in a few hundred runs, up to once in six on a busy host:
    the worker test above). Here the thread is given that head start every time."""
    import threading

    worker = rq_app.extensions["marketplace.jobs"].worker()
    try:
        worker.subscribe()
        pubsub, thread = worker.pubsub, worker.pubsub_thread
        assert _wait_for(lambda: pubsub.subscribed)
        send = pubsub.unsubscribe

        def unsubscribe_and_let_the_thread_read_the_reply(*args):
            sent = send(*args)
            assert _wait_for(lambda: not pubsub.subscribed)  # the thread has read the server's reply
            time.sleep(0.2)  # and has gone round its loop (still told to run, it would wait 60 s)
            return sent

        pubsub.unsubscribe = unsubscribe_and_let_the_thread_read_the_reply
        stopping = threading.Thread(target=worker.unsubscribe, daemon=True)
        started = time.monotonic()
        stopping.start()
        stopping.join(10)
        assert not stopping.is_alive() and not thread.is_alive(), "the command channel's thread did not stop"
        assert time.monotonic() - started < 5
    finally:
        worker.connection.close()


def test_a_worker_ends_cleanly_when_its_command_channel_closed_first(rq_app):
    """Told to stop first, the pub/sub thread ends on whatever message reaches it next — here a late reply —
    and closes the channel's connection; the UNSUBSCRIBE then meets a closed socket (``Bad file descriptor``,
    seen once in CI). Nothing is left subscribed, so the worker's end goes on without an error."""
    import redis

    worker = rq_app.extensions["marketplace.jobs"].worker()
    try:
        worker.subscribe()
        pubsub, thread = worker.pubsub, worker.pubsub_thread
        assert _wait_for(lambda: pubsub.subscribed)

        def closed_underneath(*args):
            assert _wait_for(lambda: not thread.is_alive())  # some message ended the thread, it closed the channel
            raise redis.exceptions.ConnectionError("Error 9 while writing to socket. Bad file descriptor.")

        pubsub.unsubscribe = closed_underneath
        worker.pubsub_thread._running.clear()  # as if told to stop by unsubscribe
        worker.connection.publish(worker.pubsub_channel_name, '{"command": "none"}')  # a message: it ends the thread
        worker.unsubscribe()
        assert not thread.is_alive()
    finally:
        worker.connection.close()


def scheduled_count(runner) -> int:
    from rq.registry import ScheduledJobRegistry

    return ScheduledJobRegistry(queue=runner.queue).count


def test_periodic_planning_is_idempotent_and_a_scheduled_job_fires(rq_app):
    from rq.job import Job

    runner = rq_app.extensions["marketplace.jobs"]
    planned = runner.plan()
    assert len(planned) == len(PERIODIC) and all(job_id.startswith(runner.queue.name + "-periodic-") for job_id in planned)
    assert runner.plan() == []  # a second planner (another worker) finds every slot taken
    job_id = runner.enqueue("search_repair", at=datetime.now(UTC))
    assert runner.queue.count == 0 and scheduled_count(runner) == len(PERIODIC) + 1
    time.sleep(1.1)
    _burst(rq_app)  # RQ's scheduler moves the due job to the queue, the worker runs it
    job = Job.fetch(job_id, connection=runner.connection)
    assert job.get_status() == "finished" and job.return_value() == {"reindexed": 0}
    assert scheduled_count(runner) == len(PERIODIC)


def test_a_failing_job_retries_with_backoff_then_lands_in_the_admin_list(rq_app, make_user):
    from rq.job import Job

    runner = rq_app.extensions["marketplace.jobs"]
    client = rq_app.test_client()
    _sign_in(client, make_user("city_staff"))
    assert client.post("/admin/jobs/run/fail").status_code == 302
    [job_id] = runner.queue.job_ids
    attempts = 0
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not runner.failures():
        _burst(rq_app)  # each pass runs the job once; a retry waits 1 s, then 2 s, in the scheduled registry
        attempts += 1
        time.sleep(0.5)
    [failure] = runner.failures()
    assert failure.id == job_id and failure.name == "fail" and failure.attempts == 3
    assert "故意失败的任务" in failure.error
    assert Job.fetch(job_id, connection=runner.connection).retries_left == 0
    page = client.get("/admin/jobs").get_data(as_text=True)
    assert job_id in page and "故障演练" in page
    assert client.post(f"/admin/jobs/{job_id}/requeue").status_code == 302
    assert runner.failures() == [] and runner.queue.job_ids == [job_id]


def test_readyz_names_a_redis_that_is_down(app, tmp_path):
    down = make_test_app(app.config["SQLALCHEMY_DATABASE_URI"], tmp_path, REDIS_URL="redis://127.0.0.1:1/0",
                         SEARCH_INDEX_DIR=app.config["SEARCH_INDEX_DIR"], MATCH_REFIT_IN_WORKER=False)
    response = down.test_client().get("/readyz")
    assert response.status_code == 503
    assert response.json["failing"] == ["redis"] and response.json["checks"]["redis"].startswith("unavailable")
    assert down.test_client().get("/healthz").status_code == 200
    # Redis down never fails a write: the job is not queued (logged), the request succeeds.
    with down.app_context():
        assert down.extensions["marketplace.jobs"].enqueue("search_repair") is None


def test_outbox_mail_waits_and_the_job_retries_while_smtp_is_down(app):
    """Mail queued in a transaction asks for ``outbox_send`` after the commit; with the SMTP server
    unreachable the job fails every attempt, the message stays pending (nothing lost), and the
    failure is listed."""
    import sqlalchemy as sa

    from marketplace import mail
    from marketplace.extensions import db
    from marketplace.models import OutboxMessage, OutboxStatus

    runner = app.extensions["marketplace.jobs"]
    before = len(runner.failures())
    saved = app.config["MAIL_SERVER"], app.config["MAIL_PORT"]
    app.config.update(MAIL_SERVER="127.0.0.1", MAIL_PORT=1)  # a closed port
    try:
        message = mail.enqueue(db.session, "firm@test.cq", "测试", "正文")
        db.session.commit()  # the job runs now (no request): 1 + 4 retries
        failures = runner.failures()
        assert len(failures) == before + 1 and failures[0].name == "outbox_send" and failures[0].attempts == 5
        assert "SMTP temporarily unavailable" in failures[0].error
        status = db.session.execute(sa.select(OutboxMessage.status).where(OutboxMessage.id == message.id)).scalar_one()
        assert status == OutboxStatus.PENDING
    finally:
        app.config.update(MAIL_SERVER=saved[0], MAIL_PORT=saved[1])
