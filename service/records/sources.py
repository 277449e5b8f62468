"""Record sources: where prefill reads the state's digitised records.

Every register is reached through one interface, :class:`RecordSource`: a name, the record
paths it offers, and a lookup by subject (a personal ID number or a tax code). The embedded
default, :class:`DatabaseSource`, reads the ``records`` table; :class:`HttpSource` reads an
external JSON service (the national population database, a ministry's system) with connect and
read timeouts, a bounded retry, a limit on the body size and a circuit breaker, so that one
register going down never takes prefill with it.

Earlier results are not a register of their own: when tokhai issues a result (a driving
licence, a birth extract), its structured data is written as a record of the register it
belongs to, with provenance ``result:<document id>``; prefill then reads it like any record
and names that provenance.

The external protocol: ``GET {base}/{subject}`` answers 200 with
``{"record_id": "...", "data": {<field>: <value>, ...}}`` in the register's vocabulary, or 404
when the register has no record of the subject. Values are checked like imported ones.
"""

from __future__ import annotations

import json
import logging
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import httpx
import pybreaker
from sqlalchemy.orm import Session

from forms import registers
from forms.records import PERSONAL_ID, TAX_CODE, RecordInvalid, normalise_record
from storage import records as store

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SourcedRecord:
    register: str
    subject: str
    record_id: str
    data: dict[str, Any]
    retrieved_at: datetime
    #: how the register came by the record: "import:…", "demo", "digitised:<id>", "result:<id>"
    provenance: str | None = None


class SourceError(Exception):
    """A source could not answer: down, slow, or answering garbage."""

    def __init__(self, source: str, reason: str):
        super().__init__(f"{source}: {reason}")
        self.source = source
        self.reason = reason


class RecordSource(ABC):
    #: the register this source serves (``population``, ``business``…)
    register: str

    @property
    def name(self) -> str:
        return self.register

    def paths(self) -> list[str]:
        return [f"{self.register}.{f}" for f in registers.REGISTERS[self.register].fields]

    @abstractmethod
    def lookup_many(self, subjects: Sequence[str], *, links: bool = False,
                    ) -> dict[str, SourcedRecord]:
        """Records of the subjects the register knows; a subject it does not know is simply
        absent. ``links`` asks the population register for the computed links (children,
        household members) too. Raises :class:`SourceError` when the source cannot answer."""

    def lookup(self, subject: str) -> SourcedRecord | None:
        return self.lookup_many([subject], links=True).get(subject)


class DatabaseSource(RecordSource):
    """A register kept in tokhai's own database (the embedded default). Lookups run inline on
    the request's session: they are as fast as any other query of the request."""

    def __init__(self, register: str, session: Callable[[], Session]):
        self.register = register
        self._session = session

    def lookup_many(self, subjects: Sequence[str], *, links: bool = False,
                    ) -> dict[str, SourcedRecord]:
        found = self.lookup_together([self], subjects, links=links)
        return {s: r for (_, s), r in found.items()}

    def neighbourhood(self, subject: str) -> dict[str, list[str]]:
        """Everyone the population register links to ``subject``, by relation."""
        return store.neighbourhood(self._session(), subject)

    @staticmethod
    def lookup_together(sources: Sequence[DatabaseSource], subjects: Sequence[str], *,
                        links: bool = False) -> dict[tuple[str, str], SourcedRecord]:
        """Several embedded registers in one query (they share the database)."""
        if not sources or not subjects:
            return {}
        session = sources[0]._session()
        rows = store.fetch_many(session, [s.register for s in sources], subjects)
        population = [subject for (register, subject) in rows if register == "population"]
        derived = store.derived_links(session, population) if links and population else {}
        now = datetime.now(UTC)
        return {
            (register, subject): SourcedRecord(
                register, subject, f"{register}:{row.id}",
                {**row.data, **derived.get(subject, {})} if register == "population"
                else row.data, now, row.provenance)
            for (register, subject), row in rows.items()
        }


@dataclass
class HttpSettings:
    connect_timeout: float = 0.5
    read_timeout: float = 1.5
    retries: int = 1
    max_bytes: int = 256 * 1024
    breaker_failures: int = 5
    breaker_reset_seconds: float = 30.0
    headers: dict[str, str] = field(default_factory=dict)


class HttpSource(RecordSource):
    """A register behind an external JSON service."""

    def __init__(self, register: str, base_url: str, settings: HttpSettings | None = None,
                 transport: httpx.BaseTransport | None = None):
        self.register = register
        self.base_url = base_url.rstrip("/")
        self.settings = settings or HttpSettings()
        s = self.settings
        self._client = httpx.Client(
            timeout=httpx.Timeout(s.read_timeout, connect=s.connect_timeout),
            headers={"Accept": "application/json", **s.headers}, transport=transport,
            follow_redirects=False)
        self._breaker = pybreaker.CircuitBreaker(fail_max=s.breaker_failures,
                                                 reset_timeout=s.breaker_reset_seconds)

    @property
    def name(self) -> str:
        return f"{self.register}@{httpx.URL(self.base_url).host}"

    def lookup_many(self, subjects: Sequence[str], *, links: bool = False,
                    ) -> dict[str, SourcedRecord]:
        out: dict[str, SourcedRecord] = {}
        for subject in subjects:
            try:
                found = self._breaker.call(self._fetch, subject)
            except pybreaker.CircuitBreakerError:
                raise SourceError(self.name, "circuit_open") from None
            if found is not None:
                out[subject] = found
        return out

    def _fetch(self, subject: str) -> SourcedRecord | None:
        pattern = TAX_CODE if self.register == "business" else PERSONAL_ID
        if not pattern.match(subject):
            raise ValueError(f"bad subject {subject!r}")
        last: Exception | None = None
        for attempt in range(self.settings.retries + 1):
            if attempt:
                time.sleep(min(0.1 * 2 ** attempt, 0.5))
            try:
                return self._get(subject)
            except SourceError as exc:
                if exc.reason not in ("timeout", "unreachable", "server_error"):
                    raise  # garbage does not improve on a second try
                last = exc
        assert last is not None
        raise last

    def _get(self, subject: str) -> SourcedRecord | None:
        url = f"{self.base_url}/{subject}"
        try:
            with self._client.stream("GET", url) as resp:
                if resp.status_code == 404:
                    return None
                if resp.status_code >= 500:
                    raise SourceError(self.name, "server_error")
                if resp.status_code != 200:
                    raise SourceError(self.name, f"status_{resp.status_code}")
                body = bytearray()
                for chunk in resp.iter_bytes():
                    body.extend(chunk)
                    if len(body) > self.settings.max_bytes:
                        raise SourceError(self.name, "oversized")
        except httpx.TimeoutException:
            raise SourceError(self.name, "timeout") from None
        except httpx.TransportError:
            raise SourceError(self.name, "unreachable") from None
        try:
            payload = json.loads(body)
            data = payload["data"]
            record_id = str(payload.get("record_id") or f"{self.register}:{subject}")[:200]
            if not isinstance(data, dict):
                raise TypeError
            data = normalise_record(self.register, data, allow_derived=True)
        except (ValueError, KeyError, TypeError, RecordInvalid):
            log.warning("malformed record from source",
                        extra={"source": self.name, "subject_tail": subject[-4:]})
            raise SourceError(self.name, "malformed") from None
        return SourcedRecord(self.register, subject, record_id, data, datetime.now(UTC),
                             f"http:{self.name}")

    def close(self) -> None:
        self._client.close()
