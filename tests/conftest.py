"""Shared fixtures: ``app``, ``client``, ``runner``, factories and a login helper.

The suite runs on SQLite by default. With ``TEST_DB=postgres`` (and
``TEST_DATABASE_URL`` naming a server) the database tests run on a fresh
PostgreSQL database instead; ``make test`` does both when the URL is set.
"""

from __future__ import annotations

import atexit
import itertools
import os
import shutil
import tempfile
from pathlib import Path

import pytest

#: Where the tests' files go (pytest's tmp_path, instances, SQLite databases, search indexes, uploads): memory
#: (/dev/shm) where the machine has it, unless TMPDIR names a folder. Every test writes the Whoosh index many
#: times over (a segment of small files per commit); on a disk shared with other work, those file operations
#: cost more than the test itself. Only where it has room (a container's default /dev/shm is 64 MB; a run
#: writes a few hundred MB).
if (
    not os.environ.get("TMPDIR")
    and os.path.isdir("/dev/shm")
    and os.access("/dev/shm", os.W_OK | os.X_OK)
    and os.statvfs("/dev/shm").f_bavail * os.statvfs("/dev/shm").f_frsize >= 2 * 1024**3
):
    os.environ["TMPDIR"] = "/dev/shm"
    tempfile.tempdir = None  # read TMPDIR again

# Keep anything the app writes (secret key, index, uploads) out of the work tree; removed when the run ends.
if "MARKETPLACE_INSTANCE" not in os.environ:
    os.environ["MARKETPLACE_INSTANCE"] = tempfile.mkdtemp(prefix="mp-instance-")
    atexit.register(shutil.rmtree, os.environ["MARKETPLACE_INSTANCE"], ignore_errors=True)

from tests import dbsupport

ON_POSTGRES = os.environ.get("TEST_DB") == "postgres"


def _sqlite_without_fsync(dbapi_connection, connection_record) -> None:
    """Test databases are thrown away: SQLite need not fsync each commit (the app's own pragmas still apply)."""
    import sqlite3

    if isinstance(dbapi_connection, sqlite3.Connection):
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA synchronous=OFF")
        cursor.close()


if os.environ.get("TEST_SQLITE_FSYNC") != "1":
    import sqlalchemy as _sa

    _sa.event.listen(_sa.engine.Engine, "connect", _sqlite_without_fsync)
DB_FIXTURES = {"app", "database_url", "client", "runner", "demo_app"}


#: Browser tests drive the interface through Chromium; they run on the SQLite pass only (what they reach in the
#: database is covered on PostgreSQL by the tests of the same services and views).
BROWSER_TESTS = Path(__file__).parent / "browser"


def pytest_collection_modifyitems(config, items):
    """On the PostgreSQL pass, run only the tests that use the database, and no browser tests."""
    if not ON_POSTGRES:
        return
    keep, drop = [], []
    for item in items:
        uses_database = DB_FIXTURES & set(getattr(item, "fixturenames", ()))
        in_browser = BROWSER_TESTS in Path(str(item.path)).parents
        (keep if uses_database and not in_browser else drop).append(item)
    if drop:
        config.hook.pytest_deselected(items=drop)
        items[:] = keep


def pytest_sessionfinish(session, exitstatus):
    """PostgreSQL test databases are dropped in the background (see ``dbsupport``): wait until they are gone."""
    dbsupport.wait_for_drops()


#: Every app the tests built; their connection pools are closed before the test database is dropped.
_apps: list = []


def _dispose_all_engines() -> None:
    from marketplace.extensions import db

    while _apps:
        application = _apps.pop()
        with application.app_context():
            db.engine.dispose()


@pytest.fixture(autouse=True)
def _close_connections_of_apps_made_by_the_test():
    """Apps a test builds (two servers, other settings…) give their connections back when it ends: each holds
    a pool, the page-version reader's and the list's own, and a PostgreSQL server allows ~100 clients.
    Disposing only closes connections (an app used again opens new ones), so a module-scoped app built during
    this test keeps working; every app is disposed once more at the end of the session."""
    before = len(_apps)
    yield
    from marketplace.extensions import db

    for application in _apps[before:]:
        with application.app_context():
            db.session.remove()
            db.engine.dispose()


@pytest.fixture(scope="session")
def database_url(tmp_path_factory):
    """URL of this run's own, freshly migrated test database."""
    if ON_POSTGRES:
        server = dbsupport.postgres_server_url()
        if not server or not dbsupport.postgres_reachable(server):
            pytest.fail("TEST_DB=postgres but TEST_DATABASE_URL does not name a reachable PostgreSQL server")
        with dbsupport.fresh_postgres_database(server) as url:
            yield url
            _dispose_all_engines()
    else:
        yield dbsupport.sqlite_url(tmp_path_factory.mktemp("db"))
        _dispose_all_engines()


def make_test_app(database_url: str, instance: Path, **overrides):
    """An app configured for tests on the given database."""
    from marketplace import create_app
    from marketplace.config import testing_overrides

    config = testing_overrides(database_url, instance)
    config.update({"PASSWORD_HASH_METHOD": "pbkdf2:sha256:1000", "SEARCH_BACKEND": "whoosh"})
    config.update(overrides)
    application = create_app(config)
    _apps.append(application)
    if application.config.get("SEARCH_BACKEND") == "whoosh":
        # A deployed site has built its index (`flask search reindex`); nothing creates a
        # missing one implicitly, so the test instance starts from an empty, built index.
        from marketplace import search

        with application.app_context():
            search.get_backend().clear()
    return application


@pytest.fixture(scope="session")
def app(database_url, tmp_path_factory):
    """The application on a migrated test database (schema built by Alembic, as in production)."""
    from flask_migrate import upgrade

    application = make_test_app(database_url, tmp_path_factory.mktemp("instance"))
    with application.app_context():
        upgrade()
    yield application


@pytest.fixture(autouse=True)
def _database_per_test(request):
    """Give each database test an app context, and empty the tables afterwards."""
    if not DB_FIXTURES & set(request.fixturenames):
        yield
        return
    application = request.getfixturevalue("app")
    from marketplace.extensions import db

    with application.app_context():
        yield
        db.session.remove()
        dbsupport.empty_tables(db.engine, db.metadata)
        _empty_search_index()
        _forget_sign_in_failures(application)


def _forget_sign_in_failures(application) -> None:
    """Sign-in failure counters live outside the database (the rate-limit store): empty them with it."""
    from marketplace.auth import throttle

    throttle.reset(application)


def _empty_search_index() -> None:
    """The search index is derived from the tables: empty it with them (ids are reused by the next test)."""
    from marketplace import search

    backend = search.get_backend()
    try:
        dirty = bool(backend.keys_and_versions())
    except Exception:  # a test broke or removed the index: start the next one from an empty, healthy index
        dirty = True
    if dirty:
        backend.clear()


@pytest.fixture(scope="session")
def demo_app(tmp_path_factory):
    """The demo data set in its own database, seeded once per session and shared by the tests that only read it
    (GET crawl, English pages, demo truth and rules, demo 公示): seeding takes seconds, so it is done once."""
    from flask_migrate import upgrade

    from marketplace.demo.seed import load_demo
    from marketplace.extensions import db

    instance = tmp_path_factory.mktemp("crawl-instance")
    if ON_POSTGRES:
        server = dbsupport.postgres_server_url()
        context = dbsupport.fresh_postgres_database(server, prefix="mp_crawl")
        url = context.__enter__()
    else:
        context, url = None, dbsupport.sqlite_url(instance)
    application = make_test_app(url, instance, SEARCH_BACKEND="none", MATCH_BACKGROUND_REBUILD=False)
    with application.app_context():
        upgrade()
        load_demo(db.session)
        db.session.commit()
    yield application
    with application.app_context():
        db.session.remove()
        db.engine.dispose()
    if context is not None:
        context.__exit__(None, None, None)


@pytest.fixture(scope="session")
def redis_url():
    """``TEST_REDIS_URL`` (a Redis database the tests may fill, e.g. redis://127.0.0.1:6379/5); the RQ tests
    are skipped without it, and fail instead when ``REQUIRE_REDIS=1`` (CI)."""
    import redis

    url = os.environ.get("TEST_REDIS_URL")
    problem = None
    if not url:
        problem = "TEST_REDIS_URL is not set: the job-queue tests need a Redis server (redis://127.0.0.1:6379/5)"
    else:
        try:
            redis.Redis.from_url(url, socket_connect_timeout=2).ping()
        except redis.RedisError as error:
            problem = f"TEST_REDIS_URL={url} cannot be reached: {error}"
    if problem:
        if os.environ.get("REQUIRE_REDIS") == "1":
            pytest.fail(problem)
        pytest.skip(problem)
    return url


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


# ---------------------------------------------------------------- factories

_counter = itertools.count(1)


def _valid_uscc(prefix: str = "91") -> str:
    from marketplace.uscc import check_char

    first17 = f"{prefix}500103{next(_counter):09d}"[:17]
    return first17 + check_char(first17)


@pytest.fixture
def make_org(app):
    """``make_org(kind='government', district='yuzhong', name=None)`` → Organisation.

    A software firm gets its empty profile at once, as registration and the admin pages give it.
    ``commit=False`` leaves it to the caller's commit (``make_user`` commits the user and its organisation
    together: every commit also writes the search index, the costliest part of making a user).
    """
    from marketplace.enterprises.services import create_profile
    from marketplace.extensions import db
    from marketplace.models import District, Organisation, OrganisationKind

    def make(kind: str = "government", district: str | None = "yuzhong", name: str | None = None,
             uscc: str | None = None, commit: bool = True) -> Organisation:
        n = next(_counter)
        org = Organisation(
            name=name or f"测试单位{n}",
            kind=OrganisationKind(kind),
            uscc=uscc if uscc is not None else _valid_uscc("91" if kind == "software_enterprise" else "11"),
            district=db.session.query(District).filter_by(code=district).one() if district else None,
        )
        db.session.add(org)
        if org.kind == OrganisationKind.SOFTWARE_ENTERPRISE:
            create_profile(db.session, org, None)
        if commit:
            db.session.commit()
        return org

    return make


ROLE_ORG_KIND = {
    "owner": "government",
    "enterprise": "software_enterprise",
    "district_staff": "district_office",
    "city_staff": "city_office",
    "expert": None,
}
PASSWORD = "pw-12345678"


@pytest.fixture
def make_user(app, make_org):
    """``make_user(role, district='yuzhong', email=None, organisation=None, **fields)`` → User."""
    from werkzeug.security import generate_password_hash

    from marketplace.extensions import db
    from marketplace.models import ApprovalStatus, Role, User

    def make(role: str = "enterprise", district: str | None = "yuzhong", email: str | None = None,
             organisation=None, password: str = PASSWORD, **fields) -> User:
        n = next(_counter)
        if organisation is None and ROLE_ORG_KIND[role]:
            organisation = make_org(ROLE_ORG_KIND[role], district=district, commit=False)
        user = User(
            email=email or f"user{n}@test.cq",
            name=fields.pop("name", f"测试用户{n}"),
            phone=fields.pop("phone", "023-12345678"),
            password_hash=generate_password_hash(password, method="pbkdf2:sha256:1000"),
            role=Role(role),
            organisation=organisation,
            approval_status=fields.pop("approval_status", ApprovalStatus.APPROVED),
            **fields,
        )
        db.session.add(user)
        db.session.commit()
        return user

    return make


@pytest.fixture
def login(client):
    """``login(user_or_email, password=PASSWORD)`` signs the test client in through the real form."""

    def do_login(user, password: str = PASSWORD):
        email = user if isinstance(user, str) else user.email
        response = client.post("/auth/login", data={"email": email, "password": password})
        assert response.status_code == 302, response.get_data(as_text=True)[:2000]
        return response

    return do_login


from tests.ocds_factory import make_process  # noqa: E402,F401
from tests.scenario_factory import make_evidence, make_scenario  # noqa: E402,F401
