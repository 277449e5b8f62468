"""Issuing a B-LT result when the CA's OCSP responder and CRL distribution points are down: a
clear 503 (``revocation_unavailable``), nothing issued, the dossier as it was; and issuing
works again as soon as they are back."""

from __future__ import annotations

from sqlalchemy import select

from storage.models import Dossier, DossierDocument
from tests import pki
from tests.conftest import demo_app
from tests.service.results.test_results import AGENCY, in_processing, issue


def test_a_revocation_service_that_is_down_leaves_the_dossier_unchanged(
        test_pki, tmp_path) -> None:
    config = pki.write_signing_config(test_pki, name="revocation-down.yaml")
    setup = demo_app(tmp_path, "revocation", AGENCY, signing_config=str(config))
    down, client, father, clerk = setup.app, setup.client, setup.father, setup.clerk
    code, etag = in_processing(client, down, father, clerk)
    with test_pki.outage("ocsp", "crls"):
        refused = issue(client, clerk, code, etag)
    assert refused.status_code == 503, refused.get_json()
    body = refused.get_json()
    assert body["code"] == "revocation_unavailable"
    assert "OCSP" in body["message"] and "unchanged" in body["message_en"]
    assert refused.headers.get("Retry-After")
    after = client.get(f"/api/v1/dossiers/{code}", headers=clerk)
    assert after.get_json()["status"] == "in_processing" and after.headers["ETag"] == etag
    with down.app_context():
        session = down.extensions["tokhai"].sessions()
        assert session.scalar(select(DossierDocument)) is None
        dossier = session.scalar(select(Dossier).where(Dossier.code == code))
        assert dossier is not None and dossier.status == "in_processing"
        session.close()
    # back up: the failure is not remembered (the signer's revocation cache is dropped)
    issued = issue(client, clerk, code, etag)
    assert issued.status_code == 201, issued.get_json()
    assert issued.get_json()["level"] == "B-LT"
