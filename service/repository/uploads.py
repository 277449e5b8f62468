"""Files citizens upload for attachment fields, where nothing digital exists (issue #14: "upload
only where nothing digital exists"): a scan or a photo of a paper, as PDF, JPEG or PNG.

An upload is named by a random public id, its ``document_id``, which the form data references
as it references a document of the repository. The media type is the one the bytes show (their
signature), never the one the client claims. Who may read it: its owner, and whoever may see a
dossier whose data references it (the dossier's citizen, an officer of its agency, an auditor:
the web layer checks that with the dossier before asking :func:`readable`).
"""

from __future__ import annotations

import hashlib
import unicodedata
from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from service import catalogue
from service.errors import InvalidData, NotFound
from service.repository import documents
from service.tokens import Principal
from storage.models import Dossier, Upload

#: the media types an upload may be, by the signature its bytes begin with
SIGNATURES: tuple[tuple[bytes, str], ...] = (
    (b"%PDF-", "application/pdf"),
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"\x89PNG\r\n\x1a\n", "image/png"),
)
MEDIA_TYPES: tuple[str, ...] = tuple(m for _, m in SIGNATURES)
_EXTENSIONS = {"application/pdf": ".pdf", "image/jpeg": ".jpg", "image/png": ".png"}
_NAME_MAX = 255


def sniff(data: bytes) -> str | None:
    """The media type the bytes show, or None."""
    for signature, media_type in SIGNATURES:
        if data.startswith(signature):
            return media_type
    return None


def clean_name(name: str | None, media_type: str) -> str:
    """The file name as kept: no directories, no control or format characters, NFC, at most
    255 characters (the extension kept); a name of the upload's type when none is left."""
    text = unicodedata.normalize("NFC", name or "")
    text = text.replace("\\", "/").rsplit("/", 1)[-1]
    text = "".join(c for c in text if unicodedata.category(c)[0] != "C").strip().strip(".")
    if not text:
        text = "tep-tai-len" + _EXTENSIONS.get(media_type, "")
    if len(text) > _NAME_MAX:
        stem, dot, extension = text.rpartition(".")
        if dot and 0 < len(extension) <= 10:
            text = stem[:_NAME_MAX - len(extension) - 1] + "." + extension
        else:
            text = text[:_NAME_MAX]
    return text


def _refuse(field: str, code: str, message: str, message_en: str) -> InvalidData:
    return InvalidData(code, message, message_en, field=field,
                       errors=[{"field": field, "code": code, "message": message,
                                "message_en": message_en}])


def check(data: bytes, media_types_allowed: Iterable[str], max_bytes: int,
          field: str = "body") -> str:
    """The media type of an acceptable file, else ``InvalidData`` naming ``field``:
    ``empty_file``, ``file_too_large`` or ``unsupported_file``."""
    allowed = [m for m in media_types_allowed if m in MEDIA_TYPES]
    if not data:
        raise _refuse(field, "empty_file", "Tệp tải lên không có nội dung.",
                      "The uploaded file is empty.")
    if len(data) > max_bytes:
        limit = max_bytes // (1024 * 1024) or 1
        raise _refuse(field, "file_too_large",
                      f"Tệp tải lên lớn quá {limit} MB; hãy chụp hoặc quét lại với dung lượng "
                      "nhỏ hơn.",
                      f"The uploaded file is larger than {limit} MB.")
    media_type = sniff(data)
    if media_type is None or media_type not in allowed:
        names = ", ".join(_EXTENSIONS[m].lstrip(".").upper() for m in allowed) or "-"
        raise _refuse(field, "unsupported_file",
                      f"Tệp tải lên phải là {names}.",
                      f"The uploaded file must be {names}.")
    return media_type


def store(session: Session, principal: Principal, data: bytes, file_name: str | None,
          media_types_allowed: Iterable[str], max_bytes: int, now: datetime, *,
          field: str = "body") -> Upload:
    """Keep a file the citizen uploads (added to the session; the caller commits)."""
    assert principal.role == "citizen" and principal.personal_id
    media_type = check(data, media_types_allowed, max_bytes, field)
    row = Upload(owner_id=principal.personal_id, file_name=clean_name(file_name, media_type),
                 media_type=media_type, size=len(data),
                 sha256=hashlib.sha256(data).hexdigest(), content=data, created_at=now)
    session.add(row)
    session.flush()
    return row


def owned(session: Session, owners: Iterable[str], ids: Iterable[str]) -> list[Upload]:
    """The uploads among ``ids`` that one of ``owners`` owns (content not loaded)."""
    wanted = sorted({i for i in ids if isinstance(i, str) and len(i) <= 64})
    owners = sorted(set(owners))
    if not wanted or not owners:
        return []
    return list(session.scalars(select(Upload).where(Upload.document_id.in_(wanted),
                                                     Upload.owner_id.in_(owners))))


def of_owner(session: Session, owner: str, limit: int = 100) -> list[Upload]:
    """An owner's latest uploads, newest first (content not loaded)."""
    return list(session.scalars(select(Upload).where(Upload.owner_id == owner)
                                .order_by(Upload.id.desc()).limit(limit)))


def referenced(session: Session, dossier: Dossier) -> set[str]:
    """The ids the attachment fields of a dossier's data reference."""
    try:
        definition = catalogue.published_form(session, dossier.form_id,
                                              dossier.form_version).definition
    except NotFound:  # withdrawn since
        try:
            row = catalogue.get_version(session, dossier.form_id, dossier.form_version,
                                        include_drafts=True)
        except NotFound:
            return set()
        definition = catalogue.compiled(row).definition
    return {document_id for _, document_id in documents.references(definition, dossier.data)}


def readable(session: Session, principal: Principal, dossier: Dossier,
             document_id: str) -> Upload | None:
    """The upload ``document_id`` for reading with ``dossier`` (which ``principal`` may see:
    the caller checked), when the dossier's data references it; else None. Its owner reads it
    too."""
    if document_id not in referenced(session, dossier):
        return None
    row = session.scalar(select(Upload).where(Upload.document_id == document_id))
    if row is None:
        return None
    if principal.role == "citizen" and principal.personal_id not in (row.owner_id,
                                                                      dossier.citizen_id):
        return None
    return row
