from marshmallow import Schema, fields, validate

from schemas.common import VietnamDateTime
from service.records.templates import TEMPLATES


class DigitiseQuerySchema(Schema):
    kind = fields.String(required=True, validate=validate.OneOf(list(TEMPLATES)), metadata={
        "description": "The official template the document follows"})


class ReadValueSchema(Schema):
    value = fields.Raw(allow_none=True, metadata={"description": "In normal form, or null"})
    text = fields.String(metadata={"description": "As printed"})
    label = fields.String()
    page = fields.Integer()


class DigitisedDocumentSchema(Schema):
    id = fields.String(metadata={"description": "Random public id (a UUID)"})
    agency_code = fields.String(allow_none=True, metadata={
        "description": "The agency that uploaded it; only its officers see and confirm it"})
    kind = fields.String()
    register = fields.String()
    subject = fields.String(allow_none=True)
    sha256 = fields.String()
    status = fields.String(metadata={"description": "pending or confirmed"})
    provenance = fields.String(metadata={"description": "Always 'digitised document'"})
    values = fields.Dict(keys=fields.String(), values=fields.Nested(ReadValueSchema))
    problems = fields.List(fields.Dict(), metadata={
        "description": "Values not read, and flags: identity_mismatch (a printed name, birth "
                       "date or sex that differs from the population register's record of "
                       "the printed personal ID number), identity_unverified (the register "
                       "could not be read)"})
    identity = fields.Dict(allow_none=True, metadata={
        "description": "The printed person compared with the population register: "
                       "{personal_id, result: match | mismatch | not_in_register | "
                       "unavailable | not_checked, fields: [the fields that differ]}"})
    reason = fields.String(allow_none=True, metadata={
        "description": "The officer's reason for confirming a flagged document"})
    uploaded_by = fields.String()
    confirmed_by = fields.String(allow_none=True)
    confirmed_at = VietnamDateTime(allow_none=True)


class ConfirmSchema(Schema):
    subject = fields.String(metadata={
        "description": "The subject as the document shows it, when it could not be read; "
                       "when it was read, it may only be repeated"})
    values = fields.Dict(load_default=dict, metadata={
        "description": "Corrections: field -> value, in the register's vocabulary; only "
                       "fields the document's kind evidences and that were read from it"})
    reason = fields.String(validate=[
        validate.Length(min=5, max=500, error="Lý do dài từ 5 đến 500 ký tự."),
        validate.Regexp(r"^[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]*$",
                        error="Lý do không được chứa ký tự điều khiển.")], metadata={
        "description": "Why the officer confirms a document whose printed person (name, "
                       "birth date, sex) the population register does not bear out, or could "
                       "not be checked against it; required then, kept with the document and "
                       "in the record-change trail"})
