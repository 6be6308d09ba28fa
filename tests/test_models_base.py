"""The shared model helpers: ``insert_or_ignore`` on both databases, and the timestamp mixins."""

from datetime import timedelta

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from marketplace import clock
from marketplace.extensions import db
from marketplace.models import Organisation, OrganisationKind
from marketplace.models.base import insert_or_ignore


def _org(name: str, uscc: str | None = None) -> dict:
    return {"name": name, "kind": OrganisationKind.GOVERNMENT, "uscc": uscc}


def _names() -> list[str]:
    return list(db.session.execute(sa.select(Organisation.name).order_by(Organisation.name)).scalars())


def test_insert_or_ignore_inserts_a_new_row_with_column_defaults(app):
    assert insert_or_ignore(db.session, Organisation, _org("新单位"), ("name",)) == 1
    org = db.session.execute(sa.select(Organisation).where(Organisation.name == "新单位")).scalar_one()
    assert org.active is True  # a Python-side column default
    assert abs(org.created_at - clock.now()) < timedelta(minutes=1)
    assert abs(org.updated_at - org.created_at) < timedelta(seconds=1)


def test_insert_or_ignore_leaves_the_existing_row_on_a_conflict(app):
    assert insert_or_ignore(db.session, Organisation, _org("同名单位", "11500103000000001X"), ["name"]) == 1
    db.session.commit()
    assert insert_or_ignore(db.session, Organisation.__table__, _org("同名单位", None), ["name"]) == 0
    db.session.commit()
    org = db.session.execute(sa.select(Organisation).where(Organisation.name == "同名单位")).scalar_one()
    assert org.uscc == "11500103000000001X"
    assert _names() == ["同名单位"]


def test_insert_or_ignore_counts_the_rows_of_a_batch_it_inserted(app):
    insert_or_ignore(db.session, Organisation, _org("甲"), ["name"])
    assert insert_or_ignore(db.session, Organisation, [_org("甲"), _org("乙"), _org("丙")], ["name"]) == 2
    assert insert_or_ignore(db.session, Organisation, [], ["name"]) == 0
    assert _names() == sorted(["甲", "乙", "丙"])


def test_insert_or_ignore_still_refuses_other_constraint_violations(app):
    insert_or_ignore(db.session, Organisation, _org("甲", "11500103000000002X"), ["name"])
    db.session.commit()
    # Same USCC under another name: only the named conflict (name) is ignored.
    with pytest.raises(IntegrityError):
        insert_or_ignore(db.session, Organisation, _org("乙", "11500103000000002X"), ["name"])
    db.session.rollback()
    assert _names() == ["甲"]


def test_timestamp_mixin_moves_updated_at_on_orm_and_core_updates(app, make_org):
    org = make_org("government")
    created, updated = org.created_at, org.updated_at
    org.name = org.name + "（更名）"
    db.session.commit()
    assert org.created_at == created and org.updated_at > updated
    before_core = org.updated_at
    db.session.execute(sa.update(Organisation).where(Organisation.id == org.id).values(active=False))
    db.session.commit()
    db.session.refresh(org)
    assert org.updated_at > before_core and org.created_at == created


#: Rows only ever added: ``created_at`` and no ``updated_at``.
WRITTEN_ONCE = {"acceptances", "appraisal_results", "attachments", "audit_events", "consents", "demonstration_reuses",
                "evaluation_criteria", "legal_documents", "login_attempts", "match_feedback", "match_invitations", "progress_notes"}
#: No ``created_at``/``updated_at`` of their own, and why.
UNTIMED = {
    "application_documents": "link row; its attachment has created_at",
    "scenario_documents": "link row; its attachment has created_at",
    "objection_documents": "link row; its attachment has created_at",
    "nomination_media": "link table",
    "demonstration_media": "link table",
    "profile_domains": "link table",
    "batch_scenarios": "link table with its own added_at",
    "districts": "reference data loaded by migrations",
    "domains": "reference data loaded by migrations",
    "themes": "reference data loaded by migrations",
    "stage_assessments": "written once; recorded_at is its time",
    "match_state": "bookkeeping; updated_at is part of the version stamp, written explicitly",
}


def test_every_table_is_timed_as_its_rows_change():
    """A new table must be placed here: rows that change carry created_at and updated_at."""
    from marketplace.models import Base

    for name, table in Base.metadata.tables.items():
        columns = set(table.c.keys())
        if name in WRITTEN_ONCE:
            assert "created_at" in columns and "updated_at" not in columns, name
        elif name in UNTIMED:
            assert "created_at" not in columns, name
        else:
            assert {"created_at", "updated_at"} <= columns, f"{name} changes after it is written: add TimestampMixin"
            assert table.c.updated_at.onupdate is not None, name
    assert set(UNTIMED) | WRITTEN_ONCE <= set(Base.metadata.tables)
