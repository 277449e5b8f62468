"""The development PKI that ``make run`` (``tokhai dev-setup``) creates.

A root CA named as a development CA, an in-process time-stamping authority, a CRL, and one
key per demo agency in a PKCS#12 file whose password sits in a secret file beside it. The
signing configuration written with it says ``development: true``: the visible stamp says the
document is a test, and verification reports it as not legally valid. None of it is fit for
production, and its names say so.
"""

from __future__ import annotations

import secrets
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import yaml
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from service.pki.seals import development_seal

DEV_LABEL = "DEVELOPMENT - KHÔNG CÓ GIÁ TRỊ PHÁP LÝ"


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
          years: int = 10) -> x509.Certificate:
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
    (directory / "root.pem").write_bytes(_pem(root))
    tsa_key = _key()
    tsa = _cert(_name("tokhai Development TSA"), tsa_key, root_name, root_key, ca=False,
                eku=[ExtendedKeyUsageOID.TIME_STAMPING])
    (directory / "tsa.pem").write_bytes(_pem(tsa))
    _write_secret(directory / "tsa.key.pem", tsa_key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption()))
    now = datetime.now(UTC) - timedelta(minutes=5)
    crl = (x509.CertificateRevocationListBuilder().issuer_name(root_name)
           .last_update(now).next_update(now + timedelta(days=365))
           .add_extension(x509.CRLNumber(1), critical=False)
           .sign(root_key, hashes.SHA256()))
    (directory / "root.crl").write_bytes(crl.public_bytes(serialization.Encoding.DER))
    entries = {}
    for code, (name, place) in agencies.items():
        key = _key()
        subject = x509.Name([
            x509.NameAttribute(NameOID.COUNTRY_NAME, "VN"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, _fit(name)),
            x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, DEV_LABEL),
            x509.NameAttribute(NameOID.COMMON_NAME, _fit(name))])
        cert = _cert(subject, key, root_name, root_key, ca=False, years=5)
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
    path = directory / "signing.yaml"
    path.write_text("# Development signing keys, made by `tokhai dev-setup`: NOT LEGALLY VALID.\n"
                    + yaml.safe_dump(config, allow_unicode=True, sort_keys=False),
                    encoding="utf-8")
    return path


def _write_secret(path: Path, data: bytes) -> None:
    path.write_bytes(data)
    path.chmod(0o600)
