"""How long each class of document is kept (configurable with ``TOKHAI_RETENTION``).

The defaults are the service's, not a reading of every archive regulation: civil-status and
business registrations are kept for ever (a legal hold), others for a period counted from
issuance. An agency's archivist sets the periods their rules require.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta

from storage.documents import Retention

#: default retention per document class; ``permanent`` means a legal hold
DEFAULT_RETENTION = {
    "civil_status": "permanent",
    "business": "permanent",
    "judicial_record": "P20Y",
    "residence": "P10Y",
    "decision": "P20Y",
    "letter": "P10Y",
}
_PERIOD = re.compile(r"^P(\d{1,3})([YMD])$")


def parse_retention(text: str) -> dict[str, str]:
    """``civil_status=permanent;letter=P5Y`` over the defaults; a bad entry is an error."""
    periods = dict(DEFAULT_RETENTION)
    for item in filter(None, (part.strip() for part in text.split(";"))):
        name, _, value = item.partition("=")
        value = value.strip()
        if value != "permanent" and not _PERIOD.match(value):
            raise ValueError(f"TOKHAI_RETENTION: {item!r}: use permanent or P<n>Y/M/D")
        periods[name.strip()] = value
    return periods


def retention_for(periods: dict[str, str], document_class: str,
                  issued_at: datetime) -> Retention:
    value = periods.get(document_class, periods["decision"])
    if value == "permanent":
        return Retention(None, legal_hold=True)
    match = _PERIOD.match(value)
    assert match is not None
    n, unit = int(match.group(1)), match.group(2)
    days = {"Y": 366 * n, "M": 31 * n, "D": n}[unit]
    return Retention(issued_at + timedelta(days=days), legal_hold=False)


