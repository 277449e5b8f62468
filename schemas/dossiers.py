from marshmallow import Schema, fields, validate

from schemas.common import TIMES, VietnamDateTime
from service.dossiers.states import STATES, TRANSITIONS

AGENCY = validate.Regexp(r"^[A-Za-z0-9._-]{1,40}$",
                         error="Mã cơ quan gồm chữ, số, '.', '_' hoặc '-', tối đa 40 ký tự.")


class SubmitSchema(Schema):
    form_id = fields.String(required=True)
    version = fields.Integer(required=True, validate=validate.Range(min=1, max=9999))
    agency_code = fields.String(required=True, validate=AGENCY, metadata={
        "description": "The receiving agency"})
    data = fields.Dict(required=True, metadata={"description": "The form data"})


class SupplementSchema(Schema):
    data = fields.Dict(required=True)


class ActionSchema(Schema):
    action = fields.String(required=True, validate=validate.OneOf(
        [name for name, t in TRANSITIONS.items() if t.direct]))
    reason = fields.String(validate=validate.Length(max=4000))


class ExplanationSchema(Schema):
    reason = fields.String(required=True, validate=validate.Length(min=1, max=4000))
    promised_at = fields.AwareDateTime(required=True, validate=TIMES, metadata={
        "description": "The new promised date (ISO 8601 with offset)"})


class DeadlinesSchema(Schema):
    accept_by = VietnamDateTime()
    process_by = VietnamDateTime(allow_none=True)
    promised_at = VietnamDateTime(allow_none=True)


class MissedSchema(Schema):
    stage = fields.String(validate=validate.OneOf(["acceptance", "processing", "promise"]))
    deadline = VietnamDateTime(metadata={"description": "The deadline missed"})


class LatenessSchema(Schema):
    late = fields.Boolean(metadata={
        "description": "Missed a deadline (time waiting for the citizen not counted); the "
                       "queue's late=true and the monthly report use the same test"})
    acceptance_late = fields.Boolean()
    processing_late = fields.Boolean()
    promise_late = fields.Boolean(metadata={"description": "Missed a date an apology promised"})
    explanation_required = fields.Boolean(metadata={
        "description": "Late with no explanation yet, or past the promised date: officers' "
                       "actions are refused (409) until an explanation is recorded"})
    late_since = VietnamDateTime(allow_none=True, metadata={
        "description": "The first deadline missed (the month of the late report)"})
    stage = fields.String(allow_none=True, metadata={
        "description": "The stage of the first deadline missed"})
    missed = fields.List(fields.Nested(MissedSchema))


class DisputeSchema(Schema):
    pointer = fields.String(metadata={"description": "The field (JSON pointer into data)"})
    register = fields.String(metadata={"description": "The register the value came from"})
    record_key = fields.String(allow_none=True, metadata={
        "description": "The register's record it came from, when known"})
    shown_value = fields.String(allow_none=True, metadata={
        "description": "The value the citizen was shown"})
    statement = fields.String(metadata={"description": "What the citizen says is wrong"})
    created_at = VietnamDateTime()
    status = fields.String(metadata={"description": "open, until the register's keeper or an "
                                                    "officer closes it"})


class PrefillBasisSchema(Schema):
    pointer = fields.String(metadata={
        "description": "The section, group or item about the person (JSON pointer into data)"})
    relation = fields.String(metadata={
        "description": "How the registers link the person to the citizen who filed it (ward, "
                       "child, parent, spouse, household_member…; declarant for 'Bản thân')"})
    named_by = fields.String(metadata={
        "description": "The field where the citizen typed the person's personal ID number "
                       "(a person named by a typed number)"})
    relation_by = fields.String(metadata={
        "description": "The field whose answer chose the relation (a relation chosen by an "
                       "answer)"})
    register = fields.String(metadata={"description": "The register whose record was read"})
    record_id = fields.String(metadata={"description": "The record read, when known"})


class DossierSchema(Schema):
    code = fields.String()
    status = fields.String(validate=validate.OneOf(list(STATES)))
    status_label = fields.String()
    archiving = fields.String(allow_none=True, metadata={
        "description": "For a dossier with a result: stored (in the repository) or pending"})
    agency_code = fields.String()
    form_id = fields.String()
    form_version = fields.Integer()
    procedure_code = fields.String()
    procedure_name = fields.String(allow_none=True)
    channel = fields.String(metadata={"description": "online or counter"})
    prefill_choice = fields.String(allow_none=True, metadata={
        "description": "The citizen's answer to 'use my data' in the pages: use (the registers "
                       "were read) or type (everything typed); null when filed through the API"})
    citizen_id = fields.String()
    submitted_at = VietnamDateTime()
    accepted_at = VietnamDateTime(allow_none=True)
    finished_at = VietnamDateTime(allow_none=True)
    waiting_since = VietnamDateTime(allow_none=True, metadata={
        "description": "Waiting for the citizen's supplement since (no deadline runs)"})
    deadlines = fields.Nested(DeadlinesSchema)
    lateness = fields.Nested(LatenessSchema)
    explanation = fields.String(allow_none=True)
    version = fields.Integer(metadata={"description": "Also the ETag, for If-Match"})
    data = fields.Dict()
    receipt_secret = fields.String(metadata={
        "description": "Shown once, at submission: with the code, it lets anyone holding the "
                       "receipt see the status"})
    prefill_basis = fields.List(fields.Nested(PrefillBasisSchema), allow_none=True, metadata={
        "description": "On what basis the records of people other than the citizen were read "
                       "when the dossier was filed (or last supplemented), recomputed by the "
                       "service from the answers filed: one entry per person named by a typed "
                       "number and linked to the citizen by a relation the form allows, or "
                       "chosen by an answer, and per register. [] when nobody else's; null "
                       "for dossiers filed before it was recorded"})
    disputes = fields.List(fields.Nested(DisputeSchema), metadata={
        "description": "Only when one dossier is read: the prefilled values the citizen "
                       "reported wrong while filling (báo sai thông tin); they never stop "
                       "the submission"})


class EventSchema(Schema):
    position = fields.Integer(metadata={"description": "Cursor: ordered, gapless"})
    event_id = fields.String(metadata={"description": "Stable id for de-duplication"})
    dossier_code = fields.String()
    agency_code = fields.String()
    procedure_code = fields.String(allow_none=True)
    procedure_name = fields.String(allow_none=True)
    channel = fields.String(allow_none=True, metadata={"description": "online or counter"})
    action = fields.String(metadata={
        "description": "submit, accept, request_supplement, supplement, reject, "
                       "start_processing, issue_result, deliver, withdraw, explain"})
    from_status = fields.String(allow_none=True)
    to_status = fields.String()
    actor = fields.String()
    role = fields.String()
    reason = fields.String(allow_none=True, metadata={
        "description": "Why: the supplement asked for, the rejection, the withdrawal, the "
                       "explanation of a late dossier"})
    at = VietnamDateTime()
    submitted_at = VietnamDateTime(allow_none=True)
    # the deadlines as the event left them (None in events logged before they were kept)
    accept_by = VietnamDateTime(allow_none=True)
    process_by = VietnamDateTime(allow_none=True)
    promised_at = VietnamDateTime(allow_none=True, metadata={
        "description": "The date promised by the latest apology"})


class EventPageSchema(Schema):
    events = fields.List(fields.Nested(EventSchema))
    next_cursor = fields.Integer()


class EventQuerySchema(Schema):
    after = fields.Integer(load_default=0, validate=validate.Range(min=0, max=2**53))
    limit = fields.Integer(load_default=100, validate=validate.Range(min=1, max=1000))


class QueueQuerySchema(Schema):
    status = fields.String(validate=validate.OneOf(list(STATES)))
    late = fields.Boolean()
    page = fields.Integer(load_default=1, validate=validate.Range(min=1, max=100_000))
    per_page = fields.Integer(load_default=50, validate=validate.Range(min=1, max=200))


class DossierPageSchema(Schema):
    items = fields.List(fields.Nested(DossierSchema))
    page = fields.Integer()
    per_page = fields.Integer()
    total = fields.Integer()


class ReceiptQuerySchema(Schema):
    secret = fields.String(required=True, validate=validate.Length(min=8, max=64))


class ReceiptSchema(Schema):
    code = fields.String()
    status = fields.String()
    status_label = fields.String()
    deadlines = fields.Nested(DeadlinesSchema)


class LateReportQuerySchema(Schema):
    month = fields.String(required=True, validate=validate.Regexp(
        r"^(19|2[0-9])[0-9]{2}-(0[1-9]|1[0-2])$", error="Tháng theo dạng YYYY-MM (1900-2999)."))
    agency_code = fields.String(validate=AGENCY)
