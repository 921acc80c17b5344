"""Lesson 2 (before): the taxi trip-duration training pipeline as a plain script, fresh from a notebook.

It works, until it doesn't: nobody sees when it ran or how long each step took, a flaky download kills
the whole run, every run recomputes the same features, and the score lives in a terminal that is gone
tomorrow. Diff it with orchestrate.py (and course_model.py): the difference is what Prefect adds.

    python 02_workflow/orchestrate_pre_prefect.py [--model course] --train 2023-01 --val 2023-02
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import skops.io as sio
import xgboost as xgb
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import HistGradientBoostingRegressor
from sklearn.feature_extraction import DictVectorizer
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


# --- The original course's model (MLOps Zoomcamp, 03-orchestration/orchestrate.py), for its homework ---
# The route as text and the distance, one-hot through a DictVectorizer, then XGBoost with the course's
# best parameters. Both models use trip_distance, which the meter measures during the trip: it stands in
# for the planned route's length that a dispatcher knows at pickup (the README says more).
COURSE_PARAMS = {
    "learning_rate": 0.09585355369315604,
    "max_depth": 30,
    "min_child_weight": 1.060597050922164,
    "objective": "reg:squarederror",  # the course's "reg:linear", renamed by xgboost
    "reg_alpha": 0.018060244040060163,
    "reg_lambda": 0.011658731377413597,
    "seed": 42,
    # xgboost 1.7's defaults, which the course ran on: with today's ("hist", a fitted base score) the
    # homework's 5.19931 becomes 5.19167.
    "tree_method": "exact",
    "base_score": 0.5,
}


def prepare_course_features(trips: pd.DataFrame) -> tuple[list[dict], np.ndarray]:
    minutes = (trips[DROPOFF] - trips[PICKUP]).dt.total_seconds() / 60
    trips = trips[(minutes >= 1) & (minutes <= 60)]
    pu_do = trips["PULocationID"].astype(str) + "_" + trips["DOLocationID"].astype(str)
    dicts = pd.DataFrame({"PU_DO": pu_do, "trip_distance": trips["trip_distance"]}).to_dict(orient="records")
    return dicts, minutes[trips.index].to_numpy(dtype="float64")


def train_course_model(
    train_dicts: list[dict], y_train: np.ndarray, val_dicts: list[dict], y_val: np.ndarray
) -> tuple[DictVectorizer, xgb.Booster]:
    vectorizer = DictVectorizer()
    train = xgb.DMatrix(vectorizer.fit_transform(train_dicts), label=y_train)
    valid = xgb.DMatrix(vectorizer.transform(val_dicts), label=y_val)
    booster = xgb.train(
        params=COURSE_PARAMS,
        dtrain=train,
        num_boost_round=100,
        evals=[(valid, "validation")],
        early_stopping_rounds=20,
        verbose_eval=False,
    )
    return vectorizer, booster


def evaluate_course_model(vectorizer: DictVectorizer, booster: xgb.Booster, dicts: list[dict], y: np.ndarray) -> float:
    return float(root_mean_squared_error(y, booster.predict(xgb.DMatrix(vectorizer.transform(dicts)))))


def save_course_model(vectorizer: DictVectorizer, booster: xgb.Booster) -> str:
    folder = Path(os.environ.get("COURSE_MODELS_DIR", Path(__file__).resolve().parents[1] / "models"))
    folder.mkdir(parents=True, exist_ok=True)
    part = folder / f"course_preprocessor.{os.getpid()}.part"  # each file whole, then renamed into place
    sio.dump(vectorizer, part)  # the course pickled it to preprocessor.b
    part.replace(folder / "course_preprocessor.skops")
    part = folder / f"course_xgboost.{os.getpid()}.part.json"  # xgboost picks its format by the last suffix
    booster.save_model(part)  # xgboost's own format: no pickle either
    return str(part.replace(folder / "course_xgboost.json"))


def main(train_month: str = "2023-01", val_month: str = "2023-02", model: str = "pickup") -> float:
    train_trips, val_trips = read_data(train_month), read_data(val_month)
    if model == "course":
        X_train, y_train = prepare_course_features(train_trips)
        X_val, y_val = prepare_course_features(val_trips)
        fitted: Any = train_course_model(X_train, y_train, X_val, y_val)
        rmse = evaluate_course_model(*fitted, X_val, y_val)
        saved = save_course_model(*fitted)
    else:
        X_train, y_train = prepare_features(train_trips)
        X_val, y_val = prepare_features(val_trips)
        fitted = train_model(X_train, y_train)
        rmse = evaluate(fitted, X_val, y_val)
        saved = save_model(fitted)
    print(f"Validation RMSE ({model} model): {rmse:.5f} minutes; model saved to {saved}")
    return rmse


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--train", default="2023-01", help="training month (YYYY-MM) or a parquet path")
    parser.add_argument("--val", default="2023-02", help="validation month (YYYY-MM) or a parquet path")
    parser.add_argument("--model", default="pickup", choices=["pickup", "course"], help="ours, or the course's XGBoost")
    args = parser.parse_args()
    print(f"rmse={main(args.train, args.val, args.model):.5f}")
