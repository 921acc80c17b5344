"""Reading back what happened from the Prefect API: flow runs, their task runs and attempts."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from prefect import get_client
from prefect.client.schemas.filters import (
    ArtifactFilter,
    ArtifactFilterFlowRunId,
    ArtifactFilterKey,
    DeploymentFilter,
    DeploymentFilterId,
    FlowFilter,
    FlowFilterName,
    FlowRunFilter,
    FlowRunFilterExpectedStartTime,
    FlowRunFilterParentFlowRunId,
    FlowRunFilterState,
    FlowRunFilterStateType,
    LogFilter,
    LogFilterFlowRunId,
    TaskRunFilter,
    TaskRunFilterFlowRunId,
    TaskRunFilterSubFlowRuns,
)
from prefect.client.schemas.objects import FlowRun, StateType
from prefect.client.schemas.sorting import ArtifactSort, FlowRunSort

from coursekit import config, console
from coursekit.services import lifecycle


@dataclass
class TaskAttempts:
    flow_run: str
    task_run: str
    state: str
    attempts: int

    @property
    def retried(self) -> int:
        return max(self.attempts - 1, 0)


def state_name(flow_run: FlowRun | None) -> str:
    """A run's state for tables and summaries: "missing" when there is no run, "?" when it has no state."""
    if flow_run is None:
        return "missing"
    return str(flow_run.state.name) if flow_run.state else "?"


def latest_flow_run(flow_name: str) -> FlowRun | None:
    with get_client(sync_client=True) as client:
        runs = client.read_flow_runs(
            flow_filter=FlowFilter(name=FlowFilterName(any_=[flow_name])),
            sort=FlowRunSort.START_TIME_DESC,
            limit=1,
        )
    return runs[0] if runs else None


FINAL_TASK_STATES = {"Completed", "Cached", "Failed", "Crashed", "Cancelled"}


def task_attempts(flow_run_id: UUID | str, *, settle: float = 15) -> list[TaskAttempts]:
    """Every task run of a flow run and of its subflows, with how many attempts each took.

    A task run's states reach the server as events, which it writes a moment after the flow's process
    has ended: read again (up to `settle` seconds) until every task run shows a final state.
    """
    deadline = time.monotonic() + settle
    with get_client(sync_client=True) as client:
        while True:
            rows = _task_attempts(client, UUID(str(flow_run_id)))
            if all(row.state in FINAL_TASK_STATES for row in rows) or time.monotonic() > deadline:
                return rows
            time.sleep(0.5)


def _task_attempts(client, flow_run_id: UUID) -> list[TaskAttempts]:
    flow_run = client.read_flow_run(flow_run_id)
    task_runs = client.read_task_runs(
        task_run_filter=TaskRunFilter(
            flow_run_id=TaskRunFilterFlowRunId(any_=[flow_run_id]),
            subflow_runs=TaskRunFilterSubFlowRuns(exists_=False),  # not the placeholders of subflows
        )
    )
    rows = [
        TaskAttempts(flow_run.name, tr.name, tr.state.name if tr.state else "?", tr.run_count)
        for tr in sorted(task_runs, key=lambda tr: tr.expected_start_time or tr.created)
    ]
    children = client.read_flow_runs(
        flow_run_filter=FlowRunFilter(parent_flow_run_id=FlowRunFilterParentFlowRunId(any_=[flow_run_id]))
    )
    for child in sorted(children, key=lambda fr: fr.start_time or fr.created):
        rows += _task_attempts(client, child.id)
    return rows


def artifact_history(key: str, limit: int = 5) -> list:
    """The newest versions of an artifact key, newest first: what the UI's artifact history shows."""
    with get_client(sync_client=True) as client:
        return client.read_artifacts(
            artifact_filter=ArtifactFilter(key=ArtifactFilterKey(any_=[key])),
            sort=ArtifactSort.CREATED_DESC,
            limit=limit,
        )


def cached_task_runs(flow_run_id: UUID | str) -> int:
    """How many task runs of a flow run were served from the cache."""
    return sum(row.state == "Cached" for row in task_attempts(flow_run_id))


def task_seconds(flow_run_id: UUID, task_name: str) -> float:
    """Wall-clock seconds the task runs called `task_name` of a flow run took, added up."""
    with get_client(sync_client=True) as client:
        task_runs = client.read_task_runs(
            task_run_filter=TaskRunFilter(flow_run_id=TaskRunFilterFlowRunId(any_=[flow_run_id]))
        )
    return sum(
        (tr.end_time - tr.start_time).total_seconds()
        for tr in task_runs
        if tr.name.startswith(task_name) and tr.start_time and tr.end_time
    )


def read_flow_run(flow_run_id: UUID | str) -> FlowRun:
    with get_client(sync_client=True) as client:
        return client.read_flow_run(UUID(str(flow_run_id)))


def rmse_of(flow_run_id: UUID | str) -> float | None:
    """The RMSE a taxi-training run published in its taxi-model-metrics table artifact."""
    metrics = metrics_of(flow_run_id)
    return None if metrics is None else metrics["rmse_minutes"]


def metrics_of(flow_run_id: UUID | str) -> dict[str, Any] | None:
    """The row a taxi-training run published in its taxi-model-metrics table artifact (None: no artifact).

    A run of a flow that calls taxi-training as a subflow (lesson 4) has it on the subflow's run.
    """
    flow_run_id = UUID(str(flow_run_id))
    with get_client(sync_client=True) as client:
        children = client.read_flow_runs(
            flow_run_filter=FlowRunFilter(parent_flow_run_id=FlowRunFilterParentFlowRunId(any_=[flow_run_id]))
        )
        artifacts = client.read_artifacts(
            artifact_filter=ArtifactFilter(
                key=ArtifactFilterKey(any_=["taxi-model-metrics"]),
                flow_run_id=ArtifactFilterFlowRunId(any_=[flow_run_id, *(child.id for child in children)]),
            )
        )
    if not artifacts:
        return None
    data = artifacts[0].data
    rows: Any = json.loads(data) if isinstance(data, str) else data
    return rows[0]


def ui_link(flow_run_id: UUID | str) -> str:
    return config.current().ui_page(f"/runs/flow-run/{flow_run_id}")


def wait_for_runs(flow_run_ids: dict[str, str], *, timeout: float = 300) -> dict[str, FlowRun]:
    """Wait until every flow run has ended; return them by label. The wait prints a dot a second."""
    what = f"Waiting for {_count(len(flow_run_ids), 'run')} to finish ({', '.join(flow_run_ids)})"
    with get_client(sync_client=True) as client, console.waiting(what) as wait:
        while True:
            found = {label: client.read_flow_run(UUID(str(i))) for label, i in flow_run_ids.items()}
            if all(run.state and run.state.is_final() for run in found.values()):
                wait.done(", ".join(sorted({state_name(run) for run in found.values()})))
                return found
            if wait.elapsed > timeout:
                break
            wait.tick()
            time.sleep(0.5)
    unfinished = [label for label, run in found.items() if not (run.state and run.state.is_final())]
    raise lifecycle.ServiceError(
        f"{', '.join(unfinished)} did not finish within {timeout:.0f} s. Is a worker polling the pool? (make status)"
    )


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" + ("" if n == 1 else "s")


def wait_for_run_of(deployment: str, created_after: datetime, *, timeout: float = 300) -> FlowRun:
    """The first run of `deployment` ("flow/deployment") created after a moment, once it has ended.

    For runs that something else starts: a trigger, a schedule, an automation.
    """
    with get_client(sync_client=True) as client:
        deployment_id = client.read_deployment_by_name(deployment).id
        with console.waiting(f"Waiting for a run of {deployment} to start and finish") as wait:
            while wait.elapsed < timeout:
                found = client.read_flow_runs(
                    deployment_filter=DeploymentFilter(id=DeploymentFilterId(any_=[deployment_id])),
                    flow_run_filter=FlowRunFilter(
                        expected_start_time=FlowRunFilterExpectedStartTime(after_=created_after)  # type: ignore[arg-type]
                    ),
                    sort=FlowRunSort.EXPECTED_START_TIME_ASC,
                    limit=1,
                )
                if found and found[0].state and found[0].state.is_final():
                    wait.done(state_name(found[0]))
                    return found[0]
                wait.tick()
                time.sleep(1)
    raise lifecycle.ServiceError(
        f"No run of {deployment} ended within {timeout:.0f} s. Is a worker polling its pool? (make status)"
    )


def upcoming_runs(deployment: str, *, expected: int = 3, timeout: float = 30) -> list[datetime]:
    """The start times of the Scheduled runs the server's scheduler made for `deployment`, soonest first.

    Waits until there are `expected` of them (the scheduler keeps at least 3 ahead by default) or the
    timeout passes, and returns what is there then: an empty list means the scheduler made none.
    """
    with get_client(sync_client=True) as client:
        deployment_id = client.read_deployment_by_name(deployment).id
        scheduled: list[FlowRun] = []
        with console.waiting(f"Waiting for the scheduler's runs of {deployment}") as wait:
            while wait.elapsed < timeout:
                scheduled = client.read_flow_runs(
                    deployment_filter=DeploymentFilter(id=DeploymentFilterId(any_=[deployment_id])),
                    flow_run_filter=FlowRunFilter(
                        state=FlowRunFilterState(type=FlowRunFilterStateType(any_=[StateType.SCHEDULED]))
                    ),
                    sort=FlowRunSort.EXPECTED_START_TIME_ASC,
                )
                if len(scheduled) >= expected:
                    wait.done(f"{len(scheduled)} scheduled")
                    break
                wait.tick()
                time.sleep(1)
    return [run.expected_start_time for run in scheduled if run.expected_start_time]


def log_messages(flow_run_id: UUID | str) -> list[str]:
    """The log messages of a flow run, oldest first, as the UI's Logs tab shows them."""
    with get_client(sync_client=True) as client:
        logs = client.read_logs(log_filter=LogFilter(flow_run_id=LogFilterFlowRunId(any_=[UUID(str(flow_run_id))])))
    return [log.message for log in sorted(logs, key=lambda log: log.timestamp)]


def worker_of(flow_run_id: UUID | str, *, timeout: float = 20) -> str:
    """The name of the worker that submitted a flow run, from the event the worker emits ("?" if none).

    Workers report `prefect.worker.submitted-flow-run` with the run as a related resource; the server
    stores the event a moment after the run has started.
    """
    from prefect.events.filters import EventAnyResourceFilter, EventFilter, EventNameFilter

    deadline = time.monotonic() + timeout
    with get_client(sync_client=True) as client:
        while True:
            page = client.read_events(
                filter=EventFilter(
                    event=EventNameFilter(name=["prefect.worker.submitted-flow-run"]),
                    any_resource=EventAnyResourceFilter(id=[f"prefect.flow-run.{flow_run_id}"]),
                ),
                limit=1,
            )
            if page.events:
                return page.events[0].resource.get("prefect.resource.name") or "?"
            if time.monotonic() > deadline:
                return "?"
            time.sleep(0.5)


def automation_failures(name: str, since: datetime) -> list[str]:
    """Why the actions of automation `name` failed since a moment (the server's own words), newest first."""
    from prefect.events.filters import EventFilter, EventNameFilter, EventOccurredFilter, EventResourceFilter

    with get_client(sync_client=True) as client:
        page = client.read_events(
            filter=EventFilter(
                event=EventNameFilter(name=["prefect.automation.action.failed"]),
                # Prefect's filters are typed with its own DateTime and ResourceSpecification; pydantic takes
                # a datetime and a dict, as here.
                occurred=EventOccurredFilter(since=since),  # type: ignore[arg-type]
                resource=EventResourceFilter(labels={"prefect.resource.name": [name]}),  # type: ignore[arg-type]
            ),
            limit=10,
        )
    return [str(event.payload.get("reason", "?")) for event in page.events]


def crash_unless_final(client: Any, flow_run_id: UUID, message: str) -> bool:
    """Set a run Crashed with `message` unless it has ended meanwhile: what `make stop` does to the runs it
    interrupts (their process or container is gone and will report nothing). True if it was marked."""
    state = client.read_flow_run(flow_run_id).state
    if state is not None and state.is_final():
        return False
    from prefect.states import Crashed

    client.set_flow_run_state(flow_run_id, Crashed(message=message), force=True)
    return True
