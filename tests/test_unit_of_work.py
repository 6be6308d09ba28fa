"""One unit of work per request: commit once after a successful view, roll back otherwise, and
render error pages only after the rollback (on SQLite and PostgreSQL)."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from flask import Blueprint, abort

from marketplace.errors import InvalidTransition, ValidationFailed
from marketplace.extensions import db
from marketplace.models import AuditEvent, Organisation, OrganisationKind, User
from tests.conftest import PASSWORD, make_test_app


@pytest.fixture
def probe_app(database_url, tmp_path):
    """A second app on the test database with probe views that write and then fail in various ways."""
    application = make_test_app(database_url, tmp_path)
    probe = Blueprint("probe", __name__)

    def _org(name: str) -> Organisation:
        org = Organisation(name=name, kind=OrganisationKind.GOVERNMENT)
        db.session.add(org)
        db.session.flush()
        return org

    @probe.route("/probe/ok", methods=["POST"])
    def ok():
        _org("probe-ok")
        return "ok"

    @probe.route("/probe/domain-error", methods=["POST"])
    def domain_error():
        _org("probe-domain-error")
        raise InvalidTransition("状态不允许")

    @probe.route("/probe/validation", methods=["POST"])
    def validation():
        _org("probe-validation")
        raise ValidationFailed("内容有误", {"name": ["必填"]})

    @probe.route("/probe/abort", methods=["POST"])
    def aborted():
        _org("probe-abort")
        abort(403)

    @probe.route("/probe/crash", methods=["POST"])
    def crash():
        _org("probe-crash")
        raise RuntimeError("boom")

    @probe.route("/probe/failed-flush", methods=["POST"])
    def failed_flush():
        existing = db.session.scalars(sa.select(User)).first()
        db.session.add(User(email=existing.email, name="dup", password_hash="x", role=existing.role))
        db.session.flush()  # violates the unique e-mail: IntegrityError, the transaction is now unusable
        return "unreachable"

    @probe.route("/probe/get-writes")
    def get_writes():
        _org("probe-get")
        return "read"

    @probe.route("/api/v1/probe/domain-error", methods=["POST"])
    def api_domain_error():
        _org("probe-api")
        raise InvalidTransition("状态不允许")

    application.register_blueprint(probe)
    return application


def _names() -> set[str]:
    db.session.rollback()
    return set(db.session.scalars(sa.select(Organisation.name).where(Organisation.name.like("probe-%"))))


def test_a_successful_post_commits_once(probe_app):
    assert probe_app.test_client().post("/probe/ok").status_code == 200
    assert _names() == {"probe-ok"}


@pytest.mark.parametrize("path", ["/probe/domain-error", "/probe/validation", "/probe/abort", "/probe/crash",
                                  "/api/v1/probe/domain-error"])
def test_a_failed_request_rolls_everything_back(probe_app, path):
    response = probe_app.test_client().post(path)
    assert response.status_code in (303, 403, 409, 500)
    assert _names() == set()


def test_a_refused_form_post_is_flashed_and_sent_back(probe_app):
    client = probe_app.test_client()
    response = client.post("/probe/domain-error", headers={"Referer": "http://localhost/scenarios"})
    assert response.status_code == 303 and response.headers["Location"] in ("/scenarios", "http://localhost/scenarios")
    assert "状态不允许" in client.get("/scenarios").get_data(as_text=True)
    # Off-site referrers are never followed.
    response = client.post("/probe/domain-error", headers={"Referer": "http://evil.example/"})
    assert response.status_code == 303 and "evil" not in response.headers["Location"]


def test_api_errors_are_json(probe_app):
    response = probe_app.test_client().post("/api/v1/probe/domain-error")
    assert response.status_code == 409
    assert response.get_json() == {"error": {"status": 409, "message": "状态不允许"}}


def test_get_never_writes(probe_app):
    assert probe_app.test_client().get("/probe/get-writes").get_data(as_text=True) == "read"
    assert _names() == set()


@pytest.mark.parametrize("signed_in", [True, False])
def test_the_500_page_renders_after_a_failed_flush(probe_app, make_user, signed_in):
    """Rendering the error page reads the session (unread notifications of a signed-in user): it must
    come after the rollback, or PostgreSQL (aborted transaction) and SQLite (pending rollback) fail it."""
    user = make_user("enterprise")
    client = probe_app.test_client()
    if signed_in:
        assert client.post("/auth/login", data={"email": user.email, "password": PASSWORD}).status_code == 302
    db.session.rollback()
    events = db.session.scalar(sa.select(sa.func.count(AuditEvent.id)))
    response = client.post("/probe/failed-flush")
    html = response.get_data(as_text=True)
    assert response.status_code == 500
    assert "服务器内部错误" in html and 'class="navbar' in html  # the full page, not the bare fallback
    if signed_in:
        assert user.name in html  # the user menu rendered from the database
    db.session.rollback()
    assert db.session.scalar(sa.select(sa.func.count(User.id))) == 1
    assert db.session.scalar(sa.select(sa.func.count(AuditEvent.id))) == events


def test_cli_commands_commit_once_or_roll_back(app):
    import click

    from marketplace.unit_of_work import transactional

    @click.command("probe-ok")
    @transactional
    def probe_ok():
        db.session.add(Organisation(name="probe-cli-ok", kind=OrganisationKind.GOVERNMENT))

    @click.command("probe-fail")
    @transactional
    def probe_fail():
        db.session.add(Organisation(name="probe-cli-fail", kind=OrganisationKind.GOVERNMENT))
        db.session.flush()
        raise click.ClickException("refused")

    runner = app.test_cli_runner()
    assert runner.invoke(probe_ok).exit_code == 0
    assert runner.invoke(probe_fail).exit_code == 1
    db.session.rollback()
    assert set(db.session.scalars(sa.select(Organisation.name).where(Organisation.name.like("probe-cli%")))) == {
        "probe-cli-ok"}
