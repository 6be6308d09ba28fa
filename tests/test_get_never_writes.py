"""GET never writes (DESIGN §7): crawl every GET route as every role and as an anonymous visitor over the
demo data set, with real ids, and prove the database is unchanged (row counts of every table, the
audit log) and that no GET even tried to write (the unit of work logs any flush of a GET request).

The demo data lives in its own database (a fresh SQLite file, or a fresh PostgreSQL database on the
PostgreSQL pass), loaded once per test session (``demo_app`` in ``tests/conftest.py``).
"""

from __future__ import annotations

import itertools
import logging

import pytest
import sqlalchemy as sa

DEMO_PASSWORD = "demo-2025"
ACCOUNTS = {"owner": "owner@demo.cq", "enterprise": "firm@demo.cq", "district_staff": "district@demo.cq",
            "city_staff": "city@demo.cq", "expert": "expert@demo.cq"}
#: Ids tried per route argument (the product over a route's arguments is capped too).
PER_ARGUMENT = 3
PER_ROUTE = 6


def _candidates(session) -> dict[str, list]:
    """Real ids for each route argument, those of the demo accounts' own records first."""
    from marketplace.models import (
        Application,
        Appraisal,
        Attachment,
        Batch,
        Demonstration,
        EnterpriseProfile,
        ExpertAssignment,
        Nomination,
        NominationExpert,
        ProfileCase,
        Scenario,
        SelectionRound,
        User,
    )

    def ids(query) -> list[int]:
        return list(session.scalars(query.limit(PER_ARGUMENT)))

    users = {role: session.scalar(sa.select(User).where(User.email == email)) for role, email in ACCOUNTS.items()}
    owner_org, firm_org = users["owner"].organisation_id, users["enterprise"].organisation_id
    own_scenarios = session.scalars(sa.select(Scenario.id).where(Scenario.owner_id == owner_org)
                                    .order_by(Scenario.status, Scenario.id)).all()
    by_status = list({s: i for i, s in session.execute(
        sa.select(Scenario.id, Scenario.status).where(Scenario.owner_id == owner_org))}.values())
    return {
        "scenario_id": list(dict.fromkeys(by_status + own_scenarios[:PER_ARGUMENT])),
        "application_id": ids(sa.select(Application.id).where(Application.organisation_id == firm_org))
        + ids(sa.select(Application.id).join(Scenario).where(Scenario.owner_id == owner_org)),
        "profile_id": ids(sa.select(EnterpriseProfile.id).where(EnterpriseProfile.organisation_id == firm_org))
        + ids(sa.select(EnterpriseProfile.id).order_by(EnterpriseProfile.id)),
        "case_id": ids(sa.select(ProfileCase.id).join(EnterpriseProfile)
                       .where(EnterpriseProfile.organisation_id == firm_org)),
        "batch_id": ids(sa.select(Batch.id).order_by(Batch.id)),
        "demo_id": ids(sa.select(Demonstration.id).order_by(Demonstration.id)),
        "attachment_id": ids(sa.select(Attachment.id).where(Attachment.organisation_id.in_((owner_org, firm_org)))),
        "assignment_id": ids(sa.select(ExpertAssignment.id).where(ExpertAssignment.expert_id == users["expert"].id)),
        "nomination_assignment_id": ids(sa.select(NominationExpert.id)
                                        .where(NominationExpert.expert_id == users["expert"].id)),
        "nomination_id": ids(sa.select(Nomination.id).order_by(Nomination.id)),
        "round_id": ids(sa.select(SelectionRound.id).order_by(SelectionRound.id)),
        "appraisal_id": ids(sa.select(Appraisal.id).order_by(Appraisal.id)),
        "year": list(session.scalars(sa.select(Appraisal.year).order_by(Appraisal.year)))[:PER_ARGUMENT],
        "user_id": [users["enterprise"].id, users["owner"].id],
        "organisation_id": [owner_org, firm_org],
        "district": ["yuzhong"],
        "code": ["scenarios_published", "en"],
        "fmt": ["csv", "json", "xlsx"],
        "token": ["not-a-token"],
        "kind": ["terms", "privacy"],
    }


def _urls(app, candidates: dict[str, list]) -> list[tuple[str, str]]:
    from flask import url_for

    urls = []
    for rule in app.url_map.iter_rules():
        if "GET" not in rule.methods or rule.endpoint == "static":
            continue
        names = sorted(rule.arguments)
        pools = []
        for name in names:
            key = "nomination_assignment_id" if name == "assignment_id" and rule.rule.startswith("/showcase") else name
            pools.append(candidates.get(key) or [1])
        with app.test_request_context():
            for values in itertools.islice(itertools.product(*pools), PER_ROUTE):
                urls.append((rule.endpoint, url_for(rule.endpoint, **dict(zip(names, values, strict=True)))))
    return urls


def _snapshot(engine) -> dict[str, int]:
    from marketplace.extensions import db

    with engine.connect() as conn:
        return {t.name: conn.execute(sa.select(sa.func.count()).select_from(t)).scalar_one()
                for t in db.metadata.sorted_tables}


@pytest.mark.parametrize("principal", ["anonymous", *ACCOUNTS])
def test_no_get_writes(demo_app, principal, caplog):
    from marketplace.extensions import db

    with demo_app.app_context():
        urls = _urls(demo_app, _candidates(db.session))
        db.session.remove()
        client = demo_app.test_client()
        if principal != "anonymous":
            response = client.post("/auth/login", data={"email": ACCOUNTS[principal], "password": DEMO_PASSWORD})
            assert response.status_code == 302
        before = _snapshot(db.engine)
        caplog.set_level(logging.ERROR, logger="marketplace.unit_of_work")
        errors = []
        for endpoint, url in urls:
            response = client.get(url)
            status = response.status_code
            response.close()  # file downloads hold the file open until closed
            if status >= 500:
                errors.append((endpoint, url, status))
        db.session.remove()
        after = _snapshot(db.engine)
    writes = [r.getMessage() for r in caplog.records if "GET never writes" in r.getMessage()]
    assert errors == []
    assert writes == []
    assert after == before
    assert len(urls) > 60
