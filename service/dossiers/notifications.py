"""E-mail notifications to citizens: their dossier's status changed, the officer asks for a
supplement, the result is ready, the agency apologises for a delay.

The dossier event log is the source (its positions are gapless and committed in order, so a
reader following a cursor never skips an event). :func:`collect` reads the events after the
cursor (the counter row ``notifications:cursor``) and writes one :class:`Notification` per
event for a citizen who gave an address and wants notifications (``Contact``), with its
Vietnamese subject and body; ``event_position`` is unique, so collecting again writes nothing
twice. :func:`send_pending` sends the notifications that are due, retrying a failure later
(exponential backoff) and giving up after :data:`MAX_ATTEMPTS`. Both run in the worker
(``tokhai worker``), never inside a request.

A message names the dossier (its code, the procedure, the new status, the officer's reason
when there is one) and links to the citizen's page of it; it carries nothing of the form's data
and no personal ID number (a number of 9 to 12 digits in an officer's reason is masked).
Events the citizen made themselves (filing, a supplement, withdrawing) are not e-mailed: they
did it on the page, which said so.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from service.dossiers.states import STATES
from service.mail import Mail, MailError, Sender
from service.worktime import VIETNAM
from storage.models import Contact, Dossier, DossierEvent, Notification

#: the counter row that holds the position of the last event collected
CURSOR = "notifications:cursor"
#: a notification is tried this many times at most
MAX_ATTEMPTS = 8
#: the wait after the first failure, doubled after each (at most ``MAX_BACKOFF``)
FIRST_BACKOFF = timedelta(minutes=1)
MAX_BACKOFF = timedelta(hours=6)
#: an event older than this when collected is not e-mailed any more (a new installation's
#: past, a worker stopped for long): news that late would mislead
MAX_AGE = timedelta(days=7)
#: the actions a citizen makes themselves: not e-mailed
CITIZENS_OWN = frozenset({"submit", "supplement", "withdraw"})

_EMAIL = re.compile(r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]{1,64}@"
                    r"(?=.{1,253}$)[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
                    r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)+$")
_PERSONAL_NUMBER = re.compile(r"(?<![0-9])[0-9]{9,12}(?![0-9])")


# -- contacts ---------------------------------------------------------------------------------

def valid_email(address: str) -> bool:
    """An address mail can be sent to: ``local@domain.tld``, ASCII, at most 254 characters."""
    return len(address) <= 254 and _EMAIL.match(address) is not None


def contact(session: Session, personal_id: str) -> Contact | None:
    return session.get(Contact, personal_id)


def save_contact(session: Session, personal_id: str, email: str | None, notify: bool,
                 at: datetime) -> Contact:
    """Record the citizen's address (None: no address) and whether they want e-mails. The
    caller commits."""
    row = session.get(Contact, personal_id)
    if row is None:
        row = Contact(personal_id=personal_id)
        session.add(row)
    row.email = email or None
    row.notify = notify
    row.updated_at = at
    session.flush()
    return row


# -- the messages -----------------------------------------------------------------------------

def _moment(value: datetime | None) -> str:
    if value is None:
        return ""
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(VIETNAM).strftime("%H:%M ngày %d/%m/%Y")


def _masked(reason: str | None) -> str:
    """The officer's reason as the e-mail says it: one paragraph, no personal number."""
    cleaned = " ".join((reason or "").split())
    return _PERSONAL_NUMBER.sub("[số đã ẩn]", cleaned)[:1000]


@dataclass(frozen=True)
class Message:
    subject: str
    body: str


def compose(event: DossierEvent, procedure_name: str | None, public_url: str) -> Message:
    """The subject and body telling the citizen about ``event``."""
    code = event.dossier_code
    label = STATES.get(event.to_status, event.to_status)
    procedure = procedure_name or event.procedure_name or ""
    link = f"{public_url.rstrip('/')}/my/dossiers/{code}"
    reason = _masked(event.reason)
    lines: list[str]
    subject = f"Hồ sơ {code}: {label}"
    if event.action == "request_supplement":
        subject = f"Hồ sơ {code}: cần bổ sung"
        lines = ["Cơ quan giải quyết yêu cầu ông/bà bổ sung hồ sơ.",
                 f"Nội dung cần bổ sung: {reason}" if reason else "",
                 "Thời gian chờ ông/bà bổ sung không tính vào thời hạn giải quyết.",
                 f"Để gửi phần bổ sung, mở: {link}"]
    elif event.action == "reject":
        lines = ["Cơ quan giải quyết đã từ chối hồ sơ.",
                 f"Lý do: {reason}" if reason else "",
                 f"Xem chi tiết: {link}"]
    elif event.action == "accept":
        lines = ["Hồ sơ đã được tiếp nhận.",
                 f"Hạn trả kết quả: {_moment(event.process_by)}" if event.process_by else "",
                 f"Theo dõi hồ sơ: {link}"]
    elif event.action == "start_processing":
        lines = ["Hồ sơ đang được xử lý.",
                 f"Hạn trả kết quả: {_moment(event.process_by)}" if event.process_by else "",
                 f"Theo dõi hồ sơ: {link}"]
    elif event.action == "issue_result":
        lines = ["Hồ sơ đã có kết quả: giấy tờ điện tử có chữ ký số của cơ quan.",
                 "Ông/bà tải kết quả về và kiểm tra chữ ký tại trang hồ sơ:",
                 link]
    elif event.action == "deliver":
        lines = ["Cơ quan đã trả kết quả hồ sơ.", f"Xem chi tiết: {link}"]
    elif event.action == "explain":
        subject = f"Hồ sơ {code}: thư xin lỗi và ngày hẹn mới"
        lines = ["Hồ sơ bị chậm so với thời hạn. Cơ quan giải quyết đã gửi thư xin lỗi.",
                 f"Lý do chậm: {reason}" if reason else "",
                 f"Ngày hẹn trả kết quả mới: {_moment(event.promised_at)}"
                 if event.promised_at else "",
                 f"Xem thư xin lỗi: {link}"]
    else:
        lines = [f"Trạng thái mới của hồ sơ: {label}.", f"Xem chi tiết: {link}"]
    head = [f"Hồ sơ: {code}"]
    if procedure:
        head.append(f"Thủ tục: {procedure}")
    head += [f"Trạng thái: {label}", f"Thời điểm: {_moment(event.at)}"]
    body = "\n".join([
        "Kính gửi ông/bà,", "",
        *head, "",
        *[line for line in lines if line], "",
        "Thư này được gửi tự động từ Dịch vụ công tokhai; xin đừng trả lời thư này.",
        "Để đổi địa chỉ nhận thư hoặc ngừng nhận thư, mở: "
        f"{public_url.rstrip('/')}/my/contact",
    ]) + "\n"
    return Message(subject[:150], body)


# -- collecting -------------------------------------------------------------------------------

def _cursor(session: Session) -> int:
    """The last position collected, its counter row locked until the caller commits (two
    workers collect one after the other)."""
    return int(session.execute(text(
        "INSERT INTO counters (name, last) VALUES (:n, 0) "
        "ON CONFLICT (name) DO UPDATE SET last = counters.last RETURNING last"),
        {"n": CURSOR}).scalar_one())


def collect(session: Session, limit: int = 500, *, public_url: str,
            now: datetime | None = None) -> tuple[int, int]:
    """Read up to ``limit`` events after the cursor and write the notifications they call
    for; move the cursor past them and commit. Returns (events read, notifications
    written)."""
    moment = now or datetime.now(UTC)
    after = _cursor(session)
    rows = session.execute(
        select(DossierEvent, Dossier.citizen_id, Dossier.procedure_name, Contact.email,
               Contact.notify)
        .join(Dossier, Dossier.id == DossierEvent.dossier_id)
        .outerjoin(Contact, Contact.personal_id == Dossier.citizen_id)
        .where(DossierEvent.position > after)
        .order_by(DossierEvent.position).limit(limit)).all()
    written = 0
    for event, citizen, procedure_name, email, notify in rows:
        if (event.action in CITIZENS_OWN or event.role == "citizen" or not email
                or not notify or moment - event.at > MAX_AGE):
            continue
        message = compose(event, procedure_name, public_url)
        try:
            with session.begin_nested():
                session.add(Notification(
                    personal_id=citizen, dossier_id=event.dossier_id,
                    event_position=event.position, to_address=email,
                    subject=message.subject, body=message.body, created_at=moment,
                    attempts=0, next_attempt_at=moment))
        except IntegrityError:
            continue  # written by an earlier pass whose cursor was not saved
        written += 1
    if rows:
        session.execute(text("UPDATE counters SET last = :p WHERE name = :n"),
                        {"p": rows[-1][0].position, "n": CURSOR})
    session.commit()
    return len(rows), written


# -- sending ----------------------------------------------------------------------------------

def backoff(attempts: int) -> timedelta:
    """The wait after the ``attempts``-th failure: 1, 2, 4… minutes, at most 6 hours."""
    return min(FIRST_BACKOFF * 2 ** max(attempts - 1, 0), MAX_BACKOFF)


@dataclass(frozen=True)
class Sent:
    sent: int = 0
    #: failed this time, to be tried again later
    retrying: int = 0
    #: given up (a permanent refusal, or the last attempt)
    failed: int = 0


def _due(session: Session, moment: datetime, limit: int) -> list[int]:
    return list(session.scalars(
        select(Notification.id).where(Notification.sent_at.is_(None),
                                      Notification.failed_at.is_(None),
                                      Notification.next_attempt_at <= moment)
        .order_by(Notification.next_attempt_at, Notification.id).limit(limit)))


def send_pending(session_factory: Callable[[], Session], sender: Sender, limit: int = 100,
                 *, now: datetime | None = None,
                 max_attempts: int = MAX_ATTEMPTS) -> Sent:
    """Send the notifications that are due, each in its own transaction holding its row (a
    worker running at the same time skips it). A failure is recorded on the row (attempts,
    the error, the next attempt); a permanent refusal or the last attempt marks it failed.
    Delivery is at least once: a crash after sending and before recording sends it again,
    with the same Message-ID."""
    moment = now or datetime.now(UTC)
    with session_factory() as session:
        ids = _due(session, moment, limit)
    sent = retrying = failed = 0
    for notification_id in ids:
        with session_factory() as session:
            query = select(Notification).where(
                Notification.id == notification_id, Notification.sent_at.is_(None),
                Notification.failed_at.is_(None))
            if session.bind is not None and session.bind.dialect.name == "postgresql":
                query = query.with_for_update(skip_locked=True)
            row = session.scalar(query)
            if row is None:
                continue
            row.attempts += 1
            try:
                sender.send(Mail(to=row.to_address, subject=row.subject, body=row.body,
                                 key=f"tokhai-notification-{row.id}"))
            except MailError as e:
                row.last_error = str(e)[:300]
                if e.permanent or row.attempts >= max_attempts:
                    row.failed_at = moment
                    failed += 1
                else:
                    row.next_attempt_at = moment + backoff(row.attempts)
                    retrying += 1
            else:
                row.sent_at = moment
                row.last_error = None
                sent += 1
            session.commit()
    return Sent(sent, retrying, failed)
