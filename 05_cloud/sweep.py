"""Lesson 5e: scale out inside one run: a hyperparameter sweep of the trip-duration model on Dask.

    python 05_cloud/sweep.py                            # on a local Dask cluster, in this process
    python 05_cloud/sweep.py --sequential               # the same sweep, one setting at a time
    python 05_cloud/sweep.py --address tcp://HOST:8786  # on a cluster you started (dask scheduler/worker)

The flow prepares both months once and maps one task over a grid of booster settings. The task runner,
chosen when the flow is called, decides where those tasks run; with every seed fixed, the RMSEs are the
same to the last digit wherever that is. Training uses a fixed sample of 20,000 trips (--sample 0: all).
Compare the times: on a small machine, four settings save little, and a cluster of worker processes
(each imports Prefect and scikit-learn as it starts) would cost more than they save. The table artifact
`taxi-sweep` ranks the settings, best first.
"""

from __future__ import annotations

import argparse
import os
import sys
import time

import numpy as np
import pandas as pd
from prefect import flow, task, unmapped
from prefect.artifacts import create_table_artifact
from prefect.context import FlowRunContext
from prefect.task_runners import TaskRunner, ThreadPoolTaskRunner
from prefect_dask import DaskTaskRunner

from coursekit import console
from coursekit.lesson import dask_cluster, run, taxi
from coursekit.lesson.lessons import lesson_module

# The lesson-2 pipeline's functions. Each is a @task there; `.fn` is the plain function under it, so
# inside a task of this flow it is a call, not a task run of its own.
pipeline = lesson_module("02_workflow/orchestrate.py")

GRID = [{"learning_rate": rate, "max_leaf_nodes": leaves} for rate in (0.1, 0.2) for leaves in (31, 63)]
# A scheduler and one worker with a thread per core of a small machine, in this process; no dashboard.
# On 2 cores a worker process would train no faster, and starting it (importing Prefect and
# scikit-learn again) costs seconds. --address sends the same tasks to a cluster of other processes.
LOCAL_CLUSTER = {"n_workers": 1, "threads_per_worker": 2, "processes": False, "dashboard_address": None}

# Dask workers cannot import lesson files: this file's code and the pipeline's travel with the tasks.
dask_cluster.send_code_by_value(sys.modules[__name__], pipeline, *dask_cluster.lesson_modules_of(pipeline))


# Passed on as a future, the result stays where it was made: on Dask the prepared trips go from the
# worker that read them to the workers that train, never through the flow's process.
@task(name="Read and prepare", task_run_name="read and prepare {month}")
def features(month: str, sample: int | None = None) -> tuple[pd.DataFrame, np.ndarray]:
    X, y = pipeline.prepare_features.fn(pipeline.read_data.fn(month))
    if sample and sample < len(X):  # the same rows on every run, kept in their order
        rows = np.sort(np.random.default_rng(pipeline.SEED).choice(len(X), sample, replace=False))
        X, y = X.iloc[rows].reset_index(drop=True), y[rows]
    return X, y


@task(name="Score setting", task_run_name="score {setting}")
def score_setting(setting: dict, train: tuple, val: tuple) -> dict:
    started = time.perf_counter()
    rmse = pipeline.evaluate.fn(pipeline.train_model.fn(*train, **setting), *val)
    return {**setting, "rmse_minutes": round(rmse, 4), "seconds": round(time.perf_counter() - started, 2)}


@flow(name="taxi-sweep", task_runner=DaskTaskRunner(cluster_kwargs=LOCAL_CLUSTER), log_prints=True)
def sweep_flow(train_month: str = "2023-01", val_month: str = "2023-02", sample: int | None = 20_000) -> list[dict]:
    taxi.validate(train_month), taxi.validate(val_month)
    runner, started = FlowRunContext.get().task_runner, time.perf_counter()
    where = getattr(runner, "address", None) or type(runner).__name__  # a remote scheduler's address, or the kind
    train, val = features.submit(train_month, sample), features.submit(val_month)
    rows = sorted(score_setting.map(GRID, unmapped(train), unmapped(val)).result(), key=lambda r: r["rmse_minutes"])
    print(f"Scored {len(rows)} settings in {time.perf_counter() - started:.1f} s on {where}")

    trips = f"{sample:,} sampled trips" if sample else "all trips"
    about = f"Validation RMSE, best first: trained on {trips} of {train_month}, validated on {val_month}, on {where}"
    create_table_artifact(key="taxi-sweep", table=rows, description=about)
    return rows


def task_runner(address: str | None = None, sequential: bool = False) -> TaskRunner:
    """One setting at a time in this process, a local Dask cluster, or the Dask cluster at `address`
    (whose workers need this project's Python environment and must reach the Prefect API)."""
    address = address or os.environ.get("COURSE_DASK_ADDRESS")
    if sequential:
        return ThreadPoolTaskRunner(max_workers=1)
    if not address:
        return DaskTaskRunner(cluster_kwargs=LOCAL_CLUSTER)
    dask_cluster.check_scheduler(address)  # in seconds, not Dask's 30 (or for ever, if a stranger answers)
    return DaskTaskRunner(address=address)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--train", default="2023-01", help="training month (YYYY-MM)")
    parser.add_argument("--val", default="2023-02", help="validation month (YYYY-MM)")
    parser.add_argument("--sample", type=int, default=20_000, help="training trips to sample (0: all)")
    parser.add_argument("--address", help="an existing Dask scheduler (default: $COURSE_DASK_ADDRESS, else local)")
    parser.add_argument("--sequential", action="store_true", help="no Dask: one setting after another")
    args = parser.parse_args()
    try:
        runner = task_runner(args.address, sequential=args.sequential)
    except ConnectionError as err:  # no scheduler at --address
        console.fail(str(err))
        sys.exit(1)
    sweep = sweep_flow.with_options(task_runner=runner)
    rows = run(sweep, train_month=args.train, val_month=args.val, sample=args.sample)
    console.say(console.table(list(rows[0]), [[str(value) for value in row.values()] for row in rows]))
