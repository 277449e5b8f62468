"""The document repository against an S3 server: store and fetch 100 KB signed PDFs through
the service, next to the bare ``minio`` client's put/get in the same run.

The S3 server is moto's, in its own process on loopback (no MinIO server can be installed
here). Three paths, each with the same payloads:

* bare: ``minio`` ``put_object`` with the same COMPLIANCE retention and checksum the service
  sends (object lock demands them), then ``get_object``;
* store: tokhai's ``S3Store.put`` / ``S3Store.stream``;
* service: archiving from the outbox (``repository.archive``: lock the row, upload, mark it
  stored, commit) and the download endpoint (bearer token, access decision, a row appended
  to the access log, the object streamed).

    python bench/repository.py [documents]
"""

from __future__ import annotations

import hashlib
import io
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

from _common import ROOT

from storage.documents import Retention, S3Settings, S3Store, object_key

OWNER = "001085012345"
SIZE = 100 * 1024


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def payloads(n: int) -> list[bytes]:
    return [b"%PDF-1.7\n" + os.urandom(SIZE - 9) for _ in range(n)]


def timed(fn, items) -> list[float]:
    times = []
    for item in items:
        started = time.perf_counter()
        fn(item)
        times.append(time.perf_counter() - started)
    return times


def main() -> None:
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 200
    port = free_port()
    server = subprocess.Popen([sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p",
                               str(port)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    endpoint = f"127.0.0.1:{port}"
    for _ in range(100):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            break
        except OSError:
            time.sleep(0.1)
    try:
        run(endpoint, count)
    finally:
        server.terminate()


def run(endpoint: str, count: int) -> None:
    from minio.retention import COMPLIANCE
    from minio.retention import Retention as S3Retention

    store = S3Store(S3Settings(endpoint, "bench", "bench-secret", "bench-kho", secure=False))
    store.ensure_ready(production=False)  # creates the bucket with object lock
    store.ensure_ready(production=True)  # and it passes the production check
    client = store.client
    until = datetime.now(UTC) + timedelta(days=30)
    print(f"repository benchmark: {count} documents of {SIZE // 1024} KB, moto S3 server in "
          f"its own process, {os.cpu_count()} cores")

    def bare_put(item: tuple[str, bytes]) -> None:
        key, data = item
        digest = hashlib.sha256(data)
        client.put_object("bench-kho", key, io.BytesIO(data), len(data),
                          content_type="application/pdf", metadata={
                              "sha256": digest.hexdigest(),
                              "x-amz-sdk-checksum-algorithm": "SHA256",
                              "x-amz-checksum-sha256": __import__("base64").b64encode(
                                  digest.digest()).decode()},
                          retention=S3Retention(COMPLIANCE, until))

    def bare_get(key: str) -> None:
        response = client.get_object("bench-kho", key)
        response.read()
        response.close()
        response.release_conn()

    def store_put(item: tuple[str, bytes]) -> None:
        key, data = item
        store.put(key, data, sha256=hashlib.sha256(data).hexdigest(),
                  metadata={"dossier-code": "UBND-00004-261127-0001"},
                  retention=Retention(until), first_attempt=True)

    def store_get(key: str) -> None:
        b"".join(store.stream(key))

    rounds = []
    for _ in range(3):  # interleaved rounds: the machine's noise falls on every path alike
        bare_items = [(object_key(OWNER, str(uuid.uuid4())), d) for d in payloads(count)]
        store_items = [(object_key(OWNER, str(uuid.uuid4())), d) for d in payloads(count)]
        rounds.append({
            "bare put": timed(bare_put, bare_items),
            "store put": timed(store_put, store_items),
            "bare get": timed(bare_get, [k for k, _ in bare_items]),
            "store get": timed(store_get, [k for k, _ in store_items]),
        })
    merged = {name: [t for r in rounds for t in r[name]] for name in rounds[0]}
    for name, times in merged.items():
        print(f"  {name:10s} median {statistics.median(times) * 1000:6.2f} ms, "
              f"mean {statistics.mean(times) * 1000:6.2f} ms")
    for op in ("put", "get"):
        bare = statistics.median(merged[f"bare {op}"])
        ours = statistics.median(merged[f"store {op}"])
        print(f"  store layer overhead on {op}: {100 * (ours - bare) / bare:+5.1f}% "
              f"(target: < 30%)")
    service_path(endpoint, count, merged)


def service_path(endpoint: str, count: int, merged: dict[str, list[float]]) -> None:
    for backend in ("SQLite", "PostgreSQL"):
        service_on(backend, endpoint, count, merged)


def service_on(backend: str, endpoint: str, count: int,
               merged: dict[str, list[float]]) -> None:
    """Archiving from the outbox and downloading through the API."""
    sys.path.insert(0, str(ROOT))
    from _common import fresh_postgres
    from sqlalchemy import select

    from service.config import Settings
    from service.repository import documents as repository
    from service.tokens import create_token
    from service.web import create_app, prepare
    from storage.models import Dossier, DossierDocument

    work = Path(tempfile.mkdtemp(prefix="tokhai-bench-repo-"))
    url = (f"sqlite:///{work / 'bench.db'}" if backend == "SQLite"
           else fresh_postgres("tokhai_bench_repository"))
    settings = Settings.from_env(
        database_url=url, data_dir=str(work), store="s3",
        s3_endpoint=endpoint, s3_access_key="bench", s3_secret_key="bench-secret",
        s3_bucket="bench-kho", s3_secure=False, signing_config=None, log_level="WARNING")
    app = create_app(settings)
    prepare(app, migrate=True, load_catalogue=True)
    rt = app.extensions["tokhai"]
    now = datetime.now(UTC)
    with rt.sessions() as session:
        dossier = Dossier(code="UBND-00004-261127-0001", agency_code="UBND-00004",
                          form_id="f", form_version=1, procedure_code="1.001193",
                          citizen_id=OWNER, data={}, status="result_ready", row_version=1,
                          receipt_secret_hash="x", processing_days=5, submitted_at=now,
                          accept_deadline=now, updated_at=now)
        session.add(dossier)
        session.flush()
        ids = []
        for data in payloads(count):
            doc = DossierDocument(dossier_id=dossier.id, kind="letter",
                                  media_type="application/pdf",
                                  sha256=hashlib.sha256(data).hexdigest(), content=data,
                                  size=len(data),
                                  agency_code="UBND-00004", owner_id=OWNER, signed_at=now,
                                  document_id=str(uuid.uuid4()))
            repository.prepare(doc, settings.retention, "decision", "1.001193", "Quyết định",
                               None, dossier.code)
            session.add(doc)
            session.flush()
            ids.append((doc.id, doc.document_id))
        _, token = create_token(session, "citizen", "bench", personal_id=OWNER)
        session.commit()

    def archive(item: tuple[int, str]) -> None:
        with rt.sessions() as session:
            ok = repository.archive(session, rt.store, item[0])
            assert ok

    client = app.test_client()
    headers = {"Authorization": f"Bearer {token}"}

    def download(item: tuple[int, str]) -> None:
        response = client.get(f"/api/v1/repository/documents/{item[1]}/content",
                              headers=headers)
        assert response.status_code == 200 and len(response.data) == SIZE

    archive_t = timed(archive, ids)
    download_t = timed(download, ids)
    with rt.sessions() as session:
        pending = session.scalar(select(DossierDocument.id).where(
            DossierDocument.stored_at.is_(None)).limit(1))
    assert pending is None
    bare_put = statistics.median(merged["bare put"])
    bare_get = statistics.median(merged["bare get"])
    print(f"  service archive (outbox row + put, {backend}) median "
          f"{statistics.median(archive_t) * 1000:6.2f} ms: "
          f"{100 * (statistics.median(archive_t) - bare_put) / bare_put:+5.1f}% over bare put")
    print(f"  service download ({backend}; HTTP API: auth, access check, access log, stream)"
          f" median "
          f"{statistics.median(download_t) * 1000:6.2f} ms: "
          f"{100 * (statistics.median(download_t) - bare_get) / bare_get:+5.1f}% over bare get")


if __name__ == "__main__":
    main()
