"""WSGI entry point: ``gunicorn wsgi:app`` or ``flask --app wsgi:app run``."""

from service import create_app

app = create_app()
