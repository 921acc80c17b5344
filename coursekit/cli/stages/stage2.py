"""make stage-2: our model and the course's on the same months, tracked in MLflow; the cache; the classifier."""

from __future__ import annotations

from coursekit import config, console, runs
from coursekit.cli.stages.common import StageFailed, StageResult, run_script
from coursekit.services import server, tracking

MONTHS = ("--train", "2023-01", "--val", "2023-02")


def stage_2() -> StageResult:
    server.ensure_running()
    own_tracking = tracking.uses_own_server()
    if own_tracking:
        tracking.ensure_running()  # `make tour` started it with the server, so it is up by now
    # The course's model, then ours on the same months: the comparison is the lesson. Then ours again with
    # the months swapped: both were prepared by the second run, so "Prepare features" comes from the cache.
    training = run_script("02_workflow/orchestrate.py", "--model", "course", *MONTHS)
    training += run_script("02_workflow/orchestrate.py", *MONTHS)
    training += run_script("02_workflow/orchestrate.py", "--train", "2023-02", "--val", "2023-01")
    classification = run_script("02_workflow/classification.py")
    if len(training) != 3 or len(classification) != 1:
        raise StageFailed("A lesson script printed no link to its flow run; see the output above.")

    result = StageResult(stage=2, ran="orchestrate.py: ours, the course's, ours from the cache; classification.py")
    result.states["taxi-training"] = runs.state_name(runs.read_flow_run(training[-1]))
    result.states["churn-classification"] = runs.state_name(runs.read_flow_run(classification[0]))
    metrics = [runs.metrics_of(flow_run_id) for flow_run_id in training]
    if None in metrics:
        raise StageFailed("A training run published no taxi-model-metrics artifact; see the output above.")
    rows = [m for m in metrics if m is not None]
    cached = runs.cached_task_runs(training[-1])
    console.step("The three training runs (artifact taxi-model-metrics; all runs so far: taxi-training-runs)")
    console.say(
        console.table(
            ["model", "train", "validation", "data", "RMSE (min)", "seconds", "MLflow run"],
            [
                [m["model"], m["train_month"], m["validation_month"], m["data"], f"{m['rmse_minutes']:.5f}"]
                + [f"{m['seconds']:.0f}", m["mlflow_run"]]
                for m in rows
            ],
        )
    )
    if own_tracking and any(m["mlflow_run"] == "not tracked" for m in rows):
        raise StageFailed("A training run was not tracked in MLflow: see its warning above.")
    console.ok(f"The third run took {cached} prepared feature sets from the cache.")
    ui = config.current().ui_page("")
    console.say(
        f"Compare the runs in the UI:\n"
        f"  all runs, one table:  {ui}/artifacts/key/taxi-training-runs\n"
        f"  flow runs:            {ui}/runs\n"
        f"  report history:       {ui}/artifacts/key/taxi-model-report\n"
        f"  in MLflow:            {config.current().tracking_uri} (experiment nyc-taxi-experiment)"
    )
    course, ours = rows[0], rows[1]
    result.key_figure = (
        f"RMSE {ours['rmse_minutes']:.2f} min ours, {course['rmse_minutes']:.2f} the course's "
        f"({ours['train_month']} -> {ours['validation_month']})"
    )
    return result
