"""Issue #12: retention periods are calendar periods (a "10 years" retention was 10 × 366 days),
and permanent documents get a COMPLIANCE retention until a far date besides their legal hold."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from service.config import Settings
from service.repository.retention import (
    DEFAULT_PERMANENT,
    PERMANENT_KEY,
    add_period,
    parse_retention,
    retention_for,
)
from service.worktime import VIETNAM


def _vn(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=VIETNAM)


@pytest.mark.parametrize(("issued", "period", "until"), [
    (_vn(2026, 11, 30, 9, 15), "P10Y", _vn(2036, 11, 30, 9, 15)),
    (_vn(2028, 2, 29, 8), "P1Y", _vn(2029, 2, 28, 8)),
    (_vn(2028, 2, 29, 8), "P4Y", _vn(2032, 2, 29, 8)),
    (_vn(2026, 1, 31, 10), "P1M", _vn(2026, 2, 28, 10)),
    (_vn(2026, 12, 15), "P2M", _vn(2027, 2, 15)),
    (_vn(2026, 11, 30), "P30D", _vn(2026, 12, 30)),
    # just after midnight in Vietnam is the day before in UTC: the Vietnam date counts
    (_vn(2027, 3, 1, 0, 30), "P1Y", _vn(2028, 3, 1, 0, 30)),
])
def test_periods_are_calendar_periods(issued: datetime, period: str, until: datetime) -> None:
    assert add_period(issued, period) == until
    assert add_period(issued.astimezone(UTC), period) == until


def test_ten_years_from_30_november_2026_end_on_30_november_2036() -> None:
    periods = parse_retention("")
    issued = datetime(2026, 11, 30, 3, 0, tzinfo=UTC)
    retention = retention_for(periods, "residence", issued)  # P10Y
    assert retention.until == datetime(2036, 11, 30, 3, 0, tzinfo=UTC)
    assert retention.until != issued + timedelta(days=3660)  # not 10 × 366 days
    assert not retention.legal_hold


def test_permanent_documents_get_a_legal_hold_and_a_far_compliance_retention() -> None:
    issued = datetime(2026, 11, 30, 3, 0, 12, 345678, tzinfo=UTC)
    for document_class in ("civil_status", "business"):
        retention = retention_for(parse_retention(""), document_class, issued)
        assert retention.legal_hold
        assert retention.until == datetime(2126, 11, 30, 3, 0, 12, tzinfo=UTC)
    longer = retention_for(parse_retention("", "P150Y"), "civil_status", issued)
    assert longer.until is not None and longer.until.year == 2176 and longer.legal_hold
    # a map made before the setting existed: the default reach
    older = {k: v for k, v in parse_retention("").items() if k != PERMANENT_KEY}
    assert retention_for(older, "civil_status", issued).until == \
        add_period(issued.replace(microsecond=0), DEFAULT_PERMANENT)


@pytest.mark.parametrize("permanent", ["P0Y", "P10M", "100", "forever", "P1000Y"])
def test_the_permanent_reach_is_whole_years(permanent: str) -> None:
    with pytest.raises(ValueError, match="TOKHAI_PERMANENT_RETENTION"):
        parse_retention("", permanent)


def test_the_permanent_reach_is_its_own_setting(monkeypatch) -> None:
    with pytest.raises(ValueError, match="TOKHAI_PERMANENT_RETENTION"):
        parse_retention(f"{PERMANENT_KEY}=P5Y")
    monkeypatch.setenv("TOKHAI_PERMANENT_RETENTION", "P120Y")
    monkeypatch.setenv("TOKHAI_RETENTION", "letter=P2Y")
    settings = Settings.from_env()
    assert settings.retention[PERMANENT_KEY] == "P120Y"
    assert settings.retention["letter"] == "P2Y"
    assert settings.retention["civil_status"] == "permanent"
