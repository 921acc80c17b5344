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
    # TODO: return Automation(name=name, trigger=EventTrigger(...), actions=[RunDeployment(...)]) using
    #   from prefect.automations import Automation
    #   from prefect.events.schemas.automations import EventTrigger, Posture
    #   from prefect.events.actions import RunDeployment
    # The trigger: expect={"prefect.flow-run.Failed"}, match={"prefect.resource.id": "prefect.flow-run.*"},
    # match_related={"prefect.resource.role": "flow", "prefect.resource.name": flow_name},
    # posture=Posture.Reactive, threshold=1. The action: source="selected", deployment_id=deployment_id,
    # parameters={"subject": "... {{ flow_run.name }} ...", "body": "..."} (Jinja, filled in by the server).
    raise NotImplementedError("email_on_failure builds no automation yet")
