"""Exercise 3: publish the model's score as an artifact, so every run's result shows in the UI.

`train_and_score` trains the trip-duration model and returns its validation RMSE, but the number only
appears in the logs. Publish it as a markdown artifact with the key "taxi-rmse", two decimals, such
as "RMSE: 4.30": the UI's Artifacts page then keeps its history across runs. Check with `make check-2`.
"""

from __future__ import annotations

import pandas as pd
from prefect import flow, task
from prefect.artifacts import create_markdown_artifact

from coursekit.lesson.lessons import lesson_module
from coursekit.lesson.taxi_synthetic import synthetic_month

# The lesson's pipeline (02_workflow/orchestrate.py); `.fn` is the plain function under each of its tasks.
pipeline = lesson_module("02_workflow/orchestrate.py")


def small_month(month: str) -> pd.DataFrame:
    year, number = month.split("-")
    return synthetic_month(int(year), int(number), rows=2_000)  # small offline data: no download


@task(name="Train and evaluate")
def train_and_evaluate(train_month: str, val_month: str) -> float:
    X_train, y_train = pipeline.prepare_features.fn(small_month(train_month))
    X_val, y_val = pipeline.prepare_features.fn(small_month(val_month))
    return pipeline.evaluate.fn(pipeline.train_model.fn(X_train, y_train), X_val, y_val)


@flow(log_prints=True)
def train_and_score(train_month: str = "2023-01", val_month: str = "2023-02") -> float:
    rmse = train_and_evaluate(train_month, val_month)
    print(f"Validation RMSE: {rmse:.2f} minutes")
    # A keyed artifact belongs to this run, and the key links it to the same report of earlier runs.
    create_markdown_artifact(key="taxi-rmse", markdown=f"RMSE: {rmse:.2f}", description="Validation RMSE (minutes)")
    return rmse


if __name__ == "__main__":
    train_and_score()
