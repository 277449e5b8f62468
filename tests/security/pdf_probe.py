"""One upload in a fresh process, and what it cost: prints JSON with the status, the error
code, the seconds, how much this process's peak resident memory grew during the request (the
peak is reset just before it), and the peak of the largest child process (the sandbox's
children are reaped before measuring, so the kernel has added their peaks to this process's
``RUSAGE_CHILDREN``; compare it with the same probe on a harmless PDF).

    python -m tests.security.pdf_probe verify|digitise PDF DATA_DIR [SIGNING_CONFIG]
"""

from __future__ import annotations

import json
import re
import resource
import sys
import time
from pathlib import Path


def _status_mib(key: str) -> float:
    with open("/proc/self/status") as f:
        found = re.search(rf"{key}:\s+(\d+) kB", f.read())
    assert found is not None, key
    return int(found.group(1)) / 1024


def _reap_children() -> None:
    """End the sandbox's children and the fork server, waiting for each."""
    try:
        from service.pki import sandbox
    except ImportError:  # a version without a sandbox: nothing was started
        return
    sandbox.SANDBOX.close()
    from multiprocessing import forkserver

    # the standard library has no public way to end its fork server
    forkserver._forkserver._stop()  # type: ignore[attr-defined]  # private, not in typeshed


def main() -> None:
    action, pdf, data_dir = sys.argv[1:4]
    signing = sys.argv[4] if len(sys.argv) > 4 else None
    from tests.conftest import _token, make_app

    app = make_app(f"sqlite:///{Path(data_dir) / 'probe.db'}", Path(data_dir),
                   signing_config=signing)
    client = app.test_client()
    body = Path(pdf).read_bytes()
    headers = {"Content-Type": "application/pdf"}
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")  # resets the peak (VmHWM) to the present size
    before = _status_mib("VmRSS")
    started = time.perf_counter()
    if action == "verify":
        answer = client.post("/api/v1/verifications", data=body, headers=headers)
    else:
        token = _token(app, "officer", agency_code="UBND-XA-00004")
        answer = client.post("/api/v1/digitised-documents",
                             query_string={"kind": "birth_certificate"}, data=body,
                             headers={**headers, "Authorization": f"Bearer {token}"})
    seconds = time.perf_counter() - started
    grown = _status_mib("VmHWM") - before
    _reap_children()
    print(json.dumps({"status": answer.status_code,
                      "code": (answer.get_json() or {}).get("code"),
                      "seconds": seconds,
                      "growth_mib": grown,
                      "children_peak_mib":
                          resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024}))


if __name__ == "__main__":
    main()
