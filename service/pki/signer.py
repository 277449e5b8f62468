"""PAdES signatures on results (pyHanko), with each agency's key.

Every agency signs its results with its own key (service.pki.config: a PKCS#12 file or a key on
a PKCS#11 token, described in a YAML file and loaded once, at start-up, so a wrong password or
PIN stops the service with a message naming the agency instead of failing at the first
issuance); the signature timestamp comes from the authority in service.pki.timestamps.

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
import threading
import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.sign import fields, signers, timestamps
from pyhanko.sign.general import (
    SigningError,
    load_cert_from_pemder,
    load_certs_from_pemder,
)
from pyhanko.sign.timestamps.common_utils import TimestampRequestError
from pyhanko.stamp import NoOpStampStyle
from pyhanko_certvalidator import ValidationContext
from pyhanko_certvalidator.fetchers.requests_fetchers import RequestsFetcherBackend

from service.pki.config import (
    AgencyKey,
    SigningConfig,
    SigningSetupError,
    TokenSigner,
    load_pkcs12,
    read_file,
    seal_image,
)
from service.pki.levels import LEVELS
from service.pki.timestamps import KeptAliveTimeStamper, LocalTimeStamper, TimestampUnavailable

FIELD_NAME = "ChuKyCoQuan"
#: room for the CMS container beyond the certificates and the timestamp token: signed
#: attributes, the signature value, structure (bytes)
CMS_OVERHEAD = 3072
#: a timestamp token's size before the TSA has answered once (bytes)
TOKEN_GUESS = 6144
#: how long fetched OCSP responses and CRLs are reused for B-LT embedding (seconds)
REVOCATION_REFRESH = 600.0


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
        self.anchors = [read_file(load_cert_from_pemder, p, "trust anchor")
                        for p in config.trust_anchors]
        self.intermediates = [c for p in config.intermediates
                              for c in read_file(lambda f: list(load_certs_from_pemder([f])), p,
                                             "intermediate certificate")]
        self.crls = [read_file(lambda f: Path(f).read_bytes(), p, "CRL") for p in config.crls]
        self.timestamper = read_file(lambda _: self._timestamper(), config.path, "TSA")
        self.agencies: dict[str, AgencySigner] = {}
        for code, key in config.agencies.items():
            signer: signers.Signer | TokenSigner = (
                load_pkcs12(key, self.intermediates) if key.pkcs12
                else TokenSigner(key, self.intermediates))
            seal = seal_image(key, config.development)
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
