"""Letters tokhai writes: the apology letter for a late dossier (Decree 61/2018, Article 19, as
amended by Decree 107/2021; "Phiếu xin lỗi và hẹn lại ngày trả kết quả", the model of the
one-stop forms guiding it).

Laid out as an administrative document of Decree 30/2020 (service.results.rendering: header,
number, place and date, title, "Kính gửi", body, signer, "Nơi nhận", the QR code and the
verification link whole on its line), in Vietnamese, with the fonts that travel with the
project, and signed with the agency's key like a result (``service.results.issuance``).

What the letter says follows the model's paragraphs: when and by whom the dossier was received,
the deadline missed, the reason, the apology and the new date. Which deadline was missed
(``service.dossiers.lateness``) sets the wording:

* at acceptance, the dossier was never received in time: the letter says when it was filed and
  by when it had to be received, not that it was "received" and "not resolved";
* at processing, the agency received it on the day it accepted it (not the day it was filed)
  and has not returned the result by the processing deadline;
* at a promised date, the agency had already apologised and promised a date it has missed.

The procedure is named by its name (the form's ``procedure_name``), never by the catalogue's
code; the signer is the agency's, from the signing configuration (title and full name, as on
its results), never the account that recorded the explanation.
"""

from __future__ import annotations

from datetime import datetime

from service.dossiers import lateness
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
TITLE = "PHIẾU XIN LỖI VÀ HẸN LẠI NGÀY TRẢ KẾT QUẢ"
#: the sections a form names the person who files in, first (forms.results)
_DECLARANT = ("nguoi_yeu_cau", "nguoi_ke_khai", "nguoi_de_nghi", "nguoi_dai_dien",
              "chu_doanh_nghiep", "nguoi_tham_gia", "cong_dan", "chu_ho_kinh_doanh")
_ID_FIELDS = ("so_dinh_danh", "giay_to", "so_giay_to")


def paper_date(moment: datetime) -> str:
    """``ngày 05 tháng 3 năm 2026`` in Vietnam time (Decree 30/2020's padding rule)."""
    return date_words(moment.astimezone(VIETNAM).date())


def paper_moment(moment: datetime) -> str:
    """``09 giờ 00 ngày 05 tháng 01 năm 2027`` in Vietnam time: an acceptance deadline falls
    within a working day (8 working hours), so its hour matters."""
    local = moment.astimezone(VIETNAM)
    return f"{local.hour:02d} giờ {local.minute:02d} {paper_date(local)}"


def declarant_name(data: dict, citizen_id: str | None = None) -> str | None:
    """The name of the person who filed: the form's declarant section, else the section whose
    personal ID is the citizen's (a marriage's party), else the first name in the data."""
    sections = [(k, v) for k, v in data.items() if isinstance(v, dict)]
    for key, section in sections:
        if key in _DECLARANT and isinstance(section.get("ho_ten"), str):
            return section["ho_ten"]
    if citizen_id:
        for _, section in sections:
            if isinstance(section.get("ho_ten"), str) and citizen_id in (
                    section.get(f) for f in _ID_FIELDS):
                return section["ho_ten"]
    for _, section in sections:
        if isinstance(section.get("ho_ten"), str):
            return section["ho_ten"]
    return None


def late_stage(dossier: Dossier, at: datetime) -> str:
    """The stage the letter speaks of: the latest one the dossier was late at, as of ``at``
    (the explanation's moment): a missed promise once it has been promised, processing once
    accepted, else acceptance."""
    stages = lateness.assess(dossier, at).stages
    return stages[-1] if stages else lateness.ACCEPTANCE


def _procedure(dossier: Dossier) -> str:
    name = (dossier.procedure_name or "").strip().rstrip(".")
    return f" về thủ tục {name[:1].lower()}{name[1:]}" if name else ""


def paragraphs(dossier: Dossier, agency_name: str, at: datetime) -> list[str]:
    """The letter's body, as the model orders it, in the wording of the stage missed."""
    stage = late_stage(dossier, at)
    online = "trực tuyến " if dossier.channel == "online" else ""
    what = f"hồ sơ mã số {dossier.code} của Ông/Bà{_procedure(dossier)}"
    filed = paper_date(dossier.submitted_at)
    if dossier.accepted_at is not None:
        accepted = paper_date(dossier.accepted_at)
        received = f"{accepted.capitalize()}, {agency_name} tiếp nhận giải quyết {what}"
        if accepted != filed:
            received += f" (hồ sơ nộp {online}{filed})"
        received += "."
    else:
        received = (f"{filed.capitalize()}, Ông/Bà nộp {online}hồ sơ mã số {dossier.code}"
                    f"{_procedure(dossier)} đến {agency_name}.")
    if stage == lateness.ACCEPTANCE:
        missed = (f"Theo quy định, hồ sơ phải được kiểm tra, tiếp nhận chậm nhất vào "
                  f"{paper_moment(dossier.accept_deadline)}; {agency_name} đã không tiếp nhận "
                  "hồ sơ trong thời hạn này.")
    elif stage == lateness.PROCESSING and dossier.process_deadline is not None:
        missed = (f"Thời hạn trả kết quả giải quyết hồ sơ: "
                  f"{paper_date(dossier.process_deadline)}. Tuy nhiên, đến nay {agency_name} "
                  "chưa trả kết quả giải quyết hồ sơ của Ông/Bà.")
    else:
        broken = dossier.broken_promise_at or dossier.promised_at
        before = f" vào {paper_date(broken)}" if broken else ""
        missed = (f"{agency_name} đã xin lỗi Ông/Bà và hẹn trả kết quả{before}. Tuy nhiên, "
                  f"đến nay {agency_name} vẫn chưa trả kết quả giải quyết hồ sơ của Ông/Bà.")
    reason = (dossier.late_explanation or "").strip().rstrip(".")
    promised = paper_date(dossier.promised_at) if dossier.promised_at else "…"
    return [received, missed, f"Lý do: {reason}.",
            f"Sự chậm trễ này đã gây phiền hà cho Ông/Bà. {agency_name} xin lỗi Ông/Bà và "
            f"hẹn lại ngày trả kết quả vào {promised}.",
            "Mong nhận được sự thông cảm của Ông/Bà vì sự chậm trễ này.",
            "Trân trọng./."]


def apology_letter(dossier: Dossier, agency_name: str, place: str, document_id: str,
                   verify_url: str, stamp: Stamp, *, issuer: Issuer | None = None,
                   number: str | None = None) -> Rendered:
    issuer = issuer or Issuer(agency_name, "", place,
                              Signatory("", "", (f"TM. {agency_name.upper()}",)))
    pdf = document(f"Phiếu xin lỗi – hồ sơ {dossier.code}", stamp.signed_at)
    pdf.set_author(agency_name)
    heading(pdf, issuer, number, stamp.signed_at)
    title(pdf, TITLE)
    who = declarant_name(dossier.data, dossier.citizen_id) \
        or f"người có số định danh {dossier.citizen_id}"
    pdf.set_font(FONT, "", 14)
    pdf.cell(0, 7, f"Kính gửi: Ông/Bà {who}.", align="C", new_x="LMARGIN", new_y="NEXT")
    pdf.ln(3)
    for text in paragraphs(dossier, agency_name, dossier.late_explained_at or stamp.signed_at):
        body(pdf, text)
    page, box = closing(pdf, issuer, stamp, document_id, verify_url,
                        ("Như trên;", "Lưu: VT."))
    name = (dossier.procedure_name or "").strip().rstrip(".")
    footer(pdf, stamp, f"Hồ sơ {dossier.code}" + (f", thủ tục {name}." if name else "."))
    return Rendered(bytes(pdf.output()), page, box)
