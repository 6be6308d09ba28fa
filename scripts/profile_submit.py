"""One process, one firm after another: the SQL statements and the server CPU of a 揭榜 submit.

Uses the configured database (``DATABASE_URL``; seed it first, e.g. with ``bench_throughput.py`` or
``flask seed demo``), creates *n* firm users, signs each in with Flask's test client and submits one
complete application each to the first open scenario. Prints the statements of the last submit (the
first ones warm caches) and the median process CPU per submit (``time.process_time``, which includes
the test client's small share).

    DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1:5432/g2_bench \\
        .venv/bin/python scripts/profile_submit.py --firms 20
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--firms", type=int, default=20)
    parser.add_argument("--show", action="store_true", help="print every statement of the last submit")
    args = parser.parse_args()
    os.environ.setdefault("RATELIMIT_LOGIN", "100000/minute")
    os.environ.setdefault("MATCH_BACKGROUND_REBUILD", "0")

    import sqlalchemy as sa
    from werkzeug.security import generate_password_hash

    from marketplace import audit, clock, create_app
    from marketplace.extensions import db
    from marketplace.models import Organisation, OrganisationKind, Role, Scenario, ScenarioStatus, User
    from marketplace.uscc import check_char
    from scripts.bench_throughput import FULL

    app = create_app()
    app.config["WTF_CSRF_ENABLED"] = False
    password = "bench-password-1"
    stamp = int(time.time())
    with app.app_context():
        scenario = db.session.execute(sa.select(Scenario).where(
            Scenario.status == ScenarioStatus.PUBLISHED, Scenario.deadline > clock.now() + timedelta(hours=1))
            .order_by(Scenario.id)).scalars().first()
        scenario_id = scenario.id
        emails = []
        for n in range(args.firms):
            first17 = f"91500104{stamp % 10**5:05d}{n:04d}"[:17]
            org = Organisation(name=f"剖析软件公司{stamp}-{n}", kind=OrganisationKind.SOFTWARE_ENTERPRISE,
                               uscc=first17 + check_char(first17), district_id=scenario.district_id)
            email = f"profile{stamp}-{n}@firm.example"
            db.session.add(User(email=email, name=f"剖析{n}", role=Role.ENTERPRISE, organisation=org,
                                password_hash=generate_password_hash(password, "pbkdf2:sha256:1000")))
            emails.append(email)
        db.session.commit()
        engine = db.engine

    statements: list[str] = []
    sa.event.listen(engine, "before_cursor_execute", lambda c, cur, stmt, *a: statements.append(stmt))
    cpu, wall, counts = [], [], []
    for email in emails:
        client = app.test_client()
        client.post("/auth/login", data={"email": email, "password": password})
        statements.clear()
        started, started_cpu = time.perf_counter(), time.process_time()
        response = client.post(f"/scenarios/{scenario_id}/apply", data=FULL)
        cpu.append((time.process_time() - started_cpu) * 1000)
        wall.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 302, response.status_code
        counts.append(len(statements))
    with app.app_context():
        getattr(audit, "_writer", None) and audit._writer.idle(timeout=10)
    if args.show:
        for number, statement in enumerate(statements, start=1):
            print(f"{number:2d}. {' '.join(statement.split())[:160]}")
    print(json.dumps({"firms": args.firms, "database": engine.dialect.name,
                      "checkpoint": "async" if app.config.get("AUDIT_CHECKPOINT_ASYNC") else "sync",
                      "statements_per_submit": statistics.median(counts),
                      "cpu_ms_median": round(statistics.median(cpu), 1),
                      "wall_ms_median": round(statistics.median(wall), 1)}, ensure_ascii=False))


if __name__ == "__main__":
    main()
