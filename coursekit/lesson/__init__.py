"""What lesson files import: the data and the plumbing around the lesson, never the lesson's own calls.

    taxi, taxi_synthetic   NYC TLC green-taxi months: validate, fetch and cache, a synthetic month offline
    churn                  the generated bank-churn table of the classification flow
    paths, timing          where data and models go; a stopwatch for the report's step times
    lessons                one lesson's file loaded from another (the lesson-2 pipeline, reused)
    dask_cluster           lesson 5's Dask plumbing: the scheduler handshake, lesson code sent by value
    s3_errors              lesson 4's object-storage errors in one line

`ui_link(flow_run_id)` is a run's page in the UI the course teaches, the one the server opens at its root
(Prefect's `runtime.flow_run.ui_url` points at the new UI's path, /flow-runs/...).

`run` (below) is what a lesson script calls under `if __name__ == "__main__":`: run the flow, and turn
a failure into one readable line and exit code 1 instead of a traceback (Prefect has already logged
the details, and the UI shows them).
"""

from __future__ import annotations

import sys
from typing import Any, cast

from prefect import Flow
from prefect.states import State

from coursekit import console, runs
from coursekit.runs import ui_link

__all__ = ["run", "ui_link"]


def run(flow: Flow, **parameters: Any) -> Any:
    state = cast(State, flow(**parameters, return_state=True))
    flow_run_id = state.state_details.flow_run_id or "?"
    console.say(f"See this run in the UI: {runs.ui_link(flow_run_id)}")
    if state.is_completed():
        return state.result()
    try:
        state.result()
    except Exception as exc:  # noqa: BLE001 (any failure of the flow is reported the same way)
        console.fail(f"Flow {flow.name!r} ended {state.name}: {exc}")
    else:
        console.fail(f"Flow {flow.name!r} ended {state.name}: {state.message}")
    sys.exit(1)
