"""WSGI entry point: ``gunicorn wsgi:app`` or ``flask --app wsgi run``."""

from marketplace import create_app
from marketplace.logs import configure_logging

configure_logging()
app = create_app()
