"""Trip-duration model for NYC green-taxi trips: minutes from pickup to drop-off.

Features: pickup and drop-off zones (categories the booster splits on directly), the zone pair
(target-encoded), trip distance, pickup hour and weekday, and the TLC codes for vendor, rate and trip type.
Nulls in the codes stay missing values: they mark a distinct group of records (6-7% in early 2023) whose
trips run longer, so the booster learns from the gap instead of us filling it. Passenger count is left out:
it did not change the error and cost an eighth of the training time.

Leakage rule: a feature may use only what is known when the trip starts. Fares, tips, taxes, surcharges,
payment type and anything derived from the drop-off time describe the finished trip, so they never enter X;
the drop-off time is used only to compute the target.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import RegressorMixin
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import HistGradientBoostingRegressor
from sklearn.metrics import root_mean_squared_error
from sklearn.model_selection import KFold
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OrdinalEncoder, TargetEncoder
from threadpoolctl import threadpool_limits

PICKUP = "lpep_pickup_datetime"
DROPOFF = "lpep_dropoff_datetime"
ZONES = ["PULocationID", "DOLocationID"]
CODES = ["VendorID", "RatecodeID", "trip_type"]
FEATURES: list[str] = [*ZONES, "PU_DO", "trip_distance", "pickup_hour", "pickup_weekday", *CODES]
MIN_MINUTES, MAX_MINUTES = 1, 60
SEED = 42
# One OpenMP thread for the trees: on a 2-core machine that also runs the Prefect server and workers, two
# threads wait for each other at every split, and runs took 2-4 times as long (single runs over 10 s);
# on a quiet machine one thread is only about a third slower.
THREADS = 1


class MissingColumns(KeyError):
    """The trip frame lacks columns the model needs."""

    def __str__(self) -> str:
        return str(self.args[0])


class NoTripsLeft(ValueError):
    """No trip survived the duration filter, so there is nothing to learn from or score."""


def _as_float(column: pd.Series) -> np.ndarray:
    # TLC files change dtypes between months (int32/int64, nullable Int64, strings), so cast, never assume.
    return pd.to_numeric(column, errors="coerce").to_numpy(dtype="float64", na_value=np.nan)


def prepare(df: pd.DataFrame) -> tuple[pd.DataFrame, np.ndarray]:
    """Return the features X (columns FEATURES) and the duration in minutes y of trips lasting 1-60 minutes."""
    needed = [PICKUP, DROPOFF, *ZONES, "trip_distance"]
    missing = [name for name in needed if name not in df.columns]
    if missing:
        raise MissingColumns(f"Trip data lacks column(s) {missing}; the trip model needs {needed}.")

    pickup = pd.to_datetime(df[PICKUP])
    minutes = (pd.to_datetime(df[DROPOFF]) - pickup).dt.total_seconds().to_numpy(dtype="float64") / 60
    keep = (minutes >= MIN_MINUTES) & (minutes <= MAX_MINUTES)
    if not keep.any():
        raise NoTripsLeft(
            f"No trips left: {len(df)} rows came in and the duration filter removed all of them "
            f"(a trip must last {MIN_MINUTES}-{MAX_MINUTES} minutes from pickup to drop-off)."
        )

    trips, pickup = df[keep], pickup[keep]
    X = pd.DataFrame({name: _as_float(trips[name]) for name in [*ZONES, "trip_distance"]})
    # The codes are optional: the course's data layer guarantees only times, zones and distance, and the
    # trees treat an absent code like a null one.
    for name in CODES:
        X[name] = _as_float(trips[name]) if name in trips.columns else np.nan
    # One number per ordered zone pair (132 -> 265 is 132265): the pair carries the route, which neither
    # zone alone does, and a number encodes faster than a "132_265" string.
    X["PU_DO"] = X["PULocationID"] * 1000 + X["DOLocationID"]
    X["pickup_hour"] = (pickup.dt.hour + pickup.dt.minute / 60).to_numpy(dtype="float64")
    X["pickup_weekday"] = pickup.dt.day_of_week.to_numpy(dtype="float64")
    return X[FEATURES], minutes[keep]


def train(X: pd.DataFrame, y: np.ndarray, **booster_settings: Any) -> Pipeline:
    """Fit the encoders and the gradient-boosted trees; the same data always gives the same model.

    `booster_settings` override the trees' defaults below (e.g. learning_rate=0.1, max_leaf_nodes=63),
    as a hyperparameter sweep does; without them this is the course's model.
    """
    # The booster takes at most 255 categories per column: rarer zones share one code, and zones first seen
    # after training become missing, so a new month cannot break prediction.
    zones = OrdinalEncoder(
        max_categories=255, handle_unknown="use_encoded_value", unknown_value=np.nan, encoded_missing_value=np.nan
    )
    # About 6,000 zone pairs are too many for categories: each becomes its trips' mean duration, shrunk towards
    # the overall mean when the pair is rare. Cross-fitting keeps a trip's own duration out of its encoding,
    # so the trees cannot learn to trust the encoding more than it deserves.
    pair = TargetEncoder(target_type="continuous", cv=KFold(5, shuffle=True, random_state=SEED))
    encode = ColumnTransformer(
        [("zones", zones, ZONES), ("pair", pair, ["PU_DO"])],
        remainder="passthrough",
        verbose_feature_names_out=False,
    ).set_output(transform="pandas")
    # Half scikit-learn's default 100 trees at twice its 0.1 learning rate: the same total step, half the
    # time, about 0.02 minutes more error. Early stopping is off so every trip trains the trees and no random
    # hold-out changes the result.
    settings = {"learning_rate": 0.2, "max_iter": 50, **booster_settings}
    booster = HistGradientBoostingRegressor(
        categorical_features=ZONES, early_stopping=False, random_state=SEED, **settings
    )
    with threadpool_limits(limits=THREADS, user_api="openmp"):
        return Pipeline([("encode", encode), ("boost", booster)]).fit(X[FEATURES], y)


def rmse(model: RegressorMixin | Pipeline, X: pd.DataFrame, y: np.ndarray) -> float:
    """Root mean squared error of the model on X, in minutes."""
    with threadpool_limits(limits=THREADS, user_api="openmp"):
        return float(root_mean_squared_error(y, model.predict(X[FEATURES])))
