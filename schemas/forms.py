from marshmallow import Schema, fields, validate

from schemas.common import VietnamDateTime


class FormVersionSummarySchema(Schema):
    form_id = fields.String(required=True)
    version = fields.Integer(required=True)
    status = fields.String(required=True, validate=validate.OneOf(["draft", "published"]))
    title = fields.String(required=True)
    procedure_code = fields.String()
    legal_basis = fields.String()
    agency_level = fields.String()
    published_at = VietnamDateTime(allow_none=True)
    updated_at = VietnamDateTime()
    links = fields.Dict(keys=fields.String(), values=fields.String())


class FormSchema(Schema):
    id = fields.String(required=True)
    title = fields.String(required=True)
    latest_published_version = fields.Integer(allow_none=True)
    versions = fields.List(fields.Nested(FormVersionSummarySchema))


class FormVersionSchema(FormVersionSummarySchema):
    definition = fields.Dict(required=True, metadata={"description": "The definition as data"})
    source = fields.String(metadata={"description": "The definition as the designer wrote it"})
    source_format = fields.String()
    digest = fields.String()
    created_by = fields.String(allow_none=True)
    published_by = fields.String(allow_none=True)


class SchemaQuerySchema(Schema):
    draft = fields.String(load_default="2020-12", validate=validate.OneOf(["2020-12", "07"]),
                          metadata={"description": "JSON Schema dialect: 2020-12 or 07"})


class TrimmingFieldSchema(Schema):
    path = fields.String()
    label = fields.String()
    section = fields.String()
    official = fields.Boolean()
    conditional = fields.Boolean()
    status = fields.String(metadata={
        "description": "typed, verified, suggested, computed (never typed) or unidentified "
                       "(bound, but the section asks who the person is: counted typed)"})
    type = fields.String()
    doubt = fields.String(metadata={"description": "typed_identity, typed_relationship or "
                                                   "check_only: why a bound field counts typed"})
    by = fields.String(metadata={"description": "the answer choosing the record"})
    records = fields.List(fields.String())
    choices = fields.List(fields.Dict(), metadata={
        "description": "a binding chosen by an answer: every record it may read, each with the "
                       "answer that picks it (answer, answer_label, record, record_label, "
                       "source)"})
    record = fields.String()
    source = fields.String()
    person = fields.Dict()


class DroppedFieldSchema(Schema):
    label = fields.String()
    section = fields.String(allow_none=True)
    reason = fields.String()
    reason_label = fields.String()
    note = fields.String(allow_none=True)


class TrimmingReportSchema(Schema):
    form_id = fields.String()
    version = fields.Integer()
    title = fields.String()
    basis = fields.String()
    counts = fields.Dict(keys=fields.String(), values=fields.Integer())
    reduction_percent = fields.Float()
    target_percent = fields.Float()
    meets_target = fields.Boolean()
    verdict = fields.String()
    fields_ = fields.List(fields.Nested(TrimmingFieldSchema), data_key="fields",
                          attribute="fields")
    dropped = fields.List(fields.Nested(DroppedFieldSchema))
    assumptions = fields.List(fields.Dict(keys=fields.String(), values=fields.String()),
                              metadata={"description": "What the figure assumes: {code, text}"})
    actual = fields.Dict(metadata={
        "description": "What prefill actually fills for one citizen (with personal_id)"})


class UnitSchema(Schema):
    code = fields.String(required=True)
    name = fields.String(required=True)
    kind = fields.String(required=True)
