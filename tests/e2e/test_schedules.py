"""Lesson 3's schedules, end to end: the server's own scheduler creates the upcoming runs, at the right times.

The scheduled deployments of 03_deploy_local/prefect.yaml are deployed with `prefect deploy`, as the lesson
does, under names of their own and to a pool that no worker polls: nothing runs them, and the other tests'
deployments, workers and redeploys cannot change what this file counts. Then the flow runs that the
server's scheduler inserted are compared with the fire times Prefect's scheduling rules give. A scheduler
that fails on every pass (Prefect 3.8.8 on SQLAlchemy 2.1, Prefect 3.9.1 on whenever 0.10) leaves none.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import yaml
from prefect import get_client
from prefect._vendor.croniter import croniter  # the croniter that Prefect's cron schedules are defined by
from prefect.client.schemas.actions import WorkPoolCreate
from prefect.client.schemas.filters import (
    DeploymentFilter,
    DeploymentFilterId,
    FlowRunFilter,
    FlowRunFilterState,
    FlowRunFilterStateType,
)
from prefect.client.schemas.objects import FlowRun, StateType
from prefect.client.schemas.sorting import FlowRunSort
from prefect.settings import get_current_settings

from coursekit import config
from coursekit.config import REPO_ROOT
from tests.support import server_log
from tests.support.run import output, prefect

pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("prefect_server")]

LESSON_FILE = REPO_ROOT / "03_deploy_local" / "prefect.yaml"
POOL = "schedule-check"  # no worker polls it
PREFIX = "schedule-check-"
SERVER_LOG = "prefect-server.log"  # the course names a service's log after it: .course/logs/<name>.log

# Expected records of the server's log while it schedules, beside tests/support/server_log.UNDER_LOAD:
# {pattern: why it is expected}. Empty: none are.
ALLOWED_LOG_LINES: dict[str, str] = {}


@pytest.fixture(scope="module")
def server_log_start(prefect_server: str) -> tuple[Path, int]:
    """The server's log and where this module's lines begin (other test files may provoke errors on purpose)."""
    log = config.current().log_dir / SERVER_LOG
    return log, log.stat().st_size


@pytest.fixture(scope="module")
def scheduled(server_log_start, tmp_path_factory) -> dict:
    """The lesson's scheduled deployments, deployed by the CLI: {name: (deployment id, schedule, deploy time)}."""
    lesson = yaml.safe_load(LESSON_FILE.read_text())
    specs = [spec for spec in lesson["deployments"] if spec.get("schedules")]
    assert {spec["name"] for spec in specs} == {"taxi-monthly", "taxi-every-6h"}
    for spec in specs:
        spec["name"] = PREFIX + spec["name"]
        spec["work_pool"] = {"name": POOL, "work_queue_name": "default"}
    own_file = tmp_path_factory.mktemp("schedules") / "prefect.yaml"
    own_file.write_text(yaml.safe_dump({**lesson, "deployments": specs}, sort_keys=False))

    with get_client(sync_client=True) as client:
        client.create_work_pool(WorkPoolCreate(name=POOL, type="process"), overwrite=True)
    deployed_at = datetime.now(UTC)
    deployed = prefect("--no-prompt", "deploy", "--all", "--prefect-file", str(own_file))
    assert deployed.returncode == 0, output(deployed)
    with get_client(sync_client=True) as client:
        found = {d.name: d.id for d in client.read_deployments() if d.name.startswith(PREFIX)}
    assert set(found) == {spec["name"] for spec in specs}
    yield {spec["name"].removeprefix(PREFIX): (found[spec["name"]], spec["schedules"], deployed_at) for spec in specs}
    with get_client(sync_client=True) as client:  # with COURSE_TEST_USE_RUNNING_SERVER=1 this is the learner's server
        for deployment_id in found.values():
            client.delete_deployment(deployment_id)
        client.delete_work_pool(POOL)


def fire_times(schedule: dict, after: datetime):
    """The schedule's fire times from `after` on, as the lesson's prefect.yaml defines them (UTC here)."""
    assert schedule.get("timezone", "UTC") == "UTC", "this test computes UTC schedules only"
    if "cron" in schedule:
        cron = croniter(schedule["cron"], after - timedelta(seconds=1))
        while True:
            yield cron.get_next(datetime)
    else:
        every = timedelta(seconds=schedule["interval"])
        anchor = datetime.fromisoformat(schedule["anchor_date"].replace("Z", "+00:00"))
        steps, rest = divmod(after - anchor, every)
        current = anchor + (steps + (rest > timedelta(0))) * every  # the first point of the grid >= after
        while True:
            yield current
            current += every


def upcoming(schedule: dict, now: datetime) -> list[datetime]:
    """The runs one scheduler pass at `now` inserts: Prefect's rule, with the server's settings.

    Dates from `now` on, until there are at least `min_runs` of them and they reach `now + min_scheduled_time`,
    never more than `max_runs` nor later than `now + max_scheduled_time`.
    """
    rules = get_current_settings().server.services.scheduler
    dates: list[datetime] = []
    for date in fire_times(schedule, now):
        if len(dates) >= rules.max_runs or date > now + rules.max_scheduled_time:
            break
        dates.append(date)
        if len(dates) >= rules.min_runs and date >= now + rules.min_scheduled_time:
            break
    return dates


def scheduled_runs(deployment_id) -> list[FlowRun]:
    with get_client(sync_client=True) as client:
        return client.read_flow_runs(
            deployment_filter=DeploymentFilter(id=DeploymentFilterId(any_=[deployment_id])),
            flow_run_filter=FlowRunFilter(
                state=FlowRunFilterState(type=FlowRunFilterStateType(any_=[StateType.SCHEDULED]))
            ),
            sort=FlowRunSort.EXPECTED_START_TIME_ASC,
        )


@pytest.mark.parametrize("name", ["taxi-monthly", "taxi-every-6h"])
def test_the_scheduler_creates_the_next_runs_at_the_schedules_fire_times(scheduled, name):
    deployment_id, [schedule], deployed_at = scheduled[name]
    rules = get_current_settings().server.services.scheduler
    # The scheduler takes up a new deployment within `recent_deployments_loop_seconds` (5 s) and looks at
    # every deployment each `loop_seconds` (60 s, 10 in the tests); a pass inserts what is missing, so the set
    # only grows.
    deadline = time.monotonic() + rules.loop_seconds + 30
    while True:
        runs = scheduled_runs(deployment_id)
        times = [run.expected_start_time for run in runs]
        now = datetime.now(UTC)
        # One pass's runs; or, when a fire time went by since the deploy, a later pass's, or both passes'.
        first, latest = upcoming(schedule, deployed_at), upcoming(schedule, now)
        expected = [first, latest, sorted(set(first) | set(latest))]
        if times in expected or time.monotonic() > deadline:
            break
        time.sleep(1)
    assert times in expected, (
        f"{name}: the server's scheduler created {len(times)} scheduled runs {times}, expected {first} "
        f"(log: {config.current().log_dir / SERVER_LOG})"
    )
    assert len(times) >= rules.min_runs
    for run in runs:
        assert run.auto_scheduled and "auto-scheduled" in run.tags, f"{run.name} was not made by the scheduler"
        assert run.work_pool_name == POOL


def test_the_server_logs_no_error_while_it_schedules(server_log_start, scheduled):
    log, start = server_log_start
    found = server_log.problems(ALLOWED_LOG_LINES, log=log, start=start)
    assert not found, f"the server logged errors while scheduling ({log}):\n" + "\n".join(found)
