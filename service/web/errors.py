"""One JSON error shape for every error the API returns, and the one table (``STATUS``) of the
HTTP status of each kind of domain error (service.errors); :class:`ApiError` is the web's own
error, for what is HTTP's alone (a media type, a body the door cannot read, a failure of the
service itself), and carries its status.

``{"code": ..., "message": <Vietnamese>, "message_en": <English>, "field": <path or null>,
"errors": [<the same shape, one per problem>], "request_id": ...}``. Codes are stable and
machine-readable; messages are for people.
"""

from __future__ import annotations

from typing import Any

from flask import g, jsonify
from werkzeug.exceptions import HTTPException

from service.errors import (
    Conflict,
    DomainError,
    Gone,
    InvalidData,
    Malformed,
    NotAllowed,
    NotFound,
    PreconditionRequired,
    TooLarge,
    TooManyRequests,
    Unauthenticated,
    Unavailable,
    VersionMismatch,
)

#: the one table: the HTTP status of each kind of domain error (the first of an error's classes
#: found here, in method resolution order)
STATUS: dict[type[DomainError], int] = {
    Malformed: 400,
    Unauthenticated: 401,
    NotAllowed: 403,
    NotFound: 404,
    Conflict: 409,
    Gone: 410,
    VersionMismatch: 412,
    TooLarge: 413,
    InvalidData: 422,
    PreconditionRequired: 428,
    TooManyRequests: 429,
    Unavailable: 503,
}


class ApiError(DomainError):
    """An error that is HTTP's own (the request's media type, its size at the door, a failure
    of the service itself): it carries its status."""

    def __init__(self, status: int, code: str, message: str, message_en: str,
                 field: str | None = None, errors: list[dict[str, Any]] | None = None,
                 retry_after: int | None = None):
        super().__init__(code, message, message_en, field=field, errors=errors,
                         retry_after=retry_after if retry_after is not None
                         else 5 if status == 503 else None)
        self.http_status = status


def status_of(err: DomainError) -> int:
    if isinstance(err, ApiError):
        return err.http_status
    for kind in type(err).__mro__:
        if kind in STATUS:
            return STATUS[kind]
    return 500


# Vietnamese and English wording of the errors that HTTP itself raises.
_HTTP: dict[int, tuple[str, str, str]] = {
    400: ("bad_request", "Yêu cầu không hợp lệ.", "Bad request."),
    401: ("unauthenticated", "Cần đăng nhập: thiếu hoặc sai mã truy cập (Bearer token).",
          "Authentication required: missing or invalid bearer token."),
    403: ("forbidden", "Bạn không có quyền thực hiện thao tác này.",
          "You are not allowed to do this."),
    404: ("not_found", "Không tìm thấy.", "Not found."),
    405: ("method_not_allowed", "Phương thức không được hỗ trợ.", "Method not allowed."),
    406: ("not_acceptable", "Định dạng yêu cầu không được hỗ trợ.", "Not acceptable."),
    409: ("conflict", "Xung đột với trạng thái hiện tại.", "Conflict with the current state."),
    412: ("precondition_failed", "Dữ liệu đã thay đổi; hãy tải lại.", "Precondition failed."),
    413: ("too_large", "Yêu cầu quá lớn.", "Request too large."),
    415: ("unsupported_media_type", "Kiểu nội dung không được hỗ trợ.",
          "Unsupported media type."),
    422: ("invalid", "Dữ liệu không hợp lệ.", "Unprocessable entity."),
    429: ("too_many_requests", "Quá nhiều yêu cầu.", "Too many requests."),
    500: ("internal_error", "Lỗi hệ thống; vui lòng thử lại sau.", "Internal server error."),
}


def body(status: int, code: str, message: str, message_en: str, field: str | None = None,
         errors: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    return {
        "code": code,
        "message": message,
        "message_en": message_en,
        "field": field,
        "errors": errors or [],
        "request_id": getattr(g, "request_id", None),
    }


def respond(err: DomainError):
    status = status_of(err)
    resp = jsonify(body(status, err.code, err.message, err.message_en, err.field, err.errors))
    resp.status_code = status
    if status == 401:
        resp.headers["WWW-Authenticate"] = 'Bearer realm="tokhai"'
    if err.retry_after is not None:
        resp.headers["Retry-After"] = str(err.retry_after)
    return resp


def from_http(exc: HTTPException):
    status = exc.code or 500
    code, message, message_en = _HTTP.get(status, _HTTP[500] if status >= 500 else _HTTP[400])
    errors: list[dict[str, Any]] = []
    data = getattr(exc, "data", None) or {}
    messages = data.get("messages") if isinstance(data, dict) else None
    if messages:  # webargs/marshmallow validation: {"json": {"field": ["msg"]}}
        for location, fields in messages.items():
            for name, msgs in _flatten(fields):
                for m in msgs:
                    errors.append({"code": "invalid", "field": f"{location}.{name}",
                                   "message": m, "message_en": m})
    field = errors[0]["field"] if len(errors) == 1 else None
    resp = jsonify(body(status, code, message, message_en, field, errors))
    resp.status_code = status
    for key, value in (exc.get_headers() if status in (401, 405) else []):
        if key.lower() in ("www-authenticate", "allow"):
            resp.headers[key] = value
    if status == 401:
        resp.headers["WWW-Authenticate"] = 'Bearer realm="tokhai"'
    return resp


def _flatten(fields: Any, prefix: str = "") -> list[tuple[str, list[str]]]:
    if isinstance(fields, list):
        return [(prefix or "_", [str(m) for m in fields])]
    out: list[tuple[str, list[str]]] = []
    for key, value in fields.items():
        out.extend(_flatten(value, f"{prefix}.{key}" if prefix else str(key)))
    return out
