"""Lesson 5c: one email, as a deployment an automation can start.

    python 05_cloud/send_email.py --subject "Hello" --body "From the course"

An automation's `send-notification` action needs a notification block (Slack, Teams, a webhook...);
prefect-email's `EmailServerCredentials` is not one. So the automation in email-on-run-end.yaml runs
this flow's deployment instead (`run-deployment`), with a subject and body it fills in from the run
that triggered it. The server decides that an email goes out; a worker sends it with the same block
and prebuilt task that notify.py's hooks use.

Exactly once. The server can fire an automation twice for one state change (on SQLite under load it
redelivers an event whose first delivery it could not record), and each firing starts this flow. An
email is a side effect that cannot be taken back, so the automation passes `once_key`, the run and its
final state: the sending task is cached on that key, under a lock, so a second run with the same key
finds the first one's record and sends nothing (its task run shows `Cached`). Without `once_key` (a
message typed on the command line), every run sends.

An automation made in the UI's wizard (the homework's "send yourself an email when a flow run completes")
can run this deployment too: the wizard's "Run a deployment" action sets no parameters, so the subject and
body are then the defaults below.
"""

from __future__ import annotations

import argparse
import smtplib

from prefect import flow
from prefect.cache_policies import NO_CACHE, CacheKeyFnPolicy
from prefect.locking.filesystem import FileSystemLockManager
from prefect_email import EmailServerCredentials, email_send_message

from coursekit.lesson import paths, run
from coursekit.services import smtp


def once_per(once_key: str) -> CacheKeyFnPolicy:
    """A cache policy whose key is `once_key`, checked and written under a lock (SERIALIZABLE): two runs at
    the same moment take turns, and the second finds the first one's record."""
    return CacheKeyFnPolicy(cache_key_fn=lambda context, parameters: f"email-{once_key}").configure(
        key_storage=paths.sent_emails_dir(),
        lock_manager=FileSystemLockManager(lock_files_directory=paths.sent_emails_dir() / "locks"),
        isolation_level="SERIALIZABLE",
    )


# What an automation made in the UI sends: the UI's "Run a deployment" action passes no parameters.
DEFAULT_SUBJECT = "A flow run ended (an automation made in the UI)"
DEFAULT_BODY = (
    "<p>An automation started send-email without a message of its own. Its trigger, under Automations in the "
    "UI, says which runs it reacts to; the automation's events say which run it was.</p>"
)


@flow(name="send-email", log_prints=True)
def send_email(
    subject: str = DEFAULT_SUBJECT, body: str = DEFAULT_BODY, email_to: str | None = None, once_key: str | None = None
) -> str:
    settings = smtp.settings()
    recipient = email_to or settings.email_to
    try:
        credentials = EmailServerCredentials.load(smtp.EMAIL_BLOCK)
    except ValueError as missing:
        raise ValueError(f"{missing}. Create it first: python 05_cloud/create_email_block.py") from None
    send = email_send_message.with_options(cache_policy=once_per(once_key) if once_key else NO_CACHE)
    # email_send_message is an async task: from a sync flow, submit it and wait for its result (a failure raises).
    sent = send.submit(
        subject=subject,
        msg=body,
        email_server_credentials=credentials,
        email_from=settings.email_from,
        email_to=recipient,
    )
    try:
        sent.result()
    except (OSError, smtplib.SMTPException) as error:  # the mail server is down, or refused the login
        raise smtp.explain(error, settings) from None  # the run's state names the server, not only "refused"
    if sent.state.name == "Cached":
        print(f"Not sent again: {subject!r} went out already for {once_key}")
    else:
        print(f"Sent {subject!r} to {recipient}")
    return recipient


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--subject", required=True)
    parser.add_argument("--body", required=True, help="the message; HTML is allowed")
    parser.add_argument("--to", default=None, help="recipient (default: COURSE_EMAIL_TO, learner@localhost)")
    args = parser.parse_args()
    run(send_email, subject=args.subject, body=args.body, email_to=args.to)
