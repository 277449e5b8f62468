"""What a running application holds: settings, database sessions, record sources, calendars,
the agencies' keys and the document store. Built by ``create_app``, read by views through
:func:`current_runtime`."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from forms.registers import REGISTERS
from service.config import Settings
from service.pki.signer import Signing
from service.records.prefill import Sources
from service.records.sources import DatabaseSource, HttpSource, RecordSource
from service.worktime import WorkCalendar
from storage.documents import DocumentStore


@dataclass
class Runtime:
    settings: Settings
    engine: Engine
    sessions: sessionmaker[Session]
    read_sessions: sessionmaker[Session]
    #: the document store of the repository (a folder, or S3 with object lock)
    store: DocumentStore
    #: external registers (their circuit breakers and connection pools live for the process)
    remote_sources: dict[str, HttpSource] = field(default_factory=dict)
    calendar: WorkCalendar = field(default_factory=WorkCalendar)
    agency_calendars: dict[str, WorkCalendar] = field(default_factory=dict)
    executor: ThreadPoolExecutor = field(
        default_factory=lambda: ThreadPoolExecutor(max_workers=8, thread_name_prefix="source"))
    #: the agencies' keys; None when no signing configuration is given
    signing: Signing | None = None
    #: signs short-lived download links
    secret_key: str = ""

    def calendar_for(self, agency_code: str) -> WorkCalendar:
        """The agency's working time: its own office hours if configured, the default else."""
        return self.agency_calendars.get(agency_code, self.calendar)

    def sources(self, session: Session) -> Sources:
        """The record sources for one request: external registers as configured, the others
        from the database through ``session``."""
        by_register: dict[str, RecordSource] = {
            name: self.remote_sources.get(name) or DatabaseSource(name, lambda: session)
            for name in REGISTERS}
        return Sources(by_register, self.executor, self.settings.prefill_deadline)


def current_runtime() -> Runtime:
    """The running application's runtime (inside a request or an application context)."""
    from flask import current_app

    runtime: Runtime = current_app.extensions["tokhai"]
    return runtime
