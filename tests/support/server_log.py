"""What the course's Prefect server logged: its errors, less the ones a test names with its reason."""

from __future__ import annotations

import re
from pathlib import Path

from coursekit import config

# An ERROR line or a traceback, as the server's log shows them (`HH:MM:SS.mmm | ERROR | logger - ...`).
PROBLEM = re.compile(r"\|\s*ERROR\s*\||^Traceback \(most recent call last\)|^\s*\w+(\.\w+)*(Error|Exception): ")


def server_log() -> Path:
    return config.current().log_dir / "prefect-server.log"


def problems(expected: dict[str, str] | None = None, *, log: Path | None = None) -> list[str]:
    """The log's ERROR and traceback lines that no pattern in `expected` (pattern -> reason) explains."""
    expected = expected or {}
    text = (log or server_log()).read_text(errors="replace")
    return [
        line
        for line in text.splitlines()
        if PROBLEM.search(line) and not any(re.search(pattern, line) for pattern in expected)
    ]
