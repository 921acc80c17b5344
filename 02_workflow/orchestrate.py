"""Lesson 2: the taxi trip-duration training pipeline as a Prefect flow.

The same steps as orchestrate_pre_prefect.py (diff the two files), now with:
- named tasks, so every step has a state, a duration and logs in the UI;
- retries on reading the data, but only for errors a retry can fix;
- cached data preparation: an unchanged re-run reuses the prepared features;
- parameters, checked before any work starts;
- a markdown report and a table of metrics as artifacts, under stable keys, so the UI's
  artifact history compares the runs.

    python 02_workflow/orchestrate.py --train 2023-01 --val 2023-02
"""

from __future__ import annotations

import argparse
import pickle
from datetime import timedelta

import numpy as np
import pandas as pd
from prefect import flow, task
from prefect.artifacts import create_markdown_artifact, create_table_artifact
from prefect.cache_policies import INPUTS, TASK_SOURCE
from sklearn.pipeline import Pipeline

from coursekit.files import atomic_file
from coursekit.lesson import paths, run, taxi, trip_model
from coursekit.lesson.timing import Stopwatch


# A download can fail for a moment; a badly written month or a yellow-taxi file fails every time.
# retry_condition_fn retries the first kind only.
@task(name="Read taxi data", retries=3, retry_delay_seconds=2, retry_condition_fn=taxi.worth_retrying)
def read_data(month: str) -> pd.DataFrame:
    return taxi.read_month(month)


# The cache key hashes the task's inputs (the trips) and its source code: new data or an edited
# function computes afresh, anything else is served from the cache for a day.
@task(name="Prepare features", cache_policy=INPUTS + TASK_SOURCE, cache_expiration=timedelta(days=1))
def prepare_features(trips: pd.DataFrame) -> tuple[pd.DataFrame, np.ndarray]:
    return trip_model.prepare(trips)


@task(name="Train model")
def train_model(X: pd.DataFrame, y: np.ndarray) -> Pipeline:
    return trip_model.train(X, y)


@task(name="Evaluate")
def evaluate(model: Pipeline, X: pd.DataFrame, y: np.ndarray) -> float:
    return trip_model.rmse(model, X, y)


@task(name="Save model")
def save_model(model: Pipeline) -> str:
    target = paths.model_file()
    with atomic_file(target) as part:  # the model and its preprocessing, in one file, never half-written
        part.write_bytes(pickle.dumps(model))
    return str(target)


@flow(name="taxi-training", log_prints=True)
def main_flow(train_month: str = "2023-01", val_month: str = "2023-02") -> float:
    # Check the parameters before any work starts: a typo fails in a second, not after a download.
    taxi.validate(train_month), taxi.validate(val_month)
    if train_month == val_month:
        raise ValueError(f"Train and validation month are both {train_month}: validate on data the model has not seen.")

    clock = Stopwatch()
    with clock("read"):
        train_trips, val_trips = read_data(train_month), read_data(val_month)
    with clock("prepare"):
        X_train, y_train = prepare_features(train_trips)
        X_val, y_val = prepare_features(val_trips)
    with clock("train"):
        model = train_model(X_train, y_train)
    with clock("evaluate"):
        rmse = evaluate(model, X_val, y_val)
    with clock("save"):
        saved = save_model(model)
    print(f"Validation RMSE: {rmse:.3f} minutes; model saved to {saved}")

    rows = {"train": len(X_train), "validation": len(X_val)}
    create_markdown_artifact(key="taxi-model-report", markdown=_report(train_month, val_month, rmse, rows, clock))
    create_table_artifact(
        key="taxi-model-metrics",
        table=[
            {
                "train_month": train_month,
                "validation_month": val_month,
                "rmse_minutes": round(rmse, 3),
                "train_trips": rows["train"],
                "validation_trips": rows["validation"],
            }
        ],
        description="Validation RMSE (minutes) of this run",
    )
    return rmse


def _report(train_month: str, val_month: str, rmse: float, rows: dict[str, int], clock: Stopwatch) -> str:
    steps = "\n".join(f"| {step} | {seconds:.2f} s |" for step, seconds in clock.seconds.items())
    return (
        f"# Trip duration model\n\n**Validation RMSE: {rmse:.2f} minutes** "
        f"(trained on {train_month}, validated on {val_month})\n\n"
        f"| data | trips |\n|---|---|\n| train | {rows['train']:,} |\n| validation | {rows['validation']:,} |\n\n"
        f"Features, all known at pickup: {', '.join(trip_model.FEATURES)}\n\n"
        f"| step | time |\n|---|---|\n{steps}\n| **total** | {clock.total:.2f} s |\n"
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--train", default="2023-01", help="training month (YYYY-MM) or a parquet path")
    parser.add_argument("--val", default="2023-02", help="validation month (YYYY-MM) or a parquet path")
    args = parser.parse_args()
    print(f"rmse={run(main_flow, train_month=args.train, val_month=args.val):.3f}")
