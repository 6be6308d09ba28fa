"""Fresh test databases on SQLite or PostgreSQL, and a fast per-test clean-up."""

from __future__ import annotations

import os
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import make_url

#: Tables loaded by migrations that tests never empty.
REFERENCE_TABLES = {"districts", "domains", "themes", "alembic_version"}


def postgres_server_url() -> str | None:
    """The PostgreSQL server tests may use (``TEST_DATABASE_URL``), normalised for psycopg 3."""
    from marketplace.config import normalise_database_url

    url = os.environ.get("TEST_DATABASE_URL")
    return normalise_database_url(url) if url else None


def postgres_reachable(url: str) -> bool:
    try:
        engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
        with engine.connect() as conn:
            conn.execute(sa.text("SELECT 1"))
        engine.dispose()
        return True
    except Exception:
        return False


@contextmanager
def fresh_postgres_database(server_url: str, prefix: str = "mp_test") -> Iterator[str]:
    """Create a new, empty database on the server; drop it afterwards."""
    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    admin = sa.create_engine(server_url, isolation_level="AUTOCOMMIT", poolclass=sa.pool.NullPool)
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
        # A throw-away database: commits need not wait for the WAL flush (visibility is unchanged).
        conn.execute(sa.text(f'ALTER DATABASE "{name}" SET synchronous_commit = off'))
    try:
        yield make_url(server_url).set(database=name).render_as_string(hide_password=False)
    finally:
        _drop_in_background(admin, name)


#: Databases being dropped: ``DROP DATABASE`` waits for a checkpoint (every dirty page of the server written
#: out, a minute on a busy one), so it runs in a thread while the tests go on; :func:`wait_for_drops` joins them.
_drops: list[threading.Thread] = []


def _drop_in_background(admin: sa.Engine, name: str) -> None:
    def drop() -> None:
        try:
            with admin.connect() as conn:
                conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        finally:
            admin.dispose()

    thread = threading.Thread(target=drop, name=f"drop {name}")
    thread.start()
    _drops.append(thread)


def wait_for_drops() -> None:
    """Wait until every database dropped so far is gone (at the end of the session)."""
    while _drops:
        _drops.pop().join()


def sqlite_url(folder: Path, name: str = "test.sqlite3") -> str:
    return f"sqlite:///{folder / name}"


def empty_tables(engine: sa.Engine, metadata: sa.MetaData) -> None:
    """Remove every row a test made, keeping reference data.

    On PostgreSQL only the tables a test touched are truncated — those holding rows, and those whose
    id sequence moved (a rolled-back insert still takes an id) — found in one query, since truncating
    all ~50 tables after every test dominated the PostgreSQL run. Ids restart at 1 as before.
    """
    tables = [t for t in reversed(metadata.sorted_tables) if t.name not in REFERENCE_TABLES]
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            names = {t.name for t in tables}
            probes = " UNION ALL ".join(
                f"SELECT '{t.name}' WHERE EXISTS (SELECT 1 FROM \"{t.name}\")" for t in tables)
            touched = set(conn.execute(sa.text(probes)).scalars())
            touched |= set(conn.execute(sa.text(
                "SELECT t.relname FROM pg_sequences ps"
                " JOIN pg_class s ON s.relname = ps.sequencename AND s.relkind = 'S'"
                " JOIN pg_depend d ON d.objid = s.oid AND d.deptype IN ('a', 'i')"
                " JOIN pg_class t ON t.oid = d.refobjid"
                " WHERE ps.schemaname = current_schema() AND ps.last_value IS NOT NULL")).scalars()) & names
            if touched:
                listed = ", ".join(f'"{name}"' for name in sorted(touched))
                conn.execute(sa.text(f"TRUNCATE {listed} RESTART IDENTITY CASCADE"))
        else:
            for table in tables:
                conn.execute(table.delete())
