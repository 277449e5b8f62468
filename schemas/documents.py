"""Signed documents (results and letters) and verification reports."""

from marshmallow import Schema, fields, validate

from schemas.common import VietnamDateTime
from service.pki.levels import LEVELS


class IssueSchema(Schema):
    level = fields.String(validate=validate.OneOf(LEVELS), metadata={
        "description": "PAdES baseline level; default the configured one (B-LT). B-LTA adds "
                       "a document timestamp."})


class DocumentSchema(Schema):
    document_id = fields.String(metadata={"description": "Public id, printed and in the QR"})
    kind = fields.String(metadata={"description": "result or apology_letter"})
    dossier_code = fields.String()
    agency_code = fields.String(allow_none=True)
    owner_id = fields.String(allow_none=True)
    template = fields.String(allow_none=True)
    number = fields.String(allow_none=True, metadata={"description": "Số văn bản"})
    sha256 = fields.String()
    signer = fields.String(allow_none=True)
    level = fields.String(allow_none=True)
    signed_at = VietnamDateTime(allow_none=True)
    timestamp_at = VietnamDateTime(allow_none=True)
    download_url = fields.String()
    verification_url = fields.String()
    archiving = fields.String(metadata={"description": "stored, or pending (the document "
                                                       "waits in the outbox for the store)"})
    stored_at = VietnamDateTime(allow_none=True)


class FindingSchema(Schema):
    code = fields.String()
    message = fields.String()
    message_en = fields.String()


class SignerSchema(Schema):
    common_name = fields.String(allow_none=True)
    organisation = fields.String(allow_none=True)
    subject = fields.String()
    issuer = fields.String()
    serial_number = fields.String()
    valid_from = fields.String()
    valid_to = fields.String()


class TimestampSchema(Schema):
    time = fields.String(allow_none=True)
    valid = fields.Boolean()
    trusted = fields.Boolean()
    authority = fields.String(allow_none=True)


class RevisionSchema(Schema):
    revision = fields.Integer(allow_none=True, metadata={
        "description": "The revision's number (0 is the first); null for bytes appended "
                       "after the last revision"})
    kind = fields.String(metadata={
        "description": "validation_data (a DSS update), document_timestamp, signature or "
                       "other (any other change)"})
    time = fields.String(allow_none=True, metadata={
        "description": "A document timestamp's time"})


class LongTermSchema(Schema):
    basis = fields.String(allow_none=True, metadata={
        "description": "What the judgement of trust and revocation rests on: "
                       "archive_timestamp (a document timestamp), issuance_record (tokhai's "
                       "record of the issued bytes), current (the embedded revocation data is "
                       "still current), signature_timestamp (checked as of the signature "
                       "timestamp with the embedded data); null when not established"})
    time = fields.String(allow_none=True, metadata={
        "description": "The time of that evidence"})
    ades = fields.String(allow_none=True, metadata={
        "description": "pyHanko's ETSI EN 319 102-1 indication with tokhai's evidence: "
                       "PASSED, or INDETERMINATE:<reason> / FAILED:<reason>; null when not "
                       "run (the document carries no revocation data: B-T)"})


class SignatureReportSchema(Schema):
    field = fields.String(allow_none=True)
    readable = fields.Boolean(metadata={
        "description": "The signature's data can be read (false: signature_unreadable, and "
                       "nothing else about it is evaluated)"})
    intact = fields.Boolean(allow_none=True, metadata={
        "description": "The signed bytes are unchanged (null: not evaluated)"})
    valid = fields.Boolean(metadata={"description": "The cryptographic signature checks"})
    signer = fields.Nested(SignerSchema, allow_none=True)
    trusted = fields.Boolean(allow_none=True, metadata={
        "description": "The chain reaches a trust anchor; null when not evaluated (the "
                       "signature does not match the bytes, or cannot be read)"})
    trust_anchor = fields.String(allow_none=True)
    development = fields.Boolean()
    revocation = fields.String(metadata={"description": "good, revoked or unknown (judged "
                                                        "from the document's own data)"})
    signing_time = fields.String(allow_none=True)
    timestamp = fields.Nested(TimestampSchema, allow_none=True)
    level = fields.String(allow_none=True, metadata={
        "description": "B-B, B-T, B-LT, B-LTA (PAdES), PKCS7, or null when invalid"})
    covers = fields.String(allow_none=True, metadata={
        "description": "entire_file, entire_revision, partial"})
    changes_after_signing = fields.String(allow_none=True, metadata={
        "description": "none, validation_data, document_timestamps, new_signatures, "
                       "other_edits (the first four leave the signed content as it was)"})
    later_revisions = fields.List(fields.Nested(RevisionSchema), allow_none=True, metadata={
        "description": "Each revision after the signature's, and what it adds"})
    long_term = fields.Nested(LongTermSchema, allow_none=True)
    problems = fields.List(fields.Nested(FindingSchema))


class VerificationSchema(Schema):
    valid = fields.Boolean(metadata={"description": "Intact, trusted, not revoked, not edited"
                                                    " after signing, and the original when "
                                                    "tokhai issued it"})
    legally_valid = fields.Boolean(metadata={
        "description": "Valid, timestamped, revocation proven, and not a development key"})
    sha256 = fields.String()
    pages = fields.Integer()
    issued_by_tokhai = fields.Boolean()
    document_id = fields.String(allow_none=True)
    matches_original = fields.Boolean(allow_none=True, metadata={
        "description": "These are the bytes tokhai issued, or those bytes with only "
                       "validation data and document timestamps added (see additions); null "
                       "when tokhai did not issue them"})
    additions = fields.List(fields.Nested(RevisionSchema), allow_none=True, metadata={
        "description": "What was added after the bytes tokhai issued (empty: these are "
                       "those bytes); null when the upload does not begin with them"})
    signatures = fields.List(fields.Nested(SignatureReportSchema))
    problems = fields.List(fields.Nested(FindingSchema))
