"""Who is signed in, in a browser: server-side sessions behind a signed cookie.

The cookie (Flask's signed session, ``Secure``, ``HttpOnly``, ``SameSite=Lax``) holds a random
session id, the CSRF token and the language; the database keeps the id's sha256 with the
person (:class:`storage.models.WebSession`). A session ends at sign-out, after
``TOKHAI_SESSION_IDLE_MINUTES`` without a request, and at the latest ``TOKHAI_SESSION_HOURS``
after sign-in: checked here on every request, so an ended session cannot be replayed from a
copied cookie.

A staff session that came from a mapping (``tokhai staff``, :mod:`service.staff`) ends at
its next request once the mapping is revoked or gives another role or agency: every request
of a staff session signed in through the provider looks its mapping up (one lookup by the
unique index of issuer and subject), so there is no delay. A role taken from the provider's
claims lasts as the session does (the provider is the authority; a mapping granted since
wins). The development sign-in is not governed by mappings.

A page that needs a signed-in person (:func:`signed_in`) sends a stranger to the sign-in page
and back; a form posted after the session ended is kept (:class:`storage.models.PageStash`)
and given back to the page after signing in again, so nothing typed is lost.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from functools import wraps
from typing import Any
from urllib.parse import urlsplit

from flask import current_app, g, redirect, request, session, url_for
from werkzeug.datastructures import MultiDict

from service import signins, staff
from service.dossiers.lifecycle import now
from service.tokens import Principal
from service.web.runtime import current_runtime

#: how long a form posted with an expired session is kept for the same browser
STASH_MINUTES = 60


@dataclass(frozen=True)
class Person:
    """The signed-in person, as the pages know them."""

    session_id: int
    role: str
    name: str
    personal_id: str | None
    agency_code: str | None
    email: str | None
    issuer: str
    #: the provider's subject (``sub``), or the development person's key
    subject: str = ""

    @property
    def principal(self) -> Principal:
        """The same principal an API token gives, so that the pages call the operations
        the API calls, with the same checks. ``token_id`` is negative: a browser session,
        never a token (download links cannot be made from it)."""
        return Principal(token_id=-self.session_id, role=self.role, label=self.name[:100],
                         agency_code=self.agency_code, personal_id=self.personal_id)


def start(*, issuer: str, subject: str, role: str, name: str, personal_id: str | None = None,
          agency_code: str | None = None, email: str | None = None,
          via: str | None = None) -> None:
    """Sign a person in: a new session (a new id, so a session fixed before sign-in is never
    reused) in the database and in the cookie. ``via``: where the role came from
    (``mapping``, ``claim``, ``personal_id``, ``development``), kept in the signed cookie: a
    session from a mapping ends when the mapping goes. The caller commits ``g.db``."""
    settings = current_runtime().settings
    sid = secrets.token_urlsafe(32)
    signins.open_session(
        g.db, sid, now(), timedelta(hours=settings.session_hours), issuer=issuer[:300],
        subject=subject[:255], role=role, name=name[:200], personal_id=personal_id,
        agency_code=agency_code, email=(email or None) and email[:254])
    kept = {k: session[k] for k in ("lang", "stash", "stash_owner") if k in session}
    session.clear()
    session["sid"] = sid
    if via:
        session["via"] = via
    session.update(kept)  # the language, and a form kept while signed out (take_stash)
    session.permanent = True
    g.pop("person", None)


def end() -> None:
    """Sign out: the session ends in the database, the cookie is emptied (the language
    stays). The caller commits ``g.db``."""
    sid = session.get("sid")
    if isinstance(sid, str):
        signins.close(g.db, sid, now())
    language = session.get("lang")
    session.clear()
    if language:
        session["lang"] = language
    g.person = None


def current() -> Person | None:
    """The signed-in person of this request, or None (no session, or one that ended or
    expired). Seeing a live session moves its idle deadline."""
    if "person" in g:
        return g.person
    g.person = None
    sid = session.get("sid")
    if not isinstance(sid, str) or len(sid) > 100:
        return None
    row = signins.find(g.db, sid)
    if row is None or row.ended_at is not None:
        return None
    moment = now()
    idle = timedelta(minutes=current_runtime().settings.session_idle_minutes)
    if moment >= row.expires_at or moment - row.last_seen_at >= idle:
        g.session_expired = True
        return None
    if not _still_granted(row):
        with current_runtime().sessions() as s:
            signins.close(s, sid, moment)
            s.commit()
        g.role_changed = True
        return None
    if moment - row.last_seen_at > timedelta(seconds=60):  # one write a minute at most
        with current_runtime().sessions() as s:
            signins.touch(s, row.id, moment)
            s.commit()
    g.person = Person(row.id, row.role, row.name, row.personal_id, row.agency_code, row.email,
                      row.issuer, row.subject)
    return g.person


def _still_granted(row: Any) -> bool:
    """Whether a session's staff role still holds: a staff session signed in through the
    provider whose subject's mapping was revoked (when the role came from it) or now gives
    another role or agency does not. Citizens' and development sessions always do."""
    if row.role not in staff.STAFF_ROLES or row.issuer == staff.DEVELOPMENT_ISSUER:
        return True
    granted = staff.role_of(g.db, row.issuer, row.subject)
    if granted is None:
        return session.get("via") != "mapping"
    return staff.same_grant(granted, row.role, row.agency_code)


def safe_next(target: str | None, default: str = "/") -> str:
    """A path on this site to go back to after signing in: never another site (an open
    redirect), never a protocol-relative ``//host``."""
    if not target or len(target) > 500 or "\\" in target:
        return default
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return default
    return target


# -- the form kept across an expired session --------------------------------------------------


def _owner(issuer: str, subject: str) -> str:
    """Who a stash is for, as the cookie keeps it: a keyed digest of the person (readable in
    the cookie, so not their identifiers themselves)."""
    return hmac.new(str(current_app.secret_key).encode(), f"{issuer}\n{subject}".encode(),
                    hashlib.sha256).hexdigest()[:32]


def stash_post() -> None:
    """Keep what this POST carried (its fields, not files) for the browser that sent it,
    under a random key in its cookie, for :data:`STASH_MINUTES`; for the person whose
    session had expired (another person signing in on the same browser does not get it)."""
    key = secrets.token_urlsafe(24)
    fields = [[k, v] for k, v in request.form.items(multi=True) if k != "csrf_token"]
    signins.stash(g.db, key, request.path, fields[:2000], now(),
                  timedelta(minutes=STASH_MINUTES))
    g.db.commit()
    session["stash"] = key
    sid = session.get("sid")
    row = signins.find(g.db, sid) if isinstance(sid, str) and len(sid) <= 100 else None
    if row is not None:
        session["stash_owner"] = _owner(row.issuer, row.subject)
    else:
        session.pop("stash_owner", None)


def take_stash() -> MultiDict[str, str] | None:
    """The fields this browser posted to this page when its session had expired, once (the
    stash is deleted on reading), or None."""
    key = session.get("stash")
    if not isinstance(key, str):
        return None
    owner = session.get("stash_owner")
    person = current()
    if owner is not None and (person is None or not hmac.compare_digest(
            str(owner), _owner(person.issuer, person.subject))):
        return None
    fields = signins.take(g.db, key, request.path, now())
    if fields is None:
        return None
    session.pop("stash", None)
    session.pop("stash_owner", None)
    g.db.commit()
    return MultiDict([(str(k), str(v)) for k, v in fields])


def signed_in(*roles: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """A page for signed-in people (of one of ``roles``, or any role when none is given).
    A stranger is sent to sign in and back here; a POST whose session expired is stashed
    first (:func:`stash_post`). A person of another role gets the 403 page."""

    def decorate(view: Callable[..., Any]) -> Callable[..., Any]:
        @wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            person = current()
            if person is None:
                back = request.full_path.rstrip("?") if request.method == "GET" else request.path
                if request.method == "POST":
                    stash_post()
                reason = ("expired" if g.get("session_expired")
                          else "role" if g.get("role_changed") else None)
                return redirect(url_for("signin.page", next=back, reason=reason))
            if roles and person.role not in roles:
                from service.web.pages.rendering import page_error

                return page_error(403)
            return view(*args, **kwargs)

        return wrapper

    return decorate
