"""The citizen's e-form: from a procedure to a filed dossier, in the browser.

1. ``/procedures/<form>/apply`` (:func:`start`): the latest published version, the receiving
   agency, and, before any register is read, which registers would be read for which fields,
   with the choice "use my data" or "I will type everything" (remembered per form version,
   recorded with the dossier).
2. ``…/v<version>/form`` (:func:`fill`): the form, prefilled when the citizen chose so
   (verified values locked with their source named, suggested ones editable), from the
   server-side draft when there is one (saved on every post, so it resumes on any device),
   with what a post carried when the session had expired. A post is saved, then checked by
   the API's own check (``service.dossiers.lifecycle.check``).
3. ``…/check`` (:func:`check`): check your answers; ``…/submit`` (:func:`submit`) files the
   dossier once, with the draft's idempotency key (a double click or a retry gives the same
   dossier); ``/dossiers/<code>/confirmation`` shows its code, receipt secret and dates.
4. ``…/dispute?field=<pointer>`` (:func:`dispute`): the citizen says a prefilled value is
   wrong; recorded against the register, attached to the dossier when filed, never a reason
   to refuse it.

The fields themselves (rendering from the definition, reading a post back into form data)
are :mod:`service.web.pages.formfields`'s.
"""

from __future__ import annotations

import copy
import logging
import re
from dataclasses import dataclass
from typing import Any

from flask import Blueprint, current_app, g, redirect, request, session, url_for
from flask_babel import gettext as _
from werkzeug.datastructures import MultiDict
from werkzeug.wrappers import Response

from forms import conditions, pointers, registers
from forms.compiled import CompiledForm
from forms.language import normalise
from service import catalogue
from service.dossiers import lifecycle, queries
from service.errors import InvalidData, NotFound
from service.records import drafts
from service.records import prefill as pf
from service.repository import documents as repository
from service.repository import uploads
from service.web.pages import day, formfields, sessions
from service.web.pages.rendering import (
    PAGE_BLUEPRINTS,
    agency_name,
    page_error,
    render,
)
from service.web.runtime import current_runtime
from storage.models import FormDraft

log = logging.getLogger("tokhai.pages")
bp = Blueprint("eform", __name__)
PAGE_BLUEPRINTS.add("eform")

#: an agency code typed where no list of agencies is configured (as the API's SubmitSchema)
_AGENCY = re.compile(r"^[A-Za-z0-9._-]{1,40}$")
#: the session key marking the dossier just filed: its confirmation shows the receipt secret
_JUST_FILED = "eform_filed"
#: how many of the citizen's documents attachment fields offer
_DOCUMENTS = 100


@dataclass(frozen=True)
class Agency:
    code: str
    name: str


@dataclass
class Filling:
    """What every step of one form version needs: who fills it, the form, their answer to
    "use my data", their draft, and the prefill (None when they type everything)."""

    citizen: str
    compiled: CompiledForm
    choice: str
    draft: FormDraft
    result: pf.PrefillResult | None
    documents: list[formfields.Document]
    result_numbers: dict[str, str]

    @property
    def form(self) -> Any:
        return self.compiled.definition

    @property
    def provenance(self) -> dict[str, dict[str, Any]]:
        return self.result.provenance if self.result else {}

    @property
    def verified(self) -> set[str]:
        return set(self.result.verified) if self.result else set()

    @property
    def base(self) -> dict[str, Any]:
        return self.result.data if self.result else {}


# -- the steps --------------------------------------------------------------------------------

@bp.route("/procedures/<form_id>/apply", methods=["GET", "POST"])
@sessions.signed_in("citizen")
def start(form_id: str) -> Response:
    """The receiving agency and "use my data": nothing is read from a register here."""
    citizen = _citizen()
    compiled = _latest(form_id)
    if compiled is None:
        return page_error(404)
    if request.method == "POST":
        posted = _published(form_id, request.form.get("version", ""))
        if posted is None:
            return page_error(404)
        compiled = posted
    form = compiled.definition
    offered = _agencies()
    choice = drafts.choice_of(g.db, citizen, form.id, form.version)
    draft = drafts.draft_of(g.db, citizen, form.id, form.version)
    if request.method == "GET":
        if choice is not None and not request.args.get("change"):
            agency = (draft.agency_code if draft is not None else None) or (
                offered[0].code if offered is not None and len(offered) == 1 else None)
            if agency is not None:
                if draft is None or draft.agency_code != agency:
                    drafts.start_draft(g.db, citizen, form.id, form.version, agency,
                                       lifecycle.now())
                    g.db.commit()
                return redirect(url_for("eform.fill", form_id=form.id, version=form.version))
        return _start_page(compiled, offered, draft.agency_code if draft else None, choice)
    agency = request.form.get("agency", "").strip()
    wanted = request.form.get("choice")
    if wanted not in drafts.CHOICES:
        return page_error(400)
    agency_error = None
    if offered is not None and agency not in {a.code for a in offered}:
        agency_error = _("Hãy chọn cơ quan tiếp nhận hồ sơ.")
    elif offered is None and not _AGENCY.match(agency):
        agency_error = _("Hãy nhập mã cơ quan tiếp nhận: chữ cái không dấu, chữ số, dấu "
                         "chấm, gạch ngang hoặc gạch dưới, tối đa 40 ký tự.")
    if agency_error is not None:
        return _start_page(compiled, offered, agency, choice, agency_error)
    moment = lifecycle.now()
    drafts.choose(g.db, citizen, form.id, form.version, wanted, moment)
    started = drafts.start_draft(g.db, citizen, form.id, form.version, agency, moment)
    if wanted == "use" and choice != "use" and started.data:
        # typed first, now "use my data": the registers fill what is still empty
        result = pf.prefill(form, citizen, current_runtime().sources(g.db),
                            answers=started.data)
        started.data = _merged(result.data, started.data)
    g.db.commit()
    return redirect(url_for("eform.fill", form_id=form.id, version=form.version))


def _yours() -> dict[str, str]:
    """Each relation a named person may have to the citizen, as "… của bạn" ends it
    (the relations of forms.registers.PERSONS), in the page's language."""
    return {
        "father": _("cha"), "mother": _("mẹ"), "parent": _("cha hoặc mẹ"),
        "spouse": _("vợ/chồng"), "child": _("con"), "household_head": _("chủ hộ"),
        "household_member": _("người cùng hộ"), "ward": _("người được giám hộ"),
        "guardian": _("người giám hộ"),
    }


def _start_page(compiled: CompiledForm, offered: list[Agency] | None, agency: str | None,
                previous: str | None, agency_error: str | None = None) -> Response:
    errors = [{"field": "agency", "message": agency_error}] if agency_error else []
    return render("eform/start.html", form=compiled.definition,
                  readings=drafts.readings(compiled.definition), persons=registers.PERSONS,
                  yours=_yours(),
                  agencies=offered, agency=agency, previous=previous, errors=errors,
                  agency_error=agency_error, error_count=len(errors))


@bp.route("/procedures/<form_id>/v<int:version>/form", methods=["GET", "POST"])
@sessions.signed_in("citizen")
def fill(form_id: str, version: int) -> Response:
    """The form: GET shows the draft (or the prefill), POST saves it and goes on."""
    filling = _filling(form_id, version)
    if isinstance(filling, Response):
        return filling
    if request.method == "GET":
        data = _shown(filling)
        restored = False
        stash = sessions.take_stash()
        if stash is not None:  # typed while the session expired: nothing is lost
            data = _parse(filling, stash).data
            _save(filling, data)
            restored = True
        looked_up = request.args.get("looked_up", "")
        return _form_page(filling, data, {}, restored=restored,
                          saved=bool(request.args.get("saved")),
                          disputed=request.args.get("disputed"),
                          looked_up=_lookup_result(filling, looked_up))
    before = copy.deepcopy(filling.draft.data or {})
    posted, upload_errors = _uploaded(filling)
    parsed = _parse(filling, posted)
    data = parsed.data
    asked = _look_up(filling, before, data, parsed.action)
    _save(filling, data)
    if upload_errors:  # the file is not kept, everything typed is: the field says why
        errors = dict(upload_errors)
        if parsed.action is None and request.form.get("action") != "save":
            errors = {**formfields.error_map(filling.form, _problems(filling, data), data),
                      **parsed.errors, **upload_errors}
        return _form_page(filling, data, errors)
    if parsed.action is not None:  # add or remove an item, refresh a list: already applied
        where = (url_for("eform.fill", form_id=form_id, version=version, looked_up=asked)
                 if asked else url_for("eform.fill", form_id=form_id, version=version))
        return redirect(where + (f"#{parsed.focus}" if parsed.focus else ""))
    if request.form.get("action") == "save":
        return redirect(url_for("eform.fill", form_id=form_id, version=version, saved=1))
    errors = {**formfields.error_map(filling.form, _problems(filling, data), data),
              **parsed.errors}
    if errors:
        return _form_page(filling, data, errors)
    return redirect(url_for("eform.check", form_id=form_id, version=version))


@bp.get("/procedures/<form_id>/v<int:version>/check")
@sessions.signed_in("citizen")
def check(form_id: str, version: int) -> Response:
    """Check your answers, then submit (or back to the form at the first problem)."""
    filling = _filling(form_id, version)
    if isinstance(filling, Response):
        return filling
    data = filling.draft.data
    if not data:  # nothing saved yet: the form first
        return redirect(url_for("eform.fill", form_id=form_id, version=version))
    errors = formfields.error_map(filling.form, _problems(filling, data), data)
    if errors:
        return _form_page(filling, data, errors)
    answers = formfields.answers(filling.form, data, filling.provenance,
                                 verified=filling.verified, documents=filling.documents,
                                 result_numbers=filling.result_numbers)
    pending = drafts.pending_disputes(g.db, filling.citizen, form_id, version)
    return render("eform/check.html", form=filling.form, answers=answers,
                  agency=agency_name(filling.draft.agency_code or ""),
                  agency_code=filling.draft.agency_code, choice=filling.choice,
                  key=filling.draft.idempotency_key, disputed=set(pending))


@bp.route("/procedures/<form_id>/v<int:version>/submit", methods=["GET", "POST"])
@sessions.signed_in("citizen")
def submit(form_id: str, version: int) -> Response:
    """File the dossier once: the draft's idempotency key makes a double click or a retry
    give back the same dossier. (A GET, after signing in again, goes back to the check.)"""
    if request.method == "GET":
        return redirect(url_for("eform.check", form_id=form_id, version=version))
    citizen = _citizen()
    compiled = _published(form_id, version)
    if compiled is None:
        return page_error(404)
    draft = drafts.draft_of(g.db, citizen, form_id, version)
    key = request.form.get("key", "")
    if draft is None or (key and key != draft.idempotency_key):
        # a retry after the dossier was filed (its draft is gone), or a check page of an
        # earlier filing: the dossier of that key, if any
        earlier = drafts.filed_with(g.db, citizen, key) if key else None
        if earlier is not None and (earlier.form_id, earlier.form_version) == (form_id, version):
            session[_JUST_FILED] = earlier.code
            return redirect(url_for("eform.confirmation", code=earlier.code))
        if draft is None:
            return redirect(url_for("eform.start", form_id=form_id))
    # the submission's own check reads the verified values: no prefill here
    filling = _filling(form_id, version, prefill=False)
    if isinstance(filling, Response):
        # the draft went while this request read it: a second click, whose twin filed it
        # meanwhile (its dossier is committed with the draft's removal)
        earlier = drafts.filed_with(g.db, citizen, draft.idempotency_key)
        if earlier is not None and (earlier.form_id, earlier.form_version) == (form_id, version):
            session[_JUST_FILED] = earlier.code
            return redirect(url_for("eform.confirmation", code=earlier.code))
        return filling
    person = sessions.current()
    assert person is not None
    rt = current_runtime()
    agency = filling.draft.agency_code or ""
    try:
        dossier, _created, _secret = lifecycle.submit(
            g.db, compiled, person.principal, normalise(filling.draft.data), agency,
            filling.draft.idempotency_key, rt.sources(g.db), rt.calendar_for(agency),
            rt.settings.default_processing_days, rt.secret_key, prefill_choice=filling.choice)
    except InvalidData as refused:
        g.db.rollback()
        filling = _filling(form_id, version)
        if isinstance(filling, Response):
            return filling
        errors = formfields.error_map(filling.form, refused.errors or [
            {"field": "/", "code": refused.code, "message": refused.message,
             "message_en": refused.message_en}], filling.draft.data)
        return _form_page(filling, filling.draft.data, errors)
    drafts.filed(g.db, citizen, form_id, version, dossier.id)
    g.db.commit()
    session[_JUST_FILED] = dossier.code
    return redirect(url_for("eform.confirmation", code=dossier.code))


@bp.get("/dossiers/<code>/confirmation")
@sessions.signed_in("citizen")
def confirmation(code: str) -> Response:
    """The dossier filed: its code, its dates and, on the page right after filing only, the
    receipt secret. The secret is never in the cookie or the URL: the session only marks the
    dossier just filed, and the secret is derived again from the dossier's idempotency key
    (as the API hands it out again on a retry)."""
    citizen = _citizen()
    dossier = queries.by_code(g.db, code)
    if dossier is None or dossier.citizen_id != citizen:
        return page_error(404)
    rt = current_runtime()
    secret = None
    if session.pop(_JUST_FILED, None) == code and dossier.idempotency_key:
        derived = lifecycle.receipt_secret(rt.secret_key, dossier.code, citizen,
                                           dossier.idempotency_key)
        secret = derived if lifecycle.receipt_matches(dossier, derived) else None
    calendar = rt.calendar_for(dossier.agency_code)
    result_by = dossier.process_deadline or calendar.add_working_days(
        dossier.accept_deadline, dossier.processing_days)
    return render("eform/confirmation.html", dossier=dossier, secret=secret,
                  agency=agency_name(dossier.agency_code), result_by=result_by,
                  my_dossiers=(url_for("space.dossiers")
                               if "space.dossiers" in current_app.view_functions else None))


@bp.route("/procedures/<form_id>/v<int:version>/dispute", methods=["GET", "POST"])
@sessions.signed_in("citizen")
def dispute(form_id: str, version: int) -> Response:
    """Báo sai thông tin: what the citizen says is wrong with a prefilled value."""
    filling = _filling(form_id, version)
    if isinstance(filling, Response):
        return filling
    # after signing in again, what was posted when the session expired comes back
    stashed = sessions.take_stash() if request.method == "GET" else None
    asked = request.form if request.method == "POST" else (stashed or request.args)
    pointer = asked.get("field", "")
    info = filling.provenance.get(pointer)
    if filling.result is None or info is None:
        return page_error(404)
    row = next((r for a in formfields.answers(
        filling.form, filling.result.data, filling.provenance, verified=filling.verified,
        documents=filling.documents, result_numbers=filling.result_numbers)
        for r in a.rows if r.pointer == pointer), None)
    earlier = drafts.pending_disputes(g.db, filling.citizen, form_id, version).get(pointer)
    error = None
    statement = earlier.statement if earlier is not None else ""
    if stashed is not None:
        statement = stashed.get("statement", statement)
    if request.method == "POST":
        statement = request.form.get("statement", "").strip()
        if not statement:
            error = _("Hãy cho biết thông tin nào sai và đúng ra là gì.")
        elif len(statement) > drafts.STATEMENT_MAX:
            error = _("Nội dung tối đa %(n)d ký tự.", n=drafts.STATEMENT_MAX)
        else:
            drafts.dispute(g.db, filling.citizen, form_id, version, pointer, info,
                           pointers.get(filling.result.data, pointer), normalise(statement),
                           lifecycle.now())
            g.db.commit()
            return redirect(url_for("eform.fill", form_id=form_id, version=version,
                                    disputed=pointer)
                            + (f"#{row.id}" if row is not None else ""))
    errors = [{"field": "statement", "message": error}] if error else []
    return render("eform/dispute.html", form=filling.form, pointer=pointer, row=row,
                  info=info, statement=statement, error=error, errors=errors,
                  error_count=len(errors), earlier=earlier)


# -- helpers ----------------------------------------------------------------------------------

def _citizen() -> str:
    person = sessions.current()
    assert person is not None and person.personal_id is not None  # @signed_in("citizen")
    return person.personal_id


def _published(form_id: str, version: int | str) -> CompiledForm | None:
    """A published form version, or None (unknown, a draft of a designer, or forged)."""
    try:
        number = int(version)
    except (TypeError, ValueError):
        return None
    if not 1 <= number <= 9999 or len(form_id) > 80:
        return None
    try:
        return catalogue.published_form(g.db, form_id, number)
    except NotFound:
        return None


def _latest(form_id: str) -> CompiledForm | None:
    if len(form_id) > 80:
        return None
    versions = catalogue.list_versions(g.db, form_id, include_drafts=False)
    return _published(form_id, versions[-1].version) if versions else None


def _agencies() -> list[Agency] | None:
    """The agencies a dossier may be filed with: those whose signing keys are configured
    (they can issue its result); None when no signing is configured (the code is typed)."""
    signing = current_runtime().signing
    if signing is None or not signing.config.agencies:
        return None
    return [Agency(code, key.name) for code, key in sorted(signing.config.agencies.items())]


def _filling(form_id: str, version: int, *, prefill: bool = True) -> Filling | Response:
    """The state of a form version being filled, or the answer when there is none: 404 for a
    version that is not published, back to the first step without a choice or a draft. The
    registers are read only when the citizen chose "use my data" (and ``prefill``)."""
    citizen = _citizen()
    compiled = _published(form_id, version)
    if compiled is None:
        return page_error(404)
    choice = drafts.choice_of(g.db, citizen, form_id, version)
    draft = drafts.draft_of(g.db, citizen, form_id, version)
    if choice is None or draft is None or not draft.agency_code:
        return redirect(url_for("eform.start", form_id=form_id))
    # the answers say whose records some sections read (a person named by a typed number or
    # chosen by an answer) and which record some fields read
    result = (pf.prefill(compiled.definition, citizen, current_runtime().sources(g.db),
                         answers=draft.data or None)
              if choice == "use" and prefill else None)
    documents: list[formfields.Document] = []
    numbers: dict[str, str] = {}
    if any(f.type == "attachment" for _, f in compiled.definition.leaves()) or (
            result is not None and any(str(p.get("provenance", "")).startswith("result:")
                                       for p in result.provenance.values())):
        person = sessions.current()
        assert person is not None
        rows, _total = repository.list_documents(
            g.db, repository.owners_of(g.db, person.principal), None, None, None, 1,
            _DOCUMENTS)
        for doc, _code in rows:
            documents.append(formfields.Document(
                doc.document_id, _document_label(doc), doc.file_name, doc.media_type))
            if doc.number:
                numbers[doc.document_id] = doc.number
        # what the citizen uploaded where nothing digital existed
        documents += [_upload_document(row) for row in uploads.of_owner(g.db, citizen,
                                                                           _DOCUMENTS)]
    return Filling(citizen, compiled, choice, draft, result, documents, numbers)


@bp.url_value_preprocessor
def _room_for_files(endpoint: str | None, values: dict[str, Any] | None) -> None:
    """The form's post may carry files (an attachment field's upload): its body may be as
    large as a form plus a file. Set here, before the CSRF check reads the body (a
    blueprint's URL value preprocessors run before every ``before_request``)."""
    if (endpoint == "eform.fill" and request.method == "POST"
            and request.mimetype == "multipart/form-data"):
        settings = current_runtime().settings
        request.max_content_length = settings.max_request_bytes + settings.max_upload_bytes


def _uploaded(filling: Filling) -> tuple[MultiDict[str, str], dict[str, str]]:
    """The post, with the files uploaded for attachment fields kept (``uploads.store``) and
    referenced in their field (a field of one file: the upload replaces the choice), and the
    problems of the files refused, by input id. The uploads join the citizen's documents."""
    posted: MultiDict[str, str] = MultiDict(request.form)
    errors: dict[str, str] = {}
    if not request.files:
        return posted, errors
    person = sessions.current()
    assert person is not None
    limit = current_runtime().settings.max_upload_bytes
    for name in request.files:
        found = formfields.upload_field(filling.form, name)
        if found is None or found[1] in filling.verified:
            continue
        f, pointer, fid = found
        for upload in request.files.getlist(name):
            data = upload.stream.read(limit + 1)
            if not data and not upload.filename:
                continue  # the input left empty
            chosen = [v for v in posted.getlist(pointer) if v.strip()]
            if f.max_files > 1 and len(chosen) >= f.max_files:
                errors.setdefault(fid, formfields.upload_message(f, "too_many", limit))
                continue
            try:
                row = uploads.store(g.db, person.principal, data, upload.filename,
                                    f.media_types or uploads.MEDIA_TYPES, limit,
                                    lifecycle.now(), field=pointer)
            except InvalidData as refused:
                errors.setdefault(fid, formfields.upload_message(f, refused.code, limit))
                continue
            log.info("attachment uploaded", extra={
                "form_id": filling.form.id, "media_type": row.media_type, "size": row.size})
            filling.documents.insert(0, _upload_document(row))
            posted.setlist(pointer, [*chosen, row.document_id] if f.max_files > 1
                           else [row.document_id])
    return posted, errors


def _upload_document(row: Any) -> formfields.Document:
    label = _("%(name)s, tải lên ngày %(day)s", name=row.file_name, day=day(row.created_at))
    return formfields.Document(row.document_id, label, row.file_name, row.media_type)


def _document_label(doc: Any) -> str:
    name = doc.file_name or _("Văn bản")
    parts = [name]
    if doc.number:
        parts.append(_("số %(number)s", number=doc.number))
    if doc.signed_at:
        parts.append(_("ký ngày %(day)s", day=day(doc.signed_at)))
    return ", ".join(parts)


def _shown(filling: Filling) -> Any:
    """What the form shows: the draft once the citizen has saved it (a suggested value they
    emptied stays empty), else the prefill; verified values always as the registers hold
    them now."""
    return shown_data(filling.draft.data, filling.result)


def shown_data(draft: Any, result: pf.PrefillResult | None) -> Any:
    """What a form shows from a draft's data (or, when there is none, the prefill) and the
    prefill: :func:`_shown`, also the designers' preview of a form for a demo citizen
    (service.web.pages.design)."""
    data = copy.deepcopy(draft) if draft else copy.deepcopy(result.data if result else {})
    if result is not None:
        for pointer, value in result.verified.items():
            _put(data, pointer, value)
    return data


def form_sections(form: Any, data: Any, result: pf.PrefillResult | None,
                  errors: dict[str, str], *, documents: list[formfields.Document] | None = None,
                  result_numbers: dict[str, str] | None = None,
                  looked_up: dict[str, str] | None = None) -> list[formfields.SectionView]:
    """The fields of the form as the citizen's page shows them (rendered by the macro
    ``fields`` of ``eform/_fields.html``): the e-form's page and the designers' preview
    (service.web.pages.design) build them here, so that the preview is what citizens see.
    With a prefill (the citizen uses their data), the fields naming whose records are read
    have their look-up button; ``looked_up`` is what the last look-up found."""
    return formfields.view(form, data, result.provenance if result else {}, errors,
                           verified=set(result.verified) if result else set(),
                           documents=documents or [], result_numbers=result_numbers or {},
                           upload_limit=current_runtime().settings.max_upload_bytes,
                           lookups=result is not None, looked_up=looked_up)


def _look_up(filling: Filling, before: Any, data: dict[str, Any],
             action: str | None) -> str | None:
    """Prefill again with the answers when one that says whose (or which) records are read
    changed, or its look-up button was pressed (``refresh:<pointer>``): the values of that
    person's section (or of the fields whose record the answer picks) are the registers'
    now; values an earlier look-up filled and the registers no longer give are removed,
    what the citizen typed stays. Returns the pointer looked up by its button."""
    if filling.result is None:
        return None
    form = filling.form
    triggers = formfields.lookup_triggers(form)
    changed: list[str] = []
    for ids in triggers:
        for ptr, value in pointers.each(data, ids):
            if pointers.get(before, ptr) != value:
                changed.append(ptr)
        for ptr, _value in pointers.each(before, ids):
            if pointers.get(data, ptr) is None and ptr not in changed:
                changed.append(ptr)
    asked = None
    if action is not None and action.startswith("refresh:"):
        ptr = action.partition(":")[2]
        tokens = pointers.parse(ptr)
        if tuple(t for t in tokens if not t.isdigit()) in triggers:
            asked = ptr
            if ptr not in changed:
                changed.append(ptr)
    if not changed:
        return asked
    old = filling.result
    new = pf.prefill(form, filling.citizen, current_runtime().sources(g.db), answers=data)
    for ptr in changed:
        for scope in _lookup_scopes(form, ptr):
            for p in sorted(set(old.provenance) | set(new.provenance)):
                if p == ptr or not (p == scope or p.startswith(scope + "/")):
                    continue
                if p in new.provenance:
                    _put(data, p, copy.deepcopy(pointers.get(new.data, p)))
                elif pointers.get(data, p) == pointers.get(old.data, p):
                    _remove(data, p)
    filling.result = new
    return asked


def _lookup_scopes(form: Any, trigger: str) -> list[str]:
    """The pointers whose values a look-up of the answer at ``trigger`` may change."""
    tokens = tuple(pointers.parse(trigger))
    ids = tuple(t for t in tokens if not t.isdigit())
    return [pointers.join(conditions.concrete(path, tokens))
            for path in formfields.lookup_scope(form, ids)]


def _lookup_result(filling: Filling, trigger: str) -> dict[str, str]:
    """What the look-up of ``trigger`` found: "found" when the registers filled anything of
    its person (or its fields), else "none", never more (who the person is, whether they
    exist: nothing is said)."""
    if filling.result is None or not trigger.startswith("/"):
        return {}
    try:
        tokens = pointers.parse(trigger)
    except ValueError:
        return {}
    if tuple(t for t in tokens if not t.isdigit()) not in formfields.lookup_triggers(
            filling.form):
        return {}
    scopes = _lookup_scopes(filling.form, trigger)
    found = any(p != trigger and (p == s or p.startswith(s + "/"))
                for p in filling.result.provenance for s in scopes)
    return {trigger: "found" if found else "none"}


def _remove(data: Any, pointer: str) -> None:
    tokens = pointers.parse(pointer)
    parent = pointers.walk(data, tokens[:-1])
    if isinstance(parent, dict):
        parent.pop(tokens[-1], None)


def _merged(base: Any, draft: Any) -> Any:
    """The prefill under the draft: what the citizen saved wins; a section or group of the
    draft is merged into the prefill's, a list (a repeated group) is the draft's."""
    if isinstance(base, dict) and isinstance(draft, dict):
        out = dict(base)
        for key, value in draft.items():
            out[key] = _merged(base.get(key), value)
        return out
    return draft if draft is not None else base


def _put(data: dict[str, Any], pointer: str, value: Any) -> None:
    """Set the value at ``pointer``, making the objects and items on the way."""
    tokens = pointers.parse(pointer)
    node: Any = data
    for token, following in zip(tokens, tokens[1:], strict=False):
        if isinstance(node, list):
            index = int(token)
            while len(node) <= index:
                node.append({})
            node = node[index]
        else:
            if not isinstance(node.get(token), (dict, list)):
                node[token] = [] if following.isdigit() else {}
            node = node[token]
    if isinstance(node, list):
        while len(node) <= int(tokens[-1]):
            node.append({})
        node[int(tokens[-1])] = value
    else:
        node[tokens[-1]] = value


def _parse(filling: Filling, posted: MultiDict[str, str]) -> formfields.Parsed:
    parsed = formfields.parse(filling.form, posted, filling.base, verified=filling.verified,
                              documents=filling.documents)
    if parsed.unknown:  # a forged post: never stored (the names are not logged)
        log.warning("e-form post with fields not in the form", extra={
            "form_id": filling.form.id, "version": filling.form.version,
            "unknown_fields": len(parsed.unknown)})
    return parsed._replace(data=normalise(parsed.data))


def _save(filling: Filling, data: Any) -> None:
    drafts.save_draft(g.db, filling.citizen, filling.form.id, filling.form.version, data,
                      lifecycle.now())
    g.db.commit()


def _problems(filling: Filling, data: Any) -> list[dict[str, str]]:
    """The API's check of the data: the same answer as ``POST …/validate`` and filing."""
    return lifecycle.check(g.db, filling.compiled, data, filling.citizen,
                           current_runtime().sources(g.db), prefilled=filling.result)


def _form_page(filling: Filling, data: Any, errors: dict[str, str], *, restored: bool = False,
               saved: bool = False, disputed: str | None = None,
               looked_up: dict[str, str] | None = None) -> Response:
    sections = form_sections(filling.form, data, filling.result, errors,
                             documents=filling.documents, result_numbers=filling.result_numbers,
                             looked_up=looked_up)
    summary = formfields.summary(errors, sections)
    pending = drafts.pending_disputes(g.db, filling.citizen, filling.form.id,
                                      filling.form.version)
    labels = {}
    if pending:
        for a in formfields.answers(filling.form, filling.base, filling.provenance,
                                    verified=filling.verified, documents=filling.documents,
                                    result_numbers=filling.result_numbers):
            for r in a.rows:
                if r.pointer in pending:
                    labels[r.pointer] = (r.label, r.id)
    return render("eform/fill.html", form=filling.form, sections=sections, summary=summary,
                  error_count=len(summary), choice=filling.choice, restored=restored,
                  saved=saved, disputed=disputed if disputed in pending else None,
                  pending=labels, failed_sources=(filling.result.failed_sources
                                                  if filling.result else []),
                  agency=agency_name(filling.draft.agency_code or ""),
                  updated_at=filling.draft.updated_at,
                  has_attachment=any(f.type == "attachment" for _, f in filling.form.leaves()))
