"""Sending e-mail: one message at a time, over SMTP or into a folder of ``.eml`` files.

Standard library only (``smtplib``, ``email.message``): UTF-8 headers and body, a fixed
``Message-ID`` per message so that a message sent twice (the worker crashed between sending and
recording it) is recognisably the same. Which sender is used is chosen from the settings
(:func:`make_sender`): an SMTP server (``TOKHAI_SMTP_SERVER``), else a folder
(``TOKHAI_MAIL_DIR``, what ``make run`` uses), else none (messages stay in the outbox).

Failures are :class:`MailError`; ``permanent`` says whether trying again can help (a 5xx
answer: the address or the message is refused) or not (a 4xx answer, a server that does not
answer, a refused connection: try later).
"""

from __future__ import annotations

import os
import smtplib
import ssl
import tempfile
from dataclasses import dataclass
from email import policy
from email.message import EmailMessage
from email.utils import formatdate, parseaddr
from pathlib import Path
from typing import Protocol


class MailError(Exception):
    """A message not sent; ``permanent`` when sending it again cannot succeed."""

    def __init__(self, message: str, permanent: bool = False) -> None:
        super().__init__(message)
        self.permanent = permanent


@dataclass(frozen=True)
class Mail:
    to: str
    subject: str
    body: str
    #: stable per message (``notification-12``): the left part of its ``Message-ID``, whose
    #: right part is the sender's domain
    key: str


class Sender(Protocol):
    def send(self, mail: Mail) -> None: ...


def build(sender: str, mail: Mail) -> EmailMessage:
    """The message as it travels: UTF-8 headers (RFC 2047 where needed) and a UTF-8 body."""
    message = EmailMessage()
    message["From"] = sender
    message["To"] = mail.to
    message["Subject"] = mail.subject
    message["Date"] = formatdate(localtime=False, usegmt=True)
    domain = sender.rpartition("@")[2].strip(" >") or "localhost"
    message["Message-ID"] = f"<{mail.key}@{domain}>"
    message["Auto-Submitted"] = "auto-generated"  # RFC 3834: no automatic replies
    message.set_content(mail.body, charset="utf-8", cte="quoted-printable")
    return message


#: how messages are written out: headers unfolded up to RFC 5322's 998 characters (Python's
#: folding of encoded words drops the space between two of them, "Đang xử lý" arriving as
#: "Đangxử lý"); the body is already encoded in lines of at most 76 by ``build``
_WIRE = policy.SMTP.clone(max_line_length=998)
_FILE = policy.default.clone(max_line_length=998)


def wire(message: EmailMessage, *, crlf: bool = True) -> bytes:
    return message.as_bytes(policy=_WIRE if crlf else _FILE)


class SmtpSender:
    """An SMTP server (``host:port``), with STARTTLS and a login when configured."""

    def __init__(self, server: str, sender: str, user: str | None = None,
                 password: str | None = None, starttls: bool = False,
                 timeout: float = 20.0) -> None:
        host, _, port = server.rpartition(":")
        if not host or not port.isdigit():
            host, port = server, "25"
        self.host, self.port = host, int(port)
        self.sender, self.user, self.password = sender, user, password
        self.starttls, self.timeout = starttls, timeout

    def send(self, mail: Mail) -> None:
        data = wire(build(self.sender, mail))
        envelope_from = parseaddr(self.sender)[1] or self.sender
        try:
            with smtplib.SMTP(self.host, self.port, timeout=self.timeout) as smtp:
                if self.starttls:
                    smtp.starttls(context=ssl.create_default_context())
                if self.user:
                    smtp.login(self.user, self.password or "")
                refused = smtp.sendmail(envelope_from, [mail.to], data)
        except smtplib.SMTPRecipientsRefused as e:
            codes = [code for code, _ in e.recipients.values()]
            raise MailError(f"recipient refused: {_codes(codes)}",
                            permanent=all(c >= 500 for c in codes)) from None
        except smtplib.SMTPResponseException as e:
            raise MailError(f"server answered {e.smtp_code}: {_text(e.smtp_error)}",
                            permanent=e.smtp_code >= 500) from None
        except (smtplib.SMTPException, OSError) as e:  # a timeout is an OSError
            raise MailError(f"{type(e).__name__}: {e}"[:300]) from None
        if refused:
            codes = [code for code, _ in refused.values()]
            raise MailError(f"recipient refused: {_codes(codes)}",
                            permanent=all(c >= 500 for c in codes))


class DirectorySender:
    """Messages written as ``.eml`` files into a folder (development: ``make run``), each
    whole or not at all (written aside, then renamed into place)."""

    def __init__(self, folder: str | Path, sender: str) -> None:
        self.folder, self.sender = Path(folder), sender

    def send(self, mail: Mail) -> None:
        message = build(self.sender, mail)
        name = "".join(c if c.isalnum() or c in "-." else "-" for c in mail.key)[:100]
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            fd, temporary = tempfile.mkstemp(dir=self.folder, suffix=".tmp")
            with os.fdopen(fd, "wb") as f:
                f.write(wire(message, crlf=False))
            os.replace(temporary, self.folder / f"{name}.eml")
        except OSError as e:
            raise MailError(f"cannot write to the mail folder: {e}"[:300]) from None


class MailSettings(Protocol):
    """What choosing the sender reads of the settings (``service.config.Settings``)."""

    @property
    def smtp_server(self) -> str | None: ...
    @property
    def smtp_sender(self) -> str: ...
    @property
    def smtp_user(self) -> str | None: ...
    @property
    def smtp_password(self) -> str | None: ...
    @property
    def smtp_starttls(self) -> bool: ...
    @property
    def mail_dir(self) -> str | None: ...


def make_sender(settings: MailSettings) -> Sender | None:
    """The SMTP server when one is configured, else the mail folder, else None."""
    if settings.smtp_server:
        return SmtpSender(settings.smtp_server, settings.smtp_sender, settings.smtp_user,
                          settings.smtp_password, settings.smtp_starttls)
    if settings.mail_dir:
        return DirectorySender(settings.mail_dir, settings.smtp_sender)
    return None


def _codes(codes: list[int]) -> str:
    return ", ".join(str(c) for c in codes)


def _text(raw: bytes | str) -> str:
    text = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else str(raw)
    return text[:200]
