"""The development PKI (service.pki.devpki) is shaped like a public CA's: its certificates name
an OCSP responder and a CRL distribution point under the service's URL, the signer embeds
that responder's answers in B-LT results, and the service answers there in development mode
only."""

from __future__ import annotations

import base64
import io
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509 import ocsp
from cryptography.x509.oid import AuthorityInformationAccessOID
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.validation.dss import DocumentSecurityStore

from service.pki import devpki
from service.pki import validation as verification
from service.pki.config import SigningSetupError
from service.pki.signer import Signing
from tests.conftest import make_app
from tests.service.pki.test_signing import render

AGENCY = "UBND-00004"
PUBLIC_URL = "http://127.0.0.1:5000"


@pytest.fixture(scope="module")
def dev_config(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return devpki.create(tmp_path_factory.mktemp("dev-pki"),
                         {AGENCY: ("Ủy ban nhân dân Phường Ba Đình", "Ba Đình")}, PUBLIC_URL)


@pytest.fixture(scope="module")
def signing(dev_config: Path):
    s = Signing.from_file(dev_config)
    yield s
    s.close()


def agency_cert(config: Path) -> x509.Certificate:
    d = config.parent
    password = (d / f"{AGENCY}.password").read_bytes()
    _, cert, _ = pkcs12.load_key_and_certificates((d / f"{AGENCY}.p12").read_bytes(), password)
    assert cert is not None
    return cert


def test_certificates_name_an_ocsp_responder_and_a_crl(dev_config: Path) -> None:
    """Finding: the development certificates named no OCSP responder or CRL distribution
    point, so B-LT results carried a root CRL only, never OCSP."""
    root = x509.load_pem_x509_certificate((dev_config.parent / "root.pem").read_bytes())
    tsa = x509.load_pem_x509_certificate((dev_config.parent / "tsa.pem").read_bytes())
    for cert in (agency_cert(dev_config), tsa):
        aia = cert.extensions.get_extension_for_class(x509.AuthorityInformationAccess).value
        assert [(d.access_method, d.access_location.value) for d in aia] == [
            (AuthorityInformationAccessOID.OCSP, PUBLIC_URL + devpki.OCSP_PATH)]
        (point,) = cert.extensions.get_extension_for_class(
            x509.CRLDistributionPoints).value
        assert [n.value for n in point.full_name] == [PUBLIC_URL + devpki.CRL_PATH]
        assert cert.issuer == root.subject
    for secret in ("root.key.pem", "ocsp.key.pem", "tsa.key.pem"):
        assert (dev_config.parent / secret).stat().st_mode & 0o077 == 0


def _request(cert: x509.Certificate, issuer: x509.Certificate, nonce: bytes | None = None
             ) -> bytes:
    builder = ocsp.OCSPRequestBuilder().add_certificate(cert, issuer, hashes.SHA1())
    if nonce:
        builder = builder.add_extension(x509.OCSPNonce(nonce), critical=False)
    return builder.build().public_bytes(serialization.Encoding.DER)


def test_the_responder_answers_good_for_its_certificates_only(dev_config: Path) -> None:
    responder = devpki.DevelopmentResponder.load(dev_config.parent)
    assert responder is not None
    cert = agency_cert(dev_config)
    answer = ocsp.load_der_ocsp_response(responder.ocsp(_request(cert, responder.ca, b"n1")))
    assert answer.response_status == ocsp.OCSPResponseStatus.SUCCESSFUL
    assert answer.certificate_status == ocsp.OCSPCertStatus.GOOD
    assert answer.serial_number == cert.serial_number
    assert answer.extensions.get_extension_for_class(x509.OCSPNonce).value.nonce == b"n1"
    assert answer.next_update_utc is not None
    assert answer.next_update_utc - answer.this_update_utc == devpki.OCSP_VALIDITY
    # signed by the delegated responder, which the CA issued for that purpose
    assert answer.certificates == [responder.responder]
    assert responder.responder.issuer == responder.ca.subject
    key = responder.responder.public_key()
    assert isinstance(key, rsa.RSAPublicKey) and answer.signature_hash_algorithm is not None
    key.verify(answer.signature, answer.tbs_response_bytes, padding.PKCS1v15(),
               answer.signature_hash_algorithm)
    assert x509.OCSPNoCheck() in [e.value for e in responder.responder.extensions]
    # a certificate of another CA, with the same serial number: unknown
    stranger = x509.load_pem_x509_certificate((dev_config.parent / "ocsp.pem").read_bytes())
    other = ocsp.load_der_ocsp_response(responder.ocsp(_request(cert, stranger)))
    assert other.certificate_status == ocsp.OCSPCertStatus.UNKNOWN
    broken = ocsp.load_der_ocsp_response(responder.ocsp(b"\x30\x03junk"))
    assert broken.response_status == ocsp.OCSPResponseStatus.MALFORMED_REQUEST
    crl = x509.load_der_x509_crl(responder.crl())
    ca_key = responder.ca.public_key()
    assert isinstance(ca_key, rsa.RSAPublicKey) and crl.is_signature_valid(ca_key)
    assert crl.next_update_utc is not None
    assert timedelta(days=6) < crl.next_update_utc - datetime.now(UTC) <= devpki.CRL_VALIDITY
    with pytest.raises(ValueError):
        responder.answer("http://elsewhere.test/ocsp", b"")


def test_b_lt_results_embed_ocsp_responses_from_the_development_ca(signing) -> None:
    agency = signing.agency(AGENCY)
    rendered = render()
    signed = signing.sign(agency, rendered.pdf, page=rendered.page, box=rendered.box,
                          signing_time=datetime.now(UTC), level="B-LT")
    dss = DocumentSecurityStore.read_dss(PdfFileReader(io.BytesIO(signed.pdf)))
    responses = [ocsp.load_der_ocsp_response(ref.get_object().data) for ref in dss.ocsps]
    serials = {r.serial_number for r in responses
               if r.certificate_status == ocsp.OCSPCertStatus.GOOD}
    assert agency.signer.signing_cert.serial_number in serials
    for later in (timedelta(0), timedelta(days=3)):  # past the OCSP responses' validity
        report = verification.verify(signed.pdf, verification.trust_of(signing), max_pages=10,
                                     original=lambda *_: None, at=datetime.now(UTC) + later)
        (sig,) = report["signatures"]
        assert report["valid"] and not report["legally_valid"], report["problems"]
        assert sig["level"] == "B-LT" and sig["revocation"] == "good" and sig["development"]


def test_the_service_serves_the_responder_in_development_mode_only(dev_config: Path,
                                                                   tmp_path: Path) -> None:
    dev = make_app(f"sqlite:///{tmp_path / 'dev.db'}", tmp_path, signing_config=str(dev_config))
    client = dev.test_client()
    request = _request(agency_cert(dev_config),
                       x509.load_pem_x509_certificate((dev_config.parent / "root.pem")
                                                      .read_bytes()))
    posted = client.post(devpki.OCSP_PATH, data=request,
                         headers={"Content-Type": "application/ocsp-request"})
    assert posted.status_code == 200 and posted.mimetype == "application/ocsp-response"
    assert ocsp.load_der_ocsp_response(posted.data).certificate_status == \
        ocsp.OCSPCertStatus.GOOD
    encoded = base64.b64encode(request).decode()
    got = client.get(f"{devpki.OCSP_PATH}/{encoded}")
    assert got.status_code == 200
    assert ocsp.load_der_ocsp_response(got.data).certificate_status == \
        ocsp.OCSPCertStatus.GOOD
    crl = client.get(devpki.CRL_PATH)
    assert crl.status_code == 200 and crl.mimetype == "application/pkix-crl"
    x509.load_der_x509_crl(crl.data)
    # TOKHAI_PRODUCTION=1: a development configuration (its keys, its in-process TSA and
    # revocation service) does not start at all, so nothing of it is served (shared rate
    # limit counts, as production wants; nothing connects at start-up)
    with pytest.raises(SigningSetupError, match="TOKHAI_PRODUCTION=1"):
        make_app(f"sqlite:///{tmp_path / 'prod.db'}", tmp_path,
                 signing_config=str(dev_config), production=True,
                 rate_limit_storage="redis://127.0.0.1:9/0")
