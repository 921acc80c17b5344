"""A burst of runs on a pool with two workers: every run completes once, and how fast the pool drains.

`drain(30)` deploys the one-second flow below to a process pool of its own, starts two workers on it,
submits the runs at once (the pool runs four at a time) and waits for all of them. `make bench` reports
the time to drain and the runs per minute; tests/e2e/test_stage3_workers.py checks that none is lost or
run twice. Each run is a new Python process that imports Prefect, so the figure is mostly process
starts: about 3 CPU-seconds each.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any, cast
from uuid import UUID

from prefect import flow, get_client
from prefect.client.schemas.filters import DeploymentFilter, DeploymentFilterId
from prefect.client.schemas.objects import FlowRun
from prefect.deployments import run_deployment
from prefect.deployments.runner import RunnerDeployment
from prefect.runner.storage import LocalStorage

from coursekit import runs
from coursekit.config import REPO_ROOT
from coursekit.services import workers

POOL = "load-pool"


@flow(name="load-one-second")
def one_second() -> None:
    time.sleep(1)


@dataclass
class Drained:
    submitted: list[UUID]
    finished: list[FlowRun]  # the runs of the deployment as the server holds them at the end
    seconds: float  # from the first submission to the last run's end
    workers: dict[UUID, str]  # run -> the worker that submitted it

    @property
    def runs_per_minute(self) -> float:
        return 60 * len(self.finished) / self.seconds


LIMIT = 4  # runs at once in the pool: on 2 cores, more only makes each process start slower


def drain(
    count: int = 30, *, pool: str = POOL, worker_count: int = 2, limit: int = LIMIT, timeout: float = 600
) -> Drained:
    workers.ensure_pool(pool, concurrency_limit=limit)
    # Prefect's sync/async dual functions type as either; called here from sync code, they return values.
    deployment: Any = RunnerDeployment.from_storage(
        storage=LocalStorage(str(REPO_ROOT)), entrypoint="coursekit/maintainer/load.py:one_second", name=pool
    )
    deployment_id: UUID = deployment.apply(work_pool_name=pool)
    with get_client(sync_client=True) as client:  # a clean count: earlier bursts' runs go
        for old in client.read_flow_runs(
            deployment_filter=DeploymentFilter(id=DeploymentFilterId(any_=[deployment_id]))
        ):
            client.delete_flow_run(old.id)
    for index in range(1, worker_count + 1):
        workers.start_worker(pool, index=index)
    try:
        started = time.monotonic()
        submitted = [cast(FlowRun, run_deployment(deployment_id, timeout=0)).id for _ in range(count)]
        deadline = started + timeout
        with get_client(sync_client=True) as client:
            while time.monotonic() < deadline:
                held = client.read_flow_runs(
                    deployment_filter=DeploymentFilter(id=DeploymentFilterId(any_=[deployment_id])), limit=200
                )
                if len(held) >= count and all(run.state and run.state.is_final() for run in held):
                    break
                time.sleep(1)
        seconds = (
            max(run.end_time for run in held if run.end_time).timestamp()
            - min(run.created for run in held if run.created).timestamp()
        )
    finally:
        for index in range(1, worker_count + 1):
            workers.stop_worker(pool, index=index)
    return Drained(submitted, held, seconds, {run.id: runs.worker_of(run.id) for run in held})
