"""How long each class of document is kept (configurable with ``TOKHAI_RETENTION``).

The defaults are the service's, not a reading of every archive regulation: civil-status and
business registrations are kept for ever, others for a period counted from issuance. An
agency's archivist sets the periods their rules require.

Periods are calendar periods, counted in Vietnam time: ten years from 30 November 2026 end on
30 November 2036 (not 10 × 366 days later), a year from 29 February ends on 28 February, a
month from 31 January on the last day of February.

A document kept for ever gets a legal hold (no end) and, in addition, a COMPLIANCE retention
until a far date (``TOKHAI_PERMANENT_RETENTION``, default 100 years): a legal hold can be lifted
by anyone allowed to change legal holds, a COMPLIANCE retention by no one, not even the
bucket's owner. Object lock cannot say "for ever"; a retention can be extended (never
shortened), so an archive that still keeps the document when the date nears extends it.
"""

from __future__ import annotations

import calendar
import re
from datetime import datetime, timedelta

from service.worktime import VIETNAM
from storage.documents import Retention

#: default retention per document class; ``permanent`` means a legal hold and a COMPLIANCE
#: retention of ``PERMANENT_KEY``'s period
DEFAULT_RETENTION = {
    "civil_status": "permanent",
    "business": "permanent",
    "judicial_record": "P20Y",
    "residence": "P10Y",
    "decision": "P20Y",
    "letter": "P10Y",
}
#: the entry of the retention map (not a document class) that says how far the COMPLIANCE
#: retention of a permanent document reaches (``TOKHAI_PERMANENT_RETENTION``)
PERMANENT_KEY = "@permanent"
#: a century: longer than the life of the person a birth extract is about, within what S3
#: object lock accepts, and extended by the archive before it ends (see the module's text)
DEFAULT_PERMANENT = "P100Y"
_PERIOD = re.compile(r"^P(\d{1,3})([YMD])$")


def parse_retention(text: str, permanent: str = DEFAULT_PERMANENT) -> dict[str, str]:
    """``civil_status=permanent;letter=P5Y`` over the defaults; a bad entry is an error.
    ``permanent`` is the COMPLIANCE period of permanent documents (a ``P<n>Y`` period)."""
    periods = dict(DEFAULT_RETENTION)
    for item in filter(None, (part.strip() for part in text.split(";"))):
        name, _, value = item.partition("=")
        value = value.strip()
        if value != "permanent" and not _PERIOD.match(value):
            raise ValueError(f"TOKHAI_RETENTION: {item!r}: use permanent or P<n>Y/M/D")
        if name.strip() == PERMANENT_KEY:
            raise ValueError(f"TOKHAI_RETENTION: {item!r}: set it with "
                             "TOKHAI_PERMANENT_RETENTION")
        periods[name.strip()] = value
    match = _PERIOD.match(permanent.strip())
    if match is None or match.group(2) != "Y" or int(match.group(1)) < 1:
        raise ValueError(f"TOKHAI_PERMANENT_RETENTION: {permanent!r}: use P<n>Y (years)")
    periods[PERMANENT_KEY] = permanent.strip()
    return periods


def add_period(moment: datetime, period: str) -> datetime:
    """``moment`` plus a calendar period ``P<n>Y``, ``P<n>M`` or ``P<n>D``, counted on the
    Vietnam calendar: the same day of the month and time of day, or the month's last day when
    it has no such day (29 February plus a year is 28 February)."""
    match = _PERIOD.match(period)
    if match is None:
        raise ValueError(f"not a period: {period!r}")
    n, unit = int(match.group(1)), match.group(2)
    if unit == "D":
        return moment + timedelta(days=n)
    local = moment.astimezone(VIETNAM)
    months = local.month - 1 + (12 * n if unit == "Y" else n)
    year, month = local.year + months // 12, months % 12 + 1
    day = min(local.day, calendar.monthrange(year, month)[1])
    return local.replace(year=year, month=month, day=day).astimezone(moment.tzinfo)


def retention_for(periods: dict[str, str], document_class: str,
                  issued_at: datetime) -> Retention:
    """The retention of a document of ``document_class`` issued at ``issued_at``, to the
    whole second (what the store keeps)."""
    issued_at = issued_at.replace(microsecond=0)
    value = periods.get(document_class, periods["decision"])
    if value == "permanent":
        far = add_period(issued_at, periods.get(PERMANENT_KEY, DEFAULT_PERMANENT))
        return Retention(far, legal_hold=True)
    return Retention(add_period(issued_at, value), legal_hold=False)
