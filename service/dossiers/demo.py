"""Demo dossiers for the development set-up (``make run``): a few dossiers of the demo
citizens at the development officer's agency, in the states an officer meets first, so that
the officers' queue and dossier pages have something to show before anyone has filed.

Filed and moved with the same operations the API and the pages call (the submission check
included); the citizens' data is what prefill gives them, completed with the form language's
example values for what they would type. Never called outside ``tokhai dev-setup``."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from forms.examples import example_submission
from service import catalogue
from service.dossiers import lifecycle, queries
from service.records import prefill as pf
from service.tokens import Principal
from service.worktime import WorkCalendar

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
    for n, (who, form_id, actions) in enumerate(PLAN):
        personal_id = citizens[who]
        citizen = Principal(token_id=0, role="citizen", label="DEVELOPMENT demo citizen",
                            agency_code=None, personal_id=personal_id)
        compiled = catalogue.published_form(session, form_id, 1)
        prefilled = pf.prefill(compiled.definition, personal_id, sources)
        data = _merge(example_submission(compiled.definition), prefilled.data)
        dossier, _created, _secret = lifecycle.submit(
            session, compiled, citizen, data, agency_code, f"demo-dossier-{n}", sources,
            calendar, processing_days, installation_key, prefill_choice="use")
        for action in actions:
            reason = SUPPLEMENT_REASON if action == "request_supplement" else None
            lifecycle.act(session, dossier, action, officer, reason, None, calendar)
        codes.append(dossier.code)
    return codes
