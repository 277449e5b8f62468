"""Importing a printed form: an official form's PDF to a draft definition the designer reviews
(issue #17). The reading and guessing are :mod:`forms.imports` (a pure library); this module is
the operation the command line, the API and the designers' pages share:

* the limits (:data:`MAX_BYTES`, :data:`MAX_PAGES`, :data:`MAX_SECONDS`), checked before any
  parsing where they can be;
* the catalogue the importer learns bindings from: the shipped catalogue's definitions
  (:data:`service.catalogue.CATALOGUE_DIR`), parsed once per process;
* the import itself in a sandboxed child process (:mod:`service.pki.sandbox`) under a CPU-time,
  memory and wall-time budget, so that no PDF can hold a worker for longer;
* every refusal as a domain error naming the field ``file`` (:func:`refusal`);
* a new draft from an imported definition (:func:`create_draft`), under the next free version
  number when the form exists already.

Nothing is stored by :func:`import_pdf`: the draft is returned, and only
:func:`create_draft` (the designers' pages) stores it, through :mod:`service.catalogue`.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from forms.lines import replace_top_level
from service import catalogue
from service.errors import Conflict, DomainError, InvalidData, TooLarge, Unavailable
from service.pki import sandbox

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from forms.imports.draft import Draft
    from forms.imports.reader import Limits
    from forms.model import FormDefinition
    from storage.models import FormVersion

log = logging.getLogger("tokhai")

MiB = 1024 * 1024
#: the largest PDF imported (the API's request limit is this plus room for a multipart body)
MAX_BYTES = 10 * MiB
#: the most pages a PDF imported may have
MAX_PAGES = 20
#: the reading's own time budget (forms.imports.reader stops past it)
MAX_SECONDS = 30.0
#: the sandbox's CPU budget: the reader's, and a little for the draft
CPU_SECONDS = MAX_SECONDS + 5.0
#: the memory an import may add to its process (pages rendered for OCR included)
MEMORY_BYTES = 768 * MiB
#: the field every refusal names: the multipart field, the page's file input
FIELD = "file"

#: imports have their own sandbox children: a slow import does not hold the children that
#: verify PDFs for everyone
_SANDBOX = sandbox.Sandbox(max_children=2)


def limits() -> Limits:
    from forms.imports.reader import Limits

    return Limits(max_bytes=MAX_BYTES, max_pages=MAX_PAGES, max_seconds=MAX_SECONDS)


@functools.cache
def catalogue_forms() -> tuple[FormDefinition, ...]:
    """The shipped catalogue's definitions, parsed once per process (a file that does not
    parse is left out: the catalogue's own tests keep every file valid)."""
    from forms.language import DefinitionError, parse_text

    found = []
    for path in sorted(catalogue.CATALOGUE_DIR.glob("*.yaml")):
        try:
            found.append(parse_text(path.read_bytes(), path.name))
        except DefinitionError:
            log.warning("catalogue file does not parse; not used by the importer",
                        extra={"file": path.name})
    return tuple(found)


def refusal(code: str, message: str, message_en: str) -> DomainError:
    """A refused PDF as the domain error of its kind, naming the field ``file``: too large
    is :class:`TooLarge`, anything else (not a PDF, damaged, encrypted, empty, too many pages,
    a compression bomb, too slow, no text, not Vietnamese) :class:`InvalidData`, as the
    service's other PDF refusals."""
    kind: type[DomainError] = TooLarge if code == "too_large" else InvalidData
    return kind(code, message, message_en, field=FIELD)


def too_large(size: int | None = None) -> DomainError:
    over = f" ({size / MiB:.1f} MiB)" if size is not None else ""
    return refusal("too_large",
                   f"Tệp PDF quá lớn{over}: tối đa {MAX_BYTES // MiB} MiB.",
                   f"The PDF is too large{over}: at most {MAX_BYTES // MiB} MiB.")


def _in_child(data: bytes) -> tuple[str, Any]:
    """The job the sandbox runs: the draft, or the reader's refusal as plain values (an
    exception with its own constructor does not cross the process boundary intact)."""
    from forms.imports.draft import import_pdf as run
    from forms.imports.reader import ImportRefused

    try:
        return "draft", run(data, catalogue=catalogue_forms(), limits=limits())
    except ImportRefused as e:
        return "refused", (e.code, e.message, e.message_en)


def _sandboxed(job: Callable[..., tuple[str, Any]], *args: Any) -> tuple[str, Any]:
    return _SANDBOX.run(job, *args, budget=sandbox.Budget(CPU_SECONDS, MEMORY_BYTES))


#: how the job runs (tests run it in the test's process)
run_job: Callable[..., tuple[str, Any]] = _sandboxed


def import_pdf(data: bytes) -> Draft:
    """The draft definition read from a form's PDF, with its findings; a :class:`DomainError`
    naming ``file`` when the PDF is refused. Stores nothing."""
    if len(data) > MAX_BYTES:
        raise too_large(len(data))
    if not data:
        raise refusal("empty", "Tệp tải lên không có nội dung.", "The uploaded file is empty.")
    try:
        outcome, value = run_job(_in_child, data)
    except sandbox.Overrun as e:
        if e.kind == "busy":
            raise Unavailable("busy", "Hệ thống đang bận đọc tệp PDF khác; hãy thử lại sau.",
                              "Busy reading other PDFs; try again later.",
                              field=FIELD) from None
        if e.kind == "memory":
            raise refusal("too_costly",
                          f"Đọc tệp PDF cần quá nhiều bộ nhớ (quá {MEMORY_BYTES // MiB} MiB); "
                          "không nhập được.",
                          f"Reading the PDF needs more than {MEMORY_BYTES // MiB} MiB of "
                          "memory; it cannot be imported.") from None
        raise refusal("too_slow",
                      f"Đọc tệp PDF mất quá {MAX_SECONDS:g} giây; không nhập được.",
                      f"Reading the PDF takes more than {MAX_SECONDS:g} s; it cannot be "
                      "imported.") from None
    if outcome == "refused":
        raise refusal(*value)
    draft: Draft = value
    return draft


def create_draft(session: Session, draft: Draft, actor: str) -> FormVersion:
    """A new draft version holding an imported definition's text, as
    :func:`service.catalogue.create_draft` makes one; when the form id is already used, under
    the form's next free version number (the import never replaces anything)."""
    text = draft.yaml
    form_id = draft.definition.get("id")
    number = catalogue.next_version(session, form_id) if isinstance(form_id, str) else 1
    if number != draft.definition.get("version"):
        if number > catalogue.MAX_VERSION:
            raise Conflict("no_version_left",
                           f"Tờ khai '{form_id}' đã dùng hết số phiên bản.",
                           f"Form '{form_id}' has no version number left.", field=FIELD)
        changed = replace_top_level(text, "version", str(number))
        if changed is not None:
            text = changed
    return catalogue.create_draft(session, text, "yaml", actor)
