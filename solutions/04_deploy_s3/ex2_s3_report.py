"""Exercise 2: score a model stored in the bucket, and publish the score where the UI shows it.

`score_from_bucket` loads the S3Bucket block, reads a model (saved with skops) and a month of trips through it,
and computes the model's RMSE on that month; but the number only appears in the logs. Publish it as a
markdown artifact with the key "s3-rmse-report", two decimals, naming the model's key and the month's
key: the UI's Artifacts page then shows which model scored what on which data, run after run.
Check with `make check-4`.
"""

from __future__ import annotations

import io

import pandas as pd
import skops.io as sio
from prefect import flow
from prefect.artifacts import create_markdown_artifact
from prefect_aws import S3Bucket

from coursekit.lesson import model_types
from coursekit.lesson.lessons import lesson_module

pipeline = lesson_module("02_workflow/orchestrate.py")  # the lesson-2 pipeline's tasks


@flow(name="s3-rmse-report", log_prints=True)
def score_from_bucket(model_key: str, month_key: str, bucket_block: str = "course-bucket") -> float:
    bucket = S3Bucket.load(bucket_block)
    # Never unpickle a file from a bucket: whoever can write there could run code here. skops refuses
    # any type the trip model is not made of.
    model = sio.loads(bucket.read_path(model_key), trusted=model_types.TRIP_MODEL)
    trips = pd.read_parquet(io.BytesIO(bucket.read_path(month_key)))
    X, y = pipeline.prepare_features(trips)
    rmse = pipeline.evaluate(model, X, y)
    print(f"RMSE of {model_key} on {month_key}: {rmse:.2f} minutes")
    # Called inside the flow, the artifact belongs to this run; the key gathers every run's version.
    create_markdown_artifact(
        key="s3-rmse-report",
        markdown=(
            f"# Model scored on data from S3\n\n**RMSE: {rmse:.2f} minutes**\n\n"
            f"| | object |\n|---|---|\n| model | `s3://{bucket.bucket_name}/{model_key}` |\n"
            f"| month | `s3://{bucket.bucket_name}/{month_key}` |\n"
        ),
        description="RMSE of a model from the bucket on a month from the bucket",
    )
    return rmse


if __name__ == "__main__":
    # Objects that `make stage-4` puts in the bucket.
    score_from_bucket("models/2023-01_2023-02/trip_duration.skops", "data/green_tripdata_2023-02.parquet")
