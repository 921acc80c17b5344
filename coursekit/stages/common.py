"""What `make stage-N` runs: the lesson scripts, exactly as a learner would type them, then a summary.

Each stage prints every command before it runs it, so the learner can repeat any step by hand.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone

from coursekit import config, console, facts_api, runs, server


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


def stage_1() -> StageResult:
    server.ensure_running()
    # A fresh facts API starts its seeded failure sequence again: every stage-1 run sees the same outages.
    facts_api.ensure_running(restart=True)
    run_script("01_intro/cat_facts.py")
    run_script("01_intro/cat_dog_facts.py")

    result = StageResult(stage=1, ran="cat_facts.py, cat_dog_facts.py")
    rows = []
    for flow_name in ("fetch", "animal-facts"):
        flow_run = runs.latest_flow_run(flow_name)
        if flow_run is None:
            raise StageFailed(f"No run of flow {flow_name!r} reached the server at {config.current().api_url}.")
        result.states[flow_name] = flow_run.state.name if flow_run.state else "?"
        rows += runs.task_attempts(flow_run.id)
    retried = sum(r.retried for r in rows)
    console.step("Task runs and their attempts (each failed attempt was a 503 from the facts API)")
    console.say(
        console.table(
            ["flow run", "task run", "attempts", "final state"],
            [[r.flow_run, r.task_run, str(r.attempts), r.state] for r in rows],
        )
    )
    result.key_figure = f"{retried} failed attempts retried, {len(rows)} task runs completed"
    console.ok(f"{retried} failed attempts were retried and recovered.")
    console.say(f"Compare the runs in the UI: {config.current().ui_url}/runs")
    return result


def stage_2() -> StageResult:
    server.ensure_running()
    # Two runs with different parameters. The second swaps the months: both were prepared by the first
    # run, so its "Prepare features" task runs are served from the cache.
    run_script("02_workflow/orchestrate.py", "--train", "2023-01", "--val", "2023-02")
    run_script("02_workflow/orchestrate.py", "--train", "2023-02", "--val", "2023-01")
    run_script("02_workflow/classification.py")

    result = StageResult(stage=2, ran="orchestrate.py x2, classification.py")
    for flow_name in ("taxi-training", "churn-classification"):
        flow_run = runs.latest_flow_run(flow_name)
        result.states[flow_name] = flow_run.state.name if flow_run and flow_run.state else "missing"
    metrics = [json.loads(a.data)[0] for a in runs.artifact_history("taxi-model-metrics", limit=2)][::-1]
    if len(metrics) < 2:
        raise StageFailed("The training runs published no taxi-model-metrics artifact; see the output above.")
    cached = runs.cached_task_runs(runs.latest_flow_run("taxi-training").id)
    console.step("The two training runs (artifact taxi-model-metrics)")
    console.say(
        console.table(
            ["train", "validation", "RMSE (min)", "train trips"],
            [
                [m["train_month"], m["validation_month"], f"{m['rmse_minutes']:.3f}", f"{m['train_trips']:,}"]
                for m in metrics
            ],
        )
    )
    console.ok(f"The second run took {cached} prepared feature sets from the cache.")
    ui = config.current().ui_url
    console.say(
        f"Compare the runs in the UI:\n"
        f"  flow runs:        {ui}/runs\n"
        f"  report history:   {ui}/artifacts/key/taxi-model-report\n"
        f"  metrics history:  {ui}/artifacts/key/taxi-model-metrics"
    )
    first = metrics[0]
    result.key_figure = f"RMSE {first['rmse_minutes']:.2f} min ({first['train_month']} -> {first['validation_month']})"
    return result


def prefect_cli(*args: str) -> None:
    """Run a `prefect` command as the learner would type it, from the top of the repository."""
    console.step(" ".join(["prefect", *args]))
    # Wide enough that Prefect's tables (block ls, deploy) are not cut to 80 columns when piped.
    env = {**os.environ, "COLUMNS": os.environ.get("COLUMNS", "140")}
    done = subprocess.run([server.prefect_executable(), *args], cwd=config.REPO_ROOT, env=env)
    if done.returncode != 0:
        raise StageFailed(f"`prefect {' '.join(args)}` exited with code {done.returncode} (see the output above).")


CODE_FROM = "Flow code loaded from "  # the first line orchestrate_s3.py logs


def _show_deployment_runs(
    result: StageResult, flow_run_ids: dict[str, str], *, show_code_origin: bool = False
) -> list[str]:
    """Print one row per deployment run and record its final state; return the RMSEs as printed."""
    rows = []
    for deployment, flow_run_id in flow_run_ids.items():
        state = runs.read_flow_run(flow_run_id).state.name
        result.states[deployment] = state
        rmse = runs.rmse_of(flow_run_id)
        # The S3 flow logs the file it was loaded from: the repository, or the worker's copy from the bucket.
        origin = [_logged_after(CODE_FROM, flow_run_id)] if show_code_origin else []
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


def _logged_after(prefix: str, flow_run_id: str) -> str:
    """The rest of the first log line of a flow run that starts with `prefix` ("?" if none does)."""
    return next((m.removeprefix(prefix) for m in runs.log_messages(flow_run_id) if m.startswith(prefix)), "?")


def _require_completed(result: StageResult) -> None:
    if any(state != "Completed" for state in result.states.values()):
        raise StageFailed("A deployment run did not complete; open its link above for the logs.")


def stage_3() -> StageResult:
    from coursekit import automations, gitrepo, workers

    server.ensure_running()
    workers.ensure_pool("course-pool")
    automations.apply("03_deploy_local/crash-zombies.yaml")
    has_git = gitrepo.publish_head() is not None
    workers.start_worker("course-pool")
    try:
        prefect_cli("--no-prompt", "deploy", "--all", "--prefect-file", "03_deploy_local/prefect.yaml")
        # The run with a parameter override: train on February, validate on January.
        flow_run_ids = {
            "taxi-default": workers.run_deployment_cli(
                "taxi-training/taxi-default", "train_month=2023-02", "val_month=2023-01"
            )
        }
        if has_git:
            flow_run_ids["taxi-from-git"] = workers.run_deployment_cli("taxi-training/taxi-from-git")
    finally:
        workers.stop_worker("course-pool")

    result = StageResult(stage=3, ran="deploy --all, 2 deployment runs by a process worker")
    rmses = _show_deployment_runs(result, flow_run_ids)
    _require_completed(result)
    result.key_figure = f"{len(rmses)} deployment runs Completed, RMSE {rmses[0]} min"
    console.say(f"Deployments and their schedules: {config.current().ui_url}/deployments")
    return result


def stage_4() -> StageResult:
    from coursekit import s3, workers

    server.ensure_running()
    run_script("04_deploy_s3/create_blocks.py")  # starts the local S3 endpoint when that is the one in use
    prefect_cli("block", "ls")
    workers.ensure_pool("course-pool")
    workers.start_worker("course-pool")
    try:
        prefect_cli("--no-prompt", "deploy", "--all", "--prefect-file", "04_deploy_s3/prefect.yaml")
        uploaded_at = datetime.now(timezone.utc)
        run_script("04_deploy_s3/upload_data.py", "--months", "2023-01", "2023-02")
        # Nobody starts this run: the upload's event fires the deployment's trigger.
        triggered = runs.wait_for_run_of("taxi-training-s3/taxi_s3_data", uploaded_at)
        flow_run_ids = {"taxi_s3_data (trigger)": str(triggered.id)}
        flow_run_ids["taxi_s3_code"] = workers.run_deployment_cli("taxi-training-s3/taxi_s3_code")
    finally:
        workers.stop_worker("course-pool")

    result = StageResult(stage=4, ran="blocks, upload + event trigger, deploy --all, code from the bucket")
    rmses = _show_deployment_runs(result, flow_run_ids, show_code_origin=True)
    bucket = s3.load_bucket()
    listed = s3.objects(bucket)
    console.step(f"Objects in bucket {bucket.bucket_name!r}")
    console.say(console.table(["key", "bytes"], [[key, f"{size:,}"] for key, size in listed]))
    _require_completed(result)
    result.key_figure = f"RMSE {rmses[0]} min on data from S3, {len(listed)} objects in the bucket"
    ui = config.current().ui_url
    console.say(
        f"In the UI:\n  blocks:     {ui}/blocks\n  events:     {ui}/events\n"
        f"  S3 report:  {ui}/artifacts/key/taxi-s3-report"
    )
    return result


STAGES: dict[int, Callable[[], StageResult]] = {1: stage_1, 2: stage_2, 3: stage_3, 4: stage_4}


def run_stage(number: int) -> StageResult:
    if number not in STAGES:
        raise StageFailed(f"There is no stage {number}; the stages are {', '.join(map(str, STAGES))}.")
    started = time.monotonic()
    result = STAGES[number]()
    result.seconds = round(time.monotonic() - started, 1)
    summary_dir = config.current().state_dir / "summary"
    summary_dir.mkdir(parents=True, exist_ok=True)
    (summary_dir / f"stage-{number}.json").write_text(json.dumps(asdict(result), indent=2))
    return result


def tour() -> list[StageResult]:
    """Every stage in order, then one table: what ran, how it ended, its key figure, how long it took."""
    results = []
    for number in STAGES:
        console.step(f"Stage {number}")
        results.append(run_stage(number))
    console.step("Tour summary")
    console.say(
        console.table(
            ["stage", "what ran", "final states", "key figure", "time"],
            [
                [str(r.stage), r.ran, ", ".join(sorted(set(r.states.values()))), r.key_figure, f"{r.seconds:.0f} s"]
                for r in results
            ],
        )
    )
    console.say(f"\nEvery run is in the UI: {config.current().ui_url}/runs  (make stop ends the course's processes)")
    return results
