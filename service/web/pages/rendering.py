"""How a page is answered: the layout's context, the pages' security policy, error pages.

Pages are HTML for people; the API's JSON is for programs. Both answer every error in their
own form: a page never shows JSON, an API client never gets HTML."""

from __future__ import annotations

from typing import Any

from flask import Response, g, has_app_context, make_response, render_template, request
from flask_babel import gettext as _

from service.web.pages import sessions

#: what a page may load: only this site's own files (no CDN, no inline script or style),
#: forms only to this site, never framed
PAGE_CSP = ("default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
            "font-src 'self'; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; "
            "base-uri 'none'; object-src 'none'")


def render(template: str, status: int = 200, **context: Any) -> Response:
    """The page ``template`` with the layout's context, the page policy and no caching
    (``service.web.headers`` adds ``no-store``: a page may hold personal data)."""
    context.setdefault("person", sessions.current())
    if g.get("lang") is None:  # a page outside the pages' blueprints (an unknown path's 404)
        from service.web.pages import _locale

        g.lang = _locale()
    response = make_response(render_template(template, **context), status)
    response.headers["Content-Security-Policy"] = PAGE_CSP
    # forms post back to this site with a Referer (checked by the CSRF protection over TLS);
    # nothing travels to other sites
    response.headers["Referrer-Policy"] = "same-origin"
    response.headers["Content-Language"] = str(g.get("lang", "vi"))
    return response


def _titles() -> dict[int, tuple[str, str]]:
    return {
        400: (_("Yêu cầu không hợp lệ"),
              _("Trang không hiểu được yêu cầu này. Hãy quay lại và thử lại.")),
        403: (_("Bạn không có quyền xem trang này"),
              _("Tài khoản của bạn không được phép dùng trang này. Nếu bạn cho rằng đây là "
                "nhầm lẫn, hãy liên hệ cơ quan quản lý.")),
        404: (_("Không tìm thấy trang"),
              _("Địa chỉ có thể đã gõ sai, hoặc trang không còn nữa.")),
        405: (_("Yêu cầu không hợp lệ"), _("Trang này không nhận cách gửi đó.")),
        413: (_("Tệp quá lớn"), _("Tệp hoặc dữ liệu gửi lên vượt giới hạn cho phép.")),
        429: (_("Quá nhiều lần thử"),
              _("Bạn đã thử quá nhiều lần. Hãy đợi một lúc rồi thử lại.")),
        500: (_("Xin lỗi, hệ thống đang gặp sự cố"),
              _("Dữ liệu của bạn không bị mất. Hãy thử lại sau ít phút.")),
        503: (_("Dịch vụ tạm thời gián đoạn"),
              _("Dữ liệu của bạn không bị mất. Hãy thử lại sau ít phút.")),
    }


def page_error(status: int, detail: str | None = None, *, title: str | None = None) -> Response:
    """The error page for ``status``, in the reader's language; with ``title``, the page
    says that and ``detail`` only (not the status's general words)."""
    general_title, text = _titles().get(status, _titles()[400 if status < 500 else 500])
    if title is not None:
        return render("error.html", status=status, title=title, text=detail, detail=None)
    return render("error.html", status=status, title=general_title, text=text, detail=detail)


def wants_page() -> bool:
    """Whether this request is a person's browser on a page (not the API): its errors are
    answered with pages."""
    path = request.path
    if path.startswith(("/api/", "/metrics", "/healthz", "/readyz", "/dev-pki/")):
        return False
    if request.blueprint in PAGE_BLUEPRINTS:
        return True
    # another path (an unknown one): a page, unless the client asks for JSON
    return request.accept_mimetypes.best_match(
        ["text/html", "application/json"], default="text/html") == "text/html"


def status_label(status: str) -> str:
    """A dossier's status in words (service.dossiers.states.STATES), in the page's language;
    the words translated once a request (a queue page names forty statuses)."""
    if not has_app_context():
        return _status_words().get(status, status)
    words = g.get("status_words")
    if words is None:
        words = g.status_words = _status_words()
    return str(words.get(status, status))


def _status_words() -> dict[str, str]:
    return {
        "submitted": _("Đã nộp, chờ tiếp nhận"), "accepted": _("Đã tiếp nhận"),
        "supplement_requested": _("Yêu cầu bổ sung"), "rejected": _("Từ chối"),
        "in_processing": _("Đang xử lý"), "result_ready": _("Đã có kết quả"),
        "delivered": _("Đã trả kết quả"), "withdrawn": _("Đã rút hồ sơ"),
    }


def agency_name(code: str | None) -> str:
    """An agency's name as its signing configuration gives it, else its code ("" for none)."""
    if not code:
        return ""
    from service.web.runtime import current_runtime

    signing = current_runtime().signing
    key = signing.config.agencies.get(code) if signing is not None else None
    return key.name if key is not None else code


def page_number() -> int:
    """The page of a paged list this request asks for (``?page=``): 1 for anything else."""
    raw = request.args.get("page", "1")
    return int(raw) if raw.isdigit() and 0 < int(raw) < 100000 else 1


def paging(page: int, total: int, per_page: int) -> dict[str, Any]:
    """A paged list's pagination (the macros' and templates' ``pages``): the page, the last,
    the total, the previous and next pages, and the GOV.UK pagination's numbers (the first,
    the last, the current and its neighbours; None for an ellipsis)."""
    last = max(1, -(-total // per_page))
    wanted = sorted({1, last, page - 1, page, page + 1} & set(range(1, last + 1)))
    numbers: list[int | None] = []
    for n in wanted:
        if numbers and n - (numbers[-1] or 0) > 1:
            numbers.append(None)
        numbers.append(n)
    return {"page": page, "last": last, "total": total,
            "previous": page - 1 if page > 1 else None,
            "next": page + 1 if page < last else None, "numbers": numbers}


#: the blueprints that serve pages (each module of service.web.pages registers its own)
PAGE_BLUEPRINTS: set[str] = set()
