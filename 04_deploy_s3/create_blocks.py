"""Lesson 4a: keep configuration and credentials in blocks, not in code.

    python 04_deploy_s3/create_blocks.py

Saves two blocks on the Prefect server:
- `aws-credentials/course-aws`: the key pair, the region and the endpoint (an AwsCredentials block);
- `s3-bucket/course-bucket`: the bucket, with a reference to the credentials block (an S3Bucket block).

Flows then load `S3Bucket.load("course-bucket")` and know nothing of keys or endpoints: moving from the
local endpoint to AWS is a change of blocks, not of code. The values come from the environment
(COURSE_S3_ENDPOINT_URL, COURSE_S3_BUCKET, AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_DEFAULT_REGION;
unset, the course's local endpoint), so no key is ever written into a file that git could pick up.

Run it again and the blocks are updated in place, never duplicated. It checks that the credentials can
list the bucket before it saves anything: a wrong key or a missing bucket leaves the server untouched.
"""

from __future__ import annotations

import sys

from prefect_aws import AwsClientParameters, AwsCredentials, S3Bucket

from coursekit import console
from coursekit.lesson import the_course_server_answers
from coursekit.lesson.s3_errors import S3Error, check_access
from coursekit.services import s3
from coursekit.services.lifecycle import ServiceError


def build_blocks(settings: s3.S3Settings) -> tuple[AwsCredentials, S3Bucket]:
    """The two blocks for these settings, built but not saved."""
    credentials = AwsCredentials(
        # None: boto3 looks further (~/.aws, an instance role), as any AWS tool does.
        aws_access_key_id=settings.access_key_id or None,
        aws_secret_access_key=settings.secret_access_key or None,  # a SecretStr: the UI and API show ****
        region_name=settings.region,
        # endpoint_url None means AWS itself; anything else is an S3-compatible endpoint (moto, MinIO, ...).
        aws_client_parameters=AwsClientParameters(endpoint_url=settings.endpoint_url),
    )
    return credentials, S3Bucket(bucket_name=settings.bucket, credentials=credentials)


def create_blocks() -> S3Bucket:
    settings = s3.settings()
    if settings.local:  # the embedded default: start the local endpoint and create its bucket
        s3.ensure_local_endpoint()
        s3.ensure_bucket(settings)
    credentials, bucket = build_blocks(settings)
    check_access(bucket)  # raises a clear S3Error before anything is saved

    # overwrite=True makes this re-runnable: the same names are updated, not duplicated.
    credentials.save("course-aws", overwrite=True)
    bucket.save("course-bucket", overwrite=True)  # stores a reference to the saved credentials block
    console.ok(f"Saved block aws-credentials/course-aws (endpoint {settings.where})")
    console.ok(f"Saved block s3-bucket/course-bucket (bucket {settings.bucket!r})")
    return bucket


if __name__ == "__main__":
    the_course_server_answers()  # blocks live on the server: one line if it is down, not a traceback
    try:
        create_blocks()
    except (S3Error, ServiceError) as error:  # a bad key or bucket; the local endpoint's port taken
        console.fail(str(error))
        sys.exit(1)
