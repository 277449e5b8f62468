"""Limits on the PDFs tokhai parses for others: anyone's upload to verify, an officer's to
digitise.

A PDF is a small file that can ask for a great deal of work: a Flate stream of a few megabytes
inflates to gigabytes, hundreds of signature fields pointing at one signature each cost a full
validation, megabytes without a trailer make the parsers read backwards one byte at a time, a
broken cross-reference table sends pdfminer through the whole file. So, in this order:

1. cheap checks on the bytes and the cross-reference table before any real work
   (:func:`check_trailer`, and the object and signature counts in the callers);
2. every stream inflated under a cap per stream and a total per document: pyHanko through its
   own :class:`~pyhanko.pdf_utils.decode_limits.DecodeLimits` (:meth:`PdfLimits.decode_limits`),
   pdfminer through the bounded decoders installed here (:func:`bounded_inflation`);
3. the whole parse in a child process with a CPU-time and memory budget (:func:`run`), which
   also bounds what 1 and 2 do not foresee.

Every refusal is a :class:`PdfRefused` (invalid data; :class:`PdfBusy`, unavailable, when
every parsing process is busy) with a stable code; the settings are ``TOKHAI_PDF_*`` and
``TOKHAI_VERIFY_MAX_SIGNATURES`` (``service/config.py``).
"""

from __future__ import annotations

import io
import re
import zlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

from pdfminer import lzw, pdftypes
from pyhanko.pdf_utils.decode_limits import DecodeLimits, DocumentDecodeBudget, StreamDecodeLimits

from service.errors import InvalidData, Unavailable
from service.pki import sandbox

MiB = 1024 * 1024


class PdfRefused(InvalidData):
    """A PDF that is not processed: ``code`` is machine-readable, ``message`` Vietnamese,
    ``message_en`` English."""

    def __reduce__(self) -> tuple[Any, ...]:  # crosses the process boundary intact
        return type(self), (self.code, self.message, self.message_en, self.field)


class PdfBusy(Unavailable, PdfRefused):
    """Every process that parses PDFs is busy: try again later."""


@dataclass(frozen=True)
class PdfLimits:
    """The defaults are those of ``service/config.py`` (a test keeps them equal)."""

    #: decoded bytes of one stream
    max_stream_bytes: int = 32 * MiB
    #: decoded bytes of all streams of a document (pyHanko counts it per revision it reads)
    max_inflated_bytes: int = 128 * MiB
    #: objects in the cross-reference tables, all revisions together
    max_objects: int = 100_000
    #: signature fields (verification); a document has at most 3 revisions per signature
    #: (the signature, its validation data, a document timestamp)
    max_signatures: int = 20
    cpu_seconds: float = 3.0
    #: memory a parse may take on top of what the parsing process holds already
    memory_bytes: int = 512 * MiB

    @classmethod
    def from_settings(cls, settings: Any) -> PdfLimits:
        return cls(settings.pdf_max_stream_bytes, settings.pdf_max_inflated_bytes,
                   settings.pdf_max_objects, settings.verify_max_signatures,
                   settings.pdf_cpu_seconds, settings.pdf_memory_bytes)

    @property
    def max_revisions(self) -> int:
        return 3 * self.max_signatures + 1

    def decode_limits(self) -> DecodeLimits:
        """The same caps, for pyHanko's reader."""
        return DecodeLimits(
            per_stream=StreamDecodeLimits(max_output_size=self.max_stream_bytes),
            document_budget=DocumentDecodeBudget(base_allowance=self.max_inflated_bytes,
                                                 max_ratio=0))


def too_large(limits: PdfLimits) -> PdfRefused:
    return PdfRefused(
        "pdf_too_large",
        f"Tệp PDF giải nén ra quá lớn (giới hạn {limits.max_stream_bytes // MiB} MiB mỗi luồng, "
        f"{limits.max_inflated_bytes // MiB} MiB cả tệp); không xử lý được.",
        f"The PDF inflates beyond the limits ({limits.max_stream_bytes // MiB} MiB per "
        f"stream, {limits.max_inflated_bytes // MiB} MiB in all).")


def too_many(what: str, what_en: str, limit: int) -> PdfRefused:
    """Counting stops past the limit: the message names the limit, not the count."""
    return PdfRefused(f"too_many_{what_en}", f"Tệp PDF có hơn {limit} {what}; quá giới hạn.",
                      f"The PDF has more than {limit} {what_en}; at most {limit} are "
                      "processed.")


def unreadable(detail: str) -> PdfRefused:
    return PdfRefused("unreadable_pdf", "Tệp PDF bị hỏng, không đọc được.",
                      f"The PDF cannot be read ({detail}).")


def run(function: Callable[..., Any], *args: Any, limits: PdfLimits) -> Any:
    """``function(*args)`` in the sandbox under the limits' budget; an overrun is refused."""
    try:
        return sandbox.SANDBOX.run(function, *args, budget=sandbox.Budget(
            limits.cpu_seconds, limits.memory_bytes))
    except sandbox.Overrun as e:
        if e.kind == "memory":
            raise PdfRefused(
                "pdf_too_large", "Xử lý tệp PDF cần quá nhiều bộ nhớ; không xử lý được.",
                f"Processing the PDF needs more than {limits.memory_bytes // MiB} MiB of "
                "memory.") from None
        if e.kind == "busy":
            raise PdfBusy("pdf_busy", "Hệ thống đang bận xử lý tệp khác; hãy thử lại sau.",
                          "Busy with other PDFs; try again later.") from None
        raise PdfRefused(
            "pdf_too_costly", f"Xử lý tệp PDF vượt quá giới hạn {limits.cpu_seconds:g} giây; "
            "không xử lý được.",
            f"Processing the PDF takes more than {limits.cpu_seconds:g} s of CPU.") from None


#: the end of a file as the parsers read it: ``startxref``, the offset and ``%%EOF`` on lines
#: of their own in the last KiB (pyHanko requires ``%%EOF`` there)
_TRAILER = re.compile(rb"[\r\n]startxref[ \t\r\n]+\d+[ \t]*[\r\n]+%%EOF")


def check_trailer(data: bytes) -> None:
    """Refuse a file without a proper end. Both parsers find the cross-reference table by
    reading backwards from the end a byte or a line at a time: over megabytes without a line
    break that took seconds (pyHanko), and pdfminer then scans the whole file."""
    if not _TRAILER.search(data[-1100:]):
        raise unreadable("no startxref and %%EOF at its end")


# -- pdfminer ---------------------------------------------------------------------------------

class _Budget:
    def __init__(self, limits: PdfLimits) -> None:
        self.left, self.per_stream = limits.max_inflated_bytes, limits.max_stream_bytes

    def cap(self) -> int:
        """The most the next stream may inflate to; refused when nothing is left."""
        cap = min(self.left, self.per_stream)
        if cap <= 0:
            raise _Refusal
        return cap


#: the budget of the document being read, if it is bounded
_BUDGET: ContextVar[_Budget | None] = ContextVar("pdf_inflation_budget", default=None)


class _Refusal(BaseException):
    """Raised through pdfminer and pdfplumber to :func:`bounded_inflation`; a BaseException,
    so that their ``except Exception`` around damaged objects does not swallow it and go on
    reading."""


class _InflateCapped:
    """``zlib.decompressobj`` whose total output is capped (pdfminer's reader of damaged
    streams feeds it a byte at a time)."""

    def __init__(self, cap: int) -> None:
        self._inner, self._left = zlib.decompressobj(), cap

    def decompress(self, data: bytes, max_length: int = 0) -> bytes:
        out = self._inner.decompress(data, self._left + 1)
        self._left -= len(out)
        if self._left < 0:
            raise _Refusal
        return out

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)


class _BoundedZlib:
    """The ``zlib`` pdfminer's streams see."""

    error = zlib.error

    @staticmethod
    def decompress(data: bytes) -> bytes:
        budget = _BUDGET.get()
        if budget is None:
            return zlib.decompress(data)
        cap = budget.cap()
        inflater = zlib.decompressobj()
        out = inflater.decompress(data, cap + 1)
        if len(out) > cap:
            raise _Refusal
        if not inflater.eof:  # as zlib.decompress: pdfminer then reads it as damaged
            raise zlib.error("Error -5 while decompressing data: incomplete or truncated stream")
        return out

    @staticmethod
    def decompressobj(*args: Any) -> Any:
        budget = _BUDGET.get()
        return zlib.decompressobj(*args) if budget is None else _InflateCapped(budget.cap())


def _lzw(data: bytes) -> bytes:
    budget = _BUDGET.get()
    if budget is None:
        return lzw.lzwdecode(data)
    cap = budget.cap()
    out = bytearray()
    for chunk in lzw.LZWDecoder(io.BytesIO(data)).run():
        out += chunk
        if len(out) > cap:
            raise _Refusal
    return bytes(out)


_decode = pdftypes.PDFStream.decode


def _charged_decode(self: pdftypes.PDFStream) -> None:
    """Every decoded stream is charged to the document's total (run-length and predictors
    included, which the two decoders above do not see)."""
    _decode(self)
    budget = _BUDGET.get()
    if budget is not None and self.data is not None:
        budget.left -= len(self.data)
        if budget.left < 0 or len(self.data) > budget.per_stream:
            raise _Refusal


pdftypes.zlib = _BoundedZlib  # type: ignore[assignment]  # a class standing in for the module
pdftypes.lzwdecode = _lzw
pdftypes.PDFStream.decode = _charged_decode  # type: ignore[method-assign]  # pdfminer, patched


@contextmanager
def bounded_inflation(limits: PdfLimits) -> Iterator[None]:
    """pdfminer's reading inside the block inflates at most ``limits``' bytes per stream and in
    all, or the block raises :class:`PdfRefused` (``pdf_too_large``). Outside such a block
    pdfminer is unbounded, as before (tokhai's own PDFs in tests)."""
    token = _BUDGET.set(_Budget(limits))
    try:
        yield
    except _Refusal:
        raise too_large(limits) from None
    finally:
        _BUDGET.reset(token)
