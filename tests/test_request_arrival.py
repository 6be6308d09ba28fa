"""Deadlines are judged by when a submission ARRIVED (issue 13): ``clock.request_time()``.

The arrival is stamped at WSGI entry, before any work; behind a trusted proxy (``TRUSTED_PROXIES`` ≥ 1)
nginx's ``X-Request-Start: t=${msec}`` counts instead, clamped to at most 30 s before the app's own
clock and never after it. A client's own header is ignored without a trusted proxy.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

import pytest

from marketplace import clock
from marketplace.extensions import db
from marketplace.models import Application, ApplicationStatus
from tests.test_applications import form_data, freeze, state


@pytest.fixture
def closing(make_scenario, make_user):
    """A scenario whose deadline is a whole second, and a firm user."""
    deadline = (clock.now() + timedelta(days=3)).replace(microsecond=0)
    return SimpleNamespace(scenario=make_scenario(deadline=deadline), deadline=deadline,
                           firm=make_user("enterprise"))


@pytest.fixture
def trusted_proxy(app, monkeypatch):
    """The app as deployed behind nginx (TRUSTED_PROXIES=1): X-Request-Start is believed."""
    assert isinstance(app.wsgi_app, clock.ArrivalStamp)  # outermost layer
    monkeypatch.setattr(app.wsgi_app, "trust_header", True)


def stamp(seconds_ago: float) -> dict[str, str]:
    return {"X-Request-Start": f"t={time.time() - seconds_ago:.3f}"}


def submitted(closing):
    db.session.expire_all()
    return db.session.query(Application).filter_by(scenario_id=closing.scenario.id).one_or_none()


@pytest.mark.parametrize(("value", "expected"), [
    ("t=1733365123.456", 1733365123.456), ("1733365123.456", 1733365123.456), ("t=1733365123456", 1733365123.456),
    ("t=1733365123456000", 1733365123.456), (None, None), ("", None), ("t=abc", None), ("t=-5", None),
    ("t=nan", None), ("t=inf", None)])
def test_parse_request_start(value, expected):
    parsed = clock.parse_request_start(value)
    assert parsed == pytest.approx(expected) if expected is not None else parsed is None


def arrival_of(headers: dict[str, str], *, trusted: bool, monkeypatch, now: datetime) -> datetime:
    """What the middleware records for one request carrying *headers*."""
    seen = {}

    def inner(environ, start_response):
        seen["arrived"] = environ[clock.ARRIVAL_KEY]
        return [b""]

    monkeypatch.setattr(clock, "now", lambda: now)
    environ = {f"HTTP_{k.upper().replace('-', '_')}": v for k, v in headers.items()}
    clock.ArrivalStamp(inner, trust_header=trusted, max_lag=30)(environ, lambda *a: None)
    return seen["arrived"]


def test_stamp_bounds(monkeypatch):
    now = datetime(2026, 12, 5, 3, 0, tzinfo=UTC)
    # Trusted: the proxy's stamp, 2 s before the app got the request.
    assert (now - arrival_of(stamp(2), trusted=True, monkeypatch=monkeypatch, now=now)).total_seconds() \
        == pytest.approx(2, abs=0.5)
    # Too old: clamped to 30 s before the app's clock; in the future: the app's clock.
    assert now - arrival_of(stamp(3600), trusted=True, monkeypatch=monkeypatch, now=now) == timedelta(seconds=30)
    assert arrival_of(stamp(-3600), trusted=True, monkeypatch=monkeypatch, now=now) == now
    assert arrival_of({"X-Request-Start": "t=garbage"}, trusted=True, monkeypatch=monkeypatch, now=now) == now
    # Untrusted (no proxy configured): the header is ignored.
    assert arrival_of(stamp(2), trusted=False, monkeypatch=monkeypatch, now=now) == now


def test_request_time_outside_a_request_is_now(app, monkeypatch):
    moment = datetime(2026, 12, 5, 3, 0, tzinfo=UTC)
    freeze(monkeypatch, moment)
    assert clock.request_time() == moment


def test_stamped_before_the_deadline_processed_after_is_accepted(client, login, closing, trusted_proxy,
                                                                 monkeypatch):
    """nginx stamped it 2 s before the app got to it; the app's clock already reads 1 s past the deadline."""
    login(closing.firm)
    freeze(monkeypatch, closing.deadline + timedelta(seconds=1))
    response = client.post(f"/scenarios/{closing.scenario.id}/apply", data=form_data(), headers=stamp(2))
    assert response.status_code == 302, response.get_data(as_text=True)[:500]
    application = submitted(closing)
    assert application.status == ApplicationStatus.SUBMITTED
    submitted_at = application.submitted_at.replace(tzinfo=application.submitted_at.tzinfo or UTC)
    assert closing.deadline - timedelta(seconds=1.5) < submitted_at < closing.deadline  # the arrival, not "now"


def test_the_same_header_from_an_untrusted_client_is_ignored(client, login, closing, monkeypatch):
    """No trusted proxy configured (TRUSTED_PROXIES=0): a client cannot claim it sent earlier."""
    login(closing.firm)
    before = state()
    freeze(monkeypatch, closing.deadline + timedelta(seconds=1))
    response = client.post(f"/scenarios/{closing.scenario.id}/apply", data=form_data(), headers=stamp(2))
    assert response.status_code == 409
    assert "提交未被接受" in response.get_data(as_text=True)
    assert state() == before


def test_a_stamp_older_than_30_seconds_is_clamped(client, login, closing, trusted_proxy, monkeypatch):
    """An hour-old stamp counts as 30 s before the app's clock: 40 s after the deadline is still late."""
    login(closing.firm)
    before = state()
    freeze(monkeypatch, closing.deadline + timedelta(seconds=40))
    response = client.post(f"/scenarios/{closing.scenario.id}/apply", data=form_data(), headers=stamp(3600))
    assert response.status_code == 409
    assert state() == before


def test_a_stamp_in_the_future_is_clamped(client, login, closing, trusted_proxy, monkeypatch):
    """A stamp ahead of the app's clock (skew) counts as the app's clock: at the deadline is late."""
    login(closing.firm)
    before = state()
    freeze(monkeypatch, closing.deadline)
    response = client.post(f"/scenarios/{closing.scenario.id}/apply", data=form_data(), headers=stamp(-60))
    assert response.status_code == 409
    assert state() == before


def test_arrival_without_a_proxy_is_the_wsgi_entry(client, login, closing, monkeypatch):
    """No proxy: the app's own receive time. Work that runs past the deadline does not refuse a submission
    that arrived before it (the clock moves on while the request is being processed)."""
    from marketplace.applications import submission

    login(closing.firm)
    moments = {"late": False}
    real_clean = submission.clean

    def clean_then_pass_the_deadline(*args, **kwargs):
        moments["late"] = True
        return real_clean(*args, **kwargs)

    monkeypatch.setattr(submission, "clean", clean_then_pass_the_deadline)
    monkeypatch.setattr(clock, "now", lambda: closing.deadline + timedelta(seconds=5) if moments["late"]
                        else closing.deadline - timedelta(milliseconds=1))
    response = client.post(f"/scenarios/{closing.scenario.id}/apply", data=form_data())
    assert moments["late"] and response.status_code == 302
    application = submitted(closing)
    assert application.status == ApplicationStatus.SUBMITTED
    submitted_at = application.submitted_at.replace(tzinfo=application.submitted_at.tzinfo or UTC)
    assert submitted_at == closing.deadline - timedelta(milliseconds=1)
