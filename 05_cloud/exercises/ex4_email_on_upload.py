"""Exercise 4: an automation on the course's own event, not on a run's state.

Lesson 4's upload_data.py emits `course.taxi.data.uploaded` about the resource s3://BUCKET/data, with the
months it uploaded in its payload (`train_month`, `val_month`). Make `email_on_upload` return an Automation
(not created yet: the test creates it) named `name` that runs the deployment `deployment_id`
(send-email/course-email) each time that event arrives about the bucket `bucket`, with both months in the
email's subject. The same event about another bucket sends nothing.

The check creates your automation, emits the event twice (once about your bucket, once about another)
and reads the course's mailbox. Check with `make check-5`.
"""

from __future__ import annotations

from uuid import UUID

DATA_UPLOADED = "course.taxi.data.uploaded"


def email_on_upload(name: str, bucket: str, deployment_id: UUID):
    # TODO: return an automation named `name` (unsaved) that reacts to each DATA_UPLOADED event about a resource
    # of the bucket `bucket`, and to no other, by running the deployment `deployment_id` with the event's two
    # months in the email's subject. Exercise 2 reacted to a run's state; here the trigger is your own event,
    # and the action's parameters can use the event that fired it.
    raise NotImplementedError("email_on_upload builds no automation yet")
