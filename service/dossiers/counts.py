"""How many of an agency's dossiers are in each state, kept as the dossiers move.

The officers' queue shows these counts on every page; counting them from the dossiers reads
every index entry of the agency (21 ms for 50,000 dossiers, and growing with every dossier
ever filed). Instead each status change adds one to its new state and takes one from the old,
in the transaction that makes it, after the event log's counter (which every such transaction
takes first, so two never wait for each other's rows crosswise). :func:`recount` rebuilds them
from the dossiers (after a bulk load that bypassed the operations, or to check them)."""

from __future__ import annotations

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from storage.models import DossierCount

_ADD = text("INSERT INTO dossier_counts (agency_code, status, total) VALUES (:a, :s, :d) "
            "ON CONFLICT (agency_code, status) DO UPDATE "
            "SET total = dossier_counts.total + :d")


def moved(session: Session, agency_code: str, previous: str | None, status: str) -> None:
    """A dossier of ``agency_code`` went from ``previous`` (None: just filed) to ``status``."""
    if previous == status:
        return
    changes = sorted([(status, 1)] + ([(previous, -1)] if previous is not None else []))
    for state, delta in changes:  # in a fixed order of rows
        session.execute(_ADD, {"a": agency_code, "s": state, "d": delta})


def of_agency(session: Session, agency_code: str) -> dict[str, int]:
    """The agency's dossiers per state (states with none left out): one read of a few rows."""
    rows = session.execute(select(DossierCount.status, DossierCount.total).where(
        DossierCount.agency_code == agency_code, DossierCount.total != 0)).all()
    return {status: int(total) for status, total in rows}


def recount(session: Session) -> None:
    """Rebuild every count from the dossiers themselves. The caller commits."""
    session.execute(text("DELETE FROM dossier_counts"))
    session.execute(text(
        "INSERT INTO dossier_counts (agency_code, status, total) "
        "SELECT agency_code, status, count(*) FROM dossiers GROUP BY agency_code, status"))
