"""WSGI entry point: ``gunicorn -c gunicorn.conf.py wsgi:app`` (``make serve``) or ``flask --app wsgi run``."""

from marketplace import create_app
from marketplace.config import load_config
from marketplace.logs import configure_logging

configure_logging(json_format=load_config().get("LOG_FORMAT") == "json")
app = create_app()
