"""Who is calling: the request's principal, and the role checks views declare."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from flask import current_app, g, request

from service.errors import NotAllowed, Unauthenticated
from service.tokens import Principal, authenticate


def current_principal() -> Principal | None:
    if "principal" not in g:
        g.principal = authenticate(g.db, request.headers.get("Authorization"))
    return g.principal


def require_principal() -> Principal:
    """The caller, whose token is valid: 401 without one. Views behind :func:`require` use
    it to name the caller the check let through."""
    principal = current_principal()
    if principal is None:
        raise Unauthenticated("unauthenticated",
                              "Cần đăng nhập: thiếu mã truy cập (Bearer token).",
                              "Authentication required: missing bearer token.")
    return principal


def authorise(roles: tuple[str, ...]) -> Principal:
    """The caller, if their token is valid and its role one of ``roles``: 401 without a valid
    token, 403 with another role."""
    principal = require_principal()
    if principal.role not in roles:
        current_app.logger.warning(
            "forbidden", extra={"role": principal.role, "token_id": principal.token_id,
                                "needs": list(roles), "path": request.path})
        raise NotAllowed("forbidden",
                         f"Vai trò '{principal.role}' không được thực hiện thao tác này "
                         f"(cần: {', '.join(roles)}).",
                         f"Role '{principal.role}' may not do this "
                         f"(needs: {', '.join(roles)}).")
    return principal


def require(*roles: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Refuse with 401 when there is no valid token, 403 when its role is not in ``roles``.

    The roles are also checked at the door (``service.web.door``), before the request's body
    is read or validated; checking again here costs nothing (the principal is kept)."""

    def decorate(view: Callable[..., Any]) -> Callable[..., Any]:
        @wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            authorise(roles)
            return view(*args, **kwargs)

        wrapper._tokhai_roles = roles  # type: ignore[attr-defined]  # read by the door (door.py)
        return wrapper

    return decorate
