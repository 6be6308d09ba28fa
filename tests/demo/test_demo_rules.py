"""The demo data set keeps the award-process rules (issue 11): every published scenario had at least
``MIN_APPLICATION_DAYS`` for applications, and every submitted application was promised its scenario's
deadline (``sealed_until``), so the demo's closed scenarios open exactly at their deadline."""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa

from marketplace.models import Application, ApplicationStatus, Scenario


def test_demo_data_keeps_the_deadline_rules(demo_app):
    from marketplace.applications import policy
    from marketplace.extensions import db

    with demo_app.app_context():
        window = timedelta(days=demo_app.config["MIN_APPLICATION_DAYS"])
        published = db.session.execute(sa.select(Scenario).where(Scenario.published_at.is_not(None))).scalars().all()
        assert published
        short = [s.id for s in published if s.deadline is None or s.deadline < s.published_at + window]
        assert short == []
        submitted = db.session.execute(sa.select(Application).where(
            Application.status.not_in((ApplicationStatus.DRAFT, ApplicationStatus.WITHDRAWN)))).scalars().all()
        assert submitted
        assert [a.id for a in submitted if a.sealed_until != a.scenario.deadline] == []
        assert [a.id for a in submitted if a.submitted_at is None or a.submitted_at >= a.scenario.deadline] == []
        # Sealing ends at the deadline on every demo scenario.
        assert all(policy.seal_ends(s) == s.deadline for s in published)
