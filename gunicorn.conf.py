"""gunicorn settings for ``make serve`` (read from the environment; every value has a default).

* ``PORT`` (5000) and ``BIND_HOST`` (127.0.0.1; nginx proxies to it) — or ``GUNICORN_BIND`` whole;
* ``WEB_CONCURRENCY``: worker processes (default 2 × CPUs + 1, at most 8 — the database pool is per worker);
* ``GUNICORN_THREADS`` (1): threads per worker (gthread when above 1);
* ``GUNICORN_TIMEOUT`` (30 s): a worker silent this long is killed and replaced;
* ``GUNICORN_GRACEFUL_TIMEOUT`` (30 s): on SIGHUP/SIGTERM, how long running requests may finish;
* ``GUNICORN_MAX_REQUESTS`` (100000, ±10 % jitter): recycle a worker after this many requests (bounds any leak;
  a new worker costs ~2 s of CPU to import and build the app, and starts with empty per-process caches, so
  recycling every few thousand requests cost more than the requests themselves at a few hundred per second);
* access log to stdout with the request id (``X-Request-ID``, echoed by the app), JSON in production.

Graceful restart without dropped requests: ``kill -HUP <master pid>`` (``systemctl reload marketplace-web``)
starts new workers with the new code and lets the old ones finish their requests.
"""

import multiprocessing
import os

_port = os.environ.get("PORT", "5000")
bind = os.environ.get("GUNICORN_BIND", f"{os.environ.get('BIND_HOST', '127.0.0.1')}:{_port}")
workers = int(os.environ.get("WEB_CONCURRENCY", min(2 * multiprocessing.cpu_count() + 1, 8)))
threads = int(os.environ.get("GUNICORN_THREADS", "1"))
worker_class = "gthread" if threads > 1 else "sync"
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "30"))
graceful_timeout = int(os.environ.get("GUNICORN_GRACEFUL_TIMEOUT", "30"))
keepalive = 5
max_requests = int(os.environ.get("GUNICORN_MAX_REQUESTS", "100000"))
max_requests_jitter = max_requests // 10
# Load the app in each worker (not --preload): database pools, Redis connections and the search index
# are opened after the fork, and a HUP reload picks up new code.
preload_app = False
# A proxy in front (nginx) sets X-Forwarded-*; only it may (see TRUSTED_PROXIES in the README).
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1")

accesslog = os.environ.get("GUNICORN_ACCESS_LOG", "-")
errorlog = "-"
loglevel = os.environ.get("GUNICORN_LOG_LEVEL", "info")
if os.environ.get("LOG_FORMAT", "json" if os.environ.get("MARKETPLACE_ENV") == "production" else "text") == "json":
    access_log_format = ('{"time":"%(t)s","remote":"%(h)s","method":"%(m)s","path":"%(U)s","query":"%(q)s",'
                         '"status":%(s)s,"bytes":"%(B)s","duration_ms":%(M)s,"request_id":"%({x-request-id}o)s",'
                         '"user_agent":"%(a)s"}')
else:
    access_log_format = '%(h)s "%(r)s" %(s)s %(B)s %(M)sms rid=%({x-request-id}o)s'
proc_name = "marketplace-web"
