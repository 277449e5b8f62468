"""The document repository: documents, consents and the access log."""

from marshmallow import Schema, fields, validate

from schemas.common import DATES, TIMES, VietnamDateTime
from schemas.documents import DocumentSchema

_PURPOSE = {"description": "Why an agency reads the document: dossier:<code> or "
                           "procedure:<code>; must match a consent unless the agency issued it"}


class RepositoryQuerySchema(Schema):
    procedure_code = fields.String(validate=validate.Length(max=40))
    issued_from = fields.Date(validate=DATES,
                              metadata={"description": "Issued on or after (ISO 8601 date)"})
    issued_to = fields.Date(validate=DATES,
                            metadata={"description": "Issued before (ISO 8601 date)"})
    page = fields.Integer(load_default=1, validate=validate.Range(min=1, max=100_000))
    per_page = fields.Integer(load_default=20, validate=validate.Range(min=1, max=100))


class RepositoryDocumentSchema(DocumentSchema):
    title = fields.String(allow_none=True)
    procedure_code = fields.String(allow_none=True)
    document_class = fields.String(allow_none=True)
    file_name = fields.String(allow_none=True)
    retain_until = VietnamDateTime(allow_none=True)
    legal_hold = fields.Boolean()
    content_url = fields.String()
    data = fields.Dict(allow_none=True, metadata={
        "description": "The structured data embedded in the PDF (ket-qua.json)"})


class RepositoryPageSchema(Schema):
    items = fields.List(fields.Nested(RepositoryDocumentSchema))
    page = fields.Integer()
    per_page = fields.Integer()
    total = fields.Integer()


class AccessQuerySchema(Schema):
    purpose = fields.String(validate=validate.Regexp(r"^(dossier|procedure):[A-Za-z0-9._-]{1,60}$"),
                            metadata=_PURPOSE)


class ContentQuerySchema(AccessQuerySchema):
    redirect = fields.Boolean(load_default=False, metadata={
        "description": "Answer 302 to a short-lived presigned URL of the store, when it gives "
                       "one, instead of streaming"})


class ConsentInputSchema(Schema):
    agency_code = fields.String(required=True, validate=validate.Regexp(r"^[A-Z0-9-]{2,40}$"))
    purpose_kind = fields.String(required=True, validate=validate.OneOf(["dossier", "procedure"]))
    purpose = fields.String(required=True, validate=validate.Regexp(r"^[A-Za-z0-9._-]{1,60}$"))
    document_id = fields.String(validate=validate.Length(equal=36), metadata={
        "description": "One document; omitted: every document of the owner"})
    expires_at = fields.AwareDateTime(required=True, validate=TIMES, metadata={
        "description": "When the consent ends (at most a year ahead)"})


class ConsentSchema(ConsentInputSchema):
    id = fields.Integer()
    # always present, null for a consent covering every document (like revoked_at): one
    # shape for clients generated from the OpenAPI document
    document_id = fields.String(allow_none=True, metadata={
        "description": "The one document consented to; null: every document of the owner"})
    owner_id = fields.String()
    granted_at = VietnamDateTime()
    revoked_at = VietnamDateTime(allow_none=True)
    active = fields.Boolean()


class AuditQuerySchema(Schema):
    document_id = fields.String(validate=validate.Length(max=64))
    actor = fields.String(validate=validate.Length(max=120))
    outcome = fields.String(validate=validate.OneOf([
        "allowed", "denied", "not_found", "refused",  # documents; trimming-report lookups
        "match", "no_match", "unavailable", "rate_limited"]))  # person checks
    after = fields.Integer(load_default=0, validate=validate.Range(min=0, max=2**62))
    limit = fields.Integer(load_default=100, validate=validate.Range(min=1, max=1000))


class AccessEntrySchema(Schema):
    id = fields.Integer()
    at = VietnamDateTime()
    actor = fields.String()
    role = fields.String()
    agency_code = fields.String(allow_none=True)
    purpose = fields.String(allow_none=True)
    document_id = fields.String(allow_none=True)
    owner_id = fields.String(allow_none=True)
    action = fields.String()
    outcome = fields.String()
    reason = fields.String(allow_none=True)


class AccessPageSchema(Schema):
    entries = fields.List(fields.Nested(AccessEntrySchema))
    next_after = fields.Integer()


class LinkSchema(Schema):
    url = fields.String(metadata={"description": "GET it without a token, until expires_at"})
    expires_at = VietnamDateTime()


class RecordChangeQuerySchema(Schema):
    register = fields.String(validate=validate.Length(max=32))
    subject = fields.String(validate=validate.Length(max=13),
                            metadata={"description": "Personal ID number or enterprise code"})
    document_id = fields.String(validate=validate.Length(max=64))
    after = fields.Integer(load_default=0, validate=validate.Range(min=0, max=2**62))
    limit = fields.Integer(load_default=100, validate=validate.Range(min=1, max=1000))


class RecordChangeSchema(Schema):
    id = fields.Integer(required=True)
    at = VietnamDateTime(required=True)
    actor = fields.String(required=True)
    role = fields.String(required=True)
    agency_code = fields.String(allow_none=True)
    register = fields.String(required=True)
    subject = fields.String(required=True)
    provenance = fields.String(required=True)
    document_id = fields.String(required=True, metadata={
        "description": "The evidence: a digitised document's or a signed result's id"})
    before = fields.Dict(allow_none=True, metadata={
        "description": "The changed fields before (null: there was no record)"})
    after = fields.Dict(required=True)
    corrections = fields.Dict(allow_none=True, metadata={
        "description": "Field -> {read, text, confirmed} where the officer corrected a value"})


class RecordChangePageSchema(Schema):
    entries = fields.List(fields.Nested(RecordChangeSchema), required=True)
    next_after = fields.Integer(required=True)
