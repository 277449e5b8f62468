"""Letters tokhai writes: the apology letter for a late dossier (Decree 61/2018, Article 19;
"Phiếu xin lỗi và hẹn lại ngày trả kết quả").

Laid out as an administrative document of Decree 30/2020 (service.results.rendering: header,
number, place and date, title, "Kính gửi", body, signer, "Nơi nhận"), in Vietnamese, with the
fonts that travel with the project, and signed with the agency's key like a result
(``service.results.issuance``).
"""

from __future__ import annotations

from datetime import datetime

from service.results.rendering import (
    FONT,
    Issuer,
    Rendered,
    Signatory,
    Stamp,
    body,
    closing,
    date_words,
    document,
    footer,
    heading,
    title,
)
from service.worktime import VIETNAM
from storage.models import Dossier

#: the letter's type in its number ("Số: 03/PXL-UBND"); Decree 30/2020 lists no abbreviation
#: for a "phiếu xin lỗi", so the agency's own is used
SYMBOL = "PXL"


def paper_date(moment: datetime) -> str:
    """``ngày 05 tháng 3 năm 2026`` in Vietnam time (Decree 30/2020's padding rule)."""
    return date_words(moment.astimezone(VIETNAM).date())


def declarant_name(data: dict) -> str | None:
    for section in data.values():
        if isinstance(section, dict) and isinstance(section.get("ho_ten"), str):
            return section["ho_ten"]
    return None


def apology_letter(dossier: Dossier, agency_name: str, place: str, document_id: str,
                   verify_url: str, stamp: Stamp, *, issuer: Issuer | None = None,
                   number: str | None = None) -> Rendered:
    issuer = issuer or Issuer(agency_name, "", place,
                              Signatory("", "", (f"TM. {agency_name.upper()}",)))
    pdf = document(f"Phiếu xin lỗi – hồ sơ {dossier.code}", stamp.signed_at)
    pdf.set_author(agency_name)
    heading(pdf, issuer, number, stamp.signed_at)
    title(pdf, "PHIẾU XIN LỖI VÀ HẸN LẠI NGÀY TRẢ KẾT QUẢ")
    who = declarant_name(dossier.data) or f"người có số định danh {dossier.citizen_id}"
    pdf.set_font(FONT, "", 14)
    pdf.cell(0, 7, f"Kính gửi: Ông/Bà {who}.", align="C", new_x="LMARGIN", new_y="NEXT")
    pdf.ln(3)
    promised = paper_date(dossier.promised_at) if dossier.promised_at else "…"
    reason = (dossier.late_explanation or "").strip().rstrip(".")
    for text in (
            f"Ngày {paper_date(dossier.submitted_at).removeprefix('ngày ')}, {agency_name} "
            f"tiếp nhận hồ sơ mã số {dossier.code} (thủ tục {dossier.procedure_code}).",
            f"Hồ sơ đã không được giải quyết đúng hạn. Lý do: {reason}.",
            f"{agency_name} xin lỗi Ông/Bà vì sự chậm trễ này và hẹn trả kết quả vào "
            f"{promised}.",
            f"Người giải trình: {dossier.late_explained_by}.",
            "Trân trọng./."):
        body(pdf, text)
    page, box = closing(pdf, issuer, stamp, document_id, verify_url,
                        ("Như trên;", "Lưu: VT."))
    footer(pdf, stamp, f"Hồ sơ {dossier.code}, thủ tục {dossier.procedure_code}.")
    return Rendered(bytes(pdf.output()), page, box)
