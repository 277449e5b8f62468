"""Verifying signed PDFs: anyone's upload, or a document tokhai issued.

The report answers what a person checking a result asks: are the bytes intact, who signed,
does the chain reach a trust anchor we configured, was the certificate revoked, when was it
signed (and is there a trusted timestamp), which PAdES level does it reach, was anything
changed after signing and how, and, for a document tokhai issued, are these the very bytes we
issued (or those bytes with only validation data and document timestamps added since). A
document signed with the development key is reported as not legally valid.

Verification is long-term (ETSI EN 319 102-1, as pyHanko implements it in
``ades_lta_validation``): trust and revocation are judged from the data embedded in the
document (its Document Security Store), nothing is fetched, and a document that was valid when
signed stays valid after its OCSP responses and CRLs have expired, as long as something proves
that the signature and its validation data existed while they were current. The proof, in the
order it is looked for: document timestamps (B-LTA, or a later ``ltaupdate``); tokhai's own
record of the issued bytes (their sha256 and the time it was written, supplied to pyHanko as
"proof of existence" only when the upload is those bytes, possibly extended); the revocation
data being still current; and last the signature timestamp (the chain and revocation checked as
of its time). ``docs/verification.md`` explains each and what a validator without tokhai's
record sees.

Anyone may upload, so the reading is bounded (``service/pki/pdflimits.py``): a proper trailer, the
numbers of objects, revisions and signature fields, inflation per stream and in all, and the
parse itself (:func:`analyse`) runs in a child process under a CPU-time and memory budget. The
lookup of the original (the database) stays in the calling process.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import io
import itertools
import json
import logging
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from asn1crypto import cms, x509
from asn1crypto.crl import CertificateList
from asn1crypto.ocsp import OCSPResponse
from pyhanko.pdf_utils.decode_limits import DecodePurpose
from pyhanko.pdf_utils.generic import NameObject
from pyhanko.pdf_utils.metadata import xmp_xml
from pyhanko.pdf_utils.misc import PdfDecodeLimitError
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.ades.report import AdESFailure, AdESIndeterminate, AdESPassed, AdESSubIndic
from pyhanko.sign.diff_analysis import (
    CatalogModificationRule,
    DocInfoRule,
    DSSCompareRule,
    FormUpdatingRule,
    MetadataUpdateRule,
    ModificationLevel,
    ObjectStreamRule,
    SigFieldCreationRule,
    SigFieldModificationRule,
    StandardDiffPolicy,
    SuspiciousModification,
    XrefStreamRule,
)
from pyhanko.sign.fields import enumerate_sig_fields
from pyhanko.sign.validation import generic_cms, validate_pdf_signature, validate_pdf_timestamp
from pyhanko.sign.validation.ades import AdESLTAValidationResult, ades_lta_validation
from pyhanko.sign.validation.dss import DocumentSecurityStore, NoDSSFoundError
from pyhanko.sign.validation.pdf_embedded import EmbeddedPdfSignature
from pyhanko.sign.validation.policy_decl import (
    LocalKnowledge,
    PdfSignatureValidationSpec,
    RevinfoOnlineFetchingRule,
    RevocationInfoGatheringSpec,
    SignatureValidationSpec,
)
from pyhanko.sign.validation.status import SignatureCoverageLevel
from pyhanko_certvalidator import ValidationContext
from pyhanko_certvalidator.context import CertValidationPolicySpec
from pyhanko_certvalidator.ltv.poe import KnownPOE, POEType, digest_for_poe
from pyhanko_certvalidator.ltv.types import ValidationTimingInfo
from pyhanko_certvalidator.policy_decl import (
    REQUIRE_REVINFO,
    CertRevTrustPolicy,
    FreshnessReqType,
)
from pyhanko_certvalidator.registry import SimpleTrustManager
from pyhanko_certvalidator.revinfo.archival import CRLContainer, OCSPContainer

from forms.results import DATA_FILE
from service.pki import pdflimits
from service.pki.pdflimits import PdfLimits, PdfRefused
from service.worktime import VIETNAM

log = logging.getLogger("tokhai")


#: the upload cannot be verified at all (not a PDF, encrypted, over a limit, no signature)
VerificationRefused = PdfRefused
#: the data file tokhai embeds is a few KiB
MAX_DATA_BYTES = 1024 * 1024

#: the entries of the document information dictionary a tool that extends a document rewrites
#: (pyHanko sets the modification date and adds itself to the producer with every update of a
#: document without XMP metadata)
_INFO_VOLATILE = {"/ModDate", "/Producer"}


class VolatileDocInfoRule(DocInfoRule):
    """pyHanko's /Info rule, narrowed: an update may change only the modification date and the
    producer; a changed title, author, subject... is an edit. (The DSS revision of a document
    without XMP rewrites /ModDate: signed and extended in different seconds, it used to be
    reported as an edit.)"""

    def apply(self, old: Any, new: Any) -> Any:
        def entries(resolver: Any) -> dict[str, Any]:
            ref = resolver.trailer_view.get_value_as_reference("/Info", optional=True)
            if ref is None:
                return {}
            info = resolver(ref)  # as of that revision
            return {str(k): str(info.raw_get(k)) for k in info
                    if str(k) not in _INFO_VOLATILE}

        if entries(old) != entries(new):
            return iter(())  # not whitelisted: the change shows as an edit
        return super().apply(old, new)


#: What may be appended after a signature without changing what was signed: validation data
#: (the DSS), document timestamps and further signatures, the XMP metadata pyHanko rewrites
#: with each of them (whose content :func:`_same_metadata` checks), and the modification date
#: and producer of /Info. pyHanko's default policy also lets the rest of /Info (title,
#: author...) change at that level and lets any form field be filled; tokhai's documents have
#: no field but the signatures', so both count as edits.
LTA_ONLY_POLICY = StandardDiffPolicy(
    global_rules=[
        CatalogModificationRule(),
        VolatileDocInfoRule().as_qualified(ModificationLevel.LTA_UPDATES),
        XrefStreamRule().as_qualified(ModificationLevel.LTA_UPDATES),
        ObjectStreamRule().as_qualified(ModificationLevel.LTA_UPDATES),
        DSSCompareRule().as_qualified(ModificationLevel.LTA_UPDATES),
        MetadataUpdateRule().as_qualified(ModificationLevel.LTA_UPDATES),
    ],
    form_rule=FormUpdatingRule(field_rules=[SigFieldCreationRule(),
                                            SigFieldModificationRule()]),
)


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
    #: when tokhai wrote the record: proof that these bytes existed then
    issued_at: datetime | None = None


@dataclass(frozen=True)
class Issued:
    """The issued bytes found at the start of an upload: their length and hash, and when
    tokhai recorded them (what :func:`analyse` needs of an :class:`Original`)."""

    length: int
    sha256: str
    issued_at: datetime | None


#: kinds of revision that extend an issued document without changing it
EXTENSIONS = {"validation_data", "document_timestamp"}
#: what changed after a signature, from the kinds of the revisions after it
HARMLESS = {"none", "validation_data", "document_timestamps", "new_signatures"}
PROBLEMS = {
    "not_intact": ("Nội dung đã bị thay đổi sau khi ký: chữ ký không còn khớp.",
                   "The signed bytes were changed: the signature does not match."),
    "invalid_signature": ("Chữ ký số không hợp lệ.", "The signature is not valid."),
    "signature_unreadable": ("Không đọc được chữ ký số (dữ liệu chữ ký bị hỏng hoặc bị xóa).",
                             "The signature cannot be read (its data is damaged or "
                             "blanked)."),
    "untrusted": ("Chứng thư số không thuộc tổ chức chứng thực được tin cậy.",
                  "The certificate does not chain to a trusted anchor."),
    "revoked": ("Chứng thư số đã bị thu hồi.", "The signer's certificate is revoked."),
    "revocation_unknown": ("Dữ liệu trong tài liệu không chứng minh được chứng thư số chưa bị "
                           "thu hồi khi ký.",
                           "The document's own data does not prove that the certificate was "
                           "not revoked when it signed."),
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


# -- the issued bytes inside an upload --------------------------------------------------------

#: the end of a revision: ``%%EOF`` and the line end after it, if any
_EOF = re.compile(rb"%%EOF[ \t]*(?:\r\n|\r|\n)?")


def revision_ends(data: bytes, limit: int) -> list[tuple[int, str]]:
    """Where a revision may end in ``data`` (after each ``%%EOF`` and its line end) and the
    sha256 of the bytes up to there, longest first, the whole of ``data`` included; at most
    ``limit`` places. Needs no parse: the places are candidates, which :func:`analyse`
    confirms against the cross-reference sections."""
    ends = {len(data)}
    ends.update(match.end() for match in itertools.islice(_EOF.finditer(data), limit))
    digest = hashlib.sha256()
    out, done = [], 0
    for end in sorted(ends):
        digest.update(data[done:end])
        done = end
        out.append((end, digest.copy().hexdigest()))
    return out[::-1]


def _issued(data: bytes, original: Callable[[str | None, str], Original | None],
            limits: PdfLimits) -> tuple[Original, int] | None:
    """What tokhai issued that ``data`` is, or begins with, and its length."""
    for end, sha256 in revision_ends(data, limits.max_revisions + 1):
        found = original(None, sha256)
        if found is not None and found.sha256 == sha256:
            return found, end
    return None


def _revision_hashes(data: bytes, reader: PdfFileReader) -> list[tuple[int, str]]:
    """The length and sha256 of the file at the end of each revision."""
    out = []
    for revision in range(reader.xrefs.total_revisions):
        end = reader.xrefs.get_xref_container_info(revision).end_location
        match = _EOF.search(data, end)
        if match is None:
            break
        out.append((match.end(), hashlib.sha256(data[:match.end()]).hexdigest()))
    return out


# -- verifying --------------------------------------------------------------------------------

def verify(data: bytes, trust: Trust, *, max_pages: int,
           original: Callable[[str | None, str], Original | None],
           limits: PdfLimits | None = None, at: datetime | None = None) -> dict[str, Any]:
    """The report for ``data``, as of ``at`` (now by default). ``original(document_id,
    sha256)`` finds what tokhai issued: by the hash of the upload or of the bytes it begins
    with, else by the id embedded in the document. The document is read by :func:`analyse`
    in the sandbox, under ``limits``."""
    limits = limits or PdfLimits()
    found = _issued(data, original, limits)
    issued = None
    if found is not None:
        issued = Issued(found[1], found[0].sha256, found[0].issued_at)
    analysis = pdflimits.run(analyse, data, trust, max_pages, limits, issued, at,
                             limits=limits)
    for error in analysis["errors"]:
        log.info("signature could not be validated", extra={"error": error})
    return _conclude(analysis, original, found[0] if found else None)


def analyse(data: bytes, trust: Trust, max_pages: int, limits: PdfLimits,
            issued: Issued | None = None, at: datetime | None = None) -> dict[str, Any]:
    """Everything about ``data`` that needs no database: the signatures' reports, the page
    count, the hash, the document id tokhai embedded and, when ``issued`` names bytes
    ``data`` begins with, whether they end at a revision and what was added after them (run
    in the sandbox)."""
    reader, pages = open_pdf(data, max_pages, limits)
    try:
        return _analyse(reader, data, pages, trust, issued, at)
    except PdfDecodeLimitError:
        raise pdflimits.too_large(limits) from None


@dataclass(frozen=True)
class _Unreadable:
    field: str | None
    error: str


@dataclass
class _Document:
    """What every signature's validation shares."""

    reader: PdfFileReader
    trust: Trust
    dss: DocumentSecurityStore | None
    signatures: list[Any]
    timestamps: list[Any]
    at: datetime | None
    #: the last revision of the bytes tokhai issued, and when it recorded them
    issued_revision: int | None = None
    issued_at: datetime | None = None
    #: proof of existence of what the issued bytes hold, at ``issued_at``
    issued_poes: tuple[KnownPOE, ...] = ()
    #: bytes after the end of the last revision (part of no revision)
    trailing: int = 0
    #: each signature's later revisions (by its signed revision)
    later: dict[int, list[dict[str, Any]] | None] = field(default_factory=dict)

    def by_revision(self) -> dict[int, Any]:
        return {s.signed_revision: s for s in [*self.signatures, *self.timestamps]}


def _read_signatures(reader: PdfFileReader) -> tuple[list[Any], list[Any], list[_Unreadable]]:
    """The signatures and document timestamps in signing order, and the signature fields
    whose value cannot be read (blanked or damaged contents, an unknown format)."""
    signatures, timestamps, unreadable = [], [], []
    for name, _, field_ref in enumerate_sig_fields(reader, filled_status=True):
        try:
            sig = EmbeddedPdfSignature(reader, field_ref, name)
            sig.signed_revision  # noqa: B018 - the byte range must be readable too
            kind = sig.sig_object_type
            subfilter = sig.sig_object.get("/SubFilter")
            if kind == "/DocTimeStamp":
                timestamps.append(sig)
            elif subfilter in (NameObject("/ETSI.CAdES.detached"),
                               NameObject("/adbe.pkcs7.detached")):
                signatures.append(sig)
            else:
                raise ValueError(f"unsupported signature format {subfilter}")
        except PdfDecodeLimitError:
            raise
        except Exception as e:  # noqa: BLE001 - whatever the damage, it is unreadable
            unreadable.append(_Unreadable(None if name is None else str(name), repr(e)[:300]))
    signatures.sort(key=lambda s: s.signed_revision)
    timestamps.sort(key=lambda s: s.signed_revision)
    # pyHanko's own list (its long-term validation reads every timestamp in the document)
    # would fail on the unreadable ones: it gets the readable ones
    readable: Any = sorted([*signatures, *timestamps], key=lambda s: s.signed_revision)
    reader._embedded_signatures = readable
    return signatures, timestamps, unreadable


def _analyse(reader: PdfFileReader, data: bytes, pages: int, trust: Trust,
             issued: Issued | None, at: datetime | None) -> dict[str, Any]:
    try:
        signatures, timestamps, unreadable = _read_signatures(reader)
        dss = DocumentSecurityStore.read_dss(reader) if "/DSS" in reader.root else None
    except PdfDecodeLimitError:
        raise
    except Exception as e:  # noqa: BLE001 - any damage in an upload's structure
        raise pdflimits.unreadable(type(e).__name__) from e
    if not signatures and not unreadable:
        raise VerificationRefused("no_signature", "Tệp PDF không có chữ ký số.",
                                  "The PDF carries no signature.")
    doc = _Document(reader, trust, dss, signatures, timestamps, at)
    if issued is not None:
        ends = _revision_hashes(data, reader)
        if (issued.length, issued.sha256) in ends:
            doc.issued_revision = ends.index((issued.length, issued.sha256))
            doc.trailing = len(data) - ends[-1][0]
            doc.issued_at = issued.issued_at
            if issued.issued_at is not None:
                doc.issued_poes = tuple(_issued_poes(doc, issued.issued_at))
    reports, errors = [], []
    for sig in signatures:
        try:
            with _quiet_pyhanko():
                reports.append(_signature(sig, doc))
        except PdfDecodeLimitError:
            raise
        except Exception as e:  # noqa: BLE001 - a damaged signature cannot be read
            errors.append(repr(e)[:300])
            reports.append(_unreadable(_field_name(sig), e))
    for bad in unreadable:
        errors.append(bad.error)
        reports.append(_unreadable(bad.field, None))
    additions = None
    if doc.issued_revision is not None:
        additions = _additions(doc)
    payload = embedded_data(reader)
    document_id = payload.get("document_id") if payload else None
    return {"sha256": hashlib.sha256(data).hexdigest(), "pages": pages, "reports": reports,
            "errors": errors, "document_id": document_id,
            "issued_revision": doc.issued_revision, "additions": additions}


def _conclude(analysis: dict[str, Any],
              original: Callable[[str | None, str], Original | None],
              issued: Original | None) -> dict[str, Any]:
    """The report, with what tokhai issued."""
    sha256, pages, reports = analysis["sha256"], analysis["pages"], analysis["reports"]
    document_id = analysis["document_id"]
    problems = [p for r in reports for p in r["problems"]]
    additions = analysis["additions"]
    found, matches = None, None
    if issued is not None and analysis["issued_revision"] is not None:
        # the upload is what tokhai issued, or begins with it at the end of a revision
        found = issued
        matches = all(a["kind"] in EXTENSIONS for a in additions)
    else:
        additions = None
        if isinstance(document_id, str):
            found = original(document_id, sha256)
        if found is not None:
            matches = False
    if matches is False:
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
        "matches_original": matches,
        "additions": additions,
        "signatures": reports,
        "problems": _unique(problems),
    }


def _unique(problems: list[dict[str, str]]) -> list[dict[str, str]]:
    seen: dict[str, dict[str, str]] = {}
    for p in problems:
        seen.setdefault(p["code"], p)
    return list(seen.values())


def _field_name(sig: Any) -> str | None:
    try:
        return None if sig.field_name is None else str(sig.field_name)
    except Exception:  # noqa: BLE001
        return None


def _unreadable(field: str | None, error: Exception | None) -> dict[str, Any]:
    """The report of a signature whose data cannot be read: nothing about it is known, so
    nothing is claimed (its integrity and trust are not evaluated)."""
    problem = _problem("signature_unreadable")
    if error is not None:
        problem["message_en"] += f" ({type(error).__name__})"
    return {"field": field, "readable": False, "intact": None, "valid": False,
            "signer": None, "trusted": None, "trust_anchor": None, "development": False,
            "revocation": "unknown", "signing_time": None, "timestamp": None, "level": None,
            "covers": None, "changes_after_signing": None, "later_revisions": None,
            "long_term": None, "problems": [problem]}


# -- one signature ----------------------------------------------------------------------------

@dataclass
class _Verdict:
    """Trust and revocation of a signer, and on what they rest."""

    trusted: bool
    revocation: str  # good, revoked, unknown
    path: Any = None
    basis: str | None = None  # archive_timestamp, issuance_record, current, signature_timestamp
    time: datetime | None = None
    timestamp: Any = None  # the signature timestamp's status, when established here


def _signature(sig: Any, doc: _Document) -> dict[str, Any]:
    sig.compute_integrity_info(skip_diff=True)  # the digest and the coverage
    coverage = sig.coverage
    later = _later_revisions(sig, doc, coverage)
    changes = _changes(coverage, later)
    result = None
    if _has_revocation_data(sig, doc):
        result = _ades(sig, doc)
        status = result.api_status
        if status is None:
            raise ValueError(f"signature not validated: {result.failure_msg}")
    else:
        # EN 319 102-1 cannot pass a signature without revocation data (B-T): not run
        status = _chain(sig, doc)
    ades = _ades_name(result) if result is not None else None
    problems = []
    intact = bool(status.intact)
    valid = bool(status.valid)
    common = {
        "field": _field_name(sig), "readable": True, "intact": intact, "valid": valid,
        "signer": _name(status.signing_cert) if status.signing_cert else None,
        "signing_time": _iso(sig.self_reported_timestamp),
        "covers": _coverage(coverage), "changes_after_signing": changes,
        "later_revisions": later,
    }
    if changes not in HARMLESS:
        problems.append(_problem("modified_after_signing"))
    if not (intact and valid):
        # the bytes do not match the signature: who signed them and whether that key is
        # trusted is beside the point, and not claimed either way
        problems.insert(0, _problem("not_intact" if not intact else "invalid_signature"))
        return {**common, "trusted": None, "trust_anchor": None, "development": False,
                "revocation": "unknown", "timestamp": None, "level": None,
                "long_term": {"basis": None, "time": None, "ades": ades},
                "problems": problems}
    if result is not None:
        verdict = _verdict(sig, doc, result)
    else:
        verdict = _Verdict(bool(status.trusted), "unknown",
                           status.validation_path if status.trusted else None, None, None,
                           status.timestamp_validity)
    if verdict.revocation == "revoked":
        problems.append(_problem("revoked"))
    elif not verdict.trusted:
        problems.append(_problem("untrusted"))
    elif verdict.revocation == "unknown":
        problems.append(_problem("revocation_unknown"))
    anchor = _anchor(verdict.path)
    development = anchor is not None and any(
        anchor.sha256 == a.sha256 for a in doc.trust.development_anchors)
    if development:
        problems.append(_problem("development_key"))
    ts = verdict.timestamp
    timestamp = None
    if ts is not None:
        timestamp = {"time": _iso(ts.timestamp), "valid": bool(ts.intact and ts.valid),
                     "trusted": bool(ts.intact and ts.valid and ts.trusted),
                     "authority": ts.signing_cert.subject.human_friendly
                     if ts.signing_cert else None}
    if timestamp is None or not (timestamp["valid"] and timestamp["trusted"]):
        problems.append(_problem("no_timestamp"))
    return {
        **common, "trusted": verdict.trusted,
        "trust_anchor": anchor.subject.human_friendly if anchor else None,
        "development": development, "revocation": verdict.revocation,
        "timestamp": timestamp,
        "level": _level(sig, doc, result, verdict, timestamp),
        "long_term": {"basis": verdict.basis, "time": _iso(verdict.time), "ades": ades},
        "problems": problems,
    }


def _ades_name(result: AdESLTAValidationResult) -> str:
    """pyHanko's EN 319 102-1 indication: PASSED, or INDETERMINATE/FAILED and its reason."""
    indication: AdESSubIndic = result.ades_subindic
    if isinstance(indication, AdESPassed):
        return "PASSED"
    return f"{indication.status.name}:{indication.standard_name}"


def _spec(doc: _Document, poes: tuple[KnownPOE, ...]) -> PdfSignatureValidationSpec:
    """EN 319 102-1 validation with tokhai's anchors, revocation data required and taken
    only from the document, and ``poes`` as proof of existence known beforehand."""
    trust = doc.trust
    policy = CertValidationPolicySpec(
        trust_manager=SimpleTrustManager.build(
            trust_roots=list(trust.anchors + trust.development_anchors)),
        revinfo_policy=CertRevTrustPolicy(
            REQUIRE_REVINFO, freshness=None,
            freshness_req_type=FreshnessReqType.MAX_DIFF_REVOCATION_VALIDATION))
    spec = SignatureValidationSpec(
        cert_validation_policy=policy,
        revinfo_gathering_policy=RevocationInfoGatheringSpec(
            RevinfoOnlineFetchingRule.LOCAL_ONLY),
        local_knowledge=LocalKnowledge(known_certs=list(trust.intermediates),
                                       known_poes=list(poes)))
    # the changes after signing are reviewed once, by _later_revisions
    return PdfSignatureValidationSpec(spec, diff_policy=None)


def _ades(sig: Any, doc: _Document) -> AdESLTAValidationResult:
    poes = doc.issued_poes if _in_issued(sig, doc) else ()
    at = doc.at
    timing = (ValidationTimingInfo(at, at, point_in_time_validation=True) if at
              else ValidationTimingInfo.now())
    return asyncio.run(ades_lta_validation(sig, _spec(doc, poes), timing_info=timing))


@contextlib.contextmanager
def _quiet_pyhanko() -> Iterator[None]:
    """pyHanko logs each failed step of a validation as a warning with its traceback (the
    expired OCSP response of a B-LT signature without an archive timestamp, say): the
    report says what matters."""
    logger = logging.getLogger("pyhanko")
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        yield
    finally:
        logger.setLevel(level)


def _in_issued(sig: Any, doc: _Document) -> bool:
    return doc.issued_revision is not None and sig.signed_revision <= doc.issued_revision


REVOKED = {AdESFailure.REVOKED, AdESIndeterminate.REVOKED_NO_POE}


def _verdict(sig: Any, doc: _Document, result: AdESLTAValidationResult) -> _Verdict:
    """Trust and revocation, from the strongest evidence there is (see the module's
    docstring): EN 319 102-1 with the document timestamps and tokhai's record, the embedded
    revocation data while it is current, the signature timestamp; else whether the chain
    reaches an anchor at all."""
    status = result.api_status
    assert status is not None
    ts_result = result.signature_timestamp_status
    timestamp = ts_result.api_status if (
        ts_result is not None and ts_result.ades_subindic == AdESPassed.OK) else None
    signed_at = _timestamp_time(sig)
    if result.ades_subindic == AdESPassed.OK:
        time: datetime | None = result.oldest_evidence_record_timestamp
        basis = "archive_timestamp"
        if time is None:
            basis, time = "issuance_record", doc.issued_at
        if timestamp is None and signed_at is not None:
            # pyHanko leaves out a signature timestamp whose authority's revocation data has
            # gone stale since; its existence is proven (as the signature's is): check it as
            # of its own time, with the revocation data embedded for it
            timestamp = _validated_at(sig, doc, signed_at, revocation=True).timestamp_validity
        return _Verdict(True, "good", status.validation_path, basis, time, timestamp)
    if status.trusted:
        # the embedded revocation data is still current
        return _Verdict(True, "good", status.validation_path, "current",
                        doc.at or datetime.now().astimezone(),
                        timestamp or status.timestamp_validity)
    revoked = status.revoked or result.ades_subindic in REVOKED
    if signed_at is not None and doc.dss is not None:
        # as of the signature timestamp, with the document's own revocation data
        then = _validated_at(sig, doc, signed_at, revocation=True)
        if _trusted_timestamp(then.timestamp_validity):
            if then.trusted:
                return _Verdict(True, "good", then.validation_path, "signature_timestamp",
                                signed_at, then.timestamp_validity)
            revoked = revoked or then.revoked
    if revoked:
        return _Verdict(False, "revoked", None, None, None, timestamp)
    # nothing proves the revocation status: does the chain at least reach an anchor?
    chain = _chain(sig, doc)
    ts_status = timestamp or chain.timestamp_validity
    if chain.trusted:
        return _Verdict(True, "unknown", chain.validation_path, None, None, ts_status)
    return _Verdict(False, "unknown", None, None, None, ts_status)


def _chain(sig: Any, doc: _Document) -> Any:
    """The signature checked without revocation data (does the chain reach an anchor?), as
    of its signature timestamp if that holds, else as of the validation time."""
    signed_at = _timestamp_time(sig)
    if signed_at is not None:
        status = _validated_at(sig, doc, signed_at, revocation=False)
        if _trusted_timestamp(status.timestamp_validity):
            return status
    return _validated_at(sig, doc, doc.at, revocation=False)


def _has_revocation_data(sig: Any, doc: _Document) -> bool:
    """Whether the document carries any revocation data for the signature: a DSS, or the
    (Adobe) revocation archive in its signed attributes."""
    if doc.dss is not None:
        return True
    return any(attribute["type"].native == "adobe_revocation_info_archival"
               for attribute in sig.signer_info["signed_attrs"])


def _trusted_timestamp(ts: Any) -> bool:
    return ts is not None and bool(ts.intact and ts.valid and ts.trusted)


def _timestamp_time(sig: Any) -> datetime | None:
    """The time the signature timestamp states (not yet checked)."""
    for token in generic_cms.extract_tst_data_iter(sig.signer_info, signed=False):
        gen_time: datetime = token["encap_content_info"]["content"].parsed["gen_time"].native
        return gen_time
    return None


def _context(doc: _Document, moment: datetime | None, *, revocation: bool) -> ValidationContext:
    """A point-in-time context with the document's own data and nothing fetched: with its
    revocation data ("hard-fail": the data must prove the certificates were not revoked),
    or with its certificates only, to see whether the chain reaches an anchor. Revocation
    data issued after ``moment`` counts for it (a certificate not revoked later was not
    revoked then)."""
    trust = doc.trust
    kwargs: dict[str, Any] = {
        "trust_roots": list(trust.anchors + trust.development_anchors),
        "other_certs": list(trust.intermediates), "allow_fetching": False,
        "revocation_mode": "hard-fail" if revocation else "soft-fail",
        "retroactive_revinfo": True}
    if moment is not None:
        kwargs["moment"] = moment
    if doc.dss is None:
        return ValidationContext(**kwargs)
    if revocation:
        return doc.dss.as_validation_context(kwargs)
    kwargs["other_certs"] += list(doc.dss.load_certs())
    return ValidationContext(**kwargs)


def _validated_at(sig: Any, doc: _Document, moment: datetime | None, *,
                  revocation: bool) -> Any:
    context = _context(doc, moment, revocation=revocation)
    return validate_pdf_signature(sig, context, ts_validation_context=context, skip_diff=True)


def _anchor(path: Any) -> x509.Certificate | None:
    if path is None:
        return None
    root = path.trust_anchor
    return getattr(root, "certificate", None)


def _coverage(coverage: SignatureCoverageLevel) -> str:
    return {SignatureCoverageLevel.ENTIRE_FILE: "entire_file",
            SignatureCoverageLevel.ENTIRE_REVISION: "entire_revision"}.get(
        coverage, "partial")


def _later_revisions(sig: Any, doc: _Document,
                     coverage: SignatureCoverageLevel) -> list[dict[str, Any]] | None:
    """Each revision after the signature's, as ``{"revision", "kind"}``: validation data (a
    DSS), a document timestamp, a signature, or other (anything else, with the revisions
    after it); None when the signature does not cover its whole revision. Each revision is
    compared with the signed one (pyHanko's review of a file, under :data:`LTA_ONLY_POLICY`),
    not with the one before it: a later archive timestamp refreshes what an earlier one
    added."""
    if coverage == SignatureCoverageLevel.ENTIRE_FILE:
        return []
    if coverage != SignatureCoverageLevel.ENTIRE_REVISION:
        return None
    reader = doc.reader
    base = reader.get_historical_resolver(sig.signed_revision)
    base_xmp = _xmp(base)
    by_revision = doc.by_revision()
    docmdp = sig.docmdp_level
    allowed = ModificationLevel.LTA_UPDATES
    out: list[dict[str, Any]] = []
    edited = False
    for revision in range(sig.signed_revision + 1, reader.xrefs.total_revisions):
        entry: dict[str, Any] = {"revision": revision, "kind": "other"}
        out.append(entry)
        if edited:  # the review is cumulative: every later revision holds that edit too
            continue
        resolver = reader.get_historical_resolver(revision)
        try:
            level = LTA_ONLY_POLICY.apply(old=base, new=resolver,
                                          field_mdp_spec=sig.fieldmdp,
                                          doc_mdp=docmdp).modification_level
        except SuspiciousModification:
            edited = True
            continue
        if base_xmp is not None and not _same_metadata(base_xmp, _xmp(resolver)):
            edited = True
            continue
        if docmdp is not None and level.value > docmdp.value:
            edited = True
            continue
        other = by_revision.get(revision)
        kind = None if other is None else other.sig_object_type
        if other is not None and kind == "/DocTimeStamp" and level <= allowed:
            entry["kind"] = "document_timestamp"
            entry["time"] = _iso(_token_time(other.signed_data))
        elif kind == "/Sig" and level <= ModificationLevel.FORM_FILLING:
            # a new signature (the only form filling the policy allows): the revisions after
            # it are compared with the signed one too, so they show it
            entry["kind"] = "signature"
            allowed = ModificationLevel.FORM_FILLING
        elif kind is None and level <= allowed:
            entry["kind"] = "validation_data"
        else:
            edited = True
    doc.later[sig.signed_revision] = out
    return out


#: XMP properties a tool that extends a document updates (pyHanko: the modification date and
#: the producer), and the namespace of instance ids and history
_XMP_VOLATILE = {"http://ns.adobe.com/xap/1.0/ModifyDate",
                 "http://ns.adobe.com/xap/1.0/MetadataDate",
                 "http://ns.adobe.com/pdf/1.3/Producer"}
_XMP_MM = "http://ns.adobe.com/xap/1.0/mm/"


def _xmp(resolver: Any) -> dict[str, Any] | None:
    """The document's XMP metadata as of a revision, property by property (None: there is
    none, or it cannot be read)."""
    try:
        stream = resolver.root.get("/Metadata")
        if stream is None:
            return None
        roots = xmp_xml.parse_xmp(io.BytesIO(stream.get_object().data))
        return {str(name): value for root in roots for name, value in root}
    except PdfDecodeLimitError:
        raise
    except Exception:  # noqa: BLE001 - unreadable metadata
        return None


def _same_metadata(signed: dict[str, Any], later: dict[str, Any] | None) -> bool:
    """Whether the metadata says what it said when signed. pyHanko's policy lets any XMP
    change pass with validation data (it rewrites the stream in every update it makes), and
    tokhai's metadata names the document, its number and its data file: only the dates,
    the producer and instance ids may change."""
    if later is None:
        return False
    names = (set(signed) | set(later)) - _XMP_VOLATILE
    return all(signed.get(name) == later.get(name) for name in names
               if not name.startswith(_XMP_MM))


def _token_time(signed_data: cms.SignedData) -> datetime | None:
    try:
        gen_time: datetime = signed_data["encap_content_info"]["content"].parsed[
            "gen_time"].native
        return gen_time
    except Exception:  # noqa: BLE001 - a damaged token has no time to show
        return None


def _changes(coverage: SignatureCoverageLevel, later: list[dict[str, Any]] | None) -> str:
    """What was appended after the signature: nothing, validation data (a DSS), document
    timestamps (with their validation data), new signatures, or other edits."""
    if coverage == SignatureCoverageLevel.ENTIRE_FILE:
        return "none"
    if later is None:
        return "other_edits"
    kinds = {entry["kind"] for entry in later}
    if "other" in kinds:
        return "other_edits"
    if "signature" in kinds:
        return "new_signatures"
    if "document_timestamp" in kinds:
        return "document_timestamps"
    return "validation_data" if kinds else "none"


def _additions(doc: _Document) -> list[dict[str, Any]]:
    """The revisions after the issued bytes, as the last signature among them sees them, and
    bytes appended after the last revision, if any (``"revision": null``)."""
    assert doc.issued_revision is not None
    within = [s for s in doc.signatures if s.signed_revision <= doc.issued_revision]
    later = doc.later.get(within[-1].signed_revision) if within else None
    if later is None:
        out = [{"revision": r, "kind": "other"}
               for r in range(doc.issued_revision + 1, doc.reader.xrefs.total_revisions)]
    else:
        out = [entry for entry in later if entry["revision"] > doc.issued_revision]
    if doc.trailing:
        out.append({"revision": None, "kind": "other"})
    return out


def issuance_poes(data: bytes, issued: Issued) -> list[KnownPOE]:
    """tokhai's proof of existence for the issued bytes ``data`` begins with (as verification
    supplies it to pyHanko's long-term validation): empty when ``data`` does not begin with
    them at the end of a revision, or when no time was recorded. For a validator that can
    take such proof (pyHanko's ``LocalKnowledge.known_poes``)."""
    reader = PdfFileReader(io.BytesIO(data), strict=False)
    signatures, timestamps, _ = _read_signatures(reader)
    ends = _revision_hashes(data, reader)
    if issued.issued_at is None or (issued.length, issued.sha256) not in ends:
        return []
    doc = _Document(reader, Trust(()), None, signatures, timestamps, None,
                    issued_revision=ends.index((issued.length, issued.sha256)))
    return list(_issued_poes(doc, issued.issued_at))


def _issued_poes(doc: _Document, issued_at: datetime) -> Iterator[KnownPOE]:
    """Proof that everything the issued bytes hold existed when tokhai recorded them: the
    signatures and timestamps, their certificates, and the validation data then in the DSS.
    Only for bytes found to be the issued ones (:func:`analyse`)."""
    assert doc.issued_revision is not None
    certs: list[x509.Certificate] = []
    ocsps: list[OCSPContainer] = []
    crls: list[CRLContainer] = []
    try:
        dss = DocumentSecurityStore.read_dss(
            doc.reader.get_historical_resolver(doc.issued_revision))
        certs.extend(dss.load_certs())
        for ref in dss.ocsps:
            ocsps.extend(OCSPContainer.load_multi(OCSPResponse.load(
                ref.get_object().read_data(DecodePurpose.OCSP_RESPONSE))))
        crls.extend(CRLContainer(CertificateList.load(
            ref.get_object().read_data(DecodePurpose.CRL))) for ref in dss.crls)
    except NoDSSFoundError:
        pass
    signatures = []
    for sig in [*doc.signatures, *doc.timestamps]:
        if sig.signed_revision > doc.issued_revision:
            continue
        signatures.append(sig.signer_info["signature"].native)
        tokens = [sig.signed_data, *generic_cms.extract_tst_data_iter(sig.signer_info,
                                                                    signed=False)]
        for signed_data in tokens:
            certs.extend(c.chosen for c in signed_data["certificates"]
                         if c.name == "certificate")
    known = LocalKnowledge(known_ocsps=ocsps, known_crls=crls, known_certs=certs)
    yield from known.assert_existence_known_at(issued_at)
    for value in signatures:
        yield KnownPOE(POEType.PROVIDED, digest_for_poe(value), issued_at)


def _level(sig: Any, doc: _Document, result: AdESLTAValidationResult | None,
           verdict: _Verdict, timestamp: dict[str, Any] | None) -> str:
    """The PAdES baseline level the signature reaches (ETSI EN 319 142-1)."""
    if sig.sig_object.get("/SubFilter") != NameObject("/ETSI.CAdES.detached"):
        return "PKCS7"  # a PDF signature, but not PAdES
    if timestamp is None or not (timestamp["valid"] and timestamp["trusted"]):
        return "B-B"
    if doc.dss is None or verdict.revocation != "good":
        return "B-T"
    later = [t for t in doc.timestamps if t.signed_revision > sig.signed_revision]
    if not later:
        return "B-LT"
    if result is not None and result.oldest_evidence_record_timestamp is not None:
        return "B-LTA"
    for t in later:
        # as of its own time, with the validation data added for it
        moment = _token_time(t.signed_data)
        status = validate_pdf_timestamp(t, _context(doc, moment, revocation=True),
                                        skip_diff=True)
        if status.intact and status.valid and status.trusted:
            return "B-LTA"
    return "B-LT"


def trust_of(signing: Any) -> Trust:
    """The trust settings of a signing configuration: its anchors (all of them development
    anchors when the configuration is a development one)."""
    if signing is None:
        return Trust(())
    anchors = tuple(signing.anchors)
    if signing.config.development:
        return Trust((), tuple(signing.intermediates), anchors)
    return Trust(anchors, tuple(signing.intermediates))
