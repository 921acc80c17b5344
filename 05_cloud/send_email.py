"""Lesson 5c: one email, as a deployment an automation can start.

    python 05_cloud/send_email.py --subject "Hello" --body "From the course"

An automation's `send-notification` action needs a notification block (Slack, Teams, a webhook...);
prefect-email's `EmailServerCredentials` is not one. So the automation in email-on-run-end.yaml runs
this flow's deployment instead (`run-deployment`), with a subject and body it fills in from the run
that triggered it. The server decides that an email goes out; a worker sends it with the same block
and prebuilt task that notify.py's hooks use.
"""

from __future__ import annotations

import argparse

from prefect import flow
from prefect_email import EmailServerCredentials, email_send_message

from coursekit.lesson import run
from coursekit.services import smtp


@flow(name="send-email", log_prints=True)
def send_email(subject: str, body: str, email_to: str | None = None) -> str:
    settings = smtp.settings()
    recipient = email_to or settings.email_to
    try:
        credentials = EmailServerCredentials.load(smtp.EMAIL_BLOCK)
    except ValueError as missing:
        raise ValueError(f"{missing}. Create it first: python 05_cloud/create_email_block.py") from None
    # email_send_message is an async task: from a sync flow, submit it and wait for its result (a failure raises).
    email_send_message.submit(
        subject=subject,
        msg=body,
        email_server_credentials=credentials,
        email_from=settings.email_from,
        email_to=recipient,
    ).result()
    print(f"Sent {subject!r} to {recipient}")
    return recipient


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--subject", required=True)
    parser.add_argument("--body", required=True, help="the message; HTML is allowed")
    parser.add_argument("--to", default=None, help="recipient (default: COURSE_EMAIL_TO, learner@localhost)")
    args = parser.parse_args()
    run(send_email, subject=args.subject, body=args.body, email_to=args.to)
