"""WSGI entry point: ``gunicorn wsgi:app`` or ``flask --app wsgi:app run`` (from a checkout;
an installed copy serves ``gunicorn 'service.web:create_app()'``, which takes no step).

The application is built as ``create_app()`` builds it; then, only when configured to, this
start-up migrates the database (TOKHAI_AUTO_MIGRATE=1) and publishes the catalogue's missing
forms (TOKHAI_LOAD_CATALOGUE=1), under the start-up lock so that workers starting together do
each once. Both are off unless set: the documented start runs ``tokhai db upgrade`` and
``tokhai forms load`` first.
"""

from service.web import create_app, prepare, startup_errors

try:
    app = create_app()
except startup_errors() as e:
    # a configuration mistake, not a bug: one clear line, no traceback
    raise SystemExit(f"tokhai cannot start: {e}") from None
_settings = app.extensions["tokhai"].settings
prepare(app, migrate=_settings.auto_migrate, load_catalogue=_settings.load_catalogue)
