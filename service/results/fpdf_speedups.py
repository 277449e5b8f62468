"""Two speed-ups installed into fpdf2 (pinned) by :func:`service.patches.install`, each giving
the same document text as fpdf2 as it comes (``tests/service/test_patches.py`` checks both ways).

- Whole fonts: our fonts (already cut down to Vietnamese, 34 KB) are embedded whole, from bytes
  read once, instead of being subset and recompiled for every document (8 ms per font per PDF,
  most of a result's rendering). Other fonts are subset as fpdf2 does. Without this patch
  rendering parses and subsets the fonts for every document (service.results.rendering).
- Repeated streams: the same large stream (our fonts, embedded whole in every document) is
  compressed once per process, not for every PDF. Small and unique streams go straight to
  zlib; the bytes are zlib's either way.
"""

from __future__ import annotations

import hashlib
import zlib
from typing import Any

import fpdf.output
import fpdf.syntax
from fontTools import subset as _fonttools_subset

_ORIGINAL_SUBSET = fpdf.output.ftsubset
_ORIGINAL_ZLIB = fpdf.syntax.zlib


class WholeFontSubsetting:
    """Stands in for ``fontTools.subset`` inside fpdf2's writer: fonts marked
    ``_tokhai_whole`` are not subset; others are, as fpdf2 does."""

    Options = _fonttools_subset.Options

    class Subsetter:
        def __init__(self, options: Any = None) -> None:
            self.options = options
            self.glyphs: Any = ()

        def populate(self, glyphs: Any = (), **kwargs: Any) -> None:
            self.glyphs = glyphs

        def subset(self, font: Any) -> None:
            if getattr(font, "_tokhai_whole", False):
                return
            real = _fonttools_subset.Subsetter(self.options)
            real.populate(glyphs=self.glyphs)
            real.subset(font)


class RepeatedStreamCompression:
    """Stands in for ``zlib`` inside fpdf2's stream objects: large streams are compressed once
    per process (at most 16 kept)."""

    _cache: dict[bytes, bytes] = {}

    def __getattr__(self, name: str) -> Any:
        return getattr(zlib, name)

    def compress(self, data: bytes, level: int = -1) -> bytes:
        if len(data) < 16384:
            return zlib.compress(data, level=level)
        key = hashlib.blake2b(data, digest_size=16).digest() + bytes([level & 0xFF])
        cached = self._cache.get(key)
        if cached is None:
            cached = zlib.compress(data, level=level)
            if len(self._cache) < 16:
                self._cache[key] = cached
        return cached


def install() -> None:
    fpdf.output.ftsubset = WholeFontSubsetting
    # fpdf2 calls only zlib.compress: this object has it
    fpdf.syntax.zlib = RepeatedStreamCompression()  # type: ignore[assignment]  # stands in for the module


def uninstall() -> None:
    fpdf.output.ftsubset = _ORIGINAL_SUBSET
    fpdf.syntax.zlib = _ORIGINAL_ZLIB


def installed() -> dict[str, bool]:
    """Which of the two patches is in effect."""
    return {"whole_fonts": fpdf.output.ftsubset is WholeFontSubsetting,
            "repeated_streams": isinstance(fpdf.syntax.zlib, RepeatedStreamCompression)}
