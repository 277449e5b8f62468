"""Working time: office hours, Vietnamese public holidays, compensatory days off and make-up
working Saturdays; deadlines counted in working hours.

An online dossier must be accepted within 8 working hours of its submission, and processed
within the procedure's time in working days. A submission at night counts from the next
opening; the weekend, Tết and the other public holidays do not count, and a make-up Saturday
does. The holidays, including the make-up Saturdays the government sets in advance, come from
the maintained ``holidays`` package; an agency adds the days off and make-up days decided
later.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, timezone
from functools import cached_property

import holidays

#: Vietnam keeps UTC+7 all year (no daylight saving).
VIETNAM = timezone(timedelta(hours=7), "Asia/Ho_Chi_Minh")
DEFAULT_PERIODS = ((time(7, 30), time(11, 30)), (time(13, 30), time(17, 30)))
WORKING_DAY_HOURS = 8
_MAX_DAYS = 3660  # a calendar with no working day must not loop for ever


def parse_periods(text: str) -> tuple[tuple[time, time], ...]:
    """``"07:30-11:30,13:30-17:30"`` into ordered, non-overlapping periods."""
    periods = []
    for part in text.split(","):
        start, _, end = part.strip().partition("-")
        periods.append((time.fromisoformat(start.strip()), time.fromisoformat(end.strip())))
    periods.sort()
    for (s, e), (next_s, _) in zip(periods, periods[1:] + [(time.max, time.max)], strict=True):
        if not s < e <= next_s:
            raise ValueError(f"office hours must be ordered, non-overlapping periods: {text!r}")
    return tuple(periods)


def parse_dates(text: str) -> frozenset[date]:
    return frozenset(date.fromisoformat(d.strip()) for d in text.split(",") if d.strip())


@dataclass(frozen=True)
class WorkCalendar:
    periods: tuple[tuple[time, time], ...] = DEFAULT_PERIODS
    weekdays: frozenset[int] = frozenset(range(5))  # Monday to Friday
    days_off: frozenset[date] = frozenset()
    make_up_days: frozenset[date] = frozenset()
    _years: dict[int, holidays.HolidayBase] = field(default_factory=dict, compare=False,
                                                     repr=False)

    def _holidays(self, year: int) -> holidays.HolidayBase:
        found = self._years.get(year)
        if found is None:
            found = holidays.country_holidays("VN", years=year)
            self._years[year] = found
        return found

    def is_working_day(self, day: date) -> bool:
        if day in self.days_off:
            return False
        if day in self.make_up_days:
            return True
        official = self._holidays(day.year)
        if day in official:
            return False
        return day.weekday() in self.weekdays or day in official.weekend_workdays

    @cached_property
    def hours_per_day(self) -> float:
        return sum((datetime.combine(date.min, e) - datetime.combine(date.min, s)).seconds
                   for s, e in self.periods) / 3600

    def add_working_hours(self, start: datetime, hours: float) -> datetime:
        """The moment ``hours`` working hours after ``start`` (in Vietnam time)."""
        moment = start.astimezone(VIETNAM)
        remaining = timedelta(hours=hours)
        for _ in range(_MAX_DAYS):
            day = moment.date()
            if self.is_working_day(day):
                for begin_t, end_t in self.periods:
                    begin = datetime.combine(day, begin_t, VIETNAM)
                    end = datetime.combine(day, end_t, VIETNAM)
                    if moment >= end:
                        continue
                    begin = max(begin, moment)
                    if remaining <= end - begin:
                        return begin + remaining
                    remaining -= end - begin
                    moment = end
            moment = datetime.combine(day + timedelta(days=1), time.min, VIETNAM)
        raise ValueError("the calendar has no working time")

    def add_working_days(self, start: datetime, days: int) -> datetime:
        """``days`` full working days after ``start``: the same time of a later working day."""
        return self.add_working_hours(start, days * self.hours_per_day)

    def working_hours_between(self, start: datetime, end: datetime) -> float:
        """Working hours elapsed from ``start`` to ``end`` (0 when end is before start)."""
        if end <= start:
            return 0.0
        total = timedelta()
        moment = start.astimezone(VIETNAM)
        end = end.astimezone(VIETNAM)
        while moment < end:
            day = moment.date()
            if self.is_working_day(day):
                for begin_t, end_t in self.periods:
                    begin = max(datetime.combine(day, begin_t, VIETNAM), moment)
                    stop = min(datetime.combine(day, end_t, VIETNAM), end)
                    if stop > begin:
                        total += stop - begin
            moment = datetime.combine(day + timedelta(days=1), time.min, VIETNAM)
        return total.total_seconds() / 3600


def calendar_from(periods: str | None = None, days_off: Iterable[date] = (),
                  make_up_days: Iterable[date] = ()) -> WorkCalendar:
    return WorkCalendar(parse_periods(periods) if periods else DEFAULT_PERIODS,
                        days_off=frozenset(days_off), make_up_days=frozenset(make_up_days))
