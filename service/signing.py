"""Agencies' signing keys and PAdES signatures (pyHanko).

Every agency signs its results with its own key: a PKCS#12 file whose password comes from an
environment variable or a secret file, or a key on a PKCS#11 token (an HSM; SoftHSM2 in
tests). The keys are described in a YAML file (``TOKHAI_SIGNING_CONFIG``, format in
docs/signing.md) and loaded once, at start-up, so a wrong password or PIN stops the service
with a message naming the agency instead of failing at the first issuance.

Signing is built for throughput: the private key is parsed once (pyHanko's ``SimpleSigner``
parses it for every signature), the time-stamping authority is reached over one kept-alive
HTTP connection, the signature container's size is reserved rather than estimated by a dry
run, and revocation data for the long-term levels is fetched once per
``REVOCATION_REFRESH`` and reused.

Levels (ETSI EN 319 142-1): B-T is a CAdES signature with a signature timestamp; B-LT adds a
Document Security Store with the chains and revocation data of the signer and the TSA; B-LTA
adds a document timestamp over all of it.
"""

from __future__ import annotations

import functools
import io
import os
import threading
import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import yaml
from asn1crypto import cms, core, keys, tsp, x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.sign import fields, signers, timestamps
from pyhanko.sign.general import (
    SigningError,
    as_signing_certificate,
    load_cert_from_pemder,
    load_certs_from_pemder,
    simple_cms_attribute,
)
from pyhanko.sign.timestamps.common_utils import TimestampRequestError, set_tsp_headers
from pyhanko.sign.timestamps.dummy_client import DummyTimeStamper
from pyhanko.stamp import NoOpStampStyle
from pyhanko_certvalidator import ValidationContext
from pyhanko_certvalidator.fetchers.requests_fetchers import RequestsFetcherBackend
from pyhanko_certvalidator.registry import SimpleCertificateStore

from service import pdfhex  # noqa: F401 - installs the fast hex-string reader

LEVELS = ("B-T", "B-LT", "B-LTA")
FIELD_NAME = "ChuKyCoQuan"
#: room for the CMS container beyond the certificates and the timestamp token: signed
#: attributes, the signature value, structure (bytes)
CMS_OVERHEAD = 3072
#: a timestamp token's size before the TSA has answered once (bytes)
TOKEN_GUESS = 6144
#: how long fetched OCSP responses and CRLs are reused for B-LT embedding (seconds)
REVOCATION_REFRESH = 600.0


class SigningSetupError(Exception):
    """The signing configuration cannot be used; the message names the agency and the
    problem, and the service does not start."""


class TimestampUnavailable(Exception):
    """The time-stamping authority did not answer in time or answered garbage."""


# -- configuration ----------------------------------------------------------------------------

@dataclass(frozen=True)
class AgencyKey:
    code: str
    name: str
    place: str
    seal: Path | None
    pkcs12: Path | None = None
    password_env: str | None = None
    password_file: Path | None = None
    pkcs11: dict[str, Any] | None = None


@dataclass(frozen=True)
class SigningConfig:
    path: Path
    agencies: dict[str, AgencyKey]
    trust_anchors: tuple[Path, ...]
    intermediates: tuple[Path, ...]
    level: str
    tsa_url: str | None
    tsa_timeout: float
    public_url: str
    development: bool
    #: development only: a TSA run in-process with this key and certificate
    dev_tsa_key: Path | None = None
    dev_tsa_cert: Path | None = None
    #: CRLs to embed without fetching (a development CA publishes none)
    crls: tuple[Path, ...] = ()

    @classmethod
    def load(cls, path: str | Path) -> SigningConfig:
        path = Path(path)
        try:
            raw = yaml.safe_load(path.read_text(encoding="utf-8"))
        except (OSError, yaml.YAMLError) as e:
            raise SigningSetupError(f"signing configuration {path}: {e}") from e
        if not isinstance(raw, dict) or not isinstance(raw.get("agencies"), dict):
            raise SigningSetupError(f"signing configuration {path}: 'agencies' is missing")
        base = path.parent

        def file(value: Any) -> Path | None:
            return None if value in (None, "") else (base / str(value)).resolve()

        agencies = {}
        for code, entry in raw["agencies"].items():
            if not isinstance(entry, dict) or not entry.get("name"):
                raise SigningSetupError(f"agency {code}: 'name' is missing")
            if bool(entry.get("pkcs12")) == bool(entry.get("pkcs11")):
                raise SigningSetupError(
                    f"agency {code}: give exactly one of 'pkcs12' (file) or 'pkcs11' (token)")
            agencies[str(code)] = AgencyKey(
                code=str(code), name=str(entry["name"]), place=str(entry.get("place", "")),
                seal=file(entry.get("seal")), pkcs12=file(entry.get("pkcs12")),
                password_env=entry.get("password_env"),
                password_file=file(entry.get("password_file")),
                pkcs11=_token_spec(entry.get("pkcs11"), file))
        tsa = raw.get("tsa") or {}
        level = str(raw.get("level", "B-LT")).upper()
        if level not in LEVELS:
            raise SigningSetupError(f"level {level!r}: use one of {', '.join(LEVELS)}")
        return cls(
            path=path, agencies=agencies,
            trust_anchors=tuple(file(p) for p in raw.get("trust_anchors", [])),  # type: ignore[misc]
            intermediates=tuple(file(p) for p in raw.get("intermediates", [])),  # type: ignore[misc]
            level=level, tsa_url=tsa.get("url"), tsa_timeout=float(tsa.get("timeout", 5)),
            public_url=str(raw.get("public_url", "http://127.0.0.1:5000")).rstrip("/"),
            development=bool(raw.get("development", False)),
            dev_tsa_key=file(tsa.get("development_key")),
            dev_tsa_cert=file(tsa.get("development_cert")),
            crls=tuple(file(p) for p in raw.get("crls", [])))  # type: ignore[misc]


def _token_spec(raw: Any, file: Any) -> dict[str, Any] | None:
    if not raw:
        return None
    spec = dict(raw)
    for key in ("pin_file", "cert_file"):
        if spec.get(key):
            spec[key] = file(spec[key])
    return spec


# -- keys -------------------------------------------------------------------------------------

class LoadedKeySigner(signers.SimpleSigner):
    """``SimpleSigner`` that parses its private key once, not for every signature (the
    parse, with its RSA consistency check, costs more than the signature itself)."""

    def __init__(self, signing_cert: x509.Certificate, signing_key: keys.PrivateKeyInfo,
                 cert_registry: SimpleCertificateStore) -> None:
        super().__init__(signing_cert, signing_key, cert_registry)
        self._key = serialization.load_der_private_key(signing_key.dump(), password=None)

    def sign_raw(self, data: bytes, digest_algorithm: str) -> bytes:
        mechanism = self.get_signature_mechanism_for_digest(digest_algorithm).signature_algo
        algorithm = getattr(hashes, digest_algorithm.upper().replace("_", ""))()
        if isinstance(self._key, rsa.RSAPrivateKey) and mechanism == "rsassa_pkcs1v15":
            return self._key.sign(data, padding.PKCS1v15(), algorithm)
        if isinstance(self._key, ec.EllipticCurvePrivateKey) and mechanism == "ecdsa":
            return self._key.sign(data, ec.ECDSA(algorithm))
        return super().sign_raw(data, digest_algorithm)


def _secret(agency: AgencyKey, env: str | None, file: Path | None, what: str) -> str:
    if env:
        value = os.environ.get(env)
        if value is None:
            raise SigningSetupError(
                f"agency {agency.code}: the {what} variable {env} is not set")
        return value
    if file:
        try:
            return file.read_text(encoding="utf-8").strip()
        except OSError as e:
            raise SigningSetupError(f"agency {agency.code}: {what} file: {e}") from e
    raise SigningSetupError(
        f"agency {agency.code}: give '{what}_env' or '{what}_file' for the key")


def _load_pkcs12(agency: AgencyKey, extra_certs: list[x509.Certificate]) -> signers.Signer:
    from cryptography.hazmat.primitives.serialization import pkcs12

    assert agency.pkcs12 is not None
    password = _secret(agency, agency.password_env, agency.password_file, "password")
    try:
        data = agency.pkcs12.read_bytes()
    except OSError as e:
        raise SigningSetupError(f"agency {agency.code}: PKCS#12 file: {e}") from e
    try:
        key, cert, chain = pkcs12.load_key_and_certificates(data, password.encode())
    except ValueError as e:
        raise SigningSetupError(
            f"agency {agency.code}: cannot open {agency.pkcs12.name}: wrong password or "
            f"not a PKCS#12 file ({e})") from e
    if key is None or cert is None:
        raise SigningSetupError(f"agency {agency.code}: {agency.pkcs12.name} has no key "
                                "and certificate")
    der = key.private_bytes(serialization.Encoding.DER, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption())
    registry = SimpleCertificateStore.from_certs(
        [x509.Certificate.load(c.public_bytes(serialization.Encoding.DER)) for c in chain]
        + extra_certs)
    return LoadedKeySigner(x509.Certificate.load(cert.public_bytes(serialization.Encoding.DER)),
                           keys.PrivateKeyInfo.load(der), registry)


class TokenSigner:
    """A PKCS#11 signer with its session. A PKCS#11 session is not safe to share between
    threads, so signatures on one token are serialised."""

    def __init__(self, agency: AgencyKey, extra_certs: list[x509.Certificate]) -> None:
        from pkcs11 import PKCS11Error
        from pyhanko.config.pkcs11 import TokenCriteria
        from pyhanko.sign import pkcs11 as p11

        spec = agency.pkcs11 or {}
        if not spec.get("module"):
            raise SigningSetupError(f"agency {agency.code}: pkcs11 'module' is missing")
        pin = _secret(agency, spec.get("pin_env"), spec.get("pin_file"), "pin")
        try:
            self.session = p11.open_pkcs11_session(
                spec["module"], slot_no=spec.get("slot"),
                token_criteria=TokenCriteria(label=spec.get("token_label")), user_pin=pin)
            certificate = (load_cert_from_pemder(str(spec["cert_file"]))
                           if spec.get("cert_file") else None)
            self.signer = p11.PKCS11Signer(
                self.session, key_label=spec.get("key_label"),
                cert_label=None if certificate else spec.get("cert_label",
                                                             spec.get("key_label")),
                signing_cert=certificate, other_certs_to_pull=None, ca_chain=extra_certs)
            self.signer.signing_cert  # noqa: B018 - fetch now: fail at start-up, not later
        except (PKCS11Error, SigningError, OSError, RuntimeError) as e:
            raise SigningSetupError(
                f"agency {agency.code}: cannot use the PKCS#11 token "
                f"({type(e).__name__}: {e or 'wrong PIN, label or slot'})") from e
        self.lock = threading.Lock()


# -- time-stamping ----------------------------------------------------------------------------

class KeptAliveTimeStamper(timestamps.TimeStamper):
    """RFC 3161 over one kept-alive HTTP client, with a bounded wait. pyHanko's HTTP
    time-stampers open a new connection (and TLS context) for every request."""

    def __init__(self, url: str, timeout: float) -> None:
        super().__init__()
        self.url = url
        self.client = httpx.Client(timeout=httpx.Timeout(timeout), headers=set_tsp_headers({}))
        #: the largest response seen, which sizes the room reserved for signatures
        self.largest = 0

    async def async_request_tsa_response(self, req: tsp.TimeStampReq) -> tsp.TimeStampResp:
        try:
            response = self.client.post(self.url, content=req.dump())
        except httpx.HTTPError as e:
            raise TimestampUnavailable(f"time-stamping authority {self.url}: {e}") from e
        if response.status_code != 200 or \
                response.headers.get("content-type") != "application/timestamp-reply":
            raise TimestampUnavailable(
                f"time-stamping authority {self.url} answered {response.status_code}")
        self.largest = max(self.largest, len(response.content))
        return tsp.TimeStampResp.load(response.content)


class LocalTimeStamper(DummyTimeStamper):
    """An in-process RFC 3161 authority (development set-up, benchmarks): pyHanko's
    ``DummyTimeStamper`` with its key parsed once instead of for every token."""

    def __init__(self, tsa_cert: x509.Certificate, tsa_key: Any,
                 certs_to_embed: SimpleCertificateStore | None = None) -> None:
        der = tsa_key.private_bytes(serialization.Encoding.DER,
                                    serialization.PrivateFormat.PKCS8,
                                    serialization.NoEncryption())
        super().__init__(tsa_cert, keys.PrivateKeyInfo.load(der), certs_to_embed)
        self._key = tsa_key

    def _sign_tst_info(self, tst_info_data: bytes, md_algorithm: str,
                       dt: datetime) -> tuple[bytes, cms.CMSAttributes]:
        digest = hashes.Hash(getattr(hashes, md_algorithm.upper())())
        digest.update(tst_info_data)
        signed_attrs = cms.CMSAttributes([
            simple_cms_attribute("content_type", "tst_info"),
            simple_cms_attribute("signing_time", cms.Time({"utc_time": core.UTCTime(dt)})),
            simple_cms_attribute("signing_certificate", as_signing_certificate(self.tsa_cert)),
            simple_cms_attribute("message_digest", digest.finalize()),
        ])
        signature = self._key.sign(signed_attrs.dump(), padding.PKCS1v15(),
                                   getattr(hashes, md_algorithm.upper())())
        return signature, signed_attrs

    def request_tsa_response(self, req: tsp.TimeStampReq) -> tsp.TimeStampResp:
        response = super().request_tsa_response(req)
        self.largest = max(getattr(self, "largest", 0), len(response.dump()))
        return response

    @classmethod
    def from_files(cls, key_file: Path, cert_file: Path,
                   chain: list[x509.Certificate]) -> LocalTimeStamper:
        key = serialization.load_pem_private_key(key_file.read_bytes(), None)
        return cls(load_cert_from_pemder(str(cert_file)), key,
                   SimpleCertificateStore.from_certs(chain))


# -- agencies ---------------------------------------------------------------------------------

@dataclass
class SignedPdf:
    pdf: bytes
    level: str
    signer: str
    signed_at: datetime


class _PinnedTimeSigner(signers.PdfSigner):
    """A ``PdfSigner`` whose signing time is given: the visible stamp, drawn before signing,
    shows the very time the signature carries."""

    def __init__(self, *args: Any, signing_time: datetime, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._signing_time = signing_time

    def init_signing_session(self, pdf_out: Any, existing_fields_only: bool = False) -> Any:
        session = super().init_signing_session(pdf_out, existing_fields_only)
        session.system_time = self._signing_time
        return session


class AgencySigner:
    """One agency's key, ready to sign."""

    def __init__(self, key: AgencyKey, signer: signers.Signer | TokenSigner,
                 seal_png: bytes, development: bool) -> None:
        self.code = key.code
        self.name = key.name
        self.place = key.place
        self.seal_png = seal_png
        self.development = development
        self._token = signer if isinstance(signer, TokenSigner) else None
        self.signer: signers.Signer = signer.signer if isinstance(signer, TokenSigner) \
            else signer

    @functools.cached_property
    def chain_size(self) -> int:
        """Bytes of the certificates a signature embeds (the signer's and its chain); they
        do not change while the service runs."""
        certs = [self.signer.signing_cert, *self.signer.cert_registry]
        return sum(len(c.dump()) for c in certs if c is not None)

    @functools.cached_property
    def subject(self) -> str:
        cert = self.signer.signing_cert
        assert cert is not None
        return cert.subject.human_friendly


class Signing:
    """Every agency's signer, the time-stamping authority and the trust settings."""

    def __init__(self, config: SigningConfig) -> None:
        self.config = config
        if not config.trust_anchors:
            raise SigningSetupError("signing configuration: 'trust_anchors' is empty; "
                                    "verification would trust no signature")
        self.anchors = [_read(load_cert_from_pemder, p, "trust anchor")
                        for p in config.trust_anchors]
        self.intermediates = [c for p in config.intermediates
                              for c in _read(lambda f: list(load_certs_from_pemder([f])), p,
                                             "intermediate certificate")]
        self.crls = [_read(lambda f: Path(f).read_bytes(), p, "CRL") for p in config.crls]
        self.timestamper = _read(lambda _: self._timestamper(), config.path, "TSA")
        self.agencies: dict[str, AgencySigner] = {}
        for code, key in config.agencies.items():
            signer: signers.Signer | TokenSigner = (
                _load_pkcs12(key, self.intermediates) if key.pkcs12
                else TokenSigner(key, self.intermediates))
            seal = _seal(key, config.development)
            self.agencies[code] = AgencySigner(key, signer, seal, config.development)
        self._revocation: tuple[float, ValidationContext] | None = None
        self._revocation_lock = threading.Lock()

    @classmethod
    def from_file(cls, path: str | Path) -> Signing:
        return cls(SigningConfig.load(path))

    def _timestamper(self) -> timestamps.TimeStamper:
        c = self.config
        if c.tsa_url:
            return KeptAliveTimeStamper(c.tsa_url, c.tsa_timeout)
        if c.development and c.dev_tsa_key and c.dev_tsa_cert:
            return LocalTimeStamper.from_files(c.dev_tsa_key, c.dev_tsa_cert, self.anchors)
        raise SigningSetupError("signing configuration: 'tsa.url' is missing (a signature "
                                "timestamp is required from level B-T up)")

    def agency(self, code: str) -> AgencySigner | None:
        return self.agencies.get(code)

    def verify_url(self, document_id: str) -> str:
        return f"{self.config.public_url}/api/v1/documents/{document_id}/verification"

    def validation_context(self) -> ValidationContext:
        """The context that gathers revocation data for B-LT embedding. Reused (with what
        its fetchers cached) for ``REVOCATION_REFRESH`` seconds, then built afresh."""
        with self._revocation_lock:
            now = time.monotonic()
            if self._revocation is None or now - self._revocation[0] > REVOCATION_REFRESH:
                context = ValidationContext(
                    trust_roots=self.anchors, other_certs=self.intermediates,
                    crls=self.crls, allow_fetching=not self.config.development,
                    revocation_mode="hard-fail",
                    fetcher_backend=RequestsFetcherBackend(
                        per_request_timeout=int(max(1, self.config.tsa_timeout))))
                self._revocation = (now, context)
            return self._revocation[1]

    def sign(self, agency: AgencySigner, pdf: bytes, *, page: int,
             box: tuple[int, int, int, int], signing_time: datetime,
             level: str | None = None, reason: str | None = None) -> SignedPdf:
        """Sign ``pdf`` with the agency's key at ``level`` (the configured one by default),
        the signature field over the stamp drawn at ``box`` on ``page``."""
        level = level or self.config.level
        if level not in LEVELS:
            raise ValueError(f"unknown PAdES level {level!r}")
        long_term = level in ("B-LT", "B-LTA")
        meta = signers.PdfSignatureMetadata(
            field_name=FIELD_NAME, md_algorithm="sha256",
            subfilter=fields.SigSeedSubFilter.PADES,
            name=agency.name, location=agency.place or None,
            reason=reason or "Phát hành kết quả giải quyết thủ tục hành chính",
            embed_validation_info=long_term,
            validation_context=self.validation_context() if long_term else None,
            use_pades_lta=level == "B-LTA")
        pdf_signer = _PinnedTimeSigner(
            meta, signer=agency.signer, timestamper=self.timestamper,
            stamp_style=NoOpStampStyle(),
            new_field_spec=fields.SigFieldSpec(FIELD_NAME, on_page=page, box=box),
            signing_time=signing_time)
        try:
            out = self._sign_reserving(agency, pdf_signer, pdf, self._reserve(agency))
        except SigningError as e:
            if "larger than expected" not in str(e):
                raise
            # the TSA's token grew (a longer chain, say): once more with ample room
            out = self._sign_reserving(agency, pdf_signer, pdf, 4 * self._reserve(agency))
        except (TimestampRequestError, TimestampUnavailable) as e:
            raise TimestampUnavailable(str(e)) from e
        return SignedPdf(out.getvalue(), level, agency.subject, signing_time)

    def _reserve(self, agency: AgencySigner) -> int:
        """Hex digits to reserve for the signature container: its certificates, the largest
        timestamp token seen, and the rest, with a quarter to spare. A tight reserve keeps
        documents small and quick to verify (every digit is parsed)."""
        token = getattr(self.timestamper, "largest", 0) or TOKEN_GUESS
        size = (agency.chain_size + token + CMS_OVERHEAD) * 5 // 4
        return 2 * (size + 1023) // 1024 * 1024

    @staticmethod
    def _sign_reserving(agency: AgencySigner, pdf_signer: signers.PdfSigner, pdf: bytes,
                        reserve: int) -> io.BytesIO:
        writer = IncrementalPdfFileWriter(io.BytesIO(pdf))
        try:
            if agency._token is not None:
                with agency._token.lock:
                    return pdf_signer.sign_pdf(writer, bytes_reserved=reserve)
            return pdf_signer.sign_pdf(writer, bytes_reserved=reserve)
        except SigningError as e:
            if isinstance(e.__cause__, (TimestampRequestError, TimestampUnavailable)):
                raise TimestampUnavailable(str(e.__cause__)) from e
            raise

    def close(self) -> None:
        if isinstance(self.timestamper, KeptAliveTimeStamper):
            self.timestamper.client.close()
        for agency in self.agencies.values():
            if agency._token is not None:
                agency._token.session.close()


def _read(load: Any, path: Path, what: str) -> Any:
    """Load a file the configuration names; a missing or unreadable one stops the start-up
    with its name, not a traceback."""
    try:
        return load(str(path))
    except SigningSetupError:
        raise
    except (OSError, ValueError, TypeError) as e:
        raise SigningSetupError(f"signing configuration: {what} {path}: "
                                f"{type(e).__name__}: {e}") from e


def _seal(key: AgencyKey, development: bool) -> bytes:
    if key.seal is not None:
        try:
            return key.seal.read_bytes()
        except OSError as e:
            raise SigningSetupError(f"agency {key.code}: seal image: {e}") from e
    if not development:
        raise SigningSetupError(f"agency {key.code}: 'seal' (PNG of the agency's seal, "
                                "Decree 30/2020) is missing")
    from service.seals import development_seal

    return development_seal(key.name)
