"""WSGI entry point: ``gunicorn -c gunicorn.conf.py wsgi:app`` (``make serve``) or ``flask --app wsgi run``."""

import gc

from marketplace import create_app
from marketplace.config import load_config
from marketplace.logs import configure_logging

configure_logging(json_format=load_config().get("LOG_FORMAT") == "json")
app = create_app()
# Everything built so far (modules, the app, templates' code) lives as long as the process: keep it out of
# the cyclic collector's full passes, which otherwise walk it again and again under load (a full pass
# over the loaded app costs more than rendering a list page).
gc.freeze()
