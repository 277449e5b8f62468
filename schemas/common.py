from marshmallow import Schema, fields


class ProblemSchema(Schema):
    code = fields.String(required=True)
    field = fields.String(allow_none=True)
    message = fields.String(required=True)
    message_en = fields.String()
    file = fields.String()
    path = fields.String()


class ErrorSchema(Schema):
    """The one error shape of the API."""

    code = fields.String(required=True, metadata={"description": "Stable machine-readable code"})
    message = fields.String(required=True, metadata={"description": "Message in Vietnamese"})
    message_en = fields.String(required=True, metadata={"description": "English fallback"})
    field = fields.String(allow_none=True,
                          metadata={"description": "Path of the offending field, if one"})
    errors = fields.List(fields.Nested(ProblemSchema), metadata={"description": "Every problem"})
    request_id = fields.String(allow_none=True)


class HealthSchema(Schema):
    status = fields.String(required=True)
    database = fields.String()
