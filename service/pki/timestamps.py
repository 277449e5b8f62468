"""Time-stamping (RFC 3161): the authority's client over one kept-alive connection, and an
in-process authority for the development set-up and benchmarks."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
from asn1crypto import cms, core, keys, tsp, x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding
from pyhanko.sign import timestamps
from pyhanko.sign.general import (
    as_signing_certificate,
    load_cert_from_pemder,
    simple_cms_attribute,
)
from pyhanko.sign.timestamps.common_utils import set_tsp_headers
from pyhanko.sign.timestamps.dummy_client import DummyTimeStamper
from pyhanko_certvalidator.registry import SimpleCertificateStore


class TimestampUnavailable(Exception):
    """The time-stamping authority did not answer in time or answered garbage."""


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


