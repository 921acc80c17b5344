"""Lesson 2 (before): the taxi trip-duration training pipeline as a plain script, fresh from a notebook.

It works, until it doesn't: nobody sees when it ran or how long each step took, a flaky download
kills the whole run, every run recomputes the same features, and the score lives in a terminal
that is gone tomorrow. Diff it with orchestrate.py: the difference is what Prefect adds.

    python 02_workflow/orchestrate_pre_prefect.py --train 2023-01 --val 2023-02
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import skops.io as sio
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import HistGradientBoostingRegressor
from sklearn.metrics import root_mean_squared_error
from sklearn.model_selection import KFold
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OrdinalEncoder, TargetEncoder
from threadpoolctl import threadpool_limits

from coursekit.lesson.taxi import read_month

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


def read_data(month: str) -> pd.DataFrame:
    return read_month(month)


def _as_float(column: pd.Series) -> np.ndarray:
    # TLC dtypes change between months (int32/int64, nullable Int64): cast, never assume.
    return pd.to_numeric(column, errors="coerce").to_numpy(dtype="float64", na_value=np.nan)


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


def evaluate(model: Pipeline, X: pd.DataFrame, y: np.ndarray) -> float:
    with threadpool_limits(limits=THREADS, user_api="openmp"):
        return float(root_mean_squared_error(y, model.predict(X[FEATURES])))


def save_model(model: Pipeline) -> str:
    # COURSE_MODELS_DIR is where the course's later lessons and workers look for the model.
    folder = Path(os.environ.get("COURSE_MODELS_DIR", Path(__file__).resolve().parents[1] / "models"))
    folder.mkdir(parents=True, exist_ok=True)
    part = folder / f"trip_duration.skops.{os.getpid()}.part"
    sio.dump(model, part)  # skops, not pickle: loading it later checks every type it holds
    return str(part.replace(folder / "trip_duration.skops"))  # whole or not at all: no reader gets half a model


def main(train_month: str = "2023-01", val_month: str = "2023-02") -> float:
    train_trips, val_trips = read_data(train_month), read_data(val_month)
    X_train, y_train = prepare_features(train_trips)
    X_val, y_val = prepare_features(val_trips)
    model = train_model(X_train, y_train)
    rmse = evaluate(model, X_val, y_val)
    saved = save_model(model)
    print(f"Validation RMSE: {rmse:.3f} minutes; model saved to {saved}")
    return rmse


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--train", default="2023-01", help="training month (YYYY-MM) or a parquet path")
    parser.add_argument("--val", default="2023-02", help="validation month (YYYY-MM) or a parquet path")
    args = parser.parse_args()
    print(f"rmse={main(args.train, args.val):.3f}")
