"""The development PKI that ``make run`` (``tokhai dev-setup``) creates.

A root CA named as a development CA, an in-process time-stamping authority, an OCSP responder
and a CRL, and one key per demo agency in a PKCS#12 file whose password sits in a secret file
beside it. The signing configuration written with it says ``development: true``: the visible
stamp says the document is a test, and verification reports it as not legally valid. None of it
is fit for production, and its names say so.

Shaped like a public CA's: the agencies' and the TSA's certificates name an OCSP responder
(Authority Information Access) and a CRL distribution point, at the service's own URL
(:data:`OCSP_PATH`, :data:`CRL_PATH`). :class:`DevelopmentResponder` answers there: the signer
asks it in-process (service.pki.signer), and the web layer serves it over HTTP in development
mode only (never with ``TOKHAI_PRODUCTION=1``), so a B-LT result carries an OCSP response as one
from a real CA does.
"""

from __future__ import annotations

import base64
import secrets
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

import yaml
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509 import ocsp
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from service.pki.seals import development_seal

DEV_LABEL = "DEVELOPMENT - KHÔNG CÓ GIÁ TRỊ PHÁP LÝ"
#: where the development CA answers, under the service's public URL
OCSP_PATH = "/dev-pki/ocsp"
CRL_PATH = "/dev-pki/root.crl"
#: how long an OCSP response and a CRL are valid (a public CA's are hours to days)
OCSP_VALIDITY = timedelta(hours=4)
CRL_VALIDITY = timedelta(days=7)
#: the files the responder needs, beside the signing configuration
ROOT_CERT, ROOT_KEY = "root.pem", "root.key.pem"
OCSP_CERT, OCSP_KEY = "ocsp.pem", "ocsp.key.pem"
ISSUED = "issued.pem"


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COUNTRY_NAME, "VN"),
                      x509.NameAttribute(NameOID.ORGANIZATION_NAME, f"tokhai {DEV_LABEL}"),
                      x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def _fit(text: str, limit: int = 64) -> str:
    """X.520 names hold at most 64 bytes of UTF-8."""
    while len(text.encode()) > limit:
        text = text[:-1]
    return text


def _key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def _cert(subject: x509.Name, key: rsa.RSAPrivateKey, issuer: x509.Name,
          issuer_key: rsa.RSAPrivateKey, *, ca: bool, eku: list | None = None,
          years: int = 10, public_url: str | None = None,
          ocsp_signing: bool = False) -> x509.Certificate:
    """A certificate; with ``public_url``, naming the CA's OCSP responder and CRL there."""
    now = datetime.now(UTC) - timedelta(days=1)
    builder = (x509.CertificateBuilder().subject_name(subject).issuer_name(issuer)
               .public_key(key.public_key()).serial_number(x509.random_serial_number())
               .not_valid_before(now).not_valid_after(now + timedelta(days=365 * years))
               .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
               .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()),
                              critical=False)
               .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(
                   issuer_key.public_key()), critical=False))
    if ca:
        builder = builder.add_extension(x509.KeyUsage(
            digital_signature=True, content_commitment=False, key_encipherment=False,
            data_encipherment=False, key_agreement=False, key_cert_sign=True, crl_sign=True,
            encipher_only=False, decipher_only=False), critical=True)
    else:
        builder = builder.add_extension(x509.KeyUsage(
            digital_signature=True, content_commitment=True, key_encipherment=False,
            data_encipherment=False, key_agreement=False, key_cert_sign=False, crl_sign=False,
            encipher_only=False, decipher_only=False), critical=True)
    if eku:
        builder = builder.add_extension(x509.ExtendedKeyUsage(eku), critical=True)
    if ocsp_signing:  # the responder's own certificate is not checked for revocation
        builder = builder.add_extension(x509.OCSPNoCheck(), critical=False)
    if public_url:
        builder = builder.add_extension(x509.AuthorityInformationAccess([
            x509.AccessDescription(x509.AuthorityInformationAccessOID.OCSP,
                                   x509.UniformResourceIdentifier(public_url + OCSP_PATH))]),
            critical=False)
        builder = builder.add_extension(x509.CRLDistributionPoints([x509.DistributionPoint(
            full_name=[x509.UniformResourceIdentifier(public_url + CRL_PATH)],
            relative_name=None, reasons=None, crl_issuer=None)]), critical=False)
    return builder.sign(issuer_key, hashes.SHA256())


def _pem(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.PEM)


def locality(unit_name: str) -> str:
    """The place a commune or ward's documents print before the date: its own name without
    "Xã"/"Phường"/"Đặc khu", unless it is a number or needs the word ("Phường 1")
    (Decree 30/2020, Annex I, item 4.a)."""
    for prefix in ("Phường ", "Xã ", "Đặc khu ", "Thị trấn "):
        if unit_name.startswith(prefix):
            rest = unit_name[len(prefix):]
            return unit_name if rest[:1].isdigit() else rest
    return unit_name


def _abbreviation(name: str) -> str:
    """"UBND" for "Ủy ban nhân dân …", "CA" for "Công an …", else the initials."""
    lowered = name.lower()
    for prefix, abbreviation in (("ủy ban nhân dân", "UBND"), ("uỷ ban nhân dân", "UBND"),
                                 ("công an", "CA")):
        if lowered.startswith(prefix):
            return abbreviation
    initials = "".join(w[0] for w in name.split() if w[:1].isalpha()).upper()
    return initials or "CQ"


def agency_entry(name: str, place: str) -> dict[str, Any]:
    """The details a development agency's documents print (docs/signing.md): its
    abbreviation, locality, signer (a made-up name: these documents are tests) and the
    grounds of its decisions."""
    committee = name.lower().startswith(("ủy ban nhân dân", "uỷ ban nhân dân"))
    entry: dict[str, Any] = {
        "name": name, "abbreviation": _abbreviation(name), "locality": place,
        "signer": {"authority": ["TM. ỦY BAN NHÂN DÂN"] if committee else [],
                   "title": "CHỦ TỊCH" if committee else "THỦ TRƯỞNG CƠ QUAN",
                   "name": "Nguyễn Văn Thử"},
    }
    if committee:
        entry["grounds"] = ["Căn cứ Luật Tổ chức chính quyền địa phương ngày 16 tháng 6 năm "
                            "2025"]
    return entry


def create(directory: Path, agencies: dict[str, tuple[str, str]], public_url: str) -> Path:
    """Write the development PKI and its signing configuration into ``directory``;
    ``agencies`` maps agency code to (name, locality: the commune or ward's own name, printed
    before the date). Returns the configuration's path."""
    directory.mkdir(parents=True, exist_ok=True)
    root_key = _key()
    root_name = _name("tokhai Development Root CA")
    root = _cert(root_name, root_key, root_name, root_key, ca=True, years=20)
    (directory / ROOT_CERT).write_bytes(_pem(root))
    _write_secret(directory / ROOT_KEY, _pem_key(root_key))  # it signs the CRLs
    tsa_key = _key()
    tsa = _cert(_name("tokhai Development TSA"), tsa_key, root_name, root_key, ca=False,
                eku=[ExtendedKeyUsageOID.TIME_STAMPING], public_url=public_url)
    (directory / "tsa.pem").write_bytes(_pem(tsa))
    _write_secret(directory / "tsa.key.pem", _pem_key(tsa_key))
    ocsp_key = _key()
    responder = _cert(_name("tokhai Development OCSP"), ocsp_key, root_name, root_key,
                      ca=False, eku=[ExtendedKeyUsageOID.OCSP_SIGNING], ocsp_signing=True)
    (directory / OCSP_CERT).write_bytes(_pem(responder))
    _write_secret(directory / OCSP_KEY, _pem_key(ocsp_key))
    issued = [tsa, responder]
    entries = {}
    for code, (name, place) in agencies.items():
        key = _key()
        subject = x509.Name([
            x509.NameAttribute(NameOID.COUNTRY_NAME, "VN"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, _fit(name)),
            x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, DEV_LABEL),
            x509.NameAttribute(NameOID.COMMON_NAME, _fit(name))])
        cert = _cert(subject, key, root_name, root_key, ca=False, years=5,
                     public_url=public_url)
        issued.append(cert)
        password = secrets.token_urlsafe(16)
        _write_secret(directory / f"{code}.password", password.encode())
        (directory / f"{code}.p12").write_bytes(pkcs12.serialize_key_and_certificates(
            code.encode(), key, cert, [root],
            serialization.BestAvailableEncryption(password.encode())))
        (directory / f"{code}-seal.png").write_bytes(development_seal(name))
        entries[code] = {**agency_entry(name, place), "seal": f"{code}-seal.png",
                         "pkcs12": f"{code}.p12", "password_file": f"{code}.password"}
    config = {
        "development": True, "public_url": public_url, "level": "B-LT",
        "tsa": {"development_key": "tsa.key.pem", "development_cert": "tsa.pem"},
        "trust_anchors": ["root.pem"], "crls": ["root.crl"], "agencies": entries,
    }
    (directory / ISSUED).write_bytes(b"".join(_pem(c) for c in issued))
    # the CRL as of now, for the configuration's ``crls`` (the responder signs fresh ones)
    loaded = DevelopmentResponder.load(directory)
    assert loaded is not None
    (directory / "root.crl").write_bytes(loaded.crl())
    path = directory / "signing.yaml"
    path.write_text("# Development signing keys, made by `tokhai dev-setup`: NOT LEGALLY VALID.\n"
                    + yaml.safe_dump(config, allow_unicode=True, sort_keys=False),
                    encoding="utf-8")
    return path


def _pem_key(key: rsa.RSAPrivateKey) -> bytes:
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


def _write_secret(path: Path, data: bytes) -> None:
    path.write_bytes(data)
    path.chmod(0o600)


# -- the development CA's OCSP responder and CRL ----------------------------------------------

class DevelopmentResponder:
    """The development CA's OCSP responder (RFC 6960, a delegated responder certificate) and
    its CRL (RFC 5280, signed afresh every hour). It knows every certificate the CA issued
    and revoked none: each is "good", any other serial "unknown"."""

    def __init__(self, ca: x509.Certificate, ca_key: Any, responder: x509.Certificate,
                 responder_key: Any, issued: list[x509.Certificate]) -> None:
        self.ca = ca
        self._ca_key = ca_key
        self.responder = responder
        self._responder_key = responder_key
        self.issued = {c.serial_number: c for c in issued}
        self._crl: tuple[datetime, bytes] | None = None
        self._lock = threading.Lock()

    @classmethod
    def load(cls, directory: Path) -> DevelopmentResponder | None:
        """The responder of the development PKI in ``directory``; None for one made before
        its certificates named a responder (delete it and run ``tokhai dev-setup`` again)."""
        files = [directory / n for n in (ROOT_CERT, ROOT_KEY, OCSP_CERT, OCSP_KEY, ISSUED)]
        if not all(f.exists() for f in files):
            return None
        root, root_key, responder, responder_key, issued = (f.read_bytes() for f in files)
        return cls(x509.load_pem_x509_certificate(root),
                   serialization.load_pem_private_key(root_key, None),
                   x509.load_pem_x509_certificate(responder),
                   serialization.load_pem_private_key(responder_key, None),
                   x509.load_pem_x509_certificates(issued))

    def answer(self, url: str, body: bytes | None) -> bytes:
        """The answer to a request for ``url`` (a POST with ``body``, or a GET): an OCSP
        response or the CRL. ValueError for a URL the CA does not serve."""
        path = unquote(urlsplit(url).path)
        if path == OCSP_PATH and body is not None:
            return self.ocsp(body)
        if path.startswith(OCSP_PATH + "/") and body is None:  # RFC 6960, A.1: GET
            try:
                request = base64.b64decode(path[len(OCSP_PATH) + 1:], validate=True)
            except ValueError:
                return _unsuccessful(ocsp.OCSPResponseStatus.MALFORMED_REQUEST)
            return self.ocsp(request)
        if path == CRL_PATH and body is None:
            return self.crl()
        raise ValueError(f"not a URL of the development CA: {url}")

    def ocsp(self, request_der: bytes) -> bytes:
        """The signed OCSP response to a DER-encoded request."""
        try:
            request = ocsp.load_der_ocsp_request(request_der)
            algorithm = request.hash_algorithm
            serial = request.serial_number
        except (ValueError, NotImplementedError):
            return _unsuccessful(ocsp.OCSPResponseStatus.MALFORMED_REQUEST)
        cert = self.issued.get(serial)
        status = ocsp.OCSPCertStatus.UNKNOWN
        if cert is not None:
            ours = ocsp.OCSPRequestBuilder().add_certificate(cert, self.ca, algorithm).build()
            if (ours.issuer_name_hash, ours.issuer_key_hash) == (
                    request.issuer_name_hash, request.issuer_key_hash):
                status = ocsp.OCSPCertStatus.GOOD
        now = datetime.now(UTC).replace(microsecond=0)
        builder = (ocsp.OCSPResponseBuilder()
                   .add_response_by_hash(
                       issuer_name_hash=request.issuer_name_hash,
                       issuer_key_hash=request.issuer_key_hash, serial_number=serial,
                       algorithm=algorithm, cert_status=status, this_update=now,
                       next_update=now + OCSP_VALIDITY, revocation_time=None,
                       revocation_reason=None)
                   .responder_id(ocsp.OCSPResponderEncoding.HASH, self.responder)
                   .certificates([self.responder]))
        for extension in request.extensions:
            if isinstance(extension.value, x509.OCSPNonce):
                builder = builder.add_extension(extension.value, critical=False)
        return builder.sign(self._responder_key, hashes.SHA256()).public_bytes(
            serialization.Encoding.DER)

    def crl(self) -> bytes:
        """The CA's CRL (DER), empty, valid for :data:`CRL_VALIDITY`; signed afresh when the
        last one is an hour old."""
        with self._lock:
            now = datetime.now(UTC).replace(microsecond=0)
            if self._crl is None or now - self._crl[0] > timedelta(hours=1):
                crl = (x509.CertificateRevocationListBuilder().issuer_name(self.ca.subject)
                       .last_update(now - timedelta(minutes=5))
                       .next_update(now + CRL_VALIDITY)
                       .add_extension(x509.CRLNumber(int(now.timestamp())), critical=False)
                       .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(
                           self._ca_key.public_key()), critical=False)
                       .sign(self._ca_key, hashes.SHA256()))
                self._crl = (now, crl.public_bytes(serialization.Encoding.DER))
            return self._crl[1]


def _unsuccessful(status: ocsp.OCSPResponseStatus) -> bytes:
    return ocsp.OCSPResponseBuilder.build_unsuccessful(status).public_bytes(
        serialization.Encoding.DER)
