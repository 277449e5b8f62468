"""Built-in code lists that declaration forms choose from.

Codes are what is stored and exchanged; labels are what citizens read. The ethnic-group codes
follow the General Statistics Office list (Quyết định 121-TCTK/PPCĐ), the nationality codes are
ISO 3166-1 alpha-2 with Vietnamese names from the iso-codes translations shipped by pycountry,
and provinces come from the current official list of administrative units.
"""

from __future__ import annotations

import gettext
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache

import pycountry

from forms import units


@dataclass(frozen=True)
class Code:
    code: str
    label: str


def _codes(pairs: list[tuple[str, str]]) -> tuple[Code, ...]:
    return tuple(Code(code, label) for code, label in pairs)


SEX = _codes([("nam", "Nam"), ("nu", "Nữ")])

ETHNIC_GROUPS = _codes(
    [
        ("01", "Kinh"), ("02", "Tày"), ("03", "Thái"), ("04", "Hoa"), ("05", "Khơ-me"),
        ("06", "Mường"), ("07", "Nùng"), ("08", "Hmông"), ("09", "Dao"), ("10", "Gia-rai"),
        ("11", "Ngái"), ("12", "Ê-đê"), ("13", "Ba-na"), ("14", "Xơ-đăng"), ("15", "Sán Chay"),
        ("16", "Cơ-ho"), ("17", "Chăm"), ("18", "Sán Dìu"), ("19", "Hrê"), ("20", "Mnông"),
        ("21", "Ra-glai"), ("22", "Xtiêng"), ("23", "Bru-Vân Kiều"), ("24", "Thổ"),
        ("25", "Giáy"), ("26", "Cơ-tu"), ("27", "Gié-Triêng"), ("28", "Mạ"), ("29", "Khơ-mú"),
        ("30", "Co"), ("31", "Tà-ôi"), ("32", "Chơ-ro"), ("33", "Kháng"), ("34", "Xinh-mun"),
        ("35", "Hà Nhì"), ("36", "Chu-ru"), ("37", "Lào"), ("38", "La Chí"), ("39", "La Ha"),
        ("40", "Phù Lá"), ("41", "La Hủ"), ("42", "Lự"), ("43", "Lô Lô"), ("44", "Chứt"),
        ("45", "Mảng"), ("46", "Pà Thẻn"), ("47", "Cơ Lao"), ("48", "Cống"), ("49", "Bố Y"),
        ("50", "Si La"), ("51", "Pu Péo"), ("52", "Brâu"), ("53", "Ơ Đu"), ("54", "Rơ-măm"),
    ]
)

RELATIONSHIPS = _codes(
    [
        ("chu_ho", "Chủ hộ"), ("cha", "Cha"), ("me", "Mẹ"), ("vo", "Vợ"), ("chong", "Chồng"),
        ("con", "Con"), ("anh", "Anh"), ("chi", "Chị"), ("em", "Em"), ("ong", "Ông"),
        ("ba", "Bà"), ("chau", "Cháu"), ("cha_nuoi", "Cha nuôi"), ("me_nuoi", "Mẹ nuôi"),
        ("con_nuoi", "Con nuôi"), ("nguoi_giam_ho", "Người giám hộ"), ("ban_than", "Bản thân"),
        ("khac", "Khác"),
    ]
)

#: The relation to the declarant (forms.registers) an answer of the relationship list names,
#: for a section whose person is chosen by that answer (``person: {relation_by: …}``); the
#: other answers name no one the registers link (the section's fields are then typed).
RELATIONSHIP_RELATIONS: dict[str, str] = {
    "ban_than": "declarant", "cha": "father", "me": "mother", "vo": "spouse",
    "chong": "spouse", "con": "child", "chu_ho": "household_head",
    "nguoi_giam_ho": "guardian",
}

RELIGIONS = _codes(
    [
        ("khong", "Không"), ("phat_giao", "Phật giáo"), ("cong_giao", "Công giáo"),
        ("tin_lanh", "Tin lành"), ("hoi_giao", "Hồi giáo"), ("cao_dai", "Cao Đài"),
        ("hoa_hao", "Phật giáo Hòa Hảo"), ("baha_i", "Baha'i"),
        ("tinh_do_cu_si", "Tịnh độ Cư sĩ Phật hội Việt Nam"),
        ("co_doc_phuc_lam", "Cơ đốc Phục lâm"),
        ("tu_an_hieu_nghia", "Phật giáo Tứ Ân Hiếu Nghĩa"),
        ("buu_son_ky_huong", "Bửu Sơn Kỳ Hương"), ("minh_su_dao", "Minh Sư Đạo"),
        ("minh_ly_dao", "Minh Lý Đạo - Tam Tông Miếu"), ("ba_la_mon", "Bà-la-môn"),
        ("mac_mon", "Các Thánh hữu Ngày sau của Chúa Giê-su Ky-tô (Mặc Môn)"),
        ("hieu_nghia_ta_lon", "Phật giáo Hiếu Nghĩa Tà Lơn"), ("khac", "Khác"),
    ]
)

ID_DOCUMENT_TYPES = _codes(
    [
        ("the_can_cuoc", "Thẻ căn cước/Căn cước công dân"), ("ho_chieu", "Hộ chiếu"),
        ("dinh_danh", "Số định danh cá nhân"), ("cmnd", "Chứng minh nhân dân"),
        ("giay_chung_nhan_can_cuoc", "Giấy chứng nhận căn cước"),
        ("the_thuong_tru", "Thẻ thường trú"), ("the_tam_tru", "Thẻ tạm trú"),
        ("khac", "Loại khác"),
    ]
)

#: The identity document type of a personal ID number read from the registers
#: (``type: id_document`` bound to ``population.personal_id``).
PERSONAL_ID_DOCUMENT = "dinh_danh"

#: The number of an identity document of each type (``type: id_document``), as a regular
#: expression meaning the same in Python and ECMA-262; other types: ``ID_NUMBER_PATTERN``.
ID_NUMBER_PATTERNS: dict[str, str] = {
    "the_can_cuoc": "^[0-9]{12}$",
    "dinh_danh": "^[0-9]{12}$",
    "cmnd": "^[0-9]{9}$",
    "ho_chieu": "^[A-Z][0-9]{7}$",
}
ID_NUMBER_PATTERN = "^[A-Za-z0-9/-]{1,30}$"

MARITAL_STATUS = _codes(
    [
        ("chua_ket_hon", "Chưa kết hôn"), ("dang_co_vo_chong", "Đang có vợ/chồng"),
        ("ly_hon", "Đã ly hôn"), ("goa", "Góa vợ/chồng"),
    ]
)

BLOOD_GROUPS = _codes([("A", "A"), ("B", "B"), ("AB", "AB"), ("O", "O")])

DRIVING_LICENCE_CLASSES = _codes(
    [(c, f"Hạng {c}") for c in ("A1", "A", "B1", "B", "C1", "C", "D1", "D2", "D", "BE",
                                 "C1E", "CE", "D1E", "D2E", "DE", "A2", "A3", "A4", "B2",
                                 "E", "FB2", "FC", "FD", "FE")]
)

EDUCATION_LEVELS = _codes(
    [
        ("chua_di_hoc", "Chưa đi học"), ("tieu_hoc", "Tiểu học"), ("thcs", "Trung học cơ sở"),
        ("thpt", "Trung học phổ thông"), ("trung_cap", "Trung cấp"), ("cao_dang", "Cao đẳng"),
        ("dai_hoc", "Đại học"), ("sau_dai_hoc", "Sau đại học"),
    ]
)


@cache
def nationalities() -> tuple[Code, ...]:
    """ISO 3166-1 alpha-2 codes with Vietnamese names, Việt Nam first, the rest by code."""
    vi = gettext.translation("iso3166-1", pycountry.LOCALES_DIR, languages=["vi"])
    codes = [Code(c.alpha_2, vi.gettext(c.name)) for c in pycountry.countries]
    codes.sort(key=lambda c: (c.code != "VN", c.code))
    return tuple(codes)


@cache
def provinces() -> tuple[Code, ...]:
    return tuple(Code(p.code, p.name) for p in units.provinces())


_STATIC: dict[str, tuple[Code, ...]] = {
    "sex": SEX,
    "ethnicity": ETHNIC_GROUPS,
    "relationship": RELATIONSHIPS,
    "religion": RELIGIONS,
    "marital_status": MARITAL_STATUS,
    "id_document_type": ID_DOCUMENT_TYPES,
    "blood_group": BLOOD_GROUPS,
    "driving_licence_class": DRIVING_LICENCE_CLASSES,
    "education_level": EDUCATION_LEVELS,
}

#: Names of the built-in lists a form may use with ``type: choice, codes: NAME``.
BUILT_IN = (*_STATIC, "nationality", "province")


def lookup(name: str, own: Mapping[str, tuple[Code, ...]] | None = None) -> tuple[Code, ...]:
    """The code list called ``name``: a form's own list (``own``) when it has one, else the
    built-in one, else none (an empty tuple). The one lookup every part of tokhai uses."""
    return (own or {}).get(name) or built_in(name) or ()


def built_in(name: str) -> tuple[Code, ...] | None:
    """The built-in code list called ``name``, or None when there is none."""
    if name == "nationality":
        return nationalities()
    if name == "province":
        return provinces()
    return _STATIC.get(name)
