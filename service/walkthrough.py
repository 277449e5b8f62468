"""The whole pipeline in one command, against a running tokhai: ``make demo``.

Start the service in one terminal (``make run``), then run ``make demo`` in another (or
``.venv/bin/python -m service.walkthrough --url http://127.0.0.1:5000``). As the demo citizen
it prefills a birth registration, types what the registers cannot know, checks and files it;
reads the receipt without logging in; as the officer of the demo agency accepts the dossier,
starts processing it and issues the signed result; as the citizen downloads the PDF; verifies
it as anyone would; and reads the event log as the auditor. Every HTTP request is printed as
``METHOD path`` with the key part of its answer. Any unexpected answer stops it with the
answer's body and exit status 1.

It is a plain HTTP client (the standard library and httpx): it imports nothing of tokhai, so
it shows exactly what any other client would have to do. It fills what prefill leaves from
the form's JSON Schema (codes from the lists, dates, plausible text), asks the service to
check the data, and fills whatever the answer still names, so it works for any catalogue form
(``--form``).
"""

from __future__ import annotations

import argparse
import contextlib
import datetime
import json
import re
import sys
import uuid
from pathlib import Path
from typing import Any

import httpx

API = "/api/v1"
DEMO_CITIZEN = "001085012345"

#: values a person would type for fields the registers cannot fill, by field id
TEXT_HINTS = {
    "ho_ten": "Nguyễn Minh Khôi",
    "lam_tai": "Hà Nội",
    "ly_do": "Đề nghị giải quyết theo quy định.",
    "noi_dung_de_nghi": "Đề nghị giải quyết theo quy định.",
    "dien_thoai": "0912345678",
    "email": "nguoi.dan@example.vn",
}
CODE_HINTS = {"quan_he": "cha", "quoc_tich": "VN", "dan_toc": "01"}
FALLBACK_TEXT = "Dữ liệu mẫu (make demo)"


class StepFailed(Exception):
    """An answer the walkthrough did not expect."""


# -- printing ------------------------------------------------------------------------------

def heading(number: int, text: str) -> None:
    print(f"\n{number}. {text}")


def answer(text: str) -> None:
    print(f"   → {text}")


def note(text: str) -> None:
    print(f"     {text}")


def short(value: Any, width: int = 60) -> str:
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    return text if len(text) <= width else text[: width - 1] + "…"


# -- HTTP --------------------------------------------------------------------------------

class Client:
    def __init__(self, base_url: str, tokens: dict[str, str], timeout: float) -> None:
        self.http = httpx.Client(base_url=base_url, timeout=timeout)
        self.tokens = tokens

    def call(self, method: str, path: str, *, who: str | None = None,
             expect: tuple[int, ...] = (200,), shown_path: str | None = None,
             **kwargs: Any) -> httpx.Response:
        headers = dict(kwargs.pop("headers", {}) or {})
        if who is not None:
            headers["Authorization"] = f"Bearer {self.tokens[who]}"
        extra = "".join(f"  {name}: {value}" for name, value in headers.items()
                        if name in ("If-Match", "Idempotency-Key", "Content-Type"))
        print(f"   {method} {shown_path or path}   [{who or 'no token'}]{extra}")
        try:
            resp = self.http.request(method, path, headers=headers, **kwargs)
        except httpx.HTTPError as exc:
            raise StepFailed(f"{method} {path}: {exc}") from exc
        if resp.status_code not in expect:
            try:
                body = json.dumps(resp.json(), ensure_ascii=False, indent=2)
            except ValueError:
                body = resp.text[:2000]
            raise StepFailed(f"{method} {path} answered {resp.status_code}, expected "
                             f"{' or '.join(map(str, expect))}:\n{body}")
        return resp


# -- completing a form from its JSON Schema -----------------------------------------------

class Filler:
    """Plausible values for the fields a citizen still has to type, from the form's schema."""

    def __init__(self, schema: dict[str, Any], today: datetime.date) -> None:
        self.root = schema
        self.today = today

    def resolve(self, s: dict[str, Any]) -> dict[str, Any]:
        while "$ref" in s:
            node: Any = self.root
            for part in s["$ref"].lstrip("#/").split("/"):
                node = node[part]
            s = {**node, **{k: v for k, v in s.items() if k != "$ref"}}
        return s

    def at(self, pointer: str) -> dict[str, Any]:
        """The schema of the value at a JSON pointer into the data."""
        s = self.resolve(self.root)
        for part in pointer.strip("/").split("/"):
            if s.get("type") == "array":
                s = self.resolve(s.get("items", {}))
                if part.isdigit():
                    continue
            s = self.resolve(s.get("properties", {}).get(part, {}))
        return s

    def choices(self, s: dict[str, Any]) -> list[Any]:
        if "const" in s:
            return [s["const"]]
        if "enum" in s:
            return list(s["enum"])
        for key in ("oneOf", "anyOf"):
            consts = [o["const"] for o in s.get(key, []) if "const" in o]
            if consts:
                return consts
        return []

    def value(self, s: dict[str, Any], key: str, context: dict[str, Any]) -> Any:
        s = self.resolve(s)
        options = self.choices(s)
        kind = s.get("type")
        if kind == "boolean":
            # a commitment is `const: true`; a yes/no question is answered no
            return options == [True]
        if options:
            hint = CODE_HINTS.get(key)
            return hint if hint in options else options[0]
        if kind == "object":
            return self.complete({}, s, context)
        if kind == "array":
            count = max(1, s.get("minItems", 0))
            return [self.value(s.get("items", {}), key, context) for _ in range(count)]
        if kind == "integer":
            return max(s.get("minimum", 1), min(s.get("maximum", 1), 1))
        return self.string(s, key, context)

    def string(self, s: dict[str, Any], key: str, context: dict[str, Any]) -> str:
        days_ago = (self.today - datetime.timedelta(days=10)).isoformat()
        patterns = [s["pattern"]] if "pattern" in s else []
        patterns += [o["pattern"] for o in s.get("anyOf", []) if "pattern" in o]
        longest = s.get("maxLength", 10_000)
        if not patterns and s.get("format") != "date":  # free text
            return (TEXT_HINTS.get(key) or FALLBACK_TEXT)[:longest]
        candidates = [TEXT_HINTS.get(key), days_ago, days_ago[:4], days_ago[:7],
                      "001090012345", "0101234567", "0912345678", "nguoi.dan@example.vn",
                      "TL-0001"]
        for pattern in patterns:  # codes of fixed length: ^[0-9]{5}$
            candidates += ["1".zfill(int(n)) for n in re.findall(r"\[0-9\]\{(\d+)\}", pattern)]
        for candidate in candidates:
            if candidate is not None and len(candidate) <= longest and (
                    not patterns or any(re.search(p, candidate) for p in patterns)):
                return candidate
        raise StepFailed(f"cannot make up a value for the field {key!r}: {s}")

    def complete(self, data: dict[str, Any], s: dict[str, Any],
                 context: dict[str, Any]) -> dict[str, Any]:
        """The object with its required properties added (existing values are kept)."""
        s = self.resolve(s)
        props = s.get("properties", {})
        if {"province", "commune"} <= set(props) and "address" in context and not data:
            # an address the citizen has not typed: the declarant's own, as people do
            return {k: v for k, v in context["address"].items() if k in props}
        out = dict(data)
        for key in s.get("required", []):
            if key not in out:
                out[key] = self.value(props.get(key, {}), key, context)
        for rule in self.rules(s):
            if self.matches(out, rule["if"]):
                then = self.resolve(rule.get("then", {}))
                for key, sub in then.get("properties", {}).items():
                    allowed = self.choices(self.resolve(sub))
                    if key in out and allowed and out[key] not in allowed:
                        out[key] = allowed[0]
        return out

    def rules(self, s: dict[str, Any]) -> list[dict[str, Any]]:
        found = []
        for part in s.get("allOf", []):
            part = self.resolve(part)
            if "if" in part:
                found.append(part)
            found += self.rules(part)
        return found

    def matches(self, data: dict[str, Any], test: dict[str, Any]) -> bool:
        if any(k not in data for k in test.get("required", [])):
            return False
        for key, sub in test.get("properties", {}).items():
            if key in data and ("const" in sub and data[key] != sub["const"]
                                or "enum" in sub and data[key] not in sub["enum"]):
                return False
        return True


def get_pointer(data: Any, pointer: str) -> Any:
    """The value at a JSON pointer; ``-`` (any item of a list) reads the first item."""
    node = data
    for part in pointer.strip("/").split("/"):
        node = node[0 if part == "-" else int(part)] if isinstance(node, list) else node[part]
    return node


def set_pointer(data: dict[str, Any], pointer: str, value: Any) -> None:
    parts = pointer.strip("/").split("/")
    node: Any = data
    for part in parts[:-1]:
        node = node[int(part)] if isinstance(node, list) else node.setdefault(part, {})
    if isinstance(node, list):
        node[int(parts[-1])] = value
    else:
        node[parts[-1]] = value


def find_address(data: Any) -> dict[str, Any] | None:
    if isinstance(data, dict):
        if "province" in data and "commune" in data:
            return data
        for value in data.values():
            found = find_address(value)
            if found:
                return found
    return None


# -- the walkthrough ------------------------------------------------------------------------

def walkthrough(c: Client, form_id: str, agency: str, out_dir: Path) -> None:
    citizen, officer, auditor = "citizen_father", f"officer_{agency}", "auditor"

    heading(1, "Danh mục tờ khai – the catalogue of published forms (public)")
    forms = c.call("GET", f"{API}/forms").json()
    chosen = next((f for f in forms if f["id"] == form_id), None)
    if chosen is None:
        raise StepFailed(f"the catalogue has no form {form_id!r}: "
                         + ", ".join(f["id"] for f in forms))
    version = chosen["latest_published_version"]
    entry = next(v for v in chosen["versions"] if v["version"] == version)
    answer(f"200 · {len(forms)} forms; this walkthrough files “{chosen['title']}” "
           f"({form_id} v{version}, procedure {entry['procedure_code']})")
    form = f"{API}/forms/{form_id}/versions/{version}"

    heading(2, f"Điền sẵn – the demo citizen ({DEMO_CITIZEN}, Nguyễn Văn An) prefills "
               "the form from the registers")
    schema = c.call("GET", f"{form}/schema").json()
    answer(f"200 · the JSON Schema, {len(schema['properties'])} sections")
    prefill = c.call("GET", f"{form}/prefill", who=citizen).json()
    data = prefill["data"]
    sources = sorted({p.get("register_title") or p["source"]
                      for p in prefill["provenance"].values()})
    answer(f"200 · {len(prefill['provenance'])} fields prefilled "
           f"({sum(p['mode'] == 'verified' for p in prefill['provenance'].values())} verified, "
           "the rest suggested), "
           f"{len(prefill['to_type'])} left to type; from: {'; '.join(sources)}")
    if prefill["failed_sources"]:
        note(f"registers that did not answer: {prefill['failed_sources']}")
    report = c.call("GET", f"{form}/trimming-report", who=citizen,
                    params={"personal_id": DEMO_CITIZEN}).json()
    actual = report.get("actual", report)
    answer(f"200 · trimming: {actual['counts']['typed']} of "
           f"{actual['counts']['official_fields']} official fields to type, "
           f"{actual['reduction_percent']}% fewer (target ≥ {report['target_percent']}%)")

    heading(3, "Nhập và kiểm tra – type what the registers cannot know, then check")
    filler = Filler(schema, datetime.date.today())
    address = find_address(data)
    context = {"address": address} if address else {}
    data = deep_complete(filler, data, schema, context)
    typed: dict[str, Any] = {}
    for _ in range(5):
        checked = c.call("POST", f"{form}/validate", who=citizen, json={"data": data}).json()
        if checked["valid"]:
            answer(f"200 · valid: true{checks_text(checked)}")
            break
        answer(f"200 · valid: false, {len(checked['errors'])} errors: "
               + ", ".join(f"{e['field']} ({e['code']})" for e in checked["errors"][:6])
               + (" …" if len(checked["errors"]) > 6 else ""))
        for error in checked["errors"]:
            pointer = error["field"]
            set_pointer(data, pointer, filler.value(filler.at(pointer),
                                                    pointer.rsplit("/", 1)[-1], context))
    else:
        raise StepFailed("the data is still not valid: " + json.dumps(
            checked["errors"], ensure_ascii=False, indent=2))
    for pointer in prefill["to_type"]:
        with contextlib.suppress(KeyError, IndexError, TypeError, ValueError):
            typed[pointer] = get_pointer(data, pointer)  # else: optional, left empty
    left = [p for p in prefill["to_type"] if p not in typed]
    note(f"typed by the citizen: {len(typed)} fields"
         + (f" ({len(left)} optional left empty: {', '.join(left)})" if left else "")
         + f"; {len(prefill['provenance'])} came from the registers")
    for pointer, value in typed.items():
        note(f"  {pointer} = {short(value)}")

    heading(4, f"Nộp hồ sơ – file the dossier with agency {agency}")
    key = f"demo-{uuid.uuid4()}"
    filed_resp = c.call("POST", f"{API}/dossiers", who=citizen, expect=(201,),
                        headers={"Idempotency-Key": key},
                        json={"form_id": form_id, "version": version,
                              "agency_code": agency, "data": data})
    filed = filed_resp.json()
    code, secret = filed["code"], filed["receipt_secret"]
    answer(f"201 · code {code}, status {filed['status']} ({filed['status_label']}), "
           f"ETag {filed_resp.headers.get('ETag')}")
    note(f"receipt secret {secret} (shown once); to be accepted by "
         f"{filed['deadlines']['accept_by']} (8 working hours)")
    body_file = out_dir / f"ho-so-{code}.json"
    body_file.write_text(json.dumps({"form_id": form_id, "version": version,
                                     "agency_code": agency, "data": data},
                                    ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    note(f"the body that was filed: {body_file}")

    heading(5, "Tra cứu bằng biên nhận – anyone holding the receipt, without logging in")
    receipt = c.call("GET", f"{API}/receipts/{code}", params={"secret": secret},
                     shown_path=f"{API}/receipts/{code}?secret={secret}").json()
    answer(f"200 · {receipt['status']} ({receipt['status_label']}); only the status and "
           "deadlines, no form data")

    heading(6, f"Xử lý – the officer of {agency} accepts and processes the dossier")
    resp = c.call("GET", f"{API}/dossiers/{code}", who=officer)
    etag = resp.headers["ETag"]
    answer(f"200 · status {resp.json()['status']}, ETag {etag}")
    for action in ("accept", "start_processing"):
        resp = c.call("POST", f"{API}/dossiers/{code}/actions", who=officer,
                      headers={"If-Match": etag}, json={"action": action})
        etag = resp.headers["ETag"]
        body = resp.json()
        answer(f"200 · {action}: status {body['status']} ({body['status_label']}), ETag {etag}"
               + (f", to be processed by {body['deadlines']['process_by']}"
                  if action == "accept" else ""))
    resp = c.call("POST", f"{API}/dossiers/{code}/result", who=officer, expect=(201,),
                  headers={"If-Match": etag}, json={})
    doc = resp.json()
    answer(f"201 · signed result {doc['number']} ({doc['template']}), level {doc['level']}, "
           f"signed by {common_name(doc['signer'])}")
    note(f"document {doc['document_id']}, sha256 {doc['sha256'][:16]}…, "
         f"archiving {doc['archiving']}")

    heading(7, "Tải kết quả – the citizen downloads the signed PDF")
    resp = c.call("GET", doc["download_url"], who=citizen)
    pdf = out_dir / f"ket-qua-{code}.pdf"
    pdf.write_bytes(resp.content)
    answer(f"200 · {resp.headers.get('Content-Type')}, {len(resp.content):,} bytes "
           f"saved to {pdf}")

    heading(8, "Xác minh – anyone verifies the PDF (no token)")
    report = c.call("POST", f"{API}/verifications", content=resp.content,
                    headers={"Content-Type": "application/pdf"}).json()
    answer(f"200 · valid: {json.dumps(report['valid'])}, legally_valid: "
           f"{json.dumps(report['legally_valid'])}, matches_original: "
           f"{json.dumps(report.get('matches_original'))}")
    for sig in report.get("signatures", []):
        note(f"signature {sig['field']}: {sig['signer']['common_name']}, level {sig['level']}, "
             f"intact {json.dumps(sig['intact'])}, trusted {json.dumps(sig['trusted'])}, "
             f"revocation {sig['revocation']}")
    problems = report.get("problems", []) + [
        p for sig in report.get("signatures", []) for p in sig.get("problems", [])]
    for code_, message in dict.fromkeys((p["code"], p.get("message_en") or p.get("message"))
                                        for p in problems):
        note(f"not legally valid because {code_}: {message}")
    if any(p["code"] == "development_key" for p in problems):
        note("(make run signs with a development key made on this machine: the signature "
             "checks, but no such document has legal value)")
    if not report["valid"]:
        raise StepFailed("the signed result does not verify: "
                         + json.dumps(report, ensure_ascii=False, indent=2))

    heading(9, "Trả kết quả – the officer records that the result was delivered")
    resp = c.call("GET", f"{API}/dossiers/{code}", who=officer)
    etag = resp.headers["ETag"]
    answer(f"200 · status {resp.json()['status']}, ETag {etag} (issuing changed the dossier)")
    resp = c.call("POST", f"{API}/dossiers/{code}/actions", who=officer,
                  headers={"If-Match": etag}, json={"action": "deliver"})
    answer(f"200 · status {resp.json()['status']} ({resp.json()['status_label']})")

    heading(10, "Nhật ký sự kiện – the event log the national portal reads (auditor)")
    events: list[dict[str, Any]] = []
    after = 0
    while True:
        page = c.call("GET", f"{API}/events", who=auditor,
                      params={"after": after, "limit": 1000},
                      shown_path=f"{API}/events?after={after}&limit=1000").json()
        events += [e for e in page["events"] if e["dossier_code"] == code]
        after = page["next_cursor"]
        if len(page["events"]) < 1000:
            break
    answer(f"200 · {len(events)} events of {code} (cursor now {after}):")
    for e in events:
        note(f"#{e['position']} {e['action']}: {e['from_status'] or '–'} → {e['to_status']} "
             f"by {e['actor']}")

    print(f"\nDone: dossier {code} went from filing to a delivered, signed result.")
    print(f"Try it yourself: .venv/bin/tokhai verify {pdf}")


def deep_complete(filler: Filler, data: dict[str, Any], s: dict[str, Any],
                  context: dict[str, Any]) -> dict[str, Any]:
    """Complete an object and the objects inside it that the data already has."""
    s = filler.resolve(s)
    out = filler.complete(data, s, context)
    for key, sub in s.get("properties", {}).items():
        sub = filler.resolve(sub)
        if sub.get("type") == "object" and isinstance(out.get(key), dict):
            out[key] = deep_complete(filler, out[key], sub, context)
    return out


def common_name(signer: str) -> str:
    found = re.search(r"Common Name: ([^,]+)", signer or "")
    return found.group(1) if found else signer


def checks_text(checked: dict[str, Any]) -> str:
    if not checked.get("checks"):
        return ""
    return "; checks of typed people: " + ", ".join(
        f"{c['person']} {c['result']}" for c in checked["checks"])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m service.walkthrough",
        description="File a dossier as the demo citizen, process it as the officer, issue, "
                    "download and verify the signed result, against a running tokhai "
                    "(`make run` in another terminal).")
    parser.add_argument("--url", default="http://127.0.0.1:5000",
                        help="the service (default %(default)s)")
    parser.add_argument("--tokens", default="var/dev-tokens.json", type=Path,
                        help="the development tokens `make run` wrote (default %(default)s)")
    parser.add_argument("--form", default="to-khai-dang-ky-khai-sinh",
                        help="the catalogue form to file (default %(default)s)")
    parser.add_argument("--agency", default="UBND-00004",
                        help="the receiving agency; needs an officer token and a signing key "
                             "(default %(default)s)")
    parser.add_argument("--out", default="var", type=Path,
                        help="where the filed body and the signed PDF are saved "
                             "(default %(default)s)")
    parser.add_argument("--timeout", default=60.0, type=float,
                        help="seconds to wait for each answer (default %(default)s)")
    args = parser.parse_args(argv)

    try:
        tokens = json.loads(args.tokens.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        print(f"cannot read the development tokens in {args.tokens}: {exc}\n"
              "Start the service first with `make run` (it writes them), in another terminal.",
              file=sys.stderr)
        return 1
    needed = ["citizen_father", f"officer_{args.agency}", "auditor"]
    if missing := [name for name in needed if name not in tokens]:
        print(f"{args.tokens} has no token {', '.join(missing)}", file=sys.stderr)
        return 1
    base = args.url.rstrip("/")
    client = Client(base, tokens, args.timeout)
    print(f"tokhai walkthrough against {base} (tokens from {args.tokens})")
    try:
        client.call("GET", "/healthz")
    except StepFailed as exc:
        print(f"\nThe service does not answer at {base}: {exc}\n"
              "Start it with `make run` in another terminal (same HOST and PORT), then run "
              "`make demo` again.", file=sys.stderr)
        return 1
    args.out.mkdir(parents=True, exist_ok=True)
    try:
        walkthrough(client, args.form, args.agency, args.out)
    except StepFailed as exc:
        print(f"\nFAILED: {exc}", file=sys.stderr)
        return 1
    finally:
        client.http.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
