"""The errors the domain speaks in, without Flask and without HTTP: operations raise a
:class:`DomainError` of the kind that fits (not found, not allowed, conflict, version
mismatch, invalid data, unavailable...). The web layer (service.web.errors) maps each kind to
its HTTP status in one table and renders the one JSON error shape; the command line
(service.cli) maps each kind to a message and an exit code.
"""

from __future__ import annotations

from typing import Any


class DomainError(Exception):
    """An operation refused: ``code`` is stable and machine-readable, ``message`` Vietnamese,
    ``message_en`` English; ``field`` the input at fault, ``errors`` one entry per problem,
    ``retry_after`` how many seconds to wait before trying again (if it is worth it)."""

    #: the ``retry_after`` of an error that does not say
    default_retry_after: int | None = None

    def __init__(self, code: str, message: str, message_en: str,
                 field: str | None = None, errors: list[dict[str, Any]] | None = None,
                 retry_after: int | None = None):
        super().__init__(message_en)
        self.code = code
        self.message = message
        self.message_en = message_en
        self.field = field
        self.errors = errors or []
        self.retry_after = retry_after if retry_after is not None else self.default_retry_after


class NotFound(DomainError):
    """The thing named does not exist (or the caller may not know it does)."""


class Unauthenticated(DomainError):
    """The caller's credentials are missing, malformed, unknown or revoked."""


class NotAllowed(DomainError):
    """The caller may not do this."""


class Conflict(DomainError):
    """The operation does not fit the current state (a transition from the wrong status, a
    version that exists already, a change made meanwhile by someone else)."""


class Gone(DomainError):
    """The thing existed but is no longer available (an expired or revoked link)."""


class VersionMismatch(DomainError):
    """The caller named a version of the thing that is no longer the current one."""


class PreconditionRequired(DomainError):
    """The caller must name the version it acts on, and did not."""


class Malformed(DomainError):
    """The input cannot even be read (not the syntax it claims)."""


class TooLarge(DomainError):
    """The input is beyond the size the service accepts."""


class InvalidData(DomainError):
    """The input is readable but wrong: ``errors`` lists the problems."""


class TooManyRequests(DomainError):
    """The caller asked too often; ``retry_after`` says when to come back."""


class Unavailable(DomainError):
    """A service the operation needs (signing, time-stamping, the store, the database, the
    PDF sandbox) is not available now; nothing was done. Retry after ``retry_after`` seconds
    (5 unless the error knows better)."""

    default_retry_after = 5


def not_found(what: str, what_en: str) -> NotFound:
    return NotFound("not_found", f"Không tìm thấy {what}.", f"{what_en} not found.")
