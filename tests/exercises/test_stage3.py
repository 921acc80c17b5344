"""03_deploy_local exercises. `make check-3` runs these against your files in 03_deploy_local/exercises/.

Exercises 1 and 2 hold a deployment as one prefect.yaml entry: the tests deploy it with `prefect deploy`
from the top of the repository, as the lesson does, and read back what the server stored. Exercise 3
runs the lesson's taxi-default deployment in a real process worker, and exercise 4 has a schedule create a
run that the worker runs.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import yaml
from prefect import get_client
from prefect.client.schemas.filters import DeploymentFilter, DeploymentFilterId
from prefect.client.schemas.objects import Deployment
from prefect.exceptions import ObjectNotFound
from prefect.server.schemas import schedules as server_schedules

from coursekit import runs
from coursekit.config import REPO_ROOT
from coursekit.services import workers
from tests.support.deployments import wait_final
from tests.support.run import output, prefect

pytestmark = pytest.mark.usefixtures("prefect_server")

LESSON_YAML = REPO_ROOT / "03_deploy_local" / "prefect.yaml"
FLOW_NAME = "taxi-training"  # the name of 02_workflow/orchestrate.py:main_flow


@pytest.fixture
def course_pool(prefect_server: str) -> str:
    workers.ensure_pool("course-pool")
    return "course-pool"


def deploy(entry: dict) -> Deployment:
    """Deploy one entry of a prefect.yaml's deployments list as the lesson does; return what the server stored."""
    lesson = yaml.safe_load(LESSON_YAML.read_text())
    config = {key: lesson.get(key) for key in ("name", "prefect-version", "build", "push", "pull")}
    config["deployments"] = [entry]
    full_name = f"{FLOW_NAME}/{entry['name']}"
    # Start afresh: nothing left from an earlier check counts.
    with get_client(sync_client=True) as client, contextlib.suppress(ObjectNotFound):
        client.delete_deployment(client.read_deployment_by_name(full_name).id)
    with tempfile.TemporaryDirectory(prefix="ex-deploy-") as folder:
        prefect_file = Path(folder) / "prefect.yaml"
        prefect_file.write_text(yaml.safe_dump(config, sort_keys=False))
        done = prefect("--no-prompt", "deploy", "--all", "--prefect-file", str(prefect_file))
    said = [line.strip() for line in (done.stdout + done.stderr).splitlines() if line.strip()]
    reason = next((line for line in reversed(said) if not line.startswith("For further information")), "?")
    assert done.returncode == 0, f"prefect deploy rejected the deployment: {reason}\n{output(done)}"
    with get_client(sync_client=True) as client:
        return client.read_deployment_by_name(full_name)


def next_fire_times(deployment: Deployment, after: datetime, n: int = 3) -> list[datetime]:
    """The next n times the deployment's active schedules fire after `after`, computed by Prefect's scheduler models."""
    dates: set[datetime] = set()
    for entry in deployment.schedules:
        if not entry.active:
            continue
        # The server's model of the same schedule type computes dates (the client's only describes them).
        model = getattr(server_schedules, type(entry.schedule).__name__).model_validate(entry.schedule.model_dump())
        dates.update(asyncio.run(model.get_dates(n=n, start=after)))
    return sorted(date.astimezone(UTC) for date in dates)[:n]


def when(date: datetime) -> str:
    return f"{date:%Y-%m-%d %H:%M}" + (
        f":{date:%S.%f}".rstrip("0").rstrip(".") if date.second or date.microsecond else ""
    )


@pytest.mark.exercise("03_deploy_local", "ex1_schedule")
@pytest.mark.usefixtures("course_pool")
def test_schedule_fires_at_nine_utc_on_the_third_of_every_month(exercise):
    entry = exercise.DEPLOYMENT
    schedules = entry.get("schedules") or ([entry["schedule"]] if entry.get("schedule") else [])
    assert schedules, 'no schedule yet: add "schedules": [...] to DEPLOYMENT'
    assert isinstance(schedules, list), '"schedules" is a list of schedules: [{...}], not a single {...}'

    deployment = deploy({**entry, "paused": True})  # paused: the scheduler starts no run of it
    assert deployment.schedules, "the server stored no schedule for the deployment"
    after = datetime(2027, 1, 10, tzinfo=UTC)
    expected = [datetime(2027, month, 3, 9, 0, tzinfo=UTC) for month in (2, 3, 4)]
    fires = next_fire_times(deployment, after)
    assert fires == expected, (
        f"after {when(after)} UTC it fires at {', '.join(when(d) for d in fires) or 'no time'} UTC, "
        f"not at 09:00 UTC on the 3rd of each month"
    )


@pytest.mark.exercise("03_deploy_local", "ex2_tag_and_params")
@pytest.mark.usefixtures("course_pool")
def test_deployment_carries_the_tag_and_the_parameter_override(exercise):
    deployment = deploy(exercise.DEPLOYMENT)
    assert "experiment" in deployment.tags, f'the deployment is not tagged "experiment": tags {deployment.tags}'
    assert deployment.parameters.get("val_month") == "2023-03", (
        f"its runs do not validate on 2023-03: parameters {deployment.parameters}"
    )
    train_month = deployment.parameters.get("train_month", "2023-01")
    assert train_month != "2023-03", "training and validating on the same month fails the flow's own check"


@pytest.mark.exercise("03_deploy_local", "ex3_custom_run")
@pytest.mark.usefixtures("stage3_deployments")
def test_run_of_the_deployment_returns_the_rmse_of_its_artifact(exercise):
    started = datetime.now(UTC)
    rmse = exercise.run_and_read_rmse("2023-02", "2023-01")

    with get_client(sync_client=True) as client:
        deployment = client.read_deployment_by_name(exercise.DEPLOYMENT)
        flow_runs = client.read_flow_runs(
            deployment_filter=DeploymentFilter(id=DeploymentFilterId(any_=[deployment.id]))
        )
    new_runs = [run for run in flow_runs if run.created and run.created >= started]
    assert len(new_runs) == 1, f"{len(new_runs)} runs of {exercise.DEPLOYMENT} started, not one"
    flow_run = new_runs[0]
    assert flow_run.state is not None and flow_run.state.is_completed(), (
        f"the run ended {flow_run.state.name if flow_run.state else 'without a state'}: wait for it to finish"
    )
    assert flow_run.parameters == {"train_month": "2023-02", "val_month": "2023-01"}, (
        f"the run got the parameters {flow_run.parameters}"
    )
    assert isinstance(rmse, float) and math.isfinite(rmse) and 0 < rmse < 20, f"not an RMSE in minutes: {rmse!r}"
    published = runs.rmse_of(flow_run.id)
    assert rmse == pytest.approx(published, abs=1e-3), f"returned {rmse}, but the run's artifact says {published}"


@pytest.mark.exercise("03_deploy_local", "ex4_schedule_parameters")
@pytest.mark.usefixtures("course_worker")
def test_runs_the_schedule_starts_train_on_its_months_and_a_run_by_hand_keeps_the_flows(exercise):
    entry = exercise.DEPLOYMENT
    schedules = entry.get("schedules") or []
    assert schedules, 'no schedule yet: add "schedules": [...] to DEPLOYMENT'
    deployment = deploy({**entry, "paused": True})  # paused: the scheduler itself starts no run of it
    assert [s.schedule.interval.total_seconds() for s in deployment.schedules if hasattr(s.schedule, "interval")] == [
        600
    ], f"its schedules are {[s.schedule for s in deployment.schedules]}, not one that fires every ten minutes"
    by_hand = {"train_month": "2023-01", "val_month": "2023-02", **deployment.parameters}
    assert (by_hand["train_month"], by_hand["val_month"]) == ("2023-01", "2023-02"), (
        f"a run started by hand would train on {by_hand['train_month']} and validate on {by_hand['val_month']}: "
        "the months belong to the schedule, not to the deployment's own parameters"
    )

    # What the scheduler does when it catches up: create the run its schedule would have started in the last
    # ten minutes (POST /deployments/{id}/schedule, with a start in the past). The worker starts it at once.
    now = datetime.now(UTC)
    with get_client(sync_client=True) as client:
        client._client.post(
            f"/deployments/{deployment.id}/schedule",
            json={"start_time": (now - timedelta(minutes=10)).isoformat(), "end_time": now.isoformat(), "max_runs": 1},
        ).raise_for_status()
        scheduled = client.read_flow_runs(
            deployment_filter=DeploymentFilter(id=DeploymentFilterId(any_=[deployment.id]))
        )
    assert len(scheduled) == 1, f"the schedule created {len(scheduled)} runs in the last ten minutes, not one"
    flow_run = wait_final(scheduled[0].id)
    assert flow_run.created_by is not None and flow_run.created_by.type == "SCHEDULE", flow_run.created_by
    assert flow_run.state.is_completed(), f"the scheduled run ended {flow_run.state.name}: {flow_run.state.message}"
    assert {k: flow_run.parameters.get(k) for k in ("train_month", "val_month")} == {
        "train_month": "2023-02",
        "val_month": "2023-03",
    }, f"the scheduled run got the parameters {flow_run.parameters}"
    # Logs reach the server in batches, after the state: on a busy machine (SQLite locked, the client retrying)
    # the run's last batch can land seconds after it is Completed.
    deadline = time.monotonic() + 60
    while not (said := [m for m in runs.log_messages(flow_run.id) if m.startswith("Training on")]):
        if time.monotonic() > deadline:
            break
        time.sleep(1)
    assert said and said[0].startswith("Training on 2023-02, validating on 2023-03"), (
        f"the run's log says {said or 'nothing about its months'}"
    )
