"""Formats of the values of the form language's newer types, as JSON Schema patterns meaning
the same in Python's ``re`` and in ECMA-262 (the compiler's type_schema uses them; the pages
and examples may too).
"""

from __future__ import annotations

from typing import Any

from forms import codelists

#: a calendar date YYYY-MM-DD: 30 February refused, 29 February only in leap years
CALENDAR_DATE = (
    "([0-9]{4}-((0[13578]|1[02])-(0[1-9]|[12][0-9]|3[01])|(0[469]|11)-(0[1-9]|[12][0-9]|30)"
    "|02-(0[1-9]|1[0-9]|2[0-8]))"
    "|([0-9]{2}(0[48]|[2468][048]|[13579][26])|([02468][048]|[13579][26])00)-02-29)")
_TIME = "([01][0-9]|2[0-3]):[0-5][0-9](:[0-5][0-9])?"
#: a time of day, 24 h: HH:MM (HH:MM:SS too, as <input type=time> may send)
TIME_PATTERN = f"^{_TIME}$"
#: a date and time in Vietnam, no offset: YYYY-MM-DDTHH:MM (or :SS)
DATE_TIME_PATTERN = f"^{CALENDAR_DATE}T{_TIME}$"
PERSONAL_ID_PATTERN = "^[0-9]{12}$"
#: a personal ID number, or the 9 digits of an old identity card (CMND)
PERSONAL_ID_OR_OLD_CARD_PATTERN = "^([0-9]{12}|[0-9]{9})$"


def text_pattern(regex: str) -> str:
    """The schema pattern of a text field's pattern: it must match the whole value."""
    return f"^(?:{regex})$"


def id_document_schema(type_options: list[dict[str, Any]]) -> dict[str, Any]:
    """``{"type": a code of id_document_type, "number": …}``, the number's format depending on
    the type (if/then: 12 digits for a personal ID or citizen card, 9 for an old identity card,
    a letter and 7 digits for a Vietnamese passport, else 1-30 letters, digits, '/' or '-')."""
    by_pattern: dict[str, list[str]] = {}
    for code, pattern in codelists.ID_NUMBER_PATTERNS.items():
        by_pattern.setdefault(pattern, []).append(code)
    return {
        "type": "object",
        "properties": {
            "type": {"type": "string", "title": "Loại giấy tờ", "oneOf": type_options},
            "number": {"type": "string", "title": "Số giấy tờ",
                       "pattern": codelists.ID_NUMBER_PATTERN},
        },
        "required": ["type", "number"],
        "additionalProperties": False,
        "allOf": [
            {"if": {"properties": {"type": {"enum": codes}}, "required": ["type"]},
             "then": {"properties": {"number": {"pattern": pattern}}}}
            for pattern, codes in by_pattern.items()
        ],
    }


PLACE_TITLES = {
    "current": "Trong nước",
    "abroad": "Nước ngoài",
    "former": "Tên đơn vị hành chính cũ",
}


PLACE_KIND_TITLE = "Loại nơi chốn"


def place_schema(places: tuple[str, ...], current: dict[str, Any],
                 country_options: list[dict[str, Any]]) -> dict[str, Any]:
    """A place: ``kind`` chosen from the kinds the field offers (options ``{"enum": [kind],
    "title"}`` like every code list, so an empty form has no kind chosen), then the kind's
    properties in the ``then`` of an ``if`` on ``kind`` (a renderer shows them once the kind
    is chosen): ``current`` (the given address schema of today's units), ``abroad`` (a country
    other than Việt Nam and an optional detail), ``former`` (the name of a unit as it was, as
    text). Each ``then`` closes the object to its kind's keys with ``propertyNames``; the
    object is closed to the keys of every kind offered (``additionalProperties`` would see
    only ``kind``)."""
    kinds: list[tuple[str, dict[str, Any], list[str]]] = []
    for kind in places:
        if kind == "current":
            props = dict(current.get("properties", {}))
            required = list(current.get("required", []))
            extra = {k: v for k, v in current.items() if k == "allOf"}
        elif kind == "abroad":
            props = {
                "country": {"type": "string", "title": "Quốc gia",
                            "oneOf": [o for o in country_options
                                      if o.get("enum") != ["VN"] and o.get("const") != "VN"]},
                "detail": {"type": "string", "title": "Địa chỉ ở nước ngoài",
                           "maxLength": 200},
            }
            required, extra = ["country"], {}
        else:
            props = {"text": {"type": "string", "title": "Nơi chốn (tên như khi đó)",
                              "minLength": 1, "maxLength": 200}}
            required, extra = ["text"], {}
        kinds.append((kind, {"properties": props, "required": required,
                             "propertyNames": {"enum": ["kind", *props]}, **extra},
                      list(props)))
    names = ["kind"]
    for _, _, keys in kinds:
        names += [k for k in keys if k not in names]
    return {
        "type": "object",
        "properties": {"kind": {"type": "string", "title": PLACE_KIND_TITLE,
                                "oneOf": [{"enum": [k], "title": PLACE_TITLES[k]}
                                          for k, _, _ in kinds]}},
        "required": ["kind"],
        "propertyNames": {"enum": names},
        "allOf": [{"if": {"properties": {"kind": {"const": k}}, "required": ["kind"]},
                   "then": then} for k, then, _ in kinds],
    }
