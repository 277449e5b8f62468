"""The signing configuration (``TOKHAI_SIGNING_CONFIG``, format in docs/signing.md) and the
agencies' keys it names: PKCS#12 files whose password comes from an environment variable or a
secret file, or keys on a PKCS#11 token (an HSM; SoftHSM2 in tests). A key that cannot be
opened raises :class:`SigningSetupError` naming the agency, so the service does not start.
"""

from __future__ import annotations

import os
import re
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
class Signer:
    """Who signs the agency's documents, as the signer block prints it (Decree 30/2020, Annex
    I, item 7): the authority lines (``TM. ỦY BAN NHÂN DÂN``, ``KT. CHỦ TỊCH``), the title
    (``PHÓ CHỦ TỊCH``) and the full name."""

    title: str
    name: str
    authority: tuple[str, ...] = ()


@dataclass(frozen=True)
class AgencyKey:
    code: str
    name: str
    #: the agency's part of a document's symbol: "UBND" in "Số: 05/QĐ-UBND"
    abbreviation: str
    #: the place printed before the date: the commune or ward's own name ("Ba Đình")
    locality: str
    signer: Signer
    seal: Path | None
    pkcs12: Path | None = None
    password_env: str | None = None
    password_file: Path | None = None
    pkcs11: dict[str, Any] | None = None
    #: the body the agency reports to, printed above its name, if any
    parent: str | None = None
    #: the "Căn cứ …" lines of its decisions (its competence), each as printed
    grounds: tuple[str, ...] = ()
    #: the authority line of its decisions; its name in capitals by default
    decides_as: str | None = None
    #: the seal's real diameter (mm): its image is printed at that size
    seal_diameter: float = 32.0

    @property
    def place(self) -> str:
        """The locality (the signature's location)."""
        return self.locality


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
                code=str(code), name=str(entry["name"]), seal=file(entry.get("seal")),
                pkcs12=file(entry.get("pkcs12")), password_env=entry.get("password_env"),
                password_file=file(entry.get("password_file")),
                pkcs11=_token_spec(entry.get("pkcs11"), file), **_details(str(code), entry))
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


#: a symbol's agency part: capitals (Vietnamese ones too) and digits, groups joined by "-"
_ABBREVIATION = re.compile(r"[A-ZĐ0-9]+(-[A-ZĐ0-9]+)*")


def _text(code: str, entry: dict[str, Any], key: str, what: str,
          required: bool = True, within: str = "") -> str | None:
    value = entry.get(key)
    if value in (None, "") and not required:
        return None
    if not isinstance(value, str) or not value.strip() or "\n" in value.strip():
        raise SigningSetupError(f"agency {code}: '{within}{key}' is missing or not one line "
                                f"of text ({what})")
    return value.strip()


def _details(code: str, entry: dict[str, Any]) -> dict[str, Any]:
    """What the agency's documents print about it, checked: a mistake names the agency and
    the key, and the service does not start (docs/signing.md, "Keys")."""
    if "locality" not in entry and "place" in entry:
        raise SigningSetupError(
            f"agency {code}: 'place' is no longer read: give 'locality', the place printed "
            "before the date (the commune or ward's own name, e.g. 'Ba Đình', not the "
            "province; Decree 30/2020, Annex I, item 4)")
    abbreviation = _text(code, entry, "abbreviation",
                         "the agency's part of a document's symbol, e.g. 'UBND' in "
                         "'Số: 05/QĐ-UBND'")
    assert abbreviation is not None
    if not _ABBREVIATION.fullmatch(abbreviation):
        raise SigningSetupError(
            f"agency {code}: 'abbreviation' {abbreviation!r} must be capital letters and "
            "digits, groups joined by '-', with no space or '/' (Decree 30/2020, Annex I, "
            "item 3: 'Số: 05/QĐ-UBND')")
    locality = _text(code, entry, "locality", "the place printed before the date: the "
                     "commune or ward's own name, e.g. 'Ba Đình'")
    raw = entry.get("signer")
    if not isinstance(raw, dict):
        raise SigningSetupError(
            f"agency {code}: 'signer' is missing: give the signer's 'title' (e.g. 'CHỦ "
            "TỊCH'), 'name' (full name) and, if any, 'authority' (e.g. ['TM. ỦY BAN NHÂN "
            "DÂN', 'KT. CHỦ TỊCH'])")
    title = _text(code, raw, "title", "the signer's title, e.g. 'PHÓ CHỦ TỊCH'",
                  within="signer.")
    name = _text(code, raw, "name", "the signer's full name", within="signer.")
    authority = raw.get("authority") or []
    if isinstance(authority, str):
        authority = [authority]
    if not isinstance(authority, list) or not all(
            isinstance(a, str) and a.strip() for a in authority):
        raise SigningSetupError(f"agency {code}: 'signer.authority' must be a line or a list "
                                "of lines, e.g. ['TM. ỦY BAN NHÂN DÂN', 'KT. CHỦ TỊCH']")
    grounds = entry.get("grounds") or []
    if not isinstance(grounds, list) or not all(
            isinstance(g, str) and g.strip().startswith("Căn cứ") for g in grounds):
        raise SigningSetupError(f"agency {code}: 'grounds' must be a list of lines, each "
                                "starting with 'Căn cứ' (the legal grounds of its decisions)")
    diameter = entry.get("seal_diameter", 32)
    if isinstance(diameter, bool) or not isinstance(diameter, int | float) \
            or not 20 <= diameter <= 60:
        raise SigningSetupError(f"agency {code}: 'seal_diameter' must be the seal's "
                                "diameter in millimetres, between 20 and 60")
    assert title is not None and name is not None and locality is not None
    return {"abbreviation": abbreviation, "locality": locality,
            "signer": Signer(title, name, tuple(a.strip() for a in authority)),
            "parent": _text(code, entry, "parent", "the body the agency reports to",
                            required=False),
            "grounds": tuple(g.strip().rstrip(";.").strip() for g in grounds),
            "decides_as": _text(code, entry, "decides_as", "the authority line of its "
                                "decisions", required=False),
            "seal_diameter": float(diameter)}


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
