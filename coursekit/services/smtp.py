"""The course's mail server: a real SMTP server on loopback by default, your own when you say so.

The embedded default is aiosmtpd (`python -m aiosmtpd`), started in the background like the Prefect
server and stopped by `make stop`. It accepts mail for anyone and files every message in a Maildir
under `.course/mail`, where `received()` reads it back. Set these to send through a real server:

    COURSE_SMTP_SERVER     smtp.example.com (unset: the local server)
    COURSE_SMTP_PORT       the local server's port (default 8025), or the real server's
    COURSE_SMTP_TYPE       SSL, STARTTLS or INSECURE (default STARTTLS for a real server)
    COURSE_SMTP_USERNAME, COURSE_SMTP_PASSWORD   the login, if the server wants one
    COURSE_EMAIL_FROM, COURSE_EMAIL_TO           sender and recipient of the course's notifications
"""

from __future__ import annotations

import mailbox
import os
import re
import smtplib
import socket
import sys
from dataclasses import dataclass
from email.header import decode_header, make_header
from pathlib import Path

from coursekit import config
from coursekit.services import lifecycle

SERVICE = "smtp-server"
EMAIL_BLOCK = "course-email"  # email-server-credentials/course-email


class SMTPError(lifecycle.ServiceError):
    """Mail could not be sent or read; the message says what is wrong and what to do."""


@dataclass(frozen=True)
class SMTPSettings:
    server: str
    port: int
    smtp_type: str
    username: str
    password: str
    email_from: str
    email_to: str
    local: bool

    @property
    def where(self) -> str:
        return f"{self.server}:{self.port}"


def settings() -> SMTPSettings:
    server = os.environ.get("COURSE_SMTP_SERVER", "")
    local = server in ("", "local")
    return SMTPSettings(
        server=config.current().host if local else server,
        port=config.current().smtp_port,
        smtp_type="INSECURE" if local else os.environ.get("COURSE_SMTP_TYPE", "STARTTLS").upper(),
        username="" if local else os.environ.get("COURSE_SMTP_USERNAME", ""),
        password="" if local else os.environ.get("COURSE_SMTP_PASSWORD", ""),
        email_from=os.environ.get("COURSE_EMAIL_FROM", "prefect-course@localhost"),
        email_to=os.environ.get("COURSE_EMAIL_TO", "learner@localhost"),
        local=local,
    )


def mail_dir() -> Path:
    return config.current().state_dir / "mail"


def answers(s: SMTPSettings) -> bool:
    """True when an SMTP server greets at the address the course sends to."""
    return _greets(s.server, s.port)


def _greets(host: str, port: int) -> bool:
    try:
        with smtplib.SMTP(host, port, timeout=2) as client:
            return client.noop()[0] == 250
    except (OSError, smtplib.SMTPException):
        return False


def ensure_local_server() -> str:
    """Start the local SMTP server unless it is up; return host:port."""
    s = settings()

    def make_maildir() -> None:
        for folder in ("tmp", "new", "cur"):  # a Maildir; the handler files each message through tmp/
            (mail_dir() / folder).mkdir(parents=True, exist_ok=True)

    lifecycle.ensure(
        lifecycle.Service(
            name=SERVICE,
            what="the local SMTP server",
            host=s.server,
            port=s.port,
            port_variable="COURSE_SMTP_PORT",
            # -n: stay this user (it would try to become `nobody` when run as root)
            command=[sys.executable, "-m", "aiosmtpd", "-n", "-l", s.where, "-c", "aiosmtpd.handlers.Mailbox"]
            + [str(mail_dir())],
            ready=lambda: _greets(s.server, s.port),
            prepare=make_maildir,
        )
    )
    return s.where


@dataclass(frozen=True)
class Received:
    sender: str
    to: str
    subject: str
    first_lines: str


def received(since: float | None = None) -> list[Received]:
    """The messages the local server has filed (those delivered at or after `since`, a Unix time), oldest first."""
    folder = mail_dir()
    if not (folder / "cur").is_dir() and not (folder / "new").is_dir():
        return []
    box = mailbox.Maildir(folder, create=False)
    messages = sorted(box, key=lambda m: m.get_date())
    if since is not None:
        messages = [m for m in messages if m.get_date() >= since]
    return [
        Received(
            sender=str(message.get("From", "")),
            to=str(message.get("To", "")),
            subject=str(make_header(decode_header(message.get("Subject", "")))),
            first_lines=_first_lines(message),
        )
        for message in messages
    ]


def _first_lines(message: mailbox.MaildirMessage, lines: int = 2) -> str:
    for part in message.walk():
        if part.get_content_maintype() == "text":
            payload = part.get_payload(decode=True)
            if not isinstance(payload, bytes):
                continue
            text = payload.decode(part.get_content_charset() or "utf-8", "replace")
            if part.get_content_subtype() == "html":  # the prebuilt task sends HTML: strip the tags
                text = re.sub(r"<[^>]+>", " ", text)
            kept = [line.strip() for line in text.splitlines() if line.strip()]
            return " / ".join(kept[:lines])
    return ""


def explain(error: Exception, s: SMTPSettings) -> SMTPError:
    """Turn an smtplib or socket error into a message that says what is wrong and what to do."""
    if isinstance(error, smtplib.SMTPAuthenticationError):
        return SMTPError(
            f"{s.where} refused the login for user {s.username!r}. Check COURSE_SMTP_USERNAME and "
            "COURSE_SMTP_PASSWORD (the password is not shown here)."
        )
    if isinstance(error, (ConnectionRefusedError, socket.timeout, socket.gaierror)):
        hint = (
            "`make smtp` starts the course's local one (make stage-5 does too)."
            if s.local
            else "Check COURSE_SMTP_SERVER and COURSE_SMTP_PORT."
        )
        return SMTPError(f"No SMTP server answers at {s.where}. {hint}")
    return SMTPError(f"Sending mail through {s.where} failed: {error}")
