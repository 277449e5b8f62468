"""The working-time calendar, with every expected deadline worked out by hand."""

from __future__ import annotations

from datetime import date, datetime

import pytest

from service.worktime import VIETNAM, WorkCalendar, calendar_from, parse_periods


def at(y: int, mo: int, d: int, h: int = 0, mi: int = 0) -> datetime:
    return datetime(y, mo, d, h, mi, tzinfo=VIETNAM)


CAL = WorkCalendar()


def test_submitted_at_night_counts_from_the_next_opening() -> None:
    # Tue 1 Dec 2026, 22:00: nothing until Wed 07:30; 4 h to 11:30, 4 h 13:30-17:30
    assert CAL.add_working_hours(at(2026, 12, 1, 22), 8) == at(2026, 12, 2, 17, 30)


def test_submitted_during_the_lunch_break() -> None:
    # Wed 2 Dec 2026, 12:00: counts from 13:30; 4 h to 17:30, then Thu 07:30-11:30
    assert CAL.add_working_hours(at(2026, 12, 2, 12), 8) == at(2026, 12, 3, 11, 30)


def test_friday_afternoon_runs_into_monday() -> None:
    # Fri 4 Dec 2026, 15:00: 2.5 h to 17:30; Mon 7 Dec 4 h in the morning, 1.5 h from 13:30
    assert CAL.add_working_hours(at(2026, 12, 4, 15), 8) == at(2026, 12, 7, 15)


def test_before_tet_the_holidays_do_not_count() -> None:
    # Wed 3 Feb 2027, 14:00: 3.5 h to 17:30; Thu 4 (29 Tết) to Wed 10 Feb are holidays or the
    # weekend; Thu 11 Feb 07:30 + 4.5 h = 4 h to 11:30 and 0.5 h from 13:30
    assert CAL.add_working_hours(at(2027, 2, 3, 14), 8) == at(2027, 2, 11, 14)


def test_a_make_up_saturday_counts() -> None:
    # Sat 22 Aug 2026 is a make-up working day (for Mon 31 Aug). Fri 21 Aug 16:00: 1.5 h,
    # then Sat 4 h in the morning and 2.5 h from 13:30
    assert CAL.add_working_hours(at(2026, 8, 21, 16), 8) == at(2026, 8, 22, 16)
    # ... and Mon 31 Aug is the day off it pays for, then 1-2 Sep are National Day: Fri 28 Aug
    # 16:00 gives 1.5 h, and Thu 3 Sep 4 h in the morning and 2.5 h from 13:30
    assert CAL.add_working_hours(at(2026, 8, 28, 16), 8) == at(2026, 9, 3, 16)


def test_configured_days_off_and_make_up_days() -> None:
    cal = calendar_from(days_off=[date(2026, 12, 2)], make_up_days=[date(2026, 12, 5)])
    # Tue 1 Dec 16:00: 1.5 h; Wed 2 Dec is off; Thu 3 Dec 07:30 + 6.5 h = 4 h + 2.5 h
    assert cal.add_working_hours(at(2026, 12, 1, 16), 8) == at(2026, 12, 3, 16)
    # Fri 4 Dec 16:00: 1.5 h; Sat 5 Dec is a make-up day: 4 h + 2.5 h
    assert cal.add_working_hours(at(2026, 12, 4, 16), 8) == at(2026, 12, 5, 16)


def test_processing_time_in_working_days() -> None:
    # accepted Wed 2 Dec 2026 10:00, 3 working days: the same hour on Mon 7 Dec
    assert CAL.add_working_days(at(2026, 12, 2, 10), 3) == at(2026, 12, 7, 10)


def test_agency_office_hours() -> None:
    cal = calendar_from("08:00-12:00,13:00-17:00")
    assert cal.add_working_hours(at(2026, 12, 1, 22), 8) == at(2026, 12, 2, 17)
    assert cal.hours_per_day == 8


def test_working_hours_elapsed() -> None:
    assert CAL.working_hours_between(at(2026, 12, 4, 15), at(2026, 12, 7, 15)) == 8
    assert CAL.working_hours_between(at(2026, 12, 7, 15), at(2026, 12, 4, 15)) == 0


def test_times_in_other_zones_are_converted() -> None:
    from datetime import UTC

    # 15:00 UTC on Tue 1 Dec is 22:00 in Vietnam
    assert CAL.add_working_hours(datetime(2026, 12, 1, 15, tzinfo=UTC), 8) == \
        at(2026, 12, 2, 17, 30)


@pytest.mark.parametrize("text", ["13:30-17:30,07:30-12:00x", "11:30-07:30",
                                  "07:30-12:00,11:00-17:00"])
def test_bad_office_hours_are_refused(text: str) -> None:
    with pytest.raises(ValueError):
        parse_periods(text)
