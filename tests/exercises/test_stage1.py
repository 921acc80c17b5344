"""01_intro exercises. `make check-1` runs these against your files in 01_intro/exercises/."""

from __future__ import annotations

import pytest
from prefect import get_client
from prefect.client.schemas.filters import (
    FlowRunFilter,
    FlowRunFilterParentFlowRunId,
    TaskRunFilter,
    TaskRunFilterFlowRunId,
)

pytestmark = pytest.mark.usefixtures("prefect_server")


def task_run_names(flow_run_id) -> list[str]:
    with get_client(sync_client=True) as client:
        runs = client.read_task_runs(
            task_run_filter=TaskRunFilter(flow_run_id=TaskRunFilterFlowRunId(any_=[flow_run_id]))
        )
    return [run.name for run in runs]


@pytest.mark.exercise("01_intro", "ex1_task_name")
def test_task_runs_carry_the_readable_name(exercise):
    assert exercise.pick_cat_fact.name == "Pick a cat fact"
    state = exercise.cat_fact_of_the_day(day=2, return_state=True)
    assert state.is_completed()
    names = task_run_names(state.state_details.flow_run_id)
    assert len(names) == 1 and names[0].startswith("Pick a cat fact"), names


@pytest.mark.exercise("01_intro", "ex2_retries")
def test_flaky_flow_completes_thanks_to_retries(exercise):
    assert exercise.fetch_fact.retries >= 2, "two failing attempts need at least two retries"
    assert exercise.fetch_fact.retry_delay_seconds, "wait a little between attempts: retry_delay_seconds"
    state = exercise.resilient_fact(return_state=True)
    assert state.is_completed(), state.message
    assert state.result() == "Cats can rotate their ears 180 degrees."


@pytest.mark.exercise("01_intro", "ex3_subflows")
def test_parent_flow_runs_both_flows_as_subflows(exercise):
    state = exercise.animal_facts(return_state=True)
    assert state.is_completed(), state.message
    assert state.result() == [exercise.cat_fact_flow.fn(), exercise.dog_fact_flow.fn()]
    with get_client(sync_client=True) as client:
        children = client.read_flow_runs(
            flow_run_filter=FlowRunFilter(
                parent_flow_run_id=FlowRunFilterParentFlowRunId(any_=[state.state_details.flow_run_id])
            )
        )
        child_flows = sorted(client.read_flow(child.flow_id).name for child in children)
    assert child_flows == ["cat-fact-flow", "dog-fact-flow"], "both facts must come from subflow runs"


@pytest.mark.exercise("01_intro", "ex4_retry_only_what_helps")
def test_a_busy_api_is_retried_and_a_missing_fact_fails_at_once(exercise):
    busy = exercise.fact_or_nothing([503, 503, 200], return_state=True)
    assert busy.is_completed(), f"two 503s then a fact should complete: {busy.message}"
    missing = exercise.fact_or_nothing([404], return_state=True)
    assert missing.is_failed(), "a 404 has no fact to return: the run must fail"
    with get_client(sync_client=True) as client:
        (fetch,) = client.read_task_runs(
            task_run_filter=TaskRunFilter(flow_run_id=TaskRunFilterFlowRunId(any_=[missing.state_details.flow_run_id]))
        )
    assert fetch.run_count == 1, f"the 404 was tried {fetch.run_count} times: no retry can make it succeed"
