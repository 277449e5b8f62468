"""The site's own pages: home, the language switch, and the pages' error answers."""

from __future__ import annotations

from flask import Blueprint, current_app, redirect, request, session, url_for
from flask_babel import gettext as _

from service.web.pages import sessions
from service.web.pages.rendering import PAGE_BLUEPRINTS, render

bp = Blueprint("site", __name__)
PAGE_BLUEPRINTS.add("site")

#: the languages of the pages: Vietnamese (the source) and English (the catalogue)
LANGUAGES = {"vi": "Tiếng Việt", "en": "English"}


def navigation() -> list[tuple[str, str]]:
    """The header's links (endpoint, label), for the pages this installation serves, in the
    order people need them; a link appears once its page exists."""
    person = sessions.current()
    wanted = [("public.catalogue", _("Thủ tục")), ("public.verify", _("Xác thực văn bản")),
              ("public.receipt", _("Tra cứu hồ sơ"))]
    if person is not None and person.role == "citizen":
        wanted += [("space.dossiers", _("Hồ sơ của tôi")),
                   ("space.documents", _("Giấy tờ của tôi"))]
    elif person is not None and person.role == "officer":
        wanted = [("office.queue", _("Hồ sơ cần xử lý"))] + wanted
    elif person is not None and person.role == "designer":
        wanted = [("design.forms", _("Biểu mẫu"))] + wanted
    elif person is not None and person.role == "auditor":
        wanted = [("audit.access", _("Nhật ký truy cập")),
                  ("audit.late", _("Hồ sơ trễ hạn"))] + wanted
    return [(endpoint, label) for endpoint, label in wanted
            if endpoint in current_app.view_functions]


@bp.get("/")
def home():
    return render("home.html", signed_out=bool(request.args.get("signed_out")))


@bp.get("/language/<code>")
def language(code: str):
    """Switch the pages' language (a link: works without JavaScript), back to the page."""
    if code in LANGUAGES:
        session["lang"] = code
    return redirect(sessions.safe_next(request.args.get("next"), url_for("site.home")))
