"""Bearer tokens and roles, without Flask (the web layer's checks: service.web.auth).

A token is shown once, when it is created; the database keeps only its sha256, so a copy of the
database grants nothing. Roles: ``designer`` (edits and publishes forms), ``officer`` (bound to
an agency), ``citizen`` (bound to a personal ID number) and ``auditor``.
"""

from __future__ import annotations

import hashlib
import re
import secrets
import time
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from service.errors import Unauthenticated
from storage.models import ApiToken, utcnow

ROLES = ("designer", "officer", "citizen", "auditor")
PERSONAL_ID = re.compile(r"^[0-9]{12}$")
AGENCY_CODE = re.compile(r"^[A-Za-z0-9._-]{1,40}$")
TOKEN_PREFIX = "tk_"


@dataclass(frozen=True)
class Principal:
    token_id: int
    role: str
    label: str
    agency_code: str | None
    personal_id: str | None

    @property
    def actor(self) -> str:
        return f"{self.role}:{self.label}"


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_token(session: Session, role: str, label: str, agency_code: str | None = None,
                 personal_id: str | None = None) -> tuple[ApiToken, str]:
    """Create a token; returns the row and the token itself, which is not stored."""
    if role not in ROLES:
        raise ValueError(f"unknown role {role!r}; one of {', '.join(ROLES)}")
    if role == "officer" and not (agency_code and AGENCY_CODE.match(agency_code)):
        raise ValueError("an officer token needs --agency (letters, digits, '.', '_', '-')")
    if role == "citizen" and not (personal_id and PERSONAL_ID.match(personal_id)):
        raise ValueError("a citizen token needs --personal-id: a 12-digit personal ID number")
    if role != "officer" and agency_code:
        raise ValueError("--agency applies to officer tokens only")
    if role != "citizen" and personal_id:
        raise ValueError("--personal-id applies to citizen tokens only")
    if not label or len(label) > 200:
        raise ValueError("--label is required (at most 200 characters)")
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    row = ApiToken(token_hash=hash_token(token), role=role, label=label,
                   agency_code=agency_code, personal_id=personal_id)
    session.add(row)
    session.flush()
    return row, token


def revoke_token(session: Session, token_id: int) -> bool:
    row = session.get(ApiToken, token_id)
    if row is None or row.revoked_at is not None:
        return False
    row.revoked_at = utcnow()
    _recent.clear()
    return True


#: Principals recently authenticated, by token hash, with when to look again. Other processes
#: (gunicorn workers) see a revocation within this many seconds.
CACHE_SECONDS = 5.0
_recent: dict[str, tuple[Principal, float]] = {}


def authenticate(session: Session, header: str | None) -> Principal | None:
    """The principal for an ``Authorization`` header; None when there is no header. A header
    that is present but wrong is an error, never silently anonymous."""
    if not header:
        return None
    scheme, _, token = header.partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token.startswith(TOKEN_PREFIX) or len(token) > 200:
        raise Unauthenticated("unauthenticated",
                              "Mã truy cập không hợp lệ: dùng 'Authorization: Bearer <mã>'.",
                              "Invalid credentials: use 'Authorization: Bearer <token>'.")
    digest = hash_token(token)
    cached = _recent.get(digest)
    if cached is not None and cached[1] > time.monotonic():
        return cached[0]
    row = session.scalar(select(ApiToken).where(ApiToken.token_hash == digest))
    if row is None or row.revoked_at is not None:
        _recent.pop(digest, None)
        raise Unauthenticated("unauthenticated", "Mã truy cập không đúng hoặc đã bị thu hồi.",
                              "Unknown or revoked token.")
    principal = Principal(row.id, row.role, row.label, row.agency_code, row.personal_id)
    if len(_recent) > 10_000:
        _recent.clear()
    _recent[digest] = (principal, time.monotonic() + CACHE_SECONDS)
    return principal
