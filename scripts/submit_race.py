#!/usr/bin/env python
"""Submit many 揭榜 applications around a deadline against a RUNNING server, then check the database.

    .venv/bin/python scripts/submit_race.py --url http://127.0.0.1:5077 \\
        --database-url postgresql://postgres@127.0.0.1:5432/mp_race_x --firms 200 --processes 8

1. Creates, directly in the server's database, an owner, a published scenario (deadline ten
   minutes ahead for now) and ``--firms`` software firms with one user each.
2. Starts ``--processes`` worker processes. Each signs its firms in through the real login page
   (``http.client`` with a cookie per firm, CSRF token parsed from the form) and fetches the apply
   form (CSRF token again), then reports ready.
3. When every firm is ready, the deadline is moved to a whole second ``--lead`` seconds ahead and
   the workers are told when it is. Each firm's submission is scheduled at ``deadline + offset``,
   the offsets spread evenly over ``[-spread, +spread)``: half before the deadline, half after.
   Within a worker every firm has its own thread, so all submissions are in flight together.
4. Compares what the server answered with what the database holds, and asserts:
   no application accepted at or after the deadline (server ``submitted_at``, and client send
   time), no accepted submission missing from the database, no refused submission leaving a row,
   no unexpected response. The last line printed is one JSON object with the figures; the exit
   status is 0 only when every check holds.

The client and server must share a clock (run both on one machine), since "sent before the
deadline" is read on the client and "submitted before the deadline" on the server.
"""

from __future__ import annotations

import argparse
import http.client
import json
import multiprocessing as mp
import re
import secrets
import sys
import threading
import time
import urllib.parse
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

CSRF = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')
PASSWORD = "race-pass-2025"
REFUSED_TEXT = "已超过揭榜截止时间"


# ---------------------------------------------------------------- a tiny HTTP client with a cookie

class Browser:
    """One signed-in firm: a keep-alive connection and the session cookie."""

    def __init__(self, url: str) -> None:
        parts = urllib.parse.urlsplit(url)
        self.host, self.port = parts.hostname, parts.port or 80
        self.cookies: dict[str, str] = {}
        self.conn: http.client.HTTPConnection | None = None

    def _connection(self) -> http.client.HTTPConnection:
        if self.conn is None:
            self.conn = http.client.HTTPConnection(self.host, self.port, timeout=120)
        return self.conn

    def request(self, method: str, path: str, form: dict[str, str] | None = None) -> tuple[int, dict, str]:
        headers = {"Cookie": "; ".join(f"{k}={v}" for k, v in self.cookies.items())} if self.cookies else {}
        body = None
        if form is not None:
            body = urllib.parse.urlencode(form).encode("utf-8")
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        for attempt in (1, 2):
            try:
                conn = self._connection()
                conn.request(method, path, body=body, headers=headers)
                response = conn.getresponse()
                text = response.read().decode("utf-8", "replace")
                break
            except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
                # The server closed an idle connection: reconnect once, for GET only — a POST is never
                # sent twice (that would be a second submission with another send time).
                self.close()
                if attempt == 2 or method != "GET":
                    raise
        for header, value in response.getheaders():
            if header.lower() == "set-cookie":
                name, _, rest = value.partition("=")
                self.cookies[name.strip()] = rest.split(";", 1)[0]
        return response.status, {k.lower(): v for k, v in response.getheaders()}, text

    def close(self) -> None:
        if self.conn is not None:
            self.conn.close()
            self.conn = None


def csrf_of(html: str) -> str:
    match = CSRF.search(html)
    if not match:
        raise RuntimeError("no csrf_token in the page")
    return match.group(1)


def application_form(i: int, token: str) -> dict[str, str]:
    return {
        "csrf_token": token,
        "summary": f"竞速测试方案第{i}号：基于数据中台的信号协同优化，高峰通行时间下降10%以上。",
        "approach": "感知层接入卡口数据，决策层采用强化学习，控制层对接现有信号机。",
        "team": f"测试员{i}｜项目经理｜智慧交通\n工程师{i}｜算法工程师｜强化学习",
        "price_wan": f"{100 + i}.{i % 100:02d}",
        "plan": "需求调研、试点、推广三阶段实施。",
        "milestones": "1｜需求调研\n6｜试点上线\n12｜通过验收",
        "declares_meets_requirements": "y",
        "declares_no_conflict": "y",
        "submit": "提交揭榜申请",
    }


# ---------------------------------------------------------------- worker processes

def worker(url: str, scenario_id: int, firms: list[tuple[int, str, float]], ready: mp.Queue,
           go: mp.Queue, results: mp.Queue) -> None:
    """Sign in every firm of this process, report ready, then fire each submission at its moment."""
    browsers: dict[int, tuple[Browser, str]] = {}
    try:
        for i, email, _offset in firms:
            browser = Browser(url)
            status, _, html = browser.request("GET", "/auth/login")
            status, headers, _ = browser.request("POST", "/auth/login",
                                                 {"csrf_token": csrf_of(html), "email": email, "password": PASSWORD})
            if status != 302:
                raise RuntimeError(f"login of {email} failed: HTTP {status}")
            status, _, html = browser.request("GET", f"/scenarios/{scenario_id}/apply")
            if status != 200:
                raise RuntimeError(f"apply form for {email}: HTTP {status}")
            browsers[i] = (browser, csrf_of(html))
        ready.put(("ready", len(browsers)))
    except Exception as error:  # reported to the main process, which stops the run
        ready.put(("error", repr(error)))
        return
    deadline = go.get()

    def fire(i: int, offset: float) -> None:
        browser, token = browsers[i]
        form = application_form(i, token)
        target = deadline + offset
        while True:  # sleep coarsely, then spin for the last two milliseconds
            left = target - time.time()
            if left <= 0:
                break
            time.sleep(left - 0.002 if left > 0.003 else 0)
        sent = time.time()
        try:
            status, headers, body = browser.request("POST", f"/scenarios/{scenario_id}/apply", form)
            outcome = ("accepted" if status == 302 and "/applications/" in headers.get("location", "")
                       else "refused" if status == 409 and REFUSED_TEXT in body else "unexpected")
            location = headers.get("location", "")
            detail = location if outcome == "accepted" else f"HTTP {status}"
        except Exception as error:
            status, outcome, detail = 0, "error", repr(error)
        received = time.time()
        results.put({"firm": i, "offset": offset, "sent": sent, "received": received, "status": status,
                     "outcome": outcome, "detail": detail})
        browser.close()

    threads = [threading.Thread(target=fire, args=(i, offset)) for i, _email, offset in firms]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


# ---------------------------------------------------------------- database set-up and checks

def database_session(database_url: str):
    import sqlalchemy as sa
    from sqlalchemy.orm import Session

    from marketplace.config import normalise_database_url

    engine = sa.create_engine(normalise_database_url(database_url), poolclass=sa.pool.NullPool)
    return Session(engine)


def create_fixture(database_url: str, firms: int) -> dict:
    """An owner, a published scenario (deadline 10 minutes ahead for now) and ``firms`` firms with a user each."""
    import sqlalchemy as sa
    from werkzeug.security import generate_password_hash

    from marketplace.models import (
        ApprovalStatus,
        District,
        Domain,
        FundingSource,
        Organisation,
        OrganisationKind,
        Role,
        Scenario,
        ScenarioStatus,
        Theme,
        User,
    )

    tag = secrets.token_hex(3)
    # A cheap hash so that 200 sign-ins do not dominate the run; these are throw-away test accounts.
    password_hash = generate_password_hash(PASSWORD, method="pbkdf2:sha256:1000")
    now = datetime.now(UTC)
    with database_session(database_url) as session:
        district = session.execute(sa.select(District).where(District.code == "yuzhong")).scalar_one()
        owner = Organisation(name=f"竞速测试业主{tag}", kind=OrganisationKind.GOVERNMENT, district=district)
        scenario = Scenario(
            title=f"揭榜截止竞速测试场景 {tag}", summary="并发提交测试。",
            description="用于验证截止时间前后并发提交的处理：截止前的不丢失，截止后的不接受。",
            boundary="包括：测试。不包括：其他。", requirements="无。", acceptance="全部检查通过。", outcomes="可靠。",
            owner=owner, district=district, status=ScenarioStatus.PUBLISHED, published_at=now,
            domain=session.execute(sa.select(Domain).limit(1)).scalar_one_or_none(),
            theme=session.execute(sa.select(Theme).limit(1)).scalar_one_or_none(),
            contact_name="测试", contact_phone="023-00000000", funding_source=FundingSource.FISCAL,
            budget_wan=Decimal("500.00"), deadline=now + timedelta(minutes=10), delivery_months=12,
        )
        session.add_all([owner, scenario])
        accounts = []
        for i in range(firms):
            firm = Organisation(name=f"竞速测试企业{tag}-{i:03d}", kind=OrganisationKind.SOFTWARE_ENTERPRISE,
                                district=district)
            user = User(email=f"race-{tag}-{i:03d}@race.cq", name=f"测试员{i}", password_hash=password_hash,
                        role=Role.ENTERPRISE, organisation=firm, approval_status=ApprovalStatus.APPROVED,
                        notification_mode="off")
            session.add_all([firm, user])
            accounts.append((firm, user))
        session.commit()
        return {"tag": tag, "scenario_id": scenario.id,
                "firms": [(i, user.email, firm.id) for i, (firm, user) in enumerate(accounts)]}


def set_deadline(database_url: str, scenario_id: int, deadline: float) -> None:
    import sqlalchemy as sa

    from marketplace.models import Scenario

    with database_session(database_url) as session:
        session.execute(sa.update(Scenario).where(Scenario.id == scenario_id)
                        .values(deadline=datetime.fromtimestamp(deadline, UTC)))
        session.commit()


def database_rows(database_url: str, scenario_id: int) -> dict[int, tuple[str, datetime | None]]:
    """organisation_id → (status, submitted_at) of the scenario's applications."""
    import sqlalchemy as sa

    from marketplace.models import Application

    with database_session(database_url) as session:
        rows = session.execute(sa.select(Application.organisation_id, Application.status, Application.submitted_at)
                               .where(Application.scenario_id == scenario_id)).all()
    counts: dict[int, int] = {}
    for org, _status, _at in rows:
        counts[org] = counts.get(org, 0) + 1
    if any(n > 1 for n in counts.values()):
        raise AssertionError("a firm has more than one application row")
    return {org: (status.value, at) for org, status, at in rows}


# ---------------------------------------------------------------- the run

def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", required=True, help="base URL of the running server, e.g. http://127.0.0.1:5077")
    parser.add_argument("--database-url", required=True, help="the server's PostgreSQL database")
    parser.add_argument("--firms", type=int, default=200)
    parser.add_argument("--processes", type=int, default=8)
    parser.add_argument("--lead", type=float, default=3.0,
                        help="seconds from 'all signed in' to the first scheduled submission")
    parser.add_argument("--spread", type=float, default=1.0,
                        help="submissions are spread over deadline ± this many seconds")
    args = parser.parse_args(argv)

    fixture = create_fixture(args.database_url, args.firms)
    scenario_id = fixture["scenario_id"]
    org_of = {i: org for i, _email, org in fixture["firms"]}
    n = args.firms
    offsets = {i: -args.spread + 2 * args.spread * (k + 0.5) / n
               for k, (i, _email, _org) in enumerate(fixture["firms"])}
    print(f"scenario {scenario_id} (run {fixture['tag']}), {n} firms, {args.processes} processes")

    ctx = mp.get_context("fork" if sys.platform != "win32" else "spawn")
    ready, results = ctx.Queue(), ctx.Queue()
    gos = []
    processes = []
    for p in range(args.processes):
        mine = [(i, email, offsets[i]) for i, email, _org in fixture["firms"] if i % args.processes == p]
        go = ctx.Queue()
        process = ctx.Process(target=worker, args=(args.url, scenario_id, mine, ready, go, results))
        process.start()
        gos.append(go)
        processes.append(process)

    prepared = 0
    for _ in processes:
        kind, value = ready.get(timeout=600)
        if kind == "error":
            for process in processes:
                process.terminate()
            print(f"a worker failed while signing in: {value}", file=sys.stderr)
            return 2
        prepared += value
    # A whole second, a few seconds ahead of the first scheduled submission.
    deadline = float(int(time.time() + args.lead + args.spread) + 1)
    set_deadline(args.database_url, scenario_id, deadline)
    deadline_utc = datetime.fromtimestamp(deadline, UTC)
    print(f"{prepared} firms signed in; deadline {deadline_utc.astimezone().isoformat()} "
          f"({deadline_utc.isoformat()})")
    for go in gos:
        go.put(deadline)

    outcomes = [results.get(timeout=900) for _ in range(n)]
    for process in processes:
        process.join(timeout=60)
    rows = database_rows(args.database_url, scenario_id)

    scheduled_before = sum(1 for o in outcomes if o["offset"] < 0)
    sent_before = [o for o in outcomes if o["sent"] < deadline]
    accepted = [o for o in outcomes if o["outcome"] == "accepted"]
    refused = [o for o in outcomes if o["outcome"] == "refused"]
    other = [o for o in outcomes if o["outcome"] not in ("accepted", "refused")]
    submitted_rows = {org: at for org, (status, at) in rows.items() if status == "submitted"}
    before_server = [org for org, at in submitted_rows.items() if at is not None and at < deadline_utc]
    late_rows = [org for org, at in submitted_rows.items() if at is None or at >= deadline_utc]
    accepted_orgs = {org_of[o["firm"]] for o in accepted}
    missing = sorted(accepted_orgs - set(submitted_rows))
    unexpected_rows = sorted(set(rows) - accepted_orgs)
    refused_with_rows = sorted(org_of[o["firm"]] for o in refused if org_of[o["firm"]] in rows)
    accepted_sent_late = [o for o in accepted if o["sent"] >= deadline]
    sent_before_refused = [o for o in refused if o["sent"] < deadline]
    latencies = sorted(o["received"] - o["sent"] for o in outcomes)

    def ms(value: float | None) -> float | None:
        return None if value is None else round(value * 1000, 1)

    figures = {
        "firms": n, "processes": args.processes, "scenario_id": scenario_id,
        "deadline": deadline_utc.isoformat(),
        "scheduled_before_deadline": scheduled_before, "scheduled_after_deadline": n - scheduled_before,
        "sent_before_deadline_client_clock": len(sent_before),
        "sent_at_or_after_deadline_client_clock": n - len(sent_before),
        "accepted": len(accepted), "refused_after_deadline": len(refused), "unexpected_responses": len(other),
        "db_submitted": len(submitted_rows), "db_submitted_before_deadline_server_clock": len(before_server),
        "db_submitted_at_or_after_deadline": len(late_rows),
        "accepted_missing_from_db": len(missing), "db_rows_without_accepted_response": len(unexpected_rows),
        "refused_but_row_in_db": len(refused_with_rows), "accepted_but_sent_after_deadline": len(accepted_sent_late),
        "sent_before_but_reached_server_after_deadline": len(sent_before_refused),
        "last_accepted_sent_ms_before_deadline": ms(deadline - max((o["sent"] for o in accepted), default=deadline)),
        "latest_server_submitted_at_ms_before_deadline": ms(
            (deadline_utc - max(submitted_rows.values())).total_seconds() if submitted_rows else None),
        "median_response_ms": ms(latencies[len(latencies) // 2]) if latencies else None,
        "max_response_ms": ms(latencies[-1]) if latencies else None,
    }
    checks = {
        "none accepted after the deadline (server submitted_at)": not late_rows,
        "none accepted that was sent after the deadline (client clock)": not accepted_sent_late,
        "no accepted submission missing from the database": not missing,
        "every database row has an accepted response": not unexpected_rows,
        "refused submissions left no row": not refused_with_rows,
        "every response was an acceptance or a deadline refusal": not other,
        "accepted == rows in the database": len(accepted) == len(submitted_rows) == len(rows),
    }
    figures["ok"] = all(checks.values())

    print(f"submissions scheduled before / after the deadline: {scheduled_before} / {n - scheduled_before}")
    print(f"sent before the deadline (client clock): {len(sent_before)}; "
          f"submitted before the deadline (server submitted_at): {len(before_server)}")
    print(f"accepted: {len(accepted)}; refused after the deadline: {len(refused)} "
          f"(of which sent before it but reached the server too late: {len(sent_before_refused)}); "
          f"unexpected: {len(other)}")
    for o in other[:10]:
        print(f"  unexpected: firm {o['firm']} {o['outcome']} {o['detail']}")
    for name, ok in checks.items():
        print(f"  [{'ok' if ok else 'FAILED'}] {name}")
    print(json.dumps(figures, ensure_ascii=False))
    return 0 if figures["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
