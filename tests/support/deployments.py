"""Waiting on flow runs, and deploying the test-only flows of tests/support/flows.py."""

from __future__ import annotations

import time
from uuid import UUID

from prefect import get_client
from prefect.client.schemas.objects import FlowRun
from prefect.deployments.runner import RunnerDeployment
from prefect.runner.storage import LocalStorage

from coursekit.config import REPO_ROOT


def wait_final(flow_run_id: UUID, timeout: float = 240) -> FlowRun:
    deadline = time.monotonic() + timeout
    with get_client(sync_client=True) as client:
        while time.monotonic() < deadline:
            flow_run = client.read_flow_run(flow_run_id)
            if flow_run.state and flow_run.state.is_final():
                return flow_run
            time.sleep(1)
    raise AssertionError(f"flow run {flow_run_id} did not finish in {timeout} s (last state {flow_run.state})")


def wait_running(flow_run_id: UUID, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    with get_client(sync_client=True) as client:
        while time.monotonic() < deadline:
            if client.read_flow_run(flow_run_id).state.is_running():
                return
            time.sleep(0.5)
    raise AssertionError(f"flow run {flow_run_id} never started running")


def deploy_test_flow(function: str, pool: str) -> str:
    """Deploy a test-only flow in-process (the CLI path is tested elsewhere; each CLI start costs ~10 s).

    LocalStorage gives the deployment the pull step `set_working_directory: REPO_ROOT`, so runs execute in
    place. Without a pull step, Prefect's process worker copies the deployment's path (the whole repo, with
    its ~1 GB .venv) into a temporary workspace before every run.
    """
    deployment = RunnerDeployment.from_storage(
        storage=LocalStorage(str(REPO_ROOT)),
        entrypoint=f"tests/support/flows.py:{function}",
        name=pool,
        work_pool_name=pool,
    )
    deployment.apply(work_pool_name=pool)
    return f"{function}/{pool}"
