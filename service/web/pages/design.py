"""The form designers' pages: the forms and their versions, the editor of a draft's
definition, the preview of a form as citizens see it, the trimming report, the comparison of
two versions and publishing.

Everything goes through the operations the API's designer endpoints use
(:mod:`service.catalogue`), with the signed-in designer's principal. A draft's text is checked
on save and every problem is shown at its line and path (:func:`service.catalogue.
problem_lines`); the text typed is never lost. The editor carries the digest of the text it
loaded: a draft someone saved since is not overwritten without the designer seeing the
difference. Previews and reports for a citizen use only the demo people's records (the API's
rule for a designer's look-up: demo data, written to the access log).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from flask import Blueprint, current_app, g, redirect, request, session, url_for
from flask.sessions import SecureCookieSessionInterface
from flask_babel import gettext as _
from werkzeug.exceptions import RequestEntityTooLarge
from werkzeug.wrappers import Response

from forms.comparison import compare as compare_forms
from forms.comparison import text_diff
from forms.imports.draft import Finding
from forms.language import parse
from forms.model import DROP_REASONS
from forms.trimming import TARGET_PERCENT
from service import catalogue, imports
from service.errors import Conflict, DomainError, NotFound
from service.records import prefill as pf
from service.web import door
from service.web.api import forms as forms_api
from service.web.errors import ApiError, status_of
from service.web.pages import eform, sessions
from service.web.pages.rendering import PAGE_BLUEPRINTS, page_error, render
from service.web.pages.signin import DEV_PEOPLE
from service.web.runtime import current_runtime
from storage.models import FormVersion

log = logging.getLogger("tokhai.pages")
bp = Blueprint("design", __name__)
PAGE_BLUEPRINTS.add("design")

#: the demo citizens a designer may preview a form for (the development sign-in's citizens,
#: the two demo people of every demo set): key -> (personal ID, name)
DEMO_CITIZENS: dict[str, tuple[str, str]] = {
    key: (pid, name) for key, (role, name, pid, _agency) in DEV_PEOPLE.items()
    if role == "citizen" and pid is not None}
#: the editor's text area (the error summary links to it)
EDITOR = "definition"


@dataclass(frozen=True)
class Citizen:
    key: str
    personal_id: str
    name: str


def _citizens() -> list[Citizen]:
    return [Citizen(k, pid, name) for k, (pid, name) in DEMO_CITIZENS.items()]


def _said(refused: DomainError) -> str:
    return refused.message if g.get("lang", "vi") == "vi" else refused.message_en


def _person() -> sessions.Person:
    person = sessions.current()
    assert person is not None  # @signed_in("designer")
    return person


def _row(form_id: str, version: int) -> FormVersion | None:
    if len(form_id) > 80:
        return None
    try:
        return catalogue.get_version(g.db, form_id, version, include_drafts=True)
    except NotFound:
        return None


def status_text(status: str) -> str:
    return {"draft": _("Bản nháp"), "published": _("Đã công bố")}.get(status, status)


def _versions(form_id: str) -> list[FormVersion]:
    return catalogue.list_versions(g.db, form_id, include_drafts=True)


# -- the list and a version -------------------------------------------------------------------

@bp.get("/design")
@sessions.signed_in("designer")
def forms() -> Response:
    """Every form with its versions, drafts first within a form."""
    grouped: dict[str, list[FormVersion]] = {}
    for row in catalogue.list_versions(g.db, None, include_drafts=True):
        grouped.setdefault(row.form_id, []).append(row)
    listing: list[dict[str, Any]] = []
    for form_id, rows in grouped.items():
        published = [r for r in rows if r.status == "published"]
        listing.append({"id": form_id, "title": (published or rows)[-1].title,
                        "versions": sorted(rows, key=lambda r: -r.version),
                        "drafts": sum(r.status == "draft" for r in rows)})
    listing.sort(key=lambda f: (-int(f["drafts"]), str(f["title"])))
    return render("design/forms.html", forms=listing, status_text=status_text)


@bp.get("/design/forms/<form_id>/<int:version>")
@sessions.signed_in("designer")
def version(form_id: str, version: int) -> Response:
    row = _row(form_id, version)
    if row is None:
        return page_error(404)
    others = [r for r in _versions(form_id) if r.version != version]
    report = catalogue.compiled(row).trimming_report
    return render("design/version.html", row=row, others=others, report=report,
                  status_text=status_text, saved=bool(request.args.get("saved")),
                  published=bool(request.args.get("published")))


@bp.post("/design/forms/<form_id>/<int:version>/new-draft")
@sessions.signed_in("designer")
def new_draft(form_id: str, version: int) -> Response:
    """A copy of this version's text as the next free version number, then the editor."""
    if _row(form_id, version) is None:
        return page_error(404)
    try:
        row = catalogue.new_draft_from(g.db, form_id, version, _person().principal.actor)
    except DomainError as refused:
        g.db.rollback()
        return page_error(409, _said(refused))
    g.db.commit()
    log.info("form draft copied", extra={"form_id": form_id, "from_version": version,
                                         "version": row.version})
    return redirect(url_for("design.edit", form_id=form_id, version=row.version))


# -- the editor -------------------------------------------------------------------------------

@bp.route("/design/forms/<form_id>/<int:version>/edit", methods=["GET", "POST"])
@sessions.signed_in("designer")
def edit(form_id: str, version: int) -> Response:
    """The draft's text; Save checks it, and shows every problem at its line and path with
    the text kept; a published version is read-only."""
    row = _row(form_id, version)
    if row is None:
        return page_error(404)
    if row.status == "published":
        return _editor(row, row.source, status=409, frozen=True)
    if request.method == "GET":
        return _editor(row, row.source, saved=bool(request.args.get("saved")),
                       imported=_take_imported(row))
    # a text area posts CRLF line ends: the text is kept as the designer sees it
    text = request.form.get(EDITOR, "").replace("\r\n", "\n")
    loaded = request.form.get("digest", "")
    try:
        saved = catalogue.update_draft(g.db, form_id, version, text, row.source_format,
                                       _person().principal.actor, expected=loaded)
        door.refuse_bad_characters(saved.definition, "definition")
    except ApiError as refused:  # a character with no place in a definition
        g.db.rollback()
        problems = [{"path": str(p.get("field", "")).removeprefix("definition").lstrip("/."),
                     "message": p.get("message", "")} for p in (refused.errors or [])]
        return _editor(row, text, status=422, problems=problems, digest=loaded)
    except Conflict as refused:
        g.db.rollback()
        current = _row(form_id, version)
        assert current is not None
        if refused.code == "draft_changed":
            return _editor(current, text, status=409, changed=True,
                           digest=catalogue.source_digest(current),
                           diff=text_diff(current.source, text))
        return _editor(current, current.source, status=409, frozen=True,
                       refused=_said(refused))
    except DomainError as refused:
        g.db.rollback()
        problems = refused.errors or [{"path": refused.field or "", "message": refused.message}]
        return _editor(row, text, status=422, problems=problems, digest=loaded)
    g.db.commit()
    log.info("form draft saved", extra={"form_id": form_id, "version": version})
    return redirect(url_for("design.edit", form_id=form_id, version=version, saved=1))


def _editor(row: FormVersion, text: str, *, status: int = 200, saved: bool = False,
            frozen: bool = False, problems: list[dict[str, Any]] | None = None,
            digest: str | None = None, changed: bool = False, diff: list[Any] | None = None,
            refused: str | None = None, imported: Imported | None = None) -> Response:
    located = catalogue.problem_lines(text, problems) if problems else []
    errors = []
    for p in located:
        where = p.get("path") or ""
        if p["line"] is not None:
            label = (_("Dòng %(line)s, %(path)s: %(message)s", line=p["line"], path=where,
                       message=p.get("message", "")) if where and not where.startswith("line ")
                     else _("Dòng %(line)s: %(message)s", line=p["line"],
                            message=p.get("message", "")))
        elif where:
            label = _("%(path)s: %(message)s", path=where, message=p.get("message", ""))
        else:
            label = str(p.get("message", ""))
        errors.append({"field": EDITOR, "message": label, "line": p["line"]})
    if changed:
        errors.insert(0, {"field": EDITOR, "message": _(
            "Bản nháp đã được lưu lại (có thể bởi người khác) sau khi bạn mở trang này. Văn bản "
            "của bạn chưa được lưu và vẫn còn nguyên bên dưới; xem phần khác nhau, rồi bấm "
            "“Lưu” lần nữa nếu muốn thay bản đã lưu bằng văn bản của bạn."), "line": None})
    return render("design/edit.html", status=status, row=row, text=text,
                  digest=digest if digest is not None else catalogue.source_digest(row),
                  errors=errors, error_count=len(errors), saved=saved, frozen=frozen,
                  changed=changed, diff=diff or [], refused=refused,
                  lines=max(text.count("\n") + 1, 1), status_text=status_text,
                  imported=imported is not None,
                  findings=_findings(text, imported.findings) if imported is not None else [],
                  more_findings=imported.more if imported is not None else 0,
                  from_ocr=imported is not None and imported.from_ocr)


# -- importing a printed form -----------------------------------------------------------------

#: what a post carries beside the PDF (the multipart boundaries, the CSRF token)
FORM_OVERHEAD = 64 * 1024


@bp.url_value_preprocessor
def _upload_limit(endpoint: str | None, values: dict[str, Any] | None) -> None:
    """The import page's post may be as large as a PDF the importer takes, not just as large
    as any other form: set before the pages' CSRF check reads the form (URL value
    preprocessors run before every ``before_request``)."""
    if endpoint == "design.import_pdf" and request.method == "POST":
        request.max_content_length = imports.MAX_BYTES + FORM_OVERHEAD


@bp.errorhandler(RequestEntityTooLarge)
def _too_large(error: RequestEntityTooLarge) -> Response:
    person = sessions.current()
    if (request.endpoint == "design.import_pdf" and person is not None
            and person.role == "designer"):
        return _import_page(_too_large_text(), 413)
    return page_error(413)


def _too_large_text() -> str:
    return _("Tệp lớn hơn %(size)s MB: chỉ nhập được tệp PDF tối đa %(size)s MB.",
             size=imports.MAX_BYTES // imports.MiB)


def _import_page(error: str | None = None, status: int = 200) -> Response:
    errors = [{"field": imports.FIELD, "message": error}] if error else []
    return render("design/import.html", status=status, errors=errors, error=error,
                  max_mb=imports.MAX_BYTES // imports.MiB, max_pages=imports.MAX_PAGES,
                  max_seconds=f"{imports.MAX_SECONDS:g}")


#: the session key holding an import's findings until the editor of its draft shows them
IMPORTED = "imported"
#: the most findings kept for the editor after an import (the rest are counted, and are in the
#: draft's text as its "# ĐOÁN" comments)
KEPT_FINDINGS = 12
#: a finding's message kept up to this many characters
KEPT_MESSAGE = 300
#: the session cookie stays under this many bytes with the findings in it (browsers drop a
#: cookie over 4096 bytes, and the signed-in session with it)
SESSION_BYTES = 3000


@dataclass(frozen=True)
class Imported:
    """What the editor says once after an import: the first findings, how many more there
    are, and whether the text came from OCR."""

    findings: list[Finding]
    more: int
    from_ocr: bool


def _session_bytes() -> int | None:
    """The size of the session cookie's value as it stands (None when the session is not
    Flask's signed cookie)."""
    interface = current_app.session_interface
    if not isinstance(interface, SecureCookieSessionInterface):
        return None
    serializer = interface.get_signing_serializer(current_app)
    return None if serializer is None else len(serializer.dumps(dict(session)))


def _keep_imported(row: FormVersion, draft: imports.Draft) -> None:
    """Keep an import's findings in the signed session for the editor of the draft it made
    (Post/Redirect/Get): at most :data:`KEPT_FINDINGS` of them, as many as keep the cookie
    under :data:`SESSION_BYTES`, the others counted."""
    kept: dict[str, Any] = {"form_id": row.form_id, "version": row.version,
                            "from_ocr": bool(draft.from_ocr), "findings": [],
                            "total": len(draft.findings)}
    session[IMPORTED] = kept
    for f in draft.findings[:KEPT_FINDINGS]:
        kept["findings"].append([str(f.path)[:200], str(f.code)[:40],
                                 str(f.message)[:KEPT_MESSAGE],
                                 str(f.message_en)[:KEPT_MESSAGE],
                                 None if f.confidence is None else float(f.confidence)])
        size = _session_bytes()
        if size is not None and size > SESSION_BYTES:
            kept["findings"].pop()
            break
    session.modified = True


def _take_imported(row: FormVersion) -> Imported | None:
    """The findings kept by the import that made this draft, taken from the session (shown
    once); None when there are none for this form and version."""
    kept = session.get(IMPORTED)
    if not isinstance(kept, dict) or (kept.get("form_id"), kept.get("version")) != (
            row.form_id, row.version):
        return None
    session.pop(IMPORTED, None)
    try:
        findings = [Finding(str(p), str(c), str(m), str(e),
                            None if v is None else float(v))
                    for p, c, m, e, v in kept.get("findings", [])]
        more = max(int(kept.get("total", 0)) - len(findings), 0)
    except (TypeError, ValueError):  # a session written by another version of this page
        return None
    return Imported(findings, more, bool(kept.get("from_ocr")))


def _findings(text: str, findings: list[Finding]) -> list[dict[str, Any]]:
    """The importer's findings in the page's language, each at its line of the draft's text
    (None where its path names none)."""
    english = g.get("lang", "vi") != "vi"
    located = catalogue.problem_lines(text, [{"path": f.path} for f in findings])
    out = []
    for f, at in zip(findings, located, strict=True):
        said = f.message_en if english else f.message
        if f.confidence is not None:
            said = _("%(message)s (độ tin cậy %(percent)s%%)", message=said,
                     percent=round(100 * f.confidence))
        out.append({"line": at["line"], "path": f.path, "code": f.code,
                    "message": (_("Dòng %(line)s: %(message)s", line=at["line"], message=said)
                                if at["line"] is not None else said)})
    return out


@bp.route("/design/import", methods=["GET", "POST"])
@sessions.signed_in("designer")
def import_pdf() -> Response:
    """An official form's PDF read as a new draft (issue #17): the upload page; once the
    draft is stored, 303 to its editor, which shows what to review once (Post/Redirect/Get:
    reloading the editor makes no other draft). A PDF refused stores nothing."""
    if request.method == "GET":
        return _import_page()
    sent = request.files.get(imports.FIELD)
    if sent is None or not sent.filename:
        return _import_page(_("Chọn tệp PDF của mẫu tờ khai."), 422)
    data = sent.stream.read(imports.MAX_BYTES + 1)
    try:
        draft = imports.import_pdf(data)
        row = imports.create_draft(g.db, draft, _person().principal.actor)
        door.refuse_bad_characters(row.definition, "definition")  # rolled back below
    except DomainError as refused:
        g.db.rollback()
        if status_of(refused) == 413:
            return _import_page(_too_large_text(), 413)
        return _import_page(_said(refused), status_of(refused))
    g.db.commit()
    log.info("form draft imported from a PDF",
             extra={"form_id": row.form_id, "version": row.version,
                    "findings": len(draft.findings), "from_ocr": draft.from_ocr})
    _keep_imported(row, draft)
    return redirect(url_for("design.edit", form_id=row.form_id, version=row.version), 303)


# -- preview and trimming report --------------------------------------------------------------

def _demo(key: str | None) -> Citizen | None | Response:
    """The demo citizen ``key`` names (None when none is asked for); the 404 page for a key
    that is not one of them."""
    if not key:
        return None
    found = DEMO_CITIZENS.get(key)
    if found is None:
        return page_error(404)
    return Citizen(key, *found)


def _prefill(row: FormVersion, form: Any, citizen: Citizen) -> pf.PrefillResult | str:
    """What prefill gives ``citizen`` for this form: the operation citizens use, after the
    API's check of a designer's look-up (demo data only; written to the access log). The
    refusal in words, else."""
    sources = current_runtime().sources(g.db)
    try:
        forms_api.report_lookup_allowed(_person().principal, citizen.personal_id, None,
                                        sources, row.form_id, row.version)
    except DomainError as refused:
        g.db.commit()  # the refusal is logged
        return _said(refused)
    g.db.commit()
    return pf.prefill(form, citizen.personal_id, sources)


@bp.get("/design/forms/<form_id>/<int:version>/preview")
@sessions.signed_in("designer")
def preview(form_id: str, version: int) -> Response:
    """The form as a citizen sees it: empty, or prefilled for a demo citizen. Files
    nothing."""
    row = _row(form_id, version)
    if row is None:
        return page_error(404)
    citizen = _demo(request.args.get("citizen"))
    if isinstance(citizen, Response):
        return citizen
    compiled = catalogue.compiled(row)
    form = compiled.definition
    result: pf.PrefillResult | None = None
    refused = None
    if citizen is not None:
        got = _prefill(row, form, citizen)
        if isinstance(got, str):
            refused = got
        else:
            result = got
    data = eform.shown_data(None, result)
    sections = eform.form_sections(form, data, result, {})
    return render("design/preview.html", row=row, form=form, sections=sections,
                  citizens=_citizens(), citizen=citizen, refused=refused,
                  failed_sources=result.failed_sources if result else [],
                  status_text=status_text)


def _fates(report: dict[str, Any], filled: set[str] | None,
           missing: dict[str, str]) -> list[dict[str, Any]]:
    """The official form's fields beside the e-form's: one row per field of the e-form, then
    one per dropped field."""
    rows = []
    for f in report["fields"]:
        row = {**f, "dropped": False}
        if filled is not None:
            row["filled"] = f["path"] in filled
            row["missing"] = missing.get(f["path"])
        rows.append(row)
    for d in report["dropped"]:
        rows.append({"label": d["label"], "section": d["section"], "official": True,
                     "status": "dropped", "reason": d["reason"], "note": d["note"],
                     "dropped": True})
    return rows


def _percent(part: int, whole: int) -> float:
    return round(100.0 * part / whole, 1) if whole else 0.0


def _gap_reasons() -> dict[str, str]:
    """Why prefill left a bound field empty for a citizen (forms.trimming's reasons)."""
    return _missing_reasons()


@bp.app_template_filter("verdict")
def verdict(report: dict[str, Any]) -> str:
    """A trimming report's verdict in the page's language, from its figures (the report's own
    ``verdict`` is the API's Vietnamese sentence); a citizen's actual report says so."""
    reduction = report["reduction_percent"]
    target = f"{report.get('target_percent', TARGET_PERCENT):g}"
    if "target_percent" not in report:  # one citizen's actual reduction
        said = (_("Với người dân này: giảm %(n)s%% số trường phải nhập – đạt mục tiêu.",
                  n=reduction) if report["meets_target"] else
                _("Với người dân này: giảm %(n)s%% số trường phải nhập – CHƯA ĐẠT mục tiêu "
                  "%(target)s%%.", n=reduction, target=target))
        gaps = "; ".join(dict.fromkeys(
            f"{m['register_title']} ({m['person']}: "
            f"{_gap_reasons().get(m['reason'], m['reason'])})"
            for m in report.get("missing", []) if m["reason"] != "condition_hidden"))
        return said + " " + _("Thiếu dữ liệu: %(gaps)s", gaps=gaps) if gaps else said
    if report["meets_target"]:
        return _("Đạt mục tiêu: giảm %(n)s%% số trường người dân phải nhập (mục tiêu tối "
                 "thiểu %(target)s%%).", n=reduction, target=target)
    return _("CHƯA ĐẠT mục tiêu: chỉ giảm %(n)s%% số trường người dân phải nhập, dưới mức tối "
             "thiểu %(target)s%%. Cần gắn thêm trường với dữ liệu đã số hóa.", n=reduction,
             target=target)


@bp.get("/design/forms/<form_id>/<int:version>/trimming-report")
@sessions.signed_in("designer")
def report(form_id: str, version: int) -> Response:
    """The trimming report: the fields' fates, the share typed on paper, on the e-form and
    for each demo citizen, with a chart; ``?citizen=`` shows that citizen's fate of each
    field."""
    row = _row(form_id, version)
    if row is None:
        return page_error(404)
    chosen = _demo(request.args.get("citizen"))
    if isinstance(chosen, Response):
        return chosen
    compiled = catalogue.compiled(row)
    base = compiled.trimming_report
    baseline = base["counts"]["official_fields"]
    bars = [{"label": _("Mẫu giấy"), "typed": baseline, "percent": 100.0 if baseline else 0.0},
            {"label": _("Tờ khai điện tử (theo định nghĩa)"), "typed": base["counts"]["typed"],
             "percent": round(100.0 - base["reduction_percent"], 1) if baseline else 0.0,
             "reduction": base["reduction_percent"]}]
    people = []
    filled: set[str] | None = None
    missing: dict[str, str] = {}
    for citizen in _citizens():
        got = _prefill(row, compiled.definition, citizen)
        if isinstance(got, str):
            people.append({"citizen": citizen, "refused": got})
            continue
        actual = pf.actual_report(compiled.definition, got)
        people.append({"citizen": citizen, "actual": actual})
        own = actual["counts"]["official_fields"]  # the fields shown for them, on paper too
        bars.append({"label": _("Với %(name)s", name=citizen.name),
                     "typed": actual["counts"]["typed"], "of": own,
                     "percent": round(100.0 - actual["reduction_percent"], 1) if own
                     else 0.0, "reduction": actual["reduction_percent"]})
        if chosen is not None and chosen.key == citizen.key:
            missing = {m["field"]: m["reason"] for m in actual["missing"]}
            filled = {"/" + "/".join(p for p in pointer.strip("/").split("/")
                                     if not p.isdigit()) for pointer in got.provenance}
            filled -= {f for f, why in missing.items() if why == "unidentified_person"}
    target_typed = round(100.0 - base["target_percent"], 1)
    return render("design/report.html", row=row, report=base, bars=bars, people=people,
                  chosen=chosen, citizens=_citizens(), fates=_fates(base, filled, missing),
                  target_typed=target_typed, reasons=DROP_REASONS, status_text=status_text,
                  missing_reasons=_missing_reasons(), assumptions=_assumptions())


def _missing_reasons() -> dict[str, str]:
    """forms.trimming.REASONS in the page's language."""
    return {
        "no_linked_person": _("sổ sách không ghi nhận người này liên kết với người kê khai"),
        "no_record": _("không có bản ghi"),
        "several_records": _("có nhiều bản ghi, không xác định được bản ghi nào"),
        "source_failed": _("nguồn dữ liệu không trả lời"),
        "no_value": _("bản ghi không có giá trị dùng được cho trường này"),
        "no_answer": _("chưa có câu trả lời chọn người hoặc nguồn dữ liệu"),
        "unidentified_person": _("không xác định được người được khai đúng là người thân đó"),
        "not_attempted": _("không tra cứu (trường thuộc nhóm lặp lại không gắn với người nào)"),
        "condition_hidden": _("trường bị ẩn theo câu trả lời, không tính"),
    }


def _assumptions() -> dict[str, str]:
    """forms.trimming.ASSUMPTIONS in the page's language."""
    return {
        "records_exist": _("Mọi trường gắn với dữ liệu được tính là điền sẵn, giả định cơ sở dữ "
                           "liệu có bản ghi của người được khai; số liệu thực tế của từng người "
                           "dân có thể thấp hơn."),
        "conditional_shown": _("Trường có điều kiện được tính như luôn hiển thị (trường hợp "
                               "người dân phải nhập nhiều nhất)."),
        "repeated_once": _("Nhóm lặp lại được tính một lần (một mục), dù người dân có thể khai "
                           "nhiều mục."),
        "linked_person_exists": _("Phần về người thân (cha, mẹ, vợ/chồng, con, chủ hộ, thành "
                                  "viên hộ…) được tính là điền sẵn, giả định sổ sách ghi nhận "
                                  "người đó liên kết với người kê khai."),
        "named_person_allowed": _("Phần về người do người dân nêu (nhập số định danh) chỉ được "
                                  "tính là điền sẵn khi biểu mẫu cho phép quan hệ; giả định "
                                  "người được nêu có quan hệ đó với người kê khai. Không cho "
                                  "phép quan hệ nào thì chỉ đối chiếu, tính là phải nhập."),
        "relation_by_answer": _("Phần về người do câu trả lời chọn quan hệ được tính là điền "
                                "sẵn, giả định người dân chọn một quan hệ mà sổ sách ghi nhận."),
        "by_answer_bindings": _("Trường có nguồn dữ liệu chọn theo câu trả lời được tính là điền "
                                "sẵn, giả định câu trả lời chọn một nguồn có dữ liệu."),
        "unidentified_person": _("Trường gắn với người thân cố định trong phần mà người dân vẫn "
                                 "phải nhập số định danh hoặc quan hệ của người được khai được "
                                 "tính là phải nhập: người được khai có thể không phải người "
                                 "thân đó."),
        "computed_not_typed": _("Trường tự tạo từ câu trả lời không bao giờ tính là phải nhập."),
        "commitment_counted": _("Lời cam đoan được tính như mọi trường khác: có trên mẫu giấy thì "
                                "tính ở cả hai phía, và người dân vẫn phải đánh dấu trên tờ khai "
                                "điện tử."),
        "dropped_not_typed": _("Trường bỏ khỏi tờ khai điện tử được tính trên mẫu giấy, không "
                               "tính là phải nhập."),
        "open_answers_worst": _("Câu trả lời người dân chưa nhập được tính theo giá trị làm hiện "
                                "nhiều trường phải nhập nhất."),
    }


# -- comparing two versions -------------------------------------------------------------------

def _number(value: str | None) -> int | None:
    try:
        number = int(value or "")
    except ValueError:
        return None
    return number if 1 <= number <= catalogue.MAX_VERSION else None


@bp.get("/design/forms/<form_id>/compare")
@sessions.signed_in("designer")
def compare(form_id: str) -> Response:
    """What changed from version ``a`` to version ``b``: fields added, removed and changed,
    and the lines of the texts that differ."""
    versions = _versions(form_id) if len(form_id) <= 80 else []
    if not versions:
        return page_error(404)
    a, b = _number(request.args.get("a")), _number(request.args.get("b"))
    rows = {r.version: r for r in versions}
    older, newer = rows.get(a or 0), rows.get(b or 0)
    changes: list[Any] = []
    diff: list[Any] = []
    if older is not None and newer is not None:
        changes = compare_forms(parse(older.definition, f"{form_id}@{older.version}"),
                                parse(newer.definition, f"{form_id}@{newer.version}"))
        diff = text_diff(older.source, newer.source)
    asked = "a" in request.args or "b" in request.args
    return render("design/compare.html", form_id=form_id, versions=versions, a=a, b=b,
                  older=older, newer=newer, changes=changes, diff=diff,
                  asked=asked and (older is None or newer is None), status_text=status_text,
                  kinds=_change_kinds(), attributes=_attributes(), title=versions[-1].title)


def _change_kinds() -> dict[str, str]:
    return {"added": _("Thêm"), "removed": _("Bỏ"), "changed": _("Sửa")}


def _attributes() -> dict[str, str]:
    return {
        "type": _("kiểu"), "label": _("nhãn"), "required": _("bắt buộc"), "help": _("gợi ý"),
        "official": _("có trên mẫu giấy"), "prefill": _("điền sẵn"), "when": _("điều kiện"),
        "person": _("người được kê khai"), "check_typed": _("đối chiếu"),
        "codes": _("danh mục"), "multiple": _("chọn nhiều"), "precision": _("độ chính xác"),
        "minimum": _("tối thiểu"), "maximum": _("tối đa"), "max_length": _("độ dài tối đa"),
        "detail": _("chi tiết địa chỉ"), "media_types": _("loại tệp"),
        "max_files": _("số tệp tối đa"), "repeat": _("lặp lại"), "title": _("tiêu đề"),
        "legal_basis": _("căn cứ pháp lý"), "procedure_code": _("mã thủ tục"),
        "procedure_name": _("tên thủ tục"), "agency_level": _("cấp cơ quan"),
        "description": _("mô tả"), "processing_days": _("thời hạn giải quyết"),
        "code_lists": _("danh mục riêng"), "dropped": _("trường bỏ khỏi mẫu"),
    }


# -- publishing -------------------------------------------------------------------------------

@bp.route("/design/forms/<form_id>/<int:version>/publish", methods=["GET", "POST"])
@sessions.signed_in("designer")
def publish(form_id: str, version: int) -> Response:
    """A confirmation that says publishing is final, then publish."""
    row = _row(form_id, version)
    if row is None:
        return page_error(404)
    report = catalogue.compiled(row).trimming_report
    if row.status == "published":
        return render("design/publish.html", status=409, row=row, report=report,
                      errors=[], error_count=0, already=True, status_text=status_text)
    if request.method == "GET":
        return render("design/publish.html", row=row, report=report, errors=[],
                      error_count=0, already=False, status_text=status_text)
    try:
        catalogue.publish(g.db, form_id, version, _person().principal.actor)
    except DomainError as refused:
        g.db.rollback()
        english = g.get("lang", "vi") != "vi"
        listed = [str(p.get("message_en" if english else "message") or "")
                  for p in (refused.errors or [])]
        errors = [{"field": "publish", "message": m} for m in [_said(refused), *listed] if m]
        return render("design/publish.html", status=409 if isinstance(refused, Conflict)
                      else 422, row=row, report=report, errors=errors,
                      error_count=len(errors), already=False, status_text=status_text)
    g.db.commit()
    log.info("form version published", extra={"form_id": form_id, "version": version})
    return redirect(url_for("design.version", form_id=form_id, version=version, published=1))
