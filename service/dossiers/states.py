"""The status machine of a dossier: its states, the transitions between them and who may make
them. Plain data, imported by the operations (service.dossiers.lifecycle) and by the API's
schemas alike, so it imports nothing."""

from __future__ import annotations

from dataclasses import dataclass

STATES: dict[str, str] = {
    "submitted": "Đã nộp, chờ tiếp nhận",
    "accepted": "Đã tiếp nhận",
    "supplement_requested": "Yêu cầu bổ sung",
    "rejected": "Từ chối",
    "in_processing": "Đang xử lý",
    "result_ready": "Đã có kết quả",
    "delivered": "Đã trả kết quả",
    "withdrawn": "Đã rút hồ sơ",
}
FINISHED = {"rejected", "result_ready", "delivered", "withdrawn"}


@dataclass(frozen=True)
class Transition:
    sources: tuple[str, ...]
    target: str
    role: str
    needs_reason: bool = False
    #: False for transitions that only an operation makes (issuing the signed result)
    direct: bool = True


TRANSITIONS: dict[str, Transition] = {
    "accept": Transition(("submitted",), "accepted", "officer"),
    "request_supplement": Transition(("submitted", "accepted", "in_processing"),
                                     "supplement_requested", "officer", needs_reason=True),
    "reject": Transition(("submitted", "accepted", "in_processing"), "rejected", "officer",
                         needs_reason=True),
    "start_processing": Transition(("accepted",), "in_processing", "officer"),
    # only by issuing the signed result (service.results.issuance), never by a bare status change
    "issue_result": Transition(("in_processing",), "result_ready", "officer", direct=False),
    "deliver": Transition(("result_ready",), "delivered", "officer"),
    "withdraw": Transition(("submitted", "accepted", "supplement_requested"), "withdrawn",
                           "citizen", needs_reason=True),
}
