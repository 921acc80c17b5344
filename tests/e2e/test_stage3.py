"""Stage 3 end to end: deployments run by real process workers, against a real server. No mocks."""

from __future__ import annotations

import subprocess
import sys
import time
from datetime import timedelta
from uuid import UUID

import psutil
import pytest
from prefect import get_client
from prefect.client.schemas.objects import FlowRun
from prefect.deployments import run_deployment
from prefect.deployments.runner import RunnerDeployment

from coursekit import config, runs, services, workers
from tests.support.run import output, prefect, run

pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("prefect_server")]


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
    """Deploy a test-only flow in-process (the CLI path is tested elsewhere; each CLI start costs ~10 s)."""
    deployment = RunnerDeployment.from_entrypoint(f"tests/support/flows.py:{function}", name=pool, work_pool_name=pool)
    deployment.apply(work_pool_name=pool)
    return f"{function}/{pool}"


@pytest.mark.usefixtures("stage3_deployments")
def test_deployment_run_with_a_parameter_override_completes_with_its_rmse():
    flow_run = run_deployment(
        "taxi-training/taxi-default", parameters={"train_month": "2023-02", "val_month": "2023-01"}, timeout=300
    )
    assert flow_run.state.is_completed(), flow_run.state
    assert flow_run.parameters == {"train_month": "2023-02", "val_month": "2023-01"}
    assert 0 < runs.rmse_of(flow_run.id) < 20


@pytest.mark.usefixtures("stage3_deployments")
def test_the_git_pull_step_fetches_the_code_on_every_run(tmp_path):
    first = run_deployment("taxi-training/taxi-from-git", timeout=300)
    assert first.state.is_completed(), first.state

    # A new commit lands in the repository the worker clones from: the very next run must use it.
    bare = config.current().git_url
    work = tmp_path / "clone"
    git = ["git", "-c", "user.name=Course Test", "-c", "user.email=test@course.invalid"]
    subprocess.run([*git, "clone", "--quiet", bare, str(work)], check=True)
    flow_file = work / "02_workflow" / "orchestrate.py"
    flow_file.write_text(
        flow_file.read_text().replace(
            "    clock = Stopwatch()",
            '    raise RuntimeError("this code came from the new commit")\n    clock = Stopwatch()',
        )
    )
    subprocess.run([*git, "commit", "--quiet", "-am", "break the flow on purpose"], cwd=work, check=True)
    subprocess.run([*git, "push", "--quiet", "origin", "HEAD:main"], cwd=work, check=True)
    try:
        second = run_deployment("taxi-training/taxi-from-git", timeout=300)
        assert second.state.is_failed() and "this code came from the new commit" in second.state.message
    finally:
        from coursekit import gitrepo

        gitrepo.publish_head()  # back to the repository's own last commit for the other tests


def kill_hard(worker: services.Running, flow_run_id: UUID) -> None:
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


def test_a_run_whose_worker_dies_ends_crashed_and_a_new_worker_runs_the_next():
    from coursekit import automations

    automations.apply("03_deploy_local/crash-zombies.yaml")
    workers.ensure_pool("crash-pool")
    deployment = deploy_test_flow("sleepy", "crash-pool")
    worker = workers.start_worker("crash-pool")
    try:
        doomed = run_deployment(deployment, parameters={"seconds": 600}, timeout=0)
        wait_running(doomed.id)
        time.sleep(5)  # past the run's first heartbeat
        kill_hard(worker, doomed.id)
        # No process is left to report anything: the heartbeat automation marks the run Crashed.
        crashed = wait_final(doomed.id, timeout=240)
        assert crashed.state.name == "Crashed" and "heartbeat" in crashed.state.message

        workers.start_worker("crash-pool", index=2)
        later = run_deployment(deployment, parameters={"seconds": 1}, timeout=180)
        assert later.state.is_completed(), later.state
    finally:
        workers.stop_worker("crash-pool")
        workers.stop_worker("crash-pool", index=2)


def test_ten_runs_at_once_all_complete_and_the_pool_concurrency_limit_holds():
    limit = 3
    workers.ensure_pool("burst-pool", concurrency_limit=limit)
    deployment = deploy_test_flow("quick", "burst-pool")
    workers.start_worker("burst-pool")
    try:
        submitted = [run_deployment(deployment, parameters={"seconds": 2}, timeout=0) for _ in range(10)]
        finished = [wait_final(flow_run.id, timeout=300) for flow_run in submitted]
    finally:
        workers.stop_worker("burst-pool")
    assert [f.state.name for f in finished] == ["Completed"] * 10
    assert max_overlap(finished) <= limit


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


def test_a_wrong_entrypoint_fails_to_deploy_with_prefects_message():
    done = prefect(
        "--no-prompt", "deploy", "02_workflow/orchestrate.py:no_such_flow", "-n", "broken", "-p", "course-pool"
    )
    assert done.returncode != 0
    assert "no_such_flow" in done.stdout + done.stderr, output(done)


@pytest.mark.usefixtures("stage3_deployments")
def test_deploying_twice_changes_nothing():
    def snapshot() -> dict:
        with get_client(sync_client=True) as client:
            return {
                d.name: (d.id, d.entrypoint, d.parameters, sorted(d.tags), [str(s.schedule) for s in d.schedules])
                for d in client.read_deployments()
                if d.name.startswith("taxi-") and d.name != "taxi-served"
            }

    before = snapshot()
    again = prefect("--no-prompt", "deploy", "--all", "--prefect-file", "03_deploy_local/prefect.yaml")
    assert again.returncode == 0, output(again)
    assert snapshot() == before
    assert len(before["taxi-monthly"][4]) == 1 and "0 6 2 * *" in before["taxi-monthly"][4][0]


def test_serve_py_registers_a_static_deployment_and_runs_it_in_its_own_process():
    served = services.start("serve-test", [sys.executable, "03_deploy_local/serve.py"])
    try:
        deadline = time.monotonic() + 120
        with get_client(sync_client=True) as client:
            while time.monotonic() < deadline:
                if any(d.name == "taxi-served" for d in client.read_deployments()):
                    break
                time.sleep(1)
        flow_run = run_deployment(
            "taxi-training/taxi-served", parameters={"train_month": "2023-02", "val_month": "2023-01"}, timeout=300
        )
        assert flow_run.state.is_completed(), flow_run.state
    finally:
        services.stop(served.name)
    log = served.log.read_text()
    assert "taxi-served" in log


def test_make_stage_3_end_to_end():
    done = run("python", "-m", "coursekit", "stage", "3")
    assert done.returncode == 0, output(done)
    assert done.stdout.count("Completed") >= 2 and "taxi-from-git" in done.stdout
