"""Issuing signed results and letters.

Issuing a result takes a dossier "in processing" to "result ready": the data is printed on
the procedure's result template with a document number, signed with the agency's key,
recorded (id, sha256, signer, level, times) and the transition logged. Rendering and the
time-stamping authority's round trip happen between two short transactions, with no lock held
(see ``issue_result``): other dossiers' writes, and the agency's other issuances, never wait
for a signature. If signing fails (the time-stamping authority is down, say) nothing is
recorded, the number is given back and the dossier stays as it was. Issuing again returns the
document issued the first time.
"""

from __future__ import annotations

import hashlib
import io
import logging
import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.general import SigningError
from sqlalchemy import select
from sqlalchemy.orm import Session

from forms import codelists, units
from forms.model import Field, FormDefinition
from forms.results import (
    RESULT_RECORDS,
    Found,
    ResultRecord,
    ResultTemplate,
    Value,
    find_values,
    template_for,
)
from service.dossiers import lifecycle as dossiers
from service.errors import Conflict, DomainError, Unavailable, VersionMismatch
from service.pki.config import AgencyKey
from service.pki.signer import AgencySigner, SignedPdf, Signing
from service.pki.timestamps import TimestampUnavailable
from service.pki.validation import Original
from service.repository import documents as repository
from service.results import letters, rendering
from service.tokens import Principal
from service.worktime import VIETNAM, WorkCalendar
from storage import records as store
from storage.documents import DOCUMENT_ID
from storage.models import Dossier, DossierDocument

log = logging.getLogger("tokhai")

# -- values on paper --------------------------------------------------------------------------


def _address(value: dict[str, Any]) -> str:
    province = units.name(str(value.get("province")))
    commune = units.name(str(value.get("commune")))
    return ", ".join(p for p in (value.get("detail"), commune, province) if p)


def _money(value: Any) -> str:
    try:
        amount = int(value)
    except (TypeError, ValueError):
        return str(value)
    return f"{amount:,}".replace(",", ".") + " đồng"


def paper_text(value: Any, field: Field | None, definition: FormDefinition | None,
               kind: str | None = None) -> str:
    """A value as printed: dd/mm/yyyy dates, code labels, addresses in words, amounts in
    đồng. ``kind`` is a register's value kind (``choice:sex``, ``address``…) for a value read
    from a register rather than a form's field."""
    if value is None or value == "":
        return "…"
    if isinstance(value, bool):
        return "Có" if value else "Không"
    if isinstance(value, list):
        return "; ".join(paper_text(v, field, definition, kind) for v in value)
    if isinstance(value, dict):
        if {"province", "commune"} & set(value):
            return _address(value)
        return "; ".join(f"{k}: {paper_text(v, None, definition)}" for k, v in value.items())
    codes_name = field.codes if field is not None else (
        kind.split(":", 1)[1] if kind and kind.startswith("choice:") else None)
    if codes_name:
        codes = codelists.lookup(codes_name, definition.code_lists if definition else None)
        label = {c.code: c.label for c in codes}.get(str(value))
        if label:
            return label
    if (field is not None and field.type == "money") or kind == "money":
        return _money(value)
    if isinstance(value, str) and len(value) in (4, 7, 10) and value[:4].isdigit():
        parts = value.split("-")
        if len(parts) == 3 and all(p.isdigit() for p in parts):
            try:
                return date.fromisoformat(value).strftime("%d/%m/%Y")
            except ValueError:
                return value
        if len(parts) == 2 and all(p.isdigit() for p in parts):
            return f"{parts[1]}/{parts[0]}"
    return str(value)


@dataclass(frozen=True)
class ResultValues:
    """A template's values for one dossier: as printed and as data, by key; the printed
    rows (label, text) in the template's order; the required values not found."""

    printed: dict[str, str]
    structured: dict[str, Any]
    rows: list[tuple[str, str]]
    missing: list[Value]


#: an ISO date as the forms keep them, of which a ``year_only`` value prints the year
_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}\Z")


def result_values(template: ResultTemplate, definition: FormDefinition | None,
                  data: dict[str, Any],
                  record: Callable[[str], dict[str, Any] | None] | None = None,
                  ) -> ResultValues:
    """The template's named values for a dossier (forms.results: from its data, or from a
    register's ``record`` about its citizen), printed and structured."""
    found, missing = find_values(template, data, definition, record)
    printed: dict[str, str] = {}
    structured: dict[str, Any] = {}
    rows: list[tuple[str, str]] = []
    for value in template.values:
        hit: Found | None = found.get(value.key)
        if hit is None:
            continue
        if value.year_only and isinstance(hit.value, str) and _ISO_DATE.match(hit.value):
            printed[value.key] = text = hit.value[:4]
            structured[value.key] = int(hit.value[:4])
        else:
            text = paper_text(hit.value, hit.field, definition, hit.register_kind)
            printed[value.key] = text
            structured[value.key] = hit.value
        rows.append((value.label, text))
    return ResultValues(printed, structured, rows, missing)


def result_rows(template: ResultTemplate, definition: FormDefinition | None,
                data: dict[str, Any]) -> tuple[list[tuple[str, str]], dict[str, Any]]:
    """The printed rows and the structured data of a result, from the dossier's data
    alone."""
    values = result_values(template, definition, data)
    return values.rows, values.structured


def register_records(session: Session, subject: str) -> Callable[[str], dict[str, Any] | None]:
    """The registers' records about ``subject`` kept in tokhai's database, one query per
    register asked for."""
    cache: dict[str, dict[str, Any] | None] = {}

    def record(register: str) -> dict[str, Any] | None:
        if register not in cache:
            row = store.fetch(session, register, [subject]).get(subject)
            cache[register] = dict(row.data) if row is not None else None
        return cache[register]

    return record


def missing_values(template: ResultTemplate, missing: list[Value],
                   dossier_code: str) -> Conflict:
    """The refusal of a result whose required values the dossier does not hold."""
    names = ", ".join(f"'{v.key}' ({v.label})" for v in missing)
    return Conflict(
        "result_value_missing",
        f"Hồ sơ {dossier_code} thiếu thông tin bắt buộc của {template.title.lower()}: "
        f"{', '.join(v.label for v in missing)}; chưa thể phát hành kết quả. Hồ sơ giữ nguyên "
        "trạng thái.",
        f"The dossier lacks what the {template.code} result must print: {names}. Nothing "
        "was issued; the dossier is unchanged.",
        errors=[{"code": "value_missing", "field": v.key, "label": v.label,
                 "sources": list(v.sources)} for v in missing])


def issuer_of(agency: AgencySigner, key: AgencyKey | None) -> rendering.Issuer:
    """The agency as its documents name it, from its entry in the signing configuration."""
    if key is None:  # a signer made without a configuration entry (tests, benchmarks)
        return rendering.Issuer(agency.name, "", agency.place or "",
                                rendering.Signatory("", "", (f"TM. {agency.name.upper()}",)))
    return rendering.Issuer(
        key.name, key.abbreviation, key.locality,
        rendering.Signatory(key.signer.title, key.signer.name, key.signer.authority),
        parent=key.parent, grounds=key.grounds, decides_as=key.decides_as,
        seal_diameter=key.seal_diameter)


# -- issuing ----------------------------------------------------------------------------------

def _agency(signing: Signing | None, agency_code: str) -> AgencySigner:
    agency = signing.agency(agency_code) if signing else None
    if agency is None:
        raise Unavailable("signing_unavailable",
                          f"Cơ quan {agency_code} chưa được cấu hình khóa ký số; chưa thể phát "
                          "hành văn bản điện tử.",
                          f"No signing key is configured for agency {agency_code}.")
    return agency


def _token_error(error: Exception) -> bool:
    """An error of a PKCS#11 token while it signs (pulled out, locked, the key refused):
    python-pkcs11 raises its own errors, not pyHanko's ``SigningError``."""
    try:
        from pkcs11 import PKCS11Error
    except ImportError:  # pragma: no cover - pyHanko's pkcs11 extra is a dependency
        return False
    return isinstance(error, PKCS11Error)


def _sign(signing: Signing, agency: AgencySigner, rendered: rendering.Rendered,
          signed_at: datetime, level: str | None) -> SignedPdf:
    try:
        return signing.sign(agency, rendered.pdf, page=rendered.page, box=rendered.box,
                            signing_time=signed_at, level=level)
    except TimestampUnavailable as e:
        raise Unavailable("timestamp_unavailable",
                          "Không lấy được dấu thời gian từ tổ chức cấp dấu thời gian; văn bản "
                          "chưa được phát hành, hồ sơ giữ nguyên trạng thái. Hãy thử lại sau.",
                          f"The time-stamping authority did not answer: {e}. Nothing was "
                          "issued; the dossier is unchanged.") from e
    except Exception as e:
        if not isinstance(e, SigningError | OSError) and not _token_error(e):
            raise
        # the token, or the revocation data a B-LT signature embeds, unavailable
        detail = str(e) or type(e).__name__
        log.warning("signing failed", extra={"agency": agency.code, "error": detail[:300]})
        raise Unavailable("signing_failed",
                          "Chưa ký được văn bản (thiết bị ký hoặc dữ liệu kiểm tra chứng thư "
                          "tạm thời không sẵn sàng); hồ sơ giữ nguyên trạng thái. Hãy thử lại "
                          "sau.", f"Signing failed: {detail}. Nothing was issued; the dossier is "
                          "unchanged.") from e


def timestamp_time(pdf: bytes) -> datetime | None:
    """The time in the signature timestamp of the (last) signature of ``pdf``."""
    reader = PdfFileReader(io.BytesIO(pdf), strict=False)
    signatures = reader.embedded_regular_signatures
    if not signatures:
        return None
    for attribute in signatures[-1].signer_info["unsigned_attrs"] or ():
        if attribute["type"].native == "signature_time_stamp_token":
            token = attribute["values"][0]["content"]
            return token["encap_content_info"]["content"].parsed["gen_time"].native
    return None


def find_document(session: Session, document_id: str) -> DossierDocument | None:
    """An issued document by its public id (anything not shaped like one is unknown)."""
    if not DOCUMENT_ID.match(document_id):
        return None
    return session.scalar(select(DossierDocument).where(
        DossierDocument.document_id == document_id))


def original_finder(session: Session) -> Callable[[str | None, str], Original | None]:
    """For verification: what tokhai issued, by the document id embedded in an upload, or
    else by a hash (of the upload, or of the bytes it begins with: service.pki.validation
    asks for each), with the time the record was written, which proves that the issued
    bytes existed then."""

    def find(document_id: str | None, sha256: str) -> Original | None:
        columns = select(DossierDocument.document_id, DossierDocument.sha256,
                         DossierDocument.created_at)
        row = None
        if document_id and DOCUMENT_ID.match(document_id):
            row = session.execute(columns.where(
                DossierDocument.document_id == document_id)).first()
        if row is None:
            row = session.execute(columns.where(DossierDocument.sha256 == sha256)
                                  .limit(1)).first()
        return Original(row[0], row[1], row[2]) if row else None

    return find


def existing_result(session: Session, dossier: Dossier) -> DossierDocument | None:
    return session.scalar(select(DossierDocument).where(
        DossierDocument.dossier_id == dossier.id, DossierDocument.kind == "result"))


def _series(agency_code: str, year: int, template: ResultTemplate | None = None) -> str:
    """The gapless series a result's number is taken from: the agency's results of the year,
    or, for a document numbered by its register entry, the agency's register book of the
    year (``register:KH:<agency>:<year>``, the marriage book)."""
    if template is not None and template.register_book:
        return f"register:{template.register_book}:{agency_code}:{year}"
    return f"result:{agency_code}:{year}"


def _abandoned(session: Session) -> Callable[[list[str]], set[str]]:
    """Of the dossiers (by id) holding a reserved number, those no longer in processing:
    their issuance will never finish (the service stopped while it signed, and the dossier
    was rejected or sent back since)."""

    def find(holders: list[str]) -> set[str]:
        ids = [int(h) for h in holders if h.isdigit()]
        if not ids:
            return set()
        live = session.scalars(select(Dossier.id).where(
            Dossier.id.in_(ids), Dossier.status == "in_processing")).all()
        return {h for h in holders if not h.isdigit() or int(h) not in set(live)}

    return find


def _give_back(session: Session, series: str, dossier_id: int, sequence: int) -> None:
    session.rollback()
    store.release_number(session, series, str(dossier_id), sequence)
    session.commit()


@dataclass(frozen=True)
class _Prepared:
    """What a result is made of before it has a number: the agency's signer and details,
    the template and its values for the dossier."""

    agency: AgencySigner
    template: ResultTemplate
    values: ResultValues
    issuer: rendering.Issuer


def _prepare(session: Session, dossier: Dossier, definition: FormDefinition | None,
             signing: Signing | None,
             records: Callable[[str], dict[str, Any] | None] | None) -> _Prepared:
    """The agency's key (Unavailable without one) and the template's values (a Conflict
    naming the required values the dossier lacks)."""
    agency = _agency(signing, dossier.agency_code)
    assert signing is not None
    template = template_for(dossier.procedure_code)
    values = result_values(template, definition, dossier.data,
                           records or register_records(session, dossier.citizen_id))
    if values.missing:
        raise missing_values(template, values.missing, dossier.code)
    issuer = issuer_of(agency, signing.config.agencies.get(agency.code))
    return _Prepared(agency, template, values, issuer)


def _result_of(ready: _Prepared, dossier: Dossier, definition: FormDefinition | None,
               signing: Signing, *, number: str, book: str | None, document_id: str,
               signed_at: datetime) -> rendering.Result:
    """The result as it is printed: issuing and its preview render this same thing."""
    agency, issuer, values = ready.agency, ready.issuer, ready.values
    return rendering.Result(
        template=ready.template, agency_name=agency.name, place=issuer.locality,
        number=number, document_id=document_id,
        verify_url=signing.verify_url(document_id), dossier_code=dossier.code,
        procedure_code=dossier.procedure_code, owner_id=dossier.citizen_id,
        rows=values.rows, data=values.structured,
        stamp=rendering.Stamp(agency.name, signed_at, agency.seal_png, agency.development),
        procedure_name=definition.procedure_name if definition else None,
        issuer=issuer, values=values.printed,
        form_legal_basis=definition.legal_basis if definition else None, book=book)


#: the number and document id a preview prints where issuing prints the ones it is given
PREVIEW_NUMBER = "…"
PREVIEW_DOCUMENT_ID = "00000000-0000-0000-0000-000000000000"


@dataclass(frozen=True)
class Preview:
    """The unsigned rendering of a dossier's result, as issuing would sign it now: the same
    template, values, agency, signer and layout. Only what issuing gives the document at the
    moment it signs differs: its number (``…`` in its place), its id (zeros, in the QR code
    and the verification link) and the signing time printed in the stamp and the date."""

    rendered: rendering.Rendered
    title: str
    #: (label, text as printed), in the template's order
    rows: list[tuple[str, str]]
    #: the number as printed, with ``…`` for the sequence issuing will take
    number: str
    book: str | None
    agency_name: str
    signer: str
    at: datetime


def preview_result(session: Session, dossier: Dossier, principal: Principal,
                   definition: FormDefinition | None, signing: Signing | None, *,
                   at: datetime | None = None,
                   records: Callable[[str], dict[str, Any] | None] | None = None) -> Preview:
    """What ``issue_result`` would sign now, unsigned and unrecorded: refused as issuing
    would refuse it (the transition not allowed to ``principal`` now, no key for the agency,
    a required value missing). Nothing is reserved or written."""
    dossiers.check_transition(dossier, "issue_result", principal, None, None)
    ready = _prepare(session, dossier, definition, signing, records)
    assert signing is not None
    at = at or dossiers.now()
    year = at.astimezone(VIETNAM).year
    book: str | None = None
    if ready.template.register_book:
        number, book = PREVIEW_NUMBER, rendering.register_entry(1, year)[1]
    else:
        number = rendering.document_number(1, ready.template.symbol,
                                           ready.issuer.abbreviation)
        number = PREVIEW_NUMBER + number[number.index("/"):]
    rendered = rendering.render_result(_result_of(
        ready, dossier, definition, signing, number=number, book=book,
        document_id=PREVIEW_DOCUMENT_ID, signed_at=at))
    who = ready.issuer.signatory
    return Preview(rendered, ready.template.title, ready.values.rows, number, book,
                   ready.agency.name, " ".join(p for p in (who.title, who.name) if p), at)


def issue_result(session: Session, dossier: Dossier, principal: Principal,
                 definition: FormDefinition | None, signing: Signing | None,
                 calendar: WorkCalendar, *, expected_version: int | None,
                 retention: dict[str, str], level: str | None = None,
                 records: Callable[[str], dict[str, Any] | None] | None = None,
                 ) -> tuple[DossierDocument, bool]:
    """Issue the dossier's signed result. Returns it and whether it was issued now.

    Three steps, so that issuing never blocks the service: (1) a short transaction checks the
    transition and reserves the agency's next number for the year, and commits; (2) the
    result is rendered and signed (the time-stamping authority's round trip) with no
    transaction open and no lock held; (3) a short transaction writes the transition with
    the conditional UPDATE on the version read in (1), so a rejection, withdrawal or other
    issuance that got there meanwhile wins and this one is refused, marks the number used,
    records the document and appends the event (the caller commits). If signing fails or (3)
    is refused, the number is given back: the next issuance of the agency takes it, so
    numbers stay gapless per agency and year. Issuing again returns the document issued the
    first time. The caller's transaction is committed by step (1).

    The template's values are read first (``records`` gives a register's record about the
    dossier's citizen; tokhai's own registers by default): if a required one is missing the
    issuance is refused with a Conflict naming it, before any number is reserved."""
    earlier = existing_result(session, dossier)
    if earlier is not None:
        return earlier, False
    try:
        dossiers.check_transition(dossier, "issue_result", principal, None, expected_version)
    except (Conflict, VersionMismatch) as refused:
        return _after_refusal(session, dossier, refused)
    ready = _prepare(session, dossier, definition, signing, records)
    agency, template, issuer = ready.agency, ready.template, ready.issuer
    assert signing is not None
    signed_at = dossiers.now()
    year = signed_at.astimezone(VIETNAM).year
    series = _series(dossier.agency_code, year, template)
    # (1) reserve the number; the dossier is not written, so a failure leaves it as it was
    sequence = store.reserve_number(session, series, str(dossier.id), _abandoned(session))
    session.commit()
    # (2) render and sign, no transaction open (expire_on_commit is off: the dossier's
    # attributes are those read and checked above, and reading them touches no database)
    try:
        book: str | None = None
        if template.register_book:
            number, book = rendering.register_entry(sequence, year)
        else:
            number = rendering.document_number(sequence, template.symbol, issuer.abbreviation)
        document_id = str(uuid.uuid4())
        rendered = rendering.render_result(_result_of(
            ready, dossier, definition, signing, number=number, book=book,
            document_id=document_id, signed_at=signed_at))
        signed = _sign(signing, agency, rendered, signed_at, level)
    except BaseException:
        _give_back(session, series, dossier.id, sequence)
        raise
    # (3) record, if the dossier is still the version checked in (1)
    try:
        previous, moved_at = dossiers.move(session, dossier, "issue_result", principal, None,
                                           expected_version, calendar)
    except DomainError as refused:
        _give_back(session, series, dossier.id, sequence)
        if not isinstance(refused, Conflict | VersionMismatch):
            raise
        return _after_refusal(session, dossier, refused)
    if not store.use_number(session, series, str(dossier.id), sequence):
        # another issuance of this dossier, which shared the reservation, failed meanwhile
        # and gave the number back: it may be someone else's now
        session.rollback()
        raise Unavailable("issuance_interrupted",
                          "Việc phát hành bị gián đoạn; hồ sơ giữ nguyên trạng thái. Hãy thử lại.",
                          "The issuance was interrupted (its number was given back by a "
                          "concurrent attempt); nothing was issued. Retry.")
    document = _record(dossier, "result", signed, document_id, agency, template.code, number)
    repository.prepare(document, retention, template.document_class, dossier.procedure_code,
                       template.title, rendered.embedded, dossier.code)
    session.add(document)
    session.flush()
    record_result(session, dossier, document, agency, principal, book)
    dossiers.record_event(session, dossier, previous, "issue_result", principal, None,
                          moved_at)
    return document, True


def _after_refusal(session: Session, dossier: Dossier,
                   refused: DomainError) -> tuple[DossierDocument, bool]:
    """Someone else changed the dossier: if they issued its result, that stands."""
    session.rollback()
    earlier = existing_result(session, dossier)
    if earlier is None:
        raise refused
    return earlier, False


def record_result(session: Session, dossier: Dossier, document: DossierDocument,
                  agency: AgencySigner, principal: Principal, book: str | None = None) -> None:
    """Once-only: what a result establishes becomes records of the registers it belongs to
    (provenance ``result:<document id>``), for everyone it concerns (forms.results
    ``RESULT_RECORDS``: a marriage, for both spouses), so no later form asks for it again.
    Each change goes to the record-change trail with the result as its evidence, like a
    digitised document's."""
    writes = RESULT_RECORDS.get(dossier.procedure_code, ())
    if not writes or document.signed_at is None:
        return
    of_result = {"number": document.number, "book": book,
                 "issued_date": document.signed_at.astimezone(VIETNAM).date().isoformat(),
                 "agency_name": agency.name}
    provenance = f"result:{document.document_id}"
    for write in writes:
        for subject, data in _record_writes(session, dossier, write, of_result):
            store.change(session, write.register, subject, data, provenance,
                         document_id=document.document_id, actor=principal.actor,
                         role=principal.role, agency_code=agency.code)


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, str) and isinstance(b, str):
        return " ".join(a.split()).casefold() == " ".join(b.split()).casefold()
    return a is not None and a == b


def _record_writes(session: Session, dossier: Dossier, write: ResultRecord,
                   of_result: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """The (subject, fields) a result writes to one register: for each party identified
    (``ResultRecord``), or for the citizen who filed."""
    if not write.parties:
        people: list[tuple[str, dict[str, Any]]] = [(dossier.citizen_id, {})]
    else:
        people = []
        for party in write.parties:
            section = dossier.data.get(party)
            number = section.get(write.id_field) if isinstance(section, dict) else None
            if isinstance(section, dict) and isinstance(number, str) and number:
                people.append((number, section))
        known = store.fetch(session, "population", [p for p, _ in people])
        identified = []
        for subject, section in people:
            held = known.get(subject)
            if subject == dossier.citizen_id or (held is not None and all(
                    _same(section.get(mine), held.data.get(theirs))
                    for mine, theirs in write.identity)):
                identified.append((subject, section))
        if write.all_parties and len(identified) < len(write.parties):
            return []
        people = identified
    existing = store.fetch(session, write.register, [p for p, _ in people]) \
        if write.existing_only else {}
    out = []
    for subject, section in people:
        if write.existing_only and subject not in existing:
            continue
        others = [s for p, s in people if p != subject]
        data: dict[str, Any] = {}
        for name, source in write.fields.items():
            if source.startswith("="):
                value: Any = source[1:]
            elif source.startswith("party:"):
                value = section.get(source.removeprefix("party:"))
            elif source.startswith("other:"):
                value = others[0].get(source.removeprefix("other:")) if len(others) == 1 \
                    else None
            else:
                value = of_result.get(source)
            if value not in (None, ""):
                data[name] = value
        if data:
            out.append((subject, data))
    return out


def _record(dossier: Dossier, kind: str, signed: SignedPdf, document_id: str,
            agency: AgencySigner, template: str | None, number: str | None) -> DossierDocument:
    return DossierDocument(
        dossier_id=dossier.id, document_id=document_id, kind=kind,
        media_type="application/pdf", sha256=hashlib.sha256(signed.pdf).hexdigest(),
        content=signed.pdf, size=len(signed.pdf), agency_code=agency.code,
        owner_id=dossier.citizen_id,
        template=template, number=number, signer=signed.signer, level=signed.level,
        signed_at=signed.signed_at, timestamp_at=timestamp_time(signed.pdf))


def explain_late(session: Session, dossier: Dossier, principal: Principal, reason: str,
                 promised_at: datetime, expected_version: int | None, signing: Signing | None,
                 retention: dict[str, str], calendar: WorkCalendar) -> DossierDocument:
    """Explain a late dossier with its new promised date and sign the apology letter (the
    API's ``POST …/explanation`` and the officers' page): the explanation, the letter, then
    the ``explain`` event last in the transaction (its counter locked only briefly). A letter
    that cannot be signed raises, and the caller's rollback leaves nothing recorded. The
    caller commits, then archives the letter. ``calendar``: the agency's working days (the
    promised date is one)."""
    moment = dossiers.explain(session, dossier, principal, reason, promised_at, calendar,
                              expected_version)
    letter = issue_apology_letter(session, dossier, signing, retention)
    dossiers.record_event(session, dossier, dossier.status, "explain", principal,
                          dossier.late_explanation, moment)
    return letter


def issue_apology_letter(session: Session, dossier: Dossier, signing: Signing | None,
                         retention: dict[str, str]) -> DossierDocument:
    """The signed apology letter for a late dossier that has just been explained."""
    agency = _agency(signing, dossier.agency_code)
    assert signing is not None
    issuer = issuer_of(agency, signing.config.agencies.get(agency.code))
    signed_at = dossiers.now()
    # numbered from 1 each year in the agency's series of letters, in the caller's
    # transaction: its rollback (signing failed) gives the number back
    year = signed_at.astimezone(VIETNAM).year
    sequence = store.next_value(session, f"letter:{dossier.agency_code}:{year}")
    number = rendering.document_number(sequence, letters.SYMBOL, issuer.abbreviation)
    document_id = str(uuid.uuid4())
    rendered = letters.apology_letter(
        dossier, agency.name, issuer.locality, document_id, signing.verify_url(document_id),
        rendering.Stamp(agency.name, signed_at, agency.seal_png, agency.development),
        issuer=issuer, number=number)
    signed = _sign(signing, agency, rendered, signed_at, None)
    document = _record(dossier, "apology_letter", signed, document_id, agency, None, number)
    repository.prepare(document, retention, "letter", dossier.procedure_code, "Thư xin lỗi",
                       None, dossier.code)
    session.add(document)
    return document
