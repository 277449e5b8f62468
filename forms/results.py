"""Result templates: the official documents a procedure ends with, and which procedure uses which.

A template is one kind of result (a birth registration extract, a confirmation of residence
information, a decision, ...): its title, the abbreviation of its type in the document number
(``Số: 05/TLKS-UBND``: the agency's part comes from the signing configuration), its legal
basis (the official model it follows), and the **values** it prints, each named, with where it
comes from and whether the document can exist without it.

A value's sources are tried in order:

* a JSON pointer into the dossier's data, ``/nguoi_duoc_khai_sinh/ho_ten``; ``a + b`` joins the
  values of two pointers with a space (``/nguoi_de_nghi/ho + /nguoi_de_nghi/ten``);
* a register's field about the citizen who filed the dossier, ``population.permanent_residence``
  (forms/registers.py): what a confirmation confirms is what the register holds.

A **required** value must be found, or the result is not issued (the issuance is refused and
the dossier stays as it is); publishing a form whose result template could never find one (no
pointer of it names a field of the form, and it has no register source) is refused, naming the
value. Optional values are printed when they are there.

Procedures without a template of their own end with a decision (Decree 30/2020, Annex III, Mẫu
1.2): "Căn cứ …", "Xét đề nghị của …", articles made of the dossier's named values (who asks,
for what), its effect and who carries it out, "Nơi nhận".

The structured data of a result (its values, by key) travels inside the signed PDF, so later
procedures reuse it without reading the text.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from forms import pointers
from forms.model import Field, FormDefinition
from forms.registers import REGISTERS

#: the file, embedded in a result's PDF, that carries its structured data (written by
#: service.results.rendering, read back by service.pki.validation)
DATA_FILE = "ket-qua.json"


@dataclass(frozen=True)
class Value:
    key: str
    label: str
    #: tried in order: JSON pointers into the dossier's data ("a + b" joins two), or
    #: ``register.field`` about the dossier's citizen
    sources: tuple[str, ...]
    required: bool = True
    #: only the year is printed and kept ("Năm sinh" of the models), even when the source
    #: holds a whole date (a form that asks for the date of birth)
    year_only: bool = False

    def pointers(self) -> Iterator[tuple[str, ...]]:
        """Each pointer source as the paths it reads (one, or two joined)."""
        for source in self.sources:
            if source.startswith("/"):
                yield tuple(part.strip() for part in source.split(" + "))

    def registers(self) -> Iterator[str]:
        for source in self.sources:
            if not source.startswith("/"):
                yield source


@dataclass(frozen=True)
class Heading:
    """A heading among a certificate's lines (bold, on its own line): one party's block."""

    text: str


#: a line of a certificate: the keys of the values printed together on it, a sentence (with
#: ``{key}`` placeholders) printed as it is, or a heading
Line = tuple[str, ...] | str | Heading


@dataclass(frozen=True)
class ResultTemplate:
    code: str
    title: str
    #: the abbreviation of the document's type in its number: "TLKS" in "Số: 05/TLKS-UBND"
    symbol: str
    #: the official model it follows (cited in its current version)
    legal_basis: str
    #: the document class, which sets how long the repository keeps it
    document_class: str
    values: tuple[Value, ...]
    #: "certificate" (a specialised document printed as its ministry's model) or "decision"
    kind: str = "certificate"
    #: the order of the certificate's lines; one value a line by default
    lines: tuple[Line, ...] = ()
    #: the certificate's rows are numbered "1.", "2.", … as the model numbers them
    numbered: bool = False
    #: "Căn cứ …" lines the model prints (italic), then a heading ("XÁC NHẬN:")
    grounds: tuple[str, ...] = ()
    heading: str = ""
    #: a sentence before the rows and lines after them; ``{key}`` names a value, or
    #: ``{co_quan}`` (the agency), ``{ngay_cap}`` (the date of issue, in words),
    #: ``{het_han_mot_nam}`` (its last day of validity a year on), ``{ma_ho_so}``
    intro: str = ""
    trailer: tuple[str, ...] = ()
    #: a sentence under the rows (italic)
    closing: str = ""
    #: the model's signer line, printed in place of the agency's authority lines
    signer_heading: str = ""
    #: the "Nơi nhận" list, each line as printed after "- "
    recipients: tuple[str, ...] = ("Người yêu cầu;", "Lưu: VT.")
    #: the civil-status register book the event is entered in (``KH``: the marriage book), if
    #: the document is numbered by it: then its number is the entry's, from 1 in the agency's
    #: book of the year ("Số: 12"), printed with the book ("Quyển số: 01/2026"), not a number
    #: of the agency's series of results
    register_book: str | None = None

    def required(self) -> tuple[Value, ...]:
        return tuple(v for v in self.values if v.required)


def _v(key: str, label: str, *sources: str, required: bool = True) -> Value:
    return Value(key, label, sources, required)


def _o(key: str, label: str, *sources: str) -> Value:
    return Value(key, label, sources, False)


def _year(key: str, label: str, *sources: str) -> Value:
    """An optional value of which only the year is printed and kept."""
    return Value(key, label, sources, False, year_only=True)


#: the sections a form names its declarant (the person who asks) in
_DECLARANT = ("nguoi_yeu_cau", "nguoi_ke_khai", "nguoi_de_nghi", "nguoi_dai_dien",
              "chu_doanh_nghiep", "nguoi_tham_gia", "cong_dan", "chu_ho_kinh_doanh")


def _declarant(field: str) -> tuple[str, ...]:
    return tuple(f"/{section}/{field}" for section in _DECLARANT)


TEMPLATES: dict[str, ResultTemplate] = {t.code: t for t in [
    ResultTemplate(
        "birth_extract", "TRÍCH LỤC KHAI SINH", "TLKS",
        "Mẫu Trích lục khai sinh ban hành kèm Thông tư số 04/2020/TT-BTP, được sửa đổi, bổ sung "
        "bởi Thông tư số 04/2024/TT-BTP (Bộ Tư pháp)", "civil_status",
        (
            _v("ho_ten", "Họ, chữ đệm, tên", "/nguoi_duoc_khai_sinh/ho_ten"),
            _v("ngay_sinh", "Ngày, tháng, năm sinh", "/nguoi_duoc_khai_sinh/ngay_sinh"),
            _v("gioi_tinh", "Giới tính", "/nguoi_duoc_khai_sinh/gioi_tinh"),
            _v("dan_toc", "Dân tộc", "/nguoi_duoc_khai_sinh/dan_toc"),
            _v("quoc_tich", "Quốc tịch", "/nguoi_duoc_khai_sinh/quoc_tich"),
            _v("noi_sinh", "Nơi sinh", "/nguoi_duoc_khai_sinh/noi_sinh"),
            _o("que_quan", "Quê quán", "/nguoi_duoc_khai_sinh/que_quan"),
            _o("so_dinh_danh", "Số định danh cá nhân", "/nguoi_duoc_khai_sinh/so_dinh_danh"),
            _o("me_ho_ten", "Họ, chữ đệm, tên người mẹ", "/nguoi_me/ho_ten"),
            _year("me_nam_sinh", "Năm sinh", "/nguoi_me/nam_sinh", "/nguoi_me/ngay_sinh"),
            _o("me_dan_toc", "Dân tộc", "/nguoi_me/dan_toc"),
            _o("me_quoc_tich", "Quốc tịch", "/nguoi_me/quoc_tich"),
            _o("me_noi_cu_tru", "Nơi cư trú", "/nguoi_me/noi_cu_tru"),
            _o("cha_ho_ten", "Họ, chữ đệm, tên người cha", "/nguoi_cha/ho_ten"),
            _year("cha_nam_sinh", "Năm sinh", "/nguoi_cha/nam_sinh", "/nguoi_cha/ngay_sinh"),
            _o("cha_dan_toc", "Dân tộc", "/nguoi_cha/dan_toc"),
            _o("cha_quoc_tich", "Quốc tịch", "/nguoi_cha/quoc_tich"),
            _o("cha_noi_cu_tru", "Nơi cư trú", "/nguoi_cha/noi_cu_tru"),
        ),
        lines=(("ho_ten",), ("ngay_sinh",), ("gioi_tinh", "dan_toc", "quoc_tich"),
               ("noi_sinh",), ("que_quan",), ("so_dinh_danh",), ("me_ho_ten",),
               ("me_nam_sinh", "me_dan_toc", "me_quoc_tich"), ("me_noi_cu_tru",),
               ("cha_ho_ten",), ("cha_nam_sinh", "cha_dan_toc", "cha_quoc_tich"),
               ("cha_noi_cu_tru",)),
        trailer=("Nơi đăng ký khai sinh: {co_quan}", "Ngày, tháng, năm đăng ký: {ngay_cap}"),
        signer_heading="NGƯỜI KÝ TRÍCH LỤC"),
    ResultTemplate(
        "residence_confirmation", "XÁC NHẬN THÔNG TIN VỀ CƯ TRÚ", "XNCT",
        "Mẫu CT07 ban hành kèm Thông tư số 66/2023/TT-BCA (Bộ Công an)", "residence",
        (
            # what is confirmed is what the residence database holds: the register first
            _v("ho_ten", "Họ, chữ đệm và tên", "population.full_name", *_declarant("ho_ten")),
            _v("ngay_sinh", "Ngày, tháng, năm sinh", "population.birth_date",
               *_declarant("ngay_sinh")),
            _v("gioi_tinh", "Giới tính", "population.sex", *_declarant("gioi_tinh")),
            _v("so_dinh_danh", "Số định danh cá nhân", "population.personal_id",
               *_declarant("so_dinh_danh"), "/nguoi_yeu_cau/giay_to"),
            _o("dan_toc", "Dân tộc", "population.ethnicity", *_declarant("dan_toc")),
            _o("ton_giao", "Tôn giáo", "population.religion", *_declarant("ton_giao")),
            _o("quoc_tich", "Quốc tịch", "population.nationality", *_declarant("quoc_tich")),
            _o("que_quan", "Quê quán", "population.home_town", *_declarant("que_quan")),
            _o("noi_thuong_tru", "Nơi thường trú", "population.permanent_residence",
               *_declarant("noi_thuong_tru")),
            _o("noi_tam_tru", "Nơi tạm trú", "population.temporary_residence",
               *_declarant("noi_tam_tru")),
            # the place of residence: a confirmation without it confirms nothing
            _v("noi_o_hien_tai", "Nơi ở hiện tại", "population.current_residence",
               "population.residence", "/qua_trinh/noi_o_hien_tai",
               *_declarant("noi_o_hien_tai"), *_declarant("noi_cu_tru")),
            _o("chu_ho", "Họ, chữ đệm và tên chủ hộ", "population.household_head_name",
               "/chu_ho/ho_ten_chu_ho"),
            _o("quan_he_chu_ho", "Quan hệ với chủ hộ", "population.relationship_to_household_head",
               "/chu_ho/quan_he_chu_ho"),
            _o("so_dinh_danh_chu_ho", "Số định danh cá nhân của chủ hộ",
               "population.household_head_personal_id", "/chu_ho/so_dinh_danh_chu_ho"),
        ),
        numbered=True,
        intro="Theo đề nghị của Ông/Bà: {ho_ten}, {co_quan} xác nhận thông tin về cư trú như "
              "sau:",
        closing="Giấy này có giá trị sử dụng đến hết {het_han_mot_nam}; trường hợp thông tin "
                "về cư trú của công dân có sự thay đổi thì Giấy này hết giá trị kể từ thời "
                "điểm thay đổi.",
        signer_heading="THỦ TRƯỞNG CƠ QUAN ĐĂNG KÝ CƯ TRÚ"),
    ResultTemplate(
        "criminal_record", "PHIẾU LÝ LỊCH TƯ PHÁP SỐ 1", "LLTP",
        "Mẫu Phiếu lý lịch tư pháp số 1 (Luật Lý lịch tư pháp 2009, Điều 42), Thông tư số "
        "06/2024/TT-BTP", "judicial_record",
        (
            _v("ho_ten", "Họ và tên", *_declarant("ho_ten"), "population.full_name"),
            _v("gioi_tinh", "Giới tính", *_declarant("gioi_tinh"), "population.sex"),
            _v("ngay_sinh", "Ngày, tháng, năm sinh", *_declarant("ngay_sinh"),
               "population.birth_date"),
            _o("noi_sinh", "Nơi sinh", *_declarant("noi_sinh")),
            _o("quoc_tich", "Quốc tịch", *_declarant("quoc_tich"), "population.nationality"),
            _v("so_dinh_danh", "Số định danh cá nhân", *_declarant("so_dinh_danh"),
               "/nguoi_yeu_cau/giay_to", "population.personal_id"),
            _o("noi_thuong_tru", "Nơi thường trú", *_declarant("noi_thuong_tru"),
               *_declarant("noi_cu_tru"), "population.permanent_residence"),
            # the finding of the search: a judicial record without it certifies nothing
            _v("tinh_trang_an_tich", "Tình trạng án tích", "/ket_qua/tinh_trang_an_tich"),
            _o("cam_dam_nhiem", "Thông tin về cấm đảm nhiệm chức vụ, thành lập, quản lý doanh "
               "nghiệp, hợp tác xã", "/ket_qua/cam_dam_nhiem"),
        ),
        numbered=True,
        grounds=("Căn cứ Luật Lý lịch tư pháp ngày 17 tháng 6 năm 2009;",
                 "Căn cứ Nghị định số 111/2010/NĐ-CP ngày 23 tháng 11 năm 2010 của Chính phủ "
                 "quy định chi tiết và hướng dẫn thi hành một số điều của Luật Lý lịch tư "
                 "pháp,"),
        heading="XÁC NHẬN:"),
    ResultTemplate(
        "household_business_certificate", "GIẤY CHỨNG NHẬN ĐĂNG KÝ HỘ KINH DOANH", "HKD",
        "Mẫu Giấy chứng nhận đăng ký hộ kinh doanh, Thông tư số 68/2025/TT-BTC (hướng dẫn Nghị "
        "định số 168/2025/NĐ-CP về đăng ký doanh nghiệp và hộ kinh doanh)", "business",
        (
            _o("ma_so", "Mã số hộ kinh doanh", "/ho_kinh_doanh/ma_so"),
            _v("ten_ho_kinh_doanh", "1. Tên hộ kinh doanh", "/ho_kinh_doanh/ten"),
            _v("dia_chi", "2. Địa chỉ trụ sở hộ kinh doanh", "/ho_kinh_doanh/dia_chi",
               "/ho_kinh_doanh/dia_diem"),
            _v("nganh_nghe", "3. Ngành, nghề kinh doanh", "/ho_kinh_doanh/nganh_nghe"),
            _o("von", "4. Vốn kinh doanh", "/ho_kinh_doanh/von"),
            _v("chu_ho", "Họ và tên", "/chu_ho_kinh_doanh/ho_ten", *_declarant("ho_ten")),
            _o("gioi_tinh", "Giới tính", "/chu_ho_kinh_doanh/gioi_tinh",
               *_declarant("gioi_tinh")),
            _o("ngay_sinh", "Sinh ngày", "/chu_ho_kinh_doanh/ngay_sinh",
               *_declarant("ngay_sinh")),
            _o("dan_toc", "Dân tộc", "/chu_ho_kinh_doanh/dan_toc", *_declarant("dan_toc")),
            _o("quoc_tich", "Quốc tịch", "/chu_ho_kinh_doanh/quoc_tich",
               *_declarant("quoc_tich")),
            _o("so_dinh_danh", "Số định danh cá nhân", "/chu_ho_kinh_doanh/so_dinh_danh",
               *_declarant("so_dinh_danh"), *_declarant("so_giay_to")),
            _o("thuong_tru", "Địa chỉ thường trú", "/chu_ho_kinh_doanh/dia_chi_thuong_tru",
               "/dia_chi_thuong_tru/dia_chi"),
            _o("lien_lac", "Địa chỉ liên lạc", "/chu_ho_kinh_doanh/dia_chi_lien_lac",
               "/dia_chi_lien_lac/dia_chi"),
        ),
        # no signer line of the model's own: its "TRƯỞNG PHÒNG" is the signer's title, which
        # the agency's configured signer gives
        lines=(("ma_so",), "Đăng ký lần đầu: {ngay_cap}", ("ten_ho_kinh_doanh",),
               ("dia_chi",), ("nganh_nghe",), ("von",),
               "5. Thông tin về chủ hộ kinh doanh:", ("chu_ho", "gioi_tinh"),
               ("ngay_sinh", "dan_toc", "quoc_tich"), ("so_dinh_danh",), ("thuong_tru",),
               ("lien_lac",))),
    # the registration issues the marriage certificate itself: Luật Hộ tịch 2014, Article 18,
    # has the two parties sign the register and the certificate, which the chairman of the
    # commune's people's committee hands to both; a "trích lục kết hôn" is a copy of the
    # register's entry issued later, on request (Articles 63-64). Its number is the register
    # entry's, with the book: what the birth registration form asks of the parents' marriage.
    ResultTemplate(
        "marriage_certificate", "GIẤY CHỨNG NHẬN KẾT HÔN", "KH",
        "Mẫu Giấy chứng nhận kết hôn ban hành kèm Thông tư số 04/2020/TT-BTP, được sửa đổi, "
        "bổ sung bởi Thông tư số 04/2024/TT-BTP (Bộ Tư pháp); Luật Hộ tịch 2014, Điều 17-18",
        "civil_status",
        (
            _v("vo_ho_ten", "Họ, chữ đệm, tên vợ", "/ben_nu/ho_ten"),
            _v("vo_ngay_sinh", "Ngày, tháng, năm sinh", "/ben_nu/ngay_sinh"),
            _o("vo_dan_toc", "Dân tộc", "/ben_nu/dan_toc"),
            _o("vo_quoc_tich", "Quốc tịch", "/ben_nu/quoc_tich"),
            _o("vo_noi_cu_tru", "Nơi cư trú", "/ben_nu/noi_cu_tru"),
            _o("vo_giay_to", "Giấy tờ tùy thân", "/ben_nu/giay_to"),
            _v("chong_ho_ten", "Họ, chữ đệm, tên chồng", "/ben_nam/ho_ten"),
            _v("chong_ngay_sinh", "Ngày, tháng, năm sinh", "/ben_nam/ngay_sinh"),
            _o("chong_dan_toc", "Dân tộc", "/ben_nam/dan_toc"),
            _o("chong_quoc_tich", "Quốc tịch", "/ben_nam/quoc_tich"),
            _o("chong_noi_cu_tru", "Nơi cư trú", "/ben_nam/noi_cu_tru"),
            _o("chong_giay_to", "Giấy tờ tùy thân", "/ben_nam/giay_to"),
        ),
        lines=(Heading("Bên nữ"), ("vo_ho_ten",), ("vo_ngay_sinh",),
               ("vo_dan_toc", "vo_quoc_tich"), ("vo_noi_cu_tru",), ("vo_giay_to",),
               Heading("Bên nam"), ("chong_ho_ten",), ("chong_ngay_sinh",),
               ("chong_dan_toc", "chong_quoc_tich"), ("chong_noi_cu_tru",),
               ("chong_giay_to",)),
        trailer=("Ngày, tháng, năm đăng ký: {ngay_cap}", "Nơi đăng ký: {co_quan}"),
        # signed by the committee's chairman (or a vice-chairman for them): the agency's
        # own authority lines
        recipients=("Bên nữ, bên nam;", "Lưu: Sổ đăng ký kết hôn."),
        register_book="KH"),
    ResultTemplate(
        "decision", "QUYẾT ĐỊNH", "QĐ",
        "Nghị định số 30/2020/NĐ-CP, Phụ lục III, Mẫu 1.2 (Quyết định cá biệt quy định trực "
        "tiếp)", "decision",
        (
            # who asks: the citizen who filed, as the population register names them, else
            # the form's declarant
            _v("nguoi_de_nghi", "Người đề nghị", "population.full_name", *_declarant("ho_ten"),
               *(f"/{s}/ho + /{s}/ten" for s in _DECLARANT)),
            _o("gioi_tinh", "Giới tính", "population.sex", *_declarant("gioi_tinh")),
            _o("ngay_sinh", "Ngày, tháng, năm sinh", "population.birth_date",
               *_declarant("ngay_sinh")),
            _o("so_dinh_danh", "Số định danh cá nhân", "population.personal_id",
               *_declarant("so_dinh_danh"), *_declarant("giay_to")),
            _o("noi_cu_tru", "Nơi cư trú", "population.residence", *_declarant("noi_cu_tru"),
               *_declarant("thuong_tru")),
            # what is asked for, in the citizen's words
            _o("noi_dung", "Nội dung đề nghị", "/noi_dung/noi_dung_de_nghi",
               "/de_nghi/noi_dung", "/de_nghi/ly_do", "/noi_dung/ly_do",
               "/tre_em/noi_dung_de_nghi"),
        ),
        kind="decision", recipients=("Như Điều 3;", "Lưu: VT.")),
]}

#: procedure code -> the template of its result; the others end with a decision
PROCEDURE_RESULTS: dict[str, str] = {
    "1.001193": "birth_extract",                 # Đăng ký khai sinh
    "1.000894": "marriage_certificate",          # Đăng ký kết hôn
    "local.cu-tru.ct01": "residence_confirmation",
    "local.cu-tru.ct02": "residence_confirmation",
    "local.ltp.phieu-1": "criminal_record",
    "local.dkkd.ho-kinh-doanh": "household_business_certificate",
}


def template_for(procedure_code: str) -> ResultTemplate:
    return TEMPLATES[PROCEDURE_RESULTS.get(procedure_code, "decision")]


# -- finding values ---------------------------------------------------------------------------

def unreachable(template: ResultTemplate, definition: FormDefinition) -> list[Value]:
    """The template's required values a dossier on ``definition`` could never provide: none of
    their pointers names a field of the form (both, for a joined pair), and they have no
    register source. Publishing such a form is refused."""
    missing = []
    for value in template.required():
        if any(True for _ in value.registers()):
            continue
        if not any(all(_field(definition, path) is not None for path in paths)
                   for paths in value.pointers()):
            missing.append(value)
    return missing


def _field(definition: FormDefinition, pointer: str) -> Field | None:
    path = tuple(pointers.parse(pointer))
    return definition.find(path) if len(path) >= 2 else None


@dataclass(frozen=True)
class Found:
    """A value found for a template: the raw value (as the API holds it: ISO dates, codes),
    and what it is, to print it: the form's field, or the register's value kind."""

    value: Any
    field: Field | None = None
    #: ``text``, ``date``, ``address``, ``choice:sex``… for a register's value
    register_kind: str | None = None


def find_values(template: ResultTemplate, data: dict[str, Any],
                definition: FormDefinition | None,
                record: Callable[[str], dict[str, Any] | None] | None = None,
                ) -> tuple[dict[str, Found], list[Value]]:
    """The template's values found in the dossier's ``data`` (and, through ``record``, which
    gives a register's record about the dossier's citizen, in the registers), by key; and the
    required values not found."""
    found: dict[str, Found] = {}
    missing: list[Value] = []
    for value in template.values:
        hit = _find(value, data, definition, record)
        if hit is not None:
            found[value.key] = hit
        elif value.required:
            missing.append(value)
    return found, missing


def _present(value: Any) -> bool:
    return value not in (None, "", [], {})


def _find(value: Value, data: dict[str, Any], definition: FormDefinition | None,
          record: Callable[[str], dict[str, Any] | None] | None) -> Found | None:
    for source in value.sources:
        if source.startswith("/"):
            paths = [part.strip() for part in source.split(" + ")]
            parts = [pointers.get(data, path) for path in paths]
            if not all(_present(p) for p in parts):
                continue
            field = _field(definition, paths[0]) if definition is not None else None
            if len(parts) > 1:
                return Found(" ".join(str(p).strip() for p in parts))
            return Found(parts[0], field)
        if record is None:
            continue
        register, _, name = source.partition(".")
        held = record(register)
        if held is not None and _present(held.get(name)):
            kind = REGISTERS[register].fields[name][0] if register in REGISTERS else "text"
            return Found(held[name], register_kind=kind)
    return None


@dataclass(frozen=True)
class ResultRecord:
    """What a result writes to one register when it is issued, for each person it concerns.

    ``fields``: register field -> what of the result: ``number`` (as printed: "05/QĐ-UBND",
    or a register entry's "12"), ``book`` (the register book: "01/2026"), ``issued_date``
    (ISO, Vietnam time), ``agency_name``; ``party:<field>``, the person's own value in their
    section of the dossier; ``other:<field>``, the other party's (a spouse's number);
    ``=<value>``, a fixed value. A field with no value is not written.

    ``parties``: the sections of the dossier naming the people it concerns, each by the
    personal ID number in its ``id_field``; none: the citizen who filed. A party is written
    for only when identified: the citizen who filed (their own number), or a person the
    population register holds under that number with the name and birth date the dossier
    gives (``identity``), so that a mistyped number changes nobody's records.
    ``all_parties``: written only when every party is identified (a link between them);
    ``existing_only``: only over a record the register already holds (tokhai links people in
    the population register, it does not make population records)."""

    register: str
    fields: dict[str, str]
    parties: tuple[str, ...] = ()
    id_field: str = "giay_to"
    identity: tuple[tuple[str, str], ...] = (("ho_ten", "full_name"),
                                             ("ngay_sinh", "birth_date"))
    all_parties: bool = False
    existing_only: bool = False


#: procedure code -> the records its result writes when issued (provenance
#: ``result:<document id>``, in the record-change trail with the result as evidence)
RESULT_RECORDS: dict[str, tuple[ResultRecord, ...]] = {
    # Đăng ký kết hôn: the marriage in both spouses' civil status, and each one's spouse in
    # the population register, so that either spouse's later forms prefill the certificate
    # and the other parent
    "1.000894": (
        ResultRecord("civil_status", {
            "marriage_certificate_number": "number",
            "marriage_book_number": "book",
            "marriage_registration_date": "issued_date",
            "marriage_registration_authority": "agency_name",
            "marriage_count": "party:lan_ket_hon",
        }, parties=("ben_nu", "ben_nam")),
        ResultRecord("population", {
            "spouse_personal_id": "other:giay_to",
            "marital_status": "=dang_co_vo_chong",
        }, parties=("ben_nu", "ben_nam"), all_parties=True, existing_only=True),
    ),
}
