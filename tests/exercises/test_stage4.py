"""04_deploy_s3 exercises. `make check-4` runs these against your files in 04_deploy_s3/exercises/.

The course's blocks are saved as create_blocks.py saves them (the local S3 endpoint is started if it is
the one in use), and every test object goes to a fresh key under `exercises/` in the bucket, removed
afterwards: nothing an earlier check left behind can make a test pass.
"""

from __future__ import annotations

import io
import os
import time
import uuid

import pytest
import skops.io as sio
from prefect import get_client
from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterFlowRunId, ArtifactFilterKey
from prefect.events.filters import EventAnyResourceFilter, EventFilter, EventNameFilter
from prefect.events.worker import EventsWorker
from prefect_aws import AwsCredentials, S3Bucket

from coursekit.lesson.lessons import lesson_module
from coursekit.lesson.taxi_synthetic import synthetic_month
from coursekit.services import s3
from tests.support import exercises

pytestmark = pytest.mark.usefixtures("prefect_server")


@pytest.fixture(scope="module")
def course_blocks(prefect_server: str) -> S3Bucket:
    """The blocks course-aws and course-bucket, saved as `make stage-4` saves them; the bucket block is returned."""
    settings = s3.settings()
    if settings.local:
        s3.ensure_local_endpoint()
        s3.ensure_bucket(settings)
    return lesson_module("04_deploy_s3/create_blocks.py").create_blocks()


@pytest.fixture
def put_object(course_blocks: S3Bucket):
    """put_object(key, body) writes an object to the course bucket; every object written is deleted afterwards."""
    settings = s3.settings()
    client = settings.client()
    written: list[str] = []

    def put(key: str, body: bytes) -> str:
        client.put_object(Bucket=settings.bucket, Key=key, Body=body)
        written.append(key)
        return key

    yield put
    for key in written:
        client.delete_object(Bucket=settings.bucket, Key=key)


def fresh_prefix() -> str:
    return f"exercises/{uuid.uuid4().hex}"


@pytest.mark.exercise("04_deploy_s3", "ex1_bucket_block")
def test_saved_block_references_the_credentials_and_reads_the_object(exercise, put_object):
    settings = s3.settings()
    content = f"checked by make check-4: {uuid.uuid4()}"
    key = put_object(f"{fresh_prefix()}/note.txt", content.encode())

    text = exercise.save_block_and_read(settings.bucket, key)
    assert text == content, f"read {text!r} through the block, not the object's text {content!r}"

    block = S3Bucket.load("ex1-bucket")
    assert block.bucket_name == settings.bucket, f"the block points at bucket {block.bucket_name!r}"
    course_aws = AwsCredentials.load(s3.CREDENTIALS_BLOCK)
    assert block.credentials.aws_access_key_id == course_aws.aws_access_key_id, "not the credentials of course-aws"
    with get_client(sync_client=True) as client:
        document = client.read_block_document_by_name("ex1-bucket", "s3-bucket", include_secrets=False)
    referenced = document.block_document_references.get("credentials", {}).get("block_document", {})
    assert referenced.get("name") == s3.CREDENTIALS_BLOCK, (
        "the block holds a copy of the credentials, not a reference to the saved block course-aws: "
        'pass credentials=AwsCredentials.load("course-aws")'
    )


@pytest.mark.exercise("04_deploy_s3", "ex2_s3_report")
def test_rmse_of_the_model_from_the_bucket_is_published_as_an_artifact(exercise, put_object):
    pipeline = lesson_module("02_workflow/orchestrate.py")
    X_train, y_train = pipeline.prepare_features.fn(synthetic_month(2023, 1, rows=2_000))
    model = pipeline.train_model.fn(X_train, y_train)
    month = synthetic_month(2023, 2, rows=2_000)
    buffer = io.BytesIO()
    month.to_parquet(buffer, index=False)
    prefix = fresh_prefix()
    model_key = put_object(f"{prefix}/trip_duration.skops", sio.dumps(model))
    month_key = put_object(f"{prefix}/green_tripdata_2023-02.parquet", buffer.getvalue())
    expected = pipeline.evaluate.fn(model, *pipeline.prepare_features.fn(month))

    state = exercise.score_from_bucket(model_key, month_key, return_state=True)
    assert state.is_completed(), state.message
    rmse = state.result()
    assert rmse == pytest.approx(expected, abs=1e-6), f"returned {rmse}, but the model scores {expected} on the month"

    with get_client(sync_client=True) as client:
        artifacts = client.read_artifacts(
            artifact_filter=ArtifactFilter(
                key=ArtifactFilterKey(any_=["s3-rmse-report"]),
                flow_run_id=ArtifactFilterFlowRunId(any_=[state.state_details.flow_run_id]),
            )
        )
    assert artifacts, 'the run published no artifact with the key "s3-rmse-report"'
    artifact = artifacts[0]
    assert artifact.type == "markdown", f"a {artifact.type} artifact, not markdown"
    assert f"{rmse:.2f}" in artifact.data, f"{rmse:.2f} (two decimals) not in {artifact.data!r}"
    for key in (model_key, month_key):
        assert key in artifact.data, f"the report does not name {key}: {artifact.data!r}"


@pytest.mark.parametrize("target", ["starter", "solution"])
def test_a_crafted_model_in_the_bucket_is_refused_as_the_exercise_is_given_and_once_solved(target, put_object, request):
    """Write access to a bucket must not be the power to run code wherever a model is loaded from it.

    Not an exercise of its own: the starter already loads with skops, and the solution must keep it so."""
    if request.config.getoption("--exercises") == "learner":
        pytest.skip("make check-4 checks your exercises; this checks the course's own files")
    exercise = exercises.load("04_deploy_s3", "ex2_s3_report", target=target)
    pipeline = lesson_module("02_workflow/orchestrate.py")
    X, y = pipeline.prepare_features.fn(synthetic_month(2023, 1, rows=1_000))
    crafted = {"model": pipeline.train_model.fn(X, y), "payload": os.system}  # a function a loader would call
    month = io.BytesIO()
    synthetic_month(2023, 2, rows=500).to_parquet(month, index=False)
    prefix = fresh_prefix()
    model_key = put_object(f"{prefix}/trip_duration.skops", sio.dumps(crafted))
    month_key = put_object(f"{prefix}/green_tripdata_2023-02.parquet", month.getvalue())

    state = exercise.score_from_bucket(model_key, month_key, return_state=True)
    assert state.is_failed(), "a model file carrying os.system was loaded"
    assert "system" in state.message and "Untrusted types" in state.message, state.message


def events_about(resource_id: str, name: str, timeout: float = 30) -> list:
    """The events called `name` about a resource, once the server has stored one (or [] at the timeout).

    emit_event only queues the event; a background worker sends it and the server stores it a moment later.
    """
    EventsWorker.drain_all(timeout=5)
    deadline = time.monotonic() + timeout
    with get_client(sync_client=True) as client:
        while True:
            page = client.read_events(
                filter=EventFilter(
                    event=EventNameFilter(name=[name]), any_resource=EventAnyResourceFilter(id=[resource_id])
                ),
                limit=10,
            )
            if page.events or time.monotonic() > deadline:
                return page.events
            time.sleep(0.5)


@pytest.mark.exercise("04_deploy_s3", "ex3_model_event")
def test_model_event_reaches_the_server_with_the_rmse(exercise):
    bucket, key, rmse = s3.settings().bucket, f"{fresh_prefix()}/trip_duration.skops", 4.321
    resource_id = f"s3://{bucket}/{key}"

    emitted = exercise.announce_model(bucket, key, rmse)
    assert emitted is not None, "announce_model returned None: return the event emit_event returns"
    assert emitted.event == "course.taxi.model.uploaded", f"emitted {emitted.event!r}"
    assert emitted.resource.id == resource_id, f"the event is about {emitted.resource.id!r}, not {resource_id!r}"

    stored = events_about(resource_id, "course.taxi.model.uploaded")
    assert stored, f"the server stored no course.taxi.model.uploaded event about {resource_id} within 30 s"
    assert [event.id for event in stored] == [emitted.id], "the server stored other events than the one returned"
    assert stored[0].payload.get("rmse") == rmse, f"payload {stored[0].payload}, not rmse={rmse}"


@pytest.mark.exercise("04_deploy_s3", "ex4_months_block")
# The solution and the starter define the same block type in one test process; Prefect says it replaces it.
@pytest.mark.filterwarnings("ignore:Type 'TaxiMonths'.*will be overridden:UserWarning")
def test_the_flow_reads_the_months_saved_in_the_block_at_each_run(exercise):
    from prefect.blocks.core import Block

    assert issubclass(exercise.TaxiMonths, Block), "TaxiMonths must subclass prefect.blocks.core.Block"
    fields = exercise.TaxiMonths.model_fields
    assert {"train_month", "val_month"} <= set(fields), f"TaxiMonths has the fields {sorted(fields)}"

    exercise.save_months("2023-03", "2023-04")
    slug = exercise.TaxiMonths.get_block_type_slug()
    with get_client(sync_client=True) as client:
        saved = client.read_block_document_by_name(exercise.BLOCK_NAME, block_type_slug=slug)
    assert {k: saved.data.get(k) for k in ("train_month", "val_month")} == {
        "train_month": "2023-03",
        "val_month": "2023-04",
    }, f"the server holds {saved.data} under {exercise.BLOCK_NAME!r}"
    assert tuple(exercise.months_from_block()) == ("2023-03", "2023-04")

    # Changed on the server, as an edit in the UI's Blocks page would: the same flow code follows it.
    exercise.TaxiMonths(train_month="2023-05", val_month="2023-06").save(exercise.BLOCK_NAME, overwrite=True)
    assert tuple(exercise.months_from_block()) == ("2023-05", "2023-06"), (
        "the flow returned the old months after the block changed: load the block inside the flow"
    )
