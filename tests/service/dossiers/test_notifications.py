"""E-mail notifications (#14, point 6): the dossier event log becomes e-mails to the citizens
who gave an address, sent by the worker (never inside a request) to a real SMTP server on
loopback (aiosmtpd), retried when the server refuses for now, written as .eml files in the
development mail folder. Run against each database backend."""

from __future__ import annotations

import dataclasses
import email
import email.policy
import logging
import socket
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import func, select, text, update

from service import mail
from service.dossiers import notifications
from service.records.demo import DEMO_DAUGHTER
from storage.models import Notification
from tests.conftest import (
    DEMO_FATHER,
    _token,
    citizen_headers,
    file_and_process,
    valid_submission,
)

FORM = "to-khai-dang-ky-khai-sinh"
AGENCY = "UBND-XA-00004"
PUBLIC = "https://dichvucong.example.vn"
FATHER_MAIL = "an.nguyen@example.vn"
DAUGHTER_MAIL = "ha.le@example.vn"


class Inbox:
    """An SMTP server's handler: keeps what it accepts; answers ``451`` to the next
    ``refuse`` messages (a server busy for now)."""

    def __init__(self) -> None:
        self.messages: list[tuple[str, list[str], EmailMessage]] = []
        self.refuse = 0
        self.refused = 0

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        if self.refuse > 0:
            self.refuse -= 1
            self.refused += 1
            return "451 4.3.0 Try again later"
        parsed = email.message_from_bytes(envelope.content, policy=email.policy.default)
        assert isinstance(parsed, EmailMessage)
        self.messages.append((envelope.mail_from, list(envelope.rcpt_tos), parsed))
        return "250 OK"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def smtp() -> Iterator[tuple[Inbox, str]]:
    """A real SMTP server on a free loopback port: its inbox and ``host:port``."""
    logging.getLogger("mail.log").setLevel(logging.WARNING)  # it logs every address
    inbox = Inbox()
    port = free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield inbox, f"127.0.0.1:{port}"
    finally:
        controller.stop()


def clerk(app) -> dict[str, str]:
    return {"Authorization": f"Bearer {_token(app, 'officer', agency_code=AGENCY)}"}


def sessions(app):
    return app.extensions["tokhai"].sessions


def set_contact(app, personal_id: str, address: str | None, notify: bool = True) -> None:
    with sessions(app)() as s:
        notifications.save_contact(s, personal_id, address, notify, datetime.now(UTC))
        s.commit()


def collect(app, **kwargs: Any) -> tuple[int, int]:
    with sessions(app)() as s:
        return notifications.collect(s, 1000, public_url=PUBLIC, **kwargs)


def drain(app) -> None:
    """Start from a clean outbox: every event so far collected, every notification done."""
    collect(app)
    with sessions(app)() as s:
        s.execute(update(Notification).where(Notification.sent_at.is_(None))
                  .values(sent_at=datetime.now(UTC)))
        s.commit()


def outbox(app, code: str) -> list[Notification]:
    with sessions(app)() as s:
        rows = list(s.scalars(select(Notification).where(Notification.subject.contains(code))
                              .order_by(Notification.id)))
        s.expunge_all()
        return rows


def act(client, app, code: str, action: str, reason: str | None = None) -> None:
    current = client.get(f"/api/v1/dossiers/{code}", headers=clerk(app))
    body: dict[str, Any] = {"action": action}
    if reason is not None:
        body["reason"] = reason
    moved = client.post(f"/api/v1/dossiers/{code}/actions", json=body,
                        headers={**clerk(app), "If-Match": current.headers["ETag"]})
    assert moved.status_code == 200, moved.get_json()


@pytest.fixture
def father(app, people) -> dict[str, str]:
    return citizen_headers(app, DEMO_FATHER)


def in_processing(client, app, father) -> tuple[str, dict]:
    data = valid_submission(client, app, FORM)
    code, _ = file_and_process(client, father, clerk(app), FORM, data, AGENCY)
    return code, data


def strings(data: Any) -> list[str]:
    if isinstance(data, dict):
        return [s for v in data.values() for s in strings(v)]
    if isinstance(data, list):
        return [s for v in data for s in strings(v)]
    return [data] if isinstance(data, str) and len(data) >= 4 else []


def test_a_supplement_request_and_status_changes_are_emailed(app, client, father, smtp,
                                                             monkeypatch):
    inbox, server = smtp
    drain(app)
    set_contact(app, DEMO_FATHER, FATHER_MAIL)
    code, data = in_processing(client, app, father)
    act(client, app, code, "request_supplement",
        "Thiếu bản chụp giấy chứng sinh; số 001085012345 ghi sai")
    # a request alone sends nothing and writes no notification: only the worker does
    assert inbox.messages == [] and outbox(app, code) == []

    rt = app.extensions["tokhai"]
    monkeypatch.setattr(rt, "settings", dataclasses.replace(
        rt.settings, smtp_server=server, smtp_sender="Dịch vụ công <tokhai@example.vn>",
        public_url=PUBLIC))
    done = app.test_cli_runner().invoke(args=["worker", "--once"])
    assert "e-mails: sent 3" in done.output, done.output

    assert [to for _, to, _ in inbox.messages] == [[FATHER_MAIL]] * 3
    assert {frm for frm, _, _ in inbox.messages} == {"tokhai@example.vn"}
    subjects = [m["Subject"] for _, _, m in inbox.messages]
    assert subjects == [f"Hồ sơ {code}: Đã tiếp nhận", f"Hồ sơ {code}: Đang xử lý",
                        f"Hồ sơ {code}: cần bổ sung"]
    request = inbox.messages[2][2]
    assert request["To"] == FATHER_MAIL
    assert request["Message-ID"].endswith("@example.vn>")
    body = request.get_content()
    assert "Thiếu bản chụp giấy chứng sinh" in body
    assert f"{PUBLIC}/my/dossiers/{code}" in body
    assert "Đăng ký khai sinh" in body or "khai sinh" in body.lower()  # the procedure
    # no personal ID number (not even the one the officer typed), nothing of the form's data
    for _, _, message in inbox.messages:
        text_ = message.as_string() + message.get_content()
        assert DEMO_FATHER not in text_
        assert "[số đã ẩn]" in body
        leaked = [s for s in strings(data) if s in message.get_content()
                  and s not in code and s not in "Đăng ký khai sinh"]
        assert leaked == [], leaked

    # an issued result and a rejection: a status change and the officer's reason
    code2, _ = in_processing(client, app, father)
    act(client, app, code2, "reject", "Người yêu cầu không thuộc diện đăng ký tại xã")
    app.test_cli_runner().invoke(args=["worker", "--once"])
    last = inbox.messages[-1][2]
    assert last["Subject"] == f"Hồ sơ {code2}: Từ chối"
    assert "Lý do: Người yêu cầu không thuộc diện đăng ký tại xã" in last.get_content()


def test_no_email_without_an_address_or_with_notifications_off(app, client, father, people,
                                                               smtp):
    inbox, server = smtp
    drain(app)
    set_contact(app, DEMO_FATHER, FATHER_MAIL, notify=False)
    code, _ = in_processing(client, app, father)
    daughter = citizen_headers(app, DEMO_DAUGHTER)
    with sessions(app)() as s:
        s.execute(text("DELETE FROM contacts WHERE personal_id = :p"), {"p": DEMO_DAUGHTER})
        s.commit()
    code2, _ = file_and_process(client, daughter, clerk(app), FORM,
                                valid_submission(client, app, FORM, DEMO_DAUGHTER), AGENCY)
    read, written = collect(app)
    assert read >= 4 and written == 0
    assert outbox(app, code) == [] and outbox(app, code2) == []
    sent = notifications.send_pending(sessions(app), mail.SmtpSender(server, "t@example.vn"))
    assert sent.sent == 0 and inbox.messages == []
    # an address without notify, then notify on: only what happens afterwards is e-mailed
    set_contact(app, DEMO_FATHER, FATHER_MAIL, notify=True)
    act(client, app, code, "request_supplement", "Thiếu giấy tờ")
    assert collect(app)[1] == 1


def test_a_server_that_refuses_for_now_is_tried_again_later(app, client, father, smtp):
    inbox, server = smtp
    drain(app)
    set_contact(app, DEMO_FATHER, FATHER_MAIL)
    code, _ = in_processing(client, app, father)
    act(client, app, code, "request_supplement", "Bổ sung ảnh chụp")
    assert collect(app)[1] == 3
    sender = mail.SmtpSender(server, "tokhai@example.vn")
    inbox.refuse = 3
    now = datetime.now(UTC)
    first = notifications.send_pending(sessions(app), sender, now=now)
    assert (first.sent, first.retrying, first.failed) == (0, 3, 0)
    assert inbox.refused == 3 and inbox.messages == []
    rows = outbox(app, code)
    assert all(r.attempts == 1 and r.sent_at is None and "451" in (r.last_error or "")
               and r.next_attempt_at >= now + timedelta(seconds=59) for r in rows)
    # not due yet: nothing is tried
    assert notifications.send_pending(sessions(app), sender, now=now + timedelta(seconds=30)) \
        == notifications.Sent()
    later = notifications.send_pending(sessions(app), sender, now=now + timedelta(minutes=2))
    assert later.sent == 3 and len(inbox.messages) == 3
    rows = outbox(app, code)
    assert all(r.attempts == 2 and r.sent_at is not None and r.last_error is None
               for r in rows)
    # sent ones are not sent again
    assert notifications.send_pending(sessions(app), sender,
                                      now=now + timedelta(days=1)) == notifications.Sent()


def test_giving_up_after_the_last_attempt_and_at_a_permanent_refusal(app, client, father,
                                                                     smtp):
    inbox, server = smtp
    drain(app)
    set_contact(app, DEMO_FATHER, FATHER_MAIL)
    code, _ = in_processing(client, app, father)
    assert collect(app)[1] == 2
    sender = mail.SmtpSender(server, "tokhai@example.vn")
    inbox.refuse = 100
    now = datetime.now(UTC)
    for attempt in range(3):
        now += timedelta(hours=7)
        done = notifications.send_pending(sessions(app), sender, now=now, max_attempts=3)
        assert (done.retrying, done.failed) == ((2, 0) if attempt < 2 else (0, 2))
    rows = outbox(app, code)
    assert all(r.failed_at is not None and r.attempts == 3 and r.sent_at is None
               for r in rows)
    assert notifications.send_pending(sessions(app), sender,
                                      now=now + timedelta(days=2)) == notifications.Sent()

    # a server that is not there: tried again later, not given up
    port = free_port()
    act(client, app, code, "request_supplement", "Bổ sung")
    collect(app)
    nobody = notifications.send_pending(sessions(app), mail.SmtpSender(f"127.0.0.1:{port}",
                                                                        "t@example.vn"))
    assert (nobody.retrying, nobody.failed) == (1, 0)


def test_a_permanent_refusal_is_not_retried(app, client, father, smtp):
    inbox, server = smtp
    drain(app)
    set_contact(app, DEMO_FATHER, "nobody@example.vn")

    class Refusing(Inbox):
        async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str,
                              options: list[str]) -> str:
            return "550 5.1.1 No such user"

    port = free_port()
    controller = Controller(Refusing(), hostname="127.0.0.1", port=port)
    controller.start()
    try:
        code, _ = in_processing(client, app, father)
        collect(app)
        done = notifications.send_pending(sessions(app),
                                          mail.SmtpSender(f"127.0.0.1:{port}", "t@example.vn"))
    finally:
        controller.stop()
    assert (done.sent, done.retrying, done.failed) == (0, 0, 2)
    assert all("550" in (r.last_error or "") for r in outbox(app, code))


def test_collecting_is_idempotent(app, client, father):
    drain(app)
    set_contact(app, DEMO_FATHER, FATHER_MAIL)
    code, _ = in_processing(client, app, father)
    assert collect(app) == (3, 2)  # submit (the citizen's own), accept, start_processing
    assert collect(app) == (0, 0)
    # the cursor lost (a crash before it was saved): the events again, no second notification
    with sessions(app)() as s:
        s.execute(text("UPDATE counters SET last = 0 WHERE name = :n"),
                  {"n": notifications.CURSOR})
        s.commit()
    read, _written = collect(app)  # (earlier tests' events, when notifications were off, now
    assert read >= 3               # find them on: those are new)
    with sessions(app)() as s:
        per_event = s.execute(select(Notification.event_position, func.count())
                              .group_by(Notification.event_position)
                              .having(func.count() > 1)).all()
    assert per_event == []
    assert len(outbox(app, code)) == 2


def test_old_events_are_not_emailed(app, client, father):
    drain(app)
    set_contact(app, DEMO_FATHER, FATHER_MAIL)
    in_processing(client, app, father)
    assert collect(app, now=datetime.now(UTC) + timedelta(days=8)) == (3, 0)


def test_the_mail_folder_gets_eml_files(app, client, father, tmp_path: Path, monkeypatch):
    drain(app)
    set_contact(app, DEMO_FATHER, FATHER_MAIL)
    code, _ = in_processing(client, app, father)
    act(client, app, code, "request_supplement", "Thiếu ảnh chân dung")
    folder = tmp_path / "mail"
    rt = app.extensions["tokhai"]
    monkeypatch.setattr(rt, "settings", dataclasses.replace(
        rt.settings, smtp_server=None, mail_dir=str(folder), public_url=PUBLIC))
    assert not folder.exists()  # nothing written by the requests
    done = app.test_cli_runner().invoke(args=["worker", "--once"])
    assert "e-mails: sent 3" in done.output, done.output
    files = sorted(folder.glob("*.eml"))
    assert len(files) == 3 and not list(folder.glob("*.tmp"))
    parsed = [email.message_from_bytes(f.read_bytes(), policy=email.policy.default)
              for f in files]
    request = next(m for m in parsed if "cần bổ sung" in str(m["Subject"]))
    assert isinstance(request, EmailMessage)
    assert request["To"] == FATHER_MAIL
    assert "Thiếu ảnh chân dung" in request.get_content()
    raw = files[0].read_bytes()
    assert b"=?utf-8?" in raw  # the Vietnamese subject, encoded for the headers
    # sent once: the next pass writes nothing more
    app.test_cli_runner().invoke(args=["worker", "--once"])
    assert len(list(folder.glob("*.eml"))) == 3


def test_the_message_in_words() -> None:
    from storage.models import DossierEvent

    event = DossierEvent(position=1, dossier_code="UBND-XA-00004-261130-0007",
                         action="explain", to_status="in_processing", role="officer",
                         actor="officer:clerk", reason="Mất điện\n  kéo dài; CCCD 079199054321",
                         at=datetime(2026, 11, 30, 2, 5, tzinfo=UTC),
                         promised_at=datetime(2026, 12, 3, 9, 0, tzinfo=UTC),
                         procedure_name="Đăng ký khai sinh")
    message = notifications.compose(event, None, "https://x.example/")
    assert message.subject == "Hồ sơ UBND-XA-00004-261130-0007: thư xin lỗi và ngày hẹn mới"
    assert "Thủ tục: Đăng ký khai sinh" in message.body
    assert "Thời điểm: 09:05 ngày 30/11/2026" in message.body
    assert "Ngày hẹn trả kết quả mới: 16:00 ngày 03/12/2026" in message.body
    assert "Lý do chậm: Mất điện kéo dài; CCCD [số đã ẩn]" in message.body
    assert "https://x.example/my/dossiers/UBND-XA-00004-261130-0007" in message.body
    assert "079199054321" not in message.body


def test_addresses() -> None:
    assert notifications.valid_email("an.nguyen@example.vn")
    for bad in ("", "an", "an@", "@example.vn", "an@example", "an@@example.vn",
                "an nguyen@example.vn", "an@example.vn\r\nBcc: x@y.z", "a" * 250 + "@e.vn"):
        assert not notifications.valid_email(bad), bad
