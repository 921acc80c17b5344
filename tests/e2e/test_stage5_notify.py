"""Stage 5 notifications: emails from flow state hooks, delivered to a real SMTP server process."""

from __future__ import annotations

import pytest

from coursekit import runs
from coursekit.lesson.lessons import lesson_module
from coursekit.services import lifecycle, smtp
from tests.support.mail import mail_with
from tests.support.run import output, run

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
