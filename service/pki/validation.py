"""Verifying signed PDFs: anyone's upload, or a document tokhai issued.

The report answers what a person checking a result asks: are the bytes intact, who signed,
does the chain reach a trust anchor we configured, was the certificate revoked, when was it
signed (and is there a trusted timestamp), which PAdES level does it reach, was anything
changed after signing and how, and, for a document tokhai issued, are these the very bytes we
issued. A document signed with the development key is reported as not legally valid.

Revocation is judged from the data embedded in the document (its Document Security Store);
nothing is fetched while verifying, so a verification takes the same time whether or not the
CA's responders are up, and checks what the document will carry for as long as it is kept.

Anyone may upload, so the reading is bounded (``service/pki/pdflimits.py``): a proper trailer, the
numbers of objects, revisions and signature fields, inflation per stream and in all, and the
parse itself (:func:`analyse`) runs in a child process under a CPU-time and memory budget. The
lookup of the original (the database) stays in the calling process.
"""

from __future__ import annotations

import hashlib
import io
import itertools
import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from asn1crypto import x509
from pyhanko.pdf_utils.generic import NameObject
from pyhanko.pdf_utils.misc import PdfDecodeLimitError
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.diff_analysis import ModificationLevel
from pyhanko.sign.fields import enumerate_sig_fields
from pyhanko.sign.validation import validate_pdf_signature, validate_pdf_timestamp
from pyhanko.sign.validation.dss import DocumentSecurityStore
from pyhanko.sign.validation.status import SignatureCoverageLevel
from pyhanko_certvalidator import ValidationContext

from forms.results import DATA_FILE
from service.pki import pdflimits
from service.pki.pdflimits import PdfLimits, PdfRefused
from service.worktime import VIETNAM

log = logging.getLogger("tokhai")


#: the upload cannot be verified at all (not a PDF, encrypted, over a limit, no signature)
VerificationRefused = PdfRefused
#: the data file tokhai embeds is a few KiB
MAX_DATA_BYTES = 1024 * 1024


@dataclass(frozen=True)
class Trust:
    anchors: tuple[x509.Certificate, ...]
    intermediates: tuple[x509.Certificate, ...] = ()
    #: anchors of development setups: a chain ending there is never legally valid
    development_anchors: tuple[x509.Certificate, ...] = ()

    def __reduce__(self) -> tuple[Any, ...]:
        """Pickled as DER: an unpickled asn1crypto object is unusable in a process that has
        not built one of its class yet (the sandbox's children)."""
        return _trust_from_der, tuple(tuple(c.dump() for c in certs) for certs in (
            self.anchors, self.intermediates, self.development_anchors))


def _trust_from_der(*groups: tuple[bytes, ...]) -> Trust:
    anchors, intermediates, development = (
        tuple(x509.Certificate.load(der) for der in group) for group in groups)
    return Trust(anchors, intermediates, development)


@dataclass(frozen=True)
class Original:
    """What tokhai recorded when it issued a document."""

    document_id: str
    sha256: str


CHANGES = {
    ModificationLevel.NONE: "none",
    ModificationLevel.LTA_UPDATES: "validation_data",
    ModificationLevel.FORM_FILLING: "form_filling",
    ModificationLevel.ANNOTATIONS: "annotations",
    ModificationLevel.OTHER: "other_edits",
}
#: changes after signing that leave the signed content as it was: validation data (the DSS
#: of B-LT) and new signatures or document timestamps
HARMLESS = {"none", "validation_data", "new_signatures"}
PROBLEMS = {
    "not_intact": ("Nội dung đã bị thay đổi sau khi ký: chữ ký không còn khớp.",
                   "The signed bytes were changed: the signature does not match."),
    "invalid_signature": ("Chữ ký số không hợp lệ.", "The signature is not valid."),
    "untrusted": ("Chứng thư số không thuộc tổ chức chứng thực được tin cậy.",
                  "The certificate does not chain to a trusted anchor."),
    "revoked": ("Chứng thư số đã bị thu hồi.", "The signer's certificate is revoked."),
    "revocation_unknown": ("Không có dữ liệu kiểm tra thu hồi chứng thư trong tài liệu.",
                           "The document carries no revocation data for the certificate."),
    "no_timestamp": ("Chữ ký không có dấu thời gian tin cậy.",
                     "The signature has no trusted timestamp."),
    "modified_after_signing": ("Tài liệu đã bị sửa sau khi ký.",
                               "The document was edited after it was signed."),
    "development_key": ("Ký bằng khóa phát triển: không có giá trị pháp lý.",
                        "Signed with a development key: not legally valid."),
    "not_the_original": ("Tệp không trùng với bản gốc do hệ thống phát hành.",
                         "These bytes are not the original tokhai issued."),
    "unknown_document": ("Mã tài liệu không có trong hệ thống.",
                         "The document id is not one tokhai issued."),
}


#: problems that leave a signature valid ...
NOT_INVALIDATING = {"development_key", "unknown_document", "no_timestamp", "revocation_unknown"}
#: ... but these keep it from being legally valid
NOT_LEGALLY_VALID = {"development_key", "revocation_unknown", "no_timestamp"}


def _problem(code: str) -> dict[str, str]:
    message, message_en = PROBLEMS[code]
    return {"code": code, "message": message, "message_en": message_en}


def _iso(moment: datetime | None) -> str | None:
    return moment.astimezone(VIETNAM).isoformat(timespec="seconds") if moment else None


def _name(cert: x509.Certificate) -> dict[str, Any]:
    subject = cert.subject.native
    return {"common_name": subject.get("common_name"),
            "organisation": subject.get("organization_name"),
            "subject": cert.subject.human_friendly, "issuer": cert.issuer.human_friendly,
            "serial_number": format(cert.serial_number, "x"),
            "valid_from": _iso(cert["tbs_certificate"]["validity"]["not_before"].native),
            "valid_to": _iso(cert["tbs_certificate"]["validity"]["not_after"].native)}


def open_pdf(data: bytes, max_pages: int,
             limits: PdfLimits | None = None) -> tuple[PdfFileReader, int]:
    """The reader and the page count, or a refusal; the structure is checked against
    ``limits`` before any signature is looked at."""
    limits = limits or PdfLimits()
    if not data.startswith(b"%PDF-"):
        raise VerificationRefused("not_a_pdf", "Tệp không phải là PDF.", "Not a PDF file.")
    pdflimits.check_trailer(data)
    try:
        reader = PdfFileReader(io.BytesIO(data), strict=False,
                               decode_limits=limits.decode_limits())
        if reader.encrypted:
            raise VerificationRefused("encrypted_pdf", "Tệp PDF bị mã hóa; không kiểm tra được.",
                                      "The PDF is encrypted.")
        _check_structure(reader, limits)
        pages = int(reader.root["/Pages"]["/Count"])
    except VerificationRefused:
        raise
    except PdfDecodeLimitError:
        raise pdflimits.too_large(limits) from None
    except Exception as e:  # noqa: BLE001 - any damage in an upload's structure
        raise pdflimits.unreadable(type(e).__name__) from e
    if pages > max_pages:
        raise VerificationRefused("too_many_pages",
                                  f"Tệp có {pages} trang, quá giới hạn {max_pages} trang.",
                                  f"{pages} pages; at most {max_pages} are verified.")
    return reader, pages


def _check_structure(reader: PdfFileReader, limits: PdfLimits) -> None:
    """Objects, revisions and signature fields within the limits: every signature field is a
    validation, and every validation compares each later revision with its own."""
    xrefs = reader.xrefs
    revisions = xrefs.total_revisions
    if revisions > limits.max_revisions:
        raise pdflimits.too_many("phiên bản (lần cập nhật)", "revisions",
                                 limits.max_revisions)
    objects = sum(len(xrefs.explicit_refs_in_revision(r)) for r in range(revisions))
    if objects > limits.max_objects:
        raise pdflimits.too_many("đối tượng", "objects", limits.max_objects)
    fields = sum(1 for _ in itertools.islice(enumerate_sig_fields(reader),
                                             limits.max_signatures + 1))
    if fields > limits.max_signatures:
        raise pdflimits.too_many("trường chữ ký", "signatures", limits.max_signatures)


def embedded_data(reader: PdfFileReader) -> dict[str, Any] | None:
    """The structured result data tokhai embeds (``ket-qua.json``), if present."""
    try:
        names = reader.root["/Names"]["/EmbeddedFiles"]["/Names"]
        for i in range(0, len(names), 2):
            if str(names[i]) == DATA_FILE:
                spec = names[i + 1]
                data = spec["/EF"]["/F"].data
                if len(data) > MAX_DATA_BYTES:
                    return None
                value = json.loads(data)
                return value if isinstance(value, dict) else None
    except PdfDecodeLimitError:
        raise
    except Exception:  # noqa: BLE001 - damaged or not ours: there is no data to read
        return None
    return None


def verify(data: bytes, trust: Trust, *, max_pages: int,
           original: Callable[[str | None, str], Original | None],
           limits: PdfLimits | None = None) -> dict[str, Any]:
    """The report for ``data``. ``original(document_id, sha256)`` finds what tokhai issued,
    by the id embedded in the document or by the bytes' hash. The document is read by
    :func:`analyse` in the sandbox, under ``limits``."""
    limits = limits or PdfLimits()
    analysis = pdflimits.run(analyse, data, trust, max_pages, limits, limits=limits)
    for error in analysis["errors"]:
        log.info("signature could not be validated", extra={"error": error})
    return _conclude(analysis, original)


def analyse(data: bytes, trust: Trust, max_pages: int, limits: PdfLimits) -> dict[str, Any]:
    """Everything about ``data`` that needs no database: the signatures' reports, the page
    count, the hash and the document id tokhai embedded (run in the sandbox)."""
    reader, pages = open_pdf(data, max_pages, limits)
    try:
        return _analyse(reader, data, pages, trust)
    except PdfDecodeLimitError:
        raise pdflimits.too_large(limits) from None


def _analyse(reader: PdfFileReader, data: bytes, pages: int, trust: Trust) -> dict[str, Any]:
    try:
        signatures = reader.embedded_regular_signatures
        dss = DocumentSecurityStore.read_dss(reader) if "/DSS" in reader.root else None
        timestamps = reader.embedded_timestamp_signatures
    except PdfDecodeLimitError:
        raise
    except Exception as e:  # noqa: BLE001 - any damage in an upload's structure
        raise pdflimits.unreadable(type(e).__name__) from e
    if not signatures:
        raise VerificationRefused("no_signature", "Tệp PDF không có chữ ký số.",
                                  "The PDF carries no signature.")
    only_signature_fields = _only_signature_fields(reader)
    reports, errors = [], []
    for sig in signatures:
        later = any(other.signed_revision > sig.signed_revision
                    for other in [*signatures, *timestamps])
        try:
            reports.append(_signature(sig, trust, dss, timestamps,
                                      later_signatures=later,
                                      only_signature_fields=only_signature_fields))
        except PdfDecodeLimitError:
            raise
        except Exception as e:  # noqa: BLE001 - a damaged signature is an invalid one
            errors.append(repr(e)[:300])
            reports.append(_broken(sig, e))
    payload = embedded_data(reader)
    document_id = payload.get("document_id") if payload else None
    return {"sha256": hashlib.sha256(data).hexdigest(), "pages": pages, "reports": reports,
            "errors": errors, "document_id": document_id}


def _conclude(analysis: dict[str, Any],
              original: Callable[[str | None, str], Original | None]) -> dict[str, Any]:
    """The report, with what tokhai issued."""
    sha256, pages, reports = analysis["sha256"], analysis["pages"], analysis["reports"]
    document_id = analysis["document_id"]
    found = original(document_id if isinstance(document_id, str) else None, sha256)
    problems = [p for r in reports for p in r["problems"]]
    if found is not None and found.sha256 != sha256:
        problems.append(_problem("not_the_original"))
    elif found is None and isinstance(document_id, str):
        problems.append(_problem("unknown_document"))
    codes = {p["code"] for p in problems}
    valid = not codes - NOT_INVALIDATING
    return {
        "valid": valid,
        "legally_valid": valid and not codes & NOT_LEGALLY_VALID,
        "sha256": sha256, "pages": pages,
        "issued_by_tokhai": found is not None,
        "document_id": found.document_id if found else document_id,
        "matches_original": (found.sha256 == sha256) if found else None,
        "signatures": reports,
        "problems": _unique(problems),
    }


def _broken(sig: Any, error: Exception) -> dict[str, Any]:
    """The report of a signature too damaged to validate."""
    problem = _problem("invalid_signature")
    problem["message_en"] += f" ({type(error).__name__})"
    try:
        field = None if sig.field_name is None else str(sig.field_name)
    except Exception:  # noqa: BLE001
        field = None
    return {"field": field, "intact": False, "valid": False, "signer": None, "trusted": False,
            "trust_anchor": None, "development": False, "revocation": "unknown",
            "signing_time": None, "timestamp": None, "level": None, "covers": "partial",
            "changes_after_signing": "other_edits", "problems": [problem]}


def _unique(problems: list[dict[str, str]]) -> list[dict[str, str]]:
    seen: dict[str, dict[str, str]] = {}
    for p in problems:
        seen.setdefault(p["code"], p)
    return list(seen.values())


def _context(trust: Trust, dss: DocumentSecurityStore | None, mode: str) -> ValidationContext:
    kwargs: dict[str, Any] = {
        "trust_roots": list(trust.anchors + trust.development_anchors),
        "other_certs": list(trust.intermediates), "allow_fetching": False,
        "revocation_mode": mode}
    return dss.as_validation_context(kwargs) if dss else ValidationContext(**kwargs)


def _only_signature_fields(reader: PdfFileReader) -> bool:
    """Whether every form field is a signature field (then "form filling" after a signature
    can only have been signing)."""
    try:
        fields = reader.root["/AcroForm"]["/Fields"]
        return all(f.get_object().get("/FT") == "/Sig" for f in fields)
    except Exception:  # noqa: BLE001 - no form, or a damaged one: do not assume
        return False


def _signature(sig: Any, trust: Trust, dss: DocumentSecurityStore | None,
               timestamps: list[Any], *, later_signatures: bool,
               only_signature_fields: bool) -> dict[str, Any]:
    # with the document's own revocation data and nothing fetched: "hard-fail" succeeds
    # only when the document proves the certificates were not revoked
    if dss is None:
        status = validate_pdf_signature(sig, _context(trust, None, "soft-fail"))
        revocation = "revoked" if status.revoked else "unknown"
    else:
        status = validate_pdf_signature(sig, _context(trust, dss, "hard-fail"))
        revocation = "good"
        if status.revoked:
            revocation = "revoked"
        elif not status.trusted:
            soft = validate_pdf_signature(sig, _context(trust, dss, "soft-fail"),
                                          skip_diff=True)
            if soft.trusted:
                status = _with_diff(soft, status)
                revocation = "unknown"
    problems = []
    if not status.intact:
        problems.append(_problem("not_intact"))
    elif not status.valid:
        problems.append(_problem("invalid_signature"))
    if status.revoked:
        problems.append(_problem("revoked"))
    elif not status.trusted:
        problems.append(_problem("untrusted"))
        revocation = "unknown"
    elif revocation == "unknown":
        problems.append(_problem("revocation_unknown"))
    anchor = _anchor(status)
    development = anchor is not None and any(
        anchor.sha256 == a.sha256 for a in trust.development_anchors)
    if development:
        problems.append(_problem("development_key"))
    ts = status.timestamp_validity
    timestamp = None
    if ts is not None:
        timestamp = {"time": _iso(ts.timestamp), "valid": bool(ts.intact and ts.valid),
                     "trusted": bool(ts.trusted),
                     "authority": ts.signing_cert.subject.human_friendly
                     if ts.signing_cert else None}
    if timestamp is None or not (timestamp["valid"] and timestamp["trusted"]):
        problems.append(_problem("no_timestamp"))
    changes = _changes(status, later_signatures, only_signature_fields)
    if changes not in HARMLESS:
        problems.append(_problem("modified_after_signing"))
    return {
        "field": str(sig.field_name), "intact": bool(status.intact), "valid": bool(status.valid),
        "signer": _name(status.signing_cert) if status.signing_cert else None,
        "trusted": bool(status.trusted),
        "trust_anchor": anchor.subject.human_friendly if anchor else None,
        "development": development, "revocation": revocation,
        "signing_time": _iso(status.signer_reported_dt), "timestamp": timestamp,
        "level": _level(sig, status, dss, revocation, timestamps, trust),
        "covers": _coverage(status), "changes_after_signing": changes,
        "problems": problems,
    }


def _with_diff(soft: Any, hard: Any) -> Any:
    """The soft-fail status, with the difference analysis of the first validation."""
    soft.modification_level = hard.modification_level
    soft.docmdp_ok = hard.docmdp_ok
    return soft


def _anchor(status: Any) -> x509.Certificate | None:
    path = getattr(status, "validation_path", None)
    if path is None:
        return None
    root = path.trust_anchor
    return getattr(root, "certificate", None)


def _coverage(status: Any) -> str:
    return {SignatureCoverageLevel.ENTIRE_FILE: "entire_file",
            SignatureCoverageLevel.ENTIRE_REVISION: "entire_revision"}.get(
        status.coverage, "partial")


def _changes(status: Any, later_signatures: bool, only_signature_fields: bool) -> str:
    """What was appended after the signature: nothing, validation data (a DSS), new
    signatures or document timestamps, form filling, annotations, or other edits."""
    if status.coverage == SignatureCoverageLevel.ENTIRE_FILE:
        return "none"
    if status.coverage != SignatureCoverageLevel.ENTIRE_REVISION:
        return "other_edits"
    if status.docmdp_ok is False:
        return "other_edits"
    changes = CHANGES.get(status.modification_level, "other_edits")
    if later_signatures and (changes == "validation_data" or (
            changes == "form_filling" and only_signature_fields)):
        return "new_signatures"
    return changes


def _level(sig: Any, status: Any, dss: DocumentSecurityStore | None, revocation: str,
           timestamps: list[Any], trust: Trust) -> str | None:
    """The PAdES baseline level the signature reaches (ETSI EN 319 142-1)."""
    if not (status.intact and status.valid):
        return None
    if sig.sig_object.get("/SubFilter") != NameObject("/ETSI.CAdES.detached"):
        return "PKCS7"  # a PDF signature, but not PAdES
    level = "B-B"
    ts = status.timestamp_validity
    if not (ts is not None and ts.intact and ts.valid and ts.trusted):
        return level
    level = "B-T"
    if dss is None or revocation != "good":
        return level
    level = "B-LT"
    later = [t for t in timestamps if t.signed_revision > sig.signed_revision]
    for t in later:
        ts_status = validate_pdf_timestamp(t, _context(trust, dss, "soft-fail"))
        if ts_status.intact and ts_status.valid and ts_status.trusted:
            return "B-LTA"
    return level


def trust_of(signing: Any) -> Trust:
    """The trust settings of a signing configuration: its anchors (all of them development
    anchors when the configuration is a development one)."""
    if signing is None:
        return Trust(())
    anchors = tuple(signing.anchors)
    if signing.config.development:
        return Trust((), tuple(signing.intermediates), anchors)
    return Trust(anchors, tuple(signing.intermediates))
