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

from prefect.automations import Automation
from prefect.events.actions import RunDeployment
from prefect.events.schemas.automations import EventTrigger, Posture

DATA_UPLOADED = "course.taxi.data.uploaded"


def email_on_upload(name: str, bucket: str, deployment_id: UUID) -> Automation:
    return Automation(
        name=name,
        trigger=EventTrigger(
            expect={DATA_UPLOADED},
            # A trailing * matches any resource id that starts so: every object path in this bucket.
            match={"prefect.resource.id": f"s3://{bucket}/*"},
            posture=Posture.Reactive,
            threshold=1,
        ),
        actions=[
            RunDeployment(
                source="selected",
                deployment_id=deployment_id,
                parameters={
                    # `event` is the event that fired the automation, its payload included.
                    "subject": "New taxi data: {{ event.payload.train_month }} and {{ event.payload.val_month }}",
                    "body": "<p>Uploaded to {{ event.resource.id }}: {{ event.payload['keys'] | join(', ') }}</p>",
                },
            )
        ],
    )
