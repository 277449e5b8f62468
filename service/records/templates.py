"""The official templates of the documents that can be digitised (birth certificates,
household business certificates): the kind, the title that heads the first page, the printed
labels read into register fields, and the printed identity of the person the document names.
Plain data, imported by the reader (service.records.digitised) and by the API's schemas alike,
so it imports nothing beyond the standard library."""

from __future__ import annotations

import re
from dataclasses import dataclass


@dataclass(frozen=True)
class Label:
    field: str
    pattern: re.Pattern[str]
    kind_override: str | None = None


def _label(field: str, *texts: str, value: str | None = None) -> Label:
    """The official templates print "Label: value". ``value``: a pattern for a value that
    shares its line with other labels (the date of birth, then "ghi bằng chữ: …"); without
    it, the value runs to the end of the line."""
    alternatives = "|".join(re.escape(t) for t in texts)
    # the colon keeps "Số:" from matching "Số định danh cá nhân: ..."
    if value is None:
        return Label(field, re.compile(rf"(?:{alternatives})\s*:\s*(?P<value>.+?)\s*$",
                                       re.IGNORECASE))
    return Label(field, re.compile(rf"(?:{alternatives})\s*:\s*(?P<value>{value})(?:\s.*)?$",
                                   re.IGNORECASE))


@dataclass(frozen=True)
class Identity:
    """The person a document names, as it prints them: the field holding their personal ID
    number, and the labels of what the population register also holds about them (population
    field -> label), to be compared with the register."""

    personal_id: str
    labels: dict[str, Label]


@dataclass(frozen=True)
class Template:
    kind: str
    title: str
    #: the document's title, alone on a line of the first page: a letter that mentions the
    #: kind of document in a sentence is not the document
    marker: str
    register: str
    #: the field naming the document's subject (the person or the business)
    subject_label: Label
    labels: tuple[Label, ...]
    #: the person the document names (the registered child, the business's representative)
    identity: Identity | None = None
    #: the document's date of registration, which can be neither in the future nor (for a
    #: person's document) before the person was born
    registration_date: str | None = None


_SEX = r"Nam|Nữ|Nu"
_DATE = r"\d{1,2}/\d{1,2}/\d{4}|\d{4}-\d{2}-\d{2}"

TEMPLATES: dict[str, Template] = {
    t.kind: t for t in (
        Template(
            "birth_certificate", "Giấy khai sinh (bản chính)", "GIẤY KHAI SINH", "civil_status",
            _label("personal_id", "Số định danh cá nhân"),
            (
                _label("birth_registration_number", "Số"),
                _label("birth_registration_authority", "Nơi đăng ký khai sinh",
                       "Nơi đăng ký"),
                _label("birth_registration_date", "Ngày, tháng, năm đăng ký", "Ngày đăng ký"),
            ),
            Identity("personal_id", {
                "full_name": _label("full_name", "Họ, chữ đệm, tên", "Họ, chữ đệm và tên",
                                    "Họ và tên"),
                "birth_date": _label("birth_date", "Ngày, tháng, năm sinh", "Ngày sinh",
                                     value=_DATE),
                "sex": _label("sex", "Giới tính", value=_SEX),
            }),
            "birth_registration_date",
        ),
        Template(
            "household_business_certificate",
            "Giấy chứng nhận đăng ký hộ kinh doanh", "GIẤY CHỨNG NHẬN ĐĂNG KÝ HỘ KINH DOANH",
            "business",
            _label("enterprise_code", "Mã số hộ kinh doanh"),
            (
                _label("name", "Tên hộ kinh doanh"),
                _label("registration_date", "Đăng ký lần đầu"),
                _label("business_lines", "Ngành, nghề kinh doanh"),
                _label("charter_capital", "Vốn kinh doanh"),
                _label("legal_representative_name", "Họ, chữ đệm và tên", "Họ và tên"),
                _label("legal_representative_personal_id", "Số định danh cá nhân"),
            ),
            Identity("legal_representative_personal_id", {
                "full_name": _label("legal_representative_name", "Họ, chữ đệm và tên",
                                    "Họ và tên"),
                "birth_date": _label("legal_representative_birth_date", "Ngày sinh",
                                     value=_DATE),
                "sex": _label("legal_representative_sex", "Giới tính", value=_SEX),
            }),
            "registration_date",
        ),
    )
}
