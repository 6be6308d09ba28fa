"""The schema comes from migrations only: upgrade gives exactly the models; downgrade and upgrade again work."""

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from tests import dbsupport
from tests.conftest import ON_POSTGRES, make_test_app


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
            context = MigrationContext.configure(conn, opts={"compare_type": True})
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
