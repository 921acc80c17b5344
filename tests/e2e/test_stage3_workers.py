"""Stage 3, the workers' side: a worker that dies mid-run, `make stop` mid-run, and a burst of runs on two workers.

Real process workers against a real server; test-only flows from tests/support/flows.py.
"""

from __future__ import annotations

import time
from datetime import timedelta
from uuid import UUID

import psutil
import pytest
import yaml
from prefect import get_client
from prefect.client.schemas.filters import LogFilter, LogFilterFlowRunId
from prefect.client.schemas.objects import FlowRun
from prefect.deployments import run_deployment
from prefect.events.schemas.automations import AutomationCore

from coursekit.config import REPO_ROOT
from coursekit.maintainer import load
from coursekit.services import lifecycle, workers
from tests.support.deployments import deploy_test_flow, wait_final, wait_running

pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("prefect_server")]


def kill_hard(worker: lifecycle.Running, flow_run_id: UUID) -> None:
    """What a machine failure does: the worker and the flow-run process die at once, saying nothing."""
    doomed = [p for p in psutil.process_iter() if _env(p).get("PREFECT__FLOW_RUN_ID") == str(flow_run_id)]
    assert doomed, "the flow-run process was not found"
    for proc in [psutil.Process(worker.pid), *doomed]:
        proc.kill()
    psutil.wait_procs(doomed, timeout=10)


def _env(proc: psutil.Process) -> dict:
    try:
        return proc.environ()
    except (psutil.Error, OSError):
        return {}


# The lesson's automation waits 90 s: three missed heartbeats of 30 s (the course's frequency, and
# Prefect's minimum). The test runs the same automation with 45 s, scoped to its own deployment and
# deleted afterwards, so that it can crash no other test's run: the same outcome, 45 s sooner.
WITHIN_SECONDS = 45


def scaled_crash_automation(deployment_id: UUID) -> AutomationCore:
    lesson = yaml.safe_load((REPO_ROOT / "03_deploy_local" / "crash-zombies.yaml").read_text())
    assert lesson["trigger"]["within"] == 90 and lesson["actions"][0]["state"] == "CRASHED"
    lesson["name"] = f"{lesson['name']} (test, {WITHIN_SECONDS} s)"
    lesson["trigger"]["within"] = WITHIN_SECONDS
    lesson["trigger"]["match_related"] = {"prefect.resource.id": f"prefect.deployment.{deployment_id}"}
    lesson["actions"][0]["message"] = lesson["actions"][0]["message"].replace("90 s", f"{WITHIN_SECONDS} s")
    return AutomationCore.model_validate(lesson)


def test_a_run_whose_worker_dies_ends_crashed_and_a_new_worker_runs_the_next():
    workers.ensure_pool("crash-pool")
    deployment = deploy_test_flow("sleepy", "crash-pool")
    with get_client(sync_client=True) as client:
        automation = client.create_automation(scaled_crash_automation(client.read_deployment_by_name(deployment).id))
    worker = workers.start_worker("crash-pool")
    try:
        doomed = run_deployment(deployment, parameters={"seconds": 600}, timeout=0)
        wait_running(doomed.id)
        time.sleep(5)  # past the run's first heartbeat, sent as it starts
        kill_hard(worker, doomed.id)
        # No process is left to report anything: the heartbeat automation marks the run Crashed.
        crashed = wait_final(doomed.id, timeout=120)
        assert crashed.state.name == "Crashed" and "heartbeat" in crashed.state.message

        workers.start_worker("crash-pool", index=2)
        later = run_deployment(deployment, parameters={"seconds": 1}, timeout=180)
        assert later.state.is_completed(), later.state
    finally:
        workers.stop_worker("crash-pool")
        workers.stop_worker("crash-pool", index=2)
        with get_client(sync_client=True) as client:
            client.delete_automation(automation)


def test_make_stop_while_a_run_is_running_ends_the_run_crashed_with_the_reason_not_running_for_good():
    """`make stop` stops busy workers with workers.stop_leaving_no_run_running; here one worker of the test's own."""
    workers.ensure_pool("stop-pool")
    deployment = deploy_test_flow("sleepy", "stop-pool")
    worker = workers.start_worker("stop-pool")
    try:
        running = run_deployment(deployment, parameters={"seconds": 600}, timeout=0)
        wait_running(running.id)  # stopped at once: before its first heartbeat counts, as the probe found
        process = [p for p in psutil.process_iter() if _env(p).get("PREFECT__FLOW_RUN_ID") == str(running.id)]
        assert process, "the flow-run process was not found"
        stopped, marked = workers.stop_leaving_no_run_running([workers.service_name("stop-pool")])
    finally:
        workers.stop_worker("stop-pool")
    assert (stopped, marked) == ([workers.service_name("stop-pool")], 1)
    assert not psutil.pid_exists(worker.pid) and not any(p.is_running() for p in process)
    with get_client(sync_client=True) as client:
        ended = client.read_flow_run(running.id)
    assert ended.state.name == "Crashed", ended.state
    assert ended.state.message == workers.STOPPED_WHILE_RUNNING.format(pid=workers._pid_of(ended.infrastructure_pid))
    time.sleep(3)  # nothing changes it afterwards: not Running again, not Completed
    with get_client(sync_client=True) as client:
        assert client.read_flow_run(running.id).state.name == "Crashed"


def test_a_run_whose_pull_step_fails_says_so_in_its_state_message(tmp_path):
    from coursekit.cli import automations

    automations.apply("03_deploy_local/explain-pull-failures.yaml")  # as make stage-3 does
    lesson = yaml.safe_load((REPO_ROOT / "03_deploy_local" / "explain-pull-failures.yaml").read_text())
    workers.ensure_pool("pull-pool")
    missing = (tmp_path / "gone.git").as_uri()  # a repository deleted since the deployment was made
    with get_client(sync_client=True) as client:
        client.create_deployment(
            flow_id=client.create_flow_from_name("quick"),
            name="pull-pool",
            work_pool_name="pull-pool",
            entrypoint="tests/support/flows.py:quick",
            pull_steps=[{"prefect.deployments.steps.git_clone": {"repository": missing}}],
        )
    worker = workers.start_worker("pull-pool")
    try:
        broken = run_deployment("quick/pull-pool", timeout=0)
        ended = wait_final(broken.id, timeout=120)
        time.sleep(3)  # the worker's own report of the exit comes after, and must not replace it
        with get_client(sync_client=True) as client:
            states = [(s.type.value, s.message) for s in client.read_flow_run_states(broken.id)]
            logs = client.read_logs(log_filter=LogFilter(flow_run_id=LogFilterFlowRunId(any_=[broken.id])))
    finally:
        workers.stop_worker("pull-pool")
    message = lesson["actions"][0]["message"]
    assert message.startswith("A deployment pull step failed, so the flow's code never loaded")
    assert ended.state.name == "Crashed"
    assert [s for s in states if s[0] in {"CRASHED", "FAILED", "COMPLETED"}] == [("CRASHED", message)], states
    # Where the message sends the learner: the run's last line names the step, the worker's log has git's error.
    own = [log for log in sorted(logs, key=lambda log: log.timestamp) if log.name == "prefect.flow_runs"]
    assert own[-1].message == "Executing deployment step: git_clone", [(log.name, log.message) for log in logs]
    assert f"Failed to clone repository '{missing}' with exit code 128" in worker.new_log()


def test_a_burst_of_runs_on_two_workers_all_complete_once_within_the_pool_limit():
    """The load case of `make bench` (coursekit/maintainer/load.py), checked here for what it must not do.

    `make bench` drains 30 runs; here 12, three rounds of the pool's limit: each run is a process start of a
    few CPU-seconds, and 30 would add minutes to the suite without checking anything more.
    """
    drained = load.drain(12, pool="burst-pool")
    assert sorted(run.id for run in drained.finished) == sorted(drained.submitted), (
        "runs lost, or runs nobody submitted"
    )
    assert [run.state.name for run in drained.finished] == ["Completed"] * 12
    with get_client(sync_client=True) as client:
        started = {
            run.id: [s.type.value for s in client.read_flow_run_states(run.id)].count("RUNNING")
            for run in drained.finished
        }
    assert set(started.values()) == {1}, f"runs started more than once (or never): {started}"
    assert max_overlap(drained.finished) <= load.LIMIT
    assert sorted(set(drained.workers.values())) == ["worker-burst-pool-1", "worker-burst-pool-2"], drained.workers


def max_overlap(flow_runs: list[FlowRun]) -> int:
    """The largest number of runs that were Running at the same moment."""
    events = sorted(
        [(f.start_time, 1) for f in flow_runs] + [(f.end_time - timedelta(microseconds=1), -1) for f in flow_runs]
    )
    running = peak = 0
    for _, change in events:
        running += change
        peak = max(peak, running)
    return peak
