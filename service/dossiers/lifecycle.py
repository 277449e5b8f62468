"""Dossiers: intake, the status machine, deadlines, lateness and the event log.

An online dossier must be checked and accepted within 8 working hours of submission and
processed within the procedure's time (Decree 61/2018); time spent waiting for the citizen's
supplement does not count. Lateness (service.dossiers.lateness) is computed from the deadlines
whenever it is asked for, never by a nightly job that could be missed, and each write records
what it found. Every status change is one transition of the machine below, recorded with who,
when and why, and appended to the ordered event log that the national portal reads.

The time comes from ``now()``, which reads ``clock``: the system's, unless a test sets
another to move through deadlines without rewriting the database.

Every change of a dossier is one conditional UPDATE on the version the caller's decision was
based on (``_write``): the database, not Python, decides which of several concurrent changes
wins, so of conflicting changes sent at the same moment exactly one is applied and the others
are refused with VersionMismatch (or Conflict when the caller named no version).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any, cast

from sqlalchemy import CursorResult, Row, Table, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from forms.compiled import CompiledForm, canonical_json
from service.dossiers import basis, counts, lateness, names
from service.dossiers.states import FINISHED, STATES, TRANSITIONS, Transition
from service.errors import Conflict, DomainError, InvalidData, NotAllowed, VersionMismatch
from service.records import prefill as pf
from service.records import submissions
from service.repository import documents as repository
from service.tokens import Principal
from service.worktime import VIETNAM, WorkCalendar
from storage import records as store
from storage.models import Dossier, DossierEvent

ACCEPT_WITHIN_HOURS = 8
EVENTS = "dossier_events"  # the counter of event positions; always taken last

def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def system_clock() -> datetime:
    return datetime.now(UTC)


#: where dossiers read the time (an aware datetime); tests replace it to drive deadlines
clock: Callable[[], datetime] = system_clock


def now() -> datetime:
    return clock()


# -- intake -----------------------------------------------------------------------------------

def check(session: Session, compiled: CompiledForm, data: Any, declarant: str,
          sources: pf.Sources, prefilled: pf.PrefillResult | None = None,
          ) -> list[dict[str, str]]:
    """The submission check: every problem of the data, at once (control characters, the
    schema, the form's rules across fields, verified values, and attachments that name a
    document the declarant's repository does not hold). The one check behind
    ``POST …/validate``, filing a dossier and a supplement, so that the same data gets the
    same answer from each. The data is checked as intake stores it
    (``submissions.prepared``: hidden means absent, computed text the service's).
    ``prefilled`` is the declarant's prefill when the caller already has it (validation needs
    it for the typed people's checks); otherwise only the verified fields are looked up, for
    the people and records the answers name."""
    return _check(session, compiled, submissions.prepared(compiled.definition, data),
                  declarant, sources, prefilled)


def _check(session: Session, compiled: CompiledForm, data: Any, declarant: str,
           sources: pf.Sources, prefilled: pf.PrefillResult | None = None,
           ) -> list[dict[str, str]]:
    """:func:`check` of data already prepared."""
    result = prefilled if prefilled is not None else _verified_prefill(
        compiled, data, declarant, sources)
    errors = submissions.data_errors(compiled, data, result)
    # every problem at once, the repository's too; not the items of a repeated group longer
    # than the form allows, which is refused before its items are looked at
    if not any(e["code"] == "too_many" for e in errors):
        errors += repository.attachment_errors(session, compiled.definition, data, declarant)
    return errors


def refuse(errors: list[dict[str, str]]) -> DomainError:
    return InvalidData("invalid_submission",
                       f"Tờ khai có {len(errors)} lỗi; hãy sửa rồi nộp lại.",
                       f"The form data has {len(errors)} problem(s).",
                       field=errors[0]["field"] if len(errors) == 1 else None, errors=errors)


def receipt_secret(installation_key: str, code: str, citizen: str, idempotency_key: str) -> str:
    """The receipt secret of a dossier filed with an Idempotency-Key: derived (HMAC-SHA256
    under the installation's secret key) from the dossier's code, its citizen and the key, so
    that a retry of the same request can hand it out again although only its hash is stored.
    Without the installation key it is as unguessable as a random one (96 bits)."""
    message = "\x00".join(("tokhai-receipt-secret", code, citizen, idempotency_key)).encode()
    digest = hmac.new(installation_key.encode(), message, hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest[:12]).decode()


def _replay(earlier: Dossier, request_hash: str | None, installation_key: str,
            ) -> tuple[Dossier, bool, str | None]:
    """A retry: the first dossier and its receipt secret again (when the secret is the derived
    one, i.e. its hash still matches: not if the installation key has changed since), or a
    refusal when the same key came with another body."""
    if earlier.request_hash != request_hash:
        raise InvalidData("idempotency_key_reused",
                          "Khóa Idempotency-Key đã dùng cho một hồ sơ khác nội dung.",
                          "This Idempotency-Key was used with a different request.",
                          field="header.Idempotency-Key")
    assert earlier.idempotency_key is not None
    secret = receipt_secret(installation_key, earlier.code, earlier.citizen_id,
                            earlier.idempotency_key)
    return earlier, False, secret if receipt_matches(earlier, secret) else None


def _verified_prefill(compiled: CompiledForm, data: Any, declarant: str,
                      sources: pf.Sources) -> pf.PrefillResult:
    """The check's prefill (only the verified fields), read with the answers filed."""
    return pf.prefill(compiled.definition, declarant, sources,
                      answers=data if isinstance(data, dict) else None, verified_only=True)


def _basis(compiled: CompiledForm, data: Any, declarant: str, sources: pf.Sources,
           checked: pf.PrefillResult, prefill_choice: str | None) -> list[dict[str, Any]]:
    """On what basis the records of people other than the declarant were read for these
    answers (``service.dossiers.basis``), recomputed here from the data filed, never taken
    from the client. Only a form with a person named or chosen by an answer can have any
    (other forms cost nothing more); its records are read as prefill reads them (all its
    fields), unless the citizen chose to type everything: then only the verified fields the
    check read."""
    form = compiled.definition
    if not basis.has_people_by_answer(form):
        return []
    read = checked if prefill_choice == "type" else pf.prefill(
        form, declarant, sources, answers=data if isinstance(data, dict) else None)
    return basis.recorded(form, read)


def submit(session: Session, compiled: CompiledForm, principal: Principal, data: Any,
           agency_code: str, idempotency_key: str | None, sources: pf.Sources,
           calendar: WorkCalendar, default_processing_days: int, installation_key: str,
           prefill_choice: str | None = None) -> tuple[Dossier, bool, str | None]:
    """File a dossier. Returns it, whether it was created now, and the receipt secret (only
    its hash is kept). A retry with the same Idempotency-Key and body returns the first
    dossier and the same secret (see ``receipt_secret``), also when the two requests arrive at
    the same moment; with another body it is refused (InvalidData). ``prefill_choice``: the
    citizen's answer to "use my data" in the pages (``use`` or ``type``), kept with it."""
    citizen = principal.personal_id
    assert citizen is not None
    request_hash = None
    if idempotency_key is not None:
        request_hash = _sha256(canonical_json({"form": [compiled.definition.id,
                                                        compiled.definition.version],
                                               "agency": agency_code, "data": data}))
        earlier = session.scalar(select(Dossier).where(
            Dossier.citizen_id == citizen, Dossier.idempotency_key == idempotency_key))
        if earlier is not None:
            return _replay(earlier, request_hash, installation_key)
    # what is stored is what was checked: hidden values removed, computed text made
    data = submissions.prepared(compiled.definition, data)
    checked = _verified_prefill(compiled, data, citizen, sources)
    errors = _check(session, compiled, data, citizen, sources, checked)
    if errors:
        raise refuse(errors)
    prefill_basis = _basis(compiled, data, citizen, sources, checked, prefill_choice)
    submitted_at = now()
    day = submitted_at.astimezone(VIETNAM).strftime("%y%m%d")
    counter = f"dossier:{agency_code}:{day}"
    numbers = store.next_values(session, [counter, EVENTS])
    code = f"{agency_code}-{day}-{numbers[counter]:04d}"
    secret = (secrets.token_urlsafe(12) if idempotency_key is None
              else receipt_secret(installation_key, code, citizen, idempotency_key))
    accept_deadline = calendar.add_working_hours(submitted_at, ACCEPT_WITHIN_HOURS)
    definition = compiled.definition
    values = {
        "code": code, "agency_code": agency_code,
        "form_id": definition.id, "form_version": definition.version,
        "procedure_code": definition.procedure_code,
        "procedure_name": (definition.procedure_name or definition.title)[:300],
        "channel": "online", "citizen_id": citizen, "prefill_choice": prefill_choice,
        "prefill_basis": prefill_basis,
        **names.columns(definition, data, citizen),  # found by name in the officers' queue
        "data": data, "status": "submitted", "row_version": 1,
        "receipt_secret_hash": _sha256(secret), "idempotency_key": idempotency_key,
        "request_hash": request_hash,
        "processing_days": (compiled.definition.processing_days
                            if compiled.definition.processing_days is not None
                            else default_processing_days),
        # acceptance is the one deadline running (lateness.recorded would say the same)
        "submitted_at": submitted_at, "accept_deadline": accept_deadline,
        "due_at": accept_deadline, "updated_at": submitted_at,
    }
    # plain inserts, not the ORM's unit of work: this is the hot path of intake
    try:
        dossier_id = session.execute(_INSERT_DOSSIER, values).scalar_one()
    except IntegrityError:  # the same Idempotency-Key, committed by a concurrent request
        session.rollback()  # gives the numbers back
        earlier = session.scalar(select(Dossier).where(
            Dossier.citizen_id == citizen, Dossier.idempotency_key == idempotency_key))
        if earlier is None:
            raise
        return _replay(earlier, request_hash, installation_key)
    dossier = Dossier(id=dossier_id, **values)
    session.execute(insert(_EVENT_TABLE), _event_values(
        dossier, None, "submit", principal, None, submitted_at, numbers[EVENTS]))
    counts.moved(session, agency_code, None, "submitted")
    return dossier, True, secret


# declarative mapping types ``__table__`` as any FromClause; the models' are Tables
_DOSSIER_TABLE = cast(Table, Dossier.__table__)
_EVENT_TABLE = cast(Table, DossierEvent.__table__)
_INSERT_DOSSIER = insert(_DOSSIER_TABLE).returning(_DOSSIER_TABLE.c.id)


# -- transitions ------------------------------------------------------------------------------

def check_transition(dossier: Dossier, action: str, principal: Principal, reason: str | None,
                     expected_version: int | None) -> Transition:
    """Refuse a transition that may not happen now: NotAllowed for the wrong role,
    VersionMismatch when the caller saw an older version, Conflict when the current state does
    not allow it (or a late dossier has no explanation yet), InvalidData when a reason is
    missing."""
    transition = TRANSITIONS[action]
    if transition.role != principal.role:
        raise NotAllowed("forbidden", "Vai trò này không thực hiện được thao tác này.",
                         f"Only a {transition.role} may {action}.")
    _check_version(dossier, expected_version)
    if dossier.status not in transition.sources:
        raise Conflict("transition_not_allowed",
                       f"Không thể '{action}' hồ sơ đang ở trạng thái "
                       f"'{STATES[dossier.status]}'.",
                       f"'{action}' is not allowed from status '{dossier.status}'.")
    if transition.needs_reason and not (reason and reason.strip()):
        raise InvalidData("reason_required", "Cần ghi rõ lý do.", "A reason is required.",
                          field="reason")
    if principal.role == "officer" and lateness.assess(dossier, now()).explanation_required:
        if dossier.late_explanation:
            raise Conflict("explanation_required",
                           "Hồ sơ đã quá ngày hẹn trả trong thư xin lỗi: cần giải trình và "
                           "gửi thư xin lỗi mới trước.",
                           "The dossier missed the date its apology promised: record a new "
                           "explanation first.")
        raise Conflict("explanation_required",
                       "Hồ sơ đã quá hạn: cần ghi giải trình và gửi thư xin lỗi trước.",
                       "The dossier is late: record an explanation first.")
    return transition


def _check_version(dossier: Dossier, expected_version: int | None) -> None:
    if expected_version is not None and expected_version != dossier.row_version:
        raise _changed(expected_version)


def _changed(expected_version: int | None) -> DomainError:
    if expected_version is None:  # the caller named no version: the state it acted on moved
        return Conflict("concurrent_change",
                        "Hồ sơ vừa được người khác cập nhật; hãy tải lại rồi thực hiện lại.",
                        "The dossier changed meanwhile; reload and retry.")
    return VersionMismatch("stale_version",
                           "Hồ sơ đã được người khác cập nhật; hãy tải lại rồi thực hiện lại.",
                           "The dossier changed since you read it; reload and retry.",
                           field="header.If-Match")


class _After:
    """The dossier as ``changes`` will leave it (for what lateness records)."""

    def __init__(self, dossier: Dossier, changes: dict[str, Any]) -> None:
        self._dossier, self._changes = dossier, changes

    def __getattr__(self, name: str) -> Any:
        if name in self._changes:
            return self._changes[name]
        return getattr(self._dossier, name)


def _write(session: Session, dossier: Dossier, changes: dict[str, Any],
           expected_version: int | None) -> None:
    """Apply ``changes`` (with ``updated_at``, the moment of the change) to the dossier's row
    only if the row is still the version that was read (and checked): one conditional UPDATE
    that also moves the version on and records the dossier's lateness as the change leaves it
    (``lateness.recorded``: the deadline running now, the first one missed). When a
    concurrent change got there first nothing is written and the caller is refused
    (VersionMismatch, or Conflict without If-Match). On PostgreSQL the loser waits for the
    winner's row lock and then finds the version moved; on SQLite writers take turns (the
    busy timeout of storage.db)."""
    after = cast(lateness.Facts, _After(dossier, changes))
    changes = {**changes, **lateness.recorded(after, changes["updated_at"]),
               "row_version": dossier.row_version + 1}
    table = _DOSSIER_TABLE
    # an UPDATE's result is a cursor's, which counts the rows it matched
    done = cast("CursorResult[Any]", session.execute(update(table).where(
        table.c.id == dossier.id, table.c.row_version == dossier.row_version,
        table.c.status == dossier.status).values(**changes)))
    if done.rowcount != 1:
        raise _changed(expected_version)
    for name, value in changes.items():  # what the row now holds, without a second UPDATE
        set_committed_value(dossier, name, value)


def move(session: Session, dossier: Dossier, action: str, principal: Principal,
         reason: str | None, expected_version: int | None, calendar: WorkCalendar,
         ) -> tuple[str, datetime]:
    """Check a transition and write it (see ``check_transition`` and ``_write``); the event
    is appended by the caller (``record_event``), last in its transaction. Returns the
    previous status and the moment of the change."""
    transition = check_transition(dossier, action, principal, reason, expected_version)
    moment = now()
    previous = dossier.status
    changes: dict[str, Any] = {"status": transition.target, "updated_at": moment}
    if action == "accept":
        changes["accepted_at"] = moment
        changes["process_deadline"] = calendar.add_working_days(moment,
                                                                dossier.processing_days)
    if transition.target in FINISHED and dossier.finished_at is None:
        changes["finished_at"] = moment  # the result (or the end): delivery comes after
    if transition.target == lateness.WAITING:  # the clocks stop until the supplement
        changes["paused_at"] = moment
        changes["paused_from"] = previous
    _write(session, dossier, changes, expected_version)
    return previous, moment


def act(session: Session, dossier: Dossier, action: str, principal: Principal,
        reason: str | None, expected_version: int | None, calendar: WorkCalendar) -> Dossier:
    """Apply one transition and log it, or refuse it (see ``move``)."""
    previous, moment = move(session, dossier, action, principal, reason, expected_version,
                            calendar)
    record_event(session, dossier, previous, action, principal, reason, moment)
    return dossier


def supplement(session: Session, dossier: Dossier, compiled: CompiledForm,
               principal: Principal, data: Any, sources: pf.Sources,
               calendar: WorkCalendar, expected_version: int | None = None) -> Dossier:
    """The citizen's corrected data after a supplement request: checked again, and the
    dossier goes back to where it was (waiting to be accepted, accepted, in processing), its
    deadlines still ahead moved later by the working time it waited for the citizen
    (``lateness.resumed``)."""
    _check_version(dossier, expected_version)
    if dossier.status != "supplement_requested":
        raise Conflict("transition_not_allowed",
                       "Hồ sơ không ở trạng thái yêu cầu bổ sung.",
                       "The dossier is not waiting for a supplement.")
    data = submissions.prepared(compiled.definition, data)
    citizen = principal.personal_id or ""
    checked = _verified_prefill(compiled, data, citizen, sources)
    errors = _check(session, compiled, data, citizen, sources, checked)
    if errors:
        raise refuse(errors)
    moment = now()
    back_to = dossier.paused_from or "submitted"
    _write(session, dossier, {
        "data": data, "status": back_to, "paused_at": None, "paused_from": None,
        # the corrected answers may name someone else: the basis is theirs now
        "prefill_basis": _basis(compiled, data, citizen, sources, checked,
                                dossier.prefill_choice),
        "updated_at": moment, **lateness.resumed(dossier, moment, calendar, back_to),
    }, expected_version)
    record_event(session, dossier, lateness.WAITING, "supplement", principal, None, moment)
    return dossier


#: how far ahead an explanation may promise the result (docs/dossiers.md)
PROMISE_WITHIN = timedelta(days=365)


def explain(session: Session, dossier: Dossier, principal: Principal, reason: str,
            promised_at: datetime, calendar: WorkCalendar,
            expected_version: int | None = None) -> datetime:
    """Record why a late dossier is late and the new promised date; returns the moment. The
    caller issues the apology letter in the same transaction, then appends the ``explain``
    event last (``record_event``), as for a transition. A promised date already missed is
    kept as such (``broken_promise_at``): the dossier was late at it.

    Only when an explanation is owed (``lateness.explanation_required``: late and not yet
    explained, or past the date the last apology promised); the promised date is in the
    future, within :data:`PROMISE_WITHIN`, on a working day of the agency's ``calendar``."""
    _check_version(dossier, expected_version)
    moment = now()
    found = lateness.assess(dossier, moment)
    if not found.late:
        raise Conflict("not_late", "Hồ sơ chưa quá hạn.", "The dossier is not late.")
    if not found.explanation_required:
        raise Conflict("explanation_not_required",
                       "Hồ sơ đã được giải trình; chỉ cần giải trình lại khi hồ sơ quá ngày "
                       "hẹn trả mới đã ghi trong thư xin lỗi.",
                       "The dossier has been explained already; a new explanation is due only "
                       "when it misses the date its apology promised.")
    if not reason.strip():
        raise InvalidData("reason_required", "Cần ghi rõ lý do chậm.",
                          "An explanation is required.", field="reason")
    if promised_at <= moment:
        raise InvalidData("promised_date_past", "Ngày hẹn mới phải ở tương lai.",
                          "The new promised date must be in the future.", field="promised_at")
    if promised_at > moment + PROMISE_WITHIN:
        raise InvalidData("promised_date_too_far",
                          f"Ngày hẹn mới không được quá {PROMISE_WITHIN.days} ngày kể từ hôm "
                          "nay.",
                          f"The new promised date must be within {PROMISE_WITHIN.days} days "
                          "from now.", field="promised_at")
    if not calendar.is_working_day(promised_at.astimezone(VIETNAM).date()):
        raise InvalidData("promised_date_not_working_day",
                          "Ngày hẹn mới phải là ngày làm việc của cơ quan (không phải ngày "
                          "nghỉ cuối tuần hay ngày lễ).",
                          "The new promised date must be a working day of the agency (not a "
                          "weekend day or a public holiday).", field="promised_at")
    changes: dict[str, Any] = {
        "late_explanation": reason.strip(), "late_explained_by": principal.actor,
        "late_explained_at": moment, "promised_at": promised_at, "updated_at": moment,
    }
    broken = dossier.promised_at
    if broken is not None and dossier.broken_promise_at is None \
            and lateness.Missed(lateness.PROMISE, broken) in found.missed:
        changes["broken_promise_at"] = broken
    _write(session, dossier, changes, expected_version)
    return moment


def _event_values(dossier: Dossier, previous: str | None, action: str, principal: Principal,
                  reason: str | None, at: datetime, position: int) -> dict[str, Any]:
    return {"position": position, "event_id": str(uuid.uuid4()), "dossier_id": dossier.id,
            "dossier_code": dossier.code, "agency_code": dossier.agency_code,
            "from_status": previous, "to_status": dossier.status, "action": action,
            "actor": principal.actor, "role": principal.role, "reason": reason, "at": at,
            "procedure_code": dossier.procedure_code, "procedure_name": dossier.procedure_name,
            "channel": dossier.channel, "submitted_at": dossier.submitted_at,
            "accept_by": dossier.accept_deadline, "process_by": dossier.process_deadline,
            "promised_at": dossier.promised_at}


def record_event(session: Session, dossier: Dossier, previous: str | None, action: str,
                 principal: Principal, reason: str | None, at: datetime) -> None:
    """Append to the event log. The position is taken last in the transaction, so the
    counter row is locked only briefly."""
    session.flush()
    session.add(DossierEvent(**_event_values(dossier, previous, action, principal, reason, at,
                                             store.next_value(session, EVENTS))))
    # the queue's counts: after the event counter, which every status change takes first
    counts.moved(session, dossier.agency_code, previous, dossier.status)


def receipt_matches(dossier: Dossier, secret: str) -> bool:
    return secrets.compare_digest(dossier.receipt_secret_hash, _sha256(secret))


#: compared with when a receipt's code is unknown, so that both cases do the same work
_NO_RECEIPT = _sha256("tokhai: no dossier has this code")


#: what a receipt shows: code, status, the deadlines to accept and to process, the promised
#: time, and the receipt secret's hash
ReceiptRow = Row[str, str, datetime, datetime | None, datetime | None, str]


def receipt(session: Session, code: str, secret: str) -> ReceiptRow | None:
    """A dossier's public status for whoever holds its receipt, or None. Known and unknown
    codes cost the same: one indexed read of the same few columns (never the form data), one
    hash of the secret and one constant-time comparison."""
    row = session.execute(select(
        Dossier.code, Dossier.status, Dossier.accept_deadline, Dossier.process_deadline,
        Dossier.promised_at, Dossier.receipt_secret_hash).where(Dossier.code == code)).first()
    stored = row.receipt_secret_hash if row is not None else _NO_RECEIPT
    matches = secrets.compare_digest(stored, _sha256(secret))
    return row if matches and row is not None else None
