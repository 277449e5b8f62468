"""Letters tokhai writes: the apology letter for a late dossier (Decree 61/2018, Article 19).

The PDF is laid out like an administrative letter, in Vietnamese, with the Noto Sans font that
travels with the ``fontpkg-noto-sans`` dependency (never a font of the host). It is signed once
the signed-results issue lands.
"""

from __future__ import annotations

from datetime import datetime

import fontpkg_noto_sans
from fpdf import FPDF

from service.worktime import VIETNAM
from storage.models import Dossier

FONT = fontpkg_noto_sans.ROOT / "files" / "NotoSans[wdth,wght].ttf"


def paper_date(moment: datetime) -> str:
    local = moment.astimezone(VIETNAM)
    return f"{local.day:02d}/{local.month:02d}/{local.year}"


def declarant_name(data: dict) -> str | None:
    for section in data.values():
        if isinstance(section, dict) and isinstance(section.get("ho_ten"), str):
            return section["ho_ten"]
    return None


def apology_letter(dossier: Dossier, agency_name: str, today: datetime) -> bytes:
    pdf = FPDF(format="A4")
    pdf.set_title(f"Thư xin lỗi – hồ sơ {dossier.code}")
    pdf.set_creator("tokhai")
    pdf.add_font("Noto", "", str(FONT))
    pdf.add_page()
    pdf.set_margins(25, 20, 20)
    pdf.set_font("Noto", size=11)
    pdf.cell(80, 6, agency_name.upper(), align="C")
    pdf.cell(0, 6, "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM", align="C", new_x="LMARGIN",
             new_y="NEXT")
    pdf.cell(80, 6, "")
    pdf.cell(0, 6, "Độc lập - Tự do - Hạnh phúc", align="C", new_x="LMARGIN", new_y="NEXT")
    local = today.astimezone(VIETNAM)
    pdf.ln(4)
    pdf.cell(0, 6, f"ngày {local.day:02d} tháng {local.month:02d} năm {local.year}",
             align="R", new_x="LMARGIN", new_y="NEXT")
    pdf.ln(6)
    pdf.set_font("Noto", size=14)
    pdf.cell(0, 8, "PHIẾU XIN LỖI VÀ HẸN LẠI NGÀY TRẢ KẾT QUẢ", align="C", new_x="LMARGIN",
             new_y="NEXT")
    pdf.set_font("Noto", size=11)
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
    ]
    for line in body:
        pdf.multi_cell(0, 6, line, new_x="LMARGIN", new_y="NEXT")
    pdf.ln(10)
    pdf.cell(0, 6, f"Người giải trình: {dossier.late_explained_by}", align="R",
             new_x="LMARGIN", new_y="NEXT")
    return bytes(pdf.output())
