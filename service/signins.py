"""Browser sessions (who is signed in to the pages) and the form kept across an expired one,
without Flask: the web layer's ``service.web.pages.sessions`` holds the cookie side.

Only the sha256 of a session id or a stash key is stored, as for API tokens: a copy of the
database opens no session and gives back no stashed form."""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from storage.models import PageStash, WebSession


def digest(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def open_session(session: Session, sid: str, at: datetime, lifetime: timedelta,
                 **person: Any) -> WebSession:
    """Record a new browser session under ``sid`` (its hash), for ``lifetime`` at most."""
    row = WebSession(sid_hash=digest(sid), created_at=at, last_seen_at=at,
                     expires_at=at + lifetime, **person)
    session.add(row)
    session.flush()
    return row


def find(session: Session, sid: str) -> WebSession | None:
    """The session of ``sid``, ended or not (the caller checks)."""
    return session.scalar(select(WebSession).where(WebSession.sid_hash == digest(sid)))


def touch(session: Session, session_id: int, at: datetime) -> None:
    row = session.get(WebSession, session_id)
    if row is not None:
        row.last_seen_at = at


def close(session: Session, sid: str, at: datetime) -> None:
    """End the session of ``sid`` (sign-out); nothing when it is unknown or already ended."""
    row = find(session, sid)
    if row is not None and row.ended_at is None:
        row.ended_at = at


def stash(session: Session, key: str, path: str, fields: list[list[str]], at: datetime,
          lifetime: timedelta) -> None:
    """Keep ``fields`` posted to ``path`` under ``key`` (its hash) until ``at + lifetime``;
    expired stashes are deleted on the way."""
    session.execute(delete(PageStash).where(PageStash.expires_at < at))
    session.add(PageStash(key_hash=digest(key), path=path[:500], payload={"fields": fields},
                          expires_at=at + lifetime))


def take(session: Session, key: str, path: str, at: datetime) -> list[list[str]] | None:
    """The fields stashed under ``key`` for ``path``, deleted on reading; None when there
    are none (another page's, expired, unknown)."""
    row = session.scalar(select(PageStash).where(PageStash.key_hash == digest(key)))
    if row is None or row.path != path or row.expires_at < at:
        return None
    fields = list(row.payload.get("fields", []))
    session.delete(row)
    return fields
