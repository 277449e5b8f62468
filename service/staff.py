"""Staff roles from sign-in (issue #15), without Flask: which identity-provider subjects are
officers (of which agency), form designers or auditors.

A person signs in to the pages with OpenID Connect, staff as citizens do; the provider names
them by its issuer and their subject (``sub``). An administrator maps that pair to a role with
``tokhai staff grant`` (:func:`grant`), stored in ``staff_roles``
(:class:`storage.models.StaffRole`); the sign-in reads it (:func:`role_of`), and a browser
session that came from a mapping ends at its next request once the mapping is revoked or
changed (``service.web.pages.sessions``). Citizens need no row: their role comes from their
personal ID number. API bearer tokens (``service.tokens``) stay for machines.

Issuers are compared without a trailing ``/`` (providers and administrators write both).
"""

from __future__ import annotations

import re
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from service.errors import InvalidData, NotFound
from storage.models import StaffRole

#: the roles a mapping gives (service.tokens.ROLES without citizens, whose role comes from
#: their personal ID number)
STAFF_ROLES = ("officer", "designer", "auditor")
#: an agency code, as service.tokens.AGENCY_CODE (a sibling module of this layer, which this
#: one may not import; a test checks they are the same)
AGENCY_CODE = re.compile(r"^[A-Za-z0-9._-]{1,40}$")
#: the issuer of the development sign-in page, which no mapping governs
DEVELOPMENT_ISSUER = "development"
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
#: an issuer: an http(s) URL (https in production; http for a provider on loopback)
_ISSUER = re.compile(r"https?://[^\s/?#]+(/[^\s?#]*)?")


def normalise_issuer(issuer: str) -> str:
    """An issuer as mappings are stored and looked up: without surrounding spaces and without
    a trailing ``/``."""
    return issuer.strip().rstrip("/")


def _problem(field: str, message: str, message_en: str) -> dict[str, str]:
    return {"field": field, "code": "invalid", "message": message, "message_en": message_en}


def check(issuer: str, subject: str, role: str, agency_code: str | None,
          name: str | None) -> list[dict[str, str]]:
    """The problems of a mapping (none when it is valid)."""
    problems = []
    if not _ISSUER.fullmatch(issuer) or len(issuer) > 300:
        problems.append(_problem(
            "issuer", "Issuer phải là địa chỉ http(s) của hệ thống định danh (tối đa 300 ký tự).",
            "The issuer must be the identity provider's http(s) URL (at most 300 characters)."))
    if not subject or len(subject) > 255 or _CONTROL.search(subject) or subject != subject.strip():
        problems.append(_problem(
            "subject", "Subject phải có từ 1 đến 255 ký tự, không có khoảng trắng ở hai đầu.",
            "The subject must be 1 to 255 characters, without surrounding spaces."))
    if role not in STAFF_ROLES:
        problems.append(_problem(
            "role", f"Vai trò phải là một trong: {', '.join(STAFF_ROLES)}.",
            f"The role must be one of: {', '.join(STAFF_ROLES)}."))
    elif role == "officer" and not (agency_code and AGENCY_CODE.fullmatch(agency_code)):
        problems.append(_problem(
            "agency_code", "Cán bộ cần mã cơ quan (chữ, số, '.', '_', '-'; tối đa 40 ký tự).",
            "An officer needs an agency code (letters, digits, '.', '_', '-'; at most 40)."))
    elif role != "officer" and agency_code:
        problems.append(_problem(
            "agency_code", "Chỉ cán bộ (officer) mới thuộc một cơ quan.",
            "Only officers belong to an agency."))
    if name is not None and len(name) > 200:
        problems.append(_problem("name", "Tên tối đa 200 ký tự.",
                                 "The name is at most 200 characters."))
    elif name is not None and _CONTROL.search(name):
        problems.append(_problem("name", "Tên có ký tự điều khiển (không in được).",
                                 "The name holds a control character."))
    return problems


def role_of(session: Session, issuer: str, subject: str) -> StaffRole | None:
    """The mapping of ``issuer`` and ``subject``, or None (one lookup by the unique index)."""
    return session.scalar(select(StaffRole).where(
        StaffRole.issuer == normalise_issuer(issuer), StaffRole.subject == subject))


def grant(session: Session, issuer: str, subject: str, role: str, agency_code: str | None,
          name: str | None, actor: str, at: datetime | None = None) -> tuple[StaffRole, str]:
    """Map a subject to a role (and an officer to an agency); a second grant for the same
    subject replaces its role, agency and name. Returns the row and what happened:
    ``granted`` (new), ``updated`` or ``unchanged``. Raises InvalidData listing every
    problem. The caller commits."""
    issuer = normalise_issuer(issuer)
    name = (name or "").strip() or None
    agency_code = agency_code or None
    problems = check(issuer, subject, role, agency_code, name)
    if problems:
        raise InvalidData("invalid_staff_role", "Không giao được vai trò: "
                          + " ".join(p["message"] for p in problems),
                          "Role not granted: " + " ".join(p["message_en"] for p in problems),
                          field=problems[0]["field"], errors=problems)
    moment = at or datetime.now(UTC)
    row = role_of(session, issuer, subject)
    if row is None:
        row = StaffRole(issuer=issuer, subject=subject, role=role, agency_code=agency_code,
                        name=name, granted_by=actor[:120], granted_at=moment)
        session.add(row)
        session.flush()
        return row, "granted"
    if (row.role, row.agency_code, row.name) == (role, agency_code, name):
        return row, "unchanged"
    row.role, row.agency_code, row.name = role, agency_code, name
    row.granted_by, row.granted_at = actor[:120], moment
    session.flush()
    return row, "updated"


def revoke(session: Session, issuer: str, subject: str) -> StaffRole:
    """Remove a subject's mapping (their sessions end at their next request); NotFound when
    there is none. Returns the removed row. The caller commits."""
    row = role_of(session, issuer, subject)
    if row is None:
        raise NotFound("staff_role_not_found",
                       "Không có vai trò nào được giao cho tài khoản này.",
                       "No role is granted to this subject.")
    session.delete(row)
    session.flush()
    return row


def list_roles(session: Session) -> list[StaffRole]:
    """Every mapping, by issuer, role and subject."""
    return list(session.scalars(select(StaffRole).order_by(
        StaffRole.issuer, StaffRole.role, StaffRole.subject)))


def same_grant(row: StaffRole | None, role: str, agency_code: str | None) -> bool:
    """Whether ``row`` still gives ``role`` and ``agency_code`` (what a session was opened
    with)."""
    return row is not None and row.role == role and (row.agency_code or None) == (
        agency_code or None)
