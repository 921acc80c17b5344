"""make stage-2: two training runs (the second served from the cache) and the classification flow."""

from __future__ import annotations

import json

from coursekit import config, console, runs
from coursekit.cli.stages.common import StageFailed, StageResult, run_script
from coursekit.services import server


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
        result.states[flow_name] = runs.state_name(flow_run)
    metrics = [json.loads(a.data)[0] for a in runs.artifact_history("taxi-model-metrics", limit=2)][::-1]
    if len(metrics) < 2:
        raise StageFailed("The training runs published no taxi-model-metrics artifact; see the output above.")
    latest = runs.latest_flow_run("taxi-training")
    if latest is None:
        raise StageFailed("No run of taxi-training reached the server; see the output above.")
    cached = runs.cached_task_runs(latest.id)
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
