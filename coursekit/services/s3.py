"""The course's object storage: a local S3-compatible endpoint by default, real S3 when you say so.

The embedded default is moto's server mode on loopback (`python -m moto.server`), started in the
background like the Prefect server and stopped by `make stop`. Set these to use AWS S3, or any
S3-compatible endpoint, instead; no code changes:

    COURSE_S3_ENDPOINT_URL   https://s3.example.com  ("aws" for AWS itself); unset = the local endpoint
    COURSE_S3_BUCKET         the bucket (default: prefect-course)
    AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_DEFAULT_REGION   the usual AWS variables

Errors from the endpoint become S3Error messages that name the bucket, key and endpoint, never a secret.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass

import boto3
from botocore.exceptions import BotoCoreError, ClientError, EndpointConnectionError

from coursekit import config
from coursekit.services import lifecycle

SERVICE = "s3-endpoint"
DEFAULT_BUCKET = "prefect-course"
# The local endpoint accepts any key pair; these only look like credentials so that the code path is
# the same as with real ones. They open nothing anywhere else.
LOCAL_KEY_ID, LOCAL_SECRET = "course-local-key", "course-local-secret"


class S3Error(lifecycle.ServiceError):
    """Object storage could not do what was asked; the message says what is wrong and what to do."""


@dataclass(frozen=True)
class S3Settings:
    endpoint_url: str | None  # None: AWS S3 itself
    bucket: str
    access_key_id: str
    secret_access_key: str
    region: str
    local: bool

    @property
    def where(self) -> str:
        return self.endpoint_url or f"AWS S3 ({self.region})"

    def client(self):
        return boto3.client(
            "s3",
            endpoint_url=self.endpoint_url,
            aws_access_key_id=self.access_key_id,
            aws_secret_access_key=self.secret_access_key,
            region_name=self.region,
        )


def local_url() -> str:
    return config.current().s3_url


def settings() -> S3Settings:
    endpoint = os.environ.get("COURSE_S3_ENDPOINT_URL", "")
    # The local endpoint's own address, spelled out, is still the local endpoint: `make s3` starts it.
    local = endpoint in ("", "local") or endpoint.rstrip("/") == local_url()
    return S3Settings(
        endpoint_url=local_url() if local else (None if endpoint == "aws" else endpoint),
        bucket=os.environ.get("COURSE_S3_BUCKET", DEFAULT_BUCKET),
        access_key_id=LOCAL_KEY_ID if local else os.environ.get("AWS_ACCESS_KEY_ID", ""),
        secret_access_key=LOCAL_SECRET if local else os.environ.get("AWS_SECRET_ACCESS_KEY", ""),
        region=os.environ.get("AWS_DEFAULT_REGION", "us-east-1"),
        local=local,
    )


def ensure_local_endpoint() -> str:
    """Start the local S3 endpoint unless it is up; return its URL."""
    cfg = config.current()
    lifecycle.ensure(
        lifecycle.Service(
            name=SERVICE,
            what="the local S3 endpoint",
            host=cfg.host,
            port=cfg.s3_port,
            port_variable="COURSE_S3_PORT",
            command=[sys.executable, "-m", "moto.server", "-H", cfg.host, "-p", str(cfg.s3_port)],
            ready=lambda: lifecycle.answers(f"{cfg.s3_url}/moto-api/"),
        )
    )
    return cfg.s3_url


def ensure_bucket(s3: S3Settings) -> None:
    """The local endpoint gets its bucket created; a real bucket must exist already (we never create one)."""
    client = s3.client()
    try:
        client.head_bucket(Bucket=s3.bucket)
    except ClientError as error:
        if s3.local and error.response["Error"]["Code"] in ("404", "NoSuchBucket"):
            client.create_bucket(Bucket=s3.bucket)
            return
        raise explain(error, s3) from error
    except (BotoCoreError, EndpointConnectionError) as error:
        raise explain(error, s3) from error


def explain(error: Exception, s3: S3Settings, key: str | None = None) -> S3Error:
    """Turn a botocore error into a message that says what is wrong and what to do."""
    if isinstance(error, EndpointConnectionError):
        hint = "Start the local endpoint with `make s3`." if s3.local else "Check COURSE_S3_ENDPOINT_URL."
        return S3Error(f"Nothing answers at {s3.where}. {hint}")
    code = error.response["Error"]["Code"] if isinstance(error, ClientError) else ""
    # A download asks for the object's head first, and a missing object answers a bare 404.
    if code == "NoSuchKey" or (code == "404" and key):
        return S3Error(
            f"No object {key!r} in bucket {s3.bucket!r} at {s3.where}. "
            "Upload it first, e.g. `python 04_deploy_s3/upload_data.py --months 2023-01 2023-02`."
        )
    if code in ("404", "NoSuchBucket"):
        return S3Error(
            f"Bucket {s3.bucket!r} does not exist at {s3.where}. Create it, or set COURSE_S3_BUCKET to one that does."
        )
    if code in ("InvalidAccessKeyId", "SignatureDoesNotMatch", "AccessDenied", "403", "ExpiredToken"):
        shown = f"…{s3.access_key_id[-4:]}" if s3.access_key_id else "(none set)"
        return S3Error(
            f"{s3.where} refused the credentials (access key id {shown}): {code}. "
            "Check AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (the secret is not shown here)."
        )
    return S3Error(f"S3 request to {s3.where} failed: {error}")


# --- what the stage runner and the tests read back -------------------------------------------------
# The lesson files name their blocks, keys and events themselves; these say the same for the runner.

CREDENTIALS_BLOCK = "course-aws"  # aws-credentials/course-aws
BUCKET_BLOCK = "course-bucket"  # s3-bucket/course-bucket


def month_key(month: str, *, synthetic: bool = False) -> str:
    return f"data/green_tripdata_{month}{'.synthetic' if synthetic else ''}.parquet"


def model_key(train_month: str, val_month: str, *, synthetic: bool = False) -> str:
    """A model trained on synthetic months is kept apart from real ones, and says so in its key."""
    return f"models/{train_month}_{val_month}{'.synthetic' if synthetic else ''}/trip_duration.skops"


def objects(bucket, prefix: str = "") -> list[tuple[str, int]]:
    """(key, size) of every object under `prefix`."""
    from coursekit.lesson.s3_errors import explained

    with explained(bucket):  # boto3 itself: S3Bucket.list_objects logs "Listing objects in bucket ." for the root
        pages = bucket.credentials.get_s3_client().get_paginator("list_objects_v2")
        listed = [entry for page in pages.paginate(Bucket=bucket.bucket_name, Prefix=prefix) for entry in
                  page.get("Contents", [])]  # fmt: skip
    return [(entry["Key"], entry["Size"]) for entry in listed]
