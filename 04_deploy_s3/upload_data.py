"""Lesson 4b: put taxi months into the bucket, then say so with an event.

    python 04_deploy_s3/upload_data.py --months 2023-01 2023-02

Each month goes to `data/green_tripdata_YYYY-MM.parquet` in the bucket of the `course-bucket` block
(`...YYYY-MM.synthetic.parquet` for a synthetic stand-in, offline).
When all of them are there, the flow emits the event `course.taxi.data.uploaded`, naming the last two
months. The deployment `taxi_s3_data` has a trigger on that event (see prefect.yaml): a worker then
trains on the new data without anyone starting the run.

Every month is checked before the first one is uploaded, so a wrong month stops the upload with the
bucket unchanged; each object is written by a single PUT, which S3 makes visible whole or not at all.
"""

from __future__ import annotations

import argparse

from prefect import flow, task
from prefect.events import emit_event
from prefect_aws import S3Bucket

from coursekit.lesson import run, taxi
from coursekit.lesson.s3_errors import explained

BUCKET_BLOCK = "course-bucket"
# The deployment taxi_s3_data in prefect.yaml expects this event name: `expect: [course.taxi.data.uploaded]`.
DATA_UPLOADED = "course.taxi.data.uploaded"


@task(name="Check month")
def check_month(month: str) -> int:
    return len(taxi.read_month(month))  # fetches the month if needed; fails on a wrong month or file


@task(name="Upload month")
def upload_month(month: str, bucket_block: str) -> str:
    bucket = S3Bucket.load(bucket_block)
    local = taxi.resolve(month)
    # Where orchestrate_s3.py looks for it: the file's own name, so that offline the synthetic stand-in
    # is data/green_tripdata_2023-01.synthetic.parquet, never taken for the real month.
    key = f"data/{local.name}"
    with explained(bucket, key=key):
        bucket.upload_from_path(local, key)
    return key


@flow(name="upload-taxi-data", log_prints=True)
def upload_data(months: list[str] | None = None, bucket_block: str = BUCKET_BLOCK) -> list[str]:
    months = months or ["2023-01", "2023-02"]
    if len(months) < 2:
        raise ValueError(f"Give at least two months (train, then validate), not {months}.")
    with explained(block=bucket_block):
        bucket = S3Bucket.load(bucket_block)  # a missing block fails here, before any work

    for month in months:
        print(f"{month}: {check_month(month):,} trips")
    keys = [upload_month(month, bucket_block) for month in months]

    # An event is a record on the server: a name, the resource it is about, and any payload.
    # Automations and deployment triggers match on it; the UI lists it under Events.
    emit_event(
        event=DATA_UPLOADED,
        resource={"prefect.resource.id": f"s3://{bucket.bucket_name}/data", "prefect.resource.name": "taxi data"},
        payload={"keys": keys, "train_month": months[-2], "val_month": months[-1]},
    )
    print(f"Uploaded {', '.join(keys)} to bucket {bucket.bucket_name!r} and emitted {DATA_UPLOADED}")
    return keys


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--months", nargs="+", default=["2023-01", "2023-02"], help="months (YYYY-MM), oldest first")
    args = parser.parse_args()
    run(upload_data, months=args.months)
