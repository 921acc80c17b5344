"""Stage 2 end to end: the training flow and the classification flow against a real Prefect server.
The stage itself runs in the tour (tests/e2e/test_tour.py)."""

from __future__ import annotations

import re
import uuid
from pathlib import Path

import pandas as pd
import pytest
from prefect import get_client
from prefect.client.schemas.filters import TaskRunFilter, TaskRunFilterFlowRunId

from coursekit import runs
from coursekit.lesson import paths
from coursekit.lesson.lessons import lesson_module
from coursekit.lesson.taxi_synthetic import synthetic_month
from tests.support.run import output, run

pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("prefect_server")]


@pytest.fixture(scope="module")
def orchestrate():
    return lesson_module("02_workflow/orchestrate.py")


def synthetic_file(folder: Path, month: int, rows: int = 4_000, **changes) -> Path:
    """A small synthetic month as a parquet path; a fresh seed, so no earlier cache entry matches it."""
    trips = synthetic_month(2023, month, rows=rows, seed=uuid.uuid4().int % 10**6).assign(**changes)
    path = folder / f"green_tripdata_2023-{month:02d}.parquet"
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
    assert re.fullmatch(r"rmse=\d+\.\d{3}", done.stdout.strip().splitlines()[-1]), output(done)
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


def test_classification_flow_runs_seven_tagged_tasks_and_reports():
    classification = lesson_module("02_workflow/classification.py")
    from prefect import tags

    with tags("lesson-2", "classification"):
        state = classification.churn_classification(rows=3_000, return_state=True)
    assert state.is_completed(), state.message
    scores = state.result()
    assert 0.6 < scores["accuracy"] <= 1 and 0.3 < scores["f1"] <= 1
    tasks = task_runs(state.state_details.flow_run_id)
    assert len(tasks) == 7 and all({"lesson-2", "classification"} <= set(t.tags) for t in tasks)
    report = runs.artifact_history("churn-model-report", limit=1)[0]
    assert f"{scores['f1']:.3f}" in report.data
    assert (paths.models_dir() / "churn_classifier.skops").is_file()
