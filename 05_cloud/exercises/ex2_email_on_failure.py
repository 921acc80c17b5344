"""Exercise 2: an automation that emails when a run fails, written in Python.

email-on-run-end.yaml is an automation in a file. The same objects exist in Python: make
`email_on_failure` return an Automation (not created yet: the test creates it) named `name` that, when
a run of the flow `flow_name` fails, runs the deployment `deployment_id` (send-email/course-email) with a
subject that contains the failed run's name. Completed runs must send nothing.
Check with `make check-5`.
"""

from __future__ import annotations

from uuid import UUID


def email_on_failure(name: str, flow_name: str, deployment_id: UUID):
    # TODO: return an automation named `name` (unsaved: the test saves it) that reacts to every failed run of
    # the flow `flow_name`, and never to a completed one, by running the deployment `deployment_id` with the
    # failed run's name in the email's subject. 05_cloud/email-on-run-end.yaml is the same idea as a file;
    # Prefect has a Python class for the automation and for each of its parts.
    raise NotImplementedError("email_on_failure builds no automation yet")
