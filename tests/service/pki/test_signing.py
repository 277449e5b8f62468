"""Signing a rendered result with an agency's key (service.pki.signer), without HTTP."""

from __future__ import annotations

import io
from datetime import UTC, datetime

import pytest
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.validation.dss import DocumentSecurityStore

from forms.results import TEMPLATES
from service.pki import validation as verification
from service.pki.seals import development_seal
from service.pki.signer import RevocationUnavailable, Signing
from service.results import rendering
from service.results.issuance import result_rows
from tests import pki

AGENCY = "UBND-XA-00004"
AGENCY_NAME = pki.AGENCIES[AGENCY][0]
SIGNED_AT = datetime(2026, 11, 27, 2, 15, 2, tzinfo=UTC)
DATA = {"nguoi_duoc_khai_sinh": {"ho_ten": "Lê Thị Thu Hà", "ngay_sinh": "2026-03-09",
                                 "gioi_tinh": "nu"},
        "nguoi_yeu_cau": {"ho_ten": "Nguyễn Văn Ấn", "so_dinh_danh": "001085012345"}}


def render(document_id: str = "doc-signing-1", signed_at: datetime = SIGNED_AT,
           template: str = "birth_extract") -> rendering.Rendered:
    """A birth extract of the test agency, rendered and not yet signed."""
    t = TEMPLATES[template]
    rows, structured = result_rows(t, None, DATA)
    return rendering.render_result(rendering.Result(
        t, AGENCY_NAME, "Hà Nội", f"7/2026/{t.symbol}", document_id,
        f"http://tokhai.test/v/{document_id}", "UBND-XA-00004-261127-0001", "1.001193",
        "001085012345", rows, structured,
        rendering.Stamp(AGENCY_NAME, signed_at, development_seal(AGENCY_NAME))))


def sign(signing: Signing, rendered: rendering.Rendered, level: str | None = None,
         agency: str = AGENCY):
    signer = signing.agency(agency)
    assert signer is not None
    return signing.sign(signer, rendered.pdf, page=rendered.page, box=rendered.box,
                        signing_time=SIGNED_AT, level=level)


def no_original(document_id: str | None, sha256: str) -> None:
    return None


@pytest.fixture(scope="module")
def signing(signing_config: str):
    s = Signing.from_file(signing_config)
    yield s
    s.close()


@pytest.mark.parametrize("level", ["B-T", "B-LT", "B-LTA"])
def test_a_result_carries_one_signature_at_the_requested_level(signing, level: str) -> None:
    rendered = render()
    signed = sign(signing, rendered, level)
    assert signed.level == level and signed.signed_at == SIGNED_AT
    assert AGENCY_NAME in signed.signer
    assert signed.pdf.startswith(rendered.pdf)  # an incremental update: the rendering is kept
    reader = PdfFileReader(io.BytesIO(signed.pdf))
    # one signature by the agency (B-LTA adds a document timestamp, which signs nothing)
    (sig,) = [s for s in reader.embedded_signatures if s.sig_object_type == "/Sig"]
    assert len(reader.embedded_signatures) == (2 if level == "B-LTA" else 1)
    assert sig.self_reported_timestamp == SIGNED_AT
    unsigned = [a["type"].native for a in sig.signer_info["unsigned_attrs"]]
    assert "signature_time_stamp_token" in unsigned  # the TSA's token is in the signature
    assert str(sig.sig_object.get("/Name")) == AGENCY_NAME
    report = verification.verify(signed.pdf, verification.trust_of(signing), max_pages=50,
                                 original=no_original)
    (checked,) = report["signatures"]
    assert checked["level"] == level and checked["intact"] and checked["trusted"]
    assert checked["signing_time"] == "2026-11-27T09:15:02+07:00"
    assert checked["timestamp"]["trusted"]
    assert "TSA" in checked["timestamp"]["authority"]


def test_the_configured_level_is_the_default(signing) -> None:
    assert sign(signing, render()).level == signing.config.level == "B-LT"


def test_an_unknown_level_is_refused(signing) -> None:
    with pytest.raises(ValueError, match="B-B"):
        sign(signing, render(), "B-B")


def test_an_agency_without_a_key_has_no_signer(signing) -> None:
    assert signing.agency("UBND-XA-99999") is None
    assert signing.agency(AGENCY) is not None


def test_each_agency_signs_with_its_own_key(signing) -> None:
    other = "UBND-XA-00005"
    signed = sign(signing, render(), "B-T", agency=other)
    assert pki.AGENCIES[other][0] in signed.signer and AGENCY_NAME not in signed.signer


def _revocation_data(pdf: bytes) -> tuple[int, int]:
    dss = DocumentSecurityStore.read_dss(PdfFileReader(io.BytesIO(pdf)))
    return len(dss.ocsps), len(dss.crls)


def test_b_lt_embeds_the_signer_s_ocsp_response(signing) -> None:
    """As from a public CA: the signer's certificate names the CA's OCSP responder, and its
    answer is in the document's security store."""
    ocsps, _ = _revocation_data(sign(signing, render(), "B-LT").pdf)
    assert ocsps >= 1


def test_a_revocation_service_that_is_down_is_unavailable(signing_config: str,
                                                          test_pki) -> None:
    """The OCSP responder down: the CRL the certificate also names proves the status. Both
    down: nothing is signed, with an error that says so (503 revocation_unavailable)."""
    fresh = Signing.from_file(signing_config)  # nothing fetched and kept yet
    try:
        with test_pki.outage("ocsp"):
            ocsps, crls = _revocation_data(sign(fresh, render(), "B-LT").pdf)
        assert crls >= 1
        fresh._forget_revocation()
        with test_pki.outage("ocsp", "crls"), pytest.raises(RevocationUnavailable) as down:
            sign(fresh, render(), "B-LT")
        assert down.value.code == "revocation_unavailable"
        assert sign(fresh, render(), "B-T").level == "B-T"  # B-T needs no revocation data
    finally:
        fresh.close()
