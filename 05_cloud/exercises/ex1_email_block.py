"""Exercise 1: an email server in a block, and one message sent with the prebuilt task.

create_email_block.py saves the course's block. Do it yourself for the server you are given: make
`save_email_block` save an EmailServerCredentials block named "ex1-email" for `server`:`port` with no
login and smtp_type "INSECURE" (the course's local server speaks plain SMTP on loopback). Then make
the flow `send_hello` load that block by name and send one message with prefect-email's
`email_send_message` task. The test reads the message back from the local server's mailbox.
Check with `make check-5`.
"""

from __future__ import annotations

from prefect import flow

BLOCK_NAME = "ex1-email"


def save_email_block(server: str, port: int):
    # TODO: build EmailServerCredentials (from prefect_email) with smtp_server, smtp_port and
    # smtp_type="INSECURE", save it as BLOCK_NAME (overwrite=True), and return it.
    raise NotImplementedError("save_email_block does not save a block yet")


@flow(name="ex1-send-hello")
def send_hello(subject: str, email_from: str, email_to: str) -> None:
    # TODO: load the block BLOCK_NAME and send with email_send_message.submit(subject=..., msg=...,
    # email_server_credentials=..., email_from=..., email_to=...).result(): it is an async task, so a
    # sync flow submits it and waits for its result.
    raise NotImplementedError("send_hello sends nothing yet")


if __name__ == "__main__":
    from coursekit.services import smtp

    settings = smtp.settings()
    smtp.ensure_local_server()
    save_email_block(settings.server, settings.port)
    send_hello("Hello from exercise 1", settings.email_from, settings.email_to)
    print([m.subject for m in smtp.received()][-1:])
