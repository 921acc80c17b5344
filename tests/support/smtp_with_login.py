"""A real SMTP server that asks for a login, for the secrets test: `python -m tests.support.smtp_with_login`.

    SMTP_LOGIN=user:password python -m tests.support.smtp_with_login PORT MAILDIR

aiosmtpd on 127.0.0.1:PORT, with AUTH PLAIN/LOGIN offered without TLS (loopback only), accepting only the
login in SMTP_LOGIN (an environment variable, not an argument: no command line shows it), and filing each
message in the Maildir MAILDIR. The course's own local server has no login.
"""

from __future__ import annotations

import mailbox
import os
import signal
import sys
import threading

from aiosmtpd.controller import Controller
from aiosmtpd.handlers import Mailbox
from aiosmtpd.smtp import AuthResult, LoginPassword


def main(port: int, user: str, password: str, maildir: str) -> None:
    def authenticator(server, session, envelope, mechanism, auth_data) -> AuthResult:
        ok = isinstance(auth_data, LoginPassword) and (auth_data.login, auth_data.password) == (
            user.encode(),
            password.encode(),
        )
        return AuthResult(success=ok, handled=False)

    mailbox.Maildir(maildir, create=True)
    controller = Controller(
        Mailbox(maildir),
        hostname="127.0.0.1",
        port=port,
        authenticator=authenticator,
        auth_required=True,
        auth_require_tls=False,
    )
    controller.start()
    stopped = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stopped.set())
    stopped.wait()
    controller.stop()


if __name__ == "__main__":
    user, _, password = os.environ["SMTP_LOGIN"].partition(":")
    main(int(sys.argv[1]), user, password, sys.argv[2])
