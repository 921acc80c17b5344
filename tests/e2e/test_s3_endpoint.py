"""The local S3 endpoint: a real moto server process on loopback, started, used, and stopped."""

from __future__ import annotations

import pytest

from coursekit.services import lifecycle, s3

pytestmark = pytest.mark.e2e


def test_local_endpoint_starts_once_creates_the_bucket_and_stores_objects(monkeypatch):
    monkeypatch.delenv("COURSE_S3_ENDPOINT_URL", raising=False)
    lifecycle.stop(s3.SERVICE)  # an endpoint an earlier test of this process started: this test starts its own
    try:
        url = s3.ensure_local_endpoint()
        assert s3.ensure_local_endpoint() == url  # a second call finds it running
        with monkeypatch.context() as moved:  # asked on another port while running: said, not waited on
            moved.setenv("COURSE_S3_PORT", str(lifecycle.free_port()))
            with pytest.raises(lifecycle.ServiceError, match=r"already running on port \d+, but COURSE_S3_PORT"):
                s3.ensure_local_endpoint()
        settings = s3.settings()
        s3.ensure_bucket(settings)
        s3.ensure_bucket(settings)  # idempotent
        client = settings.client()
        client.put_object(Bucket=settings.bucket, Key="data/hello.txt", Body=b"hello")
        assert client.get_object(Bucket=settings.bucket, Key="data/hello.txt")["Body"].read() == b"hello"
    finally:
        assert lifecycle.stop(s3.SERVICE)
    with pytest.raises(s3.S3Error, match="Nothing answers at http://127.0.0.1"):
        s3.ensure_bucket(s3.settings())
