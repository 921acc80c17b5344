"""Exercise 4: check a flow's parameters before any work starts.

`train_on("2023-1")` quietly reads January and `train_on("Jan 2023")` fails deep inside a task. Make the
flow reject a month not written as YYYY-MM at once, with a ValueError whose message says "YYYY-MM",
before any task runs: a typo then fails in a second, not after a download. Check with `make check-2`.
"""

from __future__ import annotations

import re

import pandas as pd
from prefect import flow, task

from coursekit.lesson.lessons import lesson_module
from coursekit.lesson.taxi_synthetic import synthetic_month

# The lesson's pipeline (02_workflow/orchestrate.py); `.fn` is the plain function under each of its tasks.
pipeline = lesson_module("02_workflow/orchestrate.py")

MONTH = re.compile(r"\d{4}-(0[1-9]|1[0-2])")  # YYYY-MM, e.g. 2023-01


@task(name="Read taxi data")
def read_data(month: str) -> pd.DataFrame:
    year, number = month.split("-")
    return synthetic_month(int(year), int(number), rows=2_000)  # small offline data: no download


@task(name="Count usable trips")
def count_usable_trips(trips: pd.DataFrame) -> int:
    X, y = pipeline.prepare_features.fn(trips)
    return len(X)


@flow(log_prints=True)
def train_on(month: str = "2023-01") -> int:
    # Checked before the first task: a typo fails the flow at once and no task run starts.
    if not MONTH.fullmatch(month):
        raise ValueError(f"Month {month!r} is not written as YYYY-MM, e.g. 2023-01 for January 2023.")
    usable = count_usable_trips(read_data(month))
    print(f"{usable:,} usable trips in {month}")
    return usable


if __name__ == "__main__":
    train_on()
