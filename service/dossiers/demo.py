"""Demo dossiers for the development set-up (``make run``): a few dossiers of the demo
citizens at the development officer's agency, in the states an officer meets first, so that
the officers' queue and dossier pages have something to show before anyone has filed.

Filed and moved with the same operations the API and the pages call (the submission check
included); the citizens' data is what prefill gives them, and what they would type is
plausible (:func:`typed`: triplets born a few days ago, named and sexed alike, the father as
the declarant, the ward where the form is made; a marriage's other party of an age to marry,
living in the agency's ward), over the form language's example values for anything else.
Never called outside ``tokhai dev-setup``."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session

from forms import units
from forms.examples import example_submission
from service import catalogue
from service.dossiers import lifecycle, queries
from service.records import prefill as pf
from service.tokens import Principal
from service.worktime import VIETNAM, WorkCalendar

#: (citizen, form, the officer's actions after filing); the father's birth registration
#: waiting to be accepted, one accepted, one being processed (ready to issue), and the
#: daughter's marriage registration sent back for a supplement
PLAN: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    ("father", "to-khai-dang-ky-khai-sinh", ()),
    ("father", "to-khai-dang-ky-khai-sinh", ("accept",)),
    ("father", "to-khai-dang-ky-khai-sinh", ("accept", "start_processing")),
    ("daughter", "to-khai-dang-ky-ket-hon", ("accept", "request_supplement")),
)
SUPPLEMENT_REASON = "Bản chụp giấy tờ tùy thân của bên nam (dữ liệu mẫu)."
#: the children of the birth registrations, in PLAN's order (given names, sex): triplets, one
#: registration each, born :data:`BORN_DAYS_AGO` days before the set-up
CHILDREN: tuple[tuple[str, str], ...] = (("Minh Khôi", "nam"), ("Bảo Ngọc", "nu"),
                                         ("Gia Huy", "nam"))
BORN_DAYS_AGO = 5
#: the marriage's other party (the demo daughter is the bride): typed by her
GROOM = {"ho_ten": "Trần Đức Minh", "ngay_sinh": "1997-03-14", "giay_to": "001097046281",
         "lan_ket_hon": 1}


def _place(address: Any) -> str:
    """"Phường Ba Đình, Thành phố Hà Nội": the ward and province of an address."""
    if not isinstance(address, dict):
        return ""
    return ", ".join(n for n in (units.name(str(address.get("commune", ""))),
                                 units.name(str(address.get("province", "")))) if n)


def typed(form_id: str, prefilled: dict[str, Any], n: int, today: date) -> dict[str, Any]:
    """What the citizen types on ``form_id`` (the ``n``-th birth of :data:`CHILDREN`), given
    what prefill gave them: merged over the example submission."""
    if form_id == "to-khai-dang-ky-khai-sinh":
        declarant = prefilled.get("nguoi_yeu_cau", {})
        mother = prefilled.get("nguoi_me", {})
        home = declarant.get("noi_cu_tru") or mother.get("noi_cu_tru")
        given, sex = CHILDREN[n % len(CHILDREN)]
        surname = str(prefilled.get("nguoi_cha", {}).get("ho_ten") or "Nguyễn").split()[0]
        child: dict[str, Any] = {
            "ho_ten": f"{surname} {given}", "gioi_tinh": sex,
            "ngay_sinh": (today - timedelta(days=BORN_DAYS_AGO)).isoformat()}
        for key in ("dan_toc", "quoc_tich"):
            if mother.get(key):
                child[key] = mother[key]
        if isinstance(home, dict):
            child["noi_sinh"] = home
            child["que_quan"] = {k: home[k] for k in ("province", "commune") if k in home}
        return {"nguoi_yeu_cau": {"quan_he": "cha"}, "nguoi_duoc_khai_sinh": child,
                "cam_doan": {"lam_tai": _place(home), "ban_sao": True, "so_luong": 2}}
    if form_id == "to-khai-dang-ky-ket-hon":
        bride = prefilled.get("ben_nu", {})
        # the groom lives in the ward of the agency the couple files at (01 / 00004)
        home = {"province": "01", "commune": "00004", "detail": "Số 8, phố Phan Đình Phùng"}
        groom = {**GROOM, "noi_cu_tru": home}
        for key in ("dan_toc", "quoc_tich"):
            if bride.get(key):
                groom[key] = bride[key]
        return {"ben_nu": {"lan_ket_hon": 1}, "ben_nam": groom,
                "cam_doan": {"lam_tai": _place(home), "ban_sao": True, "so_luong": 2}}
    return {}


def _merge(base: Any, top: Any) -> Any:
    if isinstance(base, dict) and isinstance(top, dict):
        return {**base, **{k: _merge(base.get(k), v) for k, v in top.items()}}
    return top


def file_demo_dossiers(session: Session, agency_code: str, citizens: dict[str, str],
                       sources: pf.Sources, calendar: WorkCalendar, processing_days: int,
                       installation_key: str) -> list[str]:
    """File :data:`PLAN` at ``agency_code`` unless the agency has dossiers already (a second
    ``make run`` adds nothing); the codes filed. The caller commits."""
    if queries.state_counts(session, agency_code):
        return []
    officer = Principal(token_id=0, role="officer", label="DEVELOPMENT demo officer",
                        agency_code=agency_code, personal_id=None)
    codes = []
    today = datetime.now(VIETNAM).date()
    births = 0
    for n, (who, form_id, actions) in enumerate(PLAN):
        personal_id = citizens[who]
        citizen = Principal(token_id=0, role="citizen", label="DEVELOPMENT demo citizen",
                            agency_code=None, personal_id=personal_id)
        compiled = catalogue.published_form(session, form_id, 1)
        prefilled = pf.prefill(compiled.definition, personal_id, sources)
        data = _merge(_merge(example_submission(compiled.definition),
                             typed(form_id, prefilled.data, births, today)), prefilled.data)
        births += form_id == "to-khai-dang-ky-khai-sinh"
        dossier, _created, _secret = lifecycle.submit(
            session, compiled, citizen, data, agency_code, f"demo-dossier-{n}", sources,
            calendar, processing_days, installation_key, prefill_choice="use")
        for action in actions:
            reason = SUPPLEMENT_REASON if action == "request_supplement" else None
            lifecycle.act(session, dossier, action, officer, reason, None, calendar)
        codes.append(dossier.code)
    return codes
