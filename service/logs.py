"""JSON logs, one object per line, each carrying the request id of the request it belongs to.

Nothing secret or personal reaches a log line, whatever a call site passes: the formatter
redacts every field of every record (the message, ``extra`` fields, tracebacks) on the way
out, so one careless ``log.info(...)`` cannot leak. What it removes:

- access tokens (``tk_...``, ``Bearer ...``), download-link tokens (the path segment after
  ``/repository/links/`` and any itsdangerous-signed value) and secret-bearing query
  parameters (``secret=``, ``token=``, ``personal_id=``, presigned-URL signatures...);
- personal numbers: runs of 9 to 12 digits standing alone (personal ID numbers, the old
  9-digit ID cards, social-insurance and phone numbers) become ``id:<keyed hash>``. A keyed
  hash rather than a ``***1234`` tail: the same person gives the same hash in every line (an
  investigation can follow one person through the logs, and someone holding the key can find
  the lines about a given number), while the logs alone reveal no digit. The key is derived
  from the installation's secret (:func:`use_key`), so the hash cannot be reversed by trying
  the 10^10 plausible numbers;
- what the database puts in its error messages: SQL parameters are never rendered (the
  engine hides them, storage.db), and PostgreSQL's ``DETAIL``/``CONTEXT`` lines ("Key
  (personal_id)=(...) already exists", "Failing row contains (<name>, ...)") and quoted
  values ("invalid input syntax for type integer: "<value>"") are cut from database
  exceptions and from any text that carries one;
- values of fields whose name says they are secret (``token``, ``secret``, ``password``...).

Integers and other non-text values are kept as they are: identifiers of people are text.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import re
import secrets
import sys
import traceback
from datetime import date, datetime, time
from types import TracebackType
from typing import IO, Any

from pythonjsonlogger.json import JsonFormatter

#: what replaces a secret
MASK = "***"

_TOKEN = re.compile(r"tk_[A-Za-z0-9_-]{4,}")
_BEARER = re.compile(r"(?i)\b(bearer\s+)[A-Za-z0-9._~+/=-]{8,}")
_LINK_PATH = re.compile(r"(/repository/links/)[^/?#\s\"']+")
# itsdangerous: base64url JSON payload ("eyJ"...), timestamp, signature
_SIGNED = re.compile(r"eyJ[A-Za-z0-9_-]{4,}(?:\.[A-Za-z0-9_-]+){1,2}")
_QUERY_SECRET = re.compile(
    r"(?i)\b(secret|token|personal_id|citizen_id|owner_id|password|signature|key|"
    r"x-amz-signature|x-amz-credential|x-amz-security-token)=[^&\s\"'#]+")
# a number standing alone: not part of a word, a hex string or a UUID's last group
_PERSONAL_NUMBER = re.compile(r"(?<![0-9A-Za-z-])\d{9,12}(?![0-9A-Za-z])")
# lines of database errors that quote row values
_DB_DETAIL = re.compile(r"^\s*(DETAIL|CONTEXT):.*$|^\[parameters: .*$", re.MULTILINE)
_QUOTED = re.compile(r"\"([^\"\n]*)\"|'([^'\n]*)'")
_IDENTIFIER = re.compile(r"[a-z_][a-z0-9_.$]*")
#: extra fields whose value is replaced whole, by their name
_SECRET_FIELD = re.compile(
    r"(?i)(^|_)(token|secret|password|passwd|authorization|cookie|secret_key|access_key)s?$")
# str() of a SQLAlchemy error: "(psycopg.errors.UniqueViolation) ...\n[SQL: ...]"
_RENDERED_DB_ERROR = re.compile(r"^\([\w.]+\) .*\[SQL:", re.DOTALL)

_HEX_AS_LETTERS = str.maketrans("0123456789", "ghijklmnop")
_key = secrets.token_bytes(32)  # until use_key: hidden, but not comparable across processes


def use_key(secret: str) -> None:
    """Key the hashes of personal numbers with (a derivation of) the installation's secret, so
    that every worker of one installation hashes a number alike."""
    global _key
    _key = hmac.new(secret.encode(), b"tokhai log redaction", hashlib.sha256).digest()


def pseudonym(number: str) -> str:
    """The stable, keyed stand-in for a personal number in logs: 48 bits of the keyed hash,
    written in the letters a to p (digits would read as a number to redact again)."""
    digest = hmac.new(_key, number.encode(), hashlib.sha256).hexdigest()[:12]
    return "id:" + digest.translate(_HEX_AS_LETTERS)


def _mask_quoted(match: re.Match[str]) -> str:
    inner = match.group(1) if match.group(1) is not None else match.group(2)
    quote = match.group(0)[0]
    # names of constraints, columns, tables and types are kept: they say what went wrong
    return match.group(0) if _IDENTIFIER.fullmatch(inner) else f"{quote}{MASK}{quote}"


def database_error_text(text: str) -> str:
    """A database error message without the values it quotes (kept: the SQL, the names)."""
    lines = [line if line.startswith("[SQL:") else _QUOTED.sub(_mask_quoted, line)
             for line in _DB_DETAIL.sub("", text).splitlines() if line.strip()]
    return "\n".join(lines)


def redact(text: str) -> str:
    """``text`` without tokens, link tokens, secret query values, personal numbers and the
    value-quoting lines of database errors."""
    if _RENDERED_DB_ERROR.match(text):
        text = database_error_text(text)
    text = _DB_DETAIL.sub("", text)
    text = _TOKEN.sub("tk_" + MASK, text)
    text = _BEARER.sub(r"\1" + MASK, text)
    text = _LINK_PATH.sub(r"\1" + MASK, text)
    text = _SIGNED.sub(MASK, text)
    text = _QUERY_SECRET.sub(lambda m: f"{m.group(1)}={MASK}", text)
    return _PERSONAL_NUMBER.sub(lambda m: pseudonym(m.group(0)), text)


def _is_database_error(exc: BaseException) -> bool:
    module = type(exc).__module__
    return module.split(".")[0] in ("sqlalchemy", "psycopg", "psycopg2", "sqlite3")


def describe(exc: BaseException) -> str:
    """An exception as one short, redacted text (for an ``error`` field)."""
    text = database_error_text(str(exc)) if _is_database_error(exc) else str(exc)
    return redact(f"{type(exc).__name__}: {text}")[:300]


def _redact_value(key: str, value: Any) -> Any:
    if value is None or isinstance(value, bool | int | float | datetime | date | time):
        return value
    if _SECRET_FIELD.search(key):
        return MASK
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, BaseException):
        return describe(value)
    if isinstance(value, dict):
        return {k: _redact_value(str(k), v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [_redact_value(key, v) for v in value]
    return redact(str(value))


class RedactingJsonFormatter(JsonFormatter):
    """The JSON formatter, redacting every field and every traceback it writes."""

    def formatException(
            self, ei: tuple[type[BaseException], BaseException, TracebackType | None]
            | tuple[None, None, None]) -> str:
        _, exc, tb = ei
        if exc is None:
            return ""
        text = "".join(traceback.format_exception(type(exc), exc, tb))
        # the messages of database exceptions, anywhere in the chain, without their values
        seen: set[int] = set()
        current: BaseException | None = exc
        while current is not None and id(current) not in seen:
            seen.add(id(current))
            if _is_database_error(current):
                message = str(current)
                if message:
                    text = text.replace(message, database_error_text(message))
            current = current.__cause__ or current.__context__
        return text  # redacted with the other fields, in process_log_record

    def process_log_record(self, log_data: dict[str, Any]) -> dict[str, Any]:
        return {key: _redact_value(key, value) for key, value in log_data.items()}


class RequestIdFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        # Flask only when it is loaded: the command line and the operations log without it
        flask = sys.modules.get("flask")
        record.request_id = (getattr(flask.g, "request_id", "-")
                             if flask is not None and flask.has_request_context() else "-")
        return True


def make_formatter() -> logging.Formatter:
    return RedactingJsonFormatter(
        "%(asctime)s %(levelname)s %(name)s %(message)s %(request_id)s",
        rename_fields={"asctime": "time", "levelname": "level", "name": "logger"},
    )


def make_handler(stream: IO[str]) -> logging.Handler:
    handler = logging.StreamHandler(stream)
    handler.setFormatter(make_formatter())
    handler.addFilter(RequestIdFilter())
    return handler


def configure(level: str) -> None:
    handler = make_handler(sys.stderr)
    root = logging.getLogger()
    for h in list(root.handlers):
        if getattr(h, "_tokhai", False):
            root.removeHandler(h)
    handler._tokhai = True  # type: ignore[attr-defined]  # our mark, for the next configure()
    root.addHandler(handler)
    root.setLevel(level)
    # werkzeug's own access lines are plain text and carry query strings; ours are JSON and
    # redacted (see service.web.create_app)
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
