"""Secrets stay secret: with credentials of the learner's own, lesson 4's scripts leave no trace of the secret.

The local S3 endpoint takes fixed, published keys; a learner's own S3-compatible endpoint (MinIO, AWS) takes
theirs from AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY. Here the session's endpoint plays that part under
another address (localhost), so the course treats it as the learner's own and uses the keys it is given.
After create_blocks.py and upload_data.py (a flow that loads the blocks and writes through them), the
secret key is searched for everywhere a learner or another user could read it: what the scripts printed,
the runs' logs, parameters and artifacts, the events, the blocks as the API (and so the UI) returns them,
and the course's log files.
"""

from __future__ import annotations

import json
import os
import uuid

import pytest
from prefect import get_client

from coursekit import config
from coursekit.services import s3
from tests.support.run import output, shell

pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("prefect_server")]


def every(read, **filters) -> list:
    """Every record a client reader returns, page by page (the API returns at most 200 at once)."""
    found, offset = [], 0
    while page := read(limit=200, offset=offset, **filters):
        found += page
        offset += len(page)
    return found


def every_event(client) -> list[dict]:
    response = client._client.post("/events/filter", json={"limit": 50}).json()
    events = response["events"]
    while response.get("next_page"):
        response = client._client.get(response["next_page"]).json()
        events += response["events"]
    return events


def everything_the_server_shows() -> dict[str, str]:
    """What the API returns, as text, for each kind of record the UI pages show."""
    with get_client(sync_client=True) as client:
        records = {
            "logs": [log.message for log in every(client.read_logs)],
            "flow run parameters": [run.parameters for run in every(client.read_flow_runs)],
            "task run parameters": [run.task_inputs for run in every(client.read_task_runs)],
            "artifacts": [(a.key, a.description, a.data) for a in every(client.read_artifacts)],
            "blocks": [d.data for d in every(client.read_block_documents, include_secrets=False)],
            "events": every_event(client),
        }
    return {kind: json.dumps(found, default=str) for kind, found in records.items()}


def test_a_learners_own_s3_secret_is_shown_nowhere_after_lesson_4(tmp_path):
    local = s3.settings()
    s3.ensure_local_endpoint()
    secret = f"course-secret-{uuid.uuid4().hex}"
    bucket = f"own-bucket-{uuid.uuid4().hex[:8]}"
    local.client().create_bucket(Bucket=bucket)  # a learner's bucket exists before the course uses it
    own = {
        **os.environ,
        "COURSE_S3_ENDPOINT_URL": local.endpoint_url.replace("127.0.0.1", "localhost"),
        "COURSE_S3_BUCKET": bucket,
        "AWS_ACCESS_KEY_ID": "AKIACOURSEOWNKEY0001",
        "AWS_SECRET_ACCESS_KEY": secret,
        "COURSE_DATA_DIR": str(tmp_path / "data"),
        "COURSE_MODELS_DIR": str(tmp_path / "models"),
    }
    printed = []
    try:
        for script in (
            "04_deploy_s3/create_blocks.py",
            "04_deploy_s3/upload_data.py --months 2023-01 2023-02",
        ):
            done = shell(f".venv/bin/python {script}", env=own)
            assert done.returncode == 0, output(done)
            printed.append(done.stdout + done.stderr)
        assert f"(bucket {bucket!r})" in printed[0], printed[0]  # the learner's endpoint and bucket were used

        with get_client(sync_client=True) as client:  # the secret is on the server, encrypted, for the flows
            stored = client.read_block_document_by_name("course-aws", "aws-credentials", include_secrets=True)
        assert stored.data["aws_secret_access_key"] == secret

        found = {"what the scripts printed": "\n".join(printed), **everything_the_server_shows()}
        log_dir = config.current().log_dir
        found |= {f"{p.name}": p.read_text(errors="replace") for p in log_dir.glob("*.log")}
        masked = '"aws_secret_access_key": "********"'
        # Every secret key a block holds is shown masked (course-aws, its copy in course-bucket, other tests' blocks).
        assert found["blocks"].count(masked) == found["blocks"].count('"aws_secret_access_key": ') >= 2, found["blocks"]
        shown = sorted(where for where, text in found.items() if secret in text)
        assert shown == [], f"the secret key is shown in: {', '.join(shown)}"
    finally:  # the session's blocks back as the other tests expect them
        restored = shell(".venv/bin/python 04_deploy_s3/create_blocks.py")
        assert restored.returncode == 0, output(restored)
