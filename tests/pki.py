"""A test PKI built with certomancer and served on loopback.

Root and intermediate CA, one signer per test agency (and a revoked one), a time-stamping
authority, an OCSP responder for the intermediate and CRLs for both CAs; beside it an unrelated
"rogue" root with its own signer, which no tokhai configuration trusts. Keys are generated
afresh for every test session, so nothing here is a secret and nothing reaches the network.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from certomancer.integrations.animator import Animator, AnimatorArchStore
from certomancer.registry import ArchLabel, CertLabel, CertomancerConfig, PKIArchitecture
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from werkzeug.serving import WSGIRequestHandler, make_server

from service.pki.seals import development_seal

#: agency code -> (the agency's name, the label of its key and certificate)
AGENCIES = {
    "UBND-XA-00004": ("Ủy ban nhân dân xã thử nghiệm số 4", "signer-a"),
    "UBND-XA-00005": ("Ủy ban nhân dân xã thử nghiệm số 5", "signer-b"),
    "CA-HN": ("Công an thành phố Hà Nội (thử nghiệm)", "signer-c"),
}
KEYS = ["root", "interm", "interm-ocsp", "tsa", "signer-a", "signer-b", "signer-c",
        "signer-revoked", "rogue-root", "rogue-signer"]
P12_PASSWORD = "mat-khau-thu-nghiem"
PASSWORD_ENV = "TOKHAI_TEST_P12_PASSWORD"

_CONFIG = """
keysets:
  test:
    keys: {keys}
pki-architectures:
  tokhai-test:
    keyset: test
    entity-defaults:
      country-name: VN
      organization-name: Tổ chức chứng thực thử nghiệm
    entities:
      root: {{common-name: Root CA thử nghiệm}}
      interm: {{common-name: Intermediate CA thử nghiệm}}
      interm-ocsp: {{common-name: OCSP thử nghiệm}}
      tsa: {{common-name: TSA thử nghiệm}}
      signer-a: {{common-name: "{agency_a}", organization-name: "{agency_a}"}}
      signer-b: {{common-name: "{agency_b}", organization-name: "{agency_b}"}}
      signer-c: {{common-name: "{agency_c}", organization-name: "{agency_c}"}}
      signer-revoked: {{common-name: Cơ quan đã bị thu hồi chứng thư}}
      rogue-root: {{common-name: Rogue root, organization-name: Not trusted}}
      rogue-signer: {{common-name: "{agency_a}", organization-name: Not trusted}}
    certs:
      root:
        subject: root
        issuer: root
        validity: {{valid-from: "2020-01-01T00:00:00+0000", valid-to: "2050-01-01T00:00:00+0000"}}
        extensions:
          - {{id: basic_constraints, critical: true, value: {{ca: true}}}}
          - id: key_usage
            critical: true
            smart-value: {{schema: key-usage, params: [digital_signature, key_cert_sign, crl_sign]}}
      interm:
        issuer: root
        validity: {{valid-from: "2020-01-01T00:00:00+0000", valid-to: "2045-01-01T00:00:00+0000"}}
        extensions:
          - {{id: basic_constraints, critical: true, value: {{ca: true, path-len-constraint: 0}}}}
          - id: key_usage
            critical: true
            smart-value: {{schema: key-usage, params: [digital_signature, key_cert_sign, crl_sign]}}
          - id: crl_distribution_points
            smart-value: {{schema: crl-dist-url, params: {{crl-repo-names: [root]}}}}
      interm-ocsp:
        issuer: interm
        validity: {{valid-from: "2020-01-01T00:00:00+0000", valid-to: "2045-01-01T00:00:00+0000"}}
        extensions:
          - id: key_usage
            critical: true
            smart-value: {{schema: key-usage, params: [digital_signature]}}
          - {{id: extended_key_usage, critical: true, value: [ocsp_signing]}}
          - id: ocsp_no_check
      tsa:
        issuer: root
        validity: {{valid-from: "2020-01-01T00:00:00+0000", valid-to: "2045-01-01T00:00:00+0000"}}
        extensions:
          - id: key_usage
            critical: true
            smart-value: {{schema: key-usage, params: [digital_signature]}}
          - {{id: extended_key_usage, critical: true, value: [time_stamping]}}
          - id: crl_distribution_points
            smart-value: {{schema: crl-dist-url, params: {{crl-repo-names: [root]}}}}
      signer-a:
        issuer: interm
        validity: {{valid-from: "2020-01-01T00:00:00+0000", valid-to: "2040-01-01T00:00:00+0000"}}
        extensions:
          - id: key_usage
            critical: true
            smart-value: {{schema: key-usage, params: [digital_signature, non_repudiation]}}
          - id: crl_distribution_points
            smart-value: {{schema: crl-dist-url, params: {{crl-repo-names: [interm]}}}}
          - id: authority_information_access
            smart-value: {{schema: aia-urls, params: {{ocsp-responder-names: [interm]}}}}
      signer-b:
        template: signer-a
        subject: signer-b
        subject-key: signer-b
      signer-c:
        template: signer-a
        subject: signer-c
        subject-key: signer-c
      signer-revoked:
        template: signer-a
        subject: signer-revoked
        subject-key: signer-revoked
        revocation: {{revoked-since: "2021-01-01T00:00:00+0000", reason: key_compromise}}
      rogue-root:
        subject: rogue-root
        issuer: rogue-root
        validity: {{valid-from: "2020-01-01T00:00:00+0000", valid-to: "2050-01-01T00:00:00+0000"}}
        extensions:
          - {{id: basic_constraints, critical: true, value: {{ca: true}}}}
          - id: key_usage
            critical: true
            smart-value: {{schema: key-usage, params: [digital_signature, key_cert_sign, crl_sign]}}
      rogue-signer:
        issuer: rogue-root
        validity: {{valid-from: "2020-01-01T00:00:00+0000", valid-to: "2040-01-01T00:00:00+0000"}}
        extensions:
          - id: key_usage
            critical: true
            smart-value: {{schema: key-usage, params: [digital_signature, non_repudiation]}}
    services:
      ocsp:
        interm: {{for-issuer: interm, responder-cert: interm-ocsp, signing-key: interm-ocsp}}
      crl-repo:
        root: {{for-issuer: root, signing-key: root, simulated-update-schedule: "P90D"}}
        interm: {{for-issuer: interm, signing-key: interm, simulated-update-schedule: "P30D"}}
      time-stamping:
        tsa: {{signing-key: tsa, signing-cert: tsa}}
"""


@dataclass
class TestPki:
    """The PKI on disk (PEM certificates, PKCS#12 bundles) and its services' URLs."""

    directory: Path
    url: str
    arch: PKIArchitecture
    server: Any
    #: parts of paths the server answers 503 for (a responder that is down)
    down: set[str] = field(default_factory=set)

    @contextlib.contextmanager
    def outage(self, *services: str) -> Iterator[None]:
        """The services named (``ocsp``, ``crls``, ``tsa``) answer 503 meanwhile."""
        parts = {f"/{service}/" for service in services}
        self.down |= parts
        try:
            yield
        finally:
            self.down -= parts

    @property
    def tsa_url(self) -> str:
        return f"{self.url}/tokhai-test/tsa/tsa"

    def cert_file(self, label: str) -> Path:
        return self.directory / f"{label}.cert.pem"

    def p12_file(self, label: str) -> Path:
        return self.directory / f"{label}.p12"

    def key_file(self, label: str) -> Path:
        return self.directory / "keys" / f"{label}.key.pem"

    def close(self) -> None:
        self.server.shutdown()


def start(directory: Path) -> TestPki:
    """Generate keys, build the PKI, write certificates and PKCS#12 bundles, serve it."""
    keys = directory / "keys"
    keys.mkdir(parents=True, exist_ok=True)
    for label in KEYS:
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        (keys / f"{label}.key.pem").write_bytes(key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption()))
    box: dict[str, Any] = {}

    def app(environ: dict, start_response: Any) -> Any:
        served = box.get("served")
        if served is not None and any(part in environ.get("PATH_INFO", "")
                                      for part in served.down):
            start_response("503 Service Unavailable", [("Content-Type", "text/plain")])
            return [b"down for the test"]
        return box["animator"](environ, start_response)

    server = make_server("127.0.0.1", 0, app, threaded=True, request_handler=_QuietHandler)
    url = f"http://127.0.0.1:{server.server_port}"
    key_config = "{" + ", ".join(f"{k}: {{path: {k}.key.pem}}" for k in KEYS) + "}"
    names = [name for name, _ in AGENCIES.values()]
    config = CertomancerConfig.from_yaml(
        _CONFIG.format(keys=key_config, agency_a=names[0], agency_b=names[1],
                       agency_c=names[2]),
        key_search_dir=str(keys), external_url_prefix=url)
    arch_label = ArchLabel("tokhai-test")
    arch = config.get_pki_arch(arch_label)
    box["animator"] = Animator(AnimatorArchStore({arch_label: arch}), with_web_ui=False)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    for label in ["root", "interm", "tsa", "signer-a", "signer-b", "signer-c",
                  "signer-revoked", "rogue-root", "rogue-signer"]:
        cert = arch.get_cert(CertLabel(label))
        (directory / f"{label}.cert.pem").write_bytes(
            b"-----BEGIN CERTIFICATE-----\n" + _b64(cert.dump()) + b"-----END CERTIFICATE-----\n")
    for label in ["signer-a", "signer-b", "signer-c", "signer-revoked", "rogue-signer"]:
        (directory / f"{label}.p12").write_bytes(
            arch.package_pkcs12(CertLabel(label), password=P12_PASSWORD.encode()))
    box["served"] = served = TestPki(directory, url, arch, server)
    return served


class _QuietHandler(WSGIRequestHandler):
    def log_request(self, *args: Any, **kwargs: Any) -> None:
        pass


def write_signing_config(served: TestPki, *, tsa_url: str | None = None,
                         level: str = "B-LT", agencies: dict[str, Any] | None = None,
                         name: str = "signing.yaml") -> Path:
    """A tokhai signing configuration: agency A and B with their PKCS#12 files (password in
    ``PASSWORD_ENV``), the loopback TSA, root and intermediate trusted."""
    import yaml

    d = served.directory
    for code, (agency_name, _) in AGENCIES.items():  # every test agency's seal, for any config
        seal = d / f"{code}-seal.png"
        if not seal.exists():
            seal.write_bytes(development_seal(agency_name))
    entries = agencies or {}
    if agencies is None:
        for code, (agency_name, label) in AGENCIES.items():
            police = agency_name.startswith("Công an")
            entries[code] = {  # what its documents print about it (docs/signing.md)
                "name": agency_name, "abbreviation": "CAHN" if police else "UBND",
                "locality": "Hà Nội" if police else "Thử Nghiệm",
                "signer": {"authority": [] if police else ["TM. ỦY BAN NHÂN DÂN",
                                                           "KT. CHỦ TỊCH"],
                           "title": "GIÁM ĐỐC" if police else "PHÓ CHỦ TỊCH",
                           "name": "Trần Thị Kiểm" if police else "Nguyễn Văn Thử"},
                "grounds": ["Căn cứ Luật Tổ chức chính quyền địa phương ngày 16 tháng 6 "
                            "năm 2025"],
                "seal": f"{code}-seal.png", "pkcs12": served.p12_file(label).name,
                "password_env": PASSWORD_ENV}
    config = {"public_url": "http://tokhai.test", "level": level,
              "tsa": {"url": tsa_url or served.tsa_url, "timeout": 2},
              "trust_anchors": [served.cert_file("root").name],
              "intermediates": [served.cert_file("interm").name],
              "agencies": entries}
    path = d / name
    path.write_text(yaml.safe_dump(config, allow_unicode=True), encoding="utf-8")
    return path


def _b64(data: bytes) -> bytes:
    import base64

    text = base64.b64encode(data)
    return b"".join(text[i:i + 64] + b"\n" for i in range(0, len(text), 64))


SOFTHSM_MODULE = "/usr/lib/softhsm/libsofthsm2.so"
TOKEN_LABEL = "tokhai-test"
TOKEN_PIN = "123456"


def softhsm_token(served: TestPki, label: str) -> Path:
    """A SoftHSM2 token holding ``label``'s key and certificate (the certificate written with
    OpenSC's pkcs11-tool). Returns the SoftHSM2 configuration file, for ``SOFTHSM2_CONF``."""
    import os
    import subprocess

    d = served.directory / "softhsm"
    (d / "tokens").mkdir(parents=True, exist_ok=True)
    conf = d / "softhsm2.conf"
    conf.write_text(f"directories.tokendir = {d / 'tokens'}\nobjectstore.backend = file\n"
                    "log.level = ERROR\n")
    env = {**os.environ, "SOFTHSM2_CONF": str(conf)}
    cert_der = served.directory / f"{label}.cert.der"
    cert_der.write_bytes(served.arch.get_cert(CertLabel(label)).dump())

    def run(*args: str) -> None:
        subprocess.run(args, env=env, check=True, capture_output=True)

    run("softhsm2-util", "--init-token", "--free", "--label", TOKEN_LABEL, "--pin", TOKEN_PIN,
        "--so-pin", "654321")
    run("softhsm2-util", "--import", str(served.key_file(label)), "--token", TOKEN_LABEL,
        "--label", label, "--id", "01", "--pin", TOKEN_PIN)
    run("pkcs11-tool", "--module", SOFTHSM_MODULE, "--token-label", TOKEN_LABEL, "--login",
        "--pin", TOKEN_PIN, "--write-object", str(cert_der), "--type", "cert", "--label", label,
        "--id", "01")
    return conf


def signed_by_revoked_key(served: TestPki, pdf: bytes) -> bytes:
    """``pdf`` signed by the key whose certificate the CA revoked, with the OCSP response
    saying so in the document security store (pyHanko's signer refuses to embed it, so it is
    added in a second revision by hand)."""
    import asyncio
    import io

    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
    from pyhanko.sign import fields, signers
    from pyhanko.sign.general import load_cert_from_pemder
    from pyhanko.sign.timestamps import HTTPTimeStamper
    from pyhanko.sign.validation.dss import DocumentSecurityStore
    from pyhanko_certvalidator.authority import AuthorityWithCert
    from pyhanko_certvalidator.fetchers.requests_fetchers import RequestsFetcherBackend

    revoked = signers.SimpleSigner.load_pkcs12(str(served.p12_file("signer-revoked")),
                                               passphrase=P12_PASSWORD.encode())
    assert revoked is not None
    signed = signers.sign_pdf(IncrementalPdfFileWriter(io.BytesIO(pdf)),
                              signers.PdfSignatureMetadata(
                                  field_name="Sig", subfilter=fields.SigSeedSubFilter.PADES),
                              signer=revoked, timestamper=HTTPTimeStamper(served.tsa_url))
    cert, interm, root = (load_cert_from_pemder(str(served.cert_file(label)))
                          for label in ("signer-revoked", "interm", "root"))
    fetchers = RequestsFetcherBackend().get_fetchers()
    ocsp = asyncio.run(fetchers.ocsp_fetcher.fetch(cert, AuthorityWithCert(interm)))
    crls = asyncio.run(fetchers.crl_fetcher.fetch(interm))
    with_dss = IncrementalPdfFileWriter(signed)
    DocumentSecurityStore.supply_dss_in_writer(with_dss, None, certs=[cert, interm, root],
                                               ocsps=[ocsp], crls=crls)
    out = io.BytesIO()
    with_dss.write(out)
    return out.getvalue()


def demo_agency_config(served: TestPki, name: str = "demo-agency.yaml",
                       tsa_url: str | None = None) -> str:
    """The test agencies' signing configuration with the development officer's agency
    (``service.records.demo.DEMO_AGENCY``, the officer of the development sign-in page)
    signing with agency A's key, for the officers' pages."""
    import yaml

    from service.records.demo import DEMO_AGENCY

    default = write_signing_config(served, name=f"default-{name}")
    entries = yaml.safe_load(default.read_text(encoding="utf-8"))["agencies"]
    entries[DEMO_AGENCY] = {**entries["UBND-XA-00004"], "name": "Ủy ban nhân dân xã Demo"}
    return str(write_signing_config(served, agencies=entries, name=name, tsa_url=tsa_url))
