"""The uncached public scenario list stays cheap: a fixed, small number of queries per anonymous request."""

from __future__ import annotations

import contextlib

import sqlalchemy as sa

#: Most SQL statements one anonymous ``GET /scenarios`` may run (issue 13: ≤ 6).
MAX_QUERIES = 6


@contextlib.contextmanager
def counted(engine: sa.Engine):
    statements: list[str] = []

    def before(conn, cursor, statement, parameters, context, executemany):
        statements.append(statement)

    sa.event.listen(engine, "before_cursor_execute", before)
    try:
        yield statements
    finally:
        sa.event.remove(engine, "before_cursor_execute", before)


def test_scenario_list_runs_at_most_six_queries(app, client, make_scenario, make_org):
    from marketplace.extensions import db

    owners = [make_org("government", district=code) for code in ("yuzhong", "jiangbei", "yuzhong")]
    for n in range(12):
        make_scenario(owner=owners[n % 3], district=owners[n % 3].district.code, title=f"场景{n}")
    make_scenario(status="awarded")
    client.get("/scenarios")  # warm-up: nothing per-process may hide queries the steady state runs
    for url in ("/scenarios", "/scenarios?status=open&sort=deadline", "/scenarios?district=yuzhong&page=1"):
        with counted(db.engine) as statements:
            response = client.get(url)
        assert response.status_code == 200
        assert response.get_data(as_text=True).count('class="card mb-3 scenario-card"') >= 1
        assert len(statements) <= MAX_QUERIES, "\n\n".join(statements)
