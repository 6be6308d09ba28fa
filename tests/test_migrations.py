"""The schema comes from migrations only: upgrade gives exactly the models; downgrade and upgrade again work."""

import warnings

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from tests import dbsupport
from tests.conftest import ON_POSTGRES, make_test_app


def _dialect_indexes_only(dialect_name):
    """``include_object`` honouring ``Index.ddl_if(dialect=...)`` (as ``migrations/env.py`` does): autogenerate
    ignores it, so the PostgreSQL-only search indexes would otherwise be "missing" on SQLite."""

    def include_object(obj, name, type_, reflected, compare_to):
        ddl_if = getattr(obj, "_ddl_if", None) if type_ == "index" and not reflected else None
        if ddl_if is not None and ddl_if.dialect is not None:
            dialects = (ddl_if.dialect,) if isinstance(ddl_if.dialect, str) else tuple(ddl_if.dialect)
            return dialect_name in dialects
        return True

    return include_object


@pytest.fixture
def empty_database_url(tmp_path, database_url):  # database_url: runs on the PostgreSQL pass too
    if ON_POSTGRES:
        with dbsupport.fresh_postgres_database(dbsupport.postgres_server_url(), "mp_migr") as url:
            yield url
    else:
        yield dbsupport.sqlite_url(tmp_path, "migrations.sqlite3")


def test_upgrade_matches_models_and_downgrade_works(empty_database_url, tmp_path):
    from flask_migrate import downgrade, upgrade

    from marketplace.extensions import db

    app = make_test_app(empty_database_url, tmp_path)
    with app.app_context():
        upgrade()
        with db.engine.connect() as conn:
            context = MigrationContext.configure(
                conn, opts={"compare_type": True, "include_object": _dialect_indexes_only(conn.dialect.name)})
            with warnings.catch_warnings():
                # SQLite cannot reflect expression indexes; the only one is PostgreSQL-only (filtered above).
                warnings.filterwarnings("ignore", "autogenerate skipping metadata-specified expression-based index")
                diff = compare_metadata(context, db.metadata)
            assert diff == [], diff
            assert conn.execute(sa.text("SELECT count(*) FROM districts")).scalar() == 12
            assert conn.execute(sa.text("SELECT count(*) FROM domains")).scalar() == 12
        downgrade(revision="base")
        tables = set(sa.inspect(db.engine).get_table_names()) - {"alembic_version"}
        assert tables == set()
        upgrade()
        assert set(db.metadata.tables) <= set(sa.inspect(db.engine).get_table_names())
        db.engine.dispose()
