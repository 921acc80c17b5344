"""What the course's Prefect server logged: its errors, less the ones a test names with its reason.

A log record is its first line (`HH:MM:SS.mmm | ERROR | logger - message`) and the lines under it (a
traceback); a record counts as one problem, and it is expected when a pattern of the test's list
matches anywhere in it.
"""

from __future__ import annotations

import re
from pathlib import Path

from coursekit import config

RECORD_START = re.compile(r"^\d\d:\d\d:\d\d\.\d+ \| ")
PROBLEM = re.compile(r"^\S+ \|\s*(ERROR|CRITICAL)\s*\||^Traceback \(most recent call last\)", re.M)

# The test session's server is shared by every test, two at a time: under that load SQLite refuses a
# write now and then ("database is locked"). The server logs it as an ERROR and the client's retry, or
# the worker's next heartbeat, goes through; the runs the tests check end as they should. The course's
# answer to it is the lesson-5 server on PostgreSQL. Anything else the server logs is a finding.
UNDER_LOAD = {
    r"sqlite3\.OperationalError\) database is locked": "SQLite under the whole suite's concurrent writes; retried",
}


def server_log() -> Path:
    return config.current().log_dir / "prefect-server.log"


def records(text: str) -> list[str]:
    found: list[list[str]] = []
    for line in text.splitlines():
        if RECORD_START.match(line) or not found:
            found.append([line])
        else:
            found[-1].append(line)
    return ["\n".join(lines) for lines in found]


def problems(expected: dict[str, str] | None = None, *, log: Path | None = None, start: int = 0) -> list[str]:
    """The ERROR records and tracebacks of the log (from byte `start`) that no pattern of `expected` explains.

    Each is shortened to its first line and the exception's last line.
    """
    expected = {**UNDER_LOAD, **(expected or {})}
    with (log or server_log()).open("rb") as f:
        f.seek(start)
        text = f.read().decode(errors="replace")
    found = []
    for record in records(text):
        if PROBLEM.search(record) and not any(re.search(pattern, record) for pattern in expected):
            lines = record.splitlines()
            found.append(lines[0] if len(lines) == 1 else f"{lines[0]}  ...  {lines[-1].strip()}")
    return found
