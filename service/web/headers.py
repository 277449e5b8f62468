"""Security headers and caching rules on every response, errors and 404s included.

Secure by default, so that a new view cannot forget them:

- ``Content-Security-Policy: default-src 'none'; frame-ancestors 'none'; ...``: the API serves
  JSON and PDFs, which need nothing loaded and nothing framing them. A view that serves a
  page sets its own ``Content-Security-Policy`` (for instance ``default-src 'self'; ...``)
  and keeps it: the default is only added where none is set. ``X-Frame-Options: DENY`` says
  the same to browsers that ignore ``frame-ancestors``.
- ``X-Content-Type-Options: nosniff``, ``Referrer-Policy: no-referrer`` (a download link in a
  page's URL must not travel to other sites), ``Cross-Origin-Resource-Policy: same-origin``.
- ``Strict-Transport-Security`` only on requests that came over TLS: directly, or through
  one of ``TOKHAI_TRUSTED_PROXIES`` reverse proxies saying so in ``X-Forwarded-Proto``
  (werkzeug's ProxyFix; without that setting forwarded headers are ignored, since anyone
  could send them).
- ``Cache-Control: no-store`` on every response, unless its view marked it ``public`` (the
  published form schemas, identical for everyone). Responses carrying personal data or
  documents are therefore never kept by a browser or a proxy, whatever their view said (a
  ``private, max-age`` included); to be cached, a view must opt out explicitly.
"""

from __future__ import annotations

from flask import Flask, Response, request
from werkzeug.middleware.proxy_fix import ProxyFix

from service.config import Settings

#: for JSON and PDF: nothing may be loaded, nothing may frame the response
API_CSP = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
HSTS = "max-age=31536000"
_DEFAULTS = {
    "Content-Security-Policy": API_CSP,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Cross-Origin-Resource-Policy": "same-origin",
}


def secure(response: Response) -> Response:
    for name, value in _DEFAULTS.items():
        response.headers.setdefault(name, value)
    if request.is_secure:
        response.headers.setdefault("Strict-Transport-Security", HSTS)
    if "public" not in response.cache_control:
        response.headers["Cache-Control"] = "no-store"
    return response


def install(app: Flask, settings: Settings) -> None:
    """Add the headers to every response of ``app``; trust ``settings.trusted_proxies``
    reverse proxies for the client's address and scheme."""
    if settings.trusted_proxies > 0:
        n = settings.trusted_proxies
        # Flask's documented way to put middleware around the application
        app.wsgi_app = ProxyFix(  # type: ignore[method-assign]  # replaces a method on purpose
            app.wsgi_app, x_for=n, x_proto=n)
    app.after_request(secure)
