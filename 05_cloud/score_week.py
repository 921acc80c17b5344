"""Lesson 5d: batch scoring, one week per run, for several workers to share.

    python 05_cloud/score_week.py --month 2023-02 --week 3

Scores the model that the training flow saved (models/trip_duration.skops) on one week of a month.
Each week is an independent run: make stage-5 starts two at once on the pool `course-scale`, where
two workers, each taking one run at a time (`prefect worker start --limit 1`), take one each.
That is scaling out *across* runs: more workers, on this machine or others, poll the same pool.
sweep.py shows the other kind: one run whose tasks spread over a Dask cluster.
"""

from __future__ import annotations

import argparse

import skops.io as sio
from prefect import flow

from coursekit.lesson import model_types, paths, run
from coursekit.lesson.lessons import lesson_module

# The lesson-2 pipeline: its tasks, called from this flow, run as this flow's task runs.
pipeline = lesson_module("02_workflow/orchestrate.py")

WEEKS = {1: (1, 7), 2: (8, 14), 3: (15, 21), 4: (22, 31)}  # days of the month; week 4 runs to its end


@flow(name="score-week", log_prints=True)
def score_week(month: str = "2023-02", week: int = 1) -> float:
    if week not in WEEKS:
        raise ValueError(f"week={week} is not a week of the month: use 1, 2, 3 or 4.")
    model_path = paths.model_file()
    if not model_path.exists():
        raise FileNotFoundError(f"No model at {model_path}. Train one first: python 02_workflow/orchestrate.py")

    trips = pipeline.read_data(month)
    # skops checks every type in the file first: a file holding any type not listed is refused.
    model = sio.load(model_path, trusted=model_types.TRIP_MODEL)
    first, last = WEEKS[week]
    day = trips[pipeline.PICKUP].dt.day
    X, y = pipeline.prepare_features(trips[(day >= first) & (day <= last)])
    rmse = pipeline.evaluate(model, X, y)
    print(f"{month} week {week} (days {first}-{last}): {len(y):,} trips, RMSE {rmse:.3f} min")
    return rmse


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--month", default="2023-02", help="the month to score (YYYY-MM)")
    parser.add_argument("--week", type=int, default=1, choices=sorted(WEEKS), help="which week of it")
    args = parser.parse_args()
    run(score_week, month=args.month, week=args.week)
