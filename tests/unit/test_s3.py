"""Object storage settings and errors: local by default, real S3 by env, messages that keep secrets."""

from __future__ import annotations

from pathlib import Path

import boto3
import pytest
from botocore.exceptions import ClientError, EndpointConnectionError
from moto import mock_aws

from coursekit.lesson.lessons import lesson_module
from coursekit.lesson.s3_errors import check_access, explained
from coursekit.services import s3


def test_the_local_endpoint_is_the_default(monkeypatch):
    for name in ("COURSE_S3_ENDPOINT_URL", "COURSE_S3_BUCKET", "COURSE_S3_PORT"):
        monkeypatch.delenv(name, raising=False)
    settings = s3.settings()
    assert settings.local and settings.endpoint_url == "http://127.0.0.1:9000" and settings.bucket == "prefect-course"


def test_real_s3_comes_from_the_environment(monkeypatch):
    monkeypatch.setenv("COURSE_S3_ENDPOINT_URL", "aws")
    monkeypatch.setenv("COURSE_S3_BUCKET", "my-bucket")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIAEXAMPLEKEY1234")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "do-not-print-me")
    settings = s3.settings()
    assert not settings.local and settings.endpoint_url is None and settings.bucket == "my-bucket"
    assert settings.where == "AWS S3 (us-east-1)"


def client_error(code: str) -> ClientError:
    return ClientError({"Error": {"Code": code, "Message": "boom"}}, "HeadBucket")


REAL = s3.S3Settings("https://s3.example.com", "my-bucket", "AKIAEXAMPLEKEY1234", "do-not-print-me", "eu-west-1", False)


def test_wrong_credentials_are_named_without_the_secret():
    message = str(s3.explain(client_error("InvalidAccessKeyId"), REAL))
    assert "refused the credentials" in message and "…1234" in message and "https://s3.example.com" in message
    assert "do-not-print-me" not in message and "AKIAEXAMPLEKEY1234" not in message


def test_missing_bucket_key_and_endpoint_are_named():
    assert "Bucket 'my-bucket' does not exist at https://s3.example.com" in str(
        s3.explain(client_error("NoSuchBucket"), REAL)
    )
    missing_key = str(s3.explain(client_error("NoSuchKey"), REAL, key="data/green_tripdata_2023-01.parquet"))
    assert "'data/green_tripdata_2023-01.parquet'" in missing_key and "'my-bucket'" in missing_key
    unreachable = str(s3.explain(EndpointConnectionError(endpoint_url="https://s3.example.com"), REAL))
    assert unreachable.startswith("Nothing answers at https://s3.example.com")


@mock_aws
def test_a_real_bucket_is_never_created_and_its_absence_is_explained():
    real = s3.S3Settings(None, "absent-bucket", "key", "secret", "us-east-1", False)
    with pytest.raises(s3.S3Error, match="Bucket 'absent-bucket' does not exist at AWS S3"):
        s3.ensure_bucket(real)
    assert "absent-bucket" not in [
        b["Name"] for b in boto3.client("s3", region_name="us-east-1").list_buckets()["Buckets"]
    ]


# --- blocks and the helpers the lesson's flows use, against moto's in-process mock -------------------

AWS = s3.S3Settings(None, "course-unit", "AKIAUNITTESTKEY0001", "unit-secret-never-shown", "us-east-1", False)


@pytest.fixture
def bucket():
    """An S3Bucket block as create_blocks.py builds it, on moto's in-process mock of AWS S3."""
    with mock_aws():
        boto3.client("s3", region_name="us-east-1").create_bucket(Bucket=AWS.bucket)
        _, block = lesson_module("04_deploy_s3/create_blocks.py").build_blocks(AWS)
        yield block


def test_blocks_carry_endpoint_bucket_and_a_secret_that_is_never_shown():
    local = s3.S3Settings("http://127.0.0.1:9000", "b", "key-id", "the-secret", "eu-west-1", True)
    credentials, block = lesson_module("04_deploy_s3/create_blocks.py").build_blocks(local)
    assert block.bucket_name == "b" and block.credentials is credentials
    assert credentials.aws_client_parameters.endpoint_url == "http://127.0.0.1:9000"
    assert credentials.region_name == "eu-west-1"
    assert credentials.aws_secret_access_key.get_secret_value() == "the-secret"
    assert "the-secret" not in repr(block) and "the-secret" not in str(credentials.model_dump())


@pytest.fixture
def lesson(bucket, monkeypatch, tmp_path):
    """orchestrate_s3.py with its block loads answered by the mock bucket, its data and models in tmp_path."""
    from prefect_aws import S3Bucket

    monkeypatch.setattr(S3Bucket, "load", classmethod(lambda cls, name: bucket))
    monkeypatch.setenv("COURSE_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("COURSE_MODELS_DIR", str(tmp_path / "models"))
    return lesson_module("04_deploy_s3/orchestrate_s3.py")


def test_the_lessons_tasks_download_a_month_and_upload_a_model_through_the_block(lesson, bucket, tmp_path):
    month = b"PAR1 some bytes PAR1"
    bucket.write_path("data/green_tripdata_2023-01.parquet", month)
    downloaded = lesson.download_month.fn("2023-01", "course-bucket")
    assert Path(downloaded).read_bytes() == month

    model = b"PK a skops file stands in here"  # the task uploads the file as it is
    (tmp_path / "models").mkdir()
    (tmp_path / "models" / "trip_duration.skops").write_bytes(model)
    uri = lesson.upload_model.fn("2023-01", "2023-02", "course-bucket", synthetic=False)
    assert uri == "s3://course-unit/models/2023-01_2023-02/trip_duration.skops"
    assert bucket.read_path("models/2023-01_2023-02/trip_duration.skops") == model
    assert s3.objects(bucket, "data/") == [("data/green_tripdata_2023-01.parquet", len(month))]


def test_a_synthetic_stand_in_is_read_as_such_and_its_model_key_says_so(lesson, bucket, tmp_path):
    bucket.write_path("data/green_tripdata_2023-05.synthetic.parquet", b"PAR1 made up PAR1")
    downloaded = lesson.download_month.fn("2023-05", "course-bucket")  # no real 2023-05: the stand-in
    assert Path(downloaded).name == "green_tripdata_2023-05.synthetic.parquet"  # the mark reaches the report
    bucket.write_path("data/green_tripdata_2023-05.parquet", b"PAR1 real PAR1")
    assert Path(lesson.download_month.fn("2023-05", "course-bucket")).read_bytes() == b"PAR1 real PAR1"

    (tmp_path / "models").mkdir(exist_ok=True)
    (tmp_path / "models" / "trip_duration.skops").write_bytes(b"PK")
    uri = lesson.upload_model.fn("2023-05", "2023-06", "course-bucket", synthetic=True)
    assert uri == f"s3://course-unit/{s3.model_key('2023-05', '2023-06', synthetic=True)}"
    assert uri.endswith("/models/2023-05_2023-06.synthetic/trip_duration.skops")


def test_a_missing_object_is_named_and_nothing_is_left_behind(lesson, tmp_path):
    with pytest.raises(s3.S3Error, match=r"No object 'data/green_tripdata_2023-03.parquet' in bucket 'course-unit'"):
        lesson.download_month.fn("2023-03", "course-bucket")
    assert list((tmp_path / "data" / "from-s3").iterdir()) == []  # no target, no *.part file


def test_access_is_checked_before_anything_is_saved(bucket):
    check_access(bucket)  # the bucket exists: no error
    bucket.bucket_name = "no-such-bucket"
    with pytest.raises(s3.S3Error, match="Bucket 'no-such-bucket' does not exist at AWS S3"):
        check_access(bucket)


def test_a_missing_block_is_named_with_the_command_that_creates_it():
    missing = r"no S3Bucket block named 'course-bucket'.*create_blocks.py"
    with pytest.raises(s3.S3Error, match=missing), explained(block="course-bucket"):
        raise ValueError("Unable to find block document named course-bucket for block type s3-bucket")


@pytest.mark.parametrize(
    ("month", "says"),
    [("2023-13", "not a month"), ("2023-1", "not a month"), ("1999-01", "no green-taxi data for 1999-01")],
)
def test_month_keys_are_only_made_for_real_months(month, says):
    with pytest.raises(ValueError, match=says):
        lesson_module("04_deploy_s3/orchestrate_s3.py").month_key(month)


def test_a_file_path_is_not_a_month_in_the_bucket(tmp_path):
    path = tmp_path / "green_tripdata_2023-01.parquet"
    path.write_bytes(b"x")
    with pytest.raises(ValueError, match="the bucket holds months"):
        lesson_module("04_deploy_s3/orchestrate_s3.py").month_key(str(path))


@pytest.mark.parametrize("spelled", ["", "local", "{url}", "{url}/"])
def test_the_local_endpoint_however_it_is_named_is_the_one_make_s3_starts(monkeypatch, spelled):
    monkeypatch.setenv("COURSE_S3_ENDPOINT_URL", spelled.format(url=s3.local_url()))
    settings = s3.settings()
    assert settings.local and settings.endpoint_url == s3.local_url()
    assert settings.access_key_id == s3.LOCAL_KEY_ID
