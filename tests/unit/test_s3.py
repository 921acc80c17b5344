"""Object storage settings and errors: local by default, real S3 by env, messages that keep secrets."""

from __future__ import annotations

import boto3
import pytest
from botocore.exceptions import ClientError, EndpointConnectionError
from moto import mock_aws

from coursekit import s3


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
