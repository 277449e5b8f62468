"""Hostile PDFs (issue #10, findings 3 and 7): verification (anyone, no token) and digitisation
(officers) refuse each with a clear 422 within seconds, and the memory of the processes doing
the work stays bounded.

Each attack is built here: a signed result with hundreds of extra signature fields pointing at
its one signature, megabytes of junk after ``%PDF-``, a data file or a page that inflates to
hundreds of megabytes or a gigabyte, a broken cross-reference table over megabytes of objects,
more objects than the limit. Memory is measured in a fresh process (``pdf_probe``): the peak
resident size of the largest process involved, the sandbox's children included.
"""

from __future__ import annotations

import dataclasses
import io
import json
import os
import subprocess
import sys
import tempfile
import time
import zlib
from datetime import UTC, datetime
from pathlib import Path

import pytest
from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter

from forms.results import TEMPLATES
from service.config import Settings
from service.pki.pdflimits import PdfLimits
from service.results import rendering
from tests.conftest import _token, make_app
from tests.service.records.test_digitised import birth_certificate, pdf_of

ROOT = Path(__file__).resolve().parents[2]
AGENCY = "UBND-XA-00004"
MiB = 1024 * 1024
#: one request, however hostile, is answered within this (the CPU budget is 3 s)
WALL_SECONDS = 10.0
#: what a refused bomb may add to the peak memory of the processes doing the work
GROWTH_MIB = 120


# -- building hostile PDFs --------------------------------------------------------------------

def inflating_to(size: int) -> bytes:
    """A Flate stream of about size/1000 bytes that inflates to ``size`` zero bytes (a multiple
    of 1 MiB), made without compressing them all: each MiB is one fully flushed raw deflate
    block, the same every time."""
    chunk = bytes(MiB)
    deflate = zlib.compressobj(9, zlib.DEFLATED, -15)
    block = deflate.compress(chunk) + deflate.flush(zlib.Z_FULL_FLUSH)
    adler = 1
    for _ in range(size // MiB):
        adler = zlib.adler32(chunk, adler)
    # zlib header, the blocks, an empty final block, the checksum
    return b"\x78\xda" + block * (size // MiB) + b"\x03\x00" + adler.to_bytes(4, "big")


def _flate(encoded: bytes) -> generic.StreamObject:
    return generic.StreamObject({generic.pdf_name("/Filter"): generic.pdf_name("/FlateDecode")},
                                encoded_data=encoded)


def _updated(pdf: bytes, change) -> bytes:
    """``pdf`` with an incremental update made by ``change(writer)``."""
    writer = IncrementalPdfFileWriter(io.BytesIO(pdf))
    change(writer)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def with_signature_fields(signed: bytes, count: int) -> bytes:
    """``count`` more signature fields, each with the document's one signature as its value."""
    def change(writer) -> None:
        form = writer.root["/AcroForm"]
        signature = form["/Fields"][0].get_object().raw_get("/V")
        for i in range(count):
            form["/Fields"].append(writer.add_object(generic.DictionaryObject({
                generic.pdf_name("/FT"): generic.pdf_name("/Sig"),
                generic.pdf_name("/T"): generic.pdf_string(f"Them{i}"),
                generic.pdf_name("/V"): signature})))
        writer.update_container(form)
    return _updated(signed, change)


def with_data_file(signed: bytes, encoded: bytes) -> bytes:
    """The embedded data file (``ket-qua.json``) replaced by a Flate stream."""
    def change(writer) -> None:
        spec = writer.root["/Names"]["/EmbeddedFiles"]["/Names"][1].get_object()
        spec["/EF"][generic.pdf_name("/F")] = writer.add_object(_flate(encoded))
        writer.update_container(spec)
    return _updated(signed, change)


def with_page_stream(pdf: bytes, encoded: bytes) -> bytes:
    """A Flate stream added to the first page's content."""
    def change(writer) -> None:
        page = writer.root["/Pages"]["/Kids"][0].get_object()
        page["/Contents"] = generic.ArrayObject([page.raw_get("/Contents"),
                                                 writer.add_object(_flate(encoded))])
        writer.update_container(page)
    return _updated(pdf, change)


def with_objects(pdf: bytes, count: int) -> bytes:
    def change(writer) -> None:
        for i in range(count):
            writer.add_object(generic.NumberObject(i))
    return _updated(pdf, change)


def with_broken_xref(pdf: bytes, filler: bytes) -> bytes:
    """``filler`` before the cross-reference table, and ``startxref`` pointing into it: the
    reader has to find the objects by scanning the file."""
    cut = pdf.rindex(b"\nxref") + 1
    body = pdf[:cut] + filler
    trailer = pdf[cut:pdf.rindex(b"startxref")]
    return body + trailer + b"startxref\n%d\n%%%%EOF\n" % (len(body) // 2)


# -- fixtures ---------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def signed(app) -> bytes:
    """A result rendered and signed as tokhai issues them (B-LT, with its data file)."""
    signing = app.extensions["tokhai"].signing
    agency = signing.agency(AGENCY)
    now = datetime.now(UTC)
    rendered = rendering.render_result(rendering.Result(
        TEMPLATES["decision"], agency.name, "Hà Nội", "7/2026/QĐ", "doc-bomb", "http://t/bomb",
        f"{AGENCY}-261127-0007", "local.x", "001085012345", [("Nội dung", "Đồng ý")],
        {"document_id": "doc-bomb"}, rendering.Stamp(agency.name, now, agency.seal_png)))
    return signing.sign(agency, rendered.pdf, page=rendered.page, box=rendered.box,
                        signing_time=now).pdf


@pytest.fixture(scope="module")
def warm(app, signed) -> None:
    """One verification first: the start of the sandbox's fork server is not what is timed."""
    assert verify(app.test_client(), signed)[0].status_code == 200


def verify(client, body: bytes):
    started = time.perf_counter()
    answer = client.post("/api/v1/verifications", data=body,
                         headers={"Content-Type": "application/pdf"})
    return answer, time.perf_counter() - started


def digitise(client, app, body: bytes):
    token = _token(app, "officer", agency_code=AGENCY)
    started = time.perf_counter()
    answer = client.post("/api/v1/digitised-documents", query_string={"kind": "birth_certificate"},
                         data=body, headers={"Content-Type": "application/pdf",
                                             "Authorization": f"Bearer {token}"})
    return answer, time.perf_counter() - started


def probe(action: str, pdf: bytes, tmp_path: Path, signing_config: str | None = None) -> dict:
    """:mod:`tests.security.pdf_probe` on ``pdf``: status, code, seconds, memory growth."""
    data_dir = Path(tempfile.mkdtemp(prefix=f"probe-{action}-", dir=tmp_path))
    path = data_dir / "upload.pdf"
    path.write_bytes(pdf)
    args = [sys.executable, "-m", "tests.security.pdf_probe", action, str(path), str(data_dir)]
    done = subprocess.run(args + ([signing_config] if signing_config else []), cwd=ROOT,
                          capture_output=True, text=True, timeout=120,
                          env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def assert_bounded(cost: dict, harmless: dict) -> None:
    """The request's process grew by less than :data:`GROWTH_MIB`, and so did the largest
    child, compared with a harmless upload's."""
    assert cost["seconds"] < WALL_SECONDS, cost
    assert cost["growth_mib"] < GROWTH_MIB, cost
    assert cost["children_peak_mib"] - harmless["children_peak_mib"] < GROWTH_MIB, (cost,
                                                                                     harmless)


# -- verification -----------------------------------------------------------------------------

def test_hundreds_of_signature_fields_are_refused_at_once(client, signed, warm) -> None:
    """400 extra fields pointing at the one signature cost 23 s of CPU, growing with their
    number; now the fields are counted first."""
    answer, seconds = verify(client, with_signature_fields(signed, 400))
    assert answer.status_code == 422, answer.get_json()
    body = answer.get_json()
    assert body["code"] == "too_many_signatures" and body["field"] == "body"
    assert "more than 20 signatures" in body["message_en"]
    assert seconds < WALL_SECONDS
    # a handful of signatures is verified as before
    few = verify(client, with_signature_fields(signed, 3))[0]
    assert few.status_code == 200 and len(few.get_json()["signatures"]) == 4


def test_verification_past_its_cpu_budget_is_cut_off(tmp_path, signing_config, signed) -> None:
    """What the structural checks let through is stopped by the sandbox's CPU budget: the
    same 400 fields, allowed by a lax signature limit, are refused when the budget (1 s) runs
    out, the service answers meanwhile, and the next verification is served as usual."""
    lax = make_app(f"sqlite:///{tmp_path / 'lax.db'}", tmp_path, signing_config=signing_config,
                   verify_max_signatures=1000, pdf_cpu_seconds=1)
    client = lax.test_client()
    assert verify(client, signed)[0].status_code == 200  # warm
    answer, seconds = verify(client, with_signature_fields(signed, 400))
    assert answer.status_code == 422, answer.get_json()
    assert answer.get_json()["code"] == "pdf_too_costly"
    assert seconds < 2 * 1 + 1 + 1.5  # the parent's wall limit, and killing the child
    assert client.get("/healthz").status_code == 200
    again, seconds = verify(client, signed)
    assert again.status_code == 200 and again.get_json()["signatures"][0]["intact"]


def test_megabytes_of_junk_after_the_header_are_refused_at_once(client, warm) -> None:
    """19 MB after ``%PDF-`` cost 9 s (the reader looked for the trailer a byte at a time)."""
    answer, seconds = verify(client, b"%PDF-1.7\n" + b"A" * (19 * MiB))
    assert answer.status_code == 422 and answer.get_json()["code"] == "unreadable_pdf"
    assert seconds < 2.0


def test_an_inflating_data_file_is_refused_within_memory(tmp_path, signed, signing_config) -> None:
    """A 250 MiB data file in a 0.3 MB upload added 392 MB to the process; now a stream inflates
    to at most 32 MiB, and the document is refused."""
    bomb = with_data_file(signed, inflating_to(250 * MiB))
    assert len(bomb) < MiB
    cost = probe("verify", bomb, tmp_path, signing_config)
    assert (cost["status"], cost["code"]) == (422, "pdf_too_large"), cost
    assert_bounded(cost, probe("verify", signed, tmp_path, signing_config))


@pytest.mark.parametrize("attack", ["page_bomb", "objects"])
def test_other_hostile_uploads_are_bounded(client, signed, warm, attack) -> None:
    """A page that inflates to 1 GiB (verification does not read pages: the report comes as
    usual) and more objects than the limit (refused)."""
    if attack == "page_bomb":
        answer, seconds = verify(client, with_page_stream(signed, inflating_to(1024 * MiB)))
        assert answer.status_code == 200 and not answer.get_json()["valid"]
    else:
        answer, seconds = verify(client, with_objects(signed, PdfLimits().max_objects + 1))
        assert answer.status_code == 422 and answer.get_json()["code"] == "too_many_objects"
    assert seconds < WALL_SECONDS


# -- digitisation -----------------------------------------------------------------------------

def test_digitising_a_flate_bomb_is_refused_within_memory(tmp_path) -> None:
    """A 1 MB page that inflates to 1 GiB (a 2 MB one grew the process by 3.45 GB)."""
    sound = pdf_of(birth_certificate())
    bomb = with_page_stream(sound, inflating_to(1024 * MiB))
    assert len(bomb) < 2 * MiB
    cost = probe("digitise", bomb, tmp_path)
    assert (cost["status"], cost["code"]) == (422, "pdf_too_large"), cost
    assert_bounded(cost, probe("digitise", sound, tmp_path))


def test_digitising_a_broken_xref_over_megabytes_is_cut_off(client, app, warm) -> None:
    """9 MB of objects and a wrong ``startxref``: pdfminer parsed every object to rebuild the
    table (46 s); the CPU budget ends it. The same file with a sound table is read."""
    sound = pdf_of(birth_certificate())
    assert digitise(client, app, with_broken_xref(sound, b""))[0].status_code == 201
    filler = b"99 0 obj\n<< /A [1 2 3] >>\nendobj\n" * (9 * MiB // 34)
    answer, seconds = digitise(client, app, with_broken_xref(sound, filler))
    assert answer.status_code == 422 and answer.get_json()["code"] == "pdf_too_costly"
    assert seconds < WALL_SECONDS


def test_digitising_more_objects_than_the_limit_is_refused(client, app, warm) -> None:
    answer, seconds = digitise(client, app, with_objects(pdf_of(birth_certificate()),
                                                         PdfLimits().max_objects + 1))
    assert answer.status_code == 422 and answer.get_json()["code"] == "too_many_objects"
    assert seconds < WALL_SECONDS


# -- the limits themselves --------------------------------------------------------------------

def test_the_default_limits_are_the_configured_defaults(monkeypatch) -> None:
    for name in list(os.environ):
        if name.startswith(("TOKHAI_PDF_", "TOKHAI_VERIFY_MAX_SIGNATURES")):
            monkeypatch.delenv(name)
    assert PdfLimits.from_settings(Settings.from_env(database_url="sqlite://")) == PdfLimits()
    monkeypatch.setenv("TOKHAI_PDF_CPU_SECONDS", "1.5")
    assert PdfLimits.from_settings(Settings.from_env(database_url="sqlite://")).cpu_seconds == 1.5


def test_a_fresh_sandbox_child_verifies_as_the_process_does(app, signed, monkeypatch) -> None:
    """The trust anchors cross to the child as DER: an unpickled asn1crypto certificate is
    unusable in a child that has not built one yet (a B-T signature, the first job of a new
    child, was reported invalid)."""
    from service.pki import sandbox
    from service.pki import validation as verification

    signing = app.extensions["tokhai"].signing
    agency = signing.agency(AGENCY)
    now = datetime.now(UTC)
    rendered = rendering.render_result(rendering.Result(
        TEMPLATES["decision"], agency.name, "Hà Nội", "8/2026/QĐ", "doc-bt", "http://t/bt",
        f"{AGENCY}-261127-0008", "local.x", "001085012345", [("Nội dung", "Đồng ý")], {},
        rendering.Stamp(agency.name, now, agency.seal_png)))
    pdf = signing.sign(agency, rendered.pdf, page=rendered.page, box=rendered.box,
                       signing_time=now, level="B-T").pdf
    fresh = sandbox.Sandbox()
    monkeypatch.setattr(sandbox, "SANDBOX", fresh)
    try:
        report = verification.verify(pdf, verification.trust_of(signing), max_pages=10,
                                     original=lambda *_: None)
    finally:
        fresh.close()
    assert report["signatures"][0]["level"] == "B-T", report["problems"]
    assert report["signatures"][0]["valid"] and report["signatures"][0]["trusted"]


def test_when_every_sandbox_child_is_busy_the_answer_is_503_with_retry_after(
        client, app, signed, monkeypatch) -> None:
    """A worker whose PDF children are all taken waits no longer than the wall limit, then
    says when to come back, for verification and digitisation alike."""
    from service.pki import sandbox

    settings = app.extensions["tokhai"].settings
    monkeypatch.setattr(app.extensions["tokhai"], "settings",
                        dataclasses.replace(settings, pdf_cpu_seconds=0.2))
    busy = sandbox.Sandbox(max_children=1)
    monkeypatch.setattr(sandbox, "SANDBOX", busy)
    assert busy._slots.acquire(timeout=1)  # the one child is taken by another upload
    try:
        for answer, took in (verify(client, signed), digitise(client, app, signed)):
            assert answer.status_code == 503, answer.get_json()
            assert answer.get_json()["code"] == "pdf_busy"
            assert int(answer.headers["Retry-After"]) > 0
            assert took < 5
    finally:
        busy._slots.release()
        busy.close()
