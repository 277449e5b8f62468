"""The errors operations raise, without Flask: the web layer (service.web.errors) turns them
into the one JSON error shape, the command line into messages.

``ApiError`` still carries an HTTP status; domain errors of their own come with a later step
of the restructuring (issue #11).
"""

from __future__ import annotations

from typing import Any


class ApiError(Exception):
    """An error the API reports to its caller."""

    def __init__(self, status: int, code: str, message: str, message_en: str,
                 field: str | None = None, errors: list[dict[str, Any]] | None = None,
                 retry_after: int | None = None):
        super().__init__(message_en)
        self.status = status
        self.code = code
        self.message = message
        self.message_en = message_en
        self.field = field
        self.errors = errors or []
        #: seconds a client should wait before retrying (sent as Retry-After); every 503 says
        #: when to come back, 5 s unless the error knows better
        self.retry_after = retry_after if retry_after is not None else (
            5 if status == 503 else None)


def not_found(what: str, what_en: str) -> ApiError:
    return ApiError(404, "not_found", f"Không tìm thấy {what}.", f"{what_en} not found.")
