"""Lesson 4c: the taxi training flow with its data and its model in object storage.

    python 04_deploy_s3/orchestrate_s3.py --train 2023-01 --val 2023-02

1. loads the S3Bucket block `course-bucket` (bucket, credentials and endpoint, all in the block);
2. downloads the two months from `data/` in the bucket (upload_data.py put them there);
3. trains and evaluates with the lesson-2 flow, called as a subflow: one training pipeline, no copy;
4. uploads the model to `models/TRAIN_VAL/trip_duration.skops` in the bucket;
5. publishes the markdown artifact `taxi-s3-report`: the RMSE, and where the data and model are.

The deployments `taxi_s3_data` and `taxi_s3_code` in prefect.yaml run this flow; the second one
fetches this very file from the bucket before each run, which the first line of its log shows.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from prefect import flow, task
from prefect.artifacts import create_markdown_artifact
from prefect_aws import S3Bucket

from coursekit.files import atomic_file
from coursekit.lesson import lessons, paths, run, taxi
from coursekit.lesson.s3_errors import check_access, explained, has_object

BUCKET_BLOCK = "course-bucket"  # create_blocks.py saves it; prefect.yaml's code steps read it too


def training_flow():
    """The lesson-2 flow, loaded from its file next to this one (in the repository, or in the copy a
    worker pulled from the bucket). Calling a flow from a flow makes it a subflow: its own run, task
    runs and artifacts, nested under this run in the UI.
    """
    return lessons.training_flow(root=Path(__file__).resolve().parent.parent)


def month_key(month: str) -> str:
    """Where upload_data.py puts a month; a badly written month fails here, before any download."""
    if not isinstance(taxi.validate(month), str):
        raise taxi.TaxiDataError(f"{month!r} is a file; the bucket holds months: give one as YYYY-MM, e.g. 2023-01.")
    return f"data/green_tripdata_{month}.parquet"


# No retries here: boto3 already retries what a retry can fix (timeouts, throttling), and a missing
# object or a refused key fails the same way every time.
@task(name="Download month")
def download_month(month: str, bucket_block: str) -> str:
    bucket = S3Bucket.load(bucket_block)
    key = month_key(month)
    stand_in = key.replace(".parquet", ".synthetic.parquet")  # what upload_data.py uploads offline
    if not has_object(bucket, key) and has_object(bucket, stand_in):
        key = stand_in  # the file keeps the mark, so the training flow's report says "synthetic"
    target = paths.data_dir() / "from-s3" / Path(key).name
    with explained(bucket, key=key), atomic_file(target) as part:  # the file appears whole or not at all
        bucket.download_object_to_path(key, part)
    return str(target)


@task(name="Upload model")
def upload_model(train_month: str, val_month: str, bucket_block: str, synthetic: bool) -> str:
    bucket = S3Bucket.load(bucket_block)
    key = f"models/{train_month}_{val_month}{'.synthetic' if synthetic else ''}/trip_duration.skops"
    with explained(bucket, key=key):
        bucket.upload_from_path(paths.model_file(), key)  # one PUT: the object appears whole or not at all
    return f"s3://{bucket.bucket_name}/{key}"


@flow(name="taxi-training-s3", log_prints=True)
def main_flow_s3(train_month: str = "2023-01", val_month: str = "2023-02", bucket_block: str = BUCKET_BLOCK) -> float:
    print(f"Flow code loaded from {Path(__file__).resolve()}")
    month_key(train_month), month_key(val_month)  # a badly written month fails here, before any download
    with explained(block=bucket_block):
        bucket = S3Bucket.load(bucket_block)  # a missing block fails here, before any work
    check_access(bucket)  # so does a wrong key, a missing bucket or an endpoint that is down

    train_file = download_month(train_month, bucket_block)
    val_file = download_month(val_month, bucket_block)
    data_keys = [f"data/{Path(file).name}" for file in (train_file, val_file)]  # the keys actually read
    synthetic = any(".synthetic." in key for key in data_keys)
    rmse = training_flow()(train_month=train_file, val_month=val_file)
    model_uri = upload_model(train_month, val_month, bucket_block, synthetic)

    create_markdown_artifact(
        key="taxi-s3-report",
        markdown=_report(train_month, val_month, rmse, bucket.bucket_name, data_keys, model_uri, synthetic),
        description="RMSE of the model trained on data from the bucket",
    )
    print(f"Validation RMSE: {rmse:.3f} minutes; model uploaded to {model_uri}")
    return rmse


def _report(train_month, val_month, rmse: float, bucket, data_keys: list[str], model_uri, synthetic: bool) -> str:
    data = "\n".join(f"| `s3://{bucket}/{key}` |" for key in data_keys)
    months = "SYNTHETIC stand-ins for " if synthetic else ""
    return (
        f"# Trip duration model, data from S3\n\n**Validation RMSE: {rmse:.2f} minutes** "
        f"(trained on {months}{train_month}, validated on {val_month})\n\n"
        f"| data read |\n|---|\n{data}\n\n**Model:** `{model_uri}`\n"
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--train", default="2023-01", help="training month (YYYY-MM), uploaded to the bucket")
    parser.add_argument("--val", default="2023-02", help="validation month (YYYY-MM), uploaded to the bucket")
    parser.add_argument("--bucket-block", default=BUCKET_BLOCK, help="name of the S3Bucket block")
    args = parser.parse_args()
    print(f"rmse={run(main_flow_s3, train_month=args.train, val_month=args.val, bucket_block=args.bucket_block):.3f}")
