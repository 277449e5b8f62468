"""A faster reader for PDF hex strings, installed into pyHanko's parser by :func:`install`
(called by :func:`service.patches.install` and by the sandbox's children).

A signature's ``/Contents`` is a hex string of some 20,000 digits, and pyHanko reads hex
strings one token at a time: that alone was a third of a verification. This reader takes
the string in chunks and decodes it in one call, with the same rules (ISO 32000-1, 7.3.4.3:
white space is ignored, an odd final digit is followed by 0, anything else is an error) and
the same result; ``tests/service/results/test_results.py`` compares the two on random input.
pyHanko is pinned; the original is kept as ``original``.
"""

from __future__ import annotations

import binascii
import io
from typing import Any

from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.misc import PdfStreamError

original = generic.read_hex_string_from_stream
_WHITESPACE = b" \t\r\n\f\x00"
_CHUNK = 16384


def read_hex_string_from_stream(stream: Any) -> Any:
    stream.read(1)  # the opening "<"
    parts = []
    while True:
        chunk = stream.read(_CHUNK)
        if not chunk:
            raise PdfStreamError("Stream has ended unexpectedly")
        end = chunk.find(b">")
        if end >= 0:
            parts.append(chunk[:end])
            stream.seek(end + 1 - len(chunk), io.SEEK_CUR)
            break
        parts.append(chunk)
    digits = b"".join(parts).translate(None, _WHITESPACE)
    if digits.translate(None, generic.HEX_DIGITS):
        raise PdfStreamError("Unexpected token in hex string")
    if len(digits) % 2:
        digits += b"0"
    return generic.pdf_string(binascii.unhexlify(digits))


def install() -> None:
    generic.read_hex_string_from_stream = read_hex_string_from_stream


def uninstall() -> None:
    generic.read_hex_string_from_stream = original


def installed() -> bool:
    return generic.read_hex_string_from_stream is read_hex_string_from_stream
