"""SQLAlchemy models. The schema is changed only by Alembic migrations in
``storage/migrations``; these classes describe it for the code."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from sqlalchemy import (
    JSON,
    Boolean,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
    false,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship


def _uuid() -> str:
    return str(uuid.uuid4())


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """A moment, stored in UTC and read back with its time zone on every database.

    SQLite keeps no offset: a Vietnam-time deadline stored as is would come back seven hours
    off. Converting to UTC on the way in, and marking UTC on the way out, makes both databases
    agree.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is not None:
            if value.tzinfo is None:
                raise ValueError("naive datetime: give moments with a time zone")
            value = value.astimezone(UTC)
        return value

    def process_result_value(self, value, dialect):
        if value is not None and value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return value


class Base(DeclarativeBase):
    pass


class Form(Base):
    __tablename__ = "forms"

    id: Mapped[str] = mapped_column(String(80), primary_key=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    versions: Mapped[list[FormVersion]] = relationship(
        back_populates="form", order_by="FormVersion.version")


class FormVersion(Base):
    """One version of a form. A draft may be edited; once published it never changes, since
    submissions reference the exact version they were filled against."""

    __tablename__ = "form_versions"
    __table_args__ = (UniqueConstraint("form_id", "version", name="uq_form_versions_form_version"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    form_id: Mapped[str] = mapped_column(ForeignKey("forms.id"), index=True)
    version: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(16), default="draft")  # draft | published
    title: Mapped[str] = mapped_column(String(500))
    #: the definition as the designer wrote it (YAML or JSON text) and its format
    source: Mapped[str] = mapped_column(Text)
    source_format: Mapped[str] = mapped_column(String(8))
    #: the definition as plain data, and the sha256 of its canonical JSON
    definition: Mapped[dict] = mapped_column(JSON)
    digest: Mapped[str] = mapped_column(String(64))
    created_by: Mapped[str | None] = mapped_column(String(120))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    published_by: Mapped[str | None] = mapped_column(String(120))

    form: Mapped[Form] = relationship(back_populates="versions")


class ApiToken(Base):
    """A bearer token. Only the sha256 of the token is stored: a leaked table grants nothing."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    role: Mapped[str] = mapped_column(String(16))  # designer | officer | citizen | auditor
    label: Mapped[str] = mapped_column(String(200))
    agency_code: Mapped[str | None] = mapped_column(String(40))
    personal_id: Mapped[str | None] = mapped_column(String(12))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class Record(Base):
    """A digitised record held by one register about one subject (a personal ID number or a tax
    code), in the register's vocabulary (``forms/registers.py``). The embedded record source
    keeps registers here; an external register is read over HTTP instead."""

    __tablename__ = "records"
    __table_args__ = (UniqueConstraint("register", "subject", name="uq_records_register_subject"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    register: Mapped[str] = mapped_column(String(32))
    subject: Mapped[str] = mapped_column(String(13), index=True)
    data: Mapped[dict] = mapped_column(JSON)
    #: where the record's last write came from: "import:<file>", "demo", "digitised:<id>",
    #: "result:<doc id>"
    provenance: Mapped[str] = mapped_column(String(200))
    #: where each field's value came from, field -> provenance: a change (a digitised document,
    #: a result) relabels only the fields whose value it set. A field absent here has no known
    #: provenance (changed before fields were traced, see migration 0008); NULL (a row written
    #: before that migration) means every field has the record's provenance
    field_provenance: Mapped[dict | None] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class RecordRole(Base):
    """Who holds a role in a record of a register not keyed by a person: the owner and the
    legal representative of a business (``forms.registers.Register.roles``), as indexed rows,
    so that a person's businesses are found by their personal ID number, not by scanning
    records. Kept by ``storage.records.upsert_many`` from the records' data."""

    __tablename__ = "record_roles"
    __table_args__ = (Index("ix_record_roles_person", "personal_id", "register"),)

    register: Mapped[str] = mapped_column(String(32), primary_key=True)
    subject: Mapped[str] = mapped_column(String(13), primary_key=True)
    role: Mapped[str] = mapped_column(String(32), primary_key=True)
    personal_id: Mapped[str] = mapped_column(String(12))


class PersonLink(Base):
    """A family or household link from the population register, kept as rows so that a
    person's children and household members are found by index, not by scanning records."""

    __tablename__ = "person_links"

    subject: Mapped[str] = mapped_column(String(12), primary_key=True)
    relation: Mapped[str] = mapped_column(String(24), primary_key=True)
    other: Mapped[str] = mapped_column(String(12), primary_key=True, index=True)


class DigitisedDocument(Base):
    """Values read from a born-digital PDF of an earlier paper document. They become a record
    only when an officer confirms them.

    The document belongs to the agency whose officer uploaded it: only that agency's officers
    see and confirm it. ``public_id`` (random) names it in URLs and in the provenance of the
    records it confirms, so that ids cannot be guessed; ``id`` stays internal."""

    __tablename__ = "digitised_documents"
    __table_args__ = (Index("uq_digitised_documents_public_id", "public_id", unique=True),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    public_id: Mapped[str] = mapped_column(String(36), default=_uuid)
    #: the uploading officer's agency; NULL for a document uploaded before agencies were
    #: recorded whose uploader could not be traced to one agency (no officer sees it)
    agency_code: Mapped[str | None] = mapped_column(String(40))
    kind: Mapped[str] = mapped_column(String(40))
    register: Mapped[str] = mapped_column(String(32))
    subject: Mapped[str | None] = mapped_column(String(13))
    sha256: Mapped[str] = mapped_column(String(64))
    values: Mapped[dict] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(16), default="pending")  # pending | confirmed
    uploaded_by: Mapped[str] = mapped_column(String(120))
    confirmed_by: Mapped[str | None] = mapped_column(String(120))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    #: why the officer confirmed a document whose printed identity (name, birth date, sex)
    #: the population register does not bear out
    confirm_reason: Mapped[str | None] = mapped_column(Text)


class RecordChange(Base):
    """A change of a register's record made through the API, with the document that is its
    evidence, who made it, from which agency, and the values before and after. Append-only:
    database triggers refuse updates and deletes."""

    __tablename__ = "record_changes"
    __table_args__ = (Index("ix_record_changes_register_subject", "register", "subject"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    actor: Mapped[str] = mapped_column(String(120))
    role: Mapped[str] = mapped_column(String(16))
    agency_code: Mapped[str | None] = mapped_column(String(40))
    register: Mapped[str] = mapped_column(String(32))
    subject: Mapped[str] = mapped_column(String(13))
    #: the provenance written on the record (``digitised:<public id>``) and the document's id
    provenance: Mapped[str] = mapped_column(String(200))
    document_id: Mapped[str] = mapped_column(String(64), index=True)
    #: the changed fields' values before (null where absent; the whole value null when the
    #: record did not exist) and after
    before: Mapped[dict | None] = mapped_column(JSON)
    after: Mapped[dict] = mapped_column(JSON)
    #: fields whose confirmed value differs from what was read: field -> {read, text, confirmed}
    corrections: Mapped[dict | None] = mapped_column(JSON)
    #: the officer's reason for confirming against a flag (an identity the population register
    #: does not bear out)
    reason: Mapped[str | None] = mapped_column(Text)


#: the open states of a dossier (service.dossiers.queries.OPEN) as the queue index's predicate
OPEN_STATES_SQL = "status IN ('submitted', 'accepted', 'supplement_requested', 'in_processing')"


class Dossier(Base):
    """A dossier (hồ sơ): one submission of a form to an agency, followed through its round
    trip. ``row_version`` is the optimistic lock behind the ETag."""

    __tablename__ = "dossiers"
    __table_args__ = (
        UniqueConstraint("citizen_id", "idempotency_key", name="uq_dossiers_idempotency"),
        Index("ix_dossiers_agency_status_deadline", "agency_code", "status", "due_at"),
        Index("ix_dossiers_citizen_submitted", "citizen_id", "submitted_at"),
        # the officers' search by name (a prefix of the key; LIKE uses it on PostgreSQL)
        Index("ix_dossiers_agency_name", "agency_code", "citizen_name_key",
              postgresql_ops={"citizen_name_key": "varchar_pattern_ops"}),
        # the officers' default queue (the open states by deadline) read in order, without a
        # sort of every open dossier of the agency: the predicate is
        # service.dossiers.queries.OPEN, word for word (a test holds them together)
        Index("ix_dossiers_open_queue", "agency_code", "due_at", "id",
              postgresql_where=text(OPEN_STATES_SQL), sqlite_where=text(OPEN_STATES_SQL)),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    code: Mapped[str] = mapped_column(String(60), unique=True)
    agency_code: Mapped[str] = mapped_column(String(40))
    form_id: Mapped[str] = mapped_column(String(80))
    form_version: Mapped[int] = mapped_column(Integer)
    procedure_code: Mapped[str] = mapped_column(String(40))
    #: the procedure's name as the form version filed named it (its title if it names none)
    procedure_name: Mapped[str | None] = mapped_column(String(300))
    #: how the dossier was filed: ``online`` (the only channel tokhai takes so far) or
    #: ``counter``
    channel: Mapped[str] = mapped_column(String(16), default="online",
                                         server_default="online")
    citizen_id: Mapped[str] = mapped_column(String(12))
    #: the declarant's name as filed, and its search key without accents or case
    #: (service.dossiers.names); None for forms without the declarant's name and for
    #: dossiers filed before migration 0012
    citizen_name: Mapped[str | None] = mapped_column(String(200))
    citizen_name_key: Mapped[str | None] = mapped_column(String(200))
    data: Mapped[dict] = mapped_column(JSON)
    #: the citizen's answer to "use my data" when the form was filled in the pages (``use``
    #: or ``type``); None when filed through the API
    prefill_choice: Mapped[str | None] = mapped_column(String(8))
    #: on what basis the records of people other than the declarant were read at filing
    #: (service.dossiers.basis): per person named by a typed number or chosen by an answer,
    #: and per register, {pointer, relation, named_by | relation_by, register, record_id};
    #: [] when nobody's; None for dossiers filed before migration 0013
    prefill_basis: Mapped[list | None] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(24))
    row_version: Mapped[int] = mapped_column(Integer, default=1)
    receipt_secret_hash: Mapped[str] = mapped_column(String(64))
    idempotency_key: Mapped[str | None] = mapped_column(String(100))
    request_hash: Mapped[str | None] = mapped_column(String(64))
    processing_days: Mapped[int] = mapped_column(Integer)
    submitted_at: Mapped[datetime] = mapped_column(UTCDateTime())
    accept_deadline: Mapped[datetime] = mapped_column(UTCDateTime())
    accepted_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    process_deadline: Mapped[datetime | None] = mapped_column(UTCDateTime())
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    #: the deadline that matters now (acceptance, then processing), for the officers' queue
    due_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    late_explanation: Mapped[str | None] = mapped_column(Text)
    late_explained_by: Mapped[str | None] = mapped_column(String(120))
    late_explained_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    promised_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    #: the first promised date missed, once a later explanation has replaced it
    broken_promise_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    #: waiting for the citizen's supplement since (no deadline runs meanwhile), and the
    #: status the dossier returns to when it comes
    paused_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    paused_from: Mapped[str | None] = mapped_column(String(24))
    #: the first deadline the dossier missed and its stage (service.dossiers.lateness),
    #: recorded by the first write after it passed and never changed
    late_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    late_stage: Mapped[str | None] = mapped_column(String(16))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class DossierCount(Base):
    """How many of an agency's dossiers are in one state, kept by every status change
    (service.dossiers.counts): the officers' queue reads a few rows, not every dossier."""

    __tablename__ = "dossier_counts"

    agency_code: Mapped[str] = mapped_column(String(40), primary_key=True)
    status: Mapped[str] = mapped_column(String(24), primary_key=True)
    total: Mapped[int] = mapped_column(Integer)


class DossierEvent(Base):
    """The ordered log of status changes. ``position`` is gapless and committed in order (it
    is taken from a counter row locked until commit), so a reader following the cursor never
    skips an event; ``event_id`` is stable, so a consumer can de-duplicate."""

    __tablename__ = "dossier_events"

    position: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    event_id: Mapped[str] = mapped_column(String(36), unique=True)
    dossier_id: Mapped[int] = mapped_column(ForeignKey("dossiers.id"), index=True)
    dossier_code: Mapped[str] = mapped_column(String(60))
    agency_code: Mapped[str] = mapped_column(String(40))
    from_status: Mapped[str | None] = mapped_column(String(24))
    to_status: Mapped[str] = mapped_column(String(24))
    action: Mapped[str] = mapped_column(String(32))
    actor: Mapped[str] = mapped_column(String(120))
    role: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str | None] = mapped_column(Text)
    at: Mapped[datetime] = mapped_column(UTCDateTime())
    #: the dossier as the event left it, for the national portal (None in events logged
    #: before these were kept: the deadlines of that time are not known)
    procedure_code: Mapped[str | None] = mapped_column(String(40))
    procedure_name: Mapped[str | None] = mapped_column(String(300))
    channel: Mapped[str | None] = mapped_column(String(16))
    submitted_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    accept_by: Mapped[datetime | None] = mapped_column(UTCDateTime())
    process_by: Mapped[datetime | None] = mapped_column(UTCDateTime())
    promised_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class Counter(Base):
    """Gapless counters: dossier codes per agency and day, and event positions. A counter row
    is incremented inside the transaction that uses the number, so a rollback gives it back
    and concurrent transactions queue on the row lock.

    Result numbers per agency and year (``result:<agency>:<year>``) are reserved instead, in
    a short transaction of their own, because the number is signed into the document before
    it can be recorded: ``<series>:held:<dossier id>`` rows hold a reserved number until the
    result is recorded, ``<series>:free:<n>`` rows keep a number given back for the next
    issuance (see ``storage.records.reserve_number``)."""

    __tablename__ = "counters"

    name: Mapped[str] = mapped_column(String(80), primary_key=True)
    last: Mapped[int] = mapped_column(Integer)


class DossierDocument(Base):
    """Documents tokhai issues for a dossier: its signed result (one per dossier) and apology
    letters. ``document_id`` is the public id printed on the document and in its QR code;
    ``sha256`` is of the signed bytes as issued, which verification compares uploads with."""

    __tablename__ = "dossier_documents"
    __table_args__ = (
        Index("uq_dossier_documents_document_id", "document_id", unique=True),
        Index("uq_dossier_documents_one_result", "dossier_id", unique=True,
              sqlite_where=text("kind = 'result'"), postgresql_where=text("kind = 'result'")),
        Index("ix_dossier_documents_owner_signed", "owner_id", "signed_at"),
        Index("ix_dossier_documents_pending", "id", sqlite_where=text("stored_at IS NULL"),
              postgresql_where=text("stored_at IS NULL")),
        Index("ix_dossier_documents_store_problem", "id",
              sqlite_where=text("store_problem IS NOT NULL"),
              postgresql_where=text("store_problem IS NOT NULL")),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    dossier_id: Mapped[int] = mapped_column(ForeignKey("dossiers.id"), index=True)
    document_id: Mapped[str] = mapped_column(String(36), default=_uuid)
    kind: Mapped[str] = mapped_column(String(32))
    media_type: Mapped[str] = mapped_column(String(64))
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    #: the signed bytes; loaded only when used (listings and lookups never need them)
    content: Mapped[bytes] = mapped_column(LargeBinary, deferred=True)
    size: Mapped[int | None] = mapped_column(Integer)
    agency_code: Mapped[str | None] = mapped_column(String(40))
    #: the personal ID number or tax code of the person or organisation the document is for
    owner_id: Mapped[str | None] = mapped_column(String(13))
    template: Mapped[str | None] = mapped_column(String(40))
    number: Mapped[str | None] = mapped_column(String(60))
    signer: Mapped[str | None] = mapped_column(String(400))
    level: Mapped[str | None] = mapped_column(String(8))
    signed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    timestamp_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    procedure_code: Mapped[str | None] = mapped_column(String(40))
    document_class: Mapped[str | None] = mapped_column(String(32))
    #: the name a download gets, in Vietnamese
    file_name: Mapped[str | None] = mapped_column(String(200))
    #: the structured data embedded in the PDF (for listing and reuse without reading it)
    data: Mapped[dict | None] = mapped_column(JSON)
    # -- the repository: ``content`` is the durable outbox copy; ``stored_at`` is set once
    # the document store holds the bytes (NULL: archiving pending)
    storage_key: Mapped[str | None] = mapped_column(String(80))
    stored_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    archive_attempts: Mapped[int] = mapped_column(Integer, default=0,
                                                  server_default=text("0"))
    archive_error: Mapped[str | None] = mapped_column(Text)
    retain_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    legal_hold: Mapped[bool] = mapped_column(Boolean, default=False,
                                             server_default=false())
    #: the version the upload returned (S3): every read asks for it, never for the key
    #: alone (a newer version or a delete marker is not the document); None in the local
    #: store, which has no versions
    store_version_id: Mapped[str | None] = mapped_column(String(1024))
    #: a problem noticed with the stored object (``missing``, ``altered``, ``shadowed``,
    #: ``hidden``), until the worker or ``tokhai repository verify --repair`` repairs it
    store_problem: Mapped[str | None] = mapped_column(String(16))
    store_problem_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    store_problem_detail: Mapped[str | None] = mapped_column(String(300))


class Consent(Base):
    """An owner's consent that an agency may retrieve their documents for a stated purpose
    (a dossier, or a procedure), until it expires or is revoked."""

    __tablename__ = "consents"
    __table_args__ = (Index("ix_consents_agency_owner", "agency_code", "owner_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    owner_id: Mapped[str] = mapped_column(String(13), index=True)
    agency_code: Mapped[str] = mapped_column(String(40))
    #: ``dossier`` or ``procedure``
    purpose_kind: Mapped[str] = mapped_column(String(16))
    purpose: Mapped[str] = mapped_column(String(60))
    #: one document, or None for every document of the owner
    document_id: Mapped[str | None] = mapped_column(String(36))
    granted_by: Mapped[str] = mapped_column(String(120))
    granted_at: Mapped[datetime] = mapped_column(UTCDateTime())
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class AccessLog(Base):
    """Every access to a repository document, allowed or not. Append-only: database
    triggers refuse updates and deletes."""

    __tablename__ = "access_log"
    __table_args__ = (Index("ix_access_log_owner", "owner_id", "id"),
                      Index("ix_access_log_agency", "agency_code", "id"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    actor: Mapped[str] = mapped_column(String(120))
    role: Mapped[str] = mapped_column(String(16))
    agency_code: Mapped[str | None] = mapped_column(String(40))
    purpose: Mapped[str | None] = mapped_column(String(80))
    document_id: Mapped[str | None] = mapped_column(String(64), index=True)
    owner_id: Mapped[str | None] = mapped_column(String(13))
    action: Mapped[str] = mapped_column(String(16))
    outcome: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str | None] = mapped_column(String(200))


# -- the web pages (issue #14) ------------------------------------------------------------------


class WebSession(Base):
    """A signed-in person in a browser. The cookie holds a random id; only its sha256 is kept
    here, so a copy of the database opens no session. Ended at sign-out or by expiry (idle and
    absolute), checked on every request: a session can be ended server-side, which a cookie
    alone cannot."""

    __tablename__ = "web_sessions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    sid_hash: Mapped[str] = mapped_column(String(64), unique=True)
    #: the identity provider's issuer and subject (``sub``), or ``development`` for the
    #: development sign-in page
    issuer: Mapped[str] = mapped_column(String(300))
    subject: Mapped[str] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(16))
    name: Mapped[str] = mapped_column(String(200))
    personal_id: Mapped[str | None] = mapped_column(String(12))
    agency_code: Mapped[str | None] = mapped_column(String(40))
    email: Mapped[str | None] = mapped_column(String(254))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime())
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class StaffRole(Base):
    """A member of staff as the identity provider names them (issuer and subject), with the
    role and agency they sign in to the pages with (issue #15). Granted and revoked with
    ``tokhai staff``; a session of a subject whose role was revoked or changed ends at its next
    request. Citizens need no row: their role comes from their personal ID number."""

    __tablename__ = "staff_roles"
    __table_args__ = (UniqueConstraint("issuer", "subject", name="uq_staff_roles_subject"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    issuer: Mapped[str] = mapped_column(String(300))
    subject: Mapped[str] = mapped_column(String(255))
    #: ``officer``, ``designer`` or ``auditor`` (service.tokens.ROLES, citizens excepted)
    role: Mapped[str] = mapped_column(String(16))
    #: the officer's agency (required for officers, none for the others)
    agency_code: Mapped[str | None] = mapped_column(String(40))
    #: a name to show when the provider gives none
    name: Mapped[str | None] = mapped_column(String(200))
    granted_by: Mapped[str] = mapped_column(String(120))
    granted_at: Mapped[datetime] = mapped_column(UTCDateTime())


class PrefillChoice(Base):
    """A citizen's answer to "use my data" for one form version, remembered (and recorded
    with the dossier filed from it): ``use`` (read the registers) or ``type`` (type
    everything)."""

    __tablename__ = "prefill_choices"
    __table_args__ = (UniqueConstraint("citizen_id", "form_id", "form_version",
                                       name="uq_prefill_choices"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    citizen_id: Mapped[str] = mapped_column(String(12))
    form_id: Mapped[str] = mapped_column(String(80))
    form_version: Mapped[int] = mapped_column(Integer)
    choice: Mapped[str] = mapped_column(String(8))
    chosen_at: Mapped[datetime] = mapped_column(UTCDateTime())


class FormDraft(Base):
    """A citizen's e-form being filled: saved on every step, resumed on any device, deleted
    when the dossier is filed. One per citizen, form version and agency."""

    __tablename__ = "form_drafts"
    __table_args__ = (UniqueConstraint("citizen_id", "form_id", "form_version",
                                       name="uq_form_drafts"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    citizen_id: Mapped[str] = mapped_column(String(12), index=True)
    form_id: Mapped[str] = mapped_column(String(80))
    form_version: Mapped[int] = mapped_column(Integer)
    agency_code: Mapped[str | None] = mapped_column(String(40))
    data: Mapped[dict] = mapped_column(JSON)
    #: the submission's idempotency key, made with the draft: a double click or a retry of
    #: the last step files one dossier
    idempotency_key: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())


class Dispute(Base):
    """A citizen's report that a prefilled value is wrong (báo sai thông tin): recorded against
    the register's record and, once filed, the dossier; shown to the officer. It never stops
    the submission."""

    __tablename__ = "disputes"
    __table_args__ = (Index("ix_disputes_register_key", "register", "record_key"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    citizen_id: Mapped[str] = mapped_column(String(12), index=True)
    form_id: Mapped[str] = mapped_column(String(80))
    form_version: Mapped[int] = mapped_column(Integer)
    #: None until the dossier is filed
    dossier_id: Mapped[int | None] = mapped_column(ForeignKey("dossiers.id"), index=True)
    #: the field (JSON pointer into the form data) and the register and record it came from
    pointer: Mapped[str] = mapped_column(String(300))
    register: Mapped[str] = mapped_column(String(40))
    record_key: Mapped[str | None] = mapped_column(String(120))
    shown_value: Mapped[str | None] = mapped_column(Text)
    #: what the citizen says is wrong, in their words
    statement: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    #: ``open`` until the register's keeper or an officer closes it
    status: Mapped[str] = mapped_column(String(16), default="open", server_default="open")


class Contact(Base):
    """How to reach a citizen: the e-mail address they gave (from sign-in or their space)
    and whether they want notifications."""

    __tablename__ = "contacts"

    personal_id: Mapped[str] = mapped_column(String(12), primary_key=True)
    email: Mapped[str | None] = mapped_column(String(254))
    notify: Mapped[bool] = mapped_column(Boolean, default=True, server_default=text("true"))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())


class Notification(Base):
    """An e-mail waiting in the outbox: written in the transaction of the change it tells
    about, sent by the worker (never inside a request), retried with backoff."""

    __tablename__ = "notifications"
    __table_args__ = (Index("ix_notifications_pending", "sent_at", "next_attempt_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    personal_id: Mapped[str] = mapped_column(String(12))
    dossier_id: Mapped[int | None] = mapped_column(ForeignKey("dossiers.id"))
    #: the dossier event it tells about (one notification per event and address)
    event_position: Mapped[int | None] = mapped_column(Integer, unique=True)
    to_address: Mapped[str] = mapped_column(String(254))
    subject: Mapped[str] = mapped_column(String(300))
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    attempts: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime())
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    #: given up after too many attempts (the last error is kept)
    failed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_error: Mapped[str | None] = mapped_column(String(300))


class PageStash(Base):
    """What a browser posted when its session had expired: kept for a short while under a
    random id (its sha256 here) that only that browser holds, so that after signing in again
    the typed data is still there."""

    __tablename__ = "page_stash"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    path: Mapped[str] = mapped_column(String(500))
    payload: Mapped[dict] = mapped_column(JSON)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())


class Upload(Base):
    """A file a citizen uploaded for an attachment field of a form, where no digital document
    exists in their repository (a scan or a photo of a paper). Named by a random public id
    (``document_id``, what the form data references); read by its owner, and by whoever may
    see a dossier whose data references it."""

    __tablename__ = "uploads"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    document_id: Mapped[str] = mapped_column(String(36), unique=True, default=_uuid)
    owner_id: Mapped[str] = mapped_column(String(12), index=True)
    file_name: Mapped[str] = mapped_column(String(255))
    media_type: Mapped[str] = mapped_column(String(40))
    size: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    content: Mapped[bytes] = mapped_column(LargeBinary, deferred=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
