"""make stage-4: blocks, data uploaded to S3 firing a deployment trigger, and code pulled from the bucket."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import cast

from prefect_aws import S3Bucket

from coursekit import config, console, runs
from coursekit.cli.stages.common import (
    StageResult,
    deployment_run,
    prefect_cli,
    require_completed,
    run_script,
    show_deployment_runs,
)
from coursekit.services import s3, server, workers


def stage_4() -> StageResult:
    server.ensure_running()
    run_script("04_deploy_s3/create_blocks.py")  # starts the local S3 endpoint when that is the one in use
    prefect_cli("block", "ls")
    workers.ensure_pool("course-pool")
    with workers.running("course-pool"):
        prefect_cli("--no-prompt", "deploy", "--all", "--prefect-file", "04_deploy_s3/prefect.yaml")
        uploaded_at = datetime.now(UTC)
        run_script("04_deploy_s3/upload_data.py", "--months", "2023-01", "2023-02")
        # Meanwhile, the run whose code the worker pulls from the bucket.
        code_run = deployment_run("taxi-training-s3/taxi_s3_code")
        # Nobody starts this run: the upload's event fires the deployment's trigger.
        triggered = runs.wait_for_run_of("taxi-training-s3/taxi_s3_data", uploaded_at)
        flow_run_ids = {"taxi_s3_data (trigger)": str(triggered.id), "taxi_s3_code": code_run}
        runs.wait_for_runs({"taxi_s3_code": code_run})

    result = StageResult(stage=4, ran="blocks, upload + event trigger, deploy --all, code from the bucket")
    rmses = show_deployment_runs(result, flow_run_ids, show_code_origin=True)
    bucket = cast(S3Bucket, S3Bucket.load(s3.BUCKET_BLOCK))  # load() is sync here; its type says maybe async
    listed = s3.objects(bucket)
    console.step(f"Objects in bucket {bucket.bucket_name!r}")
    console.say(console.table(["key", "bytes"], [[key, f"{size:,}"] for key, size in listed]))
    require_completed(result)
    result.key_figure = f"RMSE {rmses[0]} min on data from S3, {len(listed)} objects in the bucket"
    ui = config.current().ui_page("")
    console.say(
        f"In the UI:\n  blocks:     {ui}/blocks\n  events:     {ui}/events\n"
        f"  S3 report:  {ui}/artifacts/key/taxi-s3-report"
    )
    return result
