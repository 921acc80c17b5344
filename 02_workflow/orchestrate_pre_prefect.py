"""Lesson 2 (before): the taxi trip-duration training pipeline as a plain script, fresh from a notebook.

It works, until it doesn't: nobody sees when it ran or how long each step took, a flaky download
kills the whole run, every run recomputes the same features, and the score lives in a terminal
that is gone tomorrow. Diff it with orchestrate.py: the difference is what Prefect adds.

    python 02_workflow/orchestrate_pre_prefect.py --train 2023-01 --val 2023-02
"""

from __future__ import annotations

import argparse
import pickle

import numpy as np
import pandas as pd
from sklearn.pipeline import Pipeline

from coursekit.files import atomic_file
from coursekit.lesson import paths, taxi, trip_model


def read_data(month: str) -> pd.DataFrame:
    return taxi.read_month(month)


def prepare_features(trips: pd.DataFrame) -> tuple[pd.DataFrame, np.ndarray]:
    return trip_model.prepare(trips)


def train_model(X: pd.DataFrame, y: np.ndarray) -> Pipeline:
    return trip_model.train(X, y)


def evaluate(model: Pipeline, X: pd.DataFrame, y: np.ndarray) -> float:
    return trip_model.rmse(model, X, y)


def save_model(model: Pipeline) -> str:
    target = paths.model_file()
    with atomic_file(target) as part:  # the model and its preprocessing, in one file, never half-written
        part.write_bytes(pickle.dumps(model))
    return str(target)


def main(train_month: str = "2023-01", val_month: str = "2023-02") -> float:
    X_train, y_train = prepare_features(read_data(train_month))
    X_val, y_val = prepare_features(read_data(val_month))
    model = train_model(X_train, y_train)
    rmse = evaluate(model, X_val, y_val)
    print(f"Validation RMSE: {rmse:.3f} minutes; model saved to {save_model(model)}")
    return rmse


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--train", default="2023-01", help="training month (YYYY-MM) or a parquet path")
    parser.add_argument("--val", default="2023-02", help="validation month (YYYY-MM) or a parquet path")
    args = parser.parse_args()
    print(f"rmse={main(args.train, args.val):.3f}")
