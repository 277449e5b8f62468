"""Letters tokhai writes: the apology letter for a late dossier (Decree 61/2018, Article 19).

Laid out like an administrative letter, in Vietnamese, with the fonts that travel with the
project, and signed with the agency's key like a result (``service.results.issuance``).
"""

from __future__ import annotations

from datetime import datetime

from service.results.rendering import (
    Rendered,
    Stamp,
    document,
    heading,
    paragraph,
    place_and_date,
    signature_block,
)
from service.worktime import VIETNAM
from storage.models import Dossier


def paper_date(moment: datetime) -> str:
    local = moment.astimezone(VIETNAM)
    return f"{local.day:02d}/{local.month:02d}/{local.year}"


def declarant_name(data: dict) -> str | None:
    for section in data.values():
        if isinstance(section, dict) and isinstance(section.get("ho_ten"), str):
            return section["ho_ten"]
    return None


def apology_letter(dossier: Dossier, agency_name: str, place: str, document_id: str,
                   verify_url: str, stamp: Stamp) -> Rendered:
    pdf = document(f"Thư xin lỗi – hồ sơ {dossier.code}", stamp.signed_at)
    pdf.set_author(agency_name)
    heading(pdf, agency_name, None)
    place_and_date(pdf, place, stamp.signed_at)
    pdf.ln(6)
    pdf.set_font("Noto", "B", 14)
    pdf.cell(0, 8, "PHIẾU XIN LỖI VÀ HẸN LẠI NGÀY TRẢ KẾT QUẢ", align="C", new_x="LMARGIN",
             new_y="NEXT")
    pdf.set_font("Noto", "", 11)
    pdf.ln(4)
    who = declarant_name(dossier.data) or f"người có số định danh {dossier.citizen_id}"
    promised = paper_date(dossier.promised_at) if dossier.promised_at else "…"
    body = [
        f"Kính gửi: Ông/Bà {who}.",
        "",
        f"Ngày {paper_date(dossier.submitted_at)}, {agency_name} tiếp nhận hồ sơ mã số "
        f"{dossier.code} (thủ tục {dossier.procedure_code}).",
        f"Hồ sơ đã không được giải quyết đúng hạn. Lý do: {dossier.late_explanation}",
        f"{agency_name} xin lỗi Ông/Bà vì sự chậm trễ này và hẹn trả kết quả vào ngày "
        f"{promised}.",
        "",
        "Trân trọng.",
        f"Người giải trình: {dossier.late_explained_by}",
    ]
    for line in body:
        paragraph(pdf, line, 6)
    page, box = signature_block(pdf, agency_name, stamp, document_id, verify_url)
    return Rendered(bytes(pdf.output()), page, box)
