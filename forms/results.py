"""Result templates: the official documents a procedure ends with, and which procedure uses which.

A template is the printed layout of one kind of result (a birth registration extract, a
confirmation of residence information, ...): its title, the symbol in its document number, its
legal basis and the rows it prints. Each row names where its value comes from in the dossier's
data, as JSON pointers tried in order, so one template serves every version of a form whose
sections are named alike. Procedures without a template of their own end with the generic
decision letter, which prints every field of the form.

The structured data of a result (its rows, by key) travels inside the signed PDF, so later
procedures reuse it without reading the text.
"""

from __future__ import annotations

from dataclasses import dataclass

#: the file, embedded in a result's PDF, that carries its structured data (written by
#: service.results.rendering, read back by service.pki.validation)
DATA_FILE = "ket-qua.json"


@dataclass(frozen=True)
class Row:
    key: str
    label: str
    #: JSON pointers into the dossier's data; the first one present gives the value
    sources: tuple[str, ...]


@dataclass(frozen=True)
class ResultTemplate:
    code: str
    title: str
    #: the symbol in the document number, "Số: 12/2026/TLKS"
    symbol: str
    legal_basis: str
    #: the document class, which sets how long the repository keeps it
    document_class: str
    rows: tuple[Row, ...]
    #: a sentence printed under the rows
    closing: str = ""


def _rows(*rows: tuple[str, str, str | tuple[str, ...]]) -> tuple[Row, ...]:
    return tuple(Row(key, label, (src,) if isinstance(src, str) else src)
                 for key, label, src in rows)


_APPLICANT = ("/nguoi_yeu_cau/ho_ten", "/nguoi_ke_khai/ho_ten", "/chu_ho_kinh_doanh/ho_ten")
_APPLICANT_ID = ("/nguoi_yeu_cau/giay_to", "/nguoi_yeu_cau/so_dinh_danh",
                 "/nguoi_ke_khai/so_dinh_danh", "/chu_ho_kinh_doanh/so_dinh_danh")

TEMPLATES: dict[str, ResultTemplate] = {t.code: t for t in [
    ResultTemplate(
        "birth_extract", "TRÍCH LỤC KHAI SINH", "TLKS",
        "Mẫu Trích lục khai sinh, Thông tư 04/2024/TT-BTP", "civil_status",
        _rows(
            ("ho_ten", "Họ, chữ đệm, tên", "/nguoi_duoc_khai_sinh/ho_ten"),
            ("ngay_sinh", "Ngày, tháng, năm sinh", "/nguoi_duoc_khai_sinh/ngay_sinh"),
            ("gioi_tinh", "Giới tính", "/nguoi_duoc_khai_sinh/gioi_tinh"),
            ("dan_toc", "Dân tộc", "/nguoi_duoc_khai_sinh/dan_toc"),
            ("quoc_tich", "Quốc tịch", "/nguoi_duoc_khai_sinh/quoc_tich"),
            ("noi_sinh", "Nơi sinh", "/nguoi_duoc_khai_sinh/noi_sinh"),
            ("que_quan", "Quê quán", "/nguoi_duoc_khai_sinh/que_quan"),
            ("me_ho_ten", "Họ, chữ đệm, tên người mẹ", "/nguoi_me/ho_ten"),
            ("me_nam_sinh", "Năm sinh của người mẹ", "/nguoi_me/nam_sinh"),
            ("cha_ho_ten", "Họ, chữ đệm, tên người cha", "/nguoi_cha/ho_ten"),
            ("cha_nam_sinh", "Năm sinh của người cha", "/nguoi_cha/nam_sinh"),
            ("nguoi_yeu_cau", "Người đi đăng ký khai sinh", _APPLICANT),
        ),
        "Đã được đăng ký khai sinh tại cơ quan đăng ký hộ tịch nêu trên."),
    ResultTemplate(
        "residence_confirmation", "XÁC NHẬN THÔNG TIN VỀ CƯ TRÚ", "XNCT",
        "Mẫu CT07, Thông tư 53/2025/TT-BCA", "residence",
        _rows(
            ("ho_ten", "Họ, chữ đệm và tên", _APPLICANT),
            ("ngay_sinh", "Ngày, tháng, năm sinh",
             ("/nguoi_ke_khai/ngay_sinh", "/nguoi_yeu_cau/ngay_sinh")),
            ("gioi_tinh", "Giới tính", ("/nguoi_ke_khai/gioi_tinh", "/nguoi_yeu_cau/gioi_tinh")),
            ("so_dinh_danh", "Số định danh cá nhân", _APPLICANT_ID),
            ("noi_cu_tru", "Nơi cư trú",
             ("/nguoi_ke_khai/noi_cu_tru", "/nguoi_yeu_cau/noi_cu_tru")),
            ("chu_ho", "Họ, chữ đệm và tên chủ hộ", ("/chu_ho/ho_ten_chu_ho",)),
            ("noi_dung", "Nội dung đề nghị", ("/noi_dung/noi_dung_de_nghi",)),
        ),
        "Thông tin trên được xác nhận theo Cơ sở dữ liệu về cư trú tại thời điểm cấp."),
    ResultTemplate(
        "criminal_record", "PHIẾU LÝ LỊCH TƯ PHÁP SỐ 1", "LLTP",
        "Mẫu số 06/2024/LLTP, Thông tư 06/2024/TT-BTP", "judicial_record",
        _rows(
            ("ho_ten", "Họ và tên", _APPLICANT),
            ("ngay_sinh", "Ngày, tháng, năm sinh", ("/nguoi_yeu_cau/ngay_sinh",)),
            ("gioi_tinh", "Giới tính", ("/nguoi_yeu_cau/gioi_tinh",)),
            ("so_dinh_danh", "Số định danh cá nhân", _APPLICANT_ID),
            ("noi_cu_tru", "Nơi cư trú", ("/nguoi_yeu_cau/noi_cu_tru",)),
            ("tinh_trang_an_tich", "Tình trạng án tích", ("/ket_qua/tinh_trang_an_tich",)),
        ),
        "Phiếu này có giá trị chứng minh tình trạng án tích tại thời điểm cấp."),
    ResultTemplate(
        "household_business_certificate", "GIẤY CHỨNG NHẬN ĐĂNG KÝ HỘ KINH DOANH", "HKD",
        "Mẫu Phụ lục III-5, Thông tư 68/2025/TT-BTC", "business",
        _rows(
            ("ten_ho_kinh_doanh", "Tên hộ kinh doanh", ("/ho_kinh_doanh/ten",)),
            ("dia_diem", "Địa điểm kinh doanh", ("/ho_kinh_doanh/dia_diem",)),
            ("nganh_nghe", "Ngành, nghề kinh doanh", ("/ho_kinh_doanh/nganh_nghe",)),
            ("von", "Vốn kinh doanh", ("/ho_kinh_doanh/von",)),
            ("chu_ho", "Chủ hộ kinh doanh", _APPLICANT),
            ("so_dinh_danh", "Số định danh cá nhân của chủ hộ", _APPLICANT_ID),
        ),
        "Hộ kinh doanh có trách nhiệm hoạt động đúng ngành, nghề đã đăng ký."),
    ResultTemplate(
        "decision", "QUYẾT ĐỊNH", "QĐ",
        "Luật Ban hành văn bản quy phạm pháp luật; Nghị định 30/2020/NĐ-CP (thể thức văn bản)",
        "decision", (),
        "Quyết định này có hiệu lực kể từ ngày ký."),
]}

#: procedure code -> the template of its result; the others end with the decision letter
PROCEDURE_RESULTS: dict[str, str] = {
    "1.001193": "birth_extract",                 # Đăng ký khai sinh
    "local.cu-tru.ct01": "residence_confirmation",
    "local.cu-tru.ct02": "residence_confirmation",
    "local.ltp.phieu-1": "criminal_record",
    "local.dkkd.ho-kinh-doanh": "household_business_certificate",
}


def template_for(procedure_code: str) -> ResultTemplate:
    return TEMPLATES[PROCEDURE_RESULTS.get(procedure_code, "decision")]


#: procedure code -> (register, {register field: what of the result}) written when the result
#: is issued: ``number``, ``issued_date`` (ISO, Vietnam time) or ``agency_name``
RESULT_RECORDS: dict[str, tuple[str, dict[str, str]]] = {
    "1.000894": ("civil_status", {                # Đăng ký kết hôn
        "marriage_certificate_number": "number",
        "marriage_registration_date": "issued_date",
        "marriage_registration_authority": "agency_name",
    }),
}
