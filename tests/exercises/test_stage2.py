"""02_workflow exercises. `make check-2` runs these against your files in 02_workflow/exercises/.

Task runs reach the API through events the server records a moment after the flow returns, so the
tests wait for them (`settled_task_runs`) instead of reading once.
"""

from __future__ import annotations

import random
import time

import pytest
from prefect import get_client
from prefect.cache_policies import CompoundCachePolicy, Inputs, TaskSource
from prefect.client.schemas.filters import (
    ArtifactCollectionFilter,
    ArtifactCollectionFilterKey,
    TaskRunFilter,
    TaskRunFilterFlowRunId,
)

pytestmark = pytest.mark.usefixtures("prefect_server")


def settled_task_runs(flow_run_id, expected: int, timeout: float = 20) -> list:
    """The task runs of a flow run, once `expected` of them have reached a final state (or at the timeout)."""
    deadline = time.monotonic() + timeout
    with get_client(sync_client=True) as client:
        while True:
            runs = client.read_task_runs(
                task_run_filter=TaskRunFilter(flow_run_id=TaskRunFilterFlowRunId(any_=[flow_run_id]))
            )
            settled = [run for run in runs if run.state is not None and run.state.is_final()]
            if len(settled) >= expected or time.monotonic() > deadline:
                return runs
            time.sleep(0.2)


def fresh_seed() -> int:
    """A seed no earlier run has used, so a cache left by an earlier session cannot answer for this one."""
    return random.SystemRandom().randrange(1, 2**32)


@pytest.mark.exercise("02_workflow", "ex1_task_name")
def test_read_data_runs_carry_the_readable_name(exercise):
    assert exercise.read_data.name == "Read taxi data"
    state = exercise.count_trips(month="2023-03", return_state=True)
    assert state.is_completed(), state.message
    assert state.result() == 2_000
    names = [run.name for run in settled_task_runs(state.state_details.flow_run_id, expected=1)]
    assert len(names) == 1 and names[0].startswith("Read taxi data"), names


@pytest.mark.exercise("02_workflow", "ex2_cache")
def test_second_run_with_the_same_input_is_served_from_the_cache(exercise):
    task = exercise.prepare_features
    policies = task.cache_policy.policies if isinstance(task.cache_policy, CompoundCachePolicy) else [task.cache_policy]
    kinds = {type(policy) for policy in policies}
    assert {Inputs, TaskSource} <= kinds, f"cache on the inputs and the task source, not {task.cache_policy!r}"
    assert task.cache_expiration is not None, "give the cache an expiration: cache_expiration=timedelta(...)"

    seed = fresh_seed()

    def prepare_state(seed: int) -> str:
        state = exercise.prepare_month(month="2023-01", seed=seed, return_state=True)
        assert state.is_completed(), state.message
        runs = settled_task_runs(state.state_details.flow_run_id, expected=1)
        assert len(runs) == 1, [run.name for run in runs]
        return runs[0].state.name

    assert prepare_state(seed) == "Completed", "a seed never seen before must compute"
    assert prepare_state(seed) == "Cached", "the same month and seed again must come from the cache"
    assert prepare_state(seed + 1) == "Completed", "other inputs must compute afresh: the key includes the inputs"


@pytest.mark.exercise("02_workflow", "ex3_artifact")
def test_rmse_is_published_as_a_markdown_artifact_of_the_run(exercise):
    state = exercise.train_and_score(return_state=True)
    assert state.is_completed(), state.message
    rmse = state.result()
    assert 0 < rmse < 60, rmse
    with get_client(sync_client=True) as client:
        latest = client.read_latest_artifacts(
            artifact_filter=ArtifactCollectionFilter(key=ArtifactCollectionFilterKey(any_=["taxi-rmse"]))
        )
    assert latest, 'no artifact with the key "taxi-rmse"'
    artifact = latest[0]
    assert artifact.flow_run_id == state.state_details.flow_run_id, "the latest taxi-rmse artifact is not from this run"
    assert artifact.type == "markdown", f"a {artifact.type} artifact, not markdown"
    assert f"{rmse:.2f}" in artifact.data, f"{rmse:.2f} (two decimals) not in {artifact.data!r}"


@pytest.mark.exercise("02_workflow", "ex4_parameters")
@pytest.mark.parametrize("bad_month", ["2023-1", "Jan 2023"])
def test_badly_written_month_fails_before_any_task_runs(exercise, bad_month):
    bad = exercise.train_on(month=bad_month, return_state=True)
    assert bad.is_failed(), f"train_on({bad_month!r}) ended {bad.type.value}, not failed"
    assert "YYYY-MM" in (bad.message or ""), bad.message
    with pytest.raises(ValueError, match="YYYY-MM"):
        bad.result()

    # The good run's task runs reach the API after any of the bad run's would, so once they are there,
    # an empty list for the bad run means that no task ran (and not that its runs are still on the way).
    good = exercise.train_on(month="2023-01", return_state=True)
    assert good.is_completed(), good.message
    assert len(settled_task_runs(good.state_details.flow_run_id, expected=2)) == 2
    started = settled_task_runs(bad.state_details.flow_run_id, expected=0, timeout=0)
    assert not started, f"tasks ran before the month was checked: {[run.name for run in started]}"


@pytest.mark.exercise("02_workflow", "ex5_cache_ignores")
def test_a_run_that_differs_only_in_show_report_is_served_from_the_cache(exercise):
    seed = fresh_seed()

    def prepare_state(**parameters) -> str:
        state = exercise.prepare_month(month="2023-01", return_state=True, **parameters)
        assert state.is_completed(), state.message
        runs = settled_task_runs(state.state_details.flow_run_id, expected=1)
        assert len(runs) == 1, [run.name for run in runs]
        return runs[0].state.name

    assert prepare_state(seed=seed) == "Completed", "a seed never seen before must compute"
    assert prepare_state(seed=seed, show_report=True) == "Cached", "show_report changes no feature: use the cache"
    assert prepare_state(seed=seed + 1, show_report=True) == "Completed", (
        "another seed must compute: keep it in the key"
    )
