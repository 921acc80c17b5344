"""make stage-2: two training runs (the second served from the cache) and the classification flow."""

from __future__ import annotations

from coursekit import config, console, runs
from coursekit.cli.stages.common import StageFailed, StageResult, run_script
from coursekit.services import server


def stage_2() -> StageResult:
    server.ensure_running()
    # Two runs with different parameters. The second swaps the months: both were prepared by the first
    # run, so its "Prepare features" task runs are served from the cache.
    training = run_script("02_workflow/orchestrate.py", "--train", "2023-01", "--val", "2023-02")
    training += run_script("02_workflow/orchestrate.py", "--train", "2023-02", "--val", "2023-01")
    classification = run_script("02_workflow/classification.py")
    if len(training) != 2 or len(classification) != 1:
        raise StageFailed("A lesson script printed no link to its flow run; see the output above.")

    result = StageResult(stage=2, ran="orchestrate.py x2, classification.py")
    result.states["taxi-training"] = runs.state_name(runs.read_flow_run(training[-1]))
    result.states["churn-classification"] = runs.state_name(runs.read_flow_run(classification[0]))
    metrics = [runs.metrics_of(flow_run_id) for flow_run_id in training]
    if None in metrics:
        raise StageFailed("A training run published no taxi-model-metrics artifact; see the output above.")
    cached = runs.cached_task_runs(training[-1])
    console.step("The two training runs (artifact taxi-model-metrics)")
    console.say(
        console.table(
            ["train", "validation", "RMSE (min)", "train trips"],
            [
                [m["train_month"], m["validation_month"], f"{m['rmse_minutes']:.3f}", f"{m['train_trips']:,}"]
                for m in metrics
                if m is not None
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
    first = metrics[0] or {}
    result.key_figure = f"RMSE {first['rmse_minutes']:.2f} min ({first['train_month']} -> {first['validation_month']})"
    return result
