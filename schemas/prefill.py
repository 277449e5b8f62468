from marshmallow import Schema, fields, validate

PERSONAL_ID = validate.Regexp(r"^[0-9]{12}$", error="Số định danh cá nhân gồm đúng 12 chữ số.")


class PrefillQuerySchema(Schema):
    personal_id = fields.String(validate=PERSONAL_ID, metadata={
        "description": "Whose records: only the caller's own (a citizen's token)"})


class ReportQuerySchema(Schema):
    personal_id = fields.String(validate=PERSONAL_ID, metadata={
        "description": "Add what prefill actually fills for this citizen (designer, auditor, "
                       "or the citizen themself)"})


class ProvenanceSchema(Schema):
    source = fields.String()
    register = fields.String()
    register_title = fields.String()
    record = fields.String()
    record_id = fields.String()
    retrieved_at = fields.String()
    mode = fields.String(metadata={"description": "verified or suggested"})
    person = fields.String()
    provenance = fields.String(metadata={"description": "e.g. digitised:<id>, result:<id>"})


class FailedSourceSchema(Schema):
    source = fields.String()
    reason = fields.String(metadata={
        "description": "timeout, unreachable, server_error, malformed, oversized, circuit_open"})


class MissingSchema(Schema):
    pointer = fields.String()
    register = fields.String()
    person = fields.String()
    reason = fields.String(metadata={"description": "no_linked_person, no_record, source_failed"})


class PrefillSchema(Schema):
    form_id = fields.String()
    version = fields.Integer()
    data = fields.Dict(metadata={"description": "Form data with every field prefill could fill"})
    provenance = fields.Dict(keys=fields.String(), values=fields.Nested(ProvenanceSchema),
                             metadata={"description": "By JSON pointer of the filled field"})
    to_type = fields.List(fields.String(), metadata={"description": "Pointers still to type"})
    failed_sources = fields.List(fields.Nested(FailedSourceSchema))
    missing = fields.List(fields.Nested(MissingSchema))


class SubmissionSchema(Schema):
    data = fields.Dict(required=True, metadata={"description": "The form data"})


class FieldErrorSchema(Schema):
    field = fields.String(metadata={"description": "JSON pointer"})
    code = fields.String()
    message = fields.String()
    message_en = fields.String()


class CheckSchema(Schema):
    field = fields.String()
    result = fields.String(metadata={"description": "match, mismatch or no_record"})


class ValidationResultSchema(Schema):
    valid = fields.Boolean()
    errors = fields.List(fields.Nested(FieldErrorSchema))
    checks = fields.List(fields.Nested(CheckSchema), metadata={
        "description": "What the citizen typed about people not linked to them, compared with "
                       "the registers without revealing any value"})
