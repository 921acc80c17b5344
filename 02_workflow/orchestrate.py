"""Lesson 2: the taxi trip-duration training pipeline as a Prefect flow.

The code of orchestrate_pre_prefect.py and what Prefect adds (diff the two files): named tasks whose
states, durations and logs show in the UI, retries for errors a retry can fix, cached features,
parameters checked before any work starts, artifacts under stable keys that the UI compares by run.

    python 02_workflow/orchestrate.py --train 2023-01 --val 2023-02                  # our model
    python 02_workflow/orchestrate.py --model course --train 2023-01 --val 2023-02   # the course's XGBoost

Each run is also tracked in MLflow (experiment nyc-taxi-experiment) when a tracking server answers:
`make mlflow` starts the course's, and the two UIs link to each other.
"""

from __future__ import annotations

import argparse
import os
from datetime import timedelta
from pathlib import Path
from typing import Any

import course_model  # lesson 2's other files, beside this one: the original course's model, as tasks
import numpy as np
import pandas as pd
import skops.io as sio
from experiment import compare_runs, report, track_in_mlflow  # ...and MLflow tracking, the report, the comparison
from prefect import flow, runtime, task
from prefect.artifacts import create_markdown_artifact, create_table_artifact
from prefect.cache_policies import INPUTS, TASK_SOURCE
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import HistGradientBoostingRegressor
from sklearn.metrics import root_mean_squared_error
from sklearn.model_selection import KFold
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OrdinalEncoder, TargetEncoder
from threadpoolctl import threadpool_limits

from coursekit.lesson import run, ui_link, where_this_runs
from coursekit.lesson.taxi import TaxiDataError, is_synthetic, read_month, validate
from coursekit.lesson.timing import Stopwatch

PICKUP, DROPOFF = "lpep_pickup_datetime", "lpep_dropoff_datetime"
ZONES = ["PULocationID", "DOLocationID"]
CODES = ["VendorID", "RatecodeID", "trip_type"]
# Leakage rule: a feature may use only what is known when the trip starts. Fares, tips, surcharges,
# payment type and the drop-off time describe the finished trip; the drop-off time only gives the target.
FEATURES = [*ZONES, "PU_DO", "trip_distance", "pickup_hour", "pickup_weekday", *CODES]
SEED = 42
# One OpenMP thread for the trees: on 2 cores shared with the Prefect server and workers, two threads
# wait for each other at every split (runs took 2-4 times as long); on a quiet machine one is a third slower.
THREADS = 1


class MissingColumns(ValueError):
    """The trips lack a column the model needs."""


class NoTripsLeft(ValueError):
    """No trip lasted 1-60 minutes: there is nothing to learn from or to score."""


def worth_retrying(task, task_run, state) -> bool:
    """Retry what may pass next time: a download can fail for a moment; a bad month or a yellow-taxi
    file (a TaxiDataError) fails on every attempt."""
    return not isinstance(state.result(raise_on_failure=False), TaxiDataError)


@task(name="Read taxi data", retries=3, retry_delay_seconds=2, retry_condition_fn=worth_retrying)
def read_data(month: str) -> pd.DataFrame:
    return read_month(month)


def _as_float(column: pd.Series) -> np.ndarray:
    # TLC dtypes change between months (int32/int64, nullable Int64): cast, never assume.
    return pd.to_numeric(column, errors="coerce").to_numpy(dtype="float64", na_value=np.nan)


# The cache key hashes the task's inputs (the trips) and its source code: new data or an edited
# function computes afresh, anything else is served from the cache for a day.
@task(name="Prepare features", cache_policy=INPUTS + TASK_SOURCE, cache_expiration=timedelta(days=1))
def prepare_features(trips: pd.DataFrame) -> tuple[pd.DataFrame, np.ndarray]:
    needed = [PICKUP, DROPOFF, *ZONES, "trip_distance"]
    if missing := [name for name in needed if name not in trips.columns]:
        raise MissingColumns(f"Trip data lacks column(s) {missing}; the trip model needs {needed}.")
    pickup = pd.to_datetime(trips[PICKUP])
    minutes = (pd.to_datetime(trips[DROPOFF]) - pickup).dt.total_seconds().to_numpy(dtype="float64") / 60
    keep = (minutes >= 1) & (minutes <= 60)
    if not keep.any():
        raise NoTripsLeft(
            f"No trips left: {len(trips)} rows came in and the duration filter removed all of them "
            "(a trip must last 1-60 minutes from pickup to drop-off)."
        )
    trips, pickup = trips[keep], pickup[keep]
    X = pd.DataFrame({name: _as_float(trips[name]) for name in [*ZONES, "trip_distance"]})
    # A null code stays missing: those trips run longer, and the trees learn from the gap.
    for name in CODES:
        X[name] = _as_float(trips[name]) if name in trips.columns else np.nan
    X["PU_DO"] = X["PULocationID"] * 1000 + X["DOLocationID"]  # the route as one number: 132 -> 265 is 132265
    X["pickup_hour"] = (pickup.dt.hour + pickup.dt.minute / 60).to_numpy(dtype="float64")
    X["pickup_weekday"] = pickup.dt.day_of_week.to_numpy(dtype="float64")
    return X[FEATURES], minutes[keep]


@task(name="Train model")
def train_model(X: pd.DataFrame, y: np.ndarray, **booster_settings: Any) -> Pipeline:
    # The booster splits on at most 255 categories: rare zones share one, zones first seen later are missing.
    zones = OrdinalEncoder(
        max_categories=255, handle_unknown="use_encoded_value", unknown_value=np.nan, encoded_missing_value=np.nan
    )
    # About 6,000 zone pairs are too many categories, so each becomes its trips' mean duration, shrunk
    # towards the overall mean when rare. Cross-fitting keeps a trip's own duration out of its encoding.
    pair = TargetEncoder(target_type="continuous", cv=KFold(5, shuffle=True, random_state=SEED))
    encode = ColumnTransformer(
        [("zones", zones, ZONES), ("pair", pair, ["PU_DO"])], remainder="passthrough", verbose_feature_names_out=False
    ).set_output(transform="pandas")
    # 50 trees at rate 0.2 (scikit-learn's default: 100 at 0.1) take half the time for 0.02 minutes more
    # error; without early stopping no random hold-out changes the result.
    settings = {"learning_rate": 0.2, "max_iter": 50, "early_stopping": False, "random_state": SEED, **booster_settings}
    booster = HistGradientBoostingRegressor(categorical_features=ZONES, **settings)
    with threadpool_limits(limits=THREADS, user_api="openmp"):
        return Pipeline([("encode", encode), ("boost", booster)]).fit(X[FEATURES], y)


@task(name="Evaluate")
def evaluate(model: Pipeline, X: pd.DataFrame, y: np.ndarray) -> float:
    with threadpool_limits(limits=THREADS, user_api="openmp"):
        return float(root_mean_squared_error(y, model.predict(X[FEATURES])))


@task(name="Save model")
def save_model(model: Pipeline) -> str:
    # COURSE_MODELS_DIR is where the course's later lessons and workers look for the model.
    folder = Path(os.environ.get("COURSE_MODELS_DIR", Path(__file__).resolve().parents[1] / "models"))
    folder.mkdir(parents=True, exist_ok=True)
    part = folder / f"trip_duration.skops.{os.getpid()}.part"
    sio.dump(model, part)  # skops, not pickle: loading it later checks every type it holds
    return str(part.replace(folder / "trip_duration.skops"))  # whole or not at all: no reader gets half a model


@flow(name="taxi-training", log_prints=True)
def main_flow(train_month: str = "2023-01", val_month: str = "2023-02", model: str = "pickup") -> float:
    validate(train_month), validate(val_month)  # checked first: a typo fails in a second, not after a download
    if model not in ("pickup", "course"):
        raise ValueError(f"Model {model!r} is not one of the lesson's: use model='pickup' (ours) or 'course'.")
    if train_month == val_month:
        raise ValueError(f"Train and validation month are both {train_month}: validate on data the model has not seen.")
    print(f"Training on {train_month}, validating on {val_month} ({model} model)")
    print(f"Running in {where_this_runs()}")  # lesson 3: a process worker's run or a Docker worker's container

    clock = Stopwatch()
    train_trips, val_trips = read_data(train_month), read_data(val_month)
    clock.lap("read")
    if model == "course":
        X_train, y_train = course_model.prepare_course_features(train_trips)
        X_val, y_val = course_model.prepare_course_features(val_trips)
        clock.lap("prepare")
        fitted: Any = course_model.train_course_model(X_train, y_train, X_val, y_val)
        clock.lap("train")
        rmse = course_model.evaluate_course_model(*fitted, X_val, y_val)
        clock.lap("evaluate")
        saved = course_model.save_course_model(*fitted)
        params = {**course_model.COURSE_PARAMS, "num_boost_round": 100, "early_stopping_rounds": 20}
    else:
        X_train, y_train = prepare_features(train_trips)
        X_val, y_val = prepare_features(val_trips)
        clock.lap("prepare")
        fitted = train_model(X_train, y_train)
        clock.lap("train")
        rmse = evaluate(fitted, X_val, y_val)
        clock.lap("evaluate")
        saved = save_model(fitted)
        params = {"features": ", ".join(FEATURES), **fitted.named_steps["boost"].get_params()}
    clock.lap("save")
    synthetic = is_synthetic(train_trips) or is_synthetic(val_trips)
    on = "SYNTHETIC months, not comparable with real ones" if synthetic else "TLC data"
    print(f"Validation RMSE ({model} model, {on}): {rmse:.5f} minutes; model saved to {saved}")
    mlflow_run = track_in_mlflow(
        model, fitted, {"model": model, "train_month": train_month, "val_month": val_month, **params}, rmse, saved
    )
    clock.lap("track")

    # One row per run; "data" keeps runs on the synthetic stand-in months apart from runs on real ones.
    metrics = {"model": model, "train_month": train_month, "validation_month": val_month,
               "data": "synthetic" if synthetic else "TLC", "rmse_minutes": round(rmse, 5),
               "train_trips": len(X_train), "validation_trips": len(X_val), "seconds": round(clock.total, 1),
               "flow_run": ui_link(runtime.flow_run.id), "mlflow_run": mlflow_run or "not tracked"}  # fmt: skip
    features = FEATURES if model == "pickup" else ["PU_DO", "trip_distance"]
    create_markdown_artifact(key="taxi-model-report", markdown=report(metrics, features, clock))
    create_table_artifact(key="taxi-model-metrics", table=[metrics], description="Validation RMSE in minutes")
    compare_runs()
    return rmse


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--train", default="2023-01", help="training month (YYYY-MM) or a parquet path")
    parser.add_argument("--val", default="2023-02", help="validation month (YYYY-MM) or a parquet path")
    parser.add_argument("--model", default="pickup", choices=["pickup", "course"], help="ours, or the course's XGBoost")
    args = parser.parse_args()
    print(f"rmse={run(main_flow, train_month=args.train, val_month=args.val, model=args.model):.5f}")
