"""What every stage runner shares: running a lesson script or a `prefect` command as a learner would
type it (printed first), the result a stage reports, and the table of deployment runs."""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass, field

from coursekit import config, console, runs, server


class StageFailed(RuntimeError):
    pass


@dataclass
class StageResult:
    stage: int
    ran: str
    states: dict[str, str] = field(default_factory=dict)
    key_figure: str = ""
    seconds: float = 0.0


def run_script(path: str, *args: str) -> None:
    console.step(f"python {' '.join([path, *args])}")
    done = subprocess.run([sys.executable, path, *args], cwd=config.REPO_ROOT)
    if done.returncode != 0:
        raise StageFailed(f"`python {path}` exited with code {done.returncode} (see the output above).")


def prefect_cli(*args: str) -> None:
    """Run a `prefect` command as the learner would type it, from the top of the repository."""
    console.step(" ".join(["prefect", *args]))
    # Wide enough that Prefect's tables (block ls, deploy) are not cut to 80 columns when piped.
    env = {**os.environ, "COLUMNS": os.environ.get("COLUMNS", "140")}
    done = subprocess.run([server.prefect_executable(), *args], cwd=config.REPO_ROOT, env=env)
    if done.returncode != 0:
        raise StageFailed(f"`prefect {' '.join(args)}` exited with code {done.returncode} (see the output above).")


CODE_FROM = "Flow code loaded from "  # the first line orchestrate_s3.py logs


def show_deployment_runs(
    result: StageResult, flow_run_ids: dict[str, str], *, show_code_origin: bool = False
) -> list[str]:
    """Print one row per deployment run and record its final state; return the RMSEs as printed."""
    rows = []
    for deployment, flow_run_id in flow_run_ids.items():
        state = runs.read_flow_run(flow_run_id).state.name
        result.states[deployment] = state
        rmse = runs.rmse_of(flow_run_id)
        # The S3 flow logs the file it was loaded from: the repository, or the worker's copy from the bucket.
        origin = [logged_after(CODE_FROM, flow_run_id)] if show_code_origin else []
        rows.append([deployment, state, f"{rmse:.3f}" if rmse else "-", *origin, runs.ui_link(flow_run_id)])
    headers = [
        "deployment",
        "final state",
        "RMSE (min)",
        *(["flow code loaded from"] if show_code_origin else []),
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
