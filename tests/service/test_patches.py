"""The third-party patches (service.patches): in effect after install(), and the libraries as
they come answer the same."""

from __future__ import annotations

import io
import random
import zlib
from datetime import UTC, datetime

import pdfplumber
import pytest

from forms.results import TEMPLATES
from service import patches
from service.pki import pdfhex
from service.pki.seals import development_seal
from service.results import fpdf_speedups, rendering


@pytest.fixture
def unpatched():
    """The libraries as they come for one test; the patches back afterwards."""
    patches.uninstall()
    rendering.forget_parsed_fonts()
    yield
    rendering.forget_parsed_fonts()
    patches.install()


def test_install_puts_every_patch_in_effect() -> None:
    patches.install()
    assert patches.installed() == {"pdf_hex_strings": True, "whole_fonts": True,
                                   "repeated_streams": True}
    from pyhanko.pdf_utils import generic

    assert generic.read_hex_string_from_stream is pdfhex.read_hex_string_from_stream


def test_uninstall_restores_the_libraries(unpatched) -> None:
    import fpdf.output
    import fpdf.syntax
    from fontTools import subset
    from pyhanko.pdf_utils import generic

    assert not any(patches.installed().values())
    assert generic.read_hex_string_from_stream is pdfhex.original
    assert fpdf.output.ftsubset is subset and fpdf.syntax.zlib is zlib


def _result() -> rendering.Result:
    t = TEMPLATES["decision"]
    signed_at = datetime(2026, 11, 27, 2, 15, 2, tzinfo=UTC)
    return rendering.Result(
        t, "Ủy ban nhân dân xã Đồng Tâm", "Hà Nội", f"7/2026/{t.symbol}", "doc-id-1",
        "http://tokhai.test/v/doc-id-1", "UBND-XA-00004-261127-0001", "1.001193",
        "001085012345", [("Nội dung", "Chấp thuận đề nghị của ông Nguyễn Văn Ấn")],
        {"so": 7}, rendering.Stamp("Ủy ban nhân dân xã Đồng Tâm", signed_at,
                                   development_seal("X")))


def _read(pdf: bytes) -> tuple[list[str], int]:
    with pdfplumber.open(io.BytesIO(pdf)) as opened:
        return [page.extract_text() for page in opened.pages], len(opened.pages)


def test_rendering_reads_the_same_without_the_fpdf_patches(unpatched) -> None:
    plain = rendering.render_result(_result())
    patches.install()
    rendering.forget_parsed_fonts()
    fast = rendering.render_result(_result())
    assert _read(fast.pdf) == _read(plain.pdf)
    assert (fast.page, fast.box, fast.embedded) == (plain.page, plain.box, plain.embedded)
    # the fonts go whole into the patched document, subset into the plain one
    assert len(fast.pdf) > len(plain.pdf)


def test_repeated_stream_compression_gives_zlib_bytes() -> None:
    rng = random.Random(3)
    compression = fpdf_speedups.RepeatedStreamCompression()
    for size in (10, 20_000, 200_000):
        data = bytes(rng.choice(b"abcdefgh \n") for _ in range(size))
        for level in (-1, 6, 9):
            assert compression.compress(data, level) == zlib.compress(data, level=level)
            assert compression.compress(data, level) == zlib.compress(data, level=level)
