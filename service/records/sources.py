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

A register keyed by something other than a person (``business``, by the enterprise code) is
reached from a person through the roles they hold in its records (owner, legal
representative: ``forms.registers.Register.roles``): ``GET {base}?personal_id={id}`` answers
200 with ``{"records": [{"record_id": …, "data": {…}}, …]}``, the records in which that person
holds a role (an empty list, or 404, when none).
"""

from __future__ import annotations

import json
import logging
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, TypeVar

import httpx
import pybreaker
from sqlalchemy.orm import Session

from forms import registers
from forms.records import (
    PERSONAL_ID,
    TAX_CODE,
    RecordInvalid,
    check_subject,
    normalise_record,
    subject_field,
)
from storage import records as store

log = logging.getLogger(__name__)
_T = TypeVar("_T")


@dataclass(frozen=True)
class SourcedRecord:
    register: str
    subject: str
    record_id: str
    data: dict[str, Any]
    retrieved_at: datetime
    #: how the register came by the record: "import:…", "demo", "digitised:<id>", "result:<id>"
    provenance: str | None = None
    #: how it came by each field, where that differs or is traced (None: every field has the
    #: record's provenance)
    field_provenance: dict[str, str] | None = None

    def provenance_of(self, name: str) -> str | None:
        """Where the value of the field ``name`` came from (None: not known). The record's
        key (a business's code) is where the record is."""
        if self.field_provenance is None:
            return self.provenance
        if name == registers.REGISTERS[self.register].subject:
            return self.field_provenance.get(name, self.provenance)
        return self.field_provenance.get(name)

    def roles_of(self, person: str) -> list[str]:
        """The roles ``person`` holds in this record (a business's owner, legal
        representative), in the register's order of preference."""
        return [role for role, holder in registers.REGISTERS[self.register].roles.items()
                if self.data.get(holder) == person]


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

    @property
    def reached_by_role(self) -> bool:
        """Whether people reach this register's records through roles, not as subjects."""
        return bool(registers.REGISTERS[self.register].roles)

    def lookup_held(self, people: Sequence[str]) -> dict[str, list[SourcedRecord]]:
        """For a register reached through roles: the records in which each person holds a
        role (a person holding none is absent). Raises :class:`SourceError` when the source
        cannot answer."""
        raise NotImplementedError(f"{self.register} is not reached through roles")


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

    def lookup_held(self, people: Sequence[str]) -> dict[str, list[SourcedRecord]]:
        found = self.held_together([self], people)
        return {p: r for (_, p), r in found.items()}

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
                else _keyed(register, subject, row.data), now, row.provenance,
                row.field_provenance)
            for (register, subject), row in rows.items()
        }

    @staticmethod
    def held_together(sources: Sequence[DatabaseSource], people: Sequence[str],
                      ) -> dict[tuple[str, str], list[SourcedRecord]]:
        """Several embedded registers reached through roles, in one query: ``(register,
        personal ID) -> records in which the person holds a role``."""
        if not sources or not people:
            return {}
        session = sources[0]._session()
        now = datetime.now(UTC)
        out: dict[tuple[str, str], list[SourcedRecord]] = {}
        for key, held in store.fetch_held(session, [s.register for s in sources],
                                          people).items():
            seen: dict[str, SourcedRecord] = {}
            for _, row in held:
                seen.setdefault(row.subject, SourcedRecord(
                    row.register, row.subject, f"{row.register}:{row.id}",
                    _keyed(row.register, row.subject, row.data), now, row.provenance,
                    row.field_provenance))
            out[key] = list(seen.values())
        return out


def _keyed(register: str, subject: str, data: dict[str, Any]) -> dict[str, Any]:
    """A record's data with its key, where the register's vocabulary has the key as a field
    (a business's ``enterprise_code``): a record confirmed from a digitised certificate is
    stored under its code without repeating it."""
    key = registers.REGISTERS[register].subject
    if key in registers.REGISTERS[register].fields and key not in data:
        return {**data, key: subject}
    return data


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

    def lookup_held(self, people: Sequence[str]) -> dict[str, list[SourcedRecord]]:
        out: dict[str, list[SourcedRecord]] = {}
        for person in people:
            try:
                found = self._breaker.call(self._retrying, self._get_held, person)
            except pybreaker.CircuitBreakerError:
                raise SourceError(self.name, "circuit_open") from None
            if found:
                out[person] = found
        return out

    def _fetch(self, subject: str) -> SourcedRecord | None:
        pattern = TAX_CODE if self.register == "business" else PERSONAL_ID
        if not pattern.match(subject):
            raise ValueError(f"bad subject {subject!r}")
        return self._retrying(self._get, subject)

    def _retrying(self, get: Callable[[str], _T], key: str) -> _T:
        last: Exception | None = None
        for attempt in range(self.settings.retries + 1):
            if attempt:
                time.sleep(min(0.1 * 2 ** attempt, 0.5))
            try:
                return get(key)
            except SourceError as exc:
                if exc.reason not in ("timeout", "unreachable", "server_error"):
                    raise  # garbage does not improve on a second try
                last = exc
        assert last is not None
        raise last

    def _body(self, url: str, params: dict[str, str] | None = None) -> bytes | None:
        """The body of a 200 answer, None for a 404; SourceError otherwise."""
        try:
            with self._client.stream("GET", url, params=params) as resp:
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
        return bytes(body)

    def _record(self, payload: Any, subject: str | None) -> SourcedRecord:
        """A record of the answer, checked (ValueError, KeyError, TypeError or RecordInvalid
        when it is not one)."""
        data = payload["data"]
        if not isinstance(data, dict):
            raise TypeError
        data = normalise_record(self.register, data, allow_derived=True)
        if subject is None:  # found through a role: the record names its subject
            subject = check_subject(self.register, data.get(subject_field(self.register)))
        record_id = str(payload.get("record_id") or f"{self.register}:{subject}")[:200]
        return SourcedRecord(self.register, subject, record_id, data, datetime.now(UTC),
                             f"http:{self.name}")

    def _malformed(self, key: str) -> SourceError:
        log.warning("malformed record from source",
                    extra={"source": self.name, "subject_tail": key[-4:]})
        return SourceError(self.name, "malformed")

    def _get(self, subject: str) -> SourcedRecord | None:
        body = self._body(f"{self.base_url}/{subject}")
        if body is None:
            return None
        try:
            return self._record(json.loads(body), subject)
        except (ValueError, KeyError, TypeError, RecordInvalid):
            raise self._malformed(subject) from None

    def _get_held(self, person: str) -> list[SourcedRecord]:
        if not PERSONAL_ID.match(person):
            raise ValueError("bad personal ID")
        body = self._body(self.base_url, {"personal_id": person})
        if body is None:
            return []
        try:
            items = json.loads(body)["records"]
            if not isinstance(items, list):
                raise TypeError
            found = [self._record(item, None) for item in items]
        except (ValueError, KeyError, TypeError, RecordInvalid):
            raise self._malformed(person) from None
        # a source answering with records the person holds no role in is not believed
        return [r for r in found if r.roles_of(person)]

    def close(self) -> None:
        self._client.close()
