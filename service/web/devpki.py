"""The development CA's OCSP responder and CRL over HTTP (service.pki.devpki), at the URLs
its certificates name: so that any validator (pyHanko's CLI, a PDF reader) checks a
development document's revocation as it would a real CA's. Served in development mode only:
``create_app`` never installs it with ``TOKHAI_PRODUCTION=1``."""

from __future__ import annotations

from flask import Blueprint, Flask, Response, abort, request

from service.pki import devpki


def install(app: Flask, responder: devpki.DevelopmentResponder) -> None:
    blueprint = Blueprint("development_pki", __name__)

    @blueprint.post(devpki.OCSP_PATH)
    def ocsp_post() -> Response:
        if request.mimetype != "application/ocsp-request":
            abort(415)
        return _ocsp(responder.ocsp(request.get_data(cache=False)))

    @blueprint.get(devpki.OCSP_PATH + "/<path:encoded>")
    def ocsp_get(encoded: str) -> Response:
        return _ocsp(responder.answer(request.path, None))

    @blueprint.get(devpki.CRL_PATH)
    def crl() -> Response:
        return Response(responder.crl(), mimetype="application/pkix-crl")

    app.register_blueprint(blueprint)


def _ocsp(answer: bytes) -> Response:
    return Response(answer, mimetype="application/ocsp-response")
