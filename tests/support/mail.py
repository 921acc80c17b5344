"""Reading back what the course's local SMTP server received."""

from __future__ import annotations

import time

from coursekit.services import smtp


def mail_with(subject_part: str, timeout: float = 30) -> smtp.Received | None:
    """The newest message whose subject contains `subject_part`, once it has arrived (None at the timeout)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = [m for m in smtp.received() if subject_part in m.subject]
        if found:
            return found[-1]
        time.sleep(0.5)
    return None
