"""The document store: where signed results are kept for as long as the law says.

One interface, two backends: S3 (MinIO in production, through the ``minio`` client) and a local
folder (the embedded default). Both keep the same rules: an object is written once under a key
made of its owner and its id, never overwritten; while its retention runs (or it is under legal
hold) it cannot be deleted. S3 enforces that with object lock in COMPLIANCE mode, which no one,
this service included, can lift; the local store enforces it in code and with read-only files.

What the store guarantees is not all that is relied on: a ``PUT`` on a key adds a version, a
``DELETE`` adds a delete marker, and whoever may change legal holds can lift one. So every
object is read by the version id its upload returned (S3), never by its key alone, and its
bytes are checked against their sha256 by the caller (``service.repository.integrity``). The
local store has no versions: its guarantee is the read-only file and that sha256 check.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import io
import json
import os
import re
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Protocol

#: owners are people (12-digit personal ID numbers) or organisations (10- or 13-digit tax codes)
OWNER = re.compile(r"^(?:[0-9]{10}|[0-9]{12}|[0-9]{13})$")
DOCUMENT_ID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")


class StoreError(Exception):
    """Base of the store's errors."""


class StoreUnavailable(StoreError):
    """The store did not answer (down, timing out, or failing with 5xx): try again later."""


class ObjectExists(StoreError):
    """An object already has this key with other content: objects are never overwritten."""


class ObjectRetained(StoreError):
    """The object is under retention or legal hold: it cannot be deleted or overwritten."""


class ObjectMissing(StoreError):
    """No such object, no such version of it, or (``BucketMissing``) no bucket at all."""


class BucketMissing(ObjectMissing):
    """The bucket itself is gone: every object in it is missing."""


class StoreMisconfigured(StoreError):
    """The bucket cannot keep documents legally (no versioning or object lock)."""


def _write_whole(path: Path, data: bytes, mode: int,
                 put_in_place: Callable[[Path, Path], None]) -> None:
    """The bytes go to a private temporary file beside ``path``, fsynced and given ``mode``,
    then ``put_in_place(temporary, path)``: no reader ever sees a half-written file."""
    temporary = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(temporary, mode)
        put_in_place(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)


def create_once(path: Path, data: bytes, mode: int) -> None:
    """Write ``path`` whole, only if it does not exist yet: hard-linked into place, the link
    fails with ``FileExistsError`` if the name is taken, so concurrent writers cannot both
    create it."""
    _write_whole(path, data, mode, os.link)


def replace_file(path: Path, data: bytes, mode: int) -> None:
    """Write ``path`` whole, replacing what is there (a repair): renamed over it."""
    _write_whole(path, data, mode, os.replace)


def object_key(owner_id: str, document_id: str) -> str:
    """``<owner>/<document id>.pdf``; anything else (a path, an encoded slash, NUL) is refused,
    so a key can never leave the owner's prefix."""
    if not OWNER.match(owner_id or ""):
        raise ValueError(f"not an owner id: {owner_id!r}")
    if not DOCUMENT_ID.match(document_id or ""):
        raise ValueError(f"not a document id: {document_id!r}")
    return f"{owner_id}/{document_id}.pdf"


@dataclass(frozen=True)
class Retention:
    """Until when an object must be kept, or a legal hold for documents kept for ever."""

    until: datetime | None = None
    legal_hold: bool = False


@dataclass(frozen=True)
class StoredObject:
    key: str
    sha256: str
    size: int
    metadata: dict[str, str] = field(default_factory=dict)
    version_id: str | None = None


@dataclass(frozen=True)
class ObjectVersion:
    """One version of a key as the store lists it: a delete marker has no bytes. The local
    store has one version per key, whose id is None."""

    version_id: str | None
    latest: bool
    delete_marker: bool = False
    size: int = 0


def sha256_of(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


class DocumentStore(Protocol):
    name: str

    def ensure_ready(self, *, production: bool) -> bool:
        """Create what is missing (the bucket, the folder); refuse a bucket that cannot keep
        documents legally when ``production``. Returns whether it had to create it: whatever
        was stored before is then lost, and must be restored."""

    def put(self, key: str, data: bytes, *, sha256: str, metadata: dict[str, str],
            retention: Retention, media_type: str = "application/pdf",
            first_attempt: bool = False) -> StoredObject:
        """Store ``data`` under ``key`` once. The same bytes again are a no-op (a retry);
        other bytes raise ``ObjectExists``. ``first_attempt`` (a fresh id, never sent
        before, its row locked) lets a store skip looking for an earlier copy."""

    def get(self, key: str, *, version_id: str | None = None,
            limit: int | None = None) -> bytes:
        """The object's bytes (of ``version_id`` when given, else the newest). With ``limit``
        at most ``limit + 1`` bytes are read: more than ``limit`` means it is not the object
        that was stored, and nothing larger is held in memory."""

    def stream(self, key: str, chunk: int = 65536, *,
               version_id: str | None = None) -> Iterator[bytes]:
        """The object in chunks, for streaming a download."""

    def stat(self, key: str, *, version_id: str | None = None) -> StoredObject | None: ...

    def versions(self, key: str) -> list[ObjectVersion]:
        """Every version of ``key``, delete markers included, the newest first."""

    def restore(self, key: str, data: bytes, *, sha256: str, metadata: dict[str, str],
                retention: Retention,
                media_type: str = "application/pdf") -> StoredObject:
        """Store ``data`` under ``key`` again whatever the key holds now (a repair, from the
        verified copy): on S3 a new version with the given retention, which shadows nothing
        that is kept; in the local store the files are replaced."""

    def remove_delete_marker(self, key: str, version_id: str) -> None:
        """Remove a delete marker (it holds no bytes): the version below it shows again."""

    def delete(self, key: str) -> None:
        """Delete, unless retained (``ObjectRetained``)."""

    def keys(self, prefix: str = "") -> Iterator[str]: ...

    def presigned_url(self, key: str, expires: timedelta, filename: str, *,
                      version_id: str | None = None) -> str | None:
        """A short-lived URL to download ``key`` (that version of it) directly, or None when
        the store cannot give one (the local store: the service streams the file)."""


# -- local folder -----------------------------------------------------------------------------

class LocalStore:
    """Files under a folder: ``<root>/<owner>/<id>.pdf`` and ``<id>.pdf.meta.json`` beside it.
    Created with an exclusive link (two writers cannot both create a key), then made
    read-only."""

    name = "local"

    def __init__(self, root: Path) -> None:
        self.root = root

    def ensure_ready(self, *, production: bool) -> bool:
        created = not self.root.exists()
        self.root.mkdir(parents=True, exist_ok=True)
        return created

    def _path(self, key: str) -> Path:
        owner, _, name = key.partition("/")
        object_key(owner, name.removesuffix(".pdf"))  # validates
        return self.root / owner / name

    def put(self, key: str, data: bytes, *, sha256: str, metadata: dict[str, str],
            retention: Retention, media_type: str = "application/pdf",
            first_attempt: bool = False) -> StoredObject:
        path = self._path(key)
        if sha256_of(data) != sha256:
            raise ValueError("the bytes do not match their sha256")
        existing = self.stat(key)
        if existing is not None:
            if existing.sha256 == sha256:
                return existing
            raise ObjectExists(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        meta = {"sha256": sha256, "size": len(data), "media_type": media_type,
                "metadata": metadata, "legal_hold": retention.legal_hold,
                "retain_until": retention.until.isoformat() if retention.until else None}
        # an earlier attempt, or a concurrent writer of the same document, may have made
        # either file already: the bytes in place are checked below
        with contextlib.suppress(FileExistsError):
            create_once(path.with_name(path.name + ".meta.json"),
                        json.dumps(meta, ensure_ascii=False).encode(), 0o444)
        with contextlib.suppress(FileExistsError):
            create_once(path, data, 0o444)
        stored = self.stat(key)
        if stored is None or stored.sha256 != sha256:
            raise ObjectExists(key)
        return stored

    def _meta(self, key: str) -> dict | None:
        path = self._path(key)
        meta_path = path.with_name(path.name + ".meta.json")
        if not meta_path.exists():
            return None
        return json.loads(meta_path.read_text(encoding="utf-8"))

    def get(self, key: str, *, version_id: str | None = None,
            limit: int | None = None) -> bytes:
        # no versions here: ``version_id`` names nothing, the file is the object
        path = self._path(key)
        try:
            with open(path, "rb") as f:
                return f.read() if limit is None else f.read(limit + 1)
        except FileNotFoundError:
            raise ObjectMissing(key) from None

    def stream(self, key: str, chunk: int = 65536, *,
               version_id: str | None = None) -> Iterator[bytes]:
        try:
            f = open(self._path(key), "rb")  # noqa: SIM115 - closed by the generator
        except FileNotFoundError:
            raise ObjectMissing(key) from None
        return _chunks(f, chunk)

    def stat(self, key: str, *, version_id: str | None = None) -> StoredObject | None:
        path = self._path(key)
        meta = self._meta(key)
        if meta is None or not path.exists():
            return None
        data = path.read_bytes()
        return StoredObject(key, sha256_of(data), len(data),
                            {**meta["metadata"], "sha256": meta["sha256"]})

    def versions(self, key: str) -> list[ObjectVersion]:
        try:
            size = self._path(key).stat().st_size
        except FileNotFoundError:
            return []
        return [ObjectVersion(None, latest=True, size=size)]

    def restore(self, key: str, data: bytes, *, sha256: str, metadata: dict[str, str],
                retention: Retention,
                media_type: str = "application/pdf") -> StoredObject:
        path = self._path(key)
        if sha256_of(data) != sha256:
            raise ValueError("the bytes do not match their sha256")
        path.parent.mkdir(parents=True, exist_ok=True)
        meta = {"sha256": sha256, "size": len(data), "media_type": media_type,
                "metadata": metadata, "legal_hold": retention.legal_hold,
                "retain_until": retention.until.isoformat() if retention.until else None}
        replace_file(path.with_name(path.name + ".meta.json"),
                     json.dumps(meta, ensure_ascii=False).encode(), 0o444)
        replace_file(path, data, 0o444)
        return StoredObject(key, sha256, len(data), dict(metadata))

    def remove_delete_marker(self, key: str, version_id: str) -> None:
        raise ObjectMissing(f"{key}: the local store has no delete markers")

    def delete(self, key: str) -> None:
        meta = self._meta(key)
        if meta is None:
            raise ObjectMissing(key)
        until = meta.get("retain_until")
        if meta.get("legal_hold") or (until and datetime.fromisoformat(until)
                                      > datetime.now(UTC)):
            raise ObjectRetained(key)
        path = self._path(key)
        path.unlink()
        path.with_name(path.name + ".meta.json").unlink()

    def keys(self, prefix: str = "") -> Iterator[str]:
        if not self.root.exists():
            return
        for owner in sorted(p for p in self.root.iterdir() if p.is_dir()):
            for path in sorted(owner.glob("*.pdf")):
                key = f"{owner.name}/{path.name}"
                if key.startswith(prefix):
                    yield key

    def presigned_url(self, key: str, expires: timedelta, filename: str, *,
                      version_id: str | None = None) -> str | None:
        return None


# -- S3 / MinIO -------------------------------------------------------------------------------

@dataclass(frozen=True)
class S3Settings:
    endpoint: str
    access_key: str
    secret_key: str
    bucket: str
    secure: bool = True
    region: str = "us-east-1"
    timeout: float = 5.0
    #: where presigned URLs point, when clients reach the store by another name
    public_endpoint: str | None = None


class S3Store:
    """MinIO or any S3 store with object lock, through the ``minio`` client. The bucket is
    created with object lock (which turns versioning on); every object gets a COMPLIANCE
    retention or a legal hold at upload, in the same request, so there is no moment when a
    stored result is unprotected."""

    name = "s3"

    def __init__(self, settings: S3Settings) -> None:
        import urllib3
        from minio import Minio

        self.settings = settings
        self.bucket = settings.bucket
        timeout = urllib3.Timeout(connect=min(2.0, settings.timeout), read=settings.timeout)
        http = urllib3.PoolManager(timeout=timeout, maxsize=16, retries=urllib3.Retry(
            total=1, connect=1, read=0, backoff_factor=0.1, status_forcelist=()))
        self.client = Minio(settings.endpoint, access_key=settings.access_key,
                            secret_key=settings.secret_key, secure=settings.secure,
                            region=settings.region, http_client=http)
        self._presigner = self.client if not settings.public_endpoint else Minio(
            settings.public_endpoint, access_key=settings.access_key,
            secret_key=settings.secret_key, secure=settings.secure, region=settings.region)

    def _call(self, fn, *args, **kwargs):
        """Run a client call; connection problems and 5xx become ``StoreUnavailable``."""
        import urllib3
        from minio.error import InvalidResponseError, S3Error, ServerError

        try:
            return fn(*args, **kwargs)
        except (urllib3.exceptions.HTTPError, OSError, ServerError,
                InvalidResponseError) as e:
            # down, timing out, 5xx, or not speaking S3: try again later
            raise StoreUnavailable(f"{self.settings.endpoint}: {e}") from e
        except S3Error as e:
            if e.code == "NoSuchBucket":
                raise BucketMissing(f"{e.code}: {e.message}") from e
            if e.code in ("NoSuchKey", "NoSuchVersion"):
                raise ObjectMissing(e.message) from e
            if e.code in ("AccessDenied",) and fn.__name__ == "remove_object":
                raise ObjectRetained(e.message) from e
            if e.code in ("InternalError", "ServiceUnavailable", "SlowDown"):
                raise StoreUnavailable(f"{e.code}: {e.message}") from e
            # refused for another reason (credentials, policy, a bucket gone): the store's
            # answer, kept for whoever reads the archive error
            raise StoreError(f"{e.code}: {e.message}") from e

    def ensure_ready(self, *, production: bool) -> bool:
        created = False
        if not self._call(self.client.bucket_exists, self.bucket):
            if production:
                raise StoreMisconfigured(
                    f"bucket {self.bucket} does not exist; create it with object lock "
                    "(versioning on) before starting in production mode")
            self._call(self.client.make_bucket, self.bucket, object_lock=True)
            created = True
        problems = []
        versioning = self._call(self.client.get_bucket_versioning, self.bucket)
        if versioning.status != "Enabled":
            problems.append("versioning is not enabled")
        try:
            self._call(self.client.get_object_lock_config, self.bucket)
        except StoreUnavailable:
            raise
        except Exception as e:  # noqa: BLE001 - any refusal means: no object lock
            problems.append(f"object lock is not configured ({getattr(e, 'code', e)})")
        if problems:
            message = (f"bucket {self.bucket} cannot keep results legally: "
                       f"{'; '.join(problems)}")
            if production:
                raise StoreMisconfigured(message)
            import logging

            logging.getLogger("tokhai").warning(message)
        return created

    def put(self, key: str, data: bytes, *, sha256: str, metadata: dict[str, str],
            retention: Retention, media_type: str = "application/pdf",
            first_attempt: bool = False) -> StoredObject:
        if hashlib.sha256(data).hexdigest() != sha256:
            raise ValueError("the bytes do not match their sha256")
        # a retry may follow an upload that succeeded but whose answer was lost: look first,
        # so that a document never becomes two versions (a first attempt cannot have been).
        # The versions' bytes are compared, not their metadata, which anyone may write.
        if not first_attempt:
            versions = [v for v in self.versions(key) if not v.delete_marker]
            for version in reversed(versions):  # the oldest first: the one written first
                if version.size == len(data) and sha256_of(self.get(
                        key, version_id=version.version_id, limit=len(data))) == sha256:
                    return StoredObject(key, sha256, len(data), dict(metadata),
                                        version.version_id)
            if versions:
                raise ObjectExists(key)
        return self._upload(key, data, sha256=sha256, metadata=metadata, retention=retention,
                            media_type=media_type)

    def restore(self, key: str, data: bytes, *, sha256: str, metadata: dict[str, str],
                retention: Retention,
                media_type: str = "application/pdf") -> StoredObject:
        if hashlib.sha256(data).hexdigest() != sha256:
            raise ValueError("the bytes do not match their sha256")
        return self._upload(key, data, sha256=sha256, metadata=metadata, retention=retention,
                            media_type=media_type)

    def _upload(self, key: str, data: bytes, *, sha256: str, metadata: dict[str, str],
                retention: Retention, media_type: str) -> StoredObject:
        from minio.retention import COMPLIANCE
        from minio.retention import Retention as S3Retention

        digest = hashlib.sha256(data)
        # a retain-until date already past protects nothing, and S3 refuses it
        until = retention.until if retention.until and retention.until > datetime.now(
            UTC) else None
        headers = {
            **{k: _ascii(v) for k, v in metadata.items()}, "sha256": sha256,
            # S3 checks the upload against our hash; object lock requires a checksum
            "x-amz-sdk-checksum-algorithm": "SHA256",
            "x-amz-checksum-sha256": base64.b64encode(digest.digest()).decode(),
        }
        result = self._call(
            self.client.put_object, self.bucket, key, io.BytesIO(data), len(data),
            content_type=media_type, metadata=headers,
            retention=S3Retention(COMPLIANCE, until) if until else None,
            legal_hold=retention.legal_hold)
        return StoredObject(key, sha256, len(data), dict(metadata), result.version_id)

    def get(self, key: str, *, version_id: str | None = None,
            limit: int | None = None) -> bytes:
        response = self._call(self.client.get_object, self.bucket, key,
                              version_id=version_id)
        try:
            return self._call(response.read) if limit is None else self._call(
                response.read, limit + 1)
        finally:
            response.close()
            response.release_conn()

    def stream(self, key: str, chunk: int = 65536, *,
               version_id: str | None = None) -> Iterator[bytes]:
        response = self._call(self.client.get_object, self.bucket, key,
                              version_id=version_id)

        def chunks() -> Iterator[bytes]:
            try:
                yield from response.stream(chunk)
            finally:
                response.close()
                response.release_conn()

        return chunks()

    def stat(self, key: str, *, version_id: str | None = None) -> StoredObject | None:
        try:
            info = self._call(self.client.stat_object, self.bucket, key, version_id=version_id)
        except BucketMissing:
            raise
        except ObjectMissing:
            return None
        meta = {k.lower().removeprefix("x-amz-meta-"): v for k, v in (info.metadata or {}).items()
                if k.lower().startswith("x-amz-meta-")}
        return StoredObject(key, meta.get("sha256", ""), info.size or 0, meta, info.version_id)

    def versions(self, key: str) -> list[ObjectVersion]:
        listed = [o for o in self._call(lambda: list(self.client.list_objects(
            self.bucket, prefix=key, include_version=True))) if o.object_name == key]
        # the store lists them newest first; the latest is marked, whatever the order
        listed.sort(key=lambda o: (str(o.is_latest).lower() != "true",
                                   -(o.last_modified.timestamp() if o.last_modified else 0)))
        return [ObjectVersion(o.version_id, str(o.is_latest).lower() == "true",
                              bool(o.is_delete_marker), o.size or 0) for o in listed]

    def remove_delete_marker(self, key: str, version_id: str) -> None:
        markers = {v.version_id for v in self.versions(key) if v.delete_marker}
        if version_id not in markers:  # never a version that holds bytes
            raise ObjectMissing(f"{key}: no delete marker {version_id}")
        self._call(self.client.remove_object, self.bucket, key, version_id=version_id)

    def delete(self, key: str) -> None:
        info = self.stat(key)
        if info is None:
            raise ObjectMissing(key)
        self._call(self.client.remove_object, self.bucket, key, version_id=info.version_id)

    def keys(self, prefix: str = "") -> Iterator[str]:
        names = self._call(lambda: [o.object_name for o in self.client.list_objects(
            self.bucket, prefix=prefix, recursive=True)])
        yield from names

    def presigned_url(self, key: str, expires: timedelta, filename: str, *,
                      version_id: str | None = None) -> str | None:
        return self._call(self._presigner.presigned_get_object, self.bucket, key,
                          expires=expires, version_id=version_id, response_headers={
                              "response-content-disposition": content_disposition(filename),
                              "response-content-type": "application/pdf"})


def _chunks(f: io.BufferedReader, size: int) -> Iterator[bytes]:
    with f:
        while block := f.read(size):
            yield block


def _ascii(value: str) -> str:
    """S3 metadata travels in HTTP headers: non-ASCII values are percent-encoded."""
    from urllib.parse import quote

    return value if value.isascii() else quote(value, safe=" ,.:/-_")


def content_disposition(filename: str) -> str:
    """``attachment`` with an ASCII fallback name and the Vietnamese one (RFC 6266/5987)."""
    import unicodedata
    from urllib.parse import quote

    fallback = unicodedata.normalize("NFKD", filename.replace("đ", "d").replace("Đ", "D"))
    fallback = "".join(c for c in fallback if c.isascii() and (c.isalnum() or c in "._- "))
    fallback = fallback.strip() or "tai-lieu.pdf"
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(filename)}"
