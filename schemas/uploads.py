"""Files citizens upload for attachment fields (where nothing digital exists)."""

from marshmallow import Schema, fields, validate


class UploadQuerySchema(Schema):
    file_name = fields.String(validate=validate.Length(max=255), metadata={
        "description": "The file's name as the citizen knows it (kept without directories "
                       "or control characters); a name of its type when not given"})


class UploadSchema(Schema):
    document_id = fields.String(metadata={
        "description": "Random public id (a UUID): reference it in an attachment field as "
                       "{\"document_id\": ...}"})
    file_name = fields.String()
    media_type = fields.String(metadata={
        "description": "The type the bytes show: application/pdf, image/jpeg or image/png"})
    size = fields.Integer(metadata={"description": "In bytes"})
    sha256 = fields.String()
