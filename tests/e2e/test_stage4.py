"""Stage 4 end to end: blocks, data, model and code in a real S3-compatible endpoint (moto's server),
a real Prefect server, and a real process worker. No mocks.
The stage itself runs in the tour (tests/e2e/test_tour.py)."""

from __future__ import annotations

import json
import os
import signal
import sys
import threading
import time

import boto3
import pytest
from prefect_aws import AwsCredentials, S3Bucket

from coursekit import config
from coursekit.lesson import taxi
from coursekit.lesson.lessons import lesson_module
from coursekit.lesson.s3_errors import check_access
from coursekit.services import lifecycle, s3
from tests.support.run import output, prefect, run

pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("prefect_server")]

SECRET = "wrong-secret-that-must-never-be-printed"


@pytest.fixture(scope="module")
def local_bucket(prefect_server: str) -> s3.S3Settings:
    s3.ensure_local_endpoint()
    settings = s3.settings()
    s3.ensure_bucket(settings)
    return settings


@pytest.fixture(scope="module")
def course_blocks(local_bucket: s3.S3Settings) -> S3Bucket:
    return lesson_module("04_deploy_s3/create_blocks.py").create_blocks()


@pytest.fixture(scope="module")
def guarded_endpoint(prefect_server: str):
    """A second moto server that checks signatures, as AWS does, with one IAM user allowed everything.

    The course's own local endpoint accepts any key; this one tells a wrong secret from a right one.
    """
    port = lifecycle.free_port()
    name = "s3-guarded"
    running = lifecycle.start(
        name,
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        port=port,
        env={"INITIAL_NO_AUTH_ACTION_COUNT": "3"},  # three unsigned calls to create the user, then auth on
    )
    url = f"http://127.0.0.1:{port}"
    lifecycle.wait_until(running, lambda: lifecycle.answers(f"{url}/moto-api/"), what="Starting a guarded S3 endpoint")
    iam = boto3.client(
        "iam", endpoint_url=url, region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x"
    )
    iam.create_user(UserName="course")
    allow_all = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}
    iam.put_user_policy(UserName="course", PolicyName="all", PolicyDocument=json.dumps(allow_all))
    key = iam.create_access_key(UserName="course")["AccessKey"]
    boto3.client(
        "s3",
        endpoint_url=url,
        region_name="us-east-1",
        aws_access_key_id=key["AccessKeyId"],
        aws_secret_access_key=key["SecretAccessKey"],
    ).create_bucket(Bucket="guarded-bucket")
    yield url, key["AccessKeyId"], key["SecretAccessKey"]
    lifecycle.stop(name)


def blocks_on_server() -> tuple[str | None, str | None]:
    """The key id and bucket the saved course blocks hold now."""
    return AwsCredentials.load(s3.CREDENTIALS_BLOCK).aws_access_key_id, S3Bucket.load(s3.BUCKET_BLOCK).bucket_name


# --- blocks ------------------------------------------------------------------------------------------


@pytest.mark.readme("prefect block register -m prefect_aws", "prefect block type ls", "prefect block ls")
@pytest.mark.usefixtures("local_bucket")
def test_create_blocks_is_rerunnable_and_the_block_commands_of_the_readme_work():
    for _ in range(2):  # the second run updates the same two blocks
        done = run("python", "04_deploy_s3/create_blocks.py")
        assert done.returncode == 0, output(done)
        assert "Saved block s3-bucket/course-bucket" in done.stdout
    listed = prefect("block", "ls")
    assert listed.returncode == 0, output(listed)
    assert (
        listed.stdout.count("aws-credentials/course-aws") == 1 and listed.stdout.count("s3-bucket/course-bucket") == 1
    )
    assert prefect("block", "register", "-m", "prefect_aws").returncode == 0
    types = prefect("block", "type", "ls")
    assert "s3-bucket" in types.stdout and "aws-credentials" in types.stdout, output(types)
    bucket = S3Bucket.load(s3.BUCKET_BLOCK)
    assert bucket.bucket_name == s3.settings().bucket
    assert bucket.credentials.aws_client_parameters.endpoint_url == s3.local_url()


@pytest.mark.usefixtures("course_blocks")
def test_wrong_credentials_are_refused_by_name_without_the_secret_and_nothing_is_saved(guarded_endpoint, monkeypatch):
    url, key_id, _ = guarded_endpoint
    before = blocks_on_server()
    monkeypatch.setenv("COURSE_S3_ENDPOINT_URL", url)
    monkeypatch.setenv("COURSE_S3_BUCKET", "guarded-bucket")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", key_id)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", SECRET)
    done = run("python", "04_deploy_s3/create_blocks.py")
    assert done.returncode == 1, output(done)
    assert f"{url} refused the credentials (access key id …{key_id[-4:]})" in done.stderr, output(done)
    assert SECRET not in done.stdout + done.stderr and key_id not in done.stdout + done.stderr
    assert blocks_on_server() == before


@pytest.mark.usefixtures("course_blocks")
def test_right_credentials_on_a_guarded_endpoint_work_and_a_missing_bucket_is_named(guarded_endpoint, monkeypatch):
    url, key_id, secret = guarded_endpoint
    monkeypatch.setenv("COURSE_S3_ENDPOINT_URL", url)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", key_id)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", secret)
    create_blocks = lesson_module("04_deploy_s3/create_blocks.py")
    monkeypatch.setenv("COURSE_S3_BUCKET", "guarded-bucket")
    _, bucket = create_blocks.build_blocks(s3.settings())
    check_access(bucket)  # signed with the right secret: accepted

    before = blocks_on_server()
    monkeypatch.setenv("COURSE_S3_BUCKET", "no-such-bucket")
    with pytest.raises(s3.S3Error, match=f"Bucket 'no-such-bucket' does not exist at {url}"):
        create_blocks.create_blocks()
    assert blocks_on_server() == before
    names = [b["Name"] for b in s3.settings().client().list_buckets()["Buckets"]]
    assert "no-such-bucket" not in names  # a bucket that is not local is never created


@pytest.mark.usefixtures("course_blocks")
def test_an_endpoint_that_is_down_is_named(monkeypatch):
    url = f"http://127.0.0.1:{lifecycle.free_port()}"
    monkeypatch.setenv("COURSE_S3_ENDPOINT_URL", url)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "any")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "any")
    with pytest.raises(s3.S3Error, match=f"Nothing answers at {url}. Check COURSE_S3_ENDPOINT_URL"):
        lesson_module("04_deploy_s3/create_blocks.py").create_blocks()


# --- data and the S3 flow ----------------------------------------------------------------------------


def data_keys(bucket: S3Bucket) -> list[str]:
    return [key for key, _ in s3.objects(bucket, "data/")]


def test_a_wrong_month_stops_the_upload_with_the_bucket_unchanged(course_blocks: S3Bucket):
    before = data_keys(course_blocks)
    state = lesson_module("04_deploy_s3/upload_data.py").upload_data(months=["2023-04", "2023-13"], return_state=True)
    assert state.is_failed()
    assert "'2023-13' is not a month" in state.message
    assert data_keys(course_blocks) == before


def test_a_missing_month_object_is_named_and_nothing_half_written(course_blocks: S3Bucket):
    state = lesson_module("04_deploy_s3/orchestrate_s3.py").main_flow_s3(
        train_month="2022-07", val_month="2022-08", return_state=True
    )
    assert state.is_failed()
    assert "No object 'data/green_tripdata_2022-07.parquet' in bucket" in state.message, state.message
    downloads = config.current().data_dir / "from-s3"
    assert not list(downloads.glob("green_tripdata_2022-0[78]*"))  # (glob of a missing folder: nothing)


def test_a_missing_block_says_how_to_create_it(prefect_server: str):
    state = lesson_module("04_deploy_s3/orchestrate_s3.py").main_flow_s3(
        bucket_block="no-such-block", return_state=True
    )
    assert state.is_failed()
    assert "There is no S3Bucket block named 'no-such-block'" in state.message
    assert "python 04_deploy_s3/create_blocks.py" in state.message


def test_the_s3_flow_reads_the_bucket_trains_uploads_the_model_and_reports(course_blocks: S3Bucket):
    upload = run("python", "04_deploy_s3/upload_data.py", "--months", "2023-01", "2023-02")
    assert upload.returncode == 0, output(upload)
    done = run("python", "04_deploy_s3/orchestrate_s3.py", "--train", "2023-01", "--val", "2023-02")
    assert done.returncode == 0, output(done)
    rmse = float(done.stdout.strip().splitlines()[-1].removeprefix("rmse="))
    assert 0 < rmse < 20
    synthetic = ".synthetic." in taxi.resolve("2023-01").name  # offline, the upload was the stand-in
    assert {s3.month_key(m, synthetic=synthetic) for m in ("2023-01", "2023-02")} <= set(data_keys(course_blocks))
    model_key = s3.model_key("2023-01", "2023-02", synthetic=synthetic)
    assert model_key in [key for key, _ in s3.objects(course_blocks, "models/")]

    from coursekit import runs

    report = runs.artifact_history("taxi-s3-report", limit=1)[0]
    assert f"**Validation RMSE: {rmse:.2f} minutes**" in report.data
    assert f"s3://{course_blocks.bucket_name}/{model_key}" in report.data
    assert f"`s3://{course_blocks.bucket_name}/{s3.month_key('2023-02', synthetic=synthetic)}`" in report.data
    assert ("SYNTHETIC stand-ins for 2023-01" in report.data) == synthetic
    flow_run = runs.latest_flow_run("taxi-training-s3")
    assert runs.rmse_of(flow_run.id) == pytest.approx(rmse, abs=1e-3)  # from its subflow, lesson 2's flow


def test_an_endpoint_that_goes_away_mid_flow_is_named_nothing_is_half_written_and_the_next_run_recovers(
    tmp_path, monkeypatch
):
    """The course's endpoint dies between the downloads and the model's upload: a moto server of the test's own."""
    port = lifecycle.free_port()
    monkeypatch.setenv("COURSE_S3_PORT", str(port))  # so the flow's message is the one the course's endpoint gets
    monkeypatch.setenv("COURSE_DATA_DIR", str(tmp_path / "data"))  # the downloads of this test alone
    url = f"http://127.0.0.1:{port}"
    assert s3.local_url() == url

    def endpoint_with_months() -> lifecycle.Running:
        running = lifecycle.start(
            "s3-mid-flow", [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)]
        )
        lifecycle.wait_until(running, lambda: lifecycle.answers(f"{url}/moto-api/"), what="Starting an S3 endpoint")
        client = boto3.client(
            "s3", endpoint_url=url, region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x"
        )
        client.create_bucket(Bucket="mid-flow")
        for month in ("2023-01", "2023-02"):
            local = taxi.resolve(month)
            client.upload_file(str(local), "mid-flow", s3.month_key(month, synthetic=".synthetic." in local.name))
        return running

    credentials = AwsCredentials(
        aws_access_key_id="x", aws_secret_access_key="x", aws_client_parameters={"endpoint_url": url}
    )
    credentials.save("mid-flow-aws", overwrite=True)
    S3Bucket(bucket_name="mid-flow", credentials=credentials).save("mid-flow-bucket", overwrite=True)
    lesson = lesson_module("04_deploy_s3/orchestrate_s3.py")
    downloads = tmp_path / "data" / "from-s3"
    endpoint = endpoint_with_months()
    try:
        outcome: dict = {}
        flow_thread = threading.Thread(
            target=lambda: outcome.update(
                state=lesson.main_flow_s3(
                    train_month="2023-01", val_month="2023-02", bucket_block="mid-flow-bucket", return_state=True
                )
            )
        )
        flow_thread.start()
        deadline = time.monotonic() + 120
        while len(list(downloads.glob("*.parquet"))) < 2 and time.monotonic() < deadline:
            time.sleep(0.02)
        os.kill(endpoint.pid, signal.SIGKILL)  # both months are here; training has begun; the upload is next
        flow_thread.join(timeout=240)
        state = outcome["state"]
        assert state.is_failed(), state
        assert f"Nothing answers at {url}. Start the local endpoint with `make s3`." in state.message, state.message
        # Whole files or none: no .part left behind, and each download as long as the object it copied.
        assert sorted(p.name for p in downloads.iterdir()) == sorted(p.name for p in downloads.glob("*.parquet"))
        for month in ("2023-01", "2023-02"):
            local = taxi.resolve(month)
            assert (
                downloads / s3.month_key(month, synthetic=".synthetic." in local.name).split("/")[-1]
            ).stat().st_size == local.stat().st_size

        endpoint = endpoint_with_months()  # what make stage-4 does: its endpoint again, its months uploaded again
        again = lesson.main_flow_s3(
            train_month="2023-01", val_month="2023-02", bucket_block="mid-flow-bucket", return_state=True
        )
        assert again.is_completed(), again.message
    finally:
        lifecycle.stop("s3-mid-flow")


# --- the whole stage: deployments, the event trigger, code from the bucket -----------------------------
