"""Exercise 2: cache a task, so that re-running the flow with the same input skips the work.

Preparing the features of a month gives the same result every time for the same data. Give the task
a cache policy keyed on its inputs and its source code, with an expiration, so that a second run of
`prepare_month` with the same arguments is served from the cache (state "Cached" in the UI), while
other arguments or edited code compute afresh. Check with `make check-2`.
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


# Same inputs and unchanged code give the same features: serve them from the cache for a day.
@task(name="Prepare features", cache_policy=INPUTS + TASK_SOURCE, cache_expiration=timedelta(days=1))
def prepare_features(month: str, seed: int = 0) -> tuple[pd.DataFrame, np.ndarray]:
    year, number = month.split("-")
    return pipeline.prepare_features.fn(synthetic_month(int(year), int(number), rows=2_000, seed=seed))


@flow(log_prints=True)
def prepare_month(month: str = "2023-01", seed: int = 0) -> int:
    X, y = prepare_features(month, seed)
    print(f"{len(X):,} trips prepared for {month}")
    return len(X)


if __name__ == "__main__":
    prepare_month()  # run the file twice: the second run of "Prepare features" is Cached
