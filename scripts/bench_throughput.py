"""Throughput of anonymous ``/scenarios`` against a bare Flask hello-world under the same gunicorn settings.

Starts three gunicorn servers on 127.0.0.1 (2 sync workers each, same flags): a hello-world app,
the marketplace with page caching on and the marketplace with ``PAGE_CACHE=off``, all on one
demo database. Then runs ``wrk`` (or a small threaded client when ``wrk`` is not installed)
against them in interleaved rounds (hello, cached, uncached, hello, …), so load from other
processes on the machine hits all three alike, and prints the median requests per second of each,
the ratios against hello-world and the issue's targets (≥ 0.30 cached, ≥ 0.08 uncached).

``--submitters 50`` also measures the application submit p95: that many firm users, signed in,
submit one application each to the same open scenario at once (through the cached server).

    .venv/bin/python scripts/bench_throughput.py                       # seeds a demo database first
    .venv/bin/python scripts/bench_throughput.py --instance /tmp/demo  # reuse a seeded instance folder
    .venv/bin/python scripts/bench_throughput.py --redis-url redis://127.0.0.1:6379/6 --submitters 50
    .venv/bin/python scripts/bench_throughput.py --baseline /tmp/old-checkout   # before/after, interleaved

``--baseline DIR`` adds the same two marketplace servers run from another checkout of the code (e.g.
``git archive <commit> | tar -x -C DIR``) on the same database, measured in the same rounds, so a change
is compared with the code before it under the same machine load.

Traffic goes to 127.0.0.1 only; the run is bounded (rounds × duration).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent

HELLO = '''from flask import Flask

app = Flask(__name__)


@app.route("/")
def hello():
    return "Hello, World!"
'''

TARGETS = {"cached": 0.30, "uncached": 0.08}

#: A complete application as the browser posts it (price and milestones fit any demo scenario).
FULL = {
    "summary": "基于强化学习的区域信号协同优化方案，高峰通行时间下降15%。",
    "approach": "感知层接入卡口与线圈数据，决策层用多智能体强化学习，控制层对接现有信号机。",
    "team": "王磊｜项目经理｜智慧交通、信号控制\n李娜|算法工程师|强化学习",
    "price_wan": "10.00",
    "plan": "需求调研、试点路口、全面推广三阶段实施。",
    "milestones": "1｜完成需求调研\n试点路口上线｜第2月\n3｜通过验收",
    "declares_meets_requirements": "y",
    "declares_no_conflict": "y",
    "submit": "1",
}
TAGS = re.compile(r"<script.*?</script>|<style.*?</style>|<[^>]+>|\s+", re.S)
CSRF = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_until_up(url: str, timeout: float = 240.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=5) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.3)
    raise SystemExit(f"server at {url} did not come up")


def gunicorn(app: str, port: int, env: dict[str, str], chdir: Path, workers: int, worker_class: str,
             threads: int) -> subprocess.Popen:
    # Every server (hello-world included) reads the project's gunicorn.conf.py, whatever the current directory:
    # the same settings as production (access log, worker recycling …) for all of them.
    command = [str(BIN / "gunicorn"), "--config", str(ROOT / "gunicorn.conf.py"), "--chdir", str(chdir),
               "-w", str(workers), "-k", worker_class,
               "--threads", str(threads), "-b", f"127.0.0.1:{port}", "--log-level", "warning", app]
    # The servers' log goes to a file (printed with its path): a pipe nobody reads fills up after a few
    # thousand log lines and then blocks every worker that logs.
    with tempfile.NamedTemporaryFile(prefix=f"bench-{port}-", suffix=".log", delete=False) as log:
        print(f"server {app} on port {port}: log {log.name}", file=sys.stderr)
        return subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=log)


def seed(instance: Path, env: dict[str, str]) -> None:
    flask = str(BIN / "flask")
    for args in (["db", "upgrade"], ["seed", "demo", "--if-empty"]):
        subprocess.run([flask, *args], cwd=ROOT, env=env, check=True, stdout=subprocess.DEVNULL)


def run_wrk(url: str, seconds: float, connections: int) -> float:
    output = subprocess.run(["wrk", "-t2", f"-c{connections}", f"-d{max(1, round(seconds))}s", url],
                            capture_output=True, text=True, check=True).stdout
    match = re.search(r"Requests/sec:\s+([\d.]+)", output)
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    if errors:
        print(f"  warning: {errors.group(1)} non-2xx responses from {url}", file=sys.stderr)
    return float(match.group(1)) if match else 0.0


def run_threads(url: str, seconds: float, connections: int) -> float:
    """A plain client for machines without wrk: *connections* threads in a closed loop."""
    count = [0] * connections
    stop = time.monotonic() + seconds

    def loop(i: int) -> None:
        while time.monotonic() < stop:
            with urllib.request.urlopen(url, timeout=30) as response:
                response.read()
            count[i] += 1

    threads = [threading.Thread(target=loop, args=(i,)) for i in range(connections)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return sum(count) / seconds


def measure(url: str, seconds: float, connections: int) -> float:
    return (run_wrk if shutil.which("wrk") else run_threads)(url, seconds, connections)


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    """The timed submit ends at the server's answer (302): the page it redirects to is another request."""

    def redirect_request(self, *args, **kwargs):
        return None


def _quantile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[max(0, math.ceil(len(ordered) * q) - 1)] if ordered else float("nan")


def phase_summary(log: Path, sent: dict[str, tuple[float, float]]) -> dict[str, object]:
    """Where the submit's time went, from the server's per-request stamps (``--phases``) and the client's.

    Each figure is a p50 / p95 in ms over the timed POSTs: ``queued`` (client send → the worker calls the app:
    the listen backlog and the other requests ahead on that worker), ``before_commit`` (app start → commit
    start: the view and its statements), ``lock_wait`` (waiting for the audit chain's advisory lock),
    ``locked`` (lock taken → COMMIT done: head read, insert, version bump, WAL flush), ``after_commit``
    (commit done → response produced), ``to_client`` (response produced → the client read it), and the
    request thread's CPU."""
    records = {}
    for line in log.read_text().splitlines():
        record = json.loads(line)
        if record.get("method") == "POST" and record.get("rid") in sent:
            records[record["rid"]] = record
    phases: dict[str, list[float]] = {k: [] for k in ("total", "queued", "before_commit", "lock_wait", "locked",
                                                      "after_commit", "to_client", "server", "cpu")}
    for rid, record in records.items():
        send, received = sent[rid]
        lock_got = record.get("lock_got", record.get("commit"))
        values = {"total": received - send, "queued": record["wsgi"] - send,
                  "before_commit": record["commit"] - record["wsgi"],
                  "lock_wait": lock_got - record.get("lock_req", lock_got),
                  "locked": record["committed"] - lock_got, "after_commit": record["end"] - record["committed"],
                  "to_client": received - record["end"], "server": record["end"] - record["wsgi"]}
        for name, value in values.items():
            phases[name].append(value * 1000)
        phases["cpu"].append(record["cpu_ms"])
    summary: dict[str, object] = {name: [round(_quantile(v, 0.5), 1), round(_quantile(v, 0.95), 1)]
                                  for name, v in phases.items()}
    summary["requests"] = len(records)
    summary["statements"] = statistics.median(r.get("statements", 0) for r in records.values()) if records else 0
    if records:  # the whole burst: first send to last answer, and the worker CPU it took
        summary["burst_ms"] = round((max(r for _, r in sent.values()) - min(s for s, _ in sent.values())) * 1000, 1)
        summary["server_cpu_ms_sum"] = round(sum(phases["cpu"]), 1)
    return summary


def _cpu_seconds(pids: list[int]) -> dict[int, float]:
    """utime + stime of each process (``/proc``; a process that is gone counts nothing)."""
    ticks = os.sysconf("SC_CLK_TCK")
    found = {}
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        found[pid] = (int(fields[11]) + int(fields[12])) / ticks
    return found


def _children(pid: int) -> list[int]:
    try:
        return [int(p) for p in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        return []


def submit_p95(base: str, instance_env: dict[str, str], submitters: int, follow_redirects: bool = False,
               phase_log: Path | None = None, server_pid: int | None = None) -> dict[str, object]:
    """*submitters* signed-in firm users submit one application each to one open scenario, all at once.

    Everything but the POST itself happens before the timed window: users, sign-in, the form's CSRF token,
    the encoded body. The window is from sending the POST to reading the server's answer (its redirect is
    not followed unless *follow_redirects*: the page after it is another request, timed by earlier runs)."""
    import http.cookiejar
    import urllib.parse

    sys.path.insert(0, str(ROOT))
    os.environ.update(instance_env)
    from marketplace import create_app
    from marketplace.extensions import db
    from marketplace.models import Organisation, OrganisationKind, Role, Scenario, ScenarioStatus, User

    app = create_app()
    password = "bench-password-1"
    with app.app_context():
        from datetime import timedelta

        import sqlalchemy as sa
        from werkzeug.security import generate_password_hash

        from marketplace import clock
        from marketplace.uscc import check_char

        scenario = db.session.execute(sa.select(Scenario).where(
            Scenario.status == ScenarioStatus.PUBLISHED, Scenario.deadline > clock.now() + timedelta(hours=1))
            .order_by(Scenario.id)).scalars().first()
        if scenario is None:
            raise SystemExit("no open scenario in the demo data")
        scenario_id = scenario.id
        emails = []
        stamp = int(time.time())
        for n in range(submitters):
            first17 = f"91500103{stamp % 10**5:05d}{n:04d}"[:17]
            org = Organisation(name=f"压测软件公司{stamp}-{n}", kind=OrganisationKind.SOFTWARE_ENTERPRISE,
                               uscc=first17 + check_char(first17), district_id=scenario.district_id)
            email = f"bench{stamp}-{n}@firm.example"
            db.session.add(User(email=email, name=f"压测{n}", role=Role.ENTERPRISE, organisation=org,
                                password_hash=generate_password_hash(password, "pbkdf2:sha256:1000")))
            emails.append(email)
        db.session.commit()

    openers = []
    for email in emails:
        jar = http.cookiejar.CookieJar()
        opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
        page = opener.open(f"{base}/auth/login", timeout=30).read().decode()
        token = CSRF.search(page).group(1)
        body = urllib.parse.urlencode({"email": email, "password": password, "csrf_token": token}).encode()
        opener.open(f"{base}/auth/login", data=body, timeout=30).read()
        page = opener.open(f"{base}/scenarios/{scenario_id}/apply", timeout=30).read().decode()
        poster = opener if follow_redirects else urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(jar), _NoRedirect)
        body = urllib.parse.urlencode({**FULL, "csrf_token": CSRF.search(page).group(1)}).encode()
        request = urllib.request.Request(f"{base}/scenarios/{scenario_id}/apply", data=body,
                                         headers={"X-Request-ID": f"bench-submit-{stamp}-{len(openers)}"})
        openers.append((poster, request))
    timings: list[float] = []
    failures: list[str] = []
    sent: dict[str, tuple[float, float]] = {}
    barrier = threading.Barrier(len(openers))

    def submit(opener, request) -> None:
        barrier.wait()
        started, sent_at = time.perf_counter(), time.time()
        try:
            with opener.open(request, timeout=60) as response:
                response.read()
        except urllib.error.HTTPError as error:
            detail = error.read().decode()
            if error.code != 302:
                failures.append(f"{error} {re.sub(TAGS, ' ', detail)[:600]}")
        except OSError as error:
            failures.append(str(error))
        timings.append((time.perf_counter() - started) * 1000)
        sent[request.get_header("X-request-id")] = (sent_at, time.time())

    def backends() -> list[int]:  # this database's PostgreSQL server processes (a local server only)
        if db.engine.dialect.name != "postgresql":
            return []
        with db.engine.connect() as conn:
            return list(conn.execute(sa.text(
                "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()"))
                .scalars())

    with app.app_context():
        workers = _children(server_pid) if server_pid else []
        cpu_before = {"workers": _cpu_seconds(workers), "database": _cpu_seconds(backends())}
        client_before = time.process_time()
        threads = [threading.Thread(target=submit, args=pair) for pair in openers]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        client_cpu = time.process_time() - client_before
        cpu_after = {"workers": _cpu_seconds(workers), "database": _cpu_seconds(backends())}
    # CPU the burst cost, per submit: web workers, the database's server processes, this client.
    cpu_per_submit = {name: round(sum(after - cpu_before[name].get(pid, 0.0) for pid, after in cpu_after[name].items())
                                  * 1000 / len(openers), 1) for name in cpu_after}
    cpu_per_submit["client"] = round(client_cpu * 1000 / len(openers), 1)
    timings.sort()
    with app.app_context():
        from marketplace.models import Application, ApplicationStatus

        submitted = db.session.scalar(sa.select(sa.func.count()).select_from(Application).join(Organisation).where(
            Application.scenario_id == scenario_id, Application.status == ApplicationStatus.SUBMITTED,
            Organisation.name.like(f"压测软件公司{stamp}-%")))
    result: dict[str, object] = {
        "submitters": submitters, "submitted": submitted, "follow_redirects": follow_redirects,
        "p50_ms": round(statistics.median(timings), 1), "p95_ms": round(_quantile(timings, 0.95), 1),
        "max_ms": round(timings[-1], 1), "failures": len(failures), "first_failure": failures[0] if failures else None,
        "cpu_ms_per_submit": cpu_per_submit if server_pid else {"client": cpu_per_submit["client"]}}
    if phase_log is not None:
        time.sleep(0.5)  # the last workers append their lines after the response
        result["phases_p50_p95_ms"] = phase_summary(phase_log, sent)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--instance", type=Path, help="seeded instance folder (default: a new one, seeded now)")
    parser.add_argument("--database-url", help="DATABASE_URL (default: the instance's SQLite file)")
    parser.add_argument("--redis-url", help="REDIS_URL for the marketplace servers (default: in-process cache)")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=8.0, help="duration of each run")
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--worker-class", default="sync")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--path", default="/scenarios")
    parser.add_argument("--submitters", type=int, default=0, help="also measure submit p95 with this many")
    parser.add_argument("--baseline", type=Path, help="another checkout to measure alongside (before/after)")
    parser.add_argument("--submit-only", action="store_true", help="with --submitters: skip the throughput rounds")
    parser.add_argument("--submit-rounds", type=int, default=1,
                        help="with --submit-only: bursts in a row (fresh firms each time; with --baseline, interleaved)")
    parser.add_argument("--follow-redirects", action="store_true",
                        help="time the submit's redirect target too (as the submit runs before 2026-12-05 did)")
    parser.add_argument("--phases", action="store_true",
                        help="with --submit-only: serve scripts.submit_phases_wsgi (per-phase server stamps)")
    args = parser.parse_args()

    instance = args.instance or Path(tempfile.mkdtemp(prefix="bench-instance-"))
    env = {**os.environ, "MARKETPLACE_INSTANCE": str(instance), "FLASK_APP": "wsgi.py",
           "MATCH_BACKGROUND_REBUILD": "0",
           # Every bench user signs in from 127.0.0.1: raise the per-IP sign-in limit for these servers only
           # (the real setting; production keeps its default).
           "RATELIMIT_LOGIN": os.environ.get("BENCH_RATELIMIT_LOGIN", "100000/minute")}
    env.pop("REDIS_URL", None)
    if args.database_url:
        env["DATABASE_URL"] = args.database_url
    if args.redis_url:
        env["REDIS_URL"] = args.redis_url
    if args.instance is None or args.database_url:
        print("seeding the demo database …", file=sys.stderr)
    seed(instance, env)

    if args.submit_only:
        roots = {"submit": ROOT, **({"submit_baseline": args.baseline.resolve()} if args.baseline else {})}
        if args.phases and args.baseline and not (args.baseline / "scripts" / "submit_phases_wsgi.py").exists():
            shutil.copy(ROOT / "scripts" / "submit_phases_wsgi.py", args.baseline / "scripts")  # a bench tool only
        phase_logs = {name: Path(tempfile.mkdtemp(prefix="bench-phases-")) / "phases.jsonl" for name in roots}
        ports = {name: free_port() for name in roots}
        servers = {name: gunicorn("scripts.submit_phases_wsgi:app" if args.phases else "wsgi:app", ports[name],
                                  {**env, "PHASE_LOG": str(phase_logs[name])}, root,
                                  args.workers, args.worker_class, args.threads)
                   for name, root in roots.items()}
        try:
            for name in roots:
                wait_until_up(f"http://127.0.0.1:{ports[name]}/scenarios")
            for n in range(args.submit_rounds):
                for name in roots:
                    result = {"round": n + 1, "server": name, "root": str(roots[name]),
                              "settings": {"workers": args.workers, "worker_class": args.worker_class,
                                           "threads": args.threads,
                                           "database": "postgresql" if args.database_url else "sqlite",
                                           "cpus": os.cpu_count(),
                                           "load_average": [round(x, 2) for x in os.getloadavg()]},
                              "submit": submit_p95(f"http://127.0.0.1:{ports[name]}", env, args.submitters,
                                                   args.follow_redirects,
                                                   phase_logs[name] if args.phases else None,
                                                   servers[name].pid)}
                    print(json.dumps(result, ensure_ascii=False), flush=True)
        finally:
            for server in servers.values():
                server.terminate()
            for server in servers.values():
                server.wait(timeout=30)
        return

    hello_dir = Path(tempfile.mkdtemp(prefix="bench-hello-"))
    (hello_dir / "hello.py").write_text(HELLO)
    roots = {"cached": ROOT, "uncached": ROOT}
    if args.baseline:
        roots.update({"cached_baseline": args.baseline.resolve(), "uncached_baseline": args.baseline.resolve()})
    ports = {name: free_port() for name in ("hello", *roots)}
    settings = (args.workers, args.worker_class, args.threads)
    servers = {"hello": gunicorn("hello:app", ports["hello"], env, hello_dir, *settings)}
    for name, root in roots.items():
        cache = "on" if name.startswith("cached") else "off"
        servers[name] = gunicorn("wsgi:app", ports[name], {**env, "PAGE_CACHE": cache}, root, *settings)
    urls = {"hello": f"http://127.0.0.1:{ports['hello']}/"}
    urls.update({name: f"http://127.0.0.1:{ports[name]}{args.path}" for name in roots})
    results: dict[str, list[float]] = {name: [] for name in urls}
    try:
        for url in urls.values():
            wait_until_up(url)
            measure(url, 2, args.connections)  # warm-up: imports, first renders, caches
        for n in range(args.rounds):
            for name, url in urls.items():
                rate = measure(url, args.seconds, args.connections)
                results[name].append(rate)
                print(f"round {n + 1} {name:9s} {rate:9.1f} req/s", file=sys.stderr)
        summary: dict[str, object] = {
            "settings": {"workers": args.workers, "worker_class": args.worker_class, "threads": args.threads,
                         "connections": args.connections, "seconds": args.seconds, "rounds": args.rounds,
                         "client": "wrk" if shutil.which("wrk") else "threads", "path": args.path,
                         "store": "redis" if args.redis_url else "in-process",
                         "cpus": os.cpu_count(), "load_average": [round(x, 2) for x in os.getloadavg()]},
            "req_per_s": {name: round(statistics.median(rates), 1) for name, rates in results.items()},
        }
        hello = statistics.median(results["hello"])
        ratios = {name: round(statistics.median(results[name]) / hello, 3) for name in roots}
        summary["ratio_to_hello"] = ratios
        summary["meets_target"] = {name: ratios[name] >= target for name, target in TARGETS.items()}
        if args.baseline:
            summary["baseline"] = str(args.baseline)
        if args.submitters:
            summary["submit"] = submit_p95(f"http://127.0.0.1:{ports['cached']}", env, args.submitters)
            if args.baseline:
                summary["submit_baseline"] = submit_p95(f"http://127.0.0.1:{ports['cached_baseline']}", env,
                                                        args.submitters)
        print(json.dumps(summary, ensure_ascii=False))
    finally:
        for server in servers.values():
            server.terminate()
        for server in servers.values():
            try:
                server.wait(timeout=20)
            except subprocess.TimeoutExpired:
                server.kill()


if __name__ == "__main__":
    main()
