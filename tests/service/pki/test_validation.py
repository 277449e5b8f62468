"""Verifying a signed PDF (service.pki.validation.verify), without HTTP or a database."""

from __future__ import annotations

import hashlib
import io
import json
from datetime import UTC, datetime

import pytest
from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.general import load_cert_from_pemder
from pyhanko.sign.signers import PdfTimeStamper
from pyhanko.sign.timestamps import HTTPTimeStamper
from pyhanko.sign.validation import add_validation_info
from pyhanko_certvalidator import ValidationContext

from service.pki import validation as verification
from service.pki.signer import Signing
from service.results import rendering
from tests.service.pki.test_signing import AGENCY, AGENCY_NAME, render, sign
from tests.service.results.test_results import signed_by_rogue_key

DOCUMENT_ID = "doc-validation-1"


@pytest.fixture(scope="module")
def signing(signing_config: str):
    s = Signing.from_file(signing_config)
    yield s
    s.close()


@pytest.fixture(scope="module")
def signed(signing) -> bytes:
    return sign(signing, render(DOCUMENT_ID)).pdf


def finder(recorded: bytes | None, issued_at: datetime | None = None):
    """What tokhai's database answers (service.results.issuance.original_finder) when it
    recorded ``recorded`` under ``DOCUMENT_ID`` at ``issued_at``: by the id, or by the
    hash."""
    def original(document_id: str | None, sha256: str) -> verification.Original | None:
        if recorded is None:
            return None
        digest = hashlib.sha256(recorded).hexdigest()
        if document_id == DOCUMENT_ID or sha256 == digest:
            return verification.Original(DOCUMENT_ID, digest,
                                         issued_at or datetime.now(UTC))
        return None
    return original


def verify(data: bytes, signing, recorded: bytes | None = None, *,
           at: datetime | None = None, issued_at: datetime | None = None) -> dict:
    """The report as of ``at``, with ``recorded`` as what tokhai issued under
    ``DOCUMENT_ID`` (if any)."""
    return verification.verify(data, verification.trust_of(signing), max_pages=50,
                               original=finder(recorded, issued_at), at=at)


def codes(report: dict) -> set[str]:
    return {p["code"] for p in report["problems"]}


def test_a_fresh_result_is_valid_and_the_report_says_why(signing, signed: bytes) -> None:
    report = verify(signed, signing, recorded=signed)
    assert report["valid"] and report["legally_valid"] and report["problems"] == []
    assert report["sha256"] == hashlib.sha256(signed).hexdigest() and report["pages"] >= 1
    assert report["issued_by_tokhai"] and report["document_id"] == DOCUMENT_ID
    assert report["matches_original"] is True
    (sig,) = report["signatures"]
    assert sig["intact"] and sig["valid"] and sig["trusted"] and not sig["development"]
    assert sig["signer"]["common_name"] == AGENCY_NAME
    assert "Root CA" in sig["trust_anchor"]
    assert sig["revocation"] == "good" and sig["level"] == "B-LT"
    assert sig["signing_time"] == "2026-11-27T09:15:02+07:00"
    assert sig["timestamp"]["valid"] and sig["timestamp"]["trusted"]
    assert sig["covers"] and sig["changes_after_signing"] in ("none", "validation_data")


def test_a_document_id_tokhai_has_no_record_of_is_reported(signing, signed: bytes) -> None:
    """The signature stands on its own (still valid), but the report says tokhai did not
    record issuing it."""
    report = verify(signed, signing, recorded=None)
    assert report["valid"] and codes(report) == {"unknown_document"}
    assert report["matches_original"] is None
    assert report["issued_by_tokhai"] is False and report["document_id"] == DOCUMENT_ID


def test_one_changed_byte_makes_it_invalid(signing, signed: bytes) -> None:
    data = bytearray(signed)
    position = signed.index(b"<tokhai:Template>") + len(b"<tokhai:Template>")
    data[position] ^= 0x20  # one letter of the XMP metadata, inside the signed bytes
    report = verify(bytes(data), signing, recorded=signed)
    assert not report["valid"] and "not_intact" in codes(report)
    assert report["signatures"][0]["intact"] is False
    assert report["matches_original"] is False and "not_the_original" in codes(report)


def test_a_key_no_one_trusts_is_reported(signing, test_pki) -> None:
    report = verify(signed_by_rogue_key(test_pki), signing)
    (sig,) = report["signatures"]
    assert sig["intact"] and sig["valid"] and not sig["trusted"]
    assert sig["signer"]["common_name"] == AGENCY_NAME  # the same name, not the same key
    assert not report["valid"] and "untrusted" in codes(report)
    assert report["issued_by_tokhai"] is False


def test_without_trust_anchors_nothing_is_trusted(signed: bytes) -> None:
    report = verification.verify(signed, verification.Trust(()), max_pages=50,
                                 original=lambda document_id, sha256: None)
    assert not report["valid"] and "untrusted" in codes(report)


def test_a_pdf_without_signature_is_not_verifiable(signing) -> None:
    with pytest.raises(verification.VerificationRefused) as refused:
        verify(bytes(rendering.document("Không ký").output()), signing)
    assert refused.value.code == "no_signature"


# -- a damaged signature, and trust not claimed when the bytes do not match ------------------

def _contents_span(data: bytes) -> tuple[int, int]:
    """Where the (only) signature's hex contents lie: between the byte range's two parts."""
    reader = PdfFileReader(io.BytesIO(data))
    (sig,) = reader.embedded_regular_signatures
    start, length, second, _ = (int(x) for x in sig.sig_object["/ByteRange"])
    assert data[start + length:start + length + 1] == b"<" and data[second - 1:second] == b">"
    return start + length + 1, second - 1


@pytest.mark.parametrize("filling", [b"0", b"7"])
def test_blanked_or_garbled_signature_contents_are_an_unreadable_signature(
        signing, signed: bytes, filling: bytes) -> None:
    """Finding: zeroed signature contents were refused as "PDF is corrupt"
    (unreadable_pdf). The PDF is readable; its signature is not."""
    first, last = _contents_span(signed)
    data = signed[:first] + filling * (last - first) + signed[last:]
    report = verify(data, signing, recorded=signed)
    assert codes(report) >= {"signature_unreadable"} and not report["valid"]
    (sig,) = report["signatures"]
    assert sig["readable"] is False and sig["valid"] is False
    assert sig["trusted"] is None and sig["intact"] is None and sig["level"] is None
    assert "untrusted" not in codes(report) and "not_intact" not in codes(report)


def test_a_failed_integrity_check_does_not_also_judge_the_chain(signing, signed: bytes) -> None:
    """Finding: after a one-byte change the report said "untrusted" while naming the trust
    anchor. Trust is not evaluated for bytes the signature does not match."""
    data = bytearray(signed)
    position = signed.index(b"<tokhai:Template>") + len(b"<tokhai:Template>")
    data[position] ^= 0x20
    report = verify(bytes(data), signing, recorded=signed)
    (sig,) = report["signatures"]
    assert sig["intact"] is False and sig["trusted"] is None and sig["trust_anchor"] is None
    assert sig["revocation"] == "unknown" and sig["timestamp"] is None
    assert {"untrusted", "no_timestamp", "revocation_unknown"}.isdisjoint(codes(report))
    assert "not_intact" in codes(report)


# -- changes after issuance: validation data and archive timestamps only ---------------------

def _revision(data: bytes, change) -> bytes:
    writer = IncrementalPdfFileWriter(io.BytesIO(data))
    change(writer)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def _info_title(writer) -> None:
    info = writer.trailer["/Info"]
    info["/Title"] = generic.pdf_string("Giấy tờ giả mạo")
    writer.update_container(info)


def _annotation(writer) -> None:
    page = writer.root["/Pages"]["/Kids"][0].get_object()
    note = writer.add_object(generic.DictionaryObject({
        generic.pdf_name("/Type"): generic.pdf_name("/Annot"),
        generic.pdf_name("/Subtype"): generic.pdf_name("/FreeText"),
        generic.pdf_name("/Rect"): generic.ArrayObject(
            [generic.FloatObject(x) for x in (50, 50, 300, 100)]),
        generic.pdf_name("/Contents"): generic.pdf_string("ĐÃ HỦY"),
        generic.pdf_name("/DA"): generic.pdf_string("/Helv 12 Tf 0 g")}))
    annots = page.get("/Annots")
    if annots is None:
        page["/Annots"] = generic.ArrayObject([note])
    else:
        annots.get_object().append(note)
    writer.update_container(page)


def _embedded_data(writer) -> None:
    names = writer.root["/Names"]["/EmbeddedFiles"]["/Names"]
    files = names[1].get_object()["/EF"]
    files["/F"] = writer.add_object(generic.StreamObject(
        {generic.pdf_name("/Type"): generic.pdf_name("/EmbeddedFile")},
        stream_data=json.dumps({"document_id": DOCUMENT_ID, "ho_ten": "Kẻ Giả Mạo"}).encode()))
    writer.update_container(files)


def _page_content(writer) -> None:
    page = writer.root["/Pages"]["/Kids"][0].get_object()
    stream = generic.StreamObject(stream_data=b"BT /F1 24 Tf 100 700 Td (GIA MAO) Tj ET")
    page["/Contents"] = generic.ArrayObject([page.raw_get("/Contents"),
                                             writer.add_object(stream)])
    writer.update_container(page)


def _metadata(writer) -> None:
    """The XMP metadata says another document id (and pyHanko's default policy lets any XMP
    change pass as part of an update)."""
    xmp = writer.root["/Metadata"].get_object().data.replace(
        DOCUMENT_ID.encode(), b"doc-forged-00001")
    writer.root["/Metadata"] = writer.add_object(generic.StreamObject(
        {generic.pdf_name("/Type"): generic.pdf_name("/Metadata"),
         generic.pdf_name("/Subtype"): generic.pdf_name("/XML")}, stream_data=xmp))
    writer.update_root()


@pytest.mark.parametrize("change", [_info_title, _metadata, _annotation, _embedded_data,
                                    _page_content],
                         ids=["info-title", "xmp", "annotation", "embedded-data",
                              "page-content"])
def test_any_other_change_after_signing_is_not_valid(signing, signed: bytes, change) -> None:
    """Finding: a changed /Info title passed pyHanko's default policy as "validation data".
    Only validation data and document timestamps may follow a signature."""
    report = verify(_revision(signed, change), signing, recorded=signed)
    (sig,) = report["signatures"]
    assert sig["intact"] and sig["changes_after_signing"] == "other_edits"
    assert sig["later_revisions"][-1]["kind"] == "other"
    assert not report["valid"] and {"modified_after_signing", "not_the_original"} <= codes(report)
    assert report["matches_original"] is False and report["issued_by_tokhai"]


def test_bytes_appended_after_the_last_revision_are_not_the_original(signing,
                                                                     signed: bytes) -> None:
    report = verify(signed + b"\n% appended\n", signing, recorded=signed)
    assert report["matches_original"] is False and "not_the_original" in codes(report)
    assert report["additions"] == [{"revision": None, "kind": "other"}]


def _fetching(test_pki) -> ValidationContext:
    """What ``pyhanko sign ltvfix``/``ltaupdate`` validate with: the anchor, fetching."""
    root, interm = (load_cert_from_pemder(str(test_pki.cert_file(label)))
                    for label in ("root", "interm"))
    return ValidationContext(trust_roots=[root], other_certs=[interm], allow_fetching=True)


def ltvfix(data: bytes, test_pki) -> bytes:
    """``pyhanko sign ltvfix``: the signature's validation data added in a DSS update."""
    reader = PdfFileReader(io.BytesIO(data))
    (sig,) = reader.embedded_regular_signatures
    return add_validation_info(sig, _fetching(test_pki), output=io.BytesIO()).getvalue()


def ltaupdate(data: bytes, test_pki) -> bytes:
    """``pyhanko sign ltaupdate``: a document (archive) timestamp and its validation data."""
    out = io.BytesIO()
    PdfTimeStamper(HTTPTimeStamper(test_pki.tsa_url)).update_archival_timestamp_chain(
        PdfFileReader(io.BytesIO(data)), _fetching(test_pki), in_place=False, output=out)
    return out.getvalue()


def test_validation_data_added_later_keeps_the_original_valid(signing, test_pki) -> None:
    """Finding: a result extended by someone else with validation data (``ltvfix``) was
    reported not valid, not the original."""
    issued = sign(signing, render(DOCUMENT_ID), "B-T").pdf
    extended = ltvfix(issued, test_pki)
    assert extended.startswith(issued) and extended != issued
    report = verify(extended, signing, recorded=issued)
    assert report["valid"] and report["matches_original"] is True, report["problems"]
    assert report["issued_by_tokhai"] and report["problems"] == []
    assert report["additions"] == [{"revision": 2, "kind": "validation_data"}]
    (sig,) = report["signatures"]
    assert sig["level"] == "B-LT" and sig["revocation"] == "good"
    assert sig["changes_after_signing"] == "validation_data"


def test_a_later_archive_timestamp_keeps_the_original_valid(signing, signed: bytes,
                                                             test_pki) -> None:
    """Finding: ``ltaupdate`` on an issued B-LT result made it "not the original"."""
    extended = ltaupdate(signed, test_pki)
    report = verify(extended, signing, recorded=signed)
    assert report["valid"] and report["matches_original"] is True, report["problems"]
    assert [a["kind"] for a in report["additions"]] == ["document_timestamp", "validation_data"]
    assert report["additions"][0]["time"]
    (sig,) = report["signatures"]
    assert sig["level"] == "B-LTA" and sig["changes_after_signing"] == "document_timestamps"
    assert sig["long_term"]["basis"] == "archive_timestamp"
    # and an edit after the archive timestamp is still an edit
    forged = _revision(extended, _page_content)
    report = verify(forged, signing, recorded=signed)
    assert not report["valid"] and report["matches_original"] is False
    assert report["additions"][-1]["kind"] == "other"
    assert {"modified_after_signing", "not_the_original"} <= codes(report)


def test_validation_data_added_in_another_second_to_a_document_without_xmp(signing,
                                                                          test_pki) -> None:
    """Finding (an intermittent CI failure of the apology letter's test): a document without
    XMP metadata gets its /Info modification date rewritten by every update pyHanko makes, so
    validation data added in a later second than the signature was reported as an edit."""
    import time as wall

    from service.results import rendering

    plain = bytes(rendering.document("Không có XMP").output())
    signer = signing.agency(AGENCY)
    assert signer is not None
    issued = signing.sign(signer, plain, page=0, box=(400, 100, 500, 200), level="B-T",
                          signing_time=datetime.now(UTC)).pdf
    wall.sleep(1.05 - wall.time() % 1.0)  # the next wall-clock second
    extended = ltvfix(issued, test_pki)
    report = verify(extended, signing, recorded=issued)
    assert report["additions"] == [{"revision": 2, "kind": "validation_data"}], report
    assert report["signatures"][0]["changes_after_signing"] == "validation_data"
