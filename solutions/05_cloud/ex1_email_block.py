"""Exercise 1, solved: an email server in a block, and one message sent with the prebuilt task."""

from __future__ import annotations

from prefect import flow
from prefect_email import EmailServerCredentials, email_send_message

BLOCK_NAME = "ex1-email"


def save_email_block(server: str, port: int) -> EmailServerCredentials:
    block = EmailServerCredentials(smtp_server=server, smtp_port=port, smtp_type="INSECURE")
    block.save(BLOCK_NAME, overwrite=True)
    return block


@flow(name="ex1-send-hello")
def send_hello(subject: str, email_from: str, email_to: str) -> None:
    email_send_message.submit(  # an async task: from a sync flow, submit it and wait for the result
        subject=subject,
        msg="<p>Sent by the ex1-email block.</p>",
        email_server_credentials=EmailServerCredentials.load(BLOCK_NAME),
        email_from=email_from,
        email_to=email_to,
    ).result()
