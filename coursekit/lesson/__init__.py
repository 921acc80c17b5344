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
a failure into one readable line and exit code 1 instead of a traceback. The traceback is not lost:
Prefect sends it with the run's logs to the server, and the run's page in the UI shows it; only the
terminal leaves it out (COURSE_TRACEBACKS=1 puts it back there too).
"""

from __future__ import annotations

import logging
import os
import sys
import urllib.request
from typing import Any, cast

from prefect import Flow
from prefect.logging.handlers import PrefectConsoleHandler
from prefect.settings import get_current_settings
from prefect.states import State

from coursekit import config, console, runs
from coursekit.lesson.where import (
    where_this_runs as where_this_runs,
)  # lesson 3: a process, or a Docker container (its id)
from coursekit.runs import ui_link

__all__ = ["run", "the_course_server_answers", "ui_link"]


class TerminalWithoutTracebacks(logging.Filter):
    """For Prefect's terminal handler only; the handler that sends logs to the server runs first.

    - the flow's "Encountered exception" record (message and traceback) and its "Finished in state
      Failed" line: `run` prints the failure in one line instead;
    - a task run's failure keeps its line, without the traceback under it;
    - "EventsWorker - Still processing items" at exit, which is Prefect flushing its events, not news.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if record.name == "prefect.flow_runs" and (record.exc_info or message.startswith("Finished in state Failed")):
            return False
        if record.exc_info and record.name == "prefect.task_runs":
            record.exc_info, record.exc_text = None, None  # the server's handler has already sent it whole
        return not message.startswith("Still processing items")


def the_course_server_answers() -> None:
    """Exit with one line unless this process talks to a Prefect server that answers.

    Without PREFECT_API_URL (a shell not set up with `eval "$(make -s env)"`), Prefect would start a
    throwaway server of its own for the script, and the run's link would lead nowhere after it exits.
    """
    if "PREFECT_API_KEY" in os.environ:  # Prefect Cloud (lesson 5) answers for itself, with a key
        return
    url = get_current_settings().api.url
    if not url:
        console.fail(
            "This shell is not pointed at the course's Prefect server (PREFECT_API_URL is not set), so Prefect "
            'would start a throwaway one just for this script. Run eval "$(make -s env)" in this shell first.'
        )
        sys.exit(1)
    try:
        with urllib.request.urlopen(f"{url.rstrip('/')}/health", timeout=5):
            pass
    except OSError:
        course_server = url.rstrip("/") == config.current().api_url
        what = "`make server` starts it" if course_server else "start it, or point PREFECT_API_URL at one that runs"
        console.fail(f"The Prefect server is not answering at {url}: {what}.")
        sys.exit(1)


def run(flow: Flow, **parameters: Any) -> Any:
    the_course_server_answers()
    if not os.environ.get("COURSE_TRACEBACKS"):
        for handler in logging.getLogger().handlers:
            if isinstance(handler, PrefectConsoleHandler):
                handler.addFilter(TerminalWithoutTracebacks())
    state = cast(State, flow(**parameters, return_state=True))
    flow_run_id = state.state_details.flow_run_id or "?"
    console.say(f"See this run in the UI: {runs.ui_link(flow_run_id)}")
    if state.is_completed():
        return state.result()
    try:
        state.result()
    except Exception as exc:  # noqa: BLE001 (any failure of the flow is reported the same way)
        console.fail(f"Flow {flow.name!r} ended {state.name}: {exc}")  # the traceback: in the run's logs
    else:
        console.fail(f"Flow {flow.name!r} ended {state.name}: {state.message}")
    sys.exit(1)
