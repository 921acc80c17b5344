"""What every stage runner shares: running a lesson script or a `prefect` command as a learner would
type it (printed first), the result a stage reports, and the table of deployment runs."""

from __future__ import annotations

import contextlib
import io
import logging
import re
import signal
import socket
import sys
from dataclasses import dataclass, field
from typing import TextIO

from coursekit import console, runs
from coursekit.cli import commands


class StageFailed(RuntimeError):
    pass


class Interrupted(BaseException):
    """Ctrl-C during a stage. A BaseException, like KeyboardInterrupt: no `except Exception` swallows it."""


_ctrl_c = False


def stop_on_ctrl_c() -> None:
    """Make one Ctrl-C stop the stage runner, even when the command it interrupted carries on.

    The runner calls lesson scripts and Prefect's CLI in this process; some of them catch the
    KeyboardInterrupt a Ctrl-C raises (`prefect deployment run --watch` returns an exit code, a flow run
    turns it into a Crashed state). The handler also notes it, and every command's return checks the note.
    """

    def note_and_interrupt(signum: int, frame: object) -> None:
        global _ctrl_c
        _ctrl_c = True
        raise KeyboardInterrupt

    signal.signal(signal.SIGINT, note_and_interrupt)


def send_what_prefect_holds(timeout: float = 15) -> None:
    """After a Ctrl-C: send the interrupted run's last logs and events to the server now, quietly.

    Prefect sends them from background queues, which it drains at exit with a "Still processing items"
    warning when the server is slow to take them: that would print after the stage's one last line.
    """
    from prefect.events.worker import EventsWorker
    from prefect.logging.handlers import APILogWorker

    notes = [logging.getLogger(name) for name in ("EventsWorker", "APILogWorker")]  # each queue's own logger
    levels = [note.level for note in notes]
    for note in notes:
        note.setLevel(logging.ERROR)
    try:
        EventsWorker.drain_all(timeout=timeout)
        APILogWorker.drain_all(timeout=timeout)
    finally:
        for note, level in zip(notes, levels, strict=True):
            note.setLevel(level)


def _stop_if_interrupted() -> None:
    if _ctrl_c:
        raise Interrupted


@dataclass
class StageResult:
    stage: int
    ran: str
    states: dict[str, str] = field(default_factory=dict)
    key_figure: str = ""
    seconds: float = 0.0


FLOW_RUN_LINK = re.compile(r"/runs/flow-run/([0-9a-f-]{36})")


def run_script(path: str, *args: str) -> list[str]:
    """`python PATH ARGS`, as a learner would type it, run inside this process (commands.run).

    Returns the ids of the flow runs whose links the script printed (coursekit.lesson.run prints one),
    so that a stage reads back its own runs, not the newest run of a flow that something else started.
    """
    console.step(f"python {' '.join([path, *args])}")
    printed = _Tee(sys.stdout)
    with contextlib.redirect_stdout(printed):
        code = commands.run(["python", path, *args])
    _stop_if_interrupted()
    if code != 0:
        raise StageFailed(f"`python {path}` exited with code {code} (see the output above).")
    return FLOW_RUN_LINK.findall(printed.text)


def prefect_cli(*args: str, check: bool = True) -> int:
    """`prefect ARGS`, as a learner would type it, run inside this process (commands.run); its exit code."""
    console.step(" ".join(["prefect", *args]))
    code = commands.run(["prefect", *args])
    _stop_if_interrupted()
    if check and code != 0:
        raise StageFailed(f"`prefect {' '.join(args)}` exited with code {code} (see the output above).")
    return code


def deployment_run(deployment: str, *params: str, watch: bool = False) -> str:
    """`prefect deployment run DEPLOYMENT --param k=v [--watch]`; returns the id of the flow run it created.

    Without --watch the command returns once the run is scheduled, so a stage can start several runs
    and wait for them together (runs.wait_for_runs): the worker runs them side by side.
    """
    args = ["deployment", "run", deployment, *[token for p in params for token in ("--param", p)]]
    printed = _Tee(sys.stdout)
    with contextlib.redirect_stdout(printed):
        # With --watch a run that fails exits 1: the stage reads the run's state itself.
        code = prefect_cli(*args, *(["--watch"] if watch else []), check=False)
    created = re.search(r"UUID:\s*([0-9a-f-]{36})", printed.text)
    if created is None:
        raise StageFailed(f"`prefect deployment run {deployment}` created no flow run (exit code {code}; see above).")
    return created.group(1)


class _Tee(io.TextIOBase):
    """Prints what a command writes and keeps a copy to read the flow run id from."""

    def __init__(self, out: TextIO) -> None:
        self.out, self.parts = out, list[str]()

    def write(self, text: str) -> int:
        self.parts.append(text)
        return self.out.write(text)

    def flush(self) -> None:
        self.out.flush()

    @property
    def text(self) -> str:
        return "".join(self.parts)


CODE_FROM = "Flow code loaded from "  # the first line orchestrate_s3.py logs
RUNNING_IN = "Running in "  # the training flow's line: coursekit.lesson.where


def show_deployment_runs(
    result: StageResult, flow_run_ids: dict[str, str], *, show_code_origin: bool = False, show_where: bool = False
) -> list[str]:
    """Print one row per deployment run and record its final state; return the RMSEs as printed."""
    rows = []
    for deployment, flow_run_id in flow_run_ids.items():
        state = runs.state_name(runs.read_flow_run(flow_run_id))
        result.states[deployment] = state
        rmse = runs.rmse_of(flow_run_id)
        # The S3 flow logs the file it was loaded from: the repository, or the worker's copy from the bucket.
        origin = [logged_after(CODE_FROM, flow_run_id)] if show_code_origin else []
        # The training flow logs where it runs: a process of a process worker, or a Docker worker's container.
        here = f" on host {socket.gethostname()}"
        where = [logged_after(RUNNING_IN, flow_run_id).removesuffix(here)] if show_where else []
        rows.append(
            [
                deployment,
                state,
                f"{rmse:.3f}" if rmse else "-",
                *origin,
                *where,
                runs.ui_link(flow_run_id),
            ]
        )
    headers = [
        "deployment",
        "final state",
        "RMSE (min)",
        *(["flow code loaded from"] if show_code_origin else []),
        *(["ran in"] if show_where else []),
        "in the UI",
    ]
    console.step("Deployment runs")
    console.say(console.table(headers, rows))
    return [row[2] for row in rows]


def logged_after(prefix: str, flow_run_id: str) -> str:
    """The rest of the first log line of a flow run that starts with `prefix` ("?" if none does)."""
    return next((m.removeprefix(prefix) for m in runs.log_messages(flow_run_id) if m.startswith(prefix)), "?")


def require_completed(result: StageResult) -> None:
    if any(state != "Completed" for state in result.states.values()):
        raise StageFailed("A deployment run did not complete; open its link above for the logs.")
