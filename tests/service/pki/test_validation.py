"""Verifying a signed PDF (service.pki.validation.verify), without HTTP or a database."""

from __future__ import annotations

import hashlib

import pytest

from service.pki import validation as verification
from service.pki.signer import Signing
from service.results import rendering
from tests.service.pki.test_signing import AGENCY_NAME, render, sign
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


def verify(data: bytes, signing, recorded: bytes | None = None) -> dict:
    """The report, with ``recorded`` as what tokhai issued under ``DOCUMENT_ID`` (if any)."""
    def original(document_id: str | None, sha256: str) -> verification.Original | None:
        if recorded is None or document_id != DOCUMENT_ID:
            return None
        return verification.Original(DOCUMENT_ID, hashlib.sha256(recorded).hexdigest())
    return verification.verify(data, verification.trust_of(signing), max_pages=50,
                               original=original)


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
