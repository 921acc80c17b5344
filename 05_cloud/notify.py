"""Lesson 5b: be told when a flow run ends, by email, from the flow's own state hooks.

    python 05_cloud/notify.py                      # trains, and mails "Completed"
    python 05_cloud/notify.py --val 2023-13        # fails at once, and mails "Failed" with the reason

`on_completion` and `on_failure` hooks run in the flow's process right after the run reaches that
state. Here both call prefect-email's `email_send_message` task with the `course-email` block
(create_email_block.py). A hook sees the flow, the run and its final state: enough for a subject,
a reason and a link. The UI shows each hook's outcome in the run's logs.

Hooks only run if the flow's process lives to run them; a crashed worker or a killed process sends
nothing. An automation on the server (email-on-run-end.yaml) covers those too.
"""

from __future__ import annotations

import argparse
import smtplib

from prefect import flow
from prefect_email import EmailServerCredentials, email_send_message

from coursekit import runs
from coursekit.lesson import run
from coursekit.lesson.lessons import training_flow
from coursekit.services import smtp


async def email_the_outcome(flow, flow_run, state) -> None:
    """A state hook: one email per finished run, saying how it ended and where to look."""
    settings = smtp.settings()
    link = runs.ui_link(flow_run.id)
    try:
        await email_send_message(
            subject=f"[hook] {flow.name} run {flow_run.name}: {state.name}",
            msg=f"<p>{flow.name} run {flow_run.name} ended {state.name}: {state.message or ''}</p><p>{link}</p>",
            email_server_credentials=await EmailServerCredentials.aload(smtp.EMAIL_BLOCK),
            email_from=settings.email_from,
            email_to=settings.email_to,
        )
    except (OSError, smtplib.SMTPException) as error:  # Prefect logs a hook's error; the run's state stays
        raise smtp.explain(error, settings) from None


@flow(name="notified-training", log_prints=True, on_completion=[email_the_outcome], on_failure=[email_the_outcome])
def notified_training(train_month: str = "2023-01", val_month: str = "2023-02") -> float:
    # The lesson-2 training flow, called from this flow: a subflow, nested under this run in the UI.
    return training_flow()(train_month=train_month, val_month=val_month)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--train", default="2023-01", help="training month (YYYY-MM)")
    parser.add_argument("--val", default="2023-02", help="validation month (YYYY-MM)")
    args = parser.parse_args()
    run(notified_training, train_month=args.train, val_month=args.val)
