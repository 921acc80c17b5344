"""Lesson 4's errors in one line: what object storage refused, and what to do about it.

The lesson files call prefect-aws themselves (`S3Bucket.load`, `download_object_to_path`,
`upload_from_path`); wrapped in `explained(...)`, a botocore error or a missing block becomes an
S3Error that names the block, bucket, key and endpoint (never a secret) and says what to do:

    with explained(block="course-bucket"):
        bucket = S3Bucket.load("course-bucket")
    with explained(bucket, key=key):
        bucket.download_object_to_path(key, target)
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from coursekit import config
from coursekit.services.s3 import S3Error, S3Settings, explain, local_url

__all__ = ["S3Error", "check_access", "explained", "has_object", "settings_of"]


@contextmanager
def explained(bucket: Any = None, *, key: str | None = None, block: str | None = None) -> Iterator[None]:
    """Turn what goes wrong inside the block into one S3Error that says what is wrong and what to do."""
    try:
        yield
    except ValueError as error:
        if block is None or "Unable to find block document" not in str(error):
            raise
        raise S3Error(
            f"There is no S3Bucket block named {block!r} on the Prefect server at {config.current().api_url}. "
            "Create the course's blocks with `python 04_deploy_s3/create_blocks.py` (make stage-4 does)."
        ) from None
    except (ClientError, BotoCoreError) as error:
        if bucket is None:
            raise
        raise explain(error, settings_of(bucket), key=key) from error


def settings_of(bucket: Any) -> S3Settings:
    """What an S3Bucket block points at, for error messages (the secret stays inside the block)."""
    credentials = bucket.credentials
    endpoint = credentials.aws_client_parameters.endpoint_url if credentials.aws_client_parameters else None
    return S3Settings(
        endpoint_url=str(endpoint) if endpoint else None,
        bucket=bucket.bucket_name,
        access_key_id=credentials.aws_access_key_id or "",
        secret_access_key="",
        region=credentials.region_name or "us-east-1",
        local=bool(endpoint) and str(endpoint).rstrip("/") == local_url(),
    )


def check_access(bucket: Any) -> None:
    """Fail with a clear message unless the bucket exists and the credentials may list it.

    A flow calls it first, so that a wrong key, a missing bucket or an endpoint that is down fails in a
    second, before any download.
    """
    with explained(bucket):
        bucket.credentials.get_s3_client().list_objects_v2(Bucket=bucket.bucket_name, MaxKeys=1)


def has_object(bucket: Any, key: str) -> bool:
    """Whether the bucket holds `key` (a HEAD request); any other error than "not found" is explained."""
    with explained(bucket, key=key):
        try:
            bucket.credentials.get_s3_client().head_object(Bucket=bucket.bucket_name, Key=key)
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") in {"404", "NoSuchKey", "NotFound"}:
                return False
            raise
    return True
