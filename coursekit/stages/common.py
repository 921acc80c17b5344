"""What every stage runner shares: running a lesson script or a `prefect` command as a learner would
type it (printed first), the result a stage reports, and the table of deployment runs."""

from __future__ import annotations

import contextlib
import io
import os
import re
import runpy
import sys
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TextIO

from coursekit import config, console, runs


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
    """`python PATH ARGS`, as a learner would type it, run inside this process.

    The stage runner has imported Prefect, pandas and scikit-learn already; a new interpreter would spend
    5-10 s importing them again for every script. The script runs as `__main__` with its own argv, its
    folder first on sys.path and the repository as the working directory, as `python PATH` would.
    """
    console.step(f"python {' '.join([path, *args])}")
    code = _in_process(lambda: runpy.run_path(path, run_name="__main__"), [path, *args], Path(path).parent)
    if code != 0:
        raise StageFailed(f"`python {path}` exited with code {code} (see the output above).")


def prefect_cli(*args: str) -> None:
    """`prefect ARGS`, as a learner would type it, run inside this process by Prefect's own CLI entry point.

    The same code as the `prefect` command, without the seconds a new interpreter spends importing Prefect.
    """
    console.step(" ".join(["prefect", *args]))
    from prefect.cli import app

    code = _in_process(app, ["prefect", *args])
    if code != 0:
        raise StageFailed(f"`prefect {' '.join(args)}` exited with code {code} (see the output above).")


def deployment_run(deployment: str, *params: str, watch: bool = False) -> str:
    """`prefect deployment run DEPLOYMENT --param k=v [--watch]`; returns the id of the flow run it created.

    Without --watch the command returns once the run is scheduled, so a stage can start several runs
    and wait for them together (runs.wait_for_runs): the worker runs them side by side.
    """
    from prefect.cli import app

    args = ["deployment", "run", deployment, *[token for p in params for token in ("--param", p)]]
    args += ["--watch"] if watch else []
    console.step(" ".join(["prefect", *args]))
    printed = _Tee(sys.stdout)
    with contextlib.redirect_stdout(printed):
        code = _in_process(app, ["prefect", *args])
    created = re.search(r"UUID:\s*([0-9a-f-]{36})", printed.text)
    if created is None:
        raise StageFailed(f"`prefect deployment run {deployment}` created no flow run (exit code {code}; see above).")
    return created.group(1)  # with --watch a run that fails exits 1: the stage reads the run's state itself


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


def _in_process(main: Callable[[], object], argv: list[str], script_dir: Path | None = None) -> int:
    """Run `main` as a command would run: this argv, from the repository root; return its exit code.

    The modules of the script's folder and of the lesson folders are forgotten afterwards, as a new
    interpreter would not have them: two lessons' modules of the same name never meet in sys.modules.
    """
    saved_argv, saved_path, saved_cwd, saved_columns = sys.argv, list(sys.path), os.getcwd(), os.environ.get("COLUMNS")
    modules_before = set(sys.modules)
    sys.argv = argv
    if script_dir is not None:
        sys.path.insert(0, str(config.REPO_ROOT / script_dir))
    # Wide enough that Prefect's tables (block ls, deploy) are not cut to 80 columns when piped.
    os.environ["COLUMNS"] = saved_columns or "140"
    os.chdir(config.REPO_ROOT)
    try:
        main()
        return 0
    except SystemExit as exit_:
        if exit_.code is None or isinstance(exit_.code, int):
            return exit_.code or 0
        print(exit_.code, file=sys.stderr, flush=True)  # sys.exit("message") prints it and exits 1
        return 1
    except Exception:
        traceback.print_exc()
        return 1
    finally:
        sys.stdout.flush()
        sys.argv, sys.path[:] = saved_argv, saved_path
        os.chdir(saved_cwd)
        if saved_columns is None:
            os.environ.pop("COLUMNS", None)
        folders = [str(config.REPO_ROOT / folder) + os.sep for folder in LESSON_FOLDERS]
        if script_dir is not None:
            folders.append(str((config.REPO_ROOT / script_dir).resolve()) + os.sep)
        for name in set(sys.modules) - modules_before:
            origin = getattr(sys.modules[name], "__file__", None) or ""
            if origin.startswith(tuple(folders)):
                del sys.modules[name]


LESSON_FOLDERS = ("01_intro", "02_workflow", "03_deploy_local", "04_deploy_s3", "05_cloud")


CODE_FROM = "Flow code loaded from "  # the first line orchestrate_s3.py logs


def show_deployment_runs(
    result: StageResult, flow_run_ids: dict[str, str], *, show_code_origin: bool = False
) -> list[str]:
    """Print one row per deployment run and record its final state; return the RMSEs as printed."""
    rows = []
    for deployment, flow_run_id in flow_run_ids.items():
        state = runs.state_name(runs.read_flow_run(flow_run_id))
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
