"""Production runtime pieces: request ids, JSON logs, gunicorn settings."""

from __future__ import annotations

import json
import logging
import subprocess
import sys
from pathlib import Path

from marketplace.logs import JsonFormatter, RequestIdFilter

ROOT = Path(__file__).resolve().parent.parent


def test_a_request_id_is_kept_or_made_and_echoed(client):
    response = client.get("/healthz", headers={"X-Request-ID": "abc-123"})
    assert response.headers["X-Request-ID"] == "abc-123"
    made = client.get("/healthz").headers["X-Request-ID"]
    assert len(made) == 32 and made != client.get("/healthz").headers["X-Request-ID"]
    injected = client.get("/healthz", headers={"X-Request-ID": "x\" injected=1"}).headers["X-Request-ID"]
    assert injected != "x\" injected=1" and len(injected) == 32


def test_log_records_carry_the_request_id_in_json(app):
    formatter, stamp = JsonFormatter(), RequestIdFilter()
    with app.test_request_context("/", headers={"X-Request-ID": "rid-42"}):
        app.preprocess_request()
        record = logging.LogRecord("marketplace.x", logging.ERROR, __file__, 1, "失败 %s", ("一次",), None)
        stamp.filter(record)
    line = json.loads(formatter.format(record))
    assert line["request_id"] == "rid-42" and line["message"] == "失败 一次" and line["level"] == "ERROR"
    outside = logging.LogRecord("marketplace.x", logging.INFO, __file__, 1, "m", (), None)
    stamp.filter(outside)
    assert json.loads(formatter.format(outside))["request_id"] == "-"


def test_gunicorn_settings_read_the_environment():
    code = "import runpy, json; c = runpy.run_path('gunicorn.conf.py'); print(json.dumps([c['bind'], c['workers'], c['timeout'], c['access_log_format']]))"
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True,
                         env={"PORT": "8123", "WEB_CONCURRENCY": "3", "MARKETPLACE_ENV": "production"}).stdout
    bind, workers, timeout, access = json.loads(out)
    assert bind == "127.0.0.1:8123" and workers == 3 and timeout == 30
    assert "%({x-request-id}o)s" in access and access.startswith("{")
