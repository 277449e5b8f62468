"""Sign-in and sign-out: OpenID Connect as a relying party (Authlib), and in development a
clearly labelled sign-in page for the demo people.

The provider is configured by its issuer (``TOKHAI_OIDC_ISSUER``; its discovery document is
read), this service's client id and secret; in production it is the national identity
platform. The citizen's personal ID number comes from the claim ``TOKHAI_OIDC_PERSONAL_ID_CLAIM``
of the ID token (or, when absent there, of the userinfo answer). Authlib checks the state (a
forged or replayed callback is refused), the nonce, the ID token's signature, issuer, audience
and expiry; a code used twice is refused by the provider.

Who may do what (docs/pages.md, "Staff"), in this order:

1. a mapping of the provider's issuer and the person's subject to a staff role
   (``tokhai staff grant``, :mod:`service.staff`) wins: officer (of its agency), designer or
   auditor;
2. else, only when ``TOKHAI_OIDC_ROLE_CLAIM`` is configured, that claim carrying ``officer``
   (with a valid agency code in ``TOKHAI_OIDC_AGENCY_CLAIM``), ``designer`` or ``auditor``;
3. else a valid personal ID number: a citizen;
4. else nobody is signed in: the no-role page (403), showing the subject to give the
   administrator.
"""

from __future__ import annotations

import logging
import re
from typing import Any

from authlib.integrations.base_client.errors import OAuthError
from authlib.integrations.flask_client import OAuth
from flask import Blueprint, Flask, current_app, g, redirect, request, session, url_for
from flask_babel import gettext as _

from service import staff
from service.records.demo import DEMO_AGENCY, DEMO_DAUGHTER, DEMO_FATHER, DEMO_MOTHER
from service.web.pages import sessions
from service.web.pages.rendering import PAGE_BLUEPRINTS, page_error, render
from service.web.runtime import current_runtime

log = logging.getLogger("tokhai.pages")
bp = Blueprint("signin", __name__)
PAGE_BLUEPRINTS.add("signin")
_PERSONAL_ID = re.compile(r"^[0-9]{12}$")

#: the people of the development sign-in page (make run's demo data): key -> role, name,
#: personal ID, agency
DEV_PEOPLE: dict[str, tuple[str, str, str | None, str | None]] = {
    "citizen_father": ("citizen", "Nguyễn Văn An", DEMO_FATHER, None),
    "citizen_daughter": ("citizen", "Lê Thị Thu Hà", DEMO_DAUGHTER, None),
    # an unmarried mother and her son (a child born out of wedlock): an adult who files
    "citizen_mother": ("citizen", "Đỗ Thị Mai", DEMO_MOTHER, None),
    "officer": ("officer", "Cán bộ một cửa (phát triển)", None, DEMO_AGENCY),
    "designer": ("designer", "Người thiết kế biểu mẫu (phát triển)", None, None),
    "auditor": ("auditor", "Kiểm toán viên (phát triển)", None, None),
}


def init_app(app: Flask) -> None:
    """Register the provider (when configured) and the development page (when enabled:
    never in production, which ``create_app`` refuses)."""
    settings = app.extensions["tokhai"].settings
    if settings.oidc_issuer:
        # one registry per application (Authlib keeps the client it made: a registry shared
        # by two applications would send the second one's people to the first's provider)
        oauth = OAuth(app)
        oauth.register(
            "idp", client_id=settings.oidc_client_id,
            client_secret=settings.oidc_client_secret,
            server_metadata_url=settings.oidc_issuer.rstrip("/")
            + "/.well-known/openid-configuration",
            client_kwargs={"scope": settings.oidc_scopes, "timeout": 10})
    app.register_blueprint(bp)


def _provider() -> Any:
    oauth = current_app.extensions.get("authlib.integrations.flask_client")
    return oauth.create_client("idp") if oauth is not None else None


@bp.get("/sign-in")
def page():
    """The sign-in page: the provider's button, and the development people when enabled."""
    settings = current_runtime().settings
    back = sessions.safe_next(request.args.get("next"))
    return render("signin.html", next=back, oidc=bool(settings.oidc_issuer),
                  dev_people=DEV_PEOPLE if settings.dev_signin else None,
                  expired=request.args.get("reason") == "expired",
                  role_changed=request.args.get("reason") == "role")


@bp.get("/sign-in/start")
def start():
    """To the provider (a link, not a form: a form's redirect to another site is blocked by
    the pages' ``form-action 'self'``)."""
    idp = _provider()
    if idp is None:
        return page_error(404)
    session["signin_next"] = sessions.safe_next(request.args.get("next"))
    try:
        return idp.authorize_redirect(url_for("signin.callback", _external=True))
    except Exception:  # the provider's discovery document cannot be read
        log.warning("identity provider unavailable", exc_info=True)
        return render("signin.html", status=503, next="/", oidc=True, dev_people=None,
                      expired=False, provider_down=True)


@bp.get("/sign-in/callback")
def callback():
    """Back from the provider: the code exchanged (state, nonce and ID token checked by
    Authlib), the person signed in with the role their mapping, their claims or their personal
    ID give (the module's docstring). A bad state, a replayed code, an error from the provider:
    the sign-in page again with a plain message, nobody signed in."""
    idp = _provider()
    if idp is None:
        return page_error(404)
    settings = current_runtime().settings
    wanted = [c for c in (settings.oidc_personal_id_claim, settings.oidc_role_claim,
                          settings.oidc_agency_claim) if c]
    try:
        token = idp.authorize_access_token()
        claims = dict(token.get("userinfo") or {})
        if any(c not in claims for c in wanted):
            for key, value in dict(idp.userinfo(token=token)).items():
                claims.setdefault(key, value)  # the signed ID token's claims first
    except OAuthError as e:
        log.warning("sign-in refused", extra={"error": e.error})
        return render("signin.html", status=400, next="/", oidc=True, dev_people=None,
                      expired=False, failed=True)
    except Exception:
        log.warning("identity provider unavailable", exc_info=True)
        return render("signin.html", status=503, next="/", oidc=True, dev_people=None,
                      expired=False, provider_down=True)
    back = sessions.safe_next(session.pop("signin_next", None))
    issuer = str(claims.get("iss") or settings.oidc_issuer)
    subject = str(claims.get("sub", ""))
    given_name = str(claims.get("name") or claims.get("preferred_username") or "").strip()
    personal_id = None
    mapped = staff.role_of(g.db, issuer, subject) if subject else None
    claimed = _claimed_role(claims)
    if mapped is not None:
        role, agency, via = mapped.role, mapped.agency_code, "mapping"
        name = given_name or mapped.name or ROLE_NAMES[role]
    elif claimed is not None:
        (role, agency), via = claimed, "claim"
        name = given_name or ROLE_NAMES[role]
    else:
        personal_id = str(claims.get(settings.oidc_personal_id_claim) or "")
        if not _PERSONAL_ID.match(personal_id):
            # no role: a clear page, nobody signed in (not even whoever was before)
            if sessions.current() is not None:
                sessions.end()
                g.db.commit()
            current_app.logger.info("sign-in without a role", extra={"via": "oidc"})
            return render("no_role.html", status=403, subject=subject)
        role, agency, via = "citizen", None, "personal_id"
        name = given_name or personal_id[-4:]
    email = claims.get("email") if claims.get("email_verified", True) else None
    sessions.start(issuer=issuer, subject=subject, role=role, name=name,
                   personal_id=personal_id, agency_code=agency,
                   email=str(email) if email else None, via=via)
    g.db.commit()
    current_app.logger.info("signed in", extra={"role": role, "via": via, "agency": agency})
    return redirect(_landing(role, back))


#: a staff member's name when neither the provider nor the mapping gives one
ROLE_NAMES = {"officer": "Cán bộ", "designer": "Người thiết kế biểu mẫu",
              "auditor": "Kiểm toán viên"}


def _claimed_role(claims: dict[str, Any]) -> tuple[str, str | None] | None:
    """The staff role (and an officer's agency) the provider's claims carry, when
    ``TOKHAI_OIDC_ROLE_CLAIM`` is configured (else such claims are not trusted): one of
    officer, designer, auditor (a string, or a list holding exactly one of them); an officer
    also needs a valid agency code in ``TOKHAI_OIDC_AGENCY_CLAIM``. None otherwise."""
    settings = current_runtime().settings
    if not settings.oidc_role_claim:
        return None
    value = claims.get(settings.oidc_role_claim)
    values = [value] if isinstance(value, str) else value if isinstance(value, list) else []
    roles = {v for v in values if isinstance(v, str) and v in staff.STAFF_ROLES}
    if len(roles) != 1:
        return None
    role = roles.pop()
    if role != "officer":
        return role, None
    agency = claims.get(settings.oidc_agency_claim) if settings.oidc_agency_claim else None
    if isinstance(agency, str) and staff.AGENCY_CODE.fullmatch(agency):
        return role, agency
    return None


@bp.post("/sign-in/development")
def development():
    """The development sign-in (make run): one of :data:`DEV_PEOPLE`, no password. Not
    served unless ``TOKHAI_DEV_SIGNIN`` is set, which production refuses."""
    if not current_runtime().settings.dev_signin:
        return page_error(404)
    who = DEV_PEOPLE.get(request.form.get("person", ""))
    if who is None:
        return page_error(400, _("Hãy chọn một người trong danh sách."))
    role, name, personal_id, agency = who
    sessions.start(issuer=staff.DEVELOPMENT_ISSUER, subject=request.form["person"], role=role,
                   name=name, personal_id=personal_id, agency_code=agency, via="development")
    g.db.commit()
    current_app.logger.info("signed in", extra={"role": role, "via": "development"})
    return redirect(_landing(role, sessions.safe_next(request.form.get("next"))))


#: where a member of staff lands after signing in from the home page: their own pages
_STAFF_HOME = {"officer": "office.queue", "designer": "design.forms", "auditor": "audit.access"}


def _landing(role: str, back: str) -> str:
    """Back where the person was going; from the home page (the sign-in link of the header),
    a member of staff goes to their own pages rather than the citizens' home."""
    endpoint = _STAFF_HOME.get(role)
    if back == "/" and endpoint in current_app.view_functions:
        return url_for(endpoint)
    return back


@bp.post("/sign-out")
def sign_out():
    sessions.end()
    g.db.commit()
    return redirect(url_for("site.home", signed_out=1))
