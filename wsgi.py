"""WSGI entry point: ``gunicorn wsgi:app`` or ``flask --app wsgi:app run``."""

from service.pki.config import SigningSetupError
from service.web import create_app
from service.web.ratelimit import RateLimitMisconfigured
from storage.documents import StoreMisconfigured

try:
    app = create_app()
except (SigningSetupError, StoreMisconfigured, RateLimitMisconfigured) as e:
    # a configuration mistake, not a bug: one clear line, no traceback
    raise SystemExit(f"tokhai cannot start: {e}") from None
