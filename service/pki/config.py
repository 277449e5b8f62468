"""The signing configuration (``TOKHAI_SIGNING_CONFIG``, format in docs/signing.md) and the
agencies' keys it names: PKCS#12 files whose password comes from an environment variable or a
secret file, or keys on a PKCS#11 token (an HSM; SoftHSM2 in tests). A key that cannot be
opened raises :class:`SigningSetupError` naming the agency, so the service does not start.
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from asn1crypto import keys, x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from pyhanko.sign import signers
from pyhanko.sign.general import (
    SigningError,
    load_cert_from_pemder,
)
from pyhanko_certvalidator.registry import SimpleCertificateStore

from service.pki.levels import LEVELS


class SigningSetupError(Exception):
    """The signing configuration cannot be used; the message names the agency and the
    problem, and the service does not start."""


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

        def path_of(value: Any) -> Path:
            return (base / str(value)).resolve()

        def file(value: Any) -> Path | None:
            return None if value in (None, "") else path_of(value)

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
            trust_anchors=tuple(path_of(p) for p in raw.get("trust_anchors", [])),
            intermediates=tuple(path_of(p) for p in raw.get("intermediates", [])),
            level=level, tsa_url=tsa.get("url"), tsa_timeout=float(tsa.get("timeout", 5)),
            public_url=str(raw.get("public_url", "http://127.0.0.1:5000")).rstrip("/"),
            development=bool(raw.get("development", False)),
            dev_tsa_key=file(tsa.get("development_key")),
            dev_tsa_cert=file(tsa.get("development_cert")),
            crls=tuple(path_of(p) for p in raw.get("crls", [])))


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


def load_pkcs12(agency: AgencyKey, extra_certs: list[x509.Certificate]) -> signers.Signer:
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


def read_file(load: Any, path: Path, what: str) -> Any:
    """Load a file the configuration names; a missing or unreadable one stops the start-up
    with its name, not a traceback."""
    try:
        return load(str(path))
    except SigningSetupError:
        raise
    except (OSError, ValueError, TypeError) as e:
        raise SigningSetupError(f"signing configuration: {what} {path}: "
                                f"{type(e).__name__}: {e}") from e


def seal_image(key: AgencyKey, development: bool) -> bytes:
    if key.seal is not None:
        try:
            return key.seal.read_bytes()
        except OSError as e:
            raise SigningSetupError(f"agency {key.code}: seal image: {e}") from e
    if not development:
        raise SigningSetupError(f"agency {key.code}: 'seal' (PNG of the agency's seal, "
                                "Decree 30/2020) is missing")
    from service.pki.seals import development_seal

    return development_seal(key.name)
