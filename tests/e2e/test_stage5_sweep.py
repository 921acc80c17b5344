"""Stage 5 scale-out: the taxi sweep on a Dask cluster scores like the sequential sweep, on a real server."""

from __future__ import annotations

import json
import socket
import time

import pytest
from distributed import LocalCluster
from prefect import get_client
from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterFlowRunId, ArtifactFilterKey

from coursekit.lesson.lessons import lesson_module
from coursekit.services import lifecycle
from tests.support.run import output, run

pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("prefect_server")]

# A lost worker makes Dask wait for it for ever: a run that hangs fails the test instead.
NO_HANGING = {"timeout_seconds": 300}


@pytest.fixture(scope="module")
def sweep():
    return lesson_module("05_cloud/sweep.py")


@pytest.fixture(autouse=True)
def no_cluster_of_the_learners(monkeypatch):
    monkeypatch.delenv("COURSE_DASK_ADDRESS", raising=False)


@pytest.fixture(scope="module")
def local_cluster_run(sweep):
    """A sweep as `python 05_cloud/sweep.py` runs it: on a LocalCluster with a worker process."""
    state = sweep.sweep_flow.with_options(task_runner=sweep.task_runner(), **NO_HANGING)(return_state=True)
    assert state.is_completed(), state.message
    return state


def scores(rows: list[dict]) -> dict[tuple, float]:
    return {(row["learning_rate"], row["max_leaf_nodes"]): row["rmse_minutes"] for row in rows}


@pytest.mark.readme("python 05_cloud/sweep.py --sequential", because="the flow, on the runner --sequential picks")
def test_the_dask_sweep_scores_every_setting_exactly_as_the_sequential_sweep(sweep, local_cluster_run):
    on_dask = local_cluster_run.result()
    one_by_one = sweep.sweep_flow.with_options(task_runner=sweep.task_runner(sequential=True), **NO_HANGING)()
    assert sorted(scores(on_dask)) == sorted((s["learning_rate"], s["max_leaf_nodes"]) for s in sweep.GRID)
    assert scores(on_dask) == scores(one_by_one)
    assert [row["rmse_minutes"] for row in on_dask] == sorted(scores(on_dask).values()), "best first"
    assert all(3 < row["rmse_minutes"] < 8 and row["seconds"] > 0 for row in on_dask), on_dask


def test_the_table_artifact_has_one_row_per_setting_and_names_months_and_runner(sweep, local_cluster_run):
    with get_client(sync_client=True) as client:
        (artifact,) = client.read_artifacts(
            artifact_filter=ArtifactFilter(
                key=ArtifactFilterKey(any_=["taxi-sweep"]),
                flow_run_id=ArtifactFilterFlowRunId(any_=[local_cluster_run.state_details.flow_run_id]),
            )
        )
    table = json.loads(artifact.data) if isinstance(artifact.data, str) else artifact.data
    assert table == local_cluster_run.result() and len(table) == len(sweep.GRID)
    assert "trained on 20,000 sampled trips of 2023-01, validated on 2023-02" in artifact.description
    assert artifact.description.endswith("on DaskTaskRunner"), artifact.description


@pytest.mark.readme(
    "python 05_cloud/sweep.py --address tcp://HOST:8786",
    because="the flow, on the runner --address picks, with the address of a cluster the test starts",
)
def test_an_existing_cluster_at_an_address_runs_the_sweep(sweep, local_cluster_run):
    # Worker processes, as `dask scheduler` and `dask worker` start them: the lesson code travels by value.
    with LocalCluster(n_workers=1, threads_per_worker=2, processes=True, dashboard_address=None) as cluster:
        runner = sweep.task_runner(address=cluster.scheduler_address)
        state = sweep.sweep_flow.with_options(task_runner=runner, **NO_HANGING)(return_state=True)
    assert state.is_completed(), state.message
    assert scores(state.result()) == scores(local_cluster_run.result())
    (artifact,) = [a for a in _artifacts_of(state) if a.key == "taxi-sweep"]
    assert artifact.description.endswith(f"on {cluster.scheduler_address}"), artifact.description


def _artifacts_of(state) -> list:
    with get_client(sync_client=True) as client:
        return client.read_artifacts(
            artifact_filter=ArtifactFilter(flow_run_id=ArtifactFilterFlowRunId(any_=[state.state_details.flow_run_id]))
        )


def test_an_address_where_no_scheduler_answers_fails_in_seconds_saying_what_to_do(sweep):
    address = f"tcp://127.0.0.1:{lifecycle.free_port()}"
    started = time.monotonic()
    with pytest.raises(ConnectionError, match="start it with `dask scheduler`") as raised:
        sweep.task_runner(address=address)
    assert time.monotonic() - started < 25, "Dask on its own retries for 30 s"
    assert f"Could not reach the Dask scheduler at {address}" in str(raised.value)


def test_a_port_that_is_not_a_scheduler_fails_in_seconds_instead_of_hanging(sweep, monkeypatch):
    with socket.create_server(("127.0.0.1", 0)) as stranger:  # accepts, and never answers Dask's hello
        address = f"tcp://127.0.0.1:{stranger.getsockname()[1]}"
        monkeypatch.setenv("COURSE_DASK_ADDRESS", address)
        started = time.monotonic()
        with pytest.raises(ConnectionError, match="something answers there, but not a Dask scheduler"):
            sweep.task_runner()
    assert time.monotonic() - started < 25


@pytest.mark.readme(
    "python 05_cloud/sweep.py --address tcp://HOST:8786",
    because="the command itself, with an address where no scheduler answers",
)
def test_the_cli_names_an_unreachable_address_and_exits_1_without_a_traceback():
    address = f"tcp://127.0.0.1:{lifecycle.free_port()}"
    done = run("python", "05_cloud/sweep.py", "--address", address, timeout=120)
    assert done.returncode == 1, output(done)
    assert f"✗ Could not reach the Dask scheduler at {address}" in done.stderr, output(done)
    assert "leave --address out for a local cluster" in done.stderr and "Traceback" not in done.stderr
