"""The citizen's space (signed-in citizens): my dossiers (status, deadlines, history, what the
officer asked for, the result and apology letters), my documents (downloadable, verifiable,
shared with an agency by consent, consents revocable), who accessed my documents (the access
log in words), and where notifications are e-mailed.

Every read and every change goes through the operations the API calls, with the same access
checks, on the signed-in person's principal (``Person.principal``): a dossier another citizen
filed is the same 404 page as an unknown code, and every download, refused or not, is in the
access log, as through the API.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from flask import Blueprint, Response, current_app, g, redirect, request, url_for
from flask_babel import gettext as _
from werkzeug.wrappers import Response as BaseResponse

from forms import pointers
from forms.language import normalise
from service import catalogue
from service.dossiers import lateness, notifications, queries
from service.dossiers import lifecycle as ops
from service.errors import InvalidData, NotFound
from service.records import prefill as pf
from service.repository import consents as consent_ops
from service.repository import documents as repository
from service.repository import queries as repo_queries
from service.results import issuance
from service.web.api.documents import result_download
from service.web.api.dossiers import load, load_for_download
from service.web.http import pdf_response, verified_bytes
from service.web.pages import formfields, sessions
from service.web.pages.rendering import (
    PAGE_BLUEPRINTS,
    agency_name,
    page_error,
    page_number,
    paging,
    render,
    status_label,
)
from service.web.runtime import current_runtime
from service.worktime import VIETNAM
from storage.documents import content_disposition
from storage.models import AccessLog, Consent, Dossier, DossierDocument, DossierEvent

bp = Blueprint("space", __name__)
PAGE_BLUEPRINTS.add("space")
PER_PAGE = 20
#: a citizen's documents, at most, offered in the consent form and named in the access log
DOCUMENTS_NAMED = 500
#: the expiry a new consent is offered with
DEFAULT_CONSENT_DAYS = 30


def _person() -> sessions.Person:
    person = sessions.current()
    assert person is not None  # @signed_in
    return person


#: the colour of a status's tag
STATUS_TAGS = {"submitted": "grey", "accepted": "", "supplement_requested": "yellow",
               "rejected": "red", "in_processing": "", "result_ready": "green",
               "delivered": "green", "withdrawn": "grey"}


@dataclass(frozen=True)
class Deadline:
    label: str
    at: datetime | None


def _deadline(d: Dossier) -> Deadline | None:
    """The deadline that matters to the citizen now."""
    if d.status == "submitted":
        return Deadline(_("Hạn tiếp nhận"), d.accept_deadline)
    if d.status in ("accepted", "in_processing"):
        return Deadline(_("Hẹn trả kết quả"), d.promised_at or d.process_deadline)
    if d.status == "supplement_requested":
        return Deadline(_("Đang chờ bạn bổ sung (thời hạn tạm dừng)"), None)
    if d.finished_at is not None:
        return Deadline(_("Hoàn thành"), d.finished_at)
    return None


def _summary(d: Dossier, at: datetime) -> dict[str, Any]:
    return {"dossier": d, "label": status_label(d.status), "tag": STATUS_TAGS.get(d.status, ""),
            "deadline": _deadline(d), "late": lateness.assess(d, at).late}


# -- my dossiers ------------------------------------------------------------------------------


@bp.get("/my/dossiers")
@sessions.signed_in("citizen")
def dossiers() -> Response:
    person = _person()
    page = page_number()
    rows, total = queries.queue(g.db, person.principal, page, PER_PAGE)
    at = ops.now()
    catalogue_url = (url_for("public.catalogue")
                     if "public.catalogue" in current_app.view_functions else None)
    return render("space/dossiers.html", items=[_summary(d, at) for d in rows],
                  pages=paging(page, total, PER_PAGE), catalogue_url=catalogue_url)


def _who(event: DossierEvent) -> str:
    """Who made a change, as the citizen knows them: their role at the agency, never the
    internal actor string."""
    if event.role == "citizen":
        return _("Bạn")
    if event.action == "explain":
        return _("Cơ quan giải quyết hồ sơ")
    if event.action == "deliver":
        return _("Cán bộ trả kết quả")
    if event.action in ("start_processing", "issue_result") or event.from_status in (
            "in_processing",):
        return _("Cán bộ xử lý")
    if event.role == "officer":
        return _("Cán bộ tiếp nhận")
    return _("Hệ thống")


def _what(event: DossierEvent) -> str:
    words = {
        "submit": _("Nộp hồ sơ trực tuyến"),
        "accept": _("Tiếp nhận hồ sơ"),
        "request_supplement": _("Yêu cầu bổ sung hồ sơ"),
        "reject": _("Từ chối giải quyết hồ sơ"),
        "start_processing": _("Bắt đầu xử lý hồ sơ"),
        "issue_result": _("Ký số và cấp kết quả"),
        "deliver": _("Trả kết quả"),
        "withdraw": _("Rút hồ sơ"),
        "supplement": _("Gửi phần bổ sung"),
        "explain": _("Giải trình việc chậm trễ, gửi thư xin lỗi và hẹn ngày trả mới"),
    }
    return words.get(event.action, event.action)


def _history(events: list[DossierEvent]) -> list[dict[str, Any]]:
    return [{"at": e.at, "who": _who(e), "what": _what(e), "why": e.reason,
             "status": status_label(e.to_status),
             "promised_at": e.promised_at if e.action == "explain" else None}
            for e in reversed(events)]


def _load_mine(code: str) -> Dossier:
    """The dossier if it is the signed-in citizen's (``load``: the API's check; another's
    and an unknown code are the same 404 page, the refusal logged)."""
    return load(code[:60], _person().principal)


@bp.get("/my/dossiers/<code>")
@sessions.signed_in("citizen")
def dossier(code: str) -> Response:
    d = _load_mine(code)
    at = ops.now()
    events = queries.history(g.db, d)
    request_event = next((e for e in reversed(events) if e.action == "request_supplement"),
                         None) if d.status == "supplement_requested" else None
    result = issuance.existing_result(g.db, d)
    letter = queries.latest_apology_letter(g.db, d)
    found = lateness.assess(d, at)
    supplement_url = (url_for("space.supplement", code=d.code)
                      if request_event is not None else None)
    return render("space/dossier.html", d=d, summary=_summary(d, at), found=found,
                  history=_history(events), request_event=request_event,
                  request_who=_who(request_event) if request_event else None,
                  supplement_url=supplement_url, result=result, letter=letter,
                  agency=agency_name(d.agency_code),
                  verify_url=_verify_url(result.document_id) if result else None,
                  supplemented=request.args.get("done") == "supplemented")


# -- the supplement the officer asked for ------------------------------------------------------


def _supplement_documents(principal: Any) -> list[formfields.Document]:
    """The citizen's documents, offered for the form's attachment fields."""
    owners = repository.owners_of(g.db, principal)
    return [formfields.Document(doc.document_id, f"{_title(doc)} {doc.number or ''}".strip(),
                                doc.file_name, doc.media_type)
            for doc, _code in _my_documents(owners)]


@bp.route("/my/dossiers/<code>/supplement", methods=["GET", "POST"])
@sessions.signed_in("citizen")
def supplement(code: str) -> BaseResponse:
    """The dossier's form, with the data filed, to correct what the officer asked for; sent
    by the API's operation (``lifecycle.supplement``: the same check as filing, verified
    values as the registers hold them, the dossier back where it was, its clocks resumed)."""
    person = _person()
    principal = person.principal
    d = _load_mine(code)
    if d.status != "supplement_requested":
        return redirect(url_for("space.dossier", code=d.code))
    rt = current_runtime()
    compiled = catalogue.published_form(g.db, d.form_id, d.form_version)
    form = compiled.definition

    def locked(answers: Any) -> pf.PrefillResult:
        # the answers say whose records a section about a person named or chosen by an
        # answer reads (and which record a field chosen by an answer reads): its verified
        # values are locked as the registers hold them for that person
        return pf.prefill(form, person.personal_id or "", rt.sources(g.db),
                          answers=answers if isinstance(answers, dict) else None,
                          verified_only=True)

    prefilled = locked(d.data)
    verified = set(prefilled.verified)
    documents = _supplement_documents(principal)
    events = queries.history(g.db, d)
    asked = next((e for e in reversed(events) if e.action == "request_supplement"), None)

    def page(data: Any, errors: dict[str, str], status: int = 200,
             restored: bool = False) -> Response:
        sections = formfields.view(form, data, prefilled.provenance, errors, verified=verified,
                                   documents=documents)
        summary = formfields.summary(errors, sections)
        return render("space/supplement.html", status=status, d=d, form=form,
                      sections=sections, summary=summary, error_count=len(summary),
                      asked=asked, restored=restored, version=d.row_version)

    if request.method == "GET":
        stash = sessions.take_stash()
        if stash is not None:  # posted while the session had expired: shown, not sent
            return page(normalise(formfields.parse(form, stash, prefilled.data,
                                                   verified=verified,
                                                   documents=documents).data), {},
                        restored=True)
        return page(d.data, {})
    parsed = formfields.parse(form, request.form, prefilled.data, verified=verified,
                              documents=documents)
    if _answers_moved(form, d.data, parsed.data):
        # the correction names another person (or picks another record): theirs are locked
        prefilled = locked(parsed.data)
        verified = set(prefilled.verified)
        parsed = formfields.parse(form, request.form, prefilled.data, verified=verified,
                                  documents=documents)
    data = normalise(parsed.data)
    if parsed.action is not None:  # add or remove an item, refresh a list: shown again
        return page(data, {})
    if parsed.errors:
        return page(data, parsed.errors, status=422)
    version = request.form.get("version", "")
    try:
        ops.supplement(g.db, d, compiled, principal, data, rt.sources(g.db),
                       rt.calendar_for(d.agency_code),
                       int(version) if version.isdigit() else None)
    except InvalidData as refused:
        g.db.rollback()
        errors = formfields.error_map(form, refused.errors or [
            {"field": "/", "code": refused.code, "message": refused.message,
             "message_en": refused.message_en}])
        return page(data, errors, status=422)
    g.db.commit()
    return redirect(url_for("space.dossier", code=d.code, done="supplemented"))


def _answers_moved(form: Any, before: Any, after: Any) -> bool:
    """Whether an answer that says whose records (or which record) prefill reads differs
    between the data filed and the data posted."""
    for ids in formfields.lookup_triggers(form):
        if dict(pointers.each(before, ids)) != dict(pointers.each(after, ids)):
            return True
    return False


@bp.get("/my/dossiers/<code>/result")
@sessions.signed_in("citizen")
def result(code: str) -> Response:
    """The signed result, as the API's download: the same check, the same access log."""
    return result_download(code, _person().principal)


@bp.get("/my/dossiers/<code>/apology-letter")
@sessions.signed_in("citizen")
def apology_letter(code: str) -> Response:
    d = load_for_download(code[:60], _person().principal, "apology_letter")
    doc = queries.latest_apology_letter(g.db, d)
    if doc is None:
        return page_error(404)
    return pdf_response(doc, f"thu-xin-loi-{d.code}.pdf")


# -- my documents and consents ----------------------------------------------------------------


def _verify_url(document_id: str) -> str | None:
    """The public verification page of a document, once that page exists."""
    if "public.verify_document" in current_app.view_functions:
        return url_for("public.verify_document", document_id=document_id)
    return None


def _title(doc: DossierDocument) -> str:
    embedded = doc.data or {}
    title = embedded.get("title") if isinstance(embedded, dict) else None
    if isinstance(title, str) and title:
        return title[:1].upper() + title[1:].lower()
    if doc.kind == "apology_letter":
        return _("Thư xin lỗi")
    return doc.file_name or _("Giấy tờ")


def _my_documents(owners: list[str]) -> list[tuple[DossierDocument, str]]:
    rows, _total = repository.list_documents(g.db, owners, None, None, None, 1,
                                             DOCUMENTS_NAMED)
    return rows


def _consent_out(c: Consent, titles: dict[str, str], now: datetime) -> dict[str, Any]:
    return {"consent": c, "agency": agency_name(c.agency_code),
            "purpose": (_("hồ sơ %(code)s", code=c.purpose) if c.purpose_kind == "dossier"
                        else _("thủ tục %(code)s", code=c.purpose)),
            "document": titles.get(c.document_id or "", c.document_id) if c.document_id
            else _("Mọi giấy tờ của tôi"),
            "active": consent_ops.active(c, now)}


def _documents_page(form: dict[str, str] | None = None,
                    errors: list[dict[str, str]] | None = None,
                    status: int = 200, done: str | None = None) -> Response:
    person = _person()
    principal = person.principal
    owners = repository.owners_of(g.db, principal)
    page = page_number()
    rows, total = repository.list_documents(g.db, owners, None, None, None, page, PER_PAGE)
    repository.log(g.db, principal, "list", "allowed", owner_id=principal.personal_id)
    everything = _my_documents(owners)
    titles = {doc.document_id: f"{_title(doc)} {doc.number or ''}".strip()
              for doc, _code in everything}
    now = datetime.now(UTC)
    items = [{"doc": doc, "code": code, "title": _title(doc),
              "agency": agency_name(doc.agency_code),
              "verify_url": _verify_url(doc.document_id)} for doc, code in rows]
    consents = [_consent_out(c, titles, now)
                for c in repo_queries.consents(g.db, owners)]
    if form is None:
        default = (now.astimezone(VIETNAM).date() + timedelta(days=DEFAULT_CONSENT_DAYS))
        form = {"agency_code": "", "purpose_kind": "dossier", "purpose": "",
                "document_id": "", "expires_on": default.isoformat()}
    errs = errors or []
    return render("space/documents.html", status=status, items=items,
                  pages=paging(page, total, PER_PAGE), consents=consents, form=form,
                  errors=errs, error_for={e["field"]: e["message"] for e in errs},
                  error_count=len(errs), documents=[(d, titles[d.document_id])
                                                    for d, _c in everything],
                  agencies=_agencies(), done=done)


def _agencies() -> list[tuple[str, str]]:
    signing = current_runtime().signing
    if signing is None:
        return []
    return [(code, key.name) for code, key in sorted(signing.config.agencies.items())]


@bp.get("/my/documents")
@sessions.signed_in("citizen")
def documents() -> Response:
    done = request.args.get("done")
    return _documents_page(done=done if done in ("granted", "revoked") else None)


@bp.get("/my/documents/<document_id>/content")
@sessions.signed_in("citizen")
def document_content(document_id: str) -> Response:
    """Download one of my documents: the API's check and access log, the issued bytes
    checked against their sha256 (``verified_bytes``)."""
    principal = _person().principal
    doc = repo_queries.document(g.db, document_id)
    if doc is None:
        repository.log(g.db, principal, "download", "not_found",
                       document_id=document_id[:64], reason="unknown document id")
        return page_error(404)
    decision = repository.decide(g.db, principal, doc, None, datetime.now(UTC))
    repository.log(g.db, principal, "download", "allowed" if decision.allowed else "denied",
                   document_id=doc.document_id, owner_id=doc.owner_id,
                   reason=decision.reason)
    if not decision.allowed:
        return page_error(404)
    served = verified_bytes(doc, prefer="store")
    name = doc.file_name or f"{doc.document_id}.pdf"
    return Response(served.data, mimetype=doc.media_type, headers={
        "Content-Disposition": content_disposition(name), "ETag": f'"{doc.sha256}"',
        "Cache-Control": "private, no-store", "Content-Length": str(len(served.data))})


_FIELD_OF = {"agency_code": "agency_code", "purpose": "purpose", "purpose_kind":
             "purpose_kind-dossier", "document_id": "document_id", "expires_at": "expires_on"}


@bp.post("/my/consents")
@sessions.signed_in("citizen")
def grant_consent() -> BaseResponse:
    principal = _person().principal
    form = {k: request.form.get(k, "").strip()[:100]
            for k in ("agency_code", "purpose_kind", "purpose", "document_id", "expires_on")}
    errors: list[dict[str, str]] = []
    if not form["agency_code"]:
        errors.append({"field": "agency_code", "message": _("Hãy chọn cơ quan được xem.")})
    if form["purpose_kind"] not in consent_ops.PURPOSE_KINDS:
        errors.append({"field": "purpose_kind-dossier",
                       "message": _("Hãy chọn mục đích: một hồ sơ hoặc một thủ tục.")})
    if not form["purpose"]:
        errors.append({"field": "purpose",
                       "message": _("Hãy nhập mã hồ sơ hoặc mã thủ tục.")})
    expires: datetime | None = None
    day = _date(form["expires_on"])
    if day is not None:  # to the end of that day, Vietnam time
        expires = datetime.combine(day, time(23, 59, 59), tzinfo=VIETNAM)
    else:
        errors.append({"field": "expires_on",
                       "message": _("Hãy nhập ngày hết hạn, ví dụ 31/12/2026.")})
    if not errors and expires is not None:
        try:
            consent_ops.grant(g.db, principal, agency_code=form["agency_code"],
                              purpose_kind=form["purpose_kind"], purpose=form["purpose"],
                              document_id=form["document_id"] or None, expires_at=expires,
                              now=datetime.now(UTC))
            g.db.commit()
            return redirect(url_for("space.documents", done="granted") + "#consents")
        except InvalidData as e:
            g.db.rollback()
            errors.append({"field": _FIELD_OF.get(e.field or "", "agency_code"),
                           "message": _consent_message(e.code)})
    return _documents_page(form=form, errors=errors, status=422)


def _date(text: str) -> date | None:
    """A date as a date field sends it (``2026-12-31``) or as people type it where the
    browser shows a plain text field (``31/12/2026``)."""
    try:
        if "/" in text:
            d, m, y = (int(p) for p in text.split("/"))
            return date(y, m, d)
        return date.fromisoformat(text)
    except ValueError:
        return None


def _consent_message(code: str) -> str:
    return {
        "bad_expiry": _("Ngày hết hạn phải sau hôm nay và không quá một năm."),
        "unknown_dossier": _("Cơ quan đã chọn không có hồ sơ mang mã này."),
        "unknown_procedure": _("Không có thủ tục hành chính mang mã này."),
        "unknown_document": _("Không có giấy tờ này trong kho dữ liệu của bạn."),
    }.get(code, _("Không ghi nhận được sự đồng ý. Hãy kiểm tra lại các thông tin."))


@bp.post("/my/consents/<int:consent_id>/revoke")
@sessions.signed_in("citizen")
def revoke_consent(consent_id: int) -> BaseResponse:
    try:
        consent_ops.revoke(g.db, _person().principal, consent_id, datetime.now(UTC))
    except NotFound:
        return page_error(404)
    g.db.commit()
    return redirect(url_for("space.documents", done="revoked") + "#consents")


# -- who accessed my documents ----------------------------------------------------------------


def _access_words(entry: AccessLog, titles: dict[str, str]) -> dict[str, Any]:
    """One line of the access log as a sentence a citizen understands."""
    if entry.role == "citizen":
        who = _("Bạn")
    elif entry.role == "officer":
        who = _("Cán bộ của %(agency)s", agency=agency_name(entry.agency_code))
    elif entry.role == "auditor":
        who = _("Kiểm toán viên")
    elif entry.role == "designer":
        who = _("Người thiết kế biểu mẫu")
    elif entry.role == "anonymous":
        who = _("Một người không đăng nhập")
    else:
        who = _("Người giữ một đường dẫn tải về")
    document = titles.get(entry.document_id or "") or (
        _("giấy tờ %(id)s", id=entry.document_id) if entry.document_id else "")
    allowed = entry.outcome == "allowed"
    if entry.action == "list":
        what = _("đã xem danh sách giấy tờ của bạn")
    elif entry.action == "verification":
        what = _("đã xác thực %(document)s bằng mã giấy tờ", document=document)
    elif entry.action in ("download", "link_download"):
        what = (_("đã tải về %(document)s", document=document) if allowed
                else _("đã đề nghị tải về %(document)s nhưng bị từ chối", document=document))
    elif entry.action == "person_check":  # a form naming you, checked against the registers
        what = (_("đã đối chiếu thông tin về bạn ghi trên một tờ khai với cơ sở dữ liệu")
                if allowed else _("đã đề nghị đối chiếu thông tin về bạn nhưng bị từ chối"))
    elif entry.action == "register_read":  # an officer checking a dossier against them
        what = _("đã đọc dữ liệu của bạn trong cơ sở dữ liệu để đối chiếu hồ sơ")
    elif entry.action == "dossier_read":  # an officer's or auditor's dossier page
        what = _("đã mở hồ sơ của bạn")
    elif entry.action == "identity_check":  # a digitised paper naming you
        what = _("đã đối chiếu một giấy tờ số hóa mang tên bạn với cơ sở dữ liệu dân cư")
    elif entry.action == "report_lookup":  # how much of a form your records fill
        what = (_("đã xem mức điền sẵn một tờ khai từ dữ liệu của bạn") if allowed
                else _("đã đề nghị xem mức điền sẵn tờ khai từ dữ liệu của bạn nhưng bị từ "
                       "chối"))
    elif entry.action == "link":
        what = (_("đã tạo đường dẫn tải về %(document)s", document=document) if allowed
                else _("đã đề nghị tạo đường dẫn tải về %(document)s nhưng bị từ chối",
                       document=document))
    else:
        what = (_("đã xem thông tin của %(document)s", document=document) if allowed
                else _("đã đề nghị xem thông tin của %(document)s nhưng bị từ chối",
                       document=document))
    purpose = None
    if entry.purpose:
        kind, _sep, code = entry.purpose.partition(":")
        purpose = (_("hồ sơ %(code)s", code=code) if kind == "dossier"
                   else _("thủ tục %(code)s", code=code) if kind == "procedure"
                   else entry.purpose)
    return {"at": entry.at, "who": who, "what": what, "purpose": purpose,
            "refused": not allowed, "entry": entry}


@bp.get("/my/access")
@sessions.signed_in("citizen")
def access() -> Response:
    principal = _person().principal
    owners = repository.owners_of(g.db, principal)
    page = page_number()
    rows, total = repo_queries.owner_access_log(g.db, owners, page, PER_PAGE)
    titles = {doc.document_id: f"{_title(doc)} {doc.number or ''}".strip()
              for doc, _code in _my_documents(owners)}
    return render("space/access.html", items=[_access_words(e, titles) for e in rows],
                  pages=paging(page, total, PER_PAGE))


# -- where notifications go -------------------------------------------------------------------


@bp.route("/my/contact", methods=["GET", "POST"])
@sessions.signed_in("citizen")
def contact() -> BaseResponse:
    person = _person()
    assert person.personal_id
    saved = notifications.contact(g.db, person.personal_id)
    stashed = sessions.take_stash() if request.method == "GET" else None
    if request.method == "GET" and stashed is None:
        form = {"email": (saved.email if saved is not None else person.email) or "",
                "notify": saved.notify if saved is not None else True}
        return render("space/contact.html", form=form, errors=[], error_for={},
                      saved=saved, done=request.args.get("done") == "1",
                      from_signin=saved is None and bool(person.email))
    # a POST, or what was posted when the session had expired (checked again, then saved
    # only when the citizen sends it again)
    posted = stashed if stashed is not None else request.form
    address = posted.get("email", "").strip()
    notify = posted.get("notify") == "on"
    if stashed is not None:
        return render("space/contact.html", form={"email": address[:300], "notify": notify},
                      errors=[], error_for={}, saved=saved, done=False, from_signin=False,
                      restored=True)
    errors = []
    if len(address) > 254 or (address and not notifications.valid_email(address)):
        errors.append({"field": "email", "message": _(
            "Hãy nhập địa chỉ thư điện tử đúng dạng, ví dụ ten@example.vn.")})
    elif notify and not address:
        errors.append({"field": "email", "message": _(
            "Hãy nhập địa chỉ thư điện tử để nhận thông báo, hoặc bỏ chọn nhận thông báo.")})
    if errors:
        return render("space/contact.html", status=422,
                      form={"email": address[:300], "notify": notify}, errors=errors,
                      error_for={e["field"]: e["message"] for e in errors},
                      error_count=len(errors), saved=saved, done=False, from_signin=False)
    notifications.save_contact(g.db, person.personal_id, address or None, notify, ops.now())
    g.db.commit()
    return redirect(url_for("space.contact", done=1))
