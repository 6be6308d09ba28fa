#!/usr/bin/env python
"""Load test against RUNNING servers (127.0.0.1 only): a mix of visitors, or a deadline burst.

    # 50 users for 60 s spread over two `make serve` instances sharing one PostgreSQL and Redis:
    .venv/bin/python scripts/loadtest.py --url http://127.0.0.1:5101 --url http://127.0.0.1:5102 \\
        --database-url postgresql://postgres@127.0.0.1:5432/loadtest --users 50 --seconds 60

    # 200 submissions fired within the last 2 seconds before a scenario's deadline:
    .venv/bin/python scripts/loadtest.py --url … --url … --database-url … --deadline-burst 200

Mix mode: each simulated user loops until the time is up, choosing per iteration (weights
``--mix``, default 50/25/25) an anonymous browse (home, scenario list page, a scenario, the firm
directory), a search (``/search?q=…``) or a firm session (sign in through the real form once, then
open and save its application draft: ``/scenarios/<id>/apply``, GET + POST "保存草稿"). Requests go
round-robin over the ``--url`` servers (the session cookie is valid on all: same ``SECRET_KEY``).

Burst mode: ``N`` firms sign in and open the apply form first; the deadline is then set a few seconds
ahead and each firm submits at a moment spread evenly over the last 2 s before it. Afterwards the
database is read: every submission the server accepted must be a row submitted before the deadline,
and none sent before the deadline may be missing ("lost").

``--database-url`` is the servers' database: the script creates its own published scenario and firm
accounts there (tagged, throw-away; password hashing kept cheap). The last line printed is one JSON
object: requests, errors and p50/p95 latency (ms) per kind.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import random
import re
import statistics
import sys
import time
import urllib.parse
from datetime import UTC, datetime
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from submit_race import (
    PASSWORD,
    REFUSED_TEXT,
    application_form,
    create_fixture,
    csrf_of,
    database_rows,
    set_deadline,
)

SEARCH_TERMS = ["智慧", "交通", "数据", "平台", "人工智能", "工业互联网", "医疗", "城市治理", "信息安全", "物联网"]
SCENARIO_LINK = re.compile(r'href="/scenarios/(\d+)"')
SAVE_NUMBER = re.compile(r"（第(\d+)次保存）")


def _local_only(urls: list[str]) -> None:
    for url in urls:
        if urllib.parse.urlsplit(url).hostname not in ("127.0.0.1", "localhost", "::1"):
            raise SystemExit(f"refusing to load {url}: traffic to 127.0.0.1 only")


class Stats:
    """Latencies and errors per kind of request."""

    def __init__(self) -> None:
        self.times: dict[str, list[float]] = {}
        self.errors: dict[str, int] = {}
        self.samples: dict[str, str] = {}
        #: Failed requests by answer ("503", "502", "429", "ConnectError", …).
        self.failures: dict[str, int] = {}
        #: Mix mode: firm index → the highest save sequence number the server acknowledged.
        self.acknowledged: dict[int, int] = {}

    def add(self, kind: str, seconds: float, ok: bool, detail: str = "", failure: str = "") -> None:
        self.times.setdefault(kind, []).append(seconds)
        if not ok:
            self.errors[kind] = self.errors.get(kind, 0) + 1
            self.samples.setdefault(kind, detail)
            key = failure or detail.split(":")[0]
            self.failures[key] = self.failures.get(key, 0) + 1

    def summary(self) -> dict:
        def pct(values: list[float], q: float) -> float:
            ordered = sorted(values)
            return round(1000 * ordered[min(len(ordered) - 1, int(q * len(ordered)))], 1)

        kinds = {kind: {"requests": len(v), "errors": self.errors.get(kind, 0), "p50_ms": pct(v, 0.50),
                        "p95_ms": pct(v, 0.95), "mean_ms": round(1000 * statistics.fmean(v), 1)}
                 for kind, v in sorted(self.times.items())}
        errors = sum(self.errors.values())
        return {"requests": sum(len(v) for v in self.times.values()), "errors": errors,
                "errors_503": self.failures.get("503", 0), "errors_other": errors - self.failures.get("503", 0),
                "failures": self.failures, "kinds": kinds, "error_samples": self.samples}


class Servers:
    """Round-robin over the base URLs."""

    def __init__(self, urls: list[str]) -> None:
        self._next = itertools.cycle([u.rstrip("/") for u in urls])

    def url(self, path: str) -> str:
        return next(self._next) + path


async def timed(stats: Stats, kind: str, client: httpx.AsyncClient, method: str, url: str,
                ok_statuses: tuple[int, ...] = (200,), **kwargs) -> httpx.Response | None:
    started = time.perf_counter()
    try:
        response = await client.request(method, url, **kwargs)
    except httpx.HTTPError as error:
        stats.add(kind, time.perf_counter() - started, False, f"{type(error).__name__}: {error}",
                  type(error).__name__)
        return None
    ok = response.status_code in ok_statuses
    stats.add(kind, time.perf_counter() - started, ok, f"HTTP {response.status_code} {url}", str(response.status_code))
    return response


# ---------------------------------------------------------------- mix mode

async def browse(stats: Stats, servers: Servers, client: httpx.AsyncClient, scenario_ids: list[int]) -> None:
    path = random.choice(["/", "/scenarios", "/scenarios?page=2", "/enterprises", "/batches",
                          f"/scenarios/{random.choice(scenario_ids)}" if scenario_ids else "/scenarios"])
    await timed(stats, "browse", client, "GET", servers.url(path))


async def search(stats: Stats, servers: Servers, client: httpx.AsyncClient) -> None:
    await timed(stats, "search", client, "GET", servers.url("/search"), params={"q": random.choice(SEARCH_TERMS)})


async def firm_session(stats: Stats, servers: Servers, email: str, scenario_id: int, index: int,
                       stop_at: float) -> None:
    """Sign in once, then open and save the application draft until the time is up."""
    async with httpx.AsyncClient(follow_redirects=False, timeout=30) as client:
        page = await timed(stats, "sign_in", client, "GET", servers.url("/auth/login"))
        if page is None:
            return
        signed = await timed(stats, "sign_in", client, "POST", servers.url("/auth/login"), ok_statuses=(302,),
                             data={"csrf_token": csrf_of(page.text), "email": email, "password": PASSWORD})
        if signed is None or signed.status_code != 302:
            return
        sequence = 0
        while time.monotonic() < stop_at:
            form = await timed(stats, "application_form", client, "GET", servers.url(f"/scenarios/{scenario_id}/apply"))
            if form is None or form.status_code != 200:
                await asyncio.sleep(0.5)
                continue
            data = application_form(index, csrf_of(form.text))
            data.pop("submit")
            data["save_draft"] = "保存草稿"
            sequence += 1
            data["plan"] = f"{data['plan']}（第{sequence}次保存）"  # which save the database holds (lost writes)
            saved = await timed(stats, "application_save", client, "POST",
                                servers.url(f"/scenarios/{scenario_id}/apply"), ok_statuses=(302, 303), data=data)
            if saved is not None and saved.status_code in (302, 303) and "/applications/" in saved.headers.get(
                    "location", ""):
                stats.acknowledged[index] = sequence


async def user_loop(stats: Stats, servers: Servers, stop_at: float, mix: tuple[float, float, float],
                    scenario_ids: list[int], firm: tuple[int, str] | None, scenario_id: int | None) -> None:
    kind = random.choices(["browse", "search", "firm"], weights=mix)[0]
    if kind == "firm" and firm is not None and scenario_id is not None:
        await firm_session(stats, servers, firm[1], scenario_id, firm[0], stop_at)
        return
    async with httpx.AsyncClient(follow_redirects=False, timeout=30) as client:
        while time.monotonic() < stop_at:
            if kind == "search":
                await search(stats, servers, client)
            else:
                await browse(stats, servers, client, scenario_ids)


async def run_mix(args: argparse.Namespace) -> dict:
    servers = Servers(args.url)
    fixture = create_fixture(args.database_url, args.users)
    firms = [(i, email) for i, email, _org in fixture["firms"]]
    async with httpx.AsyncClient(timeout=30) as client:
        listing = await client.get(servers.url("/scenarios"))
    scenario_ids = sorted({int(x) for x in SCENARIO_LINK.findall(listing.text)}) or [fixture["scenario_id"]]
    stats = Stats()
    if getattr(args, "on_start", None):
        args.on_start()  # scripts/faultrun.py times its fault from here (after the fixture is made)
    stop_at = time.monotonic() + args.seconds
    started = time.perf_counter()
    await asyncio.gather(*(user_loop(stats, servers, stop_at, tuple(args.mix), scenario_ids, firms[i],
                                     fixture["scenario_id"]) for i in range(args.users)))
    elapsed = time.perf_counter() - started
    return {"mode": "mix", "servers": args.url, "users": args.users, "seconds": round(elapsed, 1),
            "throughput_rps": round(sum(len(v) for v in stats.times.values()) / elapsed, 1),
            "writes": lost_writes(args.database_url, fixture, stats.acknowledged), **stats.summary()}


def lost_writes(database_url: str, fixture: dict, acknowledged: dict[int, int]) -> dict[str, int]:
    """Every draft save the server acknowledged must be in the database (or a later one of the same firm)."""
    held = draft_plans(database_url, fixture["scenario_id"])
    lost = 0
    for index, _email, org in fixture["firms"]:
        if index in acknowledged:
            match = SAVE_NUMBER.search(held.get(org) or "")
            if match is None or int(match.group(1)) < acknowledged[index]:
                lost += 1
    return {"acknowledged_firms": len(acknowledged), "acknowledged_saves": sum(acknowledged.values()), "lost": lost}


def draft_plans(database_url: str, scenario_id: int) -> dict[int, str]:
    import sqlalchemy as sa
    from submit_race import database_session

    from marketplace.models import Application

    with database_session(database_url) as session:
        return dict(session.execute(sa.select(Application.organisation_id, Application.plan)
                                    .where(Application.scenario_id == scenario_id)).all())


# ---------------------------------------------------------------- deadline burst

async def run_burst(args: argparse.Namespace) -> dict:
    servers = Servers(args.url)
    n = args.deadline_burst
    fixture = create_fixture(args.database_url, n)
    scenario_id = fixture["scenario_id"]
    stats = Stats()
    clients: dict[int, tuple[httpx.AsyncClient, str]] = {}
    limit = asyncio.Semaphore(20)

    async def prepare(i: int, email: str) -> None:
        async with limit:
            client = httpx.AsyncClient(follow_redirects=False, timeout=60)
            page = await client.get(servers.url("/auth/login"))
            signed = await client.post(servers.url("/auth/login"),
                                       data={"csrf_token": csrf_of(page.text), "email": email, "password": PASSWORD})
            if signed.status_code != 302:
                raise RuntimeError(f"sign-in of {email}: HTTP {signed.status_code}")
            form = await client.get(servers.url(f"/scenarios/{scenario_id}/apply"))
            clients[i] = (client, csrf_of(form.text))

    await asyncio.gather(*(prepare(i, email) for i, email, _org in fixture["firms"]))
    deadline = float(int(time.time()) + args.lead)
    set_deadline(args.database_url, scenario_id, deadline)
    window = 2.0
    results: list[dict] = []

    async def fire(i: int, org: int) -> None:
        client, token = clients[i]
        at = deadline - window + window * i / n  # spread evenly over the last 2 s, all before the deadline
        await asyncio.sleep(max(0.0, at - time.time()))
        sent = time.time()
        started = time.perf_counter()
        try:
            response = await client.post(servers.url(f"/scenarios/{scenario_id}/apply"), data=application_form(i, token))
            status, body, location = response.status_code, response.text, response.headers.get("location", "")
        except httpx.HTTPError as error:
            status, body, location = 0, repr(error), ""
        took = time.perf_counter() - started
        outcome = ("accepted" if status == 302 and "/applications/" in location
                   else "refused_late" if status == 409 and REFUSED_TEXT in body else "error")
        stats.add("submit", took, outcome != "error", f"HTTP {status}")
        results.append({"org": org, "sent": sent, "outcome": outcome})

    await asyncio.gather(*(fire(i, org) for i, _email, org in fixture["firms"]))
    for client, _token in clients.values():
        await client.aclose()
    rows = database_rows(args.database_url, scenario_id)
    deadline_dt = datetime.fromtimestamp(deadline, UTC)
    accepted = [r for r in results if r["outcome"] == "accepted"]
    late_rows = [org for org, (status, at) in rows.items() if status == "submitted" and at and at >= deadline_dt]
    lost = [r for r in results if r["outcome"] == "accepted" and rows.get(r["org"], ("", None))[0] != "submitted"]
    refused_in_time = [r for r in results if r["outcome"] == "refused_late" and r["sent"] < deadline - 0.05]
    return {"mode": "deadline-burst", "servers": args.url, "submissions": n, "accepted": len(accepted),
            "refused_after_deadline": sum(r["outcome"] == "refused_late" for r in results),
            "refused_though_sent_50ms_before": len(refused_in_time),
            "refused_in_time_sent_ms_before": sorted(round(1000 * (deadline - r["sent"])) for r in refused_in_time),
            "deadline": deadline, "accepted_rows_after_deadline": len(late_rows),
            "lost": len(lost), **stats.summary()}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", action="append", required=True, help="base URL of a running server (repeat)")
    parser.add_argument("--database-url", required=True, help="the servers' database (fixture accounts)")
    parser.add_argument("--users", type=int, default=50, help="concurrent simulated users (mix mode)")
    parser.add_argument("--seconds", type=float, default=60, help="duration of the mix run")
    parser.add_argument("--mix", type=float, nargs=3, default=(50, 25, 25), metavar=("BROWSE", "SEARCH", "FIRM"))
    parser.add_argument("--deadline-burst", type=int, default=0, metavar="N",
                        help="instead of the mix: N submissions in the last 2 s before a deadline")
    parser.add_argument("--lead", type=int, default=6, help="burst: seconds from ready to the deadline")
    args = parser.parse_args(argv)
    _local_only(args.url)
    if not 1 <= args.users <= 500 or not 0 < args.seconds <= 600 or not 0 <= args.deadline_burst <= 1000:
        parser.error("bounded runs only: users 1–500, seconds ≤ 600, burst ≤ 1000")
    result = asyncio.run(run_burst(args) if args.deadline_burst else run_mix(args))
    print(json.dumps(result, ensure_ascii=False))
    return 0 if result["errors"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
