"""Long-term verification (service.pki.validation): a result that was valid when issued stays
valid after its embedded OCSP responses and CRLs have expired, judged from its own data with
nothing fetched; and pyHanko's EN 319 102-1 validation (what ``pyhanko sign adesverify`` runs)
passes every issued level that carries validation data."""

from __future__ import annotations

import asyncio
import hashlib
import io
from datetime import UTC, datetime, timedelta

import pytest
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.ades.report import AdESIndeterminate, AdESPassed
from pyhanko.sign.general import load_cert_from_pemder
from pyhanko.sign.validation.ades import ades_lta_validation
from pyhanko.sign.validation.policy_decl import (
    LocalKnowledge,
    PdfSignatureValidationSpec,
    RevinfoOnlineFetchingRule,
    RevocationInfoGatheringSpec,
    SignatureValidationSpec,
)
from pyhanko_certvalidator.context import CertValidationPolicySpec
from pyhanko_certvalidator.ltv.types import ValidationTimingInfo
from pyhanko_certvalidator.policy_decl import (
    REQUIRE_REVINFO,
    CertRevTrustPolicy,
    FreshnessReqType,
)
from pyhanko_certvalidator.registry import SimpleTrustManager

from service.pki import validation as verification
from service.pki.signer import Signing
from tests import pki
from tests.service.pki.test_signing import render, sign
from tests.service.pki.test_validation import DOCUMENT_ID, codes, finder, verify

#: past the test CA's OCSP responses (valid 10 minutes), and past its intermediate's CRL
LATER = [timedelta(hours=2), timedelta(days=30)]


@pytest.fixture(scope="module")
def signing(signing_config: str):
    s = Signing.from_file(signing_config)
    yield s
    s.close()


@pytest.fixture(scope="module")
def issued(signing) -> dict[str, tuple[bytes, datetime]]:
    """A result at each level, and when tokhai recorded it."""
    out = {}
    for level in ("B-T", "B-LT", "B-LTA"):
        pdf = sign(signing, render(DOCUMENT_ID), level).pdf
        out[level] = (pdf, datetime.now(UTC))
    return out


@pytest.mark.parametrize("later", LATER, ids=["2h", "30d"])
@pytest.mark.parametrize("level", ["B-LT", "B-LTA"])
def test_an_issued_result_stays_valid_after_its_ocsp_responses_expire(
        signing, issued, level: str, later: timedelta) -> None:
    """Finding: tokhai's verifier reported its own B-LT and B-LTA results untrusted once the
    embedded OCSP responses were older than their validity (ten minutes here, hours to days
    with a real CA): level B-T, revocation unknown, ``untrusted``."""
    pdf, recorded = issued[level]
    report = verify(pdf, signing, recorded=pdf, issued_at=recorded,
                    at=datetime.now(UTC) + later)
    assert report["valid"] and report["legally_valid"], report["problems"]
    assert report["matches_original"] is True and report["problems"] == []
    (sig,) = report["signatures"]
    assert sig["trusted"] and sig["revocation"] == "good" and sig["level"] == level
    assert sig["timestamp"]["trusted"]
    assert sig["long_term"]["ades"] == "PASSED"
    assert sig["long_term"]["basis"] == (
        "archive_timestamp" if level == "B-LTA" else "issuance_record")


@pytest.mark.parametrize("later", LATER, ids=["2h", "30d"])
def test_without_tokhai_s_record_the_signature_timestamp_dates_the_check(
        signing, issued, later: timedelta) -> None:
    """An upload tokhai has no record of (another copy, another issuer on the same CA): a
    B-LT signature is checked as of its signature timestamp with its own revocation data,
    and the report says that EN 319 102-1 alone finds no proof of existence for it."""
    pdf, _ = issued["B-LT"]
    report = verify(pdf, signing, recorded=None, at=datetime.now(UTC) + later)
    assert report["valid"] and codes(report) == {"unknown_document"}
    (sig,) = report["signatures"]
    assert sig["trusted"] and sig["revocation"] == "good" and sig["level"] == "B-LT"
    assert sig["long_term"]["basis"] == "signature_timestamp"
    assert sig["long_term"]["ades"] == "INDETERMINATE:NO_POE"
    lta, _ = issued["B-LTA"]
    report = verify(lta, signing, recorded=None, at=datetime.now(UTC) + later)
    (sig,) = report["signatures"]
    assert sig["level"] == "B-LTA" and sig["long_term"] == {
        "basis": "archive_timestamp", "time": sig["long_term"]["time"], "ades": "PASSED"}


def test_a_b_t_result_stays_valid_and_says_what_it_lacks(signing, issued) -> None:
    """B-T carries no revocation data: valid, not legally valid, at any time."""
    pdf, recorded = issued["B-T"]
    for later in (timedelta(0), *LATER):
        report = verify(pdf, signing, recorded=pdf, issued_at=recorded,
                        at=datetime.now(UTC) + later)
        assert report["valid"] and codes(report) == {"revocation_unknown"}
        (sig,) = report["signatures"]
        assert sig["level"] == "B-T" and sig["trusted"] and sig["revocation"] == "unknown"


# -- pyHanko's AdES validation, as `pyhanko sign adesverify` runs it ---------------------------

def adesverify(pdf: bytes, test_pki, poes=(), at: datetime | None = None):
    """``ades_lta_validation`` with the test CA's root as the only trust anchor, revocation
    data required (``adesverify``'s defaults), nothing fetched, and ``poes`` as the proof of
    existence the caller knows of."""
    root, interm = (load_cert_from_pemder(str(test_pki.cert_file(label)))
                    for label in ("root", "interm"))
    spec = SignatureValidationSpec(
        cert_validation_policy=CertValidationPolicySpec(
            trust_manager=SimpleTrustManager.build(trust_roots=[root]),
            revinfo_policy=CertRevTrustPolicy(
                REQUIRE_REVINFO,
                freshness_req_type=FreshnessReqType.MAX_DIFF_REVOCATION_VALIDATION)),
        revinfo_gathering_policy=RevocationInfoGatheringSpec(
            RevinfoOnlineFetchingRule.LOCAL_ONLY),
        local_knowledge=LocalKnowledge(known_certs=[interm], known_poes=list(poes)))
    (sig,) = PdfFileReader(io.BytesIO(pdf)).embedded_regular_signatures
    timing = ValidationTimingInfo(at, at, True) if at else ValidationTimingInfo.now()
    return asyncio.run(ades_lta_validation(sig, PdfSignatureValidationSpec(spec),
                                           timing_info=timing))


def record_of(pdf: bytes, recorded: datetime) -> verification.Issued:
    return verification.Issued(len(pdf), hashlib.sha256(pdf).hexdigest(), recorded)


@pytest.mark.parametrize("later", [timedelta(0), *LATER], ids=["now", "2h", "30d"])
@pytest.mark.parametrize("level", ["B-LT", "B-LTA"])
def test_pyhanko_ades_validation_passes_every_issued_long_term_level(
        issued, test_pki, level: str, later: timedelta) -> None:
    """Finding: ``adesverify`` gave B-LT results INDETERMINATE/NO_POE: EN 319 102-1 needs
    proof that the validation data existed while it was current, and only a document
    timestamp gives it inside the file. tokhai's record of the issued bytes is such proof
    (supplied as known POE); B-LTA needs none."""
    pdf, recorded = issued[level]
    at = datetime.now(UTC) + later
    poes = verification.issuance_poes(pdf, record_of(pdf, recorded))
    assert poes
    result = adesverify(pdf, test_pki, poes, at)
    assert result.ades_subindic == AdESPassed.OK, result.failure_msg
    assert result.api_status is not None and result.api_status.bottom_line
    if level == "B-LTA":
        assert adesverify(pdf, test_pki, (), at).ades_subindic == AdESPassed.OK
    else:  # what a validator without tokhai's record sees (docs/verification.md)
        assert adesverify(pdf, test_pki, (), at).ades_subindic == AdESIndeterminate.NO_POE


def test_b_t_does_not_pass_ades_validation_without_revocation_data(issued, test_pki) -> None:
    """B-T carries no revocation data, so EN 319 102-1 cannot pass it even with tokhai's
    proof of existence (docs/verification.md: issue B-LT or B-LTA)."""
    pdf, recorded = issued["B-T"]
    poes = verification.issuance_poes(pdf, record_of(pdf, recorded))
    assert adesverify(pdf, test_pki, poes).ades_subindic != AdESPassed.OK


def test_tokhai_s_proof_of_existence_is_given_only_for_the_issued_bytes(issued) -> None:
    pdf, recorded = issued["B-LT"]
    assert verification.issuance_poes(pdf + b"%x\n", record_of(pdf, recorded))  # a prefix
    cut = verification.Issued(len(pdf) - 1, hashlib.sha256(pdf[:-1]).hexdigest(), recorded)
    assert verification.issuance_poes(pdf, cut) == []  # not the end of a revision
    other, _ = issued["B-LTA"]
    assert verification.issuance_poes(other, record_of(pdf, recorded)) == []
    unknown_time = verification.Issued(len(pdf), hashlib.sha256(pdf).hexdigest(), None)
    assert verification.issuance_poes(pdf, unknown_time) == []


def revoked_result(test_pki) -> bytes:
    return pki.signed_by_revoked_key(test_pki, render("doc-revoked").pdf)


def test_a_revoked_signer_is_not_rescued_by_a_record(signing, test_pki) -> None:
    """Proof of existence says when a signature existed; a certificate revoked before then
    stays revoked, even for bytes tokhai (here, supposedly) recorded."""
    pdf = revoked_result(test_pki)
    for later in (timedelta(0), *LATER):
        report = verification.verify(pdf, verification.trust_of(signing), max_pages=50,
                                     original=finder(pdf), at=datetime.now(UTC) + later)
        assert report["matches_original"] is True
        (sig,) = report["signatures"]
        assert sig["revocation"] == "revoked" and not sig["trusted"]
        assert not report["valid"] and "revoked" in codes(report)
