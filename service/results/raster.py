"""Pages of a PDF tokhai rendered itself, as PNG images: the preview of a result before it is
signed, which a page shows as images (the pages' security policy allows no frame and no
object, so a browser's PDF viewer cannot be embedded).

PDFium (pypdfium2, already installed for pdfplumber) draws the pages. It is not thread-safe,
so pages are drawn one at a time per process. Only PDFs tokhai made are drawn here: an upload
is never rasterised (verification reads uploads in its sandbox, service.pki.sandbox).
"""

from __future__ import annotations

import io
import threading
from typing import Any

#: A4 at 96 dots per inch (72 points an inch): 794 x 1123 pixels, text legible on a screen
SCALE = 96 / 72
#: pages drawn at most (a result has one or two)
MAX_PAGES = 10

_LOCK = threading.Lock()


def _pdfium() -> Any:
    """pypdfium2, loaded when a page is first drawn (importing this module loads nothing)."""
    import pypdfium2  # type: ignore[import-untyped]

    return pypdfium2


def page_count(pdf: bytes) -> int:
    with _LOCK:
        document = _pdfium().PdfDocument(pdf)
        try:
            return len(document)
        finally:
            document.close()


def page_png(pdf: bytes, index: int, scale: float = SCALE) -> bytes | None:
    """Page ``index`` (0-based) of ``pdf`` as a PNG, or None past its last page (or past
    ``MAX_PAGES``)."""
    if index < 0 or index >= MAX_PAGES:
        return None
    with _LOCK:
        document = _pdfium().PdfDocument(pdf)
        try:
            if index >= len(document):
                return None
            page = document[index]
            try:
                bitmap = page.render(scale=scale, may_draw_forms=False)
                image = bitmap.to_pil()
            finally:
                page.close()
        finally:
            document.close()
    out = io.BytesIO()
    image.convert("RGB").save(out, format="PNG", optimize=True)
    return out.getvalue()
