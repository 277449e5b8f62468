"""The fields of the citizen's e-form: a published form definition, its data, where each value
came from and what is wrong with it, as HTML fields (:func:`view`, rendered by the macro
``fields`` of ``templates/eform/_fields.html``); a posted HTML form back into the JSON form data
the API takes (:func:`parse`); the API's problems at the inputs they concern (:func:`error_map`);
and the values as people read them, for the check-your-answers page (:func:`answers`).

Every page of the e-form works without JavaScript: repeated groups grow and shrink with submit
buttons (``action`` = ``add:<pointer>`` / ``remove:<pointer>/<index>``), a commune is chosen
within its province after a ``refresh:<pointer>`` button, conditional fields are always shown
with a hint saying when they apply (``static/js/eform.js`` hides them when they do not).

Names of inputs are the JSON pointers of the fields (``/section/group/0/field``), with a
sub-part after a dot (``.day``, ``.month``, ``.year``, ``.province``, ``.commune``,
``.detail``, and ``.count`` for the items of a repeated group); ids are ``f-`` and the pointer's
tokens joined by ``-`` (field ids never hold a ``-``), sub-parts adding ``--<part>``. Verified
values are shown read-only with their source, never posted, and :func:`parse` takes them from
the prefilled data: a forged post cannot change them.

Nothing here reads the database: the flow's views pass in what it needs (the citizen's
documents, the numbers of earlier results).
"""

from __future__ import annotations

import copy
import functools
import re
import unicodedata
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any, NamedTuple

from flask_babel import get_locale
from flask_babel import gettext as _
from markupsafe import Markup, escape
from werkzeug.datastructures import MultiDict

from forms import codelists, conditions, pointers, rules, units
from forms.codelists import Code
from forms.model import Condition, Field, FormDefinition

#: choice lists up to this long are radios; longer ones a select
RADIO_LIMIT = 8
#: the action prefixes the fields' own buttons post (``name="action"``)
ACTIONS = ("add", "remove", "refresh")
#: the media types a citizen can upload for an attachment field, with their file extension
#: (as ``service.repository.uploads`` recognises them by their bytes)
UPLOAD_TYPES = {"application/pdf": ".pdf", "image/jpeg": ".jpg", "image/png": ".png"}
#: what an attachment field's file input is named after its field's pointer
UPLOAD_SUFFIX = ".upload"

_OMIT: Any = object()
_DIGITS = re.compile(r"[0-9]+")
_INTEGER = re.compile(r"[+-]?[0-9]{1,16}")
_SPACES = re.compile(r"\s+")


# -- the view model ---------------------------------------------------------------------------

@dataclass(frozen=True)
class Document:
    """One of the citizen's own documents in the repository, offered for attachment fields."""

    document_id: str
    label: str
    file_name: str | None = None
    media_type: str | None = None


@dataclass
class Option:
    value: str
    label: str
    selected: bool = False
    #: the input's id (radios and checkboxes); the first option's is the field's id
    id: str = ""


@dataclass
class Part:
    """One input of a field made of several (a day, a month or a year box)."""

    key: str
    label: str
    id: str
    name: str
    value: str
    width: str


@dataclass
class ItemView:
    """One item of a repeated group."""

    index: int
    number: int
    id: str
    pointer: str
    fields: list[FieldView]
    #: the button value that removes this item, or None when it cannot be removed (the least
    #: number of items, or values verified by a register)
    remove_action: str | None = None


@dataclass
class FieldView:
    kind: str
    id: str
    name: str
    pointer: str
    label: str
    required: bool = True
    hint: str | None = None
    error: str | None = None
    #: errors of the sub-parts of an address (``commune``, ``detail``)
    part_errors: dict[str, str] = field(default_factory=dict)
    value: Any = None
    #: the value as people read it
    text: str = ""
    #: verified by a register: shown read-only, never posted
    locked: bool = False
    #: filled from a register, may be changed
    suggested: bool = False
    #: the register (and document) the value came from
    source: str | None = None
    #: input, textarea, radios, select, checkboxes, checkbox, date, address, group, repeat,
    #: locked
    widget: str = "input"
    input_type: str = "text"
    inputmode: str | None = None
    autocomplete: str | None = None
    maxlength: int | None = None
    width: str = ""
    options: list[Option] = field(default_factory=list)
    parts: list[Part] = field(default_factory=list)
    #: an address: the provinces, the chosen province's communes, and whether there is a
    #: detail line (with its value)
    communes: list[Option] = field(default_factory=list)
    detail: bool = False
    detail_value: str = ""
    refresh_action: str | None = None
    #: a group's fields; a repeated group's items and buttons
    children: list[FieldView] = field(default_factory=list)
    items: list[ItemView] = field(default_factory=list)
    add_action: str | None = None
    #: an attachment field: the file input's name (``<pointer>.upload``) and id, the types it
    #: accepts, whether it takes several files, and its hint (types and size limit); no name
    #: when the field takes no type that can be uploaded
    upload_name: str | None = None
    upload_id: str = ""
    accept: str = ""
    upload_multiple: bool = False
    upload_hint: str = ""
    count_name: str = ""
    #: the condition, for eform.js: {"name": input name, "kind": type,
    #: "equals"/"in"/"filled"/"empty"}, or {"all": [...]}, {"any": [...]}, {"not": {...}}
    when: dict[str, Any] | None = None
    when_hint: str | None = None
    #: the values of a field's sub-parts by key (an identity document's ``number``, a
    #: place's ``country``, ``foreign`` detail and ``former`` name)
    values: dict[str, str] = field(default_factory=dict)
    #: a place: its kinds (radios), the countries; each kind's inputs are shown with the kind
    kinds: list[Option] = field(default_factory=list)
    countries: list[Option] = field(default_factory=list)
    #: a field whose answer says whose records (or which record) prefill reads: the button
    #: that looks them up again (``refresh:<pointer>``), its words, and what the last look-up
    #: found ("found" / "none"; nothing else is ever said about the person)
    lookup_action: str | None = None
    lookup_label: str = ""
    lookup_result: str | None = None

    @property
    def describedby(self) -> str:
        ids = []
        if self.hint or self.when_hint:
            ids.append(f"{self.id}-hint")
        if self.source:
            ids.append(f"{self.id}-source")
        if self.error or self.part_errors:
            ids.append(f"{self.id}-error")
        return " ".join(ids)

    @property
    def has_error(self) -> bool:
        return bool(self.error or self.part_errors)

    @property
    def option_tags(self) -> Markup:
        """The ``<option>`` elements of a select (built here: a list of nationalities is
        250 options, ten times faster than a template loop)."""
        return option_tags(self.options)

    @property
    def commune_tags(self) -> Markup:
        return option_tags(self.communes)

    @property
    def country_tags(self) -> Markup:
        return option_tags(self.countries)


def option_tags(options: Iterable[Option]) -> Markup:
    """The ``<option>`` elements, each escaped once per process (a page repeats the lists of
    nationalities, ethnicities and provinces for every person on the form)."""
    return Markup("".join(_option_html(o.value, o.label)[o.selected] for o in options))


@functools.lru_cache(maxsize=16384)
def _option_html(value: str, label: str) -> tuple[str, str]:
    """An option, not selected and selected."""
    v, text = escape(value), escape(label)
    return f'<option value="{v}">{text}</option>', f'<option value="{v}" selected>{text}</option>'



@dataclass
class SectionView:
    id: str
    pointer: str
    title: str
    help: str | None
    fields: list[FieldView]
    error: str | None = None


def input_id(tokens: Iterable[Any]) -> str:
    """The id of the input of the field at these pointer tokens (``f-s-g-0-f``)."""
    return "f-" + "-".join(str(t) for t in tokens)


def view(form: FormDefinition, data: Mapping[str, Any] | None,
         provenance: Mapping[str, Mapping[str, Any]] | None = None,
         errors: Mapping[str, str] | None = None, *, verified: Iterable[str] = (),
         documents: Sequence[Document] = (),
         result_numbers: Mapping[str, str] | None = None,
         upload_limit: int = 0, lookups: bool = False,
         looked_up: Mapping[str, str] | None = None) -> list[SectionView]:
    """The sections of ``form`` with their fields, filled with ``data``; ``verified`` are the
    pointers of values a register verified (read-only), ``provenance`` says where values came
    from (a suggestion names its source), ``errors`` are messages by input id;
    ``upload_limit`` is the size limit of an uploaded file (bytes), said in the hint of an
    attachment field's file input. With ``lookups`` (the citizen uses their data), a field
    whose answer says whose records prefill reads has a button looking them up again;
    ``looked_up`` is what the last look-up of such a field (by pointer) found. Computed text
    is made from ``data`` here, whatever the data holds."""
    data = rules.fill_computed(form, copy.deepcopy(dict(data))) if isinstance(
        data, Mapping) else data
    builder = _Builder(form, provenance or {}, errors or {}, set(verified), documents,
                       result_numbers or {}, upload_limit)
    builder.data = data
    if lookups:
        builder.triggers = lookup_triggers(form)
    builder.looked_up = looked_up or {}
    out = []
    for s in form.sections:
        tokens = (s.id,)
        node = data.get(s.id) if isinstance(data, Mapping) else None
        out.append(SectionView(
            id=input_id(tokens), pointer=pointers.join(tokens), title=s.title, help=s.help,
            fields=[builder.field(f, tokens, node) for f in s.fields],
            error=builder.errors.get(input_id(tokens))))
    return out


class _Builder:
    def __init__(self, form: FormDefinition, provenance: Mapping[str, Mapping[str, Any]],
                 errors: Mapping[str, str], verified: set[str], documents: Sequence[Document],
                 result_numbers: Mapping[str, str], upload_limit: int = 0):
        self.upload_limit = upload_limit
        self.form = form
        self.provenance = provenance
        self.errors = errors
        self.verified = verified
        self.documents = documents
        self.result_numbers = result_numbers
        self.data: Any = {}
        self.triggers: dict[tuple[str, ...], str] = {}
        self.looked_up: Mapping[str, str] = {}

    def field(self, f: Field, parent: tuple[str, ...], node: Any) -> FieldView:
        tokens = (*parent, f.id)
        value = node.get(f.id) if isinstance(node, Mapping) else None
        ptr = pointers.join(tokens)
        fid = input_id(tokens)
        v = FieldView(kind=f.type, id=fid, name=ptr, pointer=ptr, label=f.label,
                      required=f.required, hint=f.help, error=self.errors.get(fid), value=value)
        if f.when is not None:
            v.when = when_doc(self.form, f.when, tokens)
            v.when_hint = when_hint(self.form, f.when)
        if f.is_group:
            self._group(f, tokens, value, v)
            return v
        info = self.provenance.get(ptr)
        v.text = printed(self.form, f, value, self.documents)
        if info is not None:
            v.source = source_text(info, self.result_numbers)
        if ptr in self.verified and value is not None:
            v.locked = True
            v.widget = "locked"
            return v
        v.suggested = info is not None
        if f.type == "computed":  # made from the answers, never typed
            v.widget = "computed"
            v.suggested = False
            v.hint = v.hint or _("Tự tạo từ các thông tin bạn đã điền.")
            return v
        self._inputs(f, tokens, value, v)
        if f.path in self.triggers:
            v.lookup_action = f"refresh:{ptr}"
            v.lookup_label = (_("Tra cứu") if f.type == "personal_id"
                              else _("Điền sẵn theo lựa chọn này"))
            v.lookup_result = self.looked_up.get(ptr)
        return v

    def _group(self, f: Field, tokens: tuple[str, ...], value: Any, v: FieldView) -> None:
        if not f.repeat:
            v.widget = "group"
            v.children = [self.field(c, tokens, value) for c in f.fields]
            return
        v.widget = "repeat"
        lo, hi = f.repeat
        least = lo if f.required else 0
        items = value if isinstance(value, list) else []
        count = max(len(items), least)
        v.count_name = f"{v.name}.count"
        for i in range(count):
            item_tokens = (*tokens, str(i))
            item = items[i] if i < len(items) else None
            item_ptr = pointers.join(item_tokens)
            removable = count > least and not _holds_verified(self.verified, item_ptr)
            v.items.append(ItemView(
                index=i, number=i + 1, id=input_id(item_tokens), pointer=item_ptr,
                fields=[self.field(c, item_tokens, item) for c in f.fields],
                remove_action=f"remove:{item_ptr}" if removable else None))
        v.add_action = f"add:{v.name}" if count < hi else None

    def _inputs(self, f: Field, tokens: tuple[str, ...], value: Any,  # noqa: C901
                v: FieldView) -> None:
        t = f.type
        text = "" if value is None or isinstance(value, dict | list) else str(value)
        v.value = text if t not in ("choice", "address", "attachment", "boolean",
                                    "commitment", "id_document", "place") else value
        if t in ("text", "long_text"):
            v.widget = "textarea" if t == "long_text" else "input"
            v.maxlength = f.max_length
            v.width = "" if t == "long_text" or (f.max_length or 200) > 40 else "medium"
            if f.pattern_message and not v.hint:
                v.hint = f.pattern_message
        elif t == "personal_id":
            v.inputmode, v.maxlength, v.width, v.autocomplete = "numeric", 12, "medium", "off"
            v.hint = v.hint or (
                _("12 chữ số (căn cước), hoặc 9 chữ số (chứng minh nhân dân cũ).")
                if f.old_id_card else _("12 chữ số, ví dụ 001090012345."))
        elif t == "tax_code":
            v.inputmode, v.maxlength, v.width, v.autocomplete = "numeric", 14, "medium", "off"
        elif t == "phone":
            v.input_type, v.autocomplete, v.width = "tel", "tel", "medium"
        elif t == "email":
            v.input_type, v.autocomplete = "email", "email"
            v.inputmode = None
        elif t in ("integer", "money"):
            v.inputmode, v.width = "numeric", "medium"
            if t == "money":
                v.hint = v.hint or _("Số tiền bằng đồng, chỉ chữ số.")
        elif t in ("date", "partial_date", "time", "date_time"):
            v.widget = "date"
            v.parts = self._date_parts(f, v, text)
        elif t == "id_document":
            self._id_document(f, value, v)
        elif t == "place":
            self._place(f, value, v)
        elif t == "boolean":
            v.widget = "radios"
            v.options = [Option("true", _("Có"), value is True, v.id),
                         Option("false", _("Không"), value is False, f"{v.id}--false")]
        elif t == "commitment":
            v.widget = "checkbox"
            if f.template:  # the printed text, filled from the answers
                v.label = rules.render(self.form, f, self.data, tokens)
            v.options = [Option("true", v.label, value is True, v.id)]
        elif t == "choice":
            codes = self.form.codes(f.codes or "")
            chosen = set(value) if isinstance(value, list) else {value}
            v.options = _options(codes, chosen, v.id)
            v.widget = ("checkboxes" if f.multiple else
                        "radios" if len(codes) <= RADIO_LIMIT else "select")
        elif t == "address":
            self._address(f, value, v)
        elif t == "attachment":
            chosen = {a.get("document_id") for a in value if isinstance(a, dict)} \
                if isinstance(value, list) else set()
            # a document of a type the field does not take is not offered (unless chosen)
            offered = [d for d in self.documents if d.document_id in chosen
                       or not (d.media_type and f.media_types)
                       or d.media_type in f.media_types]
            known = {d.document_id for d in self.documents}
            offered += [Document(str(d), str(d)) for d in sorted(chosen - known - {None})]
            v.options = [Option(d.document_id, d.label, d.document_id in chosen,
                                v.id if i == 0 else f"{v.id}--{i}")
                         for i, d in enumerate(offered)]
            v.widget = "checkboxes" if f.max_files > 1 else "radios"
            self._upload(f, v)

    def _upload(self, f: Field, v: FieldView) -> None:
        """The file input of an attachment field: only where nothing digital exists."""
        types = [m for m in f.media_types or UPLOAD_TYPES if m in UPLOAD_TYPES]
        if not types:
            return
        v.upload_name = f"{v.name}.upload"
        v.upload_id = f"{v.id}--upload" if v.options else v.id
        v.accept = ",".join([*types, *(UPLOAD_TYPES[m] for m in types)])
        v.upload_multiple = f.max_files > 1
        names = ", ".join(UPLOAD_TYPES[m].lstrip(".").upper() for m in types)
        v.upload_hint = (_("Tệp %(types)s, tối đa %(size)s MB.", types=names,
                           size=_megabytes(self.upload_limit)) if self.upload_limit
                         else _("Tệp %(types)s.", types=names))

    def _date_parts(self, f: Field, v: FieldView, text: str) -> list[Part]:
        keys: tuple[str, ...] = {"year": ("year",), "month": ("month", "year")}.get(
            f.precision, ("day", "month", "year")) if f.type == "partial_date" else (
            "day", "month", "year")
        day_text, _t, time_text = text.partition("T") if f.type == "date_time" else (
            ("", "", text) if f.type == "time" else (text, "", ""))
        given = dict(zip(("year", "month", "day"), day_text.split("-"), strict=False))
        given.update(zip(("hour", "minute"), time_text.split(":"), strict=False))
        labels = {"day": _("Ngày"), "month": _("Tháng"), "year": _("Năm"), "hour": _("Giờ"),
                  "minute": _("Phút")}
        if f.type == "time":
            keys = ("hour", "minute")
            v.hint = v.hint or _("Theo 24 giờ, ví dụ 14 giờ 30 phút.")
        elif f.type == "date_time":
            keys = ("day", "month", "year", "hour", "minute")
            v.hint = v.hint or _("Ví dụ: ngày 17 tháng 5 năm 2025, lúc 14 giờ 30 phút "
                                 "(theo 24 giờ).")
        elif f.type == "partial_date" and not v.hint:
            v.hint = {"year": _("Ví dụ: 1990"), "month": _("Ví dụ: 5 1990"),
                      }.get(f.precision, _("Nếu không nhớ ngày, tháng: chỉ nhập năm, hoặc "
                                            "tháng và năm."))
        elif f.type == "date" and not v.hint:
            v.hint = _("Ví dụ: 17 5 1990")
        return [Part(k, labels[k], v.id if i == 0 else f"{v.id}--{k}", f"{v.name}.{k}",
                     given.get(k, ""), "year" if k == "year" else "day")
                for i, k in enumerate(keys)]

    def _id_document(self, f: Field, value: Any, v: FieldView) -> None:
        """A select of the document's type and its number."""
        v.widget = "id_document"
        value = value if isinstance(value, dict) else {}
        v.options = _options(self.form.codes("id_document_type"), {value.get("type")}, v.id)
        v.values = {"number": str(value.get("number") or "")}
        v.hint = v.hint or _("Căn cước: 12 chữ số; chứng minh nhân dân: 9 chữ số; hộ chiếu: "
                             "một chữ cái và 7 chữ số.")
        self._part_errors(v, ("number",))

    def _place(self, f: Field, value: Any, v: FieldView) -> None:
        """A place: its kind (in Vietnam today, abroad, a unit's former name), then the kind's
        inputs (all shown without JavaScript, each kind's under its name)."""
        v.widget = "place"
        value = value if isinstance(value, dict) else {}
        kind = str(value.get("kind") or "")
        kinds = place_kinds(f)
        v.kinds = [Option(k, PLACE_KINDS[k](), k == kind,
                          v.id if i == 0 else f"{v.id}--kind-{k}") for i, k in enumerate(kinds)]
        current = value if kind == "current" else {}
        province = str(current.get("province") or "")
        v.options = _options([Code(p.code, p.name) for p in units.provinces()], {province},
                             f"{v.id}--province")
        v.communes = _options(
            [Code(c.code, c.name) for c in units.communes(province) or ()],
            {current.get("commune")}, f"{v.id}--commune")
        v.detail_value = str(current.get("detail") or "")
        abroad = value if kind == "abroad" else {}
        v.countries = _options(codelists.nationalities(), {abroad.get("country")},
                               f"{v.id}--country")
        v.values = {"foreign": str(abroad.get("detail") or ""),
                    "former": str(value.get("text") or "") if kind == "former" else ""}
        v.refresh_action = f"refresh:{v.name}"
        self._part_errors(v, ("province", "commune", "detail", "country", "foreign",
                              "former"))

    def _part_errors(self, v: FieldView, parts: Iterable[str]) -> None:
        for part in parts:
            if (message := self.errors.get(f"{v.id}--{part}")) is not None:
                v.part_errors[part] = message

    def _address(self, f: Field, value: Any, v: FieldView) -> None:
        v.widget = "address"
        value = value if isinstance(value, dict) else {}
        province = value.get("province") or ""
        commune = value.get("commune") or ""
        v.options = _options([Code(p.code, p.name) for p in units.provinces()], {province},
                             v.id)
        v.communes = _options([Code(c.code, c.name) for c in units.communes(province) or ()],
                              {commune}, f"{v.id}--commune")
        v.detail = f.detail != "none"
        v.detail_value = str(value.get("detail") or "")
        v.refresh_action = f"refresh:{v.name}"
        for part in ("commune", "detail"):
            if (message := self.errors.get(f"{v.id}--{part}")) is not None:
                v.part_errors[part] = message


#: the kinds of a place, with their words
PLACE_KINDS = {
    "current": lambda: _("Trong nước"),
    "abroad": lambda: _("Nước ngoài"),
    "former": lambda: _("Tên đơn vị hành chính cũ"),
}


def place_kinds(f: Field) -> tuple[str, ...]:
    """The kinds of place field ``f`` offers, in the list's order."""
    return tuple(k for k in PLACE_KINDS if k in (f.places or PLACE_KINDS))


def _options(codes: Iterable[Code], chosen: set[Any], base_id: str) -> list[Option]:
    return [Option(c.code, c.label, c.code in chosen, base_id if i == 0 else f"{base_id}--{i}")
            for i, c in enumerate(codes)]


def _holds_verified(verified: set[str], item_pointer: str) -> bool:
    return any(p.startswith(item_pointer + "/") for p in verified)


def when_doc(form: FormDefinition, cond: Condition, owner: tuple[str, ...]) -> dict[str, Any]:
    """The condition of the field at ``owner`` (concrete tokens) for eform.js: a leaf names the
    input it reads (``name``, its field's type as ``kind``) and ``equals``, ``in``, ``empty``
    or ``filled``; composites are ``{"all": [...]}``, ``{"any": [...]}``, ``{"not": {...}}``."""
    if cond.all_of:
        return {"all": [when_doc(form, c, owner) for c in cond.all_of]}
    if cond.any_of:
        return {"any": [when_doc(form, c, owner) for c in cond.any_of]}
    if cond.negate is not None:
        return {"not": when_doc(form, cond.negate, owner)}
    target = form.find(cond.field)
    doc: dict[str, Any] = {"name": pointers.join(conditions.concrete(cond.field, owner)),
                           "kind": target.type if target else ""}
    if cond.empty:
        doc["empty"] = True
    elif cond.equals is not None:
        doc["equals"] = cond.equals
    elif cond.one_of is not None:
        doc["in"] = list(cond.one_of)
    else:
        doc["filled"] = True
    return doc


def when_hint(form: FormDefinition, cond: Condition) -> str:
    """When a conditional field applies, in words (shown when JavaScript does not hide it)."""
    return _("Chỉ điền khi %(condition)s.", condition=_clause(form, cond))


def _clause(form: FormDefinition, cond: Condition) -> str:
    """A condition as a clause (``“A” là “B” và không điền “C”``)."""
    if cond.all_of or cond.any_of:
        word = _(" và ") if cond.all_of else _(" hoặc ")
        parts = [_clause(form, c) for c in (cond.all_of or cond.any_of)]
        return word.join(f"({p})" if (c.all_of or c.any_of) else p
                         for p, c in zip(parts, cond.all_of or cond.any_of, strict=True))
    if cond.negate is not None:
        return _("không phải (%(condition)s)", condition=_clause(form, cond.negate))
    target = form.find(cond.field)
    label = target.label if target else ".".join(cond.field)
    if cond.empty:
        return _("không điền “%(label)s”", label=label)
    if target is not None and cond.equals is not None:
        return _("“%(label)s” là “%(value)s”", label=label,
                 value=printed(form, target, cond.equals))
    if target is not None and cond.one_of:
        return _("“%(label)s” là một trong: %(values)s", label=label,
                 values=", ".join(f"“{printed(form, target, x)}”" for x in cond.one_of))
    if target is not None and target.type == "boolean":
        return _("“%(label)s” là “%(value)s”", label=label, value=_("Có"))
    return _("đã điền “%(label)s”", label=label)


def lookup_triggers(form: FormDefinition) -> dict[tuple[str, ...], str]:
    """The fields whose answer says whose records, or which record, prefill reads (paths of
    ids): a section's or group's person named by a typed number (``named_by``) or chosen by
    an answer (``relation_by``), and the choice that picks a binding's record (``by``)."""
    out: dict[tuple[str, ...], str] = {}

    def walk(fields: tuple[Field, ...]) -> None:
        for f in fields:
            if f.person is not None:
                person(f.person)
            if f.prefill is not None and f.prefill.by:
                out.setdefault(f.prefill.by, "by")
            if f.is_group:
                walk(f.fields)

    def person(p: Any) -> None:
        if p.named_by:
            out[p.named_by] = "named_by"
        if p.relation_by:
            out[p.relation_by] = "relation_by"

    for s in form.sections:
        if s.person is not None:
            person(s.person)
        walk(s.fields)
    return out


def lookup_scope(form: FormDefinition, trigger: tuple[str, ...]) -> list[tuple[str, ...]]:
    """The paths of ids whose values a look-up of ``trigger`` may change: the section or group
    whose person it names or chooses, and the fields whose record it picks."""
    out: list[tuple[str, ...]] = []

    def walk(fields: tuple[Field, ...]) -> None:
        for f in fields:
            if (f.person is not None and trigger in (f.person.named_by, f.person.relation_by)
                    or f.prefill is not None and f.prefill.by == trigger):
                out.append(f.path)
            if f.is_group:
                walk(f.fields)

    for s in form.sections:
        if s.person is not None and trigger in (s.person.named_by, s.person.relation_by):
            out.append((s.id,))
        walk(s.fields)
    return out


# -- values as people read them ---------------------------------------------------------------

def printed(form: FormDefinition, f: Field, value: Any,  # noqa: C901 - one branch per type
            documents: Sequence[Document] = ()) -> str:
    """A value of field ``f`` as people read it on paper."""
    if value is None or value == "" or value == []:
        return ""
    t = f.type
    if t == "date" or t == "partial_date":
        return print_date(str(value))
    if t == "time":
        return print_time(str(value))
    if t == "date_time":
        day_text, _t, time_text = str(value).partition("T")
        return _("%(time)s ngày %(date)s", time=print_time(time_text),
                 date=print_date(day_text))
    if t == "id_document" and isinstance(value, dict):
        labels = {c.code: c.label for c in form.codes("id_document_type")}
        name = labels.get(str(value.get("type")), str(value.get("type") or ""))
        return _("%(type)s số %(number)s", type=name, number=value.get("number") or "")
    if t == "place" and isinstance(value, dict):
        kind = value.get("kind")
        if kind == "abroad":
            names = {c.code: c.label for c in codelists.nationalities()}
            country = str(value.get("country") or "")
            return ", ".join(str(p) for p in (value.get("detail"), names.get(country, country))
                             if p)
        if kind == "former":
            return _("%(text)s (tên cũ)", text=value.get("text") or "")
        parts = [value.get("detail"), units.name(str(value.get("commune") or "")),
                 units.name(str(value.get("province") or ""))]
        return ", ".join(str(p) for p in parts if p)
    if t == "boolean":
        return _("Có") if value is True else _("Không") if value is False else str(value)
    if t == "commitment":
        return _("Đã xác nhận") if value is True else str(value)
    if t == "choice":
        labels = {c.code: c.label for c in form.codes(f.codes or "")}
        values = value if isinstance(value, list) else [value]
        return ", ".join(labels.get(str(x), str(x)) for x in values)
    if t == "address" and isinstance(value, dict):
        parts = [value.get("detail"), units.name(str(value.get("commune") or "")),
                 units.name(str(value.get("province") or ""))]
        return ", ".join(str(p) for p in parts if p)
    if t == "money" and isinstance(value, int) and not isinstance(value, bool):
        amount = format(value, ",").replace(",", ".")
        return _("%(amount)s đồng", amount=amount)
    if t == "attachment" and isinstance(value, list):
        names = {d.document_id: d.label for d in documents}
        return ", ".join(
            names.get(str(a.get("document_id")), str(a.get("file_name") or a.get("document_id")))
            for a in value if isinstance(a, dict))
    if isinstance(value, dict | list):
        return ""
    return str(value)


def print_date(text: str) -> str:
    """``1990-05-17`` as 17/05/1990, ``1990-05`` as 05/1990, ``1990`` as is."""
    parts = text.split("-")
    if all(_DIGITS.fullmatch(p) for p in parts) and 1 <= len(parts) <= 3:
        return "/".join(reversed(parts))
    return text


def print_time(text: str) -> str:
    """``14:30`` (or ``14:30:00``) as 14:30; anything else as it is."""
    parts = text.split(":")
    if len(parts) in (2, 3) and all(_DIGITS.fullmatch(p) for p in parts):
        return f"{parts[0]}:{parts[1]}"
    return text


def source_text(info: Mapping[str, Any], result_numbers: Mapping[str, str] | None = None,
                ) -> str:
    """The register a value came from, and the document when it is an earlier result or a
    digitised paper (``Cơ sở dữ liệu hộ tịch điện tử, theo kết quả số 12``)."""
    title = str(info.get("register_title") or info.get("source") or info.get("register") or "")
    origin = str(info.get("provenance") or "")
    if origin.startswith("result:"):
        number = (result_numbers or {}).get(origin.split(":", 1)[1])
        if number:
            return _("%(register)s, theo kết quả số %(number)s", register=title, number=number)
        return _("%(register)s, theo một kết quả đã cấp", register=title)
    if origin.startswith("digitised:"):
        return _("%(register)s, theo giấy tờ đã số hóa", register=title)
    return title


@dataclass
class AnswerRow:
    label: str
    text: str
    source: str | None
    id: str
    pointer: str
    locked: bool = False


@dataclass
class AnswerSection:
    title: str
    id: str
    rows: list[AnswerRow]


def answers(form: FormDefinition, data: Mapping[str, Any] | None,
            provenance: Mapping[str, Mapping[str, Any]] | None = None, *,
            verified: Iterable[str] = (), documents: Sequence[Document] = (),
            result_numbers: Mapping[str, str] | None = None) -> list[AnswerSection]:
    """The answers of the check-your-answers page: per section, each field's label, its value
    as people read it, where it came from, and the id of its input (for a "change" link).
    Fields whose condition does not hold are left out."""
    provenance = provenance or {}
    locked = set(verified)
    data = rules.fill_computed(form, copy.deepcopy(dict(data))) if isinstance(
        data, Mapping) else {}
    out = []

    def rows(fields: tuple[Field, ...], tokens: tuple[str, ...], node: Any,
             prefix: str) -> Iterator[AnswerRow]:
        for f in fields:
            here = (*tokens, f.id)
            if f.when is not None and not conditions.holds(f.when, data, here):
                continue
            value = node.get(f.id) if isinstance(node, Mapping) else None
            label = f"{prefix}{f.label}"
            if f.type == "commitment" and f.template:
                label = f"{prefix}{rules.render(form, f, data, here)}"
            if f.is_group and f.repeat:
                items = value if isinstance(value, list) else []
                if not items:
                    yield AnswerRow(label, _("Không có"), None, input_id(here),
                                    pointers.join(here))
                for i, item in enumerate(items):
                    yield from rows(f.fields, (*here, str(i)), item,
                                    f"{prefix}{f.label} {i + 1} – ")
            elif f.is_group:
                yield from rows(f.fields, here, value, f"{prefix}{f.label} – ")
            else:
                ptr = pointers.join(here)
                info = provenance.get(ptr)
                yield AnswerRow(label, printed(form, f, value, documents) or _("Không điền"),
                                source_text(info, result_numbers) if info else None,
                                input_id(here), ptr, ptr in locked)

    for s in form.sections:
        out.append(AnswerSection(s.title, input_id((s.id,)),
                                 list(rows(s.fields, (s.id,), data.get(s.id), ""))))
    return out


# -- reading a posted form --------------------------------------------------------------------

class Parsed(NamedTuple):
    #: the form data, as the API takes it
    data: dict[str, Any]
    #: ``add:…``, ``remove:…`` or ``refresh:…`` when one of the fields' buttons was pressed
    #: (already applied to ``data``), else None
    action: str | None
    #: what could not be read at all (a date that does not exist), by input id
    errors: dict[str, str]
    #: posted names of form data that are not inputs of this form
    unknown: list[str]
    #: the input to move to after an action
    focus: str | None


def parse(form: FormDefinition, posted: MultiDict[str, str] | Mapping[str, Any],
          base: Mapping[str, Any] | None = None, *, verified: Iterable[str] = (),
          documents: Sequence[Document] = ()) -> Parsed:
    """The JSON form data of a posted e-form. Verified values (``verified``: their pointers)
    are taken from ``base`` (the prefilled data), never from the post; values of fields whose
    condition does not hold are dropped; the fields' own buttons are applied."""
    if not isinstance(posted, MultiDict):
        posted = MultiDict(posted)
    reader = _Reader(form, posted, base or {}, set(verified),
                     {d.document_id: d for d in documents})
    data = {s.id: reader.object(s.fields, (s.id,)) for s in form.sections}
    action, focus = reader.apply(data, str(posted.get("action") or ""))
    conditions.drop_hidden(form, data)
    rules.fill_computed(form, data)
    unknown = sorted({name for name in posted if name.startswith("/")
                      and name not in reader.seen})
    return Parsed(data, action, reader.errors, unknown, focus)


class _Reader:
    def __init__(self, form: FormDefinition, posted: MultiDict[str, str], base: Mapping[str, Any],
                 verified: set[str], documents: dict[str, Document]):
        self.form = form
        self.posted = posted
        self.base = base
        self.verified = verified
        self.documents = documents
        self.seen: set[str] = set()
        self.errors: dict[str, str] = {}

    def get(self, name: str) -> str:
        self.seen.add(name)
        return _clean(self.posted.get(name, ""))

    def get_list(self, name: str) -> list[str]:
        self.seen.add(name)
        out: list[str] = []
        for v in self.posted.getlist(name):
            v = _clean(v).strip()
            if v and v not in out:
                out.append(v)
        return out

    def object(self, fields: tuple[Field, ...], tokens: tuple[str, ...]) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for f in fields:
            value = self.value(f, (*tokens, f.id))
            if value is not _OMIT:
                out[f.id] = value
        return out

    def value(self, f: Field, tokens: tuple[str, ...]) -> Any:  # noqa: C901 - per type
        ptr = pointers.join(tokens)
        if f.is_group:
            return self.group(f, tokens, ptr)
        if ptr in self.verified and (held := pointers.get(self.base, ptr, _OMIT)) is not _OMIT:
            for suffix in ("", ".day", ".month", ".year", ".hour", ".minute", ".province",
                           ".commune", ".detail", ".type", ".number", ".kind", ".country",
                           ".foreign", ".former"):
                self.seen.add(ptr + suffix)
            return held
        t = f.type
        if t == "computed":  # made from the answers after reading (rules.fill_computed)
            return _OMIT
        if t in ("text", "email"):
            return self.get(ptr).strip() or _OMIT
        if t == "long_text":
            return self.get(ptr).replace("\r\n", "\n").replace("\r", "\n").strip() or _OMIT
        if t in ("personal_id", "tax_code"):
            return _SPACES.sub("", self.get(ptr)) or _OMIT
        if t == "phone":
            return re.sub(r"[\s.\-()]", "", self.get(ptr)) or _OMIT
        if t in ("integer", "money"):
            return self.number(f, ptr, tokens)
        if t == "boolean":
            return {"true": True, "false": False}.get(self.get(ptr).strip(), _OMIT)
        if t == "commitment":
            return True if self.get(ptr).strip() == "true" else _OMIT
        if t == "choice":
            if f.multiple:
                return self.get_list(ptr) or _OMIT
            return self.get(ptr).strip() or _OMIT
        if t == "date":
            return self.date(f, ptr, tokens)
        if t == "partial_date":
            return self.partial_date(f, ptr, tokens)
        if t == "time":
            return self.time(f, ptr, tokens)
        if t == "date_time":
            return self.date_time(f, ptr, tokens)
        if t == "address":
            return self.address(f, ptr)
        if t == "id_document":
            return self.id_document(ptr)
        if t == "place":
            return self.place(f, ptr)
        if t == "attachment":
            self.seen.add(ptr + UPLOAD_SUFFIX)  # its file, if any, is the flow's to keep
            chosen = []
            for document_id in self.get_list(ptr):
                item: dict[str, Any] = {"document_id": document_id}
                known = self.documents.get(document_id)
                if known is not None and known.file_name:
                    item["file_name"] = known.file_name
                if known is not None and known.media_type:
                    item["media_type"] = known.media_type
                chosen.append(item)
            return chosen or _OMIT
        raise AssertionError(f"unhandled field type {t}")

    def group(self, f: Field, tokens: tuple[str, ...], ptr: str) -> Any:
        if not f.repeat:
            inner = self.object(f.fields, tokens)
            return inner if inner or f.required else _OMIT
        count_text = self.get(f"{ptr}.count").strip()
        count = int(count_text) if _DIGITS.fullmatch(count_text) and len(count_text) < 5 else 0
        # items holding verified values cannot disappear, whatever the post says
        prefix = ptr + "/"
        for p in self.verified:
            if p.startswith(prefix) and _DIGITS.fullmatch(index := p[len(prefix):].split("/")[0]):
                count = max(count, int(index) + 1)
        count = min(count, f.repeat[1])
        items = [self.object(f.fields, (*tokens, str(i))) for i in range(count)]
        return items or _OMIT

    def number(self, f: Field, ptr: str, tokens: tuple[str, ...]) -> Any:
        raw = self.get(ptr).strip()
        if not raw:
            return _OMIT
        text = _SPACES.sub("", raw)
        if f.type == "money":
            text = text.replace(".", "").replace(",", "")
            if text.lower().endswith(("đồng", "đ", "vnd")):
                text = re.sub(r"(?i)(đồng|đ|vnd)$", "", text)
        if _INTEGER.fullmatch(text):
            return int(text)
        self.errors[input_id(tokens)] = (
            _("“%(label)s” phải là số tiền bằng chữ số, ví dụ 1500000.", label=f.label)
            if f.type == "money" else _("“%(label)s” phải là số, ví dụ 2.", label=f.label))
        return raw

    def _date_boxes(self, ptr: str, keys: Iterable[str]) -> dict[str, str]:
        return {k: self.get(f"{ptr}.{k}").strip().replace("-", "") for k in keys}

    def date(self, f: Field, ptr: str, tokens: tuple[str, ...]) -> Any:
        boxes = self._date_boxes(ptr, ("day", "month", "year"))
        if not any(boxes.values()):
            return _OMIT
        day, month, year = boxes["day"], boxes["month"], boxes["year"]
        raw = f"{year}-{month.zfill(2) if month.isdigit() else month}-" \
              f"{day.zfill(2) if day.isdigit() else day}"
        problem = _date_problem(f.label, day, month, year)
        if problem:
            self.errors[input_id(tokens)] = problem
            return raw
        return date(int(year), int(month), int(day)).isoformat()

    def partial_date(self, f: Field, ptr: str, tokens: tuple[str, ...]) -> Any:
        keys = {"year": ("year",), "month": ("month", "year")}.get(
            f.precision, ("day", "month", "year"))
        boxes = self._date_boxes(ptr, keys)
        if not any(boxes.values()):
            return _OMIT
        day, month, year = boxes.get("day", ""), boxes.get("month", ""), boxes["year"]
        mm = month.zfill(2) if month.isdigit() else month
        dd = day.zfill(2) if day.isdigit() else day
        problem: str | None
        if f.precision == "year" or (f.precision == "any" and not month and not day):
            raw, problem = year, _year_problem(f.label, year)
        elif day and not month:
            raw = f"{year}--{day}"
            problem = _("“%(label)s”: có ngày thì phải có tháng.", label=f.label)
        elif f.precision == "month" or not day:
            raw, problem = f"{year}-{mm}", _date_problem(f.label, "1", month, year)
        else:
            raw, problem = f"{year}-{mm}-{dd}", _date_problem(f.label, day, month, year)
        if problem:
            self.errors[input_id(tokens)] = problem
        return raw

    def time(self, f: Field, ptr: str, tokens: tuple[str, ...]) -> Any:
        boxes = self._date_boxes(ptr, ("hour", "minute"))
        if not any(boxes.values()):
            return _OMIT
        raw, problem = _time_of(f.label, boxes["hour"], boxes["minute"])
        if problem:
            self.errors[input_id(tokens)] = problem
        return raw

    def date_time(self, f: Field, ptr: str, tokens: tuple[str, ...]) -> Any:
        boxes = self._date_boxes(ptr, ("day", "month", "year", "hour", "minute"))
        if not any(boxes.values()):
            return _OMIT
        day, month, year = boxes["day"], boxes["month"], boxes["year"]
        when = f"{year}-{month.zfill(2) if month.isdigit() else month}-" \
               f"{day.zfill(2) if day.isdigit() else day}"
        hm, problem = _time_of(f.label, boxes["hour"], boxes["minute"])
        problem = _date_problem(f.label, day, month, year) or problem
        if problem:
            self.errors[input_id(tokens)] = problem
        return f"{when}T{hm}"

    def id_document(self, ptr: str) -> Any:
        kind = self.get(f"{ptr}.type").strip()
        number = _SPACES.sub("", self.get(f"{ptr}.number")).upper()
        if not (kind or number):
            return _OMIT
        out = {"type": kind} if kind else {}
        if number:
            out["number"] = number
        return out

    def place(self, f: Field, ptr: str) -> Any:
        kinds = place_kinds(f)
        kind = self.get(f"{ptr}.kind").strip()
        branches: dict[str, dict[str, Any]] = {
            "current": self.address(f, ptr) if "current" in kinds else _OMIT,
            "abroad": {k: v for k, v in (
                ("country", self.get(f"{ptr}.country").strip()),
                ("detail", self.get(f"{ptr}.foreign").strip())) if v}
            if "abroad" in kinds else {},
            "former": {"text": text} if "former" in kinds and (
                text := self.get(f"{ptr}.former").strip()) else {},
        }
        typed = [k for k in kinds if branches[k] not in ({}, _OMIT)]
        if kind not in kinds:
            # no kind chosen (or one not offered): the only kind typed, or the only one
            kind = typed[0] if len(typed) == 1 else kinds[0] if len(kinds) == 1 and typed \
                else ""
        if not kind:
            return {"kind": typed[0]} if typed else _OMIT
        branch = branches[kind]
        return {"kind": kind, **(branch if branch is not _OMIT else {})}

    def address(self, f: Field, ptr: str) -> Any:
        province = self.get(f"{ptr}.province").strip()
        commune = self.get(f"{ptr}.commune").strip()
        detail = self.get(f"{ptr}.detail").strip() if f.detail != "none" else ""
        if not (province or commune or detail):
            return _OMIT
        out: dict[str, Any] = {}
        if province:
            out["province"] = province
        # a commune of another province (the province was changed): chosen again
        if commune and province and any(c.code == commune for c in units.communes(province)
                                        or ()):
            out["commune"] = commune
        if detail:
            out["detail"] = detail
        return out

    def apply(self, data: dict[str, Any], action: str) -> tuple[str | None, str | None]:
        """Apply a button of the fields (add an item, remove one, refresh a commune list)."""
        kind, _sep, ptr = action.partition(":")
        if kind not in ACTIONS or not ptr.startswith("/"):
            return None, None
        try:
            tokens = pointers.parse(ptr)
        except ValueError:
            return None, None
        ids = tuple(t for t in tokens if not t.isdigit())
        if kind == "refresh":
            f = self.form.find(ids) if ids else None
            if f is not None and f.type == "address":
                return action, f"{input_id(tokens)}--commune"
            if f is not None and f.type == "place":
                return action, f"{input_id(tokens)}--commune"
            if f is not None and ids in lookup_triggers(self.form):
                return action, input_id(tokens)
            return None, None
        if kind == "remove":
            if len(tokens) < 2 or not tokens[-1].isdigit():
                return None, None
            index = int(tokens[-1])
            tokens, ids = tokens[:-1], ids
        f = self.form.find(ids) if ids else None
        if f is None or not f.is_group or not f.repeat:
            return None, None
        least = f.repeat[0] if f.required else 0
        items = _ensure_list(data, tokens)
        if items is None:
            return None, None
        if kind == "add":
            if len(items) >= f.repeat[1]:
                return None, input_id(tokens)
            items.append({})
            return action, input_id((*tokens, str(len(items) - 1)))
        item_ptr = pointers.join((*tokens, str(index)))
        if index >= len(items) or len(items) <= least or _holds_verified(self.verified,
                                                                         item_ptr):
            return None, input_id(tokens)
        del items[index]
        return action, input_id(tokens)


def _ensure_list(data: dict[str, Any], tokens: list[str]) -> list[Any] | None:
    """The list at ``tokens`` in ``data``, made (with the objects above it) when missing."""
    node: Any = data
    for i, token in enumerate(tokens):
        last = i == len(tokens) - 1
        if isinstance(node, dict):
            if token not in node or not isinstance(node[token], dict | list):
                node[token] = [] if last else {}
            node = node[token]
        elif isinstance(node, list) and token.isdigit() and int(token) < len(node):
            node = node[int(token)]
        else:
            return None
    return node if isinstance(node, list) else None


def _clean(value: Any) -> str:
    return unicodedata.normalize("NFC", value if isinstance(value, str) else str(value))


def _time_of(label: str, hour: str, minute: str) -> tuple[str, str | None]:
    """``HH:MM`` from an hour and a minute box, and what is wrong with them."""
    raw = f"{hour.zfill(2) if hour.isdigit() else hour}:" \
          f"{minute.zfill(2) if minute.isdigit() else minute}"
    missing = [name for name, v in ((_("giờ"), hour), (_("phút"), minute)) if not v]
    if missing:
        return raw, _("“%(label)s” phải có %(parts)s.", label=label, parts=", ".join(missing))
    if not (hour.isdigit() and minute.isdigit() and len(hour) <= 2 and len(minute) <= 2
            and int(hour) < 24 and int(minute) < 60):
        return raw, _("“%(label)s” phải là giờ và phút có thật, ví dụ 14 giờ 30 phút.",
                      label=label)
    return raw, None


def _year_problem(label: str, year: str) -> str | None:
    if not year:
        return _("“%(label)s” phải có năm.", label=label)
    if not (year.isdigit() and len(year) == 4):
        return _("Năm của “%(label)s” phải có 4 chữ số, ví dụ 1990.", label=label)
    return None


def _date_problem(label: str, day: str, month: str, year: str) -> str | None:
    missing = [name for name, v in ((_("ngày"), day), (_("tháng"), month), (_("năm"), year))
               if not v]
    if missing:
        return _("“%(label)s” phải có %(parts)s.", label=label, parts=", ".join(missing))
    if not (day.isdigit() and month.isdigit()):
        return _("“%(label)s” phải là một ngày có thật.", label=label)
    if (problem := _year_problem(label, year)) is not None:
        return problem
    try:
        date(int(year), int(month), int(day))
    except ValueError:
        return _("“%(label)s” phải là một ngày có thật.", label=label)
    return None


# -- the API's problems at the inputs ---------------------------------------------------------

def error_map(form: FormDefinition, problems: Iterable[Mapping[str, Any]],
              data: Any = None) -> dict[str, str]:
    """The API's validation problems (``{"field": JSON pointer, "code", "message",
    "message_en"}``) by the id of the input they concern, one message per input, in the page's
    language; problems of no field are under ``""``. ``data`` (the data checked) says which
    kind of place a place's problem is about."""
    out: dict[str, str] = {}
    for problem in problems:
        where = str(problem.get("field") or "/")
        f, tokens, part = locate(form, where)
        suffix = part
        if f is not None and f.type == "place" and part == "detail":
            kind = pointers.walk(data, [*tokens, "kind"]) if data is not None else None
            suffix = "foreign" if kind == "abroad" else "detail"
        elif f is not None and f.type == "place" and part == "text":
            suffix = "former"
        elif part in ("type", "kind"):  # the field's own first input
            suffix = None
        key = "" if not tokens else input_id(tokens) + (f"--{suffix}" if suffix else "")
        out.setdefault(key, message(f, str(problem.get("code") or ""), problem, part))
    return out


def locate(form: FormDefinition, pointer: str) -> tuple[Field | None, list[str], str | None]:
    """The field a problem's pointer concerns, the pointer tokens of its input, and the
    sub-part of an address (``commune``, ``detail``) when it is one; a pointer into a section
    or into nothing known gives the section (or no tokens at all)."""
    try:
        tokens = pointers.parse(pointer if pointer != "/" else "")
    except ValueError:
        return None, [], None
    if not tokens:
        return None, [], None
    section = next((s for s in form.sections if s.id == tokens[0]), None)
    if section is None:
        return None, [], None
    fields = section.fields
    found: Field | None = None
    out = [tokens[0]]
    rest = tokens[1:]
    while rest:
        token = rest[0]
        if found is not None and found.is_group and found.repeat and token.isdigit():
            out.append(token)
            rest = rest[1:]
            continue
        child = next((c for c in fields if c.id == token), None)
        if child is None:
            break
        found = child
        out.append(token)
        rest = rest[1:]
        if not child.is_group:
            break
        fields = child.fields
    part = None
    if found is not None and rest and rest[0] in _PARTS.get(found.type, ()):
        part = rest[0]
    return found, out, part


#: the keys of a field's value that have inputs of their own
_PARTS = {"address": ("commune", "detail"), "id_document": ("type", "number"),
          "place": ("kind", "province", "commune", "detail", "country", "text")}


def message(f: Field | None, code: str, problem: Mapping[str, Any],  # noqa: C901 - per code
            part: str | None = None) -> str:
    """A problem's message for the citizen, with the field's label (the API's own for codes
    and places not rewritten here)."""
    english = str(get_locale() or "vi").startswith("en")
    fallback = str(problem.get("message_en" if english else "message") or problem.get(
        "message") or _("Giá trị không hợp lệ."))
    if f is None:
        return fallback
    label = f.label
    t = f.type
    if code == "required":
        if t == "commitment":
            return _("Hãy đánh dấu xác nhận lời cam đoan.")
        if t == "address":
            if part == "commune":
                return _("Chọn xã, phường của “%(label)s”.", label=label)
            if part == "detail":
                return _("Nhập số nhà, đường, thôn, xóm của “%(label)s”.", label=label)
            return _("Chọn tỉnh, thành phố của “%(label)s”.", label=label)
        if t == "place":
            return _place_required(label, part)
        if t == "id_document":
            if part == "number":
                return _("Nhập số giấy tờ của “%(label)s”.", label=label)
            return _("Chọn loại giấy tờ của “%(label)s”.", label=label)
        if t in ("choice", "boolean", "attachment"):
            return _("Chọn “%(label)s”.", label=label)
        if t == "group":
            return _("Điền “%(label)s”.", label=label)
        return _("Nhập “%(label)s”.", label=label)
    if code == "commitment":
        return _("Hãy đánh dấu xác nhận lời cam đoan.")
    if code == "bad_format":
        if t == "text" and f.pattern_message:
            return f.pattern_message
        if t == "personal_id" and f.old_id_card:
            return _("“%(label)s” phải gồm 12 chữ số, hoặc 9 chữ số nếu là số chứng minh "
                     "nhân dân.", label=label)
        texts = {
            "date": _("“%(label)s” phải là một ngày có thật."),
            "partial_date": _("“%(label)s” phải là năm, tháng và năm, hoặc ngày tháng năm."),
            "personal_id": _("“%(label)s” phải gồm đúng 12 chữ số."),
            "tax_code": _("“%(label)s” phải gồm 10 hoặc 13 chữ số."),
            "phone": _("“%(label)s” phải là số điện thoại, ví dụ 0912345678."),
            "email": _("“%(label)s” phải là địa chỉ thư điện tử, ví dụ ten@example.vn."),
            "time": _("“%(label)s” phải là giờ và phút có thật, ví dụ 14 giờ 30 phút."),
            "date_time": _("“%(label)s” phải là ngày, giờ có thật."),
            "id_document": _("Số giấy tờ của “%(label)s” không đúng với loại giấy tờ: căn "
                             "cước 12 chữ số, chứng minh nhân dân 9 chữ số, hộ chiếu một chữ "
                             "cái và 7 chữ số."),
        }
        return texts.get(t, _("“%(label)s” không đúng định dạng.")) % {"label": label}
    if code == "wrong_type" and t in ("integer", "money"):
        return _("“%(label)s” phải là số.", label=label)
    if code == "not_in_list":
        if t in ("address", "place") and part == "commune":
            return _("Xã, phường đã chọn không thuộc tỉnh, thành phố đã chọn.")
        if t == "place" and part == "country":
            return _("Chọn nước của “%(label)s” trong danh sách.", label=label)
        if t == "id_document":
            return _("Chọn loại giấy tờ của “%(label)s” trong danh sách.", label=label)
        return _("Chọn “%(label)s” trong danh sách.", label=label)
    if code == "too_long":
        return _("“%(label)s” dài quá %(n)s ký tự.", label=label,
                 n=f.max_length if t in ("text", "long_text") else 200)
    if code == "too_small" and f.minimum is not None:
        return _("“%(label)s” phải từ %(n)s trở lên.", label=label, n=f.minimum)
    if code == "too_large" and f.maximum is not None:
        return _("“%(label)s” không được quá %(n)s.", label=label, n=f.maximum)
    if code == "too_few":
        least = f.repeat[0] if f.repeat else 1
        return _("“%(label)s” cần ít nhất %(n)s mục.", label=label, n=least)
    if code == "too_many":
        most = f.repeat[1] if f.repeat else f.max_files
        return _("“%(label)s” có tối đa %(n)s mục.", label=label, n=most)
    if code == "verified_mismatch":
        return _("“%(label)s” phải giữ đúng như trong cơ sở dữ liệu; không sửa được.",
                 label=label)
    if code == "control_character":
        return _("“%(label)s” có ký tự không hợp lệ.", label=label)
    if code == "unknown_document":
        return _("Giấy tờ đã chọn cho “%(label)s” không có trong kho dữ liệu của bạn.",
                 label=label)
    return fallback


def _place_required(label: str, part: str | None) -> str:
    if part == "province":
        return _("Chọn tỉnh, thành phố của “%(label)s”.", label=label)
    if part == "commune":
        return _("Chọn xã, phường của “%(label)s”.", label=label)
    if part == "country":
        return _("Chọn nước của “%(label)s”.", label=label)
    if part == "text":
        return _("Nhập tên đơn vị hành chính cũ của “%(label)s”.", label=label)
    if part == "detail":
        return _("Nhập địa danh ở nước ngoài của “%(label)s”.", label=label)
    return _("Chọn “%(label)s” ở trong nước, ở nước ngoài, hay ghi tên đơn vị hành chính "
             "cũ.", label=label)


def summary(errors: Mapping[str, str], sections: Sequence[SectionView]) -> list[dict[str, str]]:
    """The errors for ``macros.error_summary``, in the order of the page; errors of no field
    link to the first section."""
    order = {fid: i for i, fid in enumerate(page_ids(sections))}
    first = sections[0].id if sections else ""
    items = [{"field": fid or first, "message": text} for fid, text in errors.items()]
    return sorted(items, key=lambda e: order.get(e["field"], len(order)))


def _megabytes(size: int) -> str:
    """A size limit in MB as people read it (``10``, ``0,5``)."""
    mb = size / (1024 * 1024)
    return str(int(mb)) if mb >= 1 and mb == int(mb) else f"{mb:.1f}".replace(".", ",")


def upload_field(form: FormDefinition, name: str) -> tuple[Field, str, str] | None:
    """The attachment field whose file input is ``name`` (``<pointer>.upload``), with its
    pointer and input id; None for any other name."""
    if not name.endswith(UPLOAD_SUFFIX):
        return None
    pointer = name[:-len(UPLOAD_SUFFIX)]
    f, tokens, _part = locate(form, pointer)
    if f is None or f.type != "attachment" or pointers.join(tokens) != pointer:
        return None
    return f, pointer, input_id(tokens)


def upload_message(f: Field, code: str, limit: int) -> str:
    """What is wrong with a file uploaded for attachment field ``f``."""
    if code == "empty_file":
        return _("Tệp tải lên cho “%(label)s” không có nội dung.", label=f.label)
    if code == "file_too_large":
        return _("Tệp tải lên cho “%(label)s” lớn quá %(size)s MB.", label=f.label,
                 size=_megabytes(limit))
    if code == "too_many":
        return _("“%(label)s” có tối đa %(n)s tệp; hãy bỏ chọn một tệp trước khi tải lên "
                 "tệp khác.", label=f.label, n=f.max_files)
    types = [m for m in f.media_types or UPLOAD_TYPES if m in UPLOAD_TYPES]
    return _("Tệp tải lên cho “%(label)s” phải là %(types)s.", label=f.label,
             types=", ".join(UPLOAD_TYPES[m].lstrip(".").upper() for m in types))


#: the ids of a field's inputs after its own, by type, in page order
_SUB_IDS = {"address": ("commune", "detail"), "id_document": ("number",),
            "place": ("province", "commune", "detail", "country", "foreign", "former"),
            "date": ("month", "year"), "partial_date": ("month", "year"),
            "time": ("minute",), "date_time": ("month", "year", "hour", "minute")}


def page_ids(sections: Sequence[SectionView]) -> Iterator[str]:
    """Every id of the rendered fields, in page order (sub-parts included)."""

    def walk(fields: Iterable[FieldView]) -> Iterator[str]:
        for f in fields:
            yield f.id
            yield f"{f.id}--upload"
            for part in _SUB_IDS.get(f.kind, ()):
                yield f"{f.id}--{part}"
            yield from walk(f.children)
            for item in f.items:
                yield item.id
                yield from walk(item.fields)

    for s in sections:
        yield s.id
        yield from walk(s.fields)
