"""05_cloud exercises. `make check-5` runs these against your files in 05_cloud/exercises/.

Every message is found by a subject made fresh for the test, and every automation a test creates is
deleted afterwards: nothing an earlier check left behind can make a test pass.
"""

from __future__ import annotations

import os
import time
import uuid
from uuid import UUID

import pytest
from prefect import flow, get_client
from prefect_dask import DaskTaskRunner
from prefect_email import EmailServerCredentials

from coursekit.lesson.lessons import lesson_module
from coursekit.services import smtp
from tests.support.mail import mail_with
from tests.support.run import output, prefect

pytestmark = pytest.mark.usefixtures("prefect_server")


@pytest.fixture(scope="module")
def local_mail(prefect_server: str) -> smtp.SMTPSettings:
    settings = smtp.settings()
    if not settings.local:
        pytest.skip(f"COURSE_SMTP_SERVER points at {settings.where}: the checks read the local server's mailbox")
    smtp.ensure_local_server()
    return settings


@pytest.mark.exercise("05_cloud", "ex1_email_block")
def test_block_is_saved_and_a_message_arrives(exercise, local_mail):
    exercise.save_email_block(local_mail.server, local_mail.port)
    saved = EmailServerCredentials.load("ex1-email")
    assert (saved.smtp_server, saved.smtp_port) == (local_mail.server, local_mail.port)
    assert saved.smtp_type.name == "INSECURE", f"smtp_type is {saved.smtp_type.name}; the local server needs INSECURE"

    subject = f"ex1 hello {uuid.uuid4().hex[:8]}"
    exercise.send_hello(subject, local_mail.email_from, local_mail.email_to)
    mail = mail_with(subject, timeout=15)
    assert mail is not None, f"no message with the subject {subject!r} reached the local SMTP server"
    assert (mail.sender, mail.to) == (local_mail.email_from, local_mail.email_to)


@pytest.fixture(scope="module")
def send_email_deployment(local_mail: smtp.SMTPSettings) -> UUID:
    """send-email/course-email deployed from 05_cloud/prefect.yaml, with the block it sends through."""
    from coursekit.services import workers

    workers.ensure_pool("course-pool")  # prefect deploy refuses a deployment whose pool does not exist
    lesson_module("05_cloud/create_email_block.py").create_email_block()
    deployed = prefect("--no-prompt", "deploy", "--prefect-file", "05_cloud/prefect.yaml", "--name", "course-email")
    assert deployed.returncode == 0, output(deployed)
    with get_client(sync_client=True) as client:
        return client.read_deployment_by_name("send-email/course-email").id


@flow(name="ex2-sometimes-fails")
def sometimes_fails(fail: bool) -> None:
    if fail:
        raise RuntimeError("failing on purpose")


@pytest.mark.exercise("05_cloud", "ex2_email_on_failure")
def test_a_failed_run_is_emailed_and_a_completed_one_is_not(exercise, send_email_deployment, course_worker):
    from prefect.automations import Automation

    name = f"ex2-email-on-failure-{uuid.uuid4().hex[:8]}"
    automation = exercise.email_on_failure(name, "ex2-sometimes-fails", send_email_deployment)
    assert isinstance(automation, Automation), f"email_on_failure returned {automation!r}, not an Automation"
    created = automation.create()
    try:
        time.sleep(2)  # the server loads new automations every few seconds
        completed = sometimes_fails(fail=False, return_state=True)
        failed = sometimes_fails(fail=True, return_state=True)
        with get_client(sync_client=True) as client:
            failed_name = client.read_flow_run(failed.state_details.flow_run_id).name
            completed_name = client.read_flow_run(completed.state_details.flow_run_id).name
        mail = mail_with(failed_name, timeout=90)
        assert mail is not None, (
            f"no email about the failed run {failed_name!r} arrived within 90 s; "
            f"subjects received: {[m.subject for m in smtp.received()][-5:]}"
        )
        assert mail_with(completed_name, timeout=5) is None, "a completed run was emailed too"
    finally:
        created.delete()


@pytest.mark.exercise("05_cloud", "ex4_email_on_upload")
def test_an_upload_event_about_the_bucket_is_emailed_with_its_months(exercise, send_email_deployment, course_worker):
    from prefect.automations import Automation
    from prefect.events import emit_event

    tag = uuid.uuid4().hex[:8]
    bucket, other_bucket = f"ex4-{tag}", f"ex4-other-{tag}"
    # Months no other test uses, so the mailbox cannot hold an older email that looks like this one.
    year = 2100 + int(tag[:4], 16) % 800
    mine, theirs = (f"{year}-07", f"{year}-08"), (f"{year}-10", f"{year}-11")
    automation = exercise.email_on_upload(f"ex4-email-on-upload-{tag}", bucket, send_email_deployment)
    assert isinstance(automation, Automation), f"email_on_upload returned {automation!r}, not an Automation"
    created = automation.create()
    try:
        time.sleep(2)  # the server loads new automations every few seconds
        for name, (train, val) in ((other_bucket, theirs), (bucket, mine)):
            emit_event(
                event=exercise.DATA_UPLOADED,
                resource={"prefect.resource.id": f"s3://{name}/data", "prefect.resource.name": "taxi data"},
                payload={
                    "keys": [f"data/{train}.parquet", f"data/{val}.parquet"],
                    "train_month": train,
                    "val_month": val,
                },
            )
        mail = mail_with(mine[0], timeout=90)
        assert mail is not None, (
            f"no email about the upload of {mine[0]} to {bucket} arrived within 90 s; "
            f"subjects received: {[m.subject for m in smtp.received()][-5:]}"
        )
        assert mine[1] in mail.subject, f"the subject {mail.subject!r} does not name the validation month {mine[1]}"
        assert mail_with(theirs[0], timeout=5) is None, f"the upload to another bucket ({other_bucket}) was emailed too"
        assert len([m for m in smtp.received() if mine[0] in m.subject]) == 1, "the upload was emailed more than once"
    finally:
        created.delete()


@pytest.mark.e2e  # it starts Dask worker processes, each importing Prefect: tens of seconds
@pytest.mark.exercise("05_cloud", "ex3_dask_map")
def test_squares_are_computed_in_dask_worker_processes(exercise):
    runner = exercise.square_all.task_runner
    assert isinstance(runner, DaskTaskRunner), f"square_all runs its tasks on {type(runner).__name__}, not Dask"
    results = exercise.square_all(list(range(8)))
    assert [square for square, _ in results] == [n * n for n in range(8)]
    assert os.getpid() not in {pid for _, pid in results}, "some squares were computed in the flow's own process"
