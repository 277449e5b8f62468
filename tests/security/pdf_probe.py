"""One upload in a fresh process, and what it cost: prints JSON with the status, the error
code, the seconds and the growth of the peak resident memory of the largest process that did
the work (this one, or a child it started: the sandbox's children are reaped before measuring,
so the kernel has added their peaks to this process's ``RUSAGE_CHILDREN``).

    python -m tests.security.pdf_probe verify|digitise PDF DATA_DIR [SIGNING_CONFIG]
"""

from __future__ import annotations

import json
import resource
import sys
import time
from pathlib import Path


def _peak_kib() -> int:
    return max(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
               resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)


def _reap_children() -> None:
    """End the sandbox's children and the fork server, waiting for each."""
    try:
        from service import sandbox
    except ImportError:  # a version without a sandbox: nothing was started
        return
    sandbox.SANDBOX.close()
    from multiprocessing import forkserver

    forkserver._forkserver._stop()  # type: ignore[attr-defined]


def main() -> None:
    action, pdf, data_dir = sys.argv[1:4]
    signing = sys.argv[4] if len(sys.argv) > 4 else None
    from tests.conftest import _token, make_app

    app = make_app(f"sqlite:///{Path(data_dir) / 'probe.db'}", Path(data_dir),
                   signing_config=signing)
    client = app.test_client()
    body = Path(pdf).read_bytes()
    headers = {"Content-Type": "application/pdf"}
    before = _peak_kib()
    started = time.perf_counter()
    if action == "verify":
        answer = client.post("/api/v1/verifications", data=body, headers=headers)
    else:
        token = _token(app, "officer", agency_code="UBND-XA-00004")
        answer = client.post("/api/v1/digitised-documents",
                             query_string={"kind": "birth_certificate"}, data=body,
                             headers={**headers, "Authorization": f"Bearer {token}"})
    seconds = time.perf_counter() - started
    _reap_children()
    print(json.dumps({"status": answer.status_code,
                      "code": (answer.get_json() or {}).get("code"),
                      "seconds": seconds,
                      "growth_mib": (_peak_kib() - before) / 1024}))


if __name__ == "__main__":
    main()
