"""Rate limits on checks that compare what a citizen typed about another person with that
person's records.

Each check answers one yes/no about a person who is not linked to the caller, so its cost is
counted twice: against the caller (however many tokens they hold: a citizen is counted by their
personal ID) and against the person checked (by a keyed hash of the typed number, so the store
never holds personal ID numbers). Counters live in the store Flask-Limiter is given: in memory
by default (one process), Redis in production, so that every worker shares them.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import logging
import math
import time
from collections.abc import Sequence
from dataclasses import dataclass

from flask import Flask
from flask_limiter import Limiter
from limits import RateLimitItem, parse_many
from limits.errors import ConfigurationError, StorageError

from service.config import Settings
from service.errors import TooManyRequests
from service.tokens import Principal

log = logging.getLogger(__name__)

EXTENSION = "tokhai_ratelimit"


class RateLimited(TooManyRequests):
    """429, with how many seconds to wait before the next check would be counted."""

    def __init__(self, retry_after: int, field: str, *, per_person: bool):
        if per_person:
            message = ("Người này đã được đối chiếu quá nhiều lần; hãy thử lại sau "
                       f"{retry_after} giây.")
            message_en = "Too many checks of this person; try again later."
        else:
            message = (f"Bạn đã đối chiếu quá nhiều người; hãy thử lại sau {retry_after} giây.")
            message_en = "Too many person checks; try again later."
        super().__init__("too_many_checks", message, message_en, field=field,
                         retry_after=retry_after)


class ChecksUnavailable(Exception):
    """The store that counts checks cannot be reached: no check is made (fail closed)."""


@dataclass
class PersonCheckLimits:
    limiter: Limiter
    per_caller: list[RateLimitItem]
    per_person: list[RateLimitItem]
    prefix: str
    secret: bytes

    def person_key(self, personal_id: str) -> str:
        return hmac.new(self.secret, personal_id.encode(), hashlib.sha256).hexdigest()[:32]

    def charge(self, caller: Principal, targets: Sequence[tuple[str, str]]) -> None:
        """Count one check of each distinct ``(personal_id, field)`` target, for the caller
        and for each person; raise :class:`RateLimited` naming the field when a limit is
        reached (nothing is counted then), :class:`ChecksUnavailable` when the store fails."""
        people: dict[str, str] = {}
        for personal_id, field in targets:
            people.setdefault(personal_id, field)
        if not people:
            return
        who = caller.personal_id or f"token:{caller.token_id}"
        caller_ids = (self.prefix, "person_check", "caller", self.person_key(who))
        first_field = next(iter(people.values()))
        counted = [(item, caller_ids, len(people), first_field, False)
                   for item in self.per_caller]
        counted += [(item, (self.prefix, "person_check", "person", self.person_key(pid)), 1,
                     field, True) for pid, field in people.items() for item in self.per_person]
        strategy = self.limiter.limiter
        try:
            for item, ids, cost, field, per_person in counted:
                if not strategy.test(item, *ids, cost=cost):
                    raise RateLimited(self._retry_after(item, ids), field, per_person=per_person)
            for item, ids, cost, field, per_person in counted:
                if not strategy.hit(item, *ids, cost=cost):  # another request came first
                    raise RateLimited(self._retry_after(item, ids), field, per_person=per_person)
        except StorageError as exc:
            log.error("rate limit store unavailable", extra={"error": type(exc).__name__})
            raise ChecksUnavailable from None

    def _retry_after(self, item: RateLimitItem, ids: tuple[str, ...]) -> int:
        reset = self.limiter.limiter.get_window_stats(item, *ids).reset_time
        return max(1, math.ceil(reset - time.time()))


class TooManyLookups(TooManyRequests):
    """429: too many receipt lookups from one address (a secret being guessed)."""

    def __init__(self, retry_after: int):
        super().__init__("too_many_lookups",
                         f"Bạn đã tra cứu quá nhiều lần; hãy thử lại sau {retry_after} giây.",
                         "Too many receipt lookups; try again later.", field="secret",
                         retry_after=retry_after)


def charge_receipt_lookup(address: str, notation: str) -> None:
    """Count one receipt lookup from ``address`` (by a keyed hash of it), for the page and the
    API alike (``TOKHAI_RECEIPT_LOOKUPS``): :class:`TooManyLookups` beyond the limit,
    :class:`ChecksUnavailable` when the store cannot be reached (fail closed: a lookup is a
    guess of a secret)."""
    limits = person_checks()
    ids = (limits.prefix, "receipt_lookup", limits.person_key(address or "-"))
    strategy = limits.limiter.limiter
    try:
        for item in _parsed(notation):
            if not strategy.test(item, *ids) or not strategy.hit(item, *ids):
                raise TooManyLookups(limits._retry_after(item, ids))
    except StorageError as exc:
        log.error("rate limit store unavailable", extra={"error": type(exc).__name__})
        raise ChecksUnavailable from None


@functools.cache
def _parsed(notation: str) -> list[RateLimitItem]:
    return parse_many(notation)


class RateLimitMisconfigured(Exception):
    """The rate limits cannot be set up as configured (a start-up error, not a bug)."""


def init_app(app: Flask, settings: Settings, secret: str) -> None:
    """Attach the limits to ``app``. Limits that cannot be read, a store of an unknown kind,
    or (in production mode) counts kept in each worker's memory stop the start-up."""
    if settings.production and settings.rate_limit_storage.startswith("memory"):
        # each gunicorn worker would count on its own: the limits would not hold
        raise RateLimitMisconfigured(
            "TOKHAI_RATE_LIMIT_STORAGE is memory:// in production mode; set it to the shared "
            "Redis (redis://host:6379/0)")
    try:
        per_caller = parse_many(settings.person_checks_per_caller)
        per_person = parse_many(settings.person_checks_per_person)
        limiter = Limiter(key_func=lambda: "", app=app, storage_uri=settings.rate_limit_storage,
                          storage_options={"wrap_exceptions": True}, strategy="moving-window")
    except (ValueError, ConfigurationError) as e:
        raise RateLimitMisconfigured(
            f"rate limits: {e} (TOKHAI_PERSON_CHECKS_PER_CALLER, "
            "TOKHAI_PERSON_CHECKS_PER_PERSON, TOKHAI_RATE_LIMIT_STORAGE)") from None
    app.extensions[EXTENSION] = PersonCheckLimits(
        limiter, per_caller, per_person, settings.rate_limit_prefix, secret.encode())


def person_checks() -> PersonCheckLimits:
    from flask import current_app

    return current_app.extensions[EXTENSION]
