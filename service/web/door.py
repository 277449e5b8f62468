"""The door: how every request body enters the service.

Checked here once, before any view or schema sees a body, in this order:

1. **Authentication and role**, for views that require one (:func:`service.web.auth.require`): a
   caller without a valid token gets 401 (a wrong role 403) before a byte of the body is
   read, so strangers cannot make the service parse anything, nor learn its field rules.
2. **Size**: a body is read through :class:`DoorRequest`, whose limit is an error (413) and
   never a silent truncation, chunked transfer encoding included.
3. **JSON depth**, counted on the raw text before parsing (:func:`json_depth`): deeply nested
   JSON exhausts the recursion of the parser and of everything that walks the value after it.
4. **Characters** (:func:`bad_characters`): text that cannot be encoded (lone surrogates),
   control characters and invisible format characters (bidirectional overrides, zero-width
   joiners, byte order marks...) have no place in administrative text; they are refused with
   422 naming the field, so nothing stored can later make a read, a PDF or a signature fail.

Reading side: :class:`SafeJSONProvider` writes a lone surrogate that an earlier version let
into the database as U+FFFD, so such a record can still be read (and corrected).
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Iterator
from functools import cache
from itertools import accumulate
from typing import IO, Any, cast

from flask import Flask, Request, request
from flask.json.provider import DefaultJSONProvider
from werkzeug.exceptions import RequestEntityTooLarge
from werkzeug.utils import cached_property
from werkzeug.wsgi import LimitedStream, get_content_length, get_input_stream

from service.web import auth
from service.web.errors import ApiError

#: at most this many problems are listed in one answer
MAX_LISTED = 20

# -- size -----------------------------------------------------------------------------------


class _StrictMaximum(LimitedStream):
    """werkzeug's maximum-length stream, but one that never truncates.

    werkzeug's ``readall`` (behind ``get_data()``) stops at the maximum and returns what it
    read, with no error: a chunked body larger than the limit reached the view cut short, and
    was processed as if complete. Here reaching the maximum looks one byte further, and a
    body that goes on is refused with 413."""

    def readall(self) -> bytes:
        data = super().readall()
        if self.is_exhausted and self._stream.read(1):
            raise RequestEntityTooLarge()
        return data


class DoorRequest(Request):
    """Flask's request, with a body limit that holds for chunked bodies too."""

    @cached_property
    def stream(self) -> IO[bytes]:
        if self.shallow:
            raise RuntimeError("This request was created with 'shallow=True', reading from "
                               "the input stream is disabled.")
        limit = self.max_content_length
        if limit is not None and "wsgi.input_terminated" in self.environ:
            # the server ends the body (chunked encoding, or gunicorn): refuse a longer one
            length = get_content_length(self.environ)
            if length is not None and length > limit:
                raise RequestEntityTooLarge()
            # a raw stream used as a file, as werkzeug's get_input_stream casts its own
            return cast(IO[bytes], _StrictMaximum(self.environ["wsgi.input"], limit,
                                                   is_max=True))
        return get_input_stream(self.environ, max_content_length=limit)


# -- JSON depth -------------------------------------------------------------------------------

#: a JSON string: what is inside cannot open or close anything
_JSON_STRING = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"', re.DOTALL)
#: +1 for an opening bracket, -1 for a closing one, 0 for the rest
_STEP = [0] * 256
_STEP[ord("[")] = _STEP[ord("{")] = 1
_STEP[ord("]")] = _STEP[ord("}")] = -1
_NOT_BRACKETS = bytes(b for b in range(256) if b not in b"[]{}")


def json_depth(raw: bytes) -> int:
    """How deep the arrays and objects of a JSON text nest, counted without parsing it (and
    so without recursion): strings removed, then a running sum over the brackets left. For
    valid JSON the count is exact; for invalid JSON it is at least what a parser would reach
    before its error."""
    brackets = _JSON_STRING.sub(b"", raw).translate(None, _NOT_BRACKETS)
    return max(accumulate(map(_STEP.__getitem__, brackets)), default=0)


# -- characters -------------------------------------------------------------------------------


#: Unicode's Default_Ignorable_Code_Point (DerivedCoreProperties.txt) outside category Cf:
#: characters that are invisible by definition though they are letters or marks (Hangul
#: fillers, the combining grapheme joiner, variation selectors, Khmer inherent vowels...),
#: and the blank braille pattern, which renders as a space
_INVISIBLE = ((0x034F, 0x034F), (0x115F, 0x1160), (0x17B4, 0x17B5), (0x180B, 0x180F),
              (0x2800, 0x2800), (0x3164, 0x3164), (0xFE00, 0xFE0F), (0xFFA0, 0xFFA0),
              (0xFFF0, 0xFFF8), (0x1BCA0, 0x1BCA3), (0x1D173, 0x1D17A), (0xE0000, 0xE0FFF))


@cache
def _forbidden() -> re.Pattern[str]:
    """Control characters other than tab, line feed and carriage return (Unicode category
    Cc), surrogates (Cs: in text from JSON only ever lone ones, which no encoding can write),
    format characters (Cf: bidirectional controls, zero-width joiners and spaces, the byte
    order mark, soft hyphen, tag characters), the line and paragraph separators (Zl, Zp) and
    the other invisible characters of :data:`_INVISIBLE`: text that shows differently from
    what it holds has no place in a record or a signed result. Built once from the Unicode
    database."""
    invisible = {code for low, high in _INVISIBLE for code in range(low, high + 1)}
    ranges: list[tuple[int, int]] = []
    for code in range(0x110000):
        char = chr(code)
        if (unicodedata.category(char) in ("Cc", "Cs", "Cf", "Zl", "Zp")
                or code in invisible) and char not in "\t\n\r":
            if ranges and ranges[-1][1] == code - 1:
                ranges[-1] = (ranges[-1][0], code)
            else:
                ranges.append((code, code))
    return re.compile("[" + "".join(
        re.escape(chr(a)) if a == b else f"{re.escape(chr(a))}-{re.escape(chr(b))}"
        for a, b in ranges) + "]")


def _shown(text: str) -> str:
    """``text`` with its forbidden characters written as ``\\uXXXX``, so that it can be named
    in an answer (a lone surrogate cannot even be encoded)."""
    return _forbidden().sub(lambda m: f"\\u{ord(m[0]):04x}", text)


def _path(parts: tuple[str | int, ...], prefix: str) -> str:
    """A field path in the style of the other body errors (``json.data.ho_ten``)."""
    return ".".join([prefix, *(_shown(p) if isinstance(p, str) else str(p) for p in parts)])


def bad_characters(value: Any, prefix: str = "json") -> Iterator[tuple[str, str]]:
    """Each field (path, first forbidden character) of a JSON-like value whose key or text
    holds a forbidden character. Iterative: the value may be as deep as the limit allows."""
    find = _forbidden().search
    todo: list[tuple[tuple[str | int, ...], Any]] = [((), value)]
    while todo:
        parts, node = todo.pop()
        if isinstance(node, str):
            found = find(node)
            if found:
                yield _path(parts, prefix), found[0]
        elif isinstance(node, dict):
            for key, item in reversed(node.items()):
                found = find(key) if isinstance(key, str) else None
                if found:
                    yield _path((*parts, key), prefix), found[0]
                else:
                    todo.append(((*parts, key), item))
        elif isinstance(node, list):
            todo.extend(((*parts, i), item) for i, item in reversed(list(enumerate(node))))


def refuse_bad_characters(value: Any, prefix: str = "json") -> None:
    """422 ``invalid_character`` naming every field (up to :data:`MAX_LISTED`) whose key or
    text holds a character that has no place in administrative text."""
    problems = []
    for field, char in bad_characters(value, prefix):
        problems.append({
            "code": "invalid_character", "field": field,
            "message": f"Trường có ký tự không được phép (U+{ord(char):04X}): ký tự điều "
                       "khiển, ký tự vô hình hoặc ký tự không mã hóa được.",
            "message_en": f"The field holds a character that is not allowed "
                          f"(U+{ord(char):04X}): a control, invisible or unencodable "
                          "character."})
        if len(problems) == MAX_LISTED:
            break
    if problems:
        raise ApiError(422, "invalid_character",
                       "Dữ liệu có ký tự không được phép (ký tự điều khiển, ký tự vô hình như "
                       "ký tự đổi chiều văn bản, hoặc ký tự không mã hóa được); hãy xóa chúng.",
                       "The data holds characters that are not allowed (control characters, "
                       "invisible ones such as bidirectional overrides, or unencodable ones); "
                       "remove them.",
                       field=problems[0]["field"] if len(problems) == 1 else None,
                       errors=problems)


# -- the check before every view --------------------------------------------------------------


def required_roles(app: Flask) -> tuple[str, ...] | None:
    """The roles the view of this request requires (see :func:`service.web.auth.require`), or
    None for a public view (or a request no view answers)."""
    view = app.view_functions.get(request.endpoint) if request.endpoint else None
    view_class = getattr(view, "view_class", None)
    if view_class is not None:  # a MethodView: the method that will answer
        method = request.method.lower()
        view = getattr(view_class, method, None) or (
            getattr(view_class, "get", None) if method == "head" else None)
    while view is not None:
        roles = getattr(view, "_tokhai_roles", None)
        if roles is not None:
            return tuple(roles)
        view = getattr(view, "__wrapped__", None)
    return None


def check_json_body(max_depth: int) -> None:
    """Size, depth and characters of a JSON body. The body is read (and kept: the view's
    parser reads the same bytes); a body that is not JSON at all is left to the view's
    parser, which answers 400 in its usual way."""
    raw = request.get_data(cache=True)  # 413 beyond the limit
    if not raw.strip():
        return
    depth = json_depth(raw)
    if depth > max_depth:
        raise ApiError(422, "json_too_deep",
                       f"Dữ liệu JSON lồng nhau quá sâu ({depth} cấp; tối đa {max_depth}).",
                       f"The JSON body nests too deep ({depth} levels; at most {max_depth}).",
                       field="json")
    try:
        value = json.loads(raw)
    except (json.JSONDecodeError, UnicodeDecodeError):
        return  # the view's parser answers 400
    except (ValueError, RecursionError):  # a number of more than 4300 digits, say
        raise ApiError(422, "json_unreadable", "Dữ liệu JSON có giá trị vượt giới hạn (số "
                       "quá dài).", "The JSON body holds a value beyond the limits (a number "
                       "too long).", field="json") from None
    refuse_bad_characters(value)


def install(app: Flask, max_depth: int) -> None:
    """Check every request at the door, after the request's session is opened."""

    @app.before_request
    def _door() -> None:
        roles = required_roles(app)
        if roles is not None:
            auth.authorise(roles)
        if request.is_json and (request.content_length or "chunked" in request.headers.get(
                "Transfer-Encoding", "").lower()):
            check_json_body(max_depth)


# -- the reading side -------------------------------------------------------------------------

_SURROGATE = re.compile("[\ud800-\udfff]")


class SafeJSONProvider(DefaultJSONProvider):
    """Flask's JSON, in UTF-8 with keys in their order, that never fails on a stored lone
    surrogate (which UTF-8 cannot encode): it is written as U+FFFD, the replacement
    character. A valid character outside the BMP is one code point, never a surrogate, so
    only unencodable ones are replaced."""

    ensure_ascii = False
    sort_keys = False

    def dumps(self, obj: Any, **kwargs: Any) -> str:
        text = super().dumps(obj, **kwargs)
        return text if text.isascii() else _SURROGATE.sub("\ufffd", text)
