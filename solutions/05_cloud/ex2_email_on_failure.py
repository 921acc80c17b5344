"""Exercise 2, solved: an automation that emails when a run fails, written in Python."""

from __future__ import annotations

from uuid import UUID

from prefect.automations import Automation
from prefect.events.actions import RunDeployment
from prefect.events.schemas.automations import EventTrigger, Posture


def email_on_failure(name: str, flow_name: str, deployment_id: UUID) -> Automation:
    return Automation(
        name=name,
        trigger=EventTrigger(
            expect={"prefect.flow-run.Failed"},
            match={"prefect.resource.id": "prefect.flow-run.*"},
            match_related={"prefect.resource.role": "flow", "prefect.resource.name": flow_name},
            posture=Posture.Reactive,
            threshold=1,
        ),
        actions=[
            RunDeployment(
                source="selected",
                deployment_id=deployment_id,
                parameters={
                    "subject": "{{ flow.name }} run {{ flow_run.name }} failed",
                    "body": "<p>{{ flow_run.state.message }}</p>",
                },
            )
        ],
    )
