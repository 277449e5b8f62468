"""Issuing a dossier's result from the page (officers of the dossier's agency): a preview of the
result as it will be printed, then "sign and issue", then the issued result with its
verification report.

The preview is the unsigned rendering of what issuing signs (``issuance.preview_result``: the
same template, values, agency, signer and layout; only the number, the document id and the
signing time are given at signing), shown as page images (the pages' policy allows no frame
or object) with its values listed as text. Issuing calls the API's operation
(``issuance.issue_result``) on the officer's principal with the dossier's version read with
the page: a stale page is refused (nothing issued), a second press gets the result issued the
first time, a failure of the key or the time-stamping authority is said in words and leaves
the dossier as it was. The download is the API's (the same bytes, checked against their
sha256, the same access log).
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, current_app, g, redirect, request, url_for
from flask_babel import gettext as _
from werkzeug.wrappers import Response as BaseResponse

from service import catalogue as form_ops
from service.errors import Conflict, DomainError, NotAllowed, Unavailable, VersionMismatch
from service.pki.pdflimits import PdfRefused
from service.repository import documents as repository
from service.results import issuance, raster
from service.web.api import documents as documents_api
from service.web.api.dossiers import load
from service.web.http import archive_now, verified_bytes
from service.web.pages import public, sessions
from service.web.pages.rendering import (
    PAGE_BLUEPRINTS,
    agency_name,
    page_error,
    render,
    status_label,
)
from service.web.runtime import current_runtime
from storage.models import Dossier, DossierDocument

bp = Blueprint("issuing", __name__)
PAGE_BLUEPRINTS.add("issuing")

#: the size a preview page is shown at (A4 at raster.SCALE), for the <img> attributes
PAGE_WIDTH, PAGE_HEIGHT = 794, 1123


def _principal() -> Any:
    person = sessions.current()
    assert person is not None  # @signed_in
    return person.principal


def _load(code: str) -> Dossier:
    """The dossier if the officer may see it (the API's check: another agency's dossier and
    an unknown code are the same 404 page, the refusal logged)."""
    return load(code[:60], _principal())


def dossier_url(code: str) -> str | None:
    """The officer's page of the dossier (office.dossier), once that page exists."""
    if "office.dossier" in current_app.view_functions:
        return url_for("office.dossier", code=code)
    return None


def _words(error: DomainError) -> str:
    return error.message if g.get("lang", "vi") == "vi" else error.message_en


def _preview(d: Dossier) -> issuance.Preview:
    rt = current_runtime()
    compiled = form_ops.published_form(g.db, d.form_id, d.form_version)
    return issuance.preview_result(g.db, d, _principal(), compiled.definition, rt.signing)


def failure(error: DomainError, d: Dossier) -> dict[str, Any]:
    """An issuance that did not happen, in words: what happened, that nothing changed, and
    what to do."""
    unchanged = _("Chưa có văn bản nào được ký hay ban hành; hồ sơ giữ nguyên trạng thái và "
                  "số văn bản chưa bị dùng.")
    retry = _("Hãy thử lại sau ít phút. Nếu vẫn không được, hãy báo quản trị hệ thống.")
    code = error.code
    if code == "timestamp_unavailable":
        what = _("Không lấy được dấu thời gian: tổ chức cấp dấu thời gian không trả lời.")
        todo = _("Hãy thử lại sau ít phút. Nếu vẫn không được, hãy báo quản trị hệ thống "
                 "kiểm tra kết nối tới tổ chức cấp dấu thời gian.")
    elif code == "signing_failed":
        what = _("Không ký được: thiết bị ký số (khóa của cơ quan) không dùng được lúc này.")
        todo = _("Hãy kiểm tra thiết bị ký số (USB token, HSM) đã được cắm và mở khóa, rồi "
                 "thử lại. Nếu vẫn không được, hãy báo quản trị hệ thống.")
    elif code == "revocation_unavailable":
        what = _("Không lấy được dữ liệu kiểm tra thu hồi chứng thư số từ tổ chức chứng "
                 "thực.")
        todo = retry
    elif code == "signing_unavailable":
        what = _("Cơ quan của hồ sơ chưa được cấu hình khóa ký số.")
        todo = _("Hãy báo quản trị hệ thống cấu hình khóa ký số cho cơ quan.")
    elif code == "stale_version" or code == "concurrent_change":
        what = _("Hồ sơ đã được người khác cập nhật sau khi bạn mở trang này.")
        todo = _("Hãy xem lại hồ sơ rồi xem trước kết quả một lần nữa trước khi ký.")
    elif code == "result_value_missing":
        what = _words(error)
        todo = _("Hãy yêu cầu công dân bổ sung hoặc sửa hồ sơ.")
    elif code == "transition_not_allowed":
        what = _("Hồ sơ đang ở trạng thái “%(status)s”: chỉ hồ sơ đang xử lý mới ban hành "
                 "được kết quả.", status=status_label(d.status))
        todo = _("Hãy xem lại trạng thái của hồ sơ.")
    elif code == "explanation_required":
        what = _words(error)
        todo = _("Hãy ghi giải trình và gửi thư xin lỗi trên trang hồ sơ trước.")
    else:
        what = _words(error)
        todo = retry
    return {"code": code, "what": what, "unchanged": unchanged, "todo": todo}


def _status(error: DomainError) -> int:
    if isinstance(error, Unavailable):
        return 503
    if isinstance(error, NotAllowed):
        return 403
    return 409


def _preview_page(d: Dossier, error: DomainError | None = None, status: int = 200,
                  ) -> Response:
    """The preview with the form that signs and issues; ``error``: why the last press did not
    issue, said above it. A preview that cannot be made says why instead."""
    try:
        preview = _preview(d)
    except (Conflict, VersionMismatch, NotAllowed, Unavailable) as refused:
        g.db.rollback()
        return render("issuing/refused.html", status=_status(refused), d=d,
                      failure=failure(refused, d), back=dossier_url(d.code),
                      status_text=status_label(d.status))
    pages = min(raster.page_count(preview.rendered.pdf), raster.MAX_PAGES)
    return render("issuing/preview.html", status=status, d=d, preview=preview,
                  pages=range(1, pages + 1), page_count=pages, width=PAGE_WIDTH,
                  height=PAGE_HEIGHT, version=d.row_version, back=dossier_url(d.code),
                  failure=failure(error, d) if error is not None else None,
                  agency=agency_name(d.agency_code))


@bp.get("/office/dossiers/<code>/result/preview")
@sessions.signed_in("officer")
def preview(code: str) -> BaseResponse:
    """The result as it will be printed, unsigned, and the form that signs and issues it."""
    d = _load(code)
    if issuance.existing_result(g.db, d) is not None:
        return redirect(url_for("issuing.result", code=d.code))
    return _preview_page(d)


@bp.get("/office/dossiers/<code>/result/preview/<int:n>.png")
@sessions.signed_in("officer")
def preview_file(code: str, n: int) -> Response:
    """Page ``n`` (from 1) of the preview as a PNG: for the officer only, never cached."""
    d = _load(code)
    if issuance.existing_result(g.db, d) is not None:
        return page_error(404)
    try:
        made = _preview(d)
    except (Conflict, VersionMismatch, NotAllowed, Unavailable) as refused:
        return page_error(_status(refused))
    png = raster.page_png(made.rendered.pdf, n - 1)
    if png is None:
        return page_error(404)
    return Response(png, mimetype="image/png", headers={"Cache-Control": "no-store"})


@bp.post("/office/dossiers/<code>/result")
@sessions.signed_in("officer")
def issue(code: str) -> BaseResponse:
    """Sign and issue: the API's operation, on the version of the dossier the page showed."""
    d = _load(code)
    principal = _principal()
    if issuance.existing_result(g.db, d) is not None:
        # pressed twice, or issued by someone else meanwhile: the first result stands
        return redirect(url_for("issuing.result", code=d.code, already=1), 303)
    version = request.form.get("version", "")
    rt = current_runtime()
    compiled = form_ops.published_form(g.db, d.form_id, d.form_version)
    try:
        doc, created = issuance.issue_result(
            g.db, d, principal, compiled.definition, rt.signing,
            rt.calendar_for(d.agency_code),
            expected_version=int(version) if version.isdigit() and len(version) < 10 else -1,
            retention=rt.settings.retention)
    except (Conflict, VersionMismatch, NotAllowed, Unavailable) as refused:
        g.db.rollback()
        current_app.logger.warning("issuing from the page refused", extra={
            "dossier": d.code, "code": refused.code})
        fresh = _load(code)
        return _preview_page(fresh, refused, _status(refused))
    g.db.commit()  # the signed bytes are safe in the outbox before any upload
    archive_now(doc.id)
    if created:
        return redirect(url_for("issuing.result", code=d.code), 303)
    return redirect(url_for("issuing.result", code=d.code, already=1), 303)


def _report(doc: DossierDocument) -> dict[str, Any] | None:
    """The public verification page's report of the issued bytes (the same verification,
    logged as the officer's)."""
    principal = _principal()
    repository.log(g.db, principal, "verification", "allowed", document_id=doc.document_id,
                   owner_id=doc.owner_id, reason="verification by id")
    try:
        report = documents_api.verify_bytes(verified_bytes(doc, prefer="copy").data)
    except PdfRefused:
        return None
    return public.explain(report, doc)


@bp.get("/office/dossiers/<code>/result")
@sessions.signed_in("officer", "auditor")
def result(code: str) -> BaseResponse:
    """The issued result: number, time, level, the download, and its verification report."""
    d = _load(code)
    doc = issuance.existing_result(g.db, d)
    if doc is None:
        if d.status == "in_processing" and _principal().role == "officer":
            return redirect(url_for("issuing.preview", code=d.code))
        return page_error(404, _("Hồ sơ này chưa có kết quả được ban hành."))
    report = _report(doc)
    return render("issuing/result.html", d=d, doc=doc, report=report,
                  level_text=public._level_text(doc.level), back=dossier_url(d.code),
                  already=request.args.get("already") == "1",
                  agency=agency_name(d.agency_code), status_text=status_label(d.status),
                  verify_url=url_for("public.verify_document", document_id=doc.document_id))


@bp.get("/office/dossiers/<code>/result.pdf")
@sessions.signed_in("officer", "auditor")
def download(code: str) -> Response:
    """The signed result, as the API's download gives it: the same check, the same access
    log."""
    return documents_api.result_download(code, _principal())
