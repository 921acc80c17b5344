"""Exercise 3, solved: spread a flow's mapped tasks over Dask worker processes."""

from __future__ import annotations

import os
import time

from prefect import flow, task
from prefect_dask import DaskTaskRunner


@task
def square(number: int) -> tuple[int, int]:
    time.sleep(0.2)
    return number * number, os.getpid()


@flow(
    name="ex3-square-all",
    task_runner=DaskTaskRunner(
        cluster_kwargs={"n_workers": 2, "threads_per_worker": 1, "processes": True, "dashboard_address": None}
    ),
)
def square_all(numbers: list[int]) -> list[tuple[int, int]]:
    return [future.result() for future in square.map(numbers)]


if __name__ == "__main__":
    print(square_all(list(range(8))))
