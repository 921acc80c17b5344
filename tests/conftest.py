"""Test setup shared by every test: an isolated course (state dir, ports) and a real Prefect server.

The environment is set here, before any test module imports Prefect, so in-process flows and the
subprocesses the tests start (lesson scripts, workers) all talk to the same throw-away server.
`make check-N` sets COURSE_TEST_USE_RUNNING_SERVER=1 to use the learner's running course server
instead, so their exercise runs show up in their UI.
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
from pathlib import Path

import pytest

from coursekit import config
from coursekit.services import lifecycle, server
from tests.support import exercises

OWN_STATE = os.environ.get("COURSE_TEST_USE_RUNNING_SERVER") != "1"
if OWN_STATE:
    _state_dir = Path(tempfile.mkdtemp(prefix="course-test-"))
    os.environ.update(lifecycle.throwaway_course(_state_dir))
    os.environ.update(config.current().prefect_env())
    # The scheduler looks at every deployment each 60 s by default; a schedule added or resumed on a
    # deployment it already knows (the UI walkthrough does both) waits for that pass. 10 s here: the same
    # passes, the same runs, sooner.
    os.environ["PREFECT_SERVER_SERVICES_SCHEDULER_LOOP_SECONDS"] = "10"
    # A learner's real bucket, mail server, database and login stay out of the tests.
    for leaked in (
        "COURSE_S3_ENDPOINT_URL",
        "COURSE_S3_BUCKET",
        "COURSE_SMTP_SERVER",
        "COURSE_EMAIL_TO",
        "COURSE_DATABASE_URL",
        "COURSE_SERVER_AUTH",
    ):
        os.environ.pop(leaked, None)
for leaked in ("CAT_FACTS_URL", "DOG_FACTS_URL"):  # a learner's override must not steer the tests
    os.environ.pop(leaked, None)
# `make test` runs pytest: a `make` that a test starts would count itself nested and add "Entering
# directory" lines to the output the test reads. The tests run make as a learner's shell does.
for inherited in ("MAKELEVEL", "MAKEFLAGS", "MFLAGS", "MAKEOVERRIDES"):
    os.environ.pop(inherited, None)


@pytest.fixture(scope="session")
def prefect_server() -> str:
    """The API URL of a real Prefect server process (started once per test session)."""
    return server.ensure_running(quiet=True)


@pytest.fixture(scope="session")
def chromium() -> None:
    """Debian's Chromium, which the browser checks drive: CI must have it, a learner's machine may not."""
    from coursekit.maintainer import browser

    if not browser.CHROMIUM.exists():
        if os.environ.get("CI", "").lower() in ("true", "1"):
            pytest.fail(browser.install_hint())
        pytest.skip(browser.install_hint())


@pytest.fixture
def course_worker(prefect_server: str) -> str:
    """A real process worker polling the work pool "course-pool"; the pool's name is returned.

    Checked for every test that asks: a test may stop workers (make stage-3 does), and starting one
    that is already running returns at once.
    """
    from coursekit.services import workers

    workers.ensure_pool("course-pool")
    workers.start_worker("course-pool")
    return "course-pool"


@pytest.fixture(scope="session")
def _stage3_deployed(prefect_server: str) -> None:
    from coursekit.services import containers, gitrepo, workers
    from tests.support.run import output, prefect

    workers.ensure_pool("course-pool")
    workers.ensure_pool(containers.POOL, pool_type="docker")  # taxi-docker's: no warning of a missing pool
    gitrepo.publish_head()
    deployed = prefect("--no-prompt", "deploy", "--all", "--prefect-file", "03_deploy_local/prefect.yaml")
    assert deployed.returncode == 0, output(deployed)


@pytest.fixture
def stage3_deployments(_stage3_deployed: None, course_worker: str) -> None:
    """Every deployment of 03_deploy_local/prefect.yaml, deployed as make stage-3 does it, and a worker."""


def pytest_unconfigure(config: pytest.Config) -> None:
    _drain_prefect_clients()
    if OWN_STATE:
        if "docker" in sys.modules:  # lesson 3's containers of this session, as `make stop` removes them
            from coursekit.services import containers

            containers.stop_course_containers()
        lifecycle.stop_all()
        shutil.rmtree(_state_dir, ignore_errors=True)


def _drain_prefect_clients() -> None:
    """Send buffered logs and events before the server goes, or Prefect retries them for a minute at exit."""
    if "prefect" not in sys.modules:
        return
    from prefect.events.worker import EventsWorker
    from prefect.logging.handlers import APILogWorker

    APILogWorker.drain_all(timeout=5)
    EventsWorker.drain_all(timeout=5)


# --- exercises: solutions must pass, untouched starters must fail, `make check-N` checks yours ---


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--exercises",
        choices=["both", "learner"],
        default="both",
        help="both: reference solutions must pass and untouched starters must fail (make test); "
        "learner: check the files in exercises/ as you edited them (make check-N)",
    )
    parser.addoption("--only-exercise", default=None, help="only the tests of this exercise (make watch)")


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "exercise" in metafunc.fixturenames:
        metafunc.parametrize("exercise", exercises.targets(metafunc.config), indirect=True)


@pytest.fixture
def exercise(request: pytest.FixtureRequest):
    """The exercise module under test, loaded from the learner's file, the solution or the starter."""
    marker = request.node.get_closest_marker("exercise")
    if marker is None:
        raise pytest.UsageError(f"{request.node.nodeid} needs @pytest.mark.exercise(stage, name)")
    request.node.user_properties.append(("exercise", tuple(marker.args)))
    return exercises.load(*marker.args, target=request.param)


# A test that needs a worker, a deployment or a work pool is end to end whatever folder it is in: it
# waits on real processes polling the server. `make test-fast` (-m "not e2e") leaves those out.
END_TO_END_FIXTURES = {"course_worker", "stage3_deployments", "course_pool", "send_email_deployment"}


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        if END_TO_END_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.e2e)
    items.sort(key=_longest_first)
    if only := config.getoption("--only-exercise"):
        marked = [(item, item.get_closest_marker("exercise")) for item in items]
        keep = [item for item, marker in marked if marker is not None and marker.args[1] == only]
        config.hook.pytest_deselected(items=[item for item in items if item not in keep])
        items[:] = keep


# `make test` hands whole files to its test processes in this order (--no-loadscope-reorder): the longest
# first, so that the tour, the longest path of all, starts at once and the short files fill in around it.
# From `make test`'s --durations; a file not named here keeps its place after these.
LONGEST_FIRST = (
    "tests/e2e/test_tour.py",
    "tests/e2e/test_walkthrough.py",
    "tests/test_readme_commands.py",
    "tests/e2e/test_stage2.py",
    "tests/e2e/test_stage3_workers.py",
    "tests/e2e/test_stage5_busy.py",
    "tests/e2e/test_stage4.py",
    "tests/e2e/test_stage3.py",
    "tests/e2e/test_stage3_docker.py",
    "tests/e2e/test_server_restart.py",
    "tests/exercises/test_stage3.py",
    "tests/e2e/test_stage5_server.py",
    "tests/e2e/test_by_hand.py",
    "tests/e2e/test_stage5_sweep.py",
    "tests/exercises/test_stage5.py",
    "tests/e2e/test_stage5_notify.py",
    "tests/e2e/test_lifecycle.py",
)


def _longest_first(item: pytest.Item) -> int:
    path = item.nodeid.split("::")[0]
    return LONGEST_FIRST.index(path) if path in LONGEST_FIRST else len(LONGEST_FIRST)


pytest_runtest_makereport = exercises.starters_fail_in_the_test
pytest_runtest_logreport = exercises.record_report
pytest_terminal_summary = exercises.print_summary
