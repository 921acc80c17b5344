"""Stage 2 end to end: the training flow and the classification flow against a real Prefect server.
The stage itself runs in the tour (tests/e2e/test_tour.py)."""

from __future__ import annotations

import json
import re
import uuid
from pathlib import Path

import pandas as pd
import pytest
import skops.io as sio
from prefect import get_client
from prefect.client.schemas.filters import LogFilter, LogFilterFlowRunId, TaskRunFilter, TaskRunFilterFlowRunId

from coursekit import config, runs
from coursekit.lesson import churn, model_types, paths
from coursekit.lesson.lessons import lesson_module
from coursekit.lesson.taxi_synthetic import synthetic_month
from coursekit.services import lifecycle, tracking
from tests.support.run import output, run
from tests.support.tlc import real_month

pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("prefect_server")]


@pytest.fixture(scope="module")
def orchestrate():
    return lesson_module("02_workflow/orchestrate.py")


def synthetic_file(folder: Path, month: int, rows: int = 4_000, **changes) -> Path:
    """A small synthetic month as a parquet path; a fresh seed, so no earlier cache entry matches it."""
    trips = synthetic_month(2023, month, rows=rows, seed=uuid.uuid4().int % 10**6).assign(**changes)
    path = folder / f"green_tripdata_2023-{month:02d}.synthetic.parquet"  # named as the offline fallback names it
    trips.to_parquet(path)
    return path


def task_runs(flow_run_id) -> list:
    with get_client(sync_client=True) as client:
        return client.read_task_runs(
            task_run_filter=TaskRunFilter(flow_run_id=TaskRunFilterFlowRunId(any_=[flow_run_id]))
        )


@pytest.mark.readme(
    "python 02_workflow/orchestrate.py --train 2023-03 --val 2023-04",
    because="with two synthetic months as parquet paths, which --train and --val take as they take months",
)
def test_cli_takes_parquet_paths_prints_rmse_last_and_saves_the_model(tmp_path):
    train, val = synthetic_file(tmp_path, 1), synthetic_file(tmp_path, 2)
    done = run("python", "02_workflow/orchestrate.py", "--train", str(train), "--val", str(val))
    assert done.returncode == 0, output(done)
    assert re.fullmatch(r"rmse=\d+\.\d{5}", done.stdout.strip().splitlines()[-1]), output(done)
    assert paths.model_file().is_file()
    report = runs.artifact_history("taxi-model-report", limit=1)[0]
    assert "Validation RMSE" in report.data and "| prepare |" in report.data


def test_an_unchanged_rerun_serves_the_prepared_features_from_cache(orchestrate, tmp_path):
    train, val = synthetic_file(tmp_path, 1), synthetic_file(tmp_path, 2)
    first = orchestrate.main_flow(str(train), str(val), return_state=True)
    again = orchestrate.main_flow(str(train), str(val), return_state=True)
    assert first.is_completed() and again.is_completed()
    assert runs.cached_task_runs(first.state_details.flow_run_id) == 0
    assert runs.cached_task_runs(again.state_details.flow_run_id) == 2
    assert first.result() == again.result()


def failed_message(orchestrate, train, val) -> tuple[str, list]:
    state = orchestrate.main_flow(str(train), str(val), return_state=True)
    assert state.is_failed(), state
    return state.message, task_runs(state.state_details.flow_run_id)


def test_bad_months_fail_before_any_task_runs(orchestrate, tmp_path):
    message, tasks = failed_message(orchestrate, "2030-01", "2023-02")
    assert "publishes the months from 2013-08 to" in message and not tasks
    message, tasks = failed_message(orchestrate, "2023-1", "2023-02")
    assert "Write it as YYYY-MM" in message and not tasks
    message, tasks = failed_message(orchestrate, "2023-01", "2023-01")
    assert "both 2023-01" in message and not tasks


def test_a_mistake_on_the_command_line_prints_one_line_and_the_traceback_stays_in_the_runs_logs():
    done = run("python", "02_workflow/orchestrate.py", "--train", "2023-13")
    assert done.returncode == 1, output(done)
    expected = (
        "✗ Flow 'taxi-training' ended Failed: '2023-13' is not a month. Write it as YYYY-MM, e.g. 2023-01 for "
        "January 2023 (or give the path of a .parquet file)."
    )
    errors = done.stderr.strip().splitlines()
    # Prefect's two lines as the run begins, then the course's one line: no traceback, no exit chatter.
    assert len(errors) == 3 and errors[-1] == expected, output(done)
    assert "Beginning flow run" in errors[0] and "View at" in errors[1], output(done)
    flow_run_id = re.search(r"/runs/flow-run/([0-9a-f-]{36})", done.stdout).group(1)
    with get_client(sync_client=True) as client:
        logs = client.read_logs(log_filter=LogFilter(flow_run_id=LogFilterFlowRunId(any_=[flow_run_id])))
    assert any("Traceback (most recent call last)" in log.message and "TaxiDataError" in log.message for log in logs)


def test_a_yellow_taxi_file_is_refused_without_retrying(orchestrate, tmp_path):
    yellow = tmp_path / "yellow_tripdata_2023-01.parquet"
    synthetic_month(2023, 1, rows=200).rename(
        columns={"lpep_pickup_datetime": "tpep_pickup_datetime", "lpep_dropoff_datetime": "tpep_dropoff_datetime"}
    ).to_parquet(yellow)
    message, tasks = failed_message(orchestrate, yellow, synthetic_file(tmp_path, 2, rows=200))
    assert "yellow-taxi data" in message
    assert [t.run_count for t in tasks if t.name.startswith("Read taxi data") and t.state.is_failed()] == [1]


def test_corrupted_and_incomplete_files_are_named(orchestrate, tmp_path):
    broken = tmp_path / "broken.parquet"
    broken.write_bytes(b"PAR1 this is not really parquet")
    message, _ = failed_message(orchestrate, broken, synthetic_file(tmp_path, 2, rows=200))
    assert str(broken) in message and "not a readable parquet file" in message

    no_distance = tmp_path / "no_distance.parquet"
    synthetic_month(2023, 1, rows=200).drop(columns=["trip_distance"]).to_parquet(no_distance)
    message, _ = failed_message(orchestrate, no_distance, synthetic_file(tmp_path, 2, rows=200))
    assert "trip_distance" in message


def test_a_month_with_no_usable_trip_says_so_and_writes_no_model(orchestrate, tmp_path):
    models_before = sorted(paths.models_dir().glob("*")) if paths.models_dir().exists() else []
    empty = synthetic_file(tmp_path, 1, rows=300)
    trips = pd.read_parquet(empty)
    trips["lpep_dropoff_datetime"] = trips["lpep_pickup_datetime"]
    trips.to_parquet(empty)
    message, _ = failed_message(orchestrate, empty, synthetic_file(tmp_path, 2, rows=300))
    assert "No trips left: 300 rows came in" in message
    models_after = sorted(paths.models_dir().glob("*")) if paths.models_dir().exists() else []
    assert models_after == models_before and not list(paths.models_dir().glob("*.part"))


def test_classification_flow_reads_its_data_file_and_runs_seven_described_tasks(tmp_path):
    classification = lesson_module("02_workflow/classification.py")
    from prefect import tags

    data = churn.write_customers(tmp_path / "customers.csv", rows=3_000)
    with tags("lesson-2", "classification"):
        state = classification.churn_classification(data_path=str(data), return_state=True)
    assert state.is_completed(), state.message
    scores = state.result()
    assert 0.6 < scores["accuracy"] <= 1 and 0.3 < scores["f1"] <= 1
    tasks = {t.name.rsplit("-", 1)[0]: t for t in task_runs(state.state_details.flow_run_id)}
    assert sorted(tasks) == sorted(
        ["Load customers", "Preprocess", "Split", "Train with feature selection", "Predict", "Evaluate", "Save model"]
    )
    assert all({"lesson-2", "classification"} <= set(t.tags) for t in tasks.values())
    assert {"io"} <= set(tasks["Load customers"].tags) and {"model"} <= set(tasks["Predict"].tags)
    assert tasks["Load customers"].empirical_policy.retries == 2
    report = runs.artifact_history("churn-model-report", limit=1)[0]
    assert f"{scores['f1']:.3f}" in report.data and "3,000 customers" in report.data
    saved = sio.load(paths.models_dir() / "churn_classifier.skops", trusted=model_types.CHURN_MODEL)
    assert type(saved["classify"]).__name__ == "RandomForestClassifier"


@pytest.mark.readme("python 02_workflow/classification.py --data data/bank_churn.csv", because="a CSV in tmp_path")
@pytest.mark.readme(
    "python 02_workflow/classification.py",
    because="make stage-2 runs it in the tour (tests/e2e/test_tour.py checks the generated file and the run)",
)
def test_classification_cli_classifies_the_csv_it_is_given(tmp_path):
    data = churn.write_customers(tmp_path / "my customers.csv", rows=2_000, seed=7)
    done = run("python", "02_workflow/classification.py", "--data", str(data))
    assert done.returncode == 0, output(done)
    assert "Generated" not in done.stdout, output(done)  # a file was given: nothing is generated
    report = runs.artifact_history("churn-model-report", limit=1)[0]
    assert f"`{data}`: 2,000 customers" in report.data


def test_classification_flow_fails_at_once_on_a_missing_data_file(tmp_path):
    classification = lesson_module("02_workflow/classification.py")
    state = classification.churn_classification(data_path=str(tmp_path / "nope.csv"), return_state=True)
    assert state.is_failed()
    assert task_runs(state.state_details.flow_run_id) == []
    with pytest.raises(FileNotFoundError, match=r"No such file: .*nope\.csv\. Give the path of a customers CSV"):
        state.result()


# --- the course's model, tracked in MLflow ---------------------------------------------------------------


@pytest.fixture(scope="module")
def mlflow_server() -> str:
    """The course's real MLflow tracking server (`make mlflow`), for this test session's course."""
    return tracking.ensure_running()


def flow_run_of(done) -> str:
    return re.findall(r"/runs/flow-run/([0-9a-f-]{36})", done.stdout)[-1]


@pytest.mark.readme("python 02_workflow/orchestrate.py --model course --train 2023-01 --val 2023-02")
@pytest.mark.readme("make mlflow", because="the fixture starts the same server, with coursekit.services.tracking")
def test_the_course_model_prints_the_homework_rmse_and_each_ui_links_to_the_other(mlflow_server):
    from mlflow.tracking import MlflowClient

    train, val = real_month("2023-01"), real_month("2023-02")
    # The homework's booster (depth 30, exact) is the suite's heaviest training: it gets a longer ceiling.
    done = run(
        "python",
        "02_workflow/orchestrate.py",
        "--model",
        "course",
        "--train",
        str(train),
        "--val",
        str(val),
        timeout=900,
    )
    assert done.returncode == 0, output(done)
    assert done.stdout.strip().splitlines()[-1] == "rmse=5.19931", output(done)

    flow_run_id = flow_run_of(done)
    client = MlflowClient(mlflow_server)
    experiment = client.get_experiment_by_name("nyc-taxi-experiment")
    [tracked] = client.search_runs([experiment.experiment_id], f"tags.`prefect.flow_run_id` = '{flow_run_id}'")
    assert tracked.info.status == "FINISHED"
    assert tracked.data.tags["model"] == "course"
    assert tracked.data.tags["prefect.flow_run_url"] == runs.ui_link(flow_run_id)
    assert f"{tracked.data.metrics['rmse']:.5f}" == "5.19931"
    assert tracked.data.params["max_depth"] == "30" and tracked.data.params["tree_method"] == "exact"
    logged = {a.path for a in client.list_artifacts(tracked.info.run_id)}
    assert logged == {"preprocessor"}, logged  # the booster is a logged model, not a plain artifact
    [model] = client.search_logged_models(
        [experiment.experiment_id], filter_string=f"source_run_id = '{tracked.info.run_id}'"
    )
    assert model.name == "models_mlflow"  # mlflow.xgboost.log_model, as the course logs it

    # The Prefect side: the run's report links to the MLflow run, and its metrics row says where it is.
    link = f"{mlflow_server}/#/experiments/{experiment.experiment_id}/runs/{tracked.info.run_id}"
    metrics = runs.metrics_of(flow_run_id)
    assert metrics["mlflow_run"] == link and metrics["model"] == "course" and metrics["data"] == "TLC"
    report = next(a for a in runs.artifact_history("taxi-model-report", limit=20) if str(a.flow_run_id) == flow_run_id)
    assert f"MLflow run: {link}" in report.data


def test_a_tracking_server_that_does_not_answer_is_named_in_one_line_and_the_run_still_trains(tmp_path):
    nobody = f"http://127.0.0.1:{lifecycle.free_port()}"
    train, val = synthetic_file(tmp_path, 1), synthetic_file(tmp_path, 2)
    done = run("python", "02_workflow/orchestrate.py", "--train", str(train), "--val", str(val),
               env={"MLFLOW_TRACKING_URI": nobody})  # fmt: skip
    assert done.returncode == 0, output(done)
    said = [line for line in (done.stdout + done.stderr).splitlines() if "No MLflow tracking server answers" in line]
    assert len(said) == 1, output(done)
    assert f"answers at {nobody}: this run is not tracked" in said[0]
    assert "unset the variable to use the course's: `make mlflow`" in said[0]
    assert runs.metrics_of(flow_run_of(done))["mlflow_run"] == "not tracked"


def test_the_comparison_table_lists_every_training_run_so_far(orchestrate, tmp_path):
    train, val = synthetic_file(tmp_path, 1), synthetic_file(tmp_path, 2)
    for model in ("pickup", "course"):
        assert orchestrate.main_flow(str(train), str(val), model=model, return_state=True).is_completed()
    [table] = runs.artifact_history("taxi-training-runs", limit=1)
    rows = json.loads(table.data)
    metrics = runs.artifact_history("taxi-model-metrics", limit=200)
    published = [json.loads(m.data)[0] for m in metrics if m.created <= table.created]
    assert [r["flow_run"] for r in rows] == [m["flow_run"] for m in published if "model" in m]
    assert [r["model"] for r in rows[:2]] == ["course", "pickup"]  # newest first
    assert all(r["data"] == "synthetic" for r in rows[:2])
    assert config.current().ui_url in rows[0]["flow_run"]
