"""Lesson 2: the original course's model (MLOps Zoomcamp, 03-orchestration/orchestrate.py), as tasks.

orchestrate.py runs these when called with `--model course`; orchestrate_pre_prefect.py has the same
functions without the decorators. They reproduce the 2023 homework: RMSE 5.19931 for 2023-01 -> 2023-02.
"""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import skops.io as sio
import xgboost as xgb
from prefect import task
from prefect.cache_policies import INPUTS, TASK_SOURCE
from sklearn.feature_extraction import DictVectorizer
from sklearn.metrics import root_mean_squared_error

PICKUP, DROPOFF = "lpep_pickup_datetime", "lpep_dropoff_datetime"

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


@task(name="Prepare course features", cache_policy=INPUTS + TASK_SOURCE, cache_expiration=timedelta(days=1))
def prepare_course_features(trips: pd.DataFrame) -> tuple[list[dict], np.ndarray]:
    minutes = (trips[DROPOFF] - trips[PICKUP]).dt.total_seconds() / 60
    trips = trips[(minutes >= 1) & (minutes <= 60)]
    pu_do = trips["PULocationID"].astype(str) + "_" + trips["DOLocationID"].astype(str)
    dicts = pd.DataFrame({"PU_DO": pu_do, "trip_distance": trips["trip_distance"]}).to_dict(orient="records")
    return dicts, minutes[trips.index].to_numpy(dtype="float64")


@task(name="Train course model")
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


@task(name="Evaluate course model")
def evaluate_course_model(vectorizer: DictVectorizer, booster: xgb.Booster, dicts: list[dict], y: np.ndarray) -> float:
    return float(root_mean_squared_error(y, booster.predict(xgb.DMatrix(vectorizer.transform(dicts)))))


@task(name="Save course model")
def save_course_model(vectorizer: DictVectorizer, booster: xgb.Booster) -> str:
    folder = Path(os.environ.get("COURSE_MODELS_DIR", Path(__file__).resolve().parents[1] / "models"))
    folder.mkdir(parents=True, exist_ok=True)
    part = folder / f"course_preprocessor.{os.getpid()}.part"  # each file whole, then renamed into place
    sio.dump(vectorizer, part)  # the course pickled it to preprocessor.b
    part.replace(folder / "course_preprocessor.skops")
    part = folder / f"course_xgboost.{os.getpid()}.part.json"  # xgboost picks its format by the last suffix
    booster.save_model(part)  # xgboost's own format: no pickle either
    return str(part.replace(folder / "course_xgboost.json"))
