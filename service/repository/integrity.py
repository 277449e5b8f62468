"""The repository serves only what it stored, and notices and repairs what the store lost.

What the store guarantees (object lock in COMPLIANCE mode, versioning) is not all that is
relied on: a plain ``PUT`` on a document's key adds a newer version, a ``DELETE`` adds a delete
marker, whoever may change legal holds can lift one, and a bucket can be lost. So tokhai checks
for itself:

* every read asks the store for the version the upload returned (``store_version_id``),
  never for the key alone, and compares the bytes with the sha256 recorded at issuance before
  anything is served; a presigned link is made for that version only, once it has passed the
  same check;
* the database keeps the issued bytes (``dossier_documents.content``, checked against the same
  sha256): whatever the store answers (a missing or changed object, no bucket, no answer), the
  document is served from that verified copy, and the problem is recorded on the document
  (``store_problem``) and logged;
* ``tokhai worker`` repairs recorded problems, and after it had to create the bucket again
  checks every stored document; ``tokhai repository verify`` checks them all and reports
  objects missing, altered, shadowed by a newer version or hidden by a delete marker;
  ``--repair`` restores them from the verified copy with their original retention.

The local store has no versions: its guarantee is the read-only file and the sha256 check.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from storage.documents import (
    BucketMissing,
    DocumentStore,
    ObjectMissing,
    ObjectVersion,
    Retention,
    StoreError,
    StoreUnavailable,
    sha256_of,
)
from storage.models import Dossier, DossierDocument

log = logging.getLogger("tokhai")

#: what can be wrong with a stored document's object
MISSING, ALTERED, SHADOWED, HIDDEN = "missing", "altered", "shadowed", "hidden"
PROBLEMS = (MISSING, ALTERED, SHADOWED, HIDDEN)
#: and what a check can find besides: nothing wrong, or the store not answering
OK, UNAVAILABLE = "ok", "unavailable"


class Unreadable(Exception):
    """Neither the store nor the database holds the issued bytes any more (or the store does
    not answer and the database's copy is not the issued one): nothing can be served."""

    def __init__(self, reason: str, store_unavailable: bool = False) -> None:
        super().__init__(reason)
        self.store_unavailable = store_unavailable


@dataclass(frozen=True)
class Served:
    """The issued bytes of a document, checked, and where they came from."""

    data: bytes
    #: ``store`` (the pinned version), or ``copy`` (the database's verified copy)
    source: str
    #: what was wrong with the store's object, if anything was noticed (one of PROBLEMS)
    problem: str | None = None
    detail: str = ""


def copy_ok(doc: DossierDocument) -> bool:
    """Whether the database's copy is the document as issued."""
    return doc.content is not None and sha256_of(doc.content) == doc.sha256


def _pinned(store: DocumentStore, doc: DossierDocument) -> bytes:
    """The pinned version's bytes, if they are the issued ones (else ``_Mismatch``)."""
    assert doc.storage_key is not None
    size = doc.size if doc.size is not None else len(doc.content)
    data = store.get(doc.storage_key, version_id=doc.store_version_id, limit=size)
    if len(data) != size or sha256_of(data) != doc.sha256:
        raise _Mismatch(f"the stored bytes are not the issued ones (sha256 "
                        f"{sha256_of(data)[:12]}…, issued {doc.sha256[:12]}…)")
    return data


class _Mismatch(Exception):
    pass


def _on_top(store: DocumentStore, doc: DossierDocument) -> tuple[str | None, str]:
    """What a plain read of the key (by anyone reading the bucket) finds instead of the
    pinned version: a delete marker (``hidden``), a newer version (``shadowed``), or nothing
    wrong. Only a cheap look at the newest version: ``check`` compares its bytes."""
    assert doc.storage_key is not None
    if doc.store_version_id is None:
        return None, ""  # no versions to look at (the local store), or not pinned yet
    try:
        latest = store.stat(doc.storage_key)
    except StoreError:
        return None, ""  # a failing look tells nothing
    if latest is None:
        return HIDDEN, "the key answers as deleted (a delete marker over the document)"
    if latest.version_id != doc.store_version_id:
        return SHADOWED, f"a newer version {str(latest.version_id)[:60]} over the document"
    return None, ""


def read(store: DocumentStore, doc: DossierDocument, *, prefer: str = "store",
         look_on_top: bool = True) -> Served:
    """The document's issued bytes, checked against its sha256 before anything is served.

    ``prefer="store"`` reads the pinned version from the store, and falls back on the
    database's verified copy when the store's object is missing, changed or unreachable;
    ``prefer="copy"`` reads the database's copy first (the store only if that copy is not
    the issued one). What was wrong with the store's object comes back in ``problem``.
    Raises ``Unreadable`` when neither holds the issued bytes."""
    if doc.stored_at is None or doc.storage_key is None:
        if copy_ok(doc):  # archiving pending: the outbox copy is the only one
            return Served(doc.content, "copy")
        raise Unreadable("the database's copy is not the issued document and it is not "
                         "archived yet")
    if prefer == "copy" and copy_ok(doc):
        return Served(doc.content, "copy")
    problem: str | None = None
    detail = ""
    unavailable = False
    try:
        data = _pinned(store, doc)
    except ObjectMissing as e:
        problem = MISSING
        detail = ("the bucket is gone" if isinstance(e, BucketMissing)
                  else "no such object or version")
    except _Mismatch as e:
        problem, detail = ALTERED, str(e)
    except StoreUnavailable as e:
        unavailable, detail = True, str(e)[:200]
    except StoreError as e:  # refused for another reason: the object cannot be vouched for
        unavailable, detail = True, f"{type(e).__name__}: {e}"[:200]
    else:
        if look_on_top:
            problem, detail = _on_top(store, doc)
        return Served(data, "store", problem, detail)
    if copy_ok(doc):
        return Served(doc.content, "copy", problem, detail)
    raise Unreadable(f"store: {problem or 'unavailable'} ({detail}); the database's copy is "
                     "not the issued document either", store_unavailable=unavailable)


def link_version(store: DocumentStore, doc: DossierDocument) -> str | None:
    """The version a presigned link may be made for: the pinned one, once its bytes pass
    the check and nothing lies over it (a newer version, a delete marker). None otherwise
    (not archived, not pinned, the object missing, changed or covered, the store not
    answering): no link, the service serves the verified bytes and reports the problem."""
    if doc.stored_at is None or doc.storage_key is None or doc.store_version_id is None:
        return None
    try:
        _pinned(store, doc)
    except (StoreError, _Mismatch):
        return None
    if _on_top(store, doc)[0] is not None:
        return None
    return doc.store_version_id


def note(session: Session, doc: DossierDocument, problem: str, detail: str) -> None:
    """Record and log a problem noticed with a document's object, for the worker or
    ``tokhai repository verify --repair`` to repair. Committed at once (on a read request's
    autocommitting session, one statement)."""
    log.warning("stored document not as issued: served from the verified copy or pinned "
                "version", extra={"document_id": doc.document_id, "problem": problem,
                                  "detail": detail[:200]})
    session.execute(update(DossierDocument).where(
        DossierDocument.id == doc.id, DossierDocument.store_problem.is_(None)).values(
        store_problem=problem, store_problem_at=datetime.now(UTC),
        store_problem_detail=detail[:300] or None))
    session.commit()


# -- checking and repairing -------------------------------------------------------------------

@dataclass(frozen=True)
class Check:
    """What the store holds for one document."""

    state: str  # OK, UNAVAILABLE or one of PROBLEMS
    detail: str = ""
    #: the version that holds the issued bytes, when one does
    version_id: str | None = None
    #: delete markers over it (``hidden``)
    markers: tuple[str, ...] = ()


def _matches(store: DocumentStore, key: str, version: ObjectVersion, sha256: str,
             size: int) -> bool:
    if version.delete_marker or version.size != size:
        return False
    try:
        data = store.get(key, version_id=version.version_id, limit=size)
    except ObjectMissing:
        return False
    return len(data) == size and sha256_of(data) == sha256


def check(store: DocumentStore, key: str, sha256: str, size: int,
          version_id: str | None) -> Check:
    """Compare the store's object with the issued document: the pinned version must hold
    the issued bytes (else, if another version does, it is pinned instead), and a plain read
    of the key must find them too (not a delete marker, not another newer version)."""
    try:
        versions = store.versions(key)
        live = [v for v in versions if not v.delete_marker]
        if not live:
            return Check(MISSING, "no version of the object" if not versions else
                         "only delete markers")
        holding = next((v for v in live if v.version_id == version_id), None)
        if holding is None or not _matches(store, key, holding, sha256, size):
            # the recorded version is gone or changed; another may still hold the bytes
            # (the oldest first: the one written at archiving)
            holding = next((v for v in reversed(live)
                            if _matches(store, key, v, sha256, size)), None)
        if holding is None:
            return Check(ALTERED, f"no version holds the issued bytes ({len(live)} "
                                  "version(s) with other bytes)")
        pinned = holding.version_id
        markers: list[str] = []
        for v in versions:  # the newest first, down to the first that holds bytes
            if not v.delete_marker:
                break
            if v.version_id:
                markers.append(v.version_id)
        if markers:
            return Check(HIDDEN, f"{len(markers)} delete marker(s) over the document",
                         pinned, tuple(markers))
        newest = versions[0]
        if newest.version_id != pinned:
            if not _matches(store, key, newest, sha256, size):
                return Check(SHADOWED, f"a newer version {str(newest.version_id)[:60]} with "
                                       "other bytes", pinned)
            pinned = newest.version_id  # the same bytes again: a plain read finds them
        return Check(OK, "", pinned)
    except BucketMissing:
        return Check(MISSING, "the bucket is gone")
    except StoreError as e:
        return Check(UNAVAILABLE, f"{type(e).__name__}: {e}"[:200])


@dataclass
class Outcome:
    """One document checked (and perhaps repaired)."""

    document_id: str
    key: str
    found: Check
    #: what the repair did (``restored``, ``unhidden``, ``pinned``), if it did something
    repaired: str | None = None
    #: the state after the repair (the found one when nothing was repaired)
    after: Check = field(default_factory=lambda: Check(OK))
    error: str | None = None


def repair(session: Session, store: DocumentStore, doc: DossierDocument, code: str,
           found: Check) -> tuple[str | None, Check, str | None]:
    """Make the store hold the issued document again, from the verified copy: a missing or
    altered object is stored again with its original retention (a new version on S3, whose
    id is then the pinned one), delete markers over it are removed, and a newer version that
    shadows it gets the issued bytes stored over it again. The version the repair wrote is
    the pinned one from then on. Returns (what was done, the state after, an error)."""
    from service.repository.documents import object_metadata

    assert doc.storage_key is not None
    if not copy_ok(doc):
        return None, found, "the database's copy is not the issued document: nothing to " \
                            "restore from"
    retention = Retention(doc.retain_until, doc.legal_hold)
    done = None
    try:
        if found.state == HIDDEN:
            for marker in found.markers:
                store.remove_delete_marker(doc.storage_key, marker)
            done = "unhidden"
            after = check(store, doc.storage_key, doc.sha256, len(doc.content),
                          found.version_id)
            if after.state != SHADOWED:
                return done, after, None
            found = after
        if found.state in (MISSING, ALTERED, SHADOWED):
            stored = store.restore(doc.storage_key, doc.content, sha256=doc.sha256,
                                   metadata=object_metadata(doc, code), retention=retention,
                                   media_type=doc.media_type)
            done = "restored"
            doc.store_version_id = stored.version_id
        after = check(store, doc.storage_key, doc.sha256, len(doc.content),
                      doc.store_version_id)
    except BucketMissing:
        raise  # no bucket to restore into: whoever repairs makes it again first
    except StoreError as e:
        return done, found, f"{type(e).__name__}: {e}"[:300]
    return done, after, None


def check_documents(sessions: Callable[[], Session], store: DocumentStore, *,
                    repair_them: bool, ids: list[int] | None = None) -> Iterator[Outcome]:
    """Check every archived document (or those of ``ids``), one transaction each; with
    ``repair_them``, repair what is wrong. A document found fine clears its recorded
    problem; one still wrong after the repair keeps it."""
    query = select(DossierDocument.id).where(DossierDocument.stored_at.is_not(None),
                                             DossierDocument.storage_key.is_not(None))
    if ids is not None:
        query = query.where(DossierDocument.id.in_(ids))
    with sessions() as session:
        every = list(session.scalars(query.order_by(DossierDocument.id)))
    for document_id in every:
        with sessions() as session:
            row = session.execute(
                select(DossierDocument, Dossier.code)
                .join(Dossier, Dossier.id == DossierDocument.dossier_id)
                .where(DossierDocument.id == document_id)).first()
            if row is None:
                continue
            doc, code = row[0], row[1]
            assert doc.storage_key is not None
            found = check(store, doc.storage_key, doc.sha256,
                          doc.size if doc.size is not None else len(doc.content),
                          doc.store_version_id)
            outcome = Outcome(doc.document_id, doc.storage_key, found, after=found)
            if found.state == OK and found.version_id != doc.store_version_id and \
                    found.version_id is not None:
                doc.store_version_id = found.version_id  # pinned (a document archived
                outcome.repaired = "pinned"             # before versions were recorded)
            elif found.state in PROBLEMS and repair_them:
                outcome.repaired, outcome.after, outcome.error = repair(
                    session, store, doc, code, found)
            state = outcome.after.state
            if state == OK:
                doc.store_problem = doc.store_problem_at = doc.store_problem_detail = None
            elif state in PROBLEMS:
                doc.store_problem = state
                doc.store_problem_at = doc.store_problem_at or datetime.now(UTC)
                doc.store_problem_detail = outcome.after.detail[:300] or None
            session.commit()
            if outcome.repaired in ("restored", "unhidden"):
                log.warning("stored document repaired", extra={
                    "document_id": doc.document_id, "problem": found.state,
                    "repair": outcome.repaired, "state_after": state})
            yield outcome


def flagged_ids(session: Session, limit: int) -> list[int]:
    """Documents with a problem noticed and not repaired yet."""
    return list(session.scalars(
        select(DossierDocument.id).where(DossierDocument.store_problem.is_not(None))
        .order_by(DossierDocument.id).limit(limit)))
