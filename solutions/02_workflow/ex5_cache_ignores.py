"""Exercise 5: a cache key that leaves out what does not change the result.

The lesson's cache key holds every input. Here the task also takes `show_report`: whether to print
a summary of the features it made. Printing or not changes nothing in what it returns, yet with every
input in the key, a run with `show_report=True` computes everything again. Make the cache ignore
`show_report`, and only it. Check with `make check-2`.
"""

from __future__ import annotations

from datetime import timedelta

import numpy as np
import pandas as pd
from prefect import flow, task
from prefect.cache_policies import INPUTS, TASK_SOURCE

from coursekit.lesson.lessons import lesson_module
from coursekit.lesson.taxi_synthetic import synthetic_month

# The lesson's pipeline (02_workflow/orchestrate.py); `.fn` is the plain function under each of its tasks.
pipeline = lesson_module("02_workflow/orchestrate.py")


# The key leaves `show_report` out: it changes what is printed, not the features. Any other input counts.
@task(name="Prepare features", cache_policy=(INPUTS - "show_report") + TASK_SOURCE, cache_expiration=timedelta(days=1))
def prepare_features(month: str, seed: int = 0, show_report: bool = False) -> tuple[pd.DataFrame, np.ndarray]:
    year, number = month.split("-")
    X, y = pipeline.prepare_features.fn(synthetic_month(int(year), int(number), rows=2_000, seed=seed))
    if show_report:
        print(X.describe().T[["mean", "min", "max"]].round(2).to_string())
    return X, y


@flow(log_prints=True)
def prepare_month(month: str = "2023-01", seed: int = 0, show_report: bool = False) -> int:
    X, y = prepare_features(month, seed, show_report)
    print(f"{len(X):,} trips prepared for {month}")
    return len(X)


if __name__ == "__main__":
    prepare_month()
    prepare_month(show_report=True)  # the same features: it should come from the cache
