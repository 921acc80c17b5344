"""Stage 5 notifications: emails from flow state hooks, delivered to a real SMTP server process."""

from __future__ import annotations

import time

import pytest
from prefect import get_client
from prefect.client.schemas.filters import FlowFilter, FlowFilterName, LogFilter, LogFilterFlowRunId
from prefect.events import emit_event

from coursekit import runs
from coursekit.lesson.lessons import lesson_module
from coursekit.services import lifecycle, smtp
from tests.support.mail import mail_with
from tests.support.run import output, prefect, run

pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("prefect_server")]


@pytest.fixture(scope="module")
def email_block(prefect_server: str):
    return lesson_module("05_cloud/create_email_block.py").create_email_block()


def wait_for_mail(subject_part: str) -> smtp.Received:
    mail = mail_with(subject_part, timeout=30)
    assert mail is not None, f"no mail with {subject_part!r} in its subject; received: {smtp.received()}"
    return mail


@pytest.mark.readme("python 05_cloud/create_email_block.py")
def test_create_email_block_is_rerunnable():
    for _ in range(2):
        done = run("python", "05_cloud/create_email_block.py")
        assert done.returncode == 0, output(done)
        assert "Saved block email-server-credentials/course-email" in done.stdout


@pytest.mark.usefixtures("email_block")
def test_a_completed_and_a_failed_run_each_send_an_email():
    notify = lesson_module("05_cloud/notify.py")
    completed = notify.notified_training(train_month="2023-01", val_month="2023-02", return_state=True)
    assert completed.is_completed(), completed.message
    name = runs.read_flow_run(completed.state_details.flow_run_id).name
    mail = wait_for_mail(f"[hook] notified-training run {name}: Completed")
    assert mail.sender == smtp.settings().email_from and mail.to == smtp.settings().email_to

    failed = notify.notified_training(train_month="2023-01", val_month="2023-13", return_state=True)
    assert failed.is_failed()
    mail = wait_for_mail(
        f"[hook] notified-training run {runs.read_flow_run(failed.state_details.flow_run_id).name}: Failed"
    )
    assert "'2023-13' is not a month" in mail.first_lines
    assert f"/runs/flow-run/{failed.state_details.flow_run_id}" in mail.first_lines


def test_a_mail_server_that_is_down_is_named_and_no_block_is_saved(monkeypatch):
    port = lifecycle.free_port()
    monkeypatch.setenv("COURSE_SMTP_SERVER", "127.0.0.1")
    monkeypatch.setenv("COURSE_SMTP_PORT", str(port))
    monkeypatch.setenv("COURSE_SMTP_TYPE", "INSECURE")
    with pytest.raises(smtp.SMTPError, match=f"No SMTP server answers at 127.0.0.1:{port}. Check COURSE_SMTP_SERVER"):
        lesson_module("05_cloud/create_email_block.py").create_email_block()


def test_a_send_email_run_and_a_hook_whose_mail_server_is_down_name_it(monkeypatch):
    """The course's mail server gone mid-stage: the runs say where they tried, and how to bring it back."""
    from prefect import flow
    from prefect_email import EmailServerCredentials

    port = lifecycle.free_port()  # nothing listens there: the local server as it is once it has stopped
    monkeypatch.setenv("COURSE_SMTP_PORT", str(port))
    monkeypatch.setattr(smtp, "EMAIL_BLOCK", "course-email-down")  # a block of the test's own, not the stage's
    EmailServerCredentials(smtp_server="127.0.0.1", smtp_port=port, smtp_type="INSECURE").save(
        "course-email-down", overwrite=True
    )
    said = f"No SMTP server answers at 127.0.0.1:{port}. `make smtp` starts the course's local one"

    sent = lesson_module("05_cloud/send_email.py").send_email(subject="down", body="b", return_state=True)
    assert sent.is_failed() and said in sent.message, sent.message

    notify = lesson_module("05_cloud/notify.py")
    hooked = flow(name="hooked-while-down")(lambda: 1).with_options(on_completion=[notify.email_the_outcome])
    state = hooked(return_state=True)
    assert state.is_completed()  # a hook's failure leaves the run's state as it was, and is logged
    with get_client(sync_client=True) as client:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            logs = client.read_logs(
                log_filter=LogFilter(flow_run_id=LogFilterFlowRunId(any_=[state.state_details.flow_run_id]))
            )
            if any(said in (log.message or "") for log in logs):
                break
            time.sleep(1)
    assert any(said in log.message for log in logs), [log.message for log in logs]


# --- exactly once: the automation may fire twice for one run end --------------------------------------


def send_email_runs(flow_run_id: str) -> list:
    """The send-email runs the automation started about `flow_run_id` (their once_key names it)."""
    with get_client(sync_client=True) as client:
        return [
            run
            for run in client.read_flow_runs(flow_filter=FlowFilter(name=FlowFilterName(any_=["send-email"])))
            if str(run.parameters.get("once_key", "")).startswith(flow_run_id)
        ]


@pytest.mark.usefixtures("email_block", "course_worker")
def test_a_run_end_delivered_twice_fires_the_automation_twice_and_sends_one_email():
    deployed = prefect("--no-prompt", "deploy", "--prefect-file", "05_cloud/prefect.yaml", "--name", "course-email")
    assert deployed.returncode == 0, deployed.stdout + deployed.stderr
    from coursekit.cli.stages import stage5

    stage5.apply_automation()  # email-on-run-end, with the deployment's id filled in, as make stage-5 applies it
    notify = lesson_module("05_cloud/notify.py")
    completed = notify.notified_training(train_month="2023-01", val_month="2023-02", return_state=True)
    assert completed.is_completed(), completed.message
    flow_run = runs.read_flow_run(completed.state_details.flow_run_id)
    with get_client(sync_client=True) as client:
        flow = client.read_flow(flow_run.flow_id)
    # The server's own event for this run end, delivered a second time: what a redelivery looks like.
    emit_event(
        event="prefect.flow-run.Completed",
        resource={"prefect.resource.id": f"prefect.flow-run.{flow_run.id}", "prefect.resource.name": flow_run.name},
        related=[
            {
                "prefect.resource.id": f"prefect.flow.{flow.id}",
                "prefect.resource.role": "flow",
                "prefect.resource.name": flow.name,
            }
        ],  # fmt: skip
    )
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        started = send_email_runs(str(flow_run.id))
        if len(started) == 2 and all(run.state and run.state.is_final() for run in started):
            break
        time.sleep(1)
    assert [run.state_name for run in started] == ["Completed", "Completed"], started
    assert {run.parameters["once_key"] for run in started} == {f"{flow_run.id}-Completed"}
    time.sleep(2)  # a second email, if one were sent, would have arrived by now
    subject = f"[automation] notified-training run {flow_run.name}: Completed"
    assert [m.subject for m in smtp.received() if m.subject == subject] == [subject]  # exactly one
    # The second run found the first one's record under the same key: its sending task run is Cached.
    assert sorted(runs.cached_task_runs(run.id) for run in started) == [0, 1]
