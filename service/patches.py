"""The third-party patches, installed by one explicit call: :func:`install`, made by the
application factory (service.web.create_app), the command line (service.cli.main), the
sandbox's children (the hex reader only: they parse PDFs, they do not render) and the
benchmarks that use the fast paths. Importing a module of service/ installs nothing.

- pyHanko's hex-string reader (service.pki.pdfhex): a signature's ``/Contents`` read in one
  call instead of one token at a time, a third of a verification;
- fpdf2's font subsetting and stream compression (service.results.fpdf_speedups): our fonts
  embedded whole and compressed once per process, most of a result's rendering.

Each gives the same result as the library as it comes; ``tests/service/test_patches.py`` checks that
each is in effect after :func:`install` and that the unpatched library answers the same.
"""

from __future__ import annotations


def install() -> None:
    """Install every patch (idempotent)."""
    from service.pki import pdfhex
    from service.results import fpdf_speedups

    pdfhex.install()
    fpdf_speedups.install()


def uninstall() -> None:
    """Put the libraries back as they come (for tests)."""
    from service.pki import pdfhex
    from service.results import fpdf_speedups

    pdfhex.uninstall()
    fpdf_speedups.uninstall()


def installed() -> dict[str, bool]:
    """Which patch is in effect, by name."""
    from service.pki import pdfhex
    from service.results import fpdf_speedups

    return {"pdf_hex_strings": pdfhex.installed(), **fpdf_speedups.installed()}
