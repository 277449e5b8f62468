from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any

from marshmallow import Schema, fields, validate

#: Vietnam time, as service.worktime.VIETNAM (schemas import only plain-data modules)
VIETNAM = timezone(timedelta(hours=7), "Asia/Ho_Chi_Minh")

#: dates and times a caller may send: wide enough for any document, narrow enough that moving
#: them between time zones (Vietnam, UTC) never leaves the calendar (year 1 and 9999 do)
DATES = validate.Range(min=date(1900, 1, 1), max=date(9998, 12, 31),
                       error="Ngày phải từ 01/01/1900 đến 31/12/9998.")
TIMES = validate.Range(min=datetime(1900, 1, 1, tzinfo=UTC),
                       max=datetime(9998, 12, 31, tzinfo=UTC),
                       error="Thời điểm phải từ năm 1900 đến năm 9998.")


class VietnamDateTime(fields.DateTime):
    """A moment as every answer of the API writes it: ISO 8601 in Vietnam time, ``+07:00``,
    the same whether it was just computed or read back from the database (which keeps UTC).
    A moment without a zone is taken as UTC, as the database gives it."""

    def _serialize(self, value: Any, attr: str | None, obj: Any, **kwargs: Any) -> Any:
        if isinstance(value, datetime):
            moment = value if value.tzinfo is not None else value.replace(tzinfo=UTC)
            value = moment.astimezone(VIETNAM)
        return super()._serialize(value, attr, obj, **kwargs)


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
