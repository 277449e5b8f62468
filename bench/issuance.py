"""Issuance: render + sign at PAdES B-T with a local TSA, next to the straightforward path;
and verification time per document.

The straightforward path is what one writes first with pyHanko: for every document, load the
agency's key from its PKCS#12 file, then ``signers.sign_pdf`` with an HTTP time-stamper
(the signature size estimated by a dry run). tokhai's path keeps the key parsed, the TSA
connection open and the signature size reserved; the service runs one such signer per worker
process, so its throughput is also measured with two worker processes on this 2-core machine.
Both paths render the same result and reach the same TSA, a separate process on loopback.

    python bench/issuance.py [documents]
"""

from __future__ import annotations

import io
import multiprocessing
import os
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from _common import ROOT  # noqa: F401 - puts the project on sys.path

from forms.results import TEMPLATES
from service import patches
from service.pki import validation as verification
from service.pki.signer import AgencySigner, Signing
from service.pki.timestamps import LocalTimeStamper
from service.results import rendering
from tests import pki

patches.install()  # the fast paths the service runs with (service.patches)

AGENCY = "UBND-XA-00004"


def tsa_server(port: int, key: str, cert: str, root: str) -> None:
    """The local TSA: RFC 3161 over HTTP/1.1 with keep-alive (run in its own process)."""
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    from asn1crypto import tsp
    from pyhanko.sign.general import load_cert_from_pemder

    stamper = LocalTimeStamper.from_files(Path(key), Path(cert), [load_cert_from_pemder(root)])

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        # one segment per answer: headers and body written apart meet delayed ACKs (40 ms)
        disable_nagle_algorithm = True
        wbufsize = 65536

        def do_POST(self) -> None:  # noqa: N802 - http.server's name
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            response = stamper.request_tsa_response(tsp.TimeStampReq.load(body)).dump()
            self.send_response(200)
            self.send_header("Content-Type", "application/timestamp-reply")
            self.send_header("Content-Length", str(len(response)))
            self.end_headers()
            self.wfile.write(response)
            self.wfile.flush()

        def log_message(self, *args) -> None:
            pass

    ThreadingHTTPServer(("127.0.0.1", port), Handler).serve_forever()


def result_for(agency, number: int) -> rendering.Result:
    now = datetime.now(UTC)
    document_id = f"00000000-0000-4000-8000-{number:012d}"
    rows = [("Họ, chữ đệm, tên", "Lê Thị Thu Hà"), ("Ngày, tháng, năm sinh", "09/03/2026"),
            ("Giới tính", "Nữ"), ("Dân tộc", "Kinh"), ("Quốc tịch", "Việt Nam"),
            ("Nơi sinh", "Bệnh viện Phụ sản, Phường Ba Đình, Thành phố Hà Nội"),
            ("Họ, chữ đệm, tên người mẹ", "Lê Thị Hồng"), ("Năm sinh của người mẹ", "1990"),
            ("Họ, chữ đệm, tên người cha", "Nguyễn Văn An"),
            ("Năm sinh của người cha", "1985")]
    return rendering.Result(
        TEMPLATES["birth_extract"], agency.name, agency.place, f"{number}/2026/TLKS",
        document_id, f"http://tokhai.test/api/v1/documents/{document_id}/verification",
        f"{AGENCY}-261127-{number:04d}", "1.001193", "001085012345", rows,
        {"ho_ten": "Lê Thị Thu Hà"}, rendering.Stamp(agency.name, now, agency.seal_png))


def straightforward(p12: Path, tsa_url: str, seal: bytes, number: int) -> bytes:
    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
    from pyhanko.sign import fields, signers, timestamps

    class Agency:
        name, place, seal_png = pki.AGENCIES[AGENCY][0], "Hà Nội", seal

    rendered = rendering.render_result(result_for(Agency, number))
    signer = signers.SimpleSigner.load_pkcs12(str(p12), passphrase=pki.P12_PASSWORD.encode())
    meta = signers.PdfSignatureMetadata(field_name="ChuKyCoQuan", md_algorithm="sha256",
                                        subfilter=fields.SigSeedSubFilter.PADES)
    writer = IncrementalPdfFileWriter(io.BytesIO(rendered.pdf))
    out = signers.sign_pdf(writer, meta, signer=signer,
                           timestamper=timestamps.HTTPTimeStamper(tsa_url),
                           new_field_spec=fields.SigFieldSpec("ChuKyCoQuan", box=rendered.box))
    return out.getvalue()


_signing: Signing | None = None


def _worker_init(config: str) -> None:
    global _signing
    os.environ[pki.PASSWORD_ENV] = pki.P12_PASSWORD
    _signing = Signing.from_file(config)


def _agency(signing: Signing) -> AgencySigner:
    agency = signing.agency(AGENCY)
    assert agency is not None, f"{AGENCY} is not in the signing configuration"
    return agency


def ours(number: int, level: str = "B-T") -> bytes:
    assert _signing is not None
    agency = _agency(_signing)
    result = result_for(agency, number)
    rendered = rendering.render_result(result)
    return _signing.sign(agency, rendered.pdf, page=rendered.page, box=rendered.box,
                         signing_time=result.stamp.signed_at, level=level).pdf


def main() -> None:
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 200
    work = Path(tempfile.mkdtemp(prefix="tokhai-bench-issuance-"))
    served = pki.start(work)
    os.environ[pki.PASSWORD_ENV] = pki.P12_PASSWORD
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    tsa = multiprocessing.Process(target=tsa_server, daemon=True, args=(
        port, str(served.key_file("tsa")), str(served.cert_file("tsa")),
        str(served.cert_file("root"))))
    tsa.start()
    tsa_url = f"http://127.0.0.1:{port}/tsa"
    time.sleep(1.0)
    config = str(pki.write_signing_config(served, tsa_url=tsa_url, level="B-T"))
    _worker_init(config)
    assert _signing is not None
    seal = _agency(_signing).seal_png

    print(f"issuance benchmark: render + sign at B-T, local TSA in its own process, "
          f"{os.cpu_count()} cores")
    slow_n = max(10, count // 20)
    straightforward(served.p12_file("signer-a"), tsa_url, seal, 0)
    start = time.perf_counter()
    for i in range(slow_n):
        straightforward(served.p12_file("signer-a"), tsa_url, seal, i)
    slow = slow_n / (time.perf_counter() - start)
    print(f"  straightforward (PKCS#12 loaded + sign_pdf per document), 1 process: "
          f"{slow:7.1f} documents/s ({slow_n} documents)")

    ours(0)
    start = time.perf_counter()
    for i in range(count):
        ours(i)
    single = count / (time.perf_counter() - start)
    print(f"  tokhai, 1 process:  {single:7.1f} documents/s ({count} documents)  "
          f"= {single / slow:.1f}x straightforward")
    with multiprocessing.Pool(2, initializer=_worker_init, initargs=(config,)) as pool:
        pool.map(ours, range(4))
        start = time.perf_counter()
        pool.map(ours, range(count * 2), chunksize=8)
        double = count * 2 / (time.perf_counter() - start)
    print(f"  tokhai, 2 processes: {double:7.1f} documents/s ({count * 2} documents)  "
          f"= {double / slow:.1f}x straightforward (target: >= 10x and >= 50/s)")

    profile_split()

    # verification of what tokhai issues by default (B-LT: DSS with OCSP/CRL embedded)
    lt_config = str(pki.write_signing_config(served, tsa_url=tsa_url, level="B-LT",
                                             name="lt.yaml"))
    _worker_init(lt_config)
    trust = verification.trust_of(_signing)
    for level in ("B-T", "B-LT", "B-LTA"):
        documents = [ours(i, level) for i in range(20)]
        verification.verify(documents[0], trust, max_pages=10, original=lambda *_: None)
        times = []
        for pdf in documents:
            started = time.perf_counter()
            report = verification.verify(pdf, trust, max_pages=10, original=lambda *_: None)
            times.append(time.perf_counter() - started)
            assert report["signatures"][0]["level"] == level, report["problems"]
        print(f"  verification of {level}: median {statistics.median(times) * 1000:5.1f} ms,"
              f" max {max(times) * 1000:5.1f} ms per document (target: < 30 ms)")
    tsa.terminate()
    served.close()
    subprocess.run(["rm", "-rf", str(work)], check=False)


def profile_split() -> None:
    """Where tokhai's time per document goes: rendering vs signing (one process)."""
    assert _signing is not None
    agency = _agency(_signing)
    render_t, sign_t = [], []
    for i in range(40):
        result = result_for(agency, i)
        started = time.perf_counter()
        rendered = rendering.render_result(result)
        middle = time.perf_counter()
        _signing.sign(agency, rendered.pdf, page=rendered.page, box=rendered.box,
                      signing_time=result.stamp.signed_at, level="B-T")
        render_t.append(middle - started)
        sign_t.append(time.perf_counter() - middle)
    print(f"  per document (median): render {statistics.median(render_t) * 1000:.1f} ms, "
          f"sign incl. TSA round trip {statistics.median(sign_t) * 1000:.1f} ms")


if __name__ == "__main__":
    main()
