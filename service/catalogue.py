"""Application operations on forms: drafts, publication, the catalogue, compiled schemas.

Views call these; these know nothing of HTTP: they raise :class:`service.errors.DomainError`.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from forms.compiled import CompiledForm, canonical_json, compile_form, sha256_hex
from forms.language import DefinitionError, load_document, normalise, parse
from forms.lines import lines_of, replace_top_level
from forms.model import FormDefinition
from forms.results import template_for, unreachable
from service.errors import (
    Conflict,
    DomainError,
    InvalidData,
    Malformed,
    TooLarge,
    not_found,
)
from storage.models import Form, FormVersion, utcnow

log = logging.getLogger(__name__)

CATALOGUE_DIR = Path(__file__).resolve().parent.parent / "forms" / "catalogue"
MAX_VERSION = 9999  # as the form language allows
_READ_ERRORS = {"malformed", "not_a_mapping", "bad_encoding", "too_deep"}


@dataclass(frozen=True)
class Checked:
    definition: FormDefinition
    data: dict[str, Any]
    digest: str


def check_source(raw: bytes | str, fmt: str, file: str) -> Checked:
    """Read and check a definition; a bad one becomes a :class:`DomainError` listing every
    problem (Malformed unreadable, TooLarge too large, InvalidData wrong)."""
    try:
        data = normalise(load_document(raw, file, fmt))
        definition = parse(data, file)
    except DefinitionError as exc:
        codes = {p.code for p in exc.problems}
        kind: type[DomainError] = (TooLarge if "too_large" in codes
                                    else Malformed if codes <= _READ_ERRORS else InvalidData)
        problems = [{**p.as_dict(), "field": p.path, "message_en": p.code}
                    for p in exc.problems]
        raise kind(
            "definition_invalid" if kind is InvalidData else next(iter(codes)),
            f"Định nghĩa tờ khai có {len(problems)} lỗi.",
            f"The form definition has {len(problems)} problem(s).",
            field=problems[0]["path"] if len(problems) == 1 else None,
            errors=problems,
        ) from None
    return Checked(definition, data, sha256_hex(canonical_json(data)))


def _get(session: Session, form_id: str, version: int, *,
         lock: bool = False) -> FormVersion | None:
    if not 1 <= version <= MAX_VERSION:  # no such version, and no query with a huge number
        return None
    q = select(FormVersion).where(FormVersion.form_id == form_id,
                                  FormVersion.version == version)
    if lock:
        q = q.with_for_update()
    return session.scalar(q)


def source_digest(row: FormVersion) -> str:
    """The sha256 of a version's text as the designer wrote it (comments and layout
    included): an editor sends it back to say which text its changes are based on."""
    return sha256_hex(row.source)


def problem_lines(source: str, problems: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Each problem of :func:`check_source` (or of a save) with the ``line`` of its ``path``
    (or ``field``) in ``source``, None where the path names no line (the whole definition, a
    missing top-level key)."""
    paths = [str(p.get("path") or p.get("field") or "") for p in problems]
    lines = lines_of(source, paths)
    return [{**p, "line": lines[path]} for p, path in zip(problems, paths, strict=True)]


def next_version(session: Session, form_id: str) -> int:
    """The next free version number of a form."""
    return max((r.version for r in list_versions(session, form_id, include_drafts=True)),
               default=0) + 1


def new_draft_from(session: Session, form_id: str, version: int, actor: str) -> FormVersion:
    """A new draft holding a copy of a version's text under the next free version number
    (comments and layout kept; only the ``version`` value changes)."""
    row = get_version(session, form_id, version, include_drafts=True)
    number = next_version(session, form_id)
    if number > MAX_VERSION:
        raise Conflict("no_version_left",
                       f"Tờ khai '{form_id}' đã dùng hết số phiên bản (tối đa {MAX_VERSION}).",
                       f"Form '{form_id}' has no version number left (at most {MAX_VERSION}).")
    if row.source_format == "json":
        data = json.loads(row.source)
        data["version"] = number
        text: str | None = json.dumps(data, ensure_ascii=False, indent=2) + "\n"
    else:
        text = replace_top_level(row.source, "version", str(number))
    if text is None:  # cannot happen for a checked definition; say so plainly if it does
        raise InvalidData("no_version_key", "Không tìm thấy khóa 'version' trong định nghĩa.",
                          "The definition has no 'version' key.", field="version")
    return create_draft(session, text, row.source_format, actor)


def create_draft(session: Session, raw: bytes | str, fmt: str, actor: str) -> FormVersion:
    checked = check_source(raw, fmt, f"<request>.{fmt}")
    d = checked.definition
    if _get(session, d.id, d.version) is not None:
        raise Conflict("version_exists",
                       f"Tờ khai '{d.id}' đã có phiên bản {d.version}; hãy dùng số phiên bản mới.",
                       f"Form '{d.id}' already has version {d.version}; use a new version number.",
                       field="version")
    row = _new_version(session, checked, raw, fmt, actor)
    try:
        session.flush()
    except IntegrityError:  # a concurrent request created the same version
        session.rollback()
        raise Conflict("version_exists", f"Tờ khai '{d.id}' đã có phiên bản {d.version}.",
                       f"Form '{d.id}' already has version {d.version}.",
                       field="version") from None
    return row


def _new_version(session: Session, checked: Checked, raw: bytes | str, fmt: str,
                 actor: str) -> FormVersion:
    d = checked.definition
    if session.get(Form, d.id) is None:
        session.add(Form(id=d.id))
    text = raw.decode("utf-8") if isinstance(raw, bytes) else raw
    row = FormVersion(form_id=d.id, version=d.version, status="draft", title=d.title,
                      source=text, source_format=fmt, definition=checked.data,
                      digest=checked.digest, created_by=actor)
    session.add(row)
    return row


def update_draft(session: Session, form_id: str, version: int, raw: bytes | str, fmt: str,
                 actor: str, *, expected: str | None = None) -> FormVersion:
    """Replace a draft's definition. With ``expected`` (the :func:`source_digest` of the text
    the editor loaded), a draft someone saved since is refused (Conflict ``draft_changed``)
    rather than overwritten; the row is read with a lock, so two saves cannot both pass."""
    if expected is not None:
        locked = _get(session, form_id, version, lock=True)
        if locked is not None and locked.status != "published" \
                and source_digest(locked) != expected:
            raise Conflict("draft_changed",
                           f"Bản nháp phiên bản {version} của '{form_id}' đã được lưu lại sau "
                           "khi bạn mở nó; không ghi đè.",
                           f"Draft version {version} of '{form_id}' was saved again after you "
                           "opened it; not overwritten.")
    row = get_version(session, form_id, version, include_drafts=True)
    _refuse_if_published(row)
    checked = check_source(raw, fmt, f"<request>.{fmt}")
    d = checked.definition
    if (d.id, d.version) != (form_id, version):
        raise InvalidData("id_mismatch",
                          f"Định nghĩa là của '{d.id}' phiên bản {d.version}, không khớp với "
                          f"đường dẫn '{form_id}' phiên bản {version}.",
                          f"The definition is '{d.id}' version {d.version}, not the "
                          f"'{form_id}' version {version} of the URL.", field="id")
    row.source = raw.decode("utf-8") if isinstance(raw, bytes) else raw
    row.source_format = fmt
    row.definition = checked.data
    row.digest = checked.digest
    row.title = d.title
    row.updated_at = utcnow()
    return row


def _refuse_if_published(row: FormVersion) -> None:
    if row.status == "published":
        raise Conflict("version_published",
                       f"Phiên bản {row.version} của '{row.form_id}' đã công bố nên không sửa "
                       "được; hãy tạo phiên bản mới.",
                       f"Version {row.version} of '{row.form_id}' is published and frozen; "
                       "create a new version.")


def check_result_values(definition: FormDefinition) -> None:
    """Refuse a form whose procedure's result template needs a value that no dossier on it
    could hold (forms.results: none of the value's sources names a field of the form): its
    result could never be issued. InvalidData naming each missing value."""
    template = template_for(definition.procedure_code)
    missing = unreachable(template, definition)
    if not missing:
        return
    names = ", ".join(f"'{v.key}' ({v.label})" for v in missing)
    raise InvalidData(
        "result_values_missing",
        f"Kết quả của thủ tục {definition.procedure_code} ({template.title.lower()}) cần "
        f"thông tin mà tờ khai không có trường nào cung cấp: "
        f"{', '.join(v.label for v in missing)}. Hãy thêm trường tương ứng.",
        f"The result of procedure {definition.procedure_code} (template {template.code}) "
        f"needs values no field of this form provides: {names}.",
        field=missing[0].key if len(missing) == 1 else None,
        errors=[{"code": "result_value_missing", "field": v.key, "label": v.label,
                 "sources": [s for s in v.sources if s.startswith("/")],
                 "message": f"Không có trường nào của tờ khai cung cấp '{v.label}' cho "
                            f"{template.title.lower()}.",
                 "message_en": f"No field of the form provides '{v.key}' for the "
                               f"{template.code} result (looked for "
                               f"{', '.join(s for s in v.sources if s.startswith('/'))})."}
                for v in missing])


def publish(session: Session, form_id: str, version: int, actor: str) -> FormVersion:
    row = get_version(session, form_id, version, include_drafts=True)
    if row.status == "published":
        raise Conflict("already_published",
                       f"Phiên bản {version} của '{form_id}' đã được công bố.",
                       f"Version {version} of '{form_id}' is already published.")
    check_result_values(parse(row.definition, f"{row.form_id}@{row.version}"))
    row.status = "published"
    row.published_at = utcnow()
    row.published_by = actor
    return row


def get_version(session: Session, form_id: str, version: int, *,
                include_drafts: bool) -> FormVersion:
    row = _get(session, form_id, version)
    if row is None or (row.status != "published" and not include_drafts):
        raise not_found(f"phiên bản {version} của tờ khai '{form_id}'",
                        f"Version {version} of form '{form_id}'")
    return row


def list_versions(session: Session, form_id: str | None, *,
                  include_drafts: bool) -> list[FormVersion]:
    q = select(FormVersion).order_by(FormVersion.form_id, FormVersion.version)
    if form_id is not None:
        q = q.where(FormVersion.form_id == form_id)
    if not include_drafts:
        q = q.where(FormVersion.status == "published")
    return list(session.scalars(q))


_published: dict[tuple[str, str, int], CompiledForm] = {}


def published_form(session: Session, form_id: str, version: int) -> CompiledForm:
    """The compiled form of a published version. A published version never changes, so it is
    looked up in each database once per process."""
    key = (str(session.get_bind().engine.url), form_id, version)
    found = _published.get(key)
    if found is None:
        found = compiled(get_version(session, form_id, version, include_drafts=False))
        _published[key] = found
    return found


def compiled(row: FormVersion) -> CompiledForm:
    return compile_form(row.form_id, row.version, row.digest,
                        lambda: parse(row.definition, f"{row.form_id}@{row.version}"))


def load_catalogue(session: Session, directory: Path = CATALOGUE_DIR,
                   ) -> list[tuple[str, str]]:
    """Publish every catalogue form that is not in the database yet. Idempotent: a version
    already stored is left alone, and one whose file changed is reported, never overwritten,
    since a published version is frozen. ``earlier/`` keeps the versions a newer file
    replaced: dossiers filed on them still name them, so a new installation publishes them too
    (first, so that the newest is published last)."""
    outcomes: list[tuple[str, str]] = []
    for path in [*sorted(directory.glob("earlier/*.yaml")), *sorted(directory.glob("*.yaml"))]:
        raw = path.read_bytes()
        checked = check_source(raw, "yaml", path.name)
        d = checked.definition
        row = _get(session, d.id, d.version)
        if row is None:
            check_result_values(d)
            row = _new_version(session, checked, raw, "yaml", "catalogue")
            row.status = "published"
            row.published_at = utcnow()
            row.published_by = "catalogue"
            session.flush()
            outcomes.append((path.name, "published"))
        elif row.digest == checked.digest:
            outcomes.append((path.name, "unchanged"))
        else:
            log.warning("catalogue file differs from stored version; give it a new version",
                        extra={"file": path.name, "form_id": d.id, "version": d.version})
            outcomes.append((path.name, "differs: stored version kept; bump 'version'"))
    return outcomes
