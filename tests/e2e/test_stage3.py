"""Stage 3 end to end: deployments run by real process workers, against a real server. No mocks.
The stage itself runs in the tour (tests/e2e/test_tour.py)."""

from __future__ import annotations

import subprocess
import sys
import time

import pytest
from prefect import get_client
from prefect.deployments import run_deployment

from coursekit import config, runs
from coursekit.services import lifecycle
from tests.support.run import output, prefect

pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("prefect_server")]


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
        from coursekit.services import gitrepo

        gitrepo.publish_head()  # back to the repository's own last commit for the other tests


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


@pytest.mark.readme("python 03_deploy_local/serve.py")
@pytest.mark.readme(
    "prefect deployment run 'taxi-training/taxi-served'",
    because="through run_deployment(), which creates the run as the command does, then waits for its end",
)
def test_serve_py_registers_a_static_deployment_and_runs_it_in_its_own_process():
    served = lifecycle.start("serve-test", [sys.executable, "03_deploy_local/serve.py"])
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
        lifecycle.stop(served.name)
    log = served.log.read_text()
    assert "taxi-served" in log
