"""The officers' pages (issue #15): the agency's queue and a dossier's page with its actions.

The queue (``/office``) lists an officer's own agency's dossiers by the deadline that matters
now, marked late, waiting within the 8 working hours of acceptance, or due today; filtered by
state, procedure and lateness, searched by code, personal ID or name, with counts per state.

The dossier page (``/office/dossiers/<code>``) lays the citizen's data out as the official
form's sections, each value with where it came from, the disputes the citizen raised, the
attachments, the deadlines and the history; and the actions the status machine allows this
officer now, each with the reason it needs. Auditors read the same page, with no action.

Every read and change goes through the operations the API calls, on the signed-in person's
principal (``load``: an officer of another agency gets the 404 of an unknown code; the
lifecycle's transitions, with the version the page was read at, as the API's If-Match): a
second officer acting on a stale page is told what changed, and nothing is overwritten.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time
from typing import Any

from flask import Blueprint, Response, current_app, g, redirect, request, url_for
from flask_babel import gettext as _
from werkzeug.wrappers import Response as BaseResponse

from forms import pointers
from forms.registers import REGISTERS
from service import catalogue
from service.dossiers import basis, lateness, queries
from service.dossiers import lifecycle as ops
from service.dossiers.states import STATES, TRANSITIONS
from service.errors import (
    Conflict,
    DomainError,
    InvalidData,
    NotFound,
    VersionMismatch,
)
from service.records import drafts
from service.repository import documents as repository
from service.results import issuance
from service.web import door
from service.web.api.dossiers import load, load_for_download
from service.web.api.uploads import attachment_download
from service.web.http import archive_now, pdf_response
from service.web.pages import actor, formfields, moment, sessions
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
from storage.models import Dossier, DossierEvent

bp = Blueprint("office", __name__)
PAGE_BLUEPRINTS.add("office")
PER_PAGE = 25
#: the officer's actions, in the order their buttons appear
ACTIONS = ("accept", "start_processing", "deliver", "request_supplement", "reject")
#: the access-log action of an officer or auditor reading a dossier's page
DOSSIER_READ = "dossier_read"
#: the hour (Vietnam time) of the promised date an explanation names
PROMISE_HOUR = time(17, 0)
#: what an officer may write in one post (docs/pages.md, Limits): longer text is refused at
#: its field, never cut
MAX_NOTE = 2000  # a reason, or the note of a supplement request
MAX_MISSING = 6000  # the list of what a supplement request needs, in all
MAX_ITEMS = 30  # lines of that list
MAX_ITEM = 300  # characters of one line
MAX_EXPLANATION = 4000  # a late dossier's explanation, as the API's
#: the colour of a status's tag (as on the citizen's pages)
STATUS_TAGS = {"submitted": "grey", "accepted": "", "supplement_requested": "yellow",
               "rejected": "red", "in_processing": "", "result_ready": "green",
               "delivered": "green", "withdrawn": "grey"}


def _person() -> sessions.Person:
    person = sessions.current()
    assert person is not None  # @signed_in
    return person


def _said(err: DomainError) -> str:
    """A domain error's message in the page's language."""
    return err.message_en if g.get("lang") == "en" else err.message


def _action_label(action: str) -> str:
    return {
        "accept": _("Tiếp nhận hồ sơ"), "start_processing": _("Bắt đầu xử lý"),
        "deliver": _("Đã trả kết quả"), "request_supplement": _("Yêu cầu bổ sung"),
        "reject": _("Từ chối hồ sơ"),
    }[action]


def _event_words(event: DossierEvent) -> str:
    return {
        "submit": _("Nộp hồ sơ trực tuyến"), "accept": _("Tiếp nhận hồ sơ"),
        "request_supplement": _("Yêu cầu bổ sung hồ sơ"),
        "reject": _("Từ chối giải quyết hồ sơ"), "start_processing": _("Bắt đầu xử lý hồ sơ"),
        "issue_result": _("Ký số và cấp kết quả"), "deliver": _("Trả kết quả"),
        "withdraw": _("Rút hồ sơ"), "supplement": _("Gửi phần bổ sung"),
        "explain": _("Giải trình việc chậm trễ, gửi thư xin lỗi và hẹn ngày trả mới"),
    }.get(event.action, event.action)


def _actor(event: DossierEvent) -> str:
    """Who made a change: officers by the name they acted under; the citizen as such."""
    if event.role == "citizen":
        return _("Người nộp hồ sơ")
    name = actor(event.actor)
    if event.role == "officer" and not name.casefold().startswith("cán bộ"):
        return _("Cán bộ %(name)s", name=name)  # not 'Cán bộ Cán bộ một cửa'
    return name


# -- the queue --------------------------------------------------------------------------------


@dataclass(frozen=True)
class QueueRow:
    d: Dossier
    label: str
    tag: str
    late: bool
    acceptance: bool
    today: bool
    deadline: datetime | None


def _row(d: Dossier, at: datetime, today: date) -> QueueRow:
    late = lateness.assess(d, at).late
    deadline = d.due_at
    due_today = (not late and deadline is not None
                 and deadline.astimezone(VIETNAM).date() == today)
    return QueueRow(d, status_label(d.status), STATUS_TAGS.get(d.status, ""), late,
                    d.status == "submitted" and d.accepted_at is None and not late,
                    due_today, deadline)


@bp.get("/office")
@sessions.signed_in("officer")
def queue() -> Response:
    person = _person()
    agency = person.agency_code or ""
    state = request.args.get("state", "open")
    if state not in STATES and state not in ("open", "all"):
        state = "open"
    states = (queries.OPEN if state == "open" else None if state == "all" else (state,))
    procedure = request.args.get("procedure", "").strip()[:40]
    late = request.args.get("late") == "1"
    search = " ".join(request.args.get("q", "").split())[:100]
    page = page_number()
    at = ops.now()
    counts = queries.state_counts(g.db, agency)
    found = queries.office_queue(g.db, agency, page, PER_PAGE, states=states,
                                 procedure=procedure or None, late=late, search=search,
                                 at=at, counts=counts)
    today = at.astimezone(VIETNAM).date()
    filters = {"state": state, "procedure": procedure, "late": "1" if late else "",
               "q": search}
    kept = {k: v for k, v in filters.items() if v and not (k == "state" and v == "open")}
    pages = {**paging(page, found.total, PER_PAGE), "capped": found.capped,
             "partial": queries.NAME_ORDERED if found.partial else None}
    return render("office/queue.html", rows=[_row(d, at, today) for d in found.rows],
                  counts=[(s, status_label(s), counts.get(s, 0)) for s in STATES],
                  open_count=sum(counts.get(s, 0) for s in queries.OPEN),
                  all_count=sum(counts.values()), filters=filters, kept=kept, pages=pages,
                  procedures=queries.procedures(g.db), agency=agency_name(agency),
                  search_kind=queries.search_kind(search) if search else None,
                  states=[(s, status_label(s)) for s in STATES])


# -- the dossier page -------------------------------------------------------------------------


@dataclass
class ValueRow:
    label: str
    text: str
    source: str
    disputes: list[Any]


@dataclass
class ValueSection:
    title: str
    rows: list[ValueRow]


def _provenance(field: Any, d: Dossier) -> str:
    """Where a value came from, as far as the dossier records it: a verified field was
    checked against its register when the dossier was filed; a suggested one was offered
    from the register when the citizen chose to use their data (and may have been changed);
    anything else was typed. (Which earlier result or digitised paper a value was read from
    is not kept with the dossier.)"""
    binding = getattr(field, "prefill", None)
    if binding is None:
        return _("Người nộp tự khai")
    register = REGISTERS.get(binding.record.split(".", 1)[0])
    title = register.title if register is not None else binding.record
    filed = moment(d.submitted_at)
    if binding.mode == "verified":
        return _("%(register)s: giá trị xác thực, đã đối chiếu khi nộp lúc %(moment)s",
                 register=title, moment=filed)
    if d.prefill_choice == "use":
        return _("Gợi ý từ %(register)s khi điền tờ khai (người nộp có thể đã sửa)",
                 register=title)
    if d.prefill_choice == "type":
        return _("Người nộp tự khai (đã chọn không dùng dữ liệu có sẵn)")
    return _("Có thể điền sẵn từ %(register)s; nguồn không được ghi lại (nộp qua API)",
             register=title)


def _sections(d: Dossier, definition: Any, disputes: list[Any]) -> list[ValueSection]:
    by_pointer: dict[str, list[Any]] = {}
    for dispute in disputes:
        by_pointer.setdefault(dispute.pointer, []).append(dispute)
    out = []
    for section in formfields.answers(definition, d.data):
        rows = []
        for row in section.rows:
            field, _tokens, _rest = formfields.locate(definition, row.pointer)
            rows.append(ValueRow(row.label, row.text, _provenance(field, d),
                                 by_pointer.get(row.pointer, [])))
        out.append(ValueSection(section.title, rows))
    return out


def _relation_words(relation: str) -> str:
    """A relation of the registers (forms.registers.PERSONS), said of the dossier's citizen."""
    words = {
        "declarant": _("chính người nộp"),
        "father": _("cha của người nộp"),
        "mother": _("mẹ của người nộp"),
        "spouse": _("vợ hoặc chồng của người nộp"),
        "child": _("con của người nộp"),
        "household_head": _("chủ hộ của người nộp"),
        "household_member": _("thành viên hộ gia đình của người nộp"),
        "parent": _("cha hoặc mẹ của người nộp"),
        "ward": _("người được giám hộ của người nộp"),
        "guardian": _("người giám hộ của người nộp"),
    }
    return words.get(relation, relation)


def _label_at(definition: Any, pointer: str) -> str:
    """The label of the section, group or field at ``pointer`` (with an item's number)."""
    tokens = pointers.parse(pointer)
    ids = tuple(t for t in tokens if not t.isdigit())
    if not ids:
        return pointer
    found = definition.find(ids) if len(ids) > 1 else next(
        (s for s in definition.sections if s.id == ids[0]), None)
    label = (getattr(found, "label", None) or getattr(found, "title", None)) or pointer
    items = [int(t) + 1 for t in tokens if t.isdigit()]
    return f"{label} ({', '.join(map(str, items))})" if items else label


def _basis_lines(d: Dossier, definition: Any) -> list[str] | None:
    """What the dossier records of whose records were read and why, one line per person and
    register (service.dossiers.basis); [] when nobody else's; None when the form has no
    person named or chosen by an answer (nothing to say)."""
    if not basis.has_people_by_answer(definition):
        return None
    if d.prefill_basis is None:
        return [_("Không được ghi lại (hồ sơ nộp trước khi dịch vụ ghi căn cứ điền sẵn).")]
    lines = []
    for entry in d.prefill_basis:
        register = REGISTERS.get(str(entry.get("register")))
        where = _label_at(definition, str(entry.get("pointer", "")))
        who = _relation_words(str(entry.get("relation")))
        source = register.title if register is not None else str(entry.get("register"))
        if entry.get("named_by"):
            how = _("số định danh cá nhân ghi tại «%(field)s»",
                    field=_label_at(definition, entry["named_by"]))
        else:
            how = _("quan hệ chọn tại «%(field)s»",
                    field=_label_at(definition, str(entry.get("relation_by", ""))))
        lines.append(_("«%(where)s»: %(who)s (%(source)s), theo %(how)s",
                       where=where, who=who, source=source, how=how))
    return lines


@dataclass(frozen=True)
class ActionView:
    action: str
    label: str
    needs_reason: bool


def _actions(d: Dossier, person: sessions.Person, explanation_required: bool,
             ) -> list[ActionView]:
    """The actions this person may take now: an officer's, from this state, none while a
    late dossier waits for its explanation (the lifecycle would refuse them)."""
    if person.role != "officer" or explanation_required:
        return []
    return [ActionView(a, _action_label(a), TRANSITIONS[a].needs_reason) for a in ACTIONS
            if TRANSITIONS[a].direct and d.status in TRANSITIONS[a].sources]


def _dossier_page(d: Dossier, *, status: int = 200, errors: list[dict[str, str]] | None = None,
                  form: dict[str, str] | None = None, conflict: dict[str, Any] | None = None,
                  problem: str | None = None) -> Response:
    person = _person()
    principal = person.principal
    at = ops.now()
    # read like the API's dossier, and written to the access log: the citizen sees it
    repository.log(g.db, principal, DOSSIER_READ, "allowed", owner_id=d.citizen_id,
                   purpose=f"dossier:{d.code}"[:80], reason="the dossier page")
    form_def = _definition(d)
    disputes = drafts.disputes_of(g.db, d.id)
    events = queries.history(g.db, d)
    found = lateness.assess(d, at)
    result = issuance.existing_result(g.db, d)
    letter = queries.latest_apology_letter(g.db, d)
    officer = person.role == "officer"
    issue_url = result_url = None
    # no issuing while a late dossier waits for its explanation (issuing would be refused)
    if officer and d.status == "in_processing" and result is None \
            and not found.explanation_required \
            and "issuing.preview" in current_app.view_functions:
        issue_url = url_for("issuing.preview", code=d.code)
    if officer and result is not None and "issuing.result" in current_app.view_functions:
        result_url = url_for("issuing.result", code=d.code)
    attachments = queries.attachments(g.db, form_def, d)
    errs = errors or []
    return render(
        "office/dossier.html", status=status, d=d, label=status_label(d.status),
        tag=STATUS_TAGS.get(d.status, ""), found=found, sections=_sections(d, form_def, disputes),
        disputes=disputes, attachments=attachments, events=events,
        event_words=_event_words, actor=_actor, status_label=status_label,
        actions=_actions(d, person, found.explanation_required),
        explain=officer and found.explanation_required,
        can_explain=officer and found.late, officer=officer, result=result, letter=letter,
        issue_url=issue_url, result_url=result_url, agency=agency_name(d.agency_code),
        agency_name=agency_name,
        form_title=form_def.title, basis_lines=_basis_lines(d, form_def), errors=errs,
        error_for={e["field"]: e["message"] for e in errs}, form=form or {},
        conflict=conflict, problem=problem, done=request.args.get("done"),
        verify_endpoint="public.verify_document"
        if "public.verify_document" in current_app.view_functions else None)


def _definition(d: Dossier) -> Any:
    """The form version the dossier was filed on (cached once published; a version withdrawn
    since is read as stored)."""
    try:
        return catalogue.published_form(g.db, d.form_id, d.form_version).definition
    except NotFound:
        row = catalogue.get_version(g.db, d.form_id, d.form_version, include_drafts=True)
        return catalogue.compiled(row).definition


@bp.get("/office/dossiers/<code>")
@sessions.signed_in("officer", "auditor")
def dossier(code: str) -> Response:
    d = load(code[:60], _person().principal)
    return _dossier_page(d)


def _version() -> int | None:
    raw = request.form.get("version", "")
    return int(raw) if raw.isdigit() and len(raw) < 10 else None


def _conflict(code: str, seen: int | None) -> dict[str, Any]:
    """What the officer's stale page missed: the dossier as it is now, and its last change."""
    g.db.rollback()
    d = load(code, _person().principal)
    events = queries.history(g.db, d)
    last = events[-1] if events else None
    return {"d": d, "seen": seen, "status": status_label(d.status),
            "what": _event_words(last) if last else None,
            "who": _actor(last) if last else None, "at": last.at if last else None,
            "why": last.reason if last else None}


def _supplement_items(missing: str) -> list[str]:
    """The items a supplement request names: one a line, without list marks or blank lines."""
    items = [" ".join(line.lstrip("-•* ").split()) for line in missing.splitlines()]
    return [i for i in items if i]


def _reason_for_supplement(items: list[str], note: str) -> str:
    """The reason the citizen reads for a supplement request."""
    lines = ["Cần bổ sung:"] + [f"- {i}" for i in items]
    if note:
        lines.append(note)
    return "\n".join(lines)


def _text_problem(text: str, label: str, limit: int) -> str | None:
    """What is wrong with an officer's text, in words for its field: a character that has no
    place in a record (the API's check, ``door.bad_characters``: control characters, invisible
    ones such as bidirectional overrides and zero-width spaces), or more than ``limit``
    characters. None if nothing."""
    for _path, char in door.bad_characters(text):
        code = f"{ord(char):04X}"
        return _("“%(label)s” có ký tự không được phép (U+%(code)s): ký tự điều khiển hoặc ký "
                 "tự vô hình, như ký tự đổi chiều văn bản; hãy xóa ký tự này.",
                 label=label, code=code)
    if len(text) > limit:
        return _("“%(label)s” dài %(length)s ký tự; tối đa %(limit)s ký tự.", label=label,
                 length=len(text), limit=limit)
    return None


def _act_errors(action: str, note: str, missing: str) -> list[dict[str, str]]:
    """The errors of an action's form, each at its field (the page's ids)."""
    errors = []
    if action == "request_supplement":
        label = _("Cần bổ sung những gì")
        problem = _text_problem(missing, label, MAX_MISSING)
        items = _supplement_items(missing)
        if problem is None and not items:
            problem = _("Hãy ghi ít nhất một giấy tờ hoặc thông tin người nộp cần bổ sung.")
        if problem is None and len(items) > MAX_ITEMS:
            problem = _("“%(label)s” có %(count)s dòng; tối đa %(limit)s dòng.", label=label,
                        count=len(items), limit=MAX_ITEMS)
        long = [n for n, item in enumerate(items, 1) if len(item) > MAX_ITEM]
        if problem is None and long:
            problem = _("Dòng %(line)s của “%(label)s” dài %(length)s ký tự; mỗi dòng tối đa "
                        "%(limit)s ký tự.", line=long[0], label=label,
                        length=len(items[long[0] - 1]), limit=MAX_ITEM)
        if problem:
            errors.append({"field": "missing", "message": problem})
        problem = _text_problem(note, _("Ghi chú cho người nộp"), MAX_NOTE)
    elif action == "reject":
        problem = _text_problem(note, _("Lý do từ chối"), MAX_NOTE)
        if problem is None and not note:
            problem = _("Hãy ghi lý do từ chối hồ sơ.")
    else:  # the page sends no reason with the other actions; one sent is checked alike
        problem = _text_problem(note, _("Lý do"), MAX_NOTE)
    if problem:
        errors.append({"field": f"reason-{action}", "message": problem})
    return errors


@bp.post("/office/dossiers/<code>/action")
@sessions.signed_in("officer")
def act(code: str) -> BaseResponse:
    person = _person()
    d = load(code[:60], person.principal)
    action = request.form.get("action", "")
    if action not in ACTIONS:
        return page_error(400)
    seen = _version()
    if seen is None:
        return page_error(400)
    note = request.form.get("reason", "").strip()
    missing = request.form.get("missing", "")
    form = {"action": action, "reason": note, "missing": missing}
    errors = _act_errors(action, note, missing)
    if errors:
        if TRANSITIONS[action].needs_reason:
            return _dossier_page(d, status=422, form=form, errors=errors)
        return _dossier_page(d, status=422, problem=errors[0]["message"])
    reason: str | None = note or None
    if action == "request_supplement":
        reason = _reason_for_supplement(_supplement_items(missing), note)
    try:
        ops.act(g.db, d, action, person.principal, reason, seen,
                current_runtime().calendar_for(d.agency_code))
    except VersionMismatch:
        info = _conflict(d.code, seen)
        return _dossier_page(info["d"], status=409, conflict=info)
    except Conflict as refused:
        g.db.rollback()
        return _dossier_page(load(d.code, person.principal), status=409,
                             problem=_said(refused))
    except InvalidData as refused:
        g.db.rollback()
        field = "missing" if action == "request_supplement" else f"reason-{action}"
        return _dossier_page(load(d.code, person.principal), status=422, form=form,
                             errors=[{"field": field, "message": _said(refused)}])
    g.db.commit()
    return redirect(url_for("office.dossier", code=d.code, done=action), code=303)


def _promised_at(raw: str) -> datetime | None:
    try:
        day = date.fromisoformat(raw.strip())
    except ValueError:
        return None
    return datetime.combine(day, PROMISE_HOUR, tzinfo=VIETNAM)


@bp.post("/office/dossiers/<code>/explanation")
@sessions.signed_in("officer")
def explain(code: str) -> BaseResponse:
    """Explain a late dossier and send the apology letter with the new promised date, as the
    API's ``POST …/explanation``: if the letter cannot be signed, nothing is recorded."""
    person = _person()
    principal = person.principal
    d = load(code[:60], principal)
    seen = _version()
    reason = request.form.get("reason", "").strip()
    raw_date = request.form.get("promised_on", "")
    form = {"explain_reason": reason, "promised_on": raw_date}
    errors = []
    problem = _text_problem(reason, _("Lý do chậm trễ"), MAX_EXPLANATION)
    if problem is None and not reason:
        problem = _("Hãy ghi lý do hồ sơ bị chậm.")
    if problem:
        errors.append({"field": "explain-reason", "message": problem})
    promised = _promised_at(raw_date) if len(raw_date) <= 20 else None
    if promised is None:
        errors.append({"field": "promised-on", "message": _(
            "Hãy chọn ngày hẹn trả mới, ví dụ 15/12/2026.")})
    if errors or promised is None:
        return _dossier_page(d, status=422, form=form, errors=errors)
    try:
        letter = issuance.explain_late(g.db, d, principal, reason, promised, seen,
                                       current_runtime().signing,
                                       current_runtime().settings.retention,
                                       current_runtime().calendar_for(d.agency_code))
    except VersionMismatch:
        info = _conflict(d.code, seen)
        return _dossier_page(info["d"], status=409, conflict=info)
    except InvalidData as refused:
        g.db.rollback()
        field = "promised-on" if refused.field == "promised_at" else "explain-reason"
        return _dossier_page(load(d.code, principal), status=422, form=form,
                             errors=[{"field": field, "message": _said(refused)}])
    except DomainError as refused:  # not late any more, or the key or the TSA is unavailable
        g.db.rollback()
        status = 503 if not isinstance(refused, Conflict) else 409
        return _dossier_page(load(d.code, principal), status=status, form=form,
                             problem=_said(refused))
    g.db.commit()
    archive_now(letter.id)
    return redirect(url_for("office.dossier", code=d.code, done="explain"), code=303)


@bp.get("/office/dossiers/<code>/apology-letter")
@sessions.signed_in("officer", "auditor")
def apology(code: str) -> Response:
    """The latest apology letter, as the API's download (the same check and access log)."""
    d = load_for_download(code[:60], _person().principal, "apology_letter")
    doc = queries.latest_apology_letter(g.db, d)
    if doc is None:
        return page_error(404)
    return pdf_response(doc, f"thu-xin-loi-{d.code}.pdf", principal=_person().principal,
                        reason=f"apology letter of dossier {d.code}")


@bp.get("/office/dossiers/<code>/attachments/<document_id>")
@sessions.signed_in("officer", "auditor")
def attachment(code: str, document_id: str) -> Response:
    """A file the citizen uploaded for an attachment field, as the API's download: only one
    the dossier references, every download in the access log."""
    return attachment_download(code, document_id, _person().principal)
