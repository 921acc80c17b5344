"""Exercise 1: save a block of your own, then use it by name.

create_blocks.py saved the credentials block `course-aws` (key pair, region, endpoint) and the bucket
block `course-bucket`. Save another S3Bucket block, "ex1-bucket", for the bucket `save_block_and_read`
is given, that uses the saved `course-aws`: load it, rather than building new credentials, so the bucket
block stores a reference to it and a key changed in `course-aws` reaches every block that uses it. Then
load your block back by its name, as a flow would, read the object `key` through it and return its text.
Check with `make check-4`.
"""

from __future__ import annotations

from prefect_aws import AwsCredentials, S3Bucket

from coursekit.services import s3

BLOCK_NAME = "ex1-bucket"  # s3-bucket/ex1-bucket in the UI's Blocks page


def save_block_and_read(bucket_name: str, key: str) -> str:
    # A loaded block knows its document on the server, so saving the bucket block stores a reference
    # to course-aws, not a copy of its keys. overwrite=True: a second call updates the same block.
    credentials = AwsCredentials.load("course-aws")
    S3Bucket(bucket_name=bucket_name, credentials=credentials).save(BLOCK_NAME, overwrite=True)

    bucket = S3Bucket.load(BLOCK_NAME)  # what any flow or worker does: a name, no keys in the code
    return bucket.read_path(key).decode()


if __name__ == "__main__":
    settings = s3.settings()
    settings.client().put_object(Bucket=settings.bucket, Key="exercises/hello.txt", Body=b"Hello from the bucket")
    print(save_block_and_read(settings.bucket, "exercises/hello.txt"))
