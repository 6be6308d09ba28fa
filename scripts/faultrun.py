#!/usr/bin/env python
"""Fault runs (issue 13): the load-test mix against two app servers while things break. 127.0.0.1 only.

    .venv/bin/python scripts/faultrun.py \\
        --database-url postgresql+psycopg://postgres@127.0.0.1:5434/faultrun --redis-url redis://127.0.0.1:6391/2 \\
        --ports 5207 5208 --nginx-port 5209 \\
        --pg-restart "su gpg -c '/usr/lib/postgresql/15/bin/pg_ctl -D /tmp/g-pg -m fast restart -l /tmp/g-pg.log \\
                      -o \\"-p 5434 -k /tmp -c max_connections=200\\"'" \\
        --fault kill-web --fault restart-pg --fault restart-redis --fault stop-worker

What it starts (and stops at the end): the database migrated and indexed (``flask db upgrade``,
``flask search reindex``, ``flask match rebuild``), two ``make serve`` equivalents (gunicorn with
``gunicorn.conf.py``, same ``SECRET_KEY``, the given PostgreSQL and Redis), one ``flask jobs worker``,
and with ``--nginx-port`` a private nginx built from ``deploy/nginx-marketplace.conf`` (HTTP, the two
servers as upstreams; ``TRUSTED_PROXIES=1``) through which the traffic goes.

Then, per ``--fault``, one ``scripts/loadtest.py`` mix run (``--users`` for ``--seconds``) while, after
``--at`` seconds, the fault happens:

* ``kill-web``: SIGKILL one gunicorn worker process of the first server (its master forks a new one);
* ``restart-pg``: the ``--pg-restart`` shell command (``pg_ctl restart``);
* ``restart-redis``: ``redis-cli shutdown`` (Redis writes its append-only file) and a new ``redis-server``
  with ``--redis-args``;
* ``stop-worker``: the job worker is stopped for ``--worker-pause`` seconds, jobs are enqueued meanwhile
  (``flask jobs enqueue``), then it is started again; the run waits (≤ 120 s) until the queue is empty.

``--deadline-burst N`` then fires N submissions within the last 2 s before a deadline through the same
site (``loadtest.py --deadline-burst``; through nginx the arrival time is nginx's ``X-Request-Start``).

After each run: requests, errors (503s apart), lost writes (every acknowledged draft save must be in
the database), and the job queue (queued / failed, and the outbox mail still unsent once the worker
caught up). The last line printed is one JSON object with every run.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import secrets
import shlex
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(ROOT))

import loadtest  # noqa: E402

FAULTS = ("none", "kill-web", "restart-pg", "restart-redis", "stop-worker")


def local_only(url: str) -> None:
    host = urllib.parse.urlsplit(url.replace("+psycopg", "")).hostname
    if host not in ("127.0.0.1", "localhost", "::1"):
        raise SystemExit(f"refusing {url}: 127.0.0.1 only")


def wait_ready(url: str, timeout: float = 240.0) -> None:
    stop = time.monotonic() + timeout
    last = ""
    while time.monotonic() < stop:
        try:
            with urllib.request.urlopen(url, timeout=10) as response:
                if response.status == 200:
                    return
        except urllib.error.HTTPError as error:
            last = error.read().decode("utf-8", "replace")[:500]
        except OSError as error:
            last = repr(error)
        time.sleep(1)
    raise SystemExit(f"{url} not ready after {timeout:.0f} s: {last}")


def children(pid: int) -> list[int]:
    """Direct child processes of *pid* (from /proc)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == pid:
                found.append(int(entry.name))
    return found


class Site:
    """The processes of one fault-run site."""

    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.folder = Path(tempfile.mkdtemp(prefix="faultrun-"))
        self.env = {
            **os.environ, "FLASK_APP": "wsgi.py", "MARKETPLACE_INSTANCE": str(self.folder),
            "SECRET_KEY": secrets.token_hex(32), "DATABASE_URL": args.database_url, "REDIS_URL": args.redis_url,
            "SEARCH_BACKEND": "postgres", "WEB_CONCURRENCY": str(args.workers), "GUNICORN_THREADS": str(args.threads),
            "GUNICORN_ACCESS_LOG": str(self.folder / "access.log"), "LOG_FORMAT": "text",
            "JOBS_QUEUE": f"faultrun-{secrets.token_hex(3)}",
            # One client address (127.0.0.1) plays 50 users: raise its per-IP limits for this run only.
            "RATELIMIT_LOGIN": "100000/minute", "RATELIMIT_SEARCH": "100000/minute", "LOGIN_MAX_FAILURES_PER_IP": "100000",
        }
        if args.nginx_port:
            self.env["TRUSTED_PROXIES"] = "1"
        self.servers: list[subprocess.Popen] = []
        self.worker: subprocess.Popen | None = None
        self.nginx: subprocess.Popen | None = None

    def log(self, name: str):
        return open(self.folder / f"{name}.log", "ab")

    def prepare(self) -> None:
        flask = str(BIN / "flask")
        for command in (["db", "upgrade"], ["search", "reindex"], ["match", "rebuild"]):
            subprocess.run([flask, *command], cwd=ROOT, env=self.env, check=True, stdout=self.log("prepare"),
                           stderr=subprocess.STDOUT)

    def start_servers(self) -> None:
        for port in self.args.ports:
            self.servers.append(subprocess.Popen(
                [str(BIN / "gunicorn"), "-c", "gunicorn.conf.py", "wsgi:app"], cwd=ROOT,
                env={**self.env, "PORT": str(port)}, stdout=self.log(f"web-{port}"), stderr=subprocess.STDOUT))
        for port in self.args.ports:
            wait_ready(f"http://127.0.0.1:{port}/readyz")
        if self.args.nginx_port:
            self.start_nginx()

    def start_worker(self) -> None:
        self.worker = subprocess.Popen([str(BIN / "flask"), "jobs", "worker"], cwd=ROOT, env=self.env,
                                       stdout=self.log("worker"), stderr=subprocess.STDOUT)

    def stop_worker(self) -> None:
        if self.worker is not None:
            self.worker.send_signal(signal.SIGTERM)
            try:
                self.worker.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.worker.kill()
            self.worker = None

    def start_nginx(self) -> None:
        upstreams = "\n".join(f"    server 127.0.0.1:{p} max_fails=3 fail_timeout=10s;" for p in self.args.ports)
        prefix = self.folder / "nginx"
        (prefix / "logs").mkdir(parents=True)
        config = f"""daemon off;
worker_processes 1;
pid {prefix}/nginx.pid;
error_log {prefix}/logs/error.log warn;
events {{ worker_connections 1024; }}
http {{
  # When each request reached nginx ($msec at the end minus $request_time): the burst's refusals are checked
  # against it.
  log_format arrival '$msec $request_time $status "$request"';
  access_log {prefix}/logs/access.log arrival;
  client_body_temp_path {prefix}/body; proxy_temp_path {prefix}/proxy;
  fastcgi_temp_path {prefix}/fcgi; uwsgi_temp_path {prefix}/uwsgi; scgi_temp_path {prefix}/scgi;
  upstream marketplace_web {{
{upstreams}
    keepalive 32;
  }}
  server {{
    listen 127.0.0.1:{self.args.nginx_port};
    client_max_body_size 26m;
    location / {{
      proxy_pass http://marketplace_web;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header Host $host;
      proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
      proxy_set_header X-Forwarded-Proto $scheme;
      proxy_set_header X-Forwarded-Host $host;
      proxy_set_header X-Request-ID $request_id;
      proxy_set_header X-Request-Start "t=${{msec}}";
      proxy_connect_timeout 5s;
      proxy_read_timeout 35s;
      proxy_next_upstream error timeout http_502;
    }}
  }}
}}
"""
        (prefix / "nginx.conf").write_text(config)
        self.nginx = subprocess.Popen(["nginx", "-c", str(prefix / "nginx.conf"), "-p", str(prefix)],
                                      stdout=self.log("nginx"), stderr=subprocess.STDOUT)
        wait_ready(f"http://127.0.0.1:{self.args.nginx_port}/healthz")

    def urls(self) -> list[str]:
        if self.args.nginx_port:
            return [f"http://127.0.0.1:{self.args.nginx_port}"]
        return [f"http://127.0.0.1:{p}" for p in self.args.ports]

    def stop(self) -> None:
        self.stop_worker()
        for process in [*self.servers, self.nginx]:
            if process is not None:
                process.terminate()
        for process in [*self.servers, self.nginx]:
            if process is not None:
                try:
                    process.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    process.kill()

    # ------------------------------------------------------------ faults

    def kill_web_worker(self) -> str:
        victims = children(self.servers[0].pid)
        if not victims:
            return "no worker found"
        os.kill(victims[0], signal.SIGKILL)
        return f"SIGKILL gunicorn worker {victims[0]}"

    def restart_pg(self) -> str:
        started = time.monotonic()
        subprocess.run(self.args.pg_restart, shell=True, check=True, stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL)
        return f"pg_ctl restart took {time.monotonic() - started:.1f} s"

    def restart_redis(self) -> str:
        port = urllib.parse.urlsplit(self.args.redis_url).port or 6379
        started = time.monotonic()
        subprocess.run(["redis-cli", "-p", str(port), "shutdown"], check=False, stdout=subprocess.DEVNULL)
        time.sleep(self.args.redis_down)
        subprocess.run(["redis-server", "--port", str(port), "--daemonize", "yes", *shlex.split(self.args.redis_args)],
                       check=True, stdout=subprocess.DEVNULL)
        return f"Redis down for {time.monotonic() - started:.1f} s"

    # ------------------------------------------------------------ after a run

    def burst_arrivals(self, deadline: float) -> dict:
        """From nginx's log: submissions refused (409) that reached nginx before the deadline, and accepted
        ones (302) that reached it after."""
        refused_before, accepted_after, seen = [], 0, 0
        for line in (self.folder / "nginx" / "logs" / "access.log").read_text().splitlines():
            parts = line.split(" ", 3)
            if len(parts) < 4 or not parts[3].startswith('"POST /scenarios/') or "/apply" not in parts[3]:
                continue
            arrived = float(parts[0]) - float(parts[1])
            if abs(arrived - deadline) > 10:
                continue
            seen += 1
            if parts[2] == "409" and arrived < deadline:
                refused_before.append(round(1000 * (deadline - arrived)))
            elif parts[2] == "302" and arrived >= deadline:
                accepted_after += 1
        return {"submissions_logged": seen, "refused_though_reached_nginx_before_deadline": len(refused_before),
                "their_ms_before_deadline": sorted(refused_before), "accepted_though_reached_nginx_after": accepted_after}

    def jobs_state(self) -> dict:
        from redis import Redis
        from rq import Queue
        from rq.registry import FailedJobRegistry

        connection = Redis.from_url(self.args.redis_url)
        queue = Queue(self.env["JOBS_QUEUE"], connection=connection)
        return {"queued": queue.count, "failed": FailedJobRegistry(queue=queue).count}

    def wait_for_queue(self, timeout: float = 120.0) -> tuple[dict, float]:
        started = time.monotonic()
        state = self.jobs_state()
        while state["queued"] and time.monotonic() - started < timeout:
            time.sleep(1)
            state = self.jobs_state()
        return state, round(time.monotonic() - started, 1)

    def unsent_mail(self) -> int:
        import sqlalchemy as sa
        from submit_race import database_session

        from marketplace.models import OutboxMessage

        with database_session(self.args.database_url) as session:
            return session.scalar(sa.select(sa.func.count()).select_from(OutboxMessage)
                                  .where(OutboxMessage.sent_at.is_(None)))


def one_run(site: Site, fault: str) -> dict:
    args = site.args
    started = threading.Event()
    load = argparse.Namespace(url=site.urls(), database_url=args.database_url, users=args.users,
                              seconds=args.seconds, mix=(50, 25, 25), deadline_burst=0, on_start=started.set)
    events: list[str] = []

    def inject() -> None:
        if not started.wait(timeout=600):  # the load begins once its accounts exist
            return
        if fault == "stop-worker":
            time.sleep(args.at)
            site.stop_worker()
            # Work asked for meanwhile (as the periodic plan and the requests do) must wait in the queue.
            for job in ("notifications_scan", "outbox_send", "search_repair"):
                subprocess.run([str(BIN / "flask"), "jobs", "enqueue", job], cwd=ROOT, env=site.env, check=False,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            time.sleep(args.worker_pause)
            events.append(f"worker stopped for {args.worker_pause:.0f} s; queued meanwhile: {site.jobs_state()}")
            site.start_worker()
            return
        time.sleep(args.at)
        action = {"kill-web": site.kill_web_worker, "restart-pg": site.restart_pg,
                  "restart-redis": site.restart_redis}.get(fault)
        if action is not None:
            try:
                events.append(action())
            except Exception as error:  # the run goes on; the JSON says what failed
                events.append(f"fault failed: {error!r}")

    thread = threading.Thread(target=inject)
    thread.start()
    result = asyncio.run(loadtest.run_mix(load))
    thread.join()
    jobs, waited = site.wait_for_queue()  # after stop-worker: from the worker's restart
    return {"fault": fault, "events": events, "requests": result["requests"], "errors": result["errors"],
            "errors_503": result["errors_503"], "errors_other": result["errors_other"],
            "failures": result["failures"], "writes": result["writes"], "throughput_rps": result["throughput_rps"],
            "p95_ms": {k: v["p95_ms"] for k, v in result["kinds"].items()},
            "jobs_after": jobs, "queue_drained_in_s": waited, "unsent_mail": site.unsent_mail(),
            "error_samples": result["error_samples"]}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", required=True, help="PostgreSQL on 127.0.0.1 (a private, throw-away one)")
    parser.add_argument("--redis-url", required=True, help="Redis on 127.0.0.1 (a private one: it is restarted)")
    parser.add_argument("--ports", type=int, nargs=2, default=(5207, 5208))
    parser.add_argument("--nginx-port", type=int, default=0, help="put a private nginx in front on this port")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers per server")
    parser.add_argument("--threads", type=int, default=1, help="gunicorn threads per worker")
    parser.add_argument("--fault", action="append", choices=FAULTS, help="one run per fault (repeat)")
    parser.add_argument("--users", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--at", type=float, default=15, help="seconds into the run when the fault happens")
    parser.add_argument("--worker-pause", type=float, default=60)
    parser.add_argument("--deadline-burst", type=int, default=0, metavar="N",
                        help="after the runs: N submissions in the last 2 s before a deadline (loadtest.py)")
    parser.add_argument("--lead", type=int, default=20, help="burst: seconds from ready to the deadline")
    parser.add_argument("--pg-restart", default="", help="shell command restarting the private PostgreSQL")
    parser.add_argument("--redis-down", type=float, default=3, help="seconds Redis stays down")
    parser.add_argument("--redis-args", default="--save '' --appendonly yes --dir /tmp/g-redis",
                        help="arguments of the restarted redis-server")
    args = parser.parse_args(argv)
    local_only(args.database_url)
    local_only(args.redis_url)
    faults = args.fault or ["none"]
    if "restart-pg" in faults and not args.pg_restart:
        parser.error("--fault restart-pg needs --pg-restart")
    if (not 1 <= args.users <= 200 or not 0 < args.seconds <= 300 or len(faults) > 6
            or not 0 <= args.deadline_burst <= 1000):
        parser.error("bounded runs only: users 1–200, seconds ≤ 300, at most 6 runs, burst ≤ 1000")
    site = Site(args)
    try:
        site.prepare()
        site.start_servers()
        site.start_worker()
        runs = [one_run(site, fault) for fault in faults] if args.fault or not args.deadline_burst else []
        burst = None
        if args.deadline_burst:
            load = argparse.Namespace(url=site.urls(), database_url=args.database_url,
                                      deadline_burst=args.deadline_burst, lead=args.lead)
            burst = asyncio.run(loadtest.run_burst(load))
            burst.pop("error_samples", None)
            if args.nginx_port:
                time.sleep(1)
                burst["nginx"] = site.burst_arrivals(burst["deadline"])
    finally:
        site.stop()
    summary = {"servers": len(args.ports), "nginx": bool(args.nginx_port), "users": args.users,
               "seconds": args.seconds, "logs": str(site.folder), "runs": runs,
               "lost_writes": sum(r["writes"]["lost"] for r in runs),
               "errors_other_than_503": sum(r["errors_other"] for r in runs)}
    if burst is not None:
        summary["deadline_burst"] = burst
    print(json.dumps(summary, ensure_ascii=False))
    ok = summary["lost_writes"] == 0 and summary["errors_other_than_503"] == 0
    if burst is not None:
        ok = ok and burst["lost"] == 0 and burst["accepted_rows_after_deadline"] == 0
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
