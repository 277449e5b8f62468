"""The dossiers' clock, driven by a test: ``service.dossiers.lifecycle.clock`` replaced, so a
dossier goes through its deadlines as the calendar has them, with no database rewritten."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from service.dossiers import lifecycle
from service.worktime import VIETNAM


def vn(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    """A moment in Vietnam time."""
    return datetime(year, month, day, hour, minute, tzinfo=VIETNAM)


class Clock:
    """What ``lifecycle.now()`` answers while a test holds it."""

    def __init__(self, moment: datetime) -> None:
        self.moment = moment

    def __call__(self) -> datetime:
        return self.moment.astimezone(UTC)

    def set(self, moment: datetime) -> datetime:
        assert moment.tzinfo is not None
        self.moment = moment
        return moment

    def advance(self, **delta: float) -> datetime:
        self.moment += timedelta(**delta)
        return self.moment


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Iterator[Clock]:
    """The dossiers' clock at Monday 4 January 2027, 09:00 Vietnam time (a working day)."""
    held = Clock(vn(2027, 1, 4, 9))
    monkeypatch.setattr(lifecycle, "clock", held)
    yield held
