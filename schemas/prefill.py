from marshmallow import Schema, fields, validate

PERSONAL_ID = validate.Regexp(r"^[0-9]{12}$", error="Số định danh cá nhân gồm đúng 12 chữ số.")


class PrefillQuerySchema(Schema):
    personal_id = fields.String(validate=PERSONAL_ID, metadata={
        "description": "Whose records: only the caller's own (a citizen's token)"})


class ReportQuerySchema(Schema):
    personal_id = fields.String(validate=PERSONAL_ID, metadata={
        "description": "Add what prefill actually fills for this citizen (designer, auditor, "
                       "or the citizen themself)"})
    purpose = fields.String(validate=[
        validate.Length(min=5, max=80, error="Mục đích tra cứu dài từ 5 đến 80 ký tự."),
        validate.Regexp(r"^(?=.*\S)[^\x00-\x1f\x7f-\x9f]+$",
                        error="Mục đích tra cứu không được rỗng hay chứa ký tự điều khiển.")],
        metadata={"description": "Why a designer or auditor looks up a person who is not demo "
                                 "data (5-80 characters); written to the access log with who "
                                 "asked. Required for such a lookup"})


class BasisSchema(Schema):
    relation = fields.String(metadata={
        "description": "The person's link to the citizen in the registers (ward, child, "
                       "household_member…) or the relation chosen"})
    named_by = fields.String(metadata={
        "description": "JSON pointer of the field holding the typed personal ID number"})
    relation_by = fields.String(metadata={
        "description": "JSON pointer of the answer that chose the relation"})


class ProvenanceSchema(Schema):
    source = fields.String()
    register = fields.String()
    register_title = fields.String()
    record = fields.String()
    record_id = fields.String()
    retrieved_at = fields.String()
    mode = fields.String(metadata={"description": "verified or suggested"})
    person = fields.String()
    provenance = fields.String(metadata={
        "description": "Where this field's value came from (each field keeps its own), e.g. "
                       "demo, import:<file>, digitised:<id>, result:<id>; absent when not "
                       "known"})
    basis = fields.Nested(BasisSchema, metadata={
        "description": "Only for a person named by a typed number or chosen by an answer: "
                       "why their records may be read"})


class FailedSourceSchema(Schema):
    source = fields.String()
    reason = fields.String(metadata={
        "description": "timeout, unreachable, server_error, malformed, oversized, circuit_open"})


class MissingSchema(Schema):
    pointer = fields.String()
    register = fields.String()
    person = fields.String()
    reason = fields.String(metadata={
        "description": "no_linked_person, no_record, several_records (the person holds a "
                       "role in several records of a register reached through roles, e.g. "
                       "owns several businesses), source_failed; no_answer (the personal ID "
                       "number naming the section's person, or the answer that picks the "
                       "person or the record, is not given yet); old_id_card (an old 9-digit "
                       "identity card number was given: registers are keyed by 12-digit "
                       "personal ID numbers, so it is not looked up). For a typed number the "
                       "registers do not link to the citizen by a relation the form allows, "
                       "no_linked_person, whether or not the number exists: nothing is read"})


class PrefillSchema(Schema):
    form_id = fields.String()
    version = fields.Integer()
    data = fields.Dict(metadata={"description": "Form data with every field prefill could fill"})
    provenance = fields.Dict(keys=fields.String(), values=fields.Nested(ProvenanceSchema),
                             metadata={"description": "By JSON pointer of the filled field"})
    to_type = fields.List(fields.String(), metadata={"description": "Pointers still to type"})
    failed_sources = fields.List(fields.Nested(FailedSourceSchema))
    missing = fields.List(fields.Nested(MissingSchema))


class PrefillAnswersSchema(Schema):
    answers = fields.Dict(required=True, metadata={
        "description": "The form data typed so far (same shape as `data`): they name the "
                       "people some sections are about, pick the records some fields read, "
                       "and decide which conditional fields are shown"})


class SubmissionSchema(Schema):
    data = fields.Dict(required=True, metadata={"description": "The form data"})


class FieldErrorSchema(Schema):
    field = fields.String(metadata={"description": "JSON pointer"})
    code = fields.String()
    message = fields.String()
    message_en = fields.String()


class CheckSchema(Schema):
    person = fields.String(required=True, metadata={
        "description": "JSON pointer of the person's section, group or item"})
    result = fields.String(required=True, validate=validate.OneOf(
        ["match", "no_match", "unavailable"]), metadata={
        "description": "match: the number is known and every value typed in the fields the "
                       "form marks check_typed equals the register's; no_match: otherwise "
                       "(an unknown number included); unavailable: a register could not be "
                       "read"})


class ValidationResultSchema(Schema):
    valid = fields.Boolean()
    errors = fields.List(fields.Nested(FieldErrorSchema))
    checks = fields.List(fields.Nested(CheckSchema), metadata={
        "description": "One answer per person not linked to the citizen whom they typed in a "
                       "section or group the form marks check_typed; logged and rate limited"})
