"""The auditors' pages (signed-in auditors only; anyone else gets the 403 page): the access log
filtered by citizen, agency, document and time, paged, and exported as CSV; the monthly list
of late dossiers of any agency with their explanations and apology letters. A dossier is
opened on the officers' read-only dossier page (``office.dossier``), which auditors may read.

The pages read what the API's ``/audit/access`` reads, through
:mod:`service.repository.queries` (the views build no query), and the late list is the
public page's operation (``late_report``) with its words (:mod:`.public`).

Reading the log is not itself written to the access log, as through the API
(``GET /api/v1/audit/access`` writes nothing): the log records reads of documents and of a
person's data, and an auditor paging through it would otherwise fill it with its own reading
and show up on every citizen's "who accessed my data". A CSV export, a copy of many people's
entries leaving the service, is written to the application log (who, which filters, how many
rows).
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator
from datetime import date, datetime, time, timedelta
from typing import Any

from flask import Blueprint, Response, current_app, g, request, url_for
from flask_babel import gettext as _

from service.dossiers import lifecycle
from service.dossiers import queries as dossier_queries
from service.repository import queries
from service.web.pages import actor, public, sessions
from service.web.pages.rendering import PAGE_BLUEPRINTS, agency_name, render, status_label
from service.web.pages.space import _access_words
from service.web.runtime import current_runtime
from service.worktime import VIETNAM
from storage.documents import DOCUMENT_ID
from storage.models import AccessLog

bp = Blueprint("audit", __name__)
PAGE_BLUEPRINTS.add("audit")

#: entries on a page of the access log
PER_PAGE = 50
#: the most entries one CSV export carries (the newest that match; narrow the filters for
#: older ones)
EXPORT_LIMIT = 100_000
#: whose data: a personal ID (12 digits) or an organisation's tax code (10 or 13)
_OWNER = re.compile(r"^(?:[0-9]{12}|[0-9]{10}|[0-9]{13})$")
_CURSOR = re.compile(r"^[0-9]{1,18}$")
#: a spreadsheet runs a cell that starts with one of these as a formula
_FORMULA = ("=", "+", "-", "@", "\t", "\r")


def _person() -> sessions.Person:
    person = sessions.current()
    assert person is not None  # @signed_in
    return person


def _agencies() -> dict[str, str]:
    """The agencies this installation signs for: code to name."""
    signing = current_runtime().signing
    return {code: str(a.name) for code, a in signing.agencies.items()} if signing else {}


def _dossier_url(code: str | None) -> str | None:
    if code and "office.dossier" in current_app.view_functions:
        return url_for("office.dossier", code=code)
    return None


# -- the access log ------------------------------------------------------------------------------


def _day(raw: str) -> date | None:
    """A date as people type it (dd/mm/yyyy, d/m/yyyy) or as a date input sends it
    (yyyy-mm-dd); None when it is neither."""
    for pattern in ("%d/%m/%Y", "%Y-%m-%d"):
        try:
            found = datetime.strptime(raw, pattern).date()
        except ValueError:
            continue
        return found if 1900 <= found.year <= 2999 else None
    return None


def _filters(args: Any) -> tuple[queries.AccessFilter, dict[str, str], list[dict[str, str]]]:
    """The filters of the query string: the operation's filter, the values as typed (shown
    again in the form), and the errors, each at its field."""
    typed = {k: str(args.get(k, "")).strip()[:100]
             for k in ("citizen", "agency", "document", "from", "to")}
    errors: list[dict[str, str]] = []
    owner = typed["citizen"].replace(" ", "")
    if owner and not _OWNER.match(owner):
        errors.append({"field": "citizen", "message": _(
            "Nhập số định danh cá nhân gồm 12 chữ số (hoặc mã số thuế 10 hay 13 chữ số "
            "của tổ chức).")})
    agency = typed["agency"]
    if agency and not public._AGENCY.match(agency):
        errors.append({"field": "agency", "message": _("Chọn cơ quan trong danh sách.")})
    document = typed["document"].lower()
    if document and not DOCUMENT_ID.match(document):
        errors.append({"field": "document", "message": _(
            "Mã giấy tờ gồm 36 ký tự, chữ số và chữ thường a–f, ví dụ "
            "0b6c1a52-7d3e-4f10-9a8b-2c4d6e8f0a1b.")})
    days: dict[str, date | None] = {}
    for key, label in (("from", _("Từ ngày")), ("to", _("Đến ngày"))):
        days[key] = _day(typed[key]) if typed[key] else None
        if typed[key] and days[key] is None:
            errors.append({"field": key, "message": _(
                "%(label)s phải là một ngày có thật, dạng ngày/tháng/năm, ví dụ 30/11/2026.",
                label=label)})
    start, end = days["from"], days["to"]
    if start and end and start > end:
        errors.append({"field": "to", "message": _(
            "Đến ngày phải bằng hoặc sau Từ ngày.")})
    if errors:
        return queries.AccessFilter(), typed, errors
    return queries.AccessFilter(
        owner_id=owner or None, agency_code=agency or None, document_id=document or None,
        since=datetime.combine(start, time(), VIETNAM) if start else None,
        until=datetime.combine(end + timedelta(days=1), time(), VIETNAM) if end else None,
    ), typed, []


def _role_label(role: str) -> str:
    return {"citizen": _("Công dân"), "officer": _("Cán bộ"), "auditor": _("Kiểm toán viên"),
            "designer": _("Người thiết kế biểu mẫu"),
            "anonymous": _("Không đăng nhập")}.get(role, role)


def _action_label(action: str) -> str:
    """What an entry did, for a third person (the citizen's page says it to the owner)."""
    return {
        "list": _("Xem danh sách giấy tờ"), "record": _("Xem thông tin giấy tờ"),
        "download": _("Tải về giấy tờ"), "link": _("Tạo đường dẫn tải về"),
        "link_download": _("Tải về qua đường dẫn"),
        "verification": _("Xác thực giấy tờ bằng mã"),
        "person_check": _("Đối chiếu thông tin một người trên tờ khai với cơ sở dữ liệu"),
        "register_read": _("Đọc dữ liệu trong cơ sở dữ liệu để đối chiếu hồ sơ"),
        "identity_check": _("Đối chiếu giấy tờ số hóa với cơ sở dữ liệu dân cư"),
        "report_lookup": _("Xem mức điền sẵn tờ khai từ dữ liệu của một người"),
        "dossier_read": _("Mở hồ sơ"),  # the officers' dossier page (office.DOSSIER_READ)
    }.get(action, action)


def _outcome_label(outcome: str) -> str:
    return {"allowed": _("Được phép"), "denied": _("Bị từ chối"),
            "not_found": _("Không tìm thấy")}.get(outcome, outcome)


def _entry(entry: AccessLog, codes: dict[str, str]) -> dict[str, Any]:
    """One entry of the log as the auditor reads it: who (the citizen's page's words for the
    role and agency), what, whose data, for which purpose, when, allowed or not."""
    words = _access_words(entry, {})
    kind, _sep, code = (entry.purpose or "").partition(":")
    dossier = code if kind == "dossier" and code else codes.get(entry.document_id or "")
    return {
        "id": entry.id, "at": entry.at, "actor": actor(entry.actor),
        "who": _role_label(entry.role) if entry.role == "citizen" else words["who"],
        "role": _role_label(entry.role), "agency": agency_name(entry.agency_code),
        "agency_code": entry.agency_code, "what": _action_label(entry.action),
        "document_id": entry.document_id, "owner_id": entry.owner_id,
        "purpose": words["purpose"], "dossier": dossier, "dossier_url": _dossier_url(dossier),
        "outcome": _outcome_label(entry.outcome), "refused": entry.outcome != "allowed",
        "reason": entry.reason,
    }


@bp.get("/audit/access")
@sessions.signed_in("auditor")
def access() -> Response:
    filters, typed, errors = _filters(request.args)
    agencies = _agencies()
    if typed["agency"] and typed["agency"] not in agencies:
        agencies[typed["agency"]] = typed["agency"]
    shown: dict[str, Any] = {k: v for k, v in typed.items() if v}
    if errors:
        return render("audit/access.html", status=400, errors=errors,
                      error_for={e["field"]: e["message"] for e in errors},
                      error_count=len(errors), form=typed, agencies=sorted(agencies.items()),
                      items=[], pages=None, csv_url=None, filtered=bool(shown),
                      limit=EXPORT_LIMIT)
    if request.args.get("format") == "csv":
        return _export(filters, shown)
    before = request.args.get("before", "")
    after = request.args.get("after", "")
    rows, newer, older = queries.access_page(
        g.db, filters, PER_PAGE,
        before=int(before) if _CURSOR.match(before) else None,
        after=int(after) if _CURSOR.match(after) and not _CURSOR.match(before) else None)
    codes = queries.dossier_codes_of_documents(g.db, (e.document_id or "" for e in rows))
    pages = {
        "newer": url_for("audit.access", **shown, after=rows[0].id) if rows and newer
        else None,
        "older": url_for("audit.access", **shown, before=rows[-1].id) if rows and older
        else None,
        "first": url_for("audit.access", **shown) if newer else None,
    }
    return render("audit/access.html", errors=[], error_for={}, form=typed,
                  agencies=sorted(agencies.items()), items=[_entry(e, codes) for e in rows],
                  pages=pages, csv_url=url_for("audit.access", **shown, format="csv"),
                  filtered=bool(shown), limit=EXPORT_LIMIT)


#: the CSV's columns: the log's own values, unchanged but for formula neutralising
CSV_COLUMNS = ("id", "at", "actor", "role", "agency_code", "action", "document_id",
               "owner_id", "purpose", "outcome", "reason")


def csv_cell(value: object) -> str:
    """A value as a CSV cell a spreadsheet shows and never runs: text starting with a
    formula character gets a leading apostrophe (OWASP's CSV injection advice)."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(_FORMULA) else text


def _csv_headers() -> list[str]:
    return [_("Mã dòng"), _("Thời điểm (giờ Việt Nam)"), _("Người truy cập"), _("Vai trò"),
            _("Mã cơ quan"), _("Hành động"), _("Mã giấy tờ"), _("Chủ dữ liệu"), _("Mục đích"),
            _("Kết quả"), _("Lý do")]


def _export(filters: queries.AccessFilter, shown: dict[str, Any]) -> Response:
    """The filtered log as CSV (UTF-8 with a byte order mark, so Excel reads the
    Vietnamese), newest first, at most ``EXPORT_LIMIT`` rows, written as it is read."""
    person = _person()
    current_app.logger.info("access log exported", extra={
        "actor": person.principal.actor, "filters": shown, "limit": EXPORT_LIMIT})
    headers = _csv_headers()
    read_sessions = current_runtime().read_sessions

    def lines() -> Iterator[str]:
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        writer.writerow(headers)
        yield "\ufeff" + buffer.getvalue()
        # a session of its own: the body is written after the view returned (and the
        # request's session may be closed by then)
        with read_sessions() as session:
            for entry in queries.access_export(session, filters, EXPORT_LIMIT):
                buffer.seek(0)
                buffer.truncate()
                values = {c: getattr(entry, c) for c in CSV_COLUMNS}
                values["at"] = entry.at.astimezone(VIETNAM).isoformat(timespec="seconds")
                writer.writerow([csv_cell(values[c]) for c in CSV_COLUMNS])
                yield buffer.getvalue()

    stamp = lifecycle.now().astimezone(VIETNAM).strftime("%Y%m%d-%H%M")
    response = Response(lines(), mimetype="text/csv")
    response.headers["Content-Type"] = "text/csv; charset=utf-8"
    response.headers["Content-Disposition"] = (
        f'attachment; filename="nhat-ky-truy-cap-{stamp}.csv"')
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


# -- the monthly late list -----------------------------------------------------------------------


@bp.get("/audit/late")
@sessions.signed_in("auditor")
def late() -> Response:
    """The month's late dossiers of every agency (or one), each with who explained it, the
    explanation as written, the apology letter and the new date; linked to the dossier."""
    return public.late_list("audit/late.html", _late_rows)


def _late_rows(report: dict[str, Any]) -> public.LateRow:
    """The auditors' rows of a late report: the apology letters of its dossiers read at once."""
    codes = [d["code"] for a in report["agencies"] for o in a["officers"]
             for d in o["dossiers"]]
    letters = queries.apology_letters(g.db, codes)

    def row(d: dict[str, Any], officer: dict[str, Any]) -> dict[str, Any]:
        return {
            "code": d["code"], "url": _dossier_url(d["code"]),
            "procedure": d["procedure_name"] or d["procedure_code"],
            "status": status_label(d["status"]),
            "missed": [(public.stage_label(m["stage"]), public._moment(m["deadline"]))
                       for m in d["missed"]],
            "officer": None if officer["officer"] == dossier_queries.UNEXPLAINED
            else officer["officer"],
            "explanation": d["explanation"],
            "explanation_required": d["explanation_required"],
            "apology": d["code"] in letters, "apology_at": letters.get(d["code"]),
            "promised_at": public._moment(d["promised_at"]),
        }

    return row
