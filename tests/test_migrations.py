"""The schema comes from migrations only: upgrade gives exactly the models; downgrade and upgrade again work."""

import warnings
from datetime import UTC, date, datetime, timedelta

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
            # 0014_consent loads version 1 of the 用户协议 and the 隐私政策
            assert sorted(conn.execute(sa.text("SELECT kind, version FROM legal_documents")).all()) == [
                ("privacy", 1), ("terms", 1)]
        downgrade(revision="base")
        tables = set(sa.inspect(db.engine).get_table_names()) - {"alembic_version"}
        assert tables == set()
        upgrade()
        assert set(db.metadata.tables) <= set(sa.inspect(db.engine).get_table_names())
        db.engine.dispose()


def _utc(value):
    """Datetimes read through a plain ``DateTime`` column: naive (SQLite) or aware (PostgreSQL) UTC."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def test_0007_backfills_from_the_data_it_finds_and_downgrades(empty_database_url, tmp_path):
    """0007 dates existing rows, restores overwritten acceptances and review/流榜 notes from the audit log,
    gives every firm a profile; its downgrade keeps each scenario's latest acceptance."""
    from flask_migrate import downgrade, upgrade

    from marketplace.extensions import db

    app = make_test_app(empty_database_url, tmp_path)
    ts = sa.DateTime(timezone=True)
    t0 = datetime(2025, 3, 1, 8, 0, tzinfo=UTC)

    def at(days, hours=0):
        return t0 + timedelta(days=days, hours=hours)

    def table(name, *columns):
        return sa.table(name, *(sa.column(c) if isinstance(c, str) else c for c in columns))

    with app.app_context():
        upgrade(revision="0006_matching")
        stamps = {"created_at": at(0), "updated_at": at(0)}
        organisations = table("organisations", "id", "name", "kind", "active", sa.column("created_at", ts),
                              sa.column("updated_at", ts))
        users = table("users", "id", "email", "name", "password_hash", "organisation_id", "role", "active",
                      "approval_status", "notification_mode", sa.column("created_at", ts), sa.column("updated_at", ts))
        profiles = table("enterprise_profiles", "id", "organisation_id", "address", "building", "business_scope",
                         "capabilities", "tags", "contact_name", "contact_phone", "contact_email", "status",
                         sa.column("created_at", ts), sa.column("updated_at", ts))
        attachments = table("attachments", "id", sa.column("created_at", ts), "purpose", "filename", "stored_name",
                            "content_type", "size", "sha256")
        qualifications = table("qualifications", "id", "profile_id", "kind", "evidence_id", "status")
        scenarios = table("scenarios", "id", "title", "summary", "description", "boundary", "requirements",
                          "acceptance", "outcomes", "owner_id", "contact_name", "contact_phone", "contact_email",
                          "district_id", "mode", "status", "revision", sa.column("created_at", ts),
                          sa.column("updated_at", ts))
        acceptances = table("acceptances", "id", "scenario_id", "accepted_on", "result", "report_id", "note",
                            sa.column("created_at", ts))
        criteria = table("evaluation_criteria", "id", "scenario_id", "name", "weight", "sort_order")
        assignments = table("expert_assignments", "id", "scenario_id", "expert_id", sa.column("invited_at", ts),
                            sa.column("declared_at", ts), "recused")
        notifications = table("notifications", "id", "user_id", "kind", "title", "body", sa.column("created_at", ts),
                              sa.column("read_at", ts))
        audit = table("audit_events", "id", sa.column("created_at", ts), "actor_id", "actor_label", "action",
                      "object_type", "object_id", sa.column("after", sa.JSON), "prev_hash", "hash")
        events = iter(range(1, 100))

        def event(when, action, object_type, object_id, after):
            n = next(events)
            return {"id": n, "created_at": when, "actor_id": 1, "actor_label": "owner@test.cq", "action": action,
                    "object_type": object_type, "object_id": str(object_id), "after": after,
                    "prev_hash": f"{n - 1:064d}", "hash": f"{n:064d}"}

        with db.engine.begin() as conn:
            district = conn.execute(sa.text("SELECT min(id) FROM districts")).scalar()
            conn.execute(organisations.insert(), [
                {"id": 1, "name": "业主单位", "kind": "government", "active": True, **stamps},
                {"id": 2, "name": "有档案的企业", "kind": "software_enterprise", "active": True, **stamps},
                {"id": 3, "name": "无档案的企业", "kind": "software_enterprise", "active": True, **stamps}])
            conn.execute(users.insert(), [
                {"id": 1, "email": "owner@test.cq", "name": "业主", "password_hash": "x", "organisation_id": 1,
                 "role": "owner", "active": True, "approval_status": "approved", "notification_mode": "off",
                 **stamps},
                {"id": 2, "email": "expert@test.cq", "name": "专家", "password_hash": "x", "organisation_id": None,
                 "role": "expert", "active": True, "approval_status": "approved", "notification_mode": "off",
                 **stamps}])
            empty = dict.fromkeys(("address", "building", "business_scope", "capabilities", "tags", "contact_name",
                                   "contact_phone", "contact_email"), "")
            conn.execute(profiles.insert(), [{"id": 1, "organisation_id": 2, **empty, "address": "渝中区",
                                              "status": "verified", "created_at": at(1), "updated_at": at(2)}])
            conn.execute(attachments.insert(), [
                {"id": n, "created_at": at(n), "purpose": "acceptance_report", "filename": f"{n}.pdf",
                 "stored_name": f"stored{n}", "content_type": "application/pdf", "size": 1, "sha256": "0" * 64}
                for n in (3, 40, 50)])
            conn.execute(qualifications.insert(), [{"id": 1, "profile_id": 1, "kind": "cmmi", "evidence_id": 3,
                                                    "status": "rejected"}])
            scenario = {"summary": "", "description": "", "boundary": "", "requirements": "", "acceptance": "",
                        "outcomes": "", "owner_id": 1, "contact_name": "", "contact_phone": "", "contact_email": "",
                        "district_id": district, "mode": "open_call", "revision": 1, **stamps}
            conn.execute(scenarios.insert(), [{"id": 1, "title": "流榜场景", "status": "unsuccessful", **scenario},
                                              {"id": 2, "title": "验收场景", "status": "accepted", **scenario}])
            # 0006 kept one acceptance per scenario: the passed one overwrote the failed one.
            conn.execute(acceptances.insert(), [{"id": 7, "scenario_id": 2, "accepted_on": date(2025, 6, 20),
                                                 "result": "passed", "report_id": 50, "note": "通过",
                                                 "created_at": at(50)}])
            conn.execute(criteria.insert(), [{"id": 1, "scenario_id": 2, "name": "方案", "weight": 100,
                                              "sort_order": 0}])
            conn.execute(assignments.insert(), [{"id": 1, "scenario_id": 2, "expert_id": 2, "invited_at": at(20),
                                                 "declared_at": at(21), "recused": False}])
            conn.execute(notifications.insert(), [{"id": 1, "user_id": 1, "kind": "x", "title": "t", "body": "",
                                                   "created_at": at(30), "read_at": at(31)}])
            conn.execute(audit.insert(), [
                event(at(10), "qualification.reject", "qualification", 1, {"status": "rejected", "reason": "证书过期"}),
                event(at(15), "scenario.unsuccessful", "scenario", 1, {"status": "unsuccessful", "reason": "无合格申请"}),
                event(at(19), "evaluation.criteria", "scenario", 2, {"criteria": []}),
                event(at(40), "acceptance.record", "acceptance", 7,
                      {"scenario": 2, "accepted_on": "2025-06-01", "result": "failed", "report": 40, "note": "未达标"}),
                event(at(50), "acceptance.record", "acceptance", 7,
                      {"scenario": 2, "accepted_on": "2025-06-20", "result": "passed", "report": 50, "note": "通过"}),
            ])
            if conn.dialect.name == "postgresql":  # the rows above chose their ids: move the sequences past them
                for name in ("organisations", "users", "enterprise_profiles", "attachments", "qualifications",
                             "scenarios", "acceptances", "evaluation_criteria", "expert_assignments", "notifications",
                             "audit_events"):
                    conn.execute(sa.text(f"SELECT setval(pg_get_serial_sequence('{name}', 'id'), max(id)) FROM {name}"))

        upgrade()
        with db.engine.connect() as conn:
            rows = conn.execute(sa.text("SELECT organisation_id, status, address, contact_name FROM enterprise_profiles "
                                        "ORDER BY organisation_id")).all()
            assert [tuple(r) for r in rows] == [(2, "verified", "渝中区", ""), (3, "unverified", "", "")]
            note, created, updated = conn.execute(sa.select(
                sa.column("review_note"), sa.column("created_at", ts), sa.column("updated_at", ts)
            ).select_from(sa.table("qualifications"))).one()
            assert note == "证书过期" and _utc(created) == _utc(updated) == at(3)  # the evidence's upload
            assert conn.execute(sa.text("SELECT unsuccessful_reason FROM scenarios WHERE id = 1")).scalar() == "无合格申请"
            history = conn.execute(sa.select(
                sa.column("result"), sa.column("accepted_on", sa.Date), sa.column("report_id"), sa.column("note"),
                sa.column("recorded_by_id"), sa.column("created_at", ts)
            ).select_from(sa.table("acceptances")).order_by(sa.column("created_at"))).all()
            assert [(r.result, r.accepted_on, r.report_id, r.note, r.recorded_by_id, _utc(r.created_at))
                    for r in history] == [("failed", date(2025, 6, 1), 40, "未达标", 1, at(40)),
                                          ("passed", date(2025, 6, 20), 50, "通过", 1, at(50))]
            created, updated = conn.execute(sa.select(sa.column("created_at", ts), sa.column("updated_at", ts))
                                            .select_from(sa.table("expert_assignments"))).one()
            assert (_utc(created), _utc(updated)) == (at(20), at(21))
            created = conn.execute(sa.select(sa.column("created_at", ts))
                                   .select_from(sa.table("evaluation_criteria"))).scalar()
            assert _utc(created) == at(19)
            updated = conn.execute(sa.select(sa.column("updated_at", ts)).select_from(sa.table("notifications"))).scalar()
            assert _utc(updated) == at(31)

        downgrade(revision="0006_matching")
        with db.engine.connect() as conn:
            kept = conn.execute(sa.text("SELECT id, result FROM acceptances")).all()
            assert [tuple(r) for r in kept] == [(7, "passed")]
            assert conn.execute(sa.text("SELECT count(*) FROM enterprise_profiles")).scalar() == 2
        upgrade()
        with db.engine.connect() as conn:
            assert conn.execute(sa.text("SELECT count(*) FROM acceptances")).scalar() == 2
            assert conn.execute(sa.text("SELECT count(*) FROM enterprise_profiles")).scalar() == 2
        db.engine.dispose()
