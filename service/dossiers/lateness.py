"""Lateness as Decree 61/2018 (amended by Decree 107/2021) counts it: the one definition.

A dossier has up to three deadlines, each the agency's to keep:

* ``acceptance``: an online dossier is checked and accepted within 8 working hours of its
  submission;
* ``processing``: the procedure's working days from acceptance until the result (or a
  rejection);
* ``promise``: after an apology, the new date promised to the citizen for the result.

Time the dossier waits for the citizen (a supplement requested until it is supplied) is not
the agency's: while it waits no deadline runs, and when it is supplied each deadline still
ahead moves later by the working time waited (``resumed``). A deadline already passed when the
supplement was requested stays where it was: the dossier was late then, and later events do
not change that.

A deadline is *missed* when the stage it closes had not ended by it, and the dossier was not
waiting for the citizen at that moment. A dossier is *late* once it has missed any deadline,
and stays late. It needs an (other) explanation and apology when it is late and has none yet,
or when it has also missed the date its last apology promised.

``assess`` is the definition, for one dossier at a given moment; everything else follows from
it. Every write of a dossier stores what it finds (``recorded``): ``late_at``, the first
deadline missed (it never changes once set, so the monthly report's month does not either),
and ``due_at``, the earliest deadline still running. So the queue's ``?late=true``
(``late_clause``) is the same test in SQL, ``late_at or due_at`` before the moment asked, and
the dossier, the queue and the report cannot disagree.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from sqlalchemy import ColumnElement, func

from service.worktime import WorkCalendar
from storage.models import Dossier

ACCEPTANCE, PROCESSING, PROMISE = "acceptance", "processing", "promise"
#: the stages in the order a dossier goes through them, with their names in Vietnamese
STAGES = {ACCEPTANCE: "tiếp nhận", PROCESSING: "giải quyết", PROMISE: "hẹn trả lại"}
WAITING = "supplement_requested"


class Facts(Protocol):
    """What lateness is computed from: a dossier's columns (a ``Dossier``, or one about to be
    written)."""

    @property
    def status(self) -> str: ...
    @property
    def accept_deadline(self) -> datetime: ...
    @property
    def accepted_at(self) -> datetime | None: ...
    @property
    def process_deadline(self) -> datetime | None: ...
    @property
    def finished_at(self) -> datetime | None: ...
    @property
    def promised_at(self) -> datetime | None: ...
    @property
    def broken_promise_at(self) -> datetime | None: ...
    @property
    def late_explanation(self) -> str | None: ...
    @property
    def late_explained_at(self) -> datetime | None: ...
    @property
    def paused_at(self) -> datetime | None: ...
    @property
    def late_at(self) -> datetime | None: ...


@dataclass(frozen=True)
class Missed:
    """A missed deadline: the stage it closed, and the deadline itself (the moment the
    dossier became late at that stage)."""

    stage: str
    deadline: datetime


@dataclass(frozen=True)
class Lateness:
    """A dossier's lateness at one moment. ``missed`` is in the order the deadlines fell."""

    missed: tuple[Missed, ...]
    explanation_required: bool
    #: the deadlines still running, by stage (none while the dossier waits for the citizen)
    running: tuple[Missed, ...]

    @property
    def late(self) -> bool:
        return bool(self.missed)

    @property
    def first(self) -> Missed | None:
        """The first deadline missed: the month of the late report, the stage the apology
        letter speaks of."""
        return self.missed[0] if self.missed else None

    @property
    def stages(self) -> tuple[str, ...]:
        """The stages the dossier was late at, in the order of ``STAGES``."""
        found = {m.stage for m in self.missed}
        return tuple(stage for stage in STAGES if stage in found)

    def at(self, stage: str) -> bool:
        return stage in self.stages

    def as_dict(self) -> dict[str, Any]:
        first = self.first
        return {"late": self.late, "acceptance_late": self.at(ACCEPTANCE),
                "processing_late": self.at(PROCESSING), "promise_late": self.at(PROMISE),
                "explanation_required": self.explanation_required,
                "late_since": first.deadline if first else None,
                "stage": first.stage if first else None,
                "missed": [{"stage": m.stage, "deadline": m.deadline} for m in self.missed]}


def waiting(d: Facts) -> bool:
    """Whether the dossier waits for the citizen (its clocks are stopped)."""
    return d.status == WAITING


def _earliest(*moments: datetime | None) -> datetime | None:
    known = [m for m in moments if m is not None]
    return min(known) if known else None


def _clocks(d: Facts) -> list[tuple[str, datetime, datetime | None]]:
    """Each deadline of the dossier with the moment its clock stopped (None: it runs).

    Acceptance stops at acceptance; processing and the promise at the result or rejection
    (``finished_at``). Any clock stops when the dossier starts waiting for the citizen
    (``paused_at``, cleared when the supplement comes; kept if the dossier is withdrawn
    meanwhile, so the wait never counts)."""
    processing_end = _earliest(d.finished_at, d.paused_at)
    acceptance_end = d.accepted_at or processing_end
    clocks: list[tuple[str, datetime, datetime | None]] = [
        (ACCEPTANCE, d.accept_deadline, acceptance_end)]
    if d.process_deadline is not None:
        clocks.append((PROCESSING, d.process_deadline, processing_end))
    if d.broken_promise_at is not None:
        # an earlier promise, missed before the explanation that replaced it: a fact kept
        clocks.append((PROMISE, d.broken_promise_at, d.late_explained_at or d.broken_promise_at))
    if d.promised_at is not None:
        clocks.append((PROMISE, d.promised_at, processing_end))
    return clocks


def assess(d: Facts, at: datetime) -> Lateness:
    """The dossier's lateness as of ``at``: the deadlines missed, in order, and whether an
    explanation is required now. This is the definition the dossier's answer, the queue's
    filter and the monthly report all use."""
    missed: list[Missed] = []
    running: list[Missed] = []
    promise_broken = False
    for stage, deadline, stopped in _clocks(d):
        end = at if stopped is None else min(stopped, at)
        if deadline < end:
            missed.append(Missed(stage, deadline))
            if stage == PROMISE and deadline == d.promised_at:
                promise_broken = True
        if stopped is None:
            running.append(Missed(stage, deadline))
    missed.sort(key=lambda m: m.deadline)
    required = bool(missed) and (not d.late_explanation or promise_broken)
    return Lateness(tuple(missed), required, tuple(running))


def recorded(d: Facts, at: datetime) -> dict[str, Any]:
    """What a write of the dossier at ``at`` stores of its lateness: ``due_at``, the earliest
    deadline still running (for the queue's order), and, once a deadline is missed, ``late_at``
    and ``late_stage``, the first one (kept as first recorded: a fact)."""
    found = assess(d, at)
    running = [m.deadline for m in found.running]
    values: dict[str, Any] = {"due_at": min(running) if running else None}
    if d.late_at is None and found.first is not None:
        values["late_at"] = found.first.deadline
        values["late_stage"] = found.first.stage
    return values


def late_clause(at: datetime) -> ColumnElement[bool]:
    """``assess(d, at).late`` in SQL, over what writes store: the first deadline missed, or
    failing that the earliest running one, fell before ``at``."""
    return func.coalesce(Dossier.late_at, Dossier.due_at) < at


def first_missed_column() -> ColumnElement[datetime]:
    """The first deadline missed, when ``late_clause`` holds (for the report's month)."""
    return func.coalesce(Dossier.late_at, Dossier.due_at)


def resumed(d: Facts, supplied_at: datetime, calendar: WorkCalendar,
            resume_status: str) -> dict[str, Any]:
    """The deadlines once the citizen has supplied what was asked: each one still ahead when
    the supplement was requested moves later by the working time waited; one already passed
    stays (the dossier was late before it asked). Returns the changed columns."""
    paused_at = d.paused_at
    if paused_at is None:
        return {}
    waited = calendar.working_hours_between(paused_at, supplied_at)
    changes: dict[str, Any] = {}
    if waited <= 0:
        return changes
    names = ["promised_at"]
    names.insert(0, "accept_deadline" if resume_status == "submitted" else "process_deadline")
    for name in names:
        deadline = getattr(d, name)
        if deadline is not None and deadline > paused_at:
            changes[name] = calendar.add_working_hours(deadline, waited)
    return changes
