"""The server goes away in the middle of a run and comes back: what the course promises of that.

A server of the test's own (its own state folder and port), SIGKILLed while two runs of one deployment are
under way and started again 30 s later, the outage the course promises to ride out:
- the run with the course's environment (PREFECT_CLIENT_MAX_RETRIES from coursekit/config.py) ends
  Completed, with every task run, artifact and log line on the server;
- the same run with Prefect's retries cut to one (a window of about 2 s, standing in for an outage longer
  than the course's two minutes) ends in a final state that names the lost connection, not Running.
"""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Iterator

import psutil
import pytest
from prefect import get_client
from prefect.client.schemas.filters import (
    ArtifactFilter,
    ArtifactFilterFlowRunId,
    LogFilter,
    LogFilterFlowRunId,
    TaskRunFilter,
    TaskRunFilterFlowRunId,
)
from prefect.deployments import run_deployment
from prefect.settings import PREFECT_API_URL, PREFECT_HOME, temporary_settings

from coursekit import config
from coursekit.services import lifecycle, server, workers
from tests.support.deployments import deploy_test_flow, wait_final, wait_running

pytestmark = pytest.mark.e2e

STEPS, PAUSE = 8, 2.0  # tests/support/flows.py:steady: 8 tasks of 2 s, each with two log lines and an artifact
OUTAGE = 30  # seconds between the server's death and its new start (which takes 5 s more)


@pytest.fixture
def own_course(tmp_path, monkeypatch) -> Iterator[str]:
    """A course of the test's own, server and worker included, so that killing its server harms no other test."""
    for variable, value in lifecycle.throwaway_course(tmp_path / "state").items():
        monkeypatch.setenv(variable, value)
    for variable, value in config.current().prefect_env().items():
        monkeypatch.setenv(variable, value)
    api_url = config.current().api_url
    with temporary_settings(updates={PREFECT_API_URL: api_url, PREFECT_HOME: os.environ["PREFECT_HOME"]}):
        try:
            server.ensure_running(quiet=True)
            yield api_url
        finally:
            lifecycle.stop_all()


def test_a_run_rides_out_a_30_s_server_outage_and_a_run_that_cannot_ends_final_not_running(own_course):
    assert os.environ["PREFECT_CLIENT_MAX_RETRIES"] == str(config.CLIENT_MAX_RETRIES)
    workers.ensure_pool("restart-pool")
    deployment = deploy_test_flow("steady", "restart-pool")
    workers.start_worker("restart-pool")
    parameters = {"steps": STEPS, "pause": PAUSE}
    rides_out = run_deployment(deployment, parameters=parameters, timeout=0)
    gives_up = run_deployment(
        deployment, parameters=parameters, timeout=0, job_variables={"env": {"PREFECT_CLIENT_MAX_RETRIES": "1"}}
    )
    for flow_run in (rides_out, gives_up):
        wait_running(flow_run.id)
    time.sleep(2 * PAUSE)  # both are inside their first tasks

    killed = lifecycle.status(server.NAME)
    assert killed is not None
    os.kill(killed.pid, signal.SIGKILL)  # what a crash or an OOM kill does: no goodbye to anyone
    psutil.wait_procs([psutil.Process(killed.pid)], timeout=10)
    time.sleep(OUTAGE)
    server.ensure_running(quiet=True)

    finished = wait_final(rides_out.id, timeout=240)
    assert finished.state.name == "Completed", finished.state
    with get_client(sync_client=True) as client:
        of_run = [rides_out.id]
        task_runs = client.read_task_runs(
            task_run_filter=TaskRunFilter(flow_run_id=TaskRunFilterFlowRunId(any_=of_run))
        )
        artifacts = client.read_artifacts(
            artifact_filter=ArtifactFilter(flow_run_id=ArtifactFilterFlowRunId(any_=of_run))
        )
    assert sorted(t.state.name for t in task_runs) == ["Completed"] * STEPS
    assert sorted(a.key for a in artifacts) == [f"steady-step-{step}" for step in range(STEPS)]
    expected = [f"step {step} {what}" for step in range(STEPS) for what in ("begins", "done")]
    assert _step_lines(rides_out.id, until=len(expected)) == expected

    ended = wait_final(gives_up.id, timeout=240)
    # Its process gave up during the outage: either its flow saw the ConnectError and said so once the server
    # was back, or (as seen here) it could not even say that, and its worker, whose calls do ride it out,
    # reported the process's exit. Never Running for good.
    reasons = {
        "Failed": "ConnectError",
        "Crashed": "Flow run infrastructure exited with non-zero status code 1",
    }
    assert ended.state.name in reasons and reasons[ended.state.name] in (ended.state.message or ""), ended.state


def _step_lines(flow_run_id, until: int, timeout: float = 20) -> list[str]:
    """The run's "step N ..." log lines in order, once `until` of them are there (logs arrive in 2 s batches)."""
    deadline = time.monotonic() + timeout
    while True:
        with get_client(sync_client=True) as client:
            logs = client.read_logs(log_filter=LogFilter(flow_run_id=LogFilterFlowRunId(any_=[flow_run_id])))
        lines = [log.message for log in sorted(logs, key=lambda log: log.timestamp) if log.message.startswith("step ")]
        if len(lines) >= until or time.monotonic() > deadline:
            return lines
        time.sleep(1)
