"""Health endpoints for load balancers and orchestrators: ``/healthz`` (liveness), ``/readyz`` (readiness).

An area of its own because readiness looks at several others (database, job queue, search, matching)
that themselves import :mod:`marketplace.main`.
"""

from __future__ import annotations

from flask import Blueprint, Flask, current_app, jsonify

bp = Blueprint("health", __name__)

from marketplace.health import checks  # noqa: E402


@bp.route("/healthz")
def healthz():
    """Liveness: the process answers (no database, no Redis: an outage there is not cured by a restart)."""
    return jsonify({"status": "ok"})


@bp.route("/readyz")
def readyz():
    """Readiness: database, Redis (when configured), search index, match model; 503 names what failed."""
    ready, parts = checks.readiness()
    failing = [name for name, value in parts.items() if value not in ("ok", "not configured")]
    if not ready:
        current_app.logger.error("not ready: %s", {name: parts[name] for name in failing})
    return jsonify({"status": "ok" if ready else "unavailable", "checks": parts, "failing": failing}), \
        200 if ready else 503


def init_app(app: Flask) -> None:
    """Register the two endpoints."""
    app.register_blueprint(bp)
