"""The official templates of the documents that can be digitised (birth certificates,
household business certificates): the kind, what marks the first page, and the printed labels
read into register fields. Plain data, imported by the reader (service.records.digitised) and by
the API's schemas alike, so it imports nothing beyond the standard library."""

from __future__ import annotations

import re
from dataclasses import dataclass


@dataclass(frozen=True)
class Label:
    field: str
    pattern: re.Pattern[str]
    kind_override: str | None = None


def _label(field: str, *texts: str) -> Label:
    alternatives = "|".join(re.escape(t) for t in texts)
    # the official templates print "Label: value"; the colon keeps "Số:" from matching
    # "Số định danh cá nhân: ..."
    return Label(field, re.compile(rf"(?:{alternatives})\s*:\s*(?P<value>.+?)\s*$",
                                   re.IGNORECASE))


@dataclass(frozen=True)
class Template:
    kind: str
    title: str
    #: words that must appear on the first page, so that the wrong document is not misread
    marker: str
    register: str
    #: the field naming the document's subject (the person or the business)
    subject_label: Label
    labels: tuple[Label, ...]


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
        ),
        Template(
            "household_business_certificate",
            "Giấy chứng nhận đăng ký hộ kinh doanh", "ĐĂNG KÝ HỘ KINH DOANH", "business",
            _label("enterprise_code", "Mã số hộ kinh doanh"),
            (
                _label("name", "Tên hộ kinh doanh"),
                _label("registration_date", "Đăng ký lần đầu"),
                _label("business_lines", "Ngành, nghề kinh doanh"),
                _label("charter_capital", "Vốn kinh doanh"),
                _label("legal_representative_name", "Họ, chữ đệm và tên", "Họ và tên"),
                _label("legal_representative_personal_id", "Số định danh cá nhân"),
            ),
        ),
    )
}
