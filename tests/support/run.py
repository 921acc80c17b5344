"""Running the course's commands as a learner would: subprocesses from the repository root."""

from __future__ import annotations

import os
import subprocess
import sys

from coursekit.config import REPO_ROOT


def run(*command: str, env: dict[str, str] | None = None, cwd=REPO_ROOT, timeout: float = 300):
    """Run a command; `python` means this environment's interpreter. Output is captured as text."""
    argv = [sys.executable if command[0] == "python" else command[0], *command[1:]]
    return subprocess.run(
        argv, cwd=cwd, env={**os.environ, **(env or {})}, capture_output=True, text=True, timeout=timeout
    )


def prefect(*args: str, cwd=REPO_ROOT, timeout: float = 120):
    exe = os.path.join(os.path.dirname(sys.executable), "prefect")
    wide = {**os.environ, "COLUMNS": "200"}  # Prefect's tables cut names to fit 80 columns when piped
    return subprocess.run([exe, *args], cwd=cwd, env=wide, capture_output=True, text=True, timeout=timeout)


def output(done: subprocess.CompletedProcess) -> str:
    return f"exit code {done.returncode}\n--- stdout\n{done.stdout}\n--- stderr\n{done.stderr}"


def shell(script: str, env: dict[str, str] | None = None, timeout: float = 300) -> subprocess.CompletedProcess:
    """`bash -c script` from the top of the repository, as a learner types it.

    `make` never reinstalls .venv here (`-o .venv/.installed`): the tests check the environment they run in.
    """
    never_reinstall = 'make() { command make -o .venv/.installed "$@"; }\n'
    return subprocess.run(
        ["bash", "-c", never_reinstall + script],
        cwd=REPO_ROOT,
        env=env if env is not None else dict(os.environ),
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def process_group(pid: int) -> int | None:
    """The process group of `pid`, or None once the process is gone (or not ours to look at)."""
    try:
        return os.getpgid(pid)
    except (ProcessLookupError, PermissionError):
        return None
