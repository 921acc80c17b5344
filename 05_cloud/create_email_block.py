"""Lesson 5a: an email server in a block, ready for notifications.

    python 05_cloud/create_email_block.py

Saves the prefect-email block `email-server-credentials/course-email`: the SMTP server, its port and
security, and the login if it needs one. Unset, the course's local SMTP server (started here if it is
not running; `make stop` stops it); the COURSE_SMTP_* variables point it at a real one (see README).

Before it saves anything it connects and logs in, so a wrong password or a server that is down is
reported at once and leaves the server's blocks as they were. Run it again: the block is updated.
"""

from __future__ import annotations

import smtplib
import sys

from prefect_email import EmailServerCredentials

from coursekit import console
from coursekit.lesson import the_course_server_answers
from coursekit.services import lifecycle, smtp


def build_block(settings: smtp.SMTPSettings) -> EmailServerCredentials:
    return EmailServerCredentials(
        smtp_server=settings.server,
        smtp_port=settings.port,
        smtp_type=settings.smtp_type,  # SSL, STARTTLS or INSECURE (the local server: loopback only)
        username=settings.username or None,  # None: no login
        password=settings.password,  # a SecretStr: the UI and API show ****
    )


def create_email_block() -> EmailServerCredentials:
    settings = smtp.settings()
    if settings.local:
        smtp.ensure_local_server()
    block = build_block(settings)
    try:
        block.get_server().quit()  # connect (and log in): fail here, before anything is saved
    except (OSError, smtplib.SMTPException) as error:
        raise smtp.explain(error, settings) from error
    block.save(smtp.EMAIL_BLOCK, overwrite=True)
    console.ok(f"Saved block email-server-credentials/{smtp.EMAIL_BLOCK} ({settings.where}, {settings.smtp_type})")
    return block


if __name__ == "__main__":
    the_course_server_answers()  # blocks live on the server: one line if it is down, not a traceback
    try:
        create_email_block()
    except lifecycle.ServiceError as error:  # the mail server unreachable, or the local one's port taken
        console.fail(str(error))
        sys.exit(1)
