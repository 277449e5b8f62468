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
adds a document timestamp over all of it. The revocation data comes from the OCSP responders
and CRL distribution points the certificates name; when none of them answers, nothing is signed
(:class:`RevocationUnavailable`). The development set-up's CA answers in-process
(service.pki.devpki), at the URLs its certificates name.
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
from pyhanko_certvalidator.errors import InsufficientRevinfoError
from pyhanko_certvalidator.fetchers.api import Fetchers
from pyhanko_certvalidator.fetchers.requests_fetchers import RequestsFetcherBackend
from pyhanko_certvalidator.fetchers.requests_fetchers.crl_client import RequestsCRLFetcher
from pyhanko_certvalidator.fetchers.requests_fetchers.ocsp_client import RequestsOCSPFetcher

from service.errors import Unavailable
from service.pki import devpki
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


class RevocationUnavailable(Unavailable):
    """No OCSP responder or CRL distribution point named by the certificates answered: a
    B-LT or B-LTA signature cannot prove the certificates were not revoked, so none is made."""

    def __init__(self, detail: str) -> None:
        super().__init__(
            "revocation_unavailable",
            "Không lấy được dữ liệu kiểm tra thu hồi chứng thư số (OCSP/CRL) từ tổ chức chứng "
            "thực; văn bản chưa được phát hành, hồ sơ giữ nguyên trạng thái. Hãy thử lại sau.",
            f"The certificate authority's OCSP responder and CRL distribution points did not "
            f"answer ({detail}); nothing was issued and the dossier is unchanged. Retry "
            "later.", retry_after=60)


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
        #: the development CA's OCSP responder and CRL (None outside development, or for a
        #: development set-up made before its certificates named them)
        self.responder = (devpki.DevelopmentResponder.load(config.path.parent)
                          if config.development else None)

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
        its fetchers cached) for ``REVOCATION_REFRESH`` seconds, then built afresh (at once
        after a signature it could not serve: its fetchers keep failures too)."""
        with self._revocation_lock:
            now = time.monotonic()
            if self._revocation is None or now - self._revocation[0] > REVOCATION_REFRESH:
                timeout = int(max(1, self.config.tsa_timeout))
                if self.responder is not None:
                    context = ValidationContext(
                        trust_roots=self.anchors, other_certs=self.intermediates,
                        allow_fetching=True, revocation_mode="hard-fail",
                        fetchers=_development_fetchers(self.responder, timeout))
                else:
                    context = ValidationContext(
                        trust_roots=self.anchors, other_certs=self.intermediates,
                        crls=self.crls, allow_fetching=not self.config.development,
                        revocation_mode="hard-fail",
                        fetcher_backend=RequestsFetcherBackend(per_request_timeout=timeout))
                self._revocation = (now, context)
            return self._revocation[1]

    def _forget_revocation(self) -> None:
        with self._revocation_lock:
            self._revocation = None

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
        except RevocationUnavailable:
            self._forget_revocation()
            raise
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
            if isinstance(e.__cause__, InsufficientRevinfoError):
                raise RevocationUnavailable(str(e.__cause__)[:300]) from e
            raise

    def close(self) -> None:
        if isinstance(self.timestamper, KeptAliveTimeStamper):
            self.timestamper.client.close()
        for agency in self.agencies.values():
            if agency._token is not None:
                agency._token.session.close()


# -- the development CA, answered in-process -------------------------------------------------

class _Answer:
    """What pyHanko's fetchers read of an HTTP response."""

    status_code = 200

    def __init__(self, content: bytes) -> None:
        self.content = content


class _DevelopmentOCSPFetcher(RequestsOCSPFetcher):
    """Asks the development CA's responder in-process: the URL its certificates name is
    the service's own, which may not be listening yet (``tokhai dev-setup``, the tests)."""

    def __init__(self, responder: devpki.DevelopmentResponder, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.responder = responder

    async def _post(self, url: str, data: bytes, **kwargs: Any) -> _Answer:  # type: ignore[override]
        # pyHanko's requests fetchers post through this method (pinned version)
        return _Answer(self.responder.answer(url, data))


class _DevelopmentCRLFetcher(RequestsCRLFetcher):
    def __init__(self, responder: devpki.DevelopmentResponder, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.responder = responder

    async def _get(self, url: str, **kwargs: Any) -> _Answer:  # type: ignore[override]
        return _Answer(self.responder.answer(url, None))


def _development_fetchers(responder: devpki.DevelopmentResponder, timeout: int) -> Fetchers:
    """Fetchers for the development CA: OCSP and CRLs answered in-process, nothing fetched
    from the network (anything but the CA's own URLs fails)."""
    backend = RequestsFetcherBackend(per_request_timeout=timeout).get_fetchers()
    return Fetchers(ocsp_fetcher=_DevelopmentOCSPFetcher(responder, per_request_timeout=timeout),
                    crl_fetcher=_DevelopmentCRLFetcher(responder, per_request_timeout=timeout),
                    cert_fetcher=backend.cert_fetcher)
