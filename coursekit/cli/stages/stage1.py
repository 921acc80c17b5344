"""make stage-1: the facts flows against the flaky local API, then the retries they recovered from."""

from __future__ import annotations

from coursekit import config, console, runs
from coursekit.cli.stages.common import StageFailed, StageResult, run_script
from coursekit.services import facts_api, server


def stage_1() -> StageResult:
    server.ensure_running()
    # A fresh facts API starts its seeded failure sequence again: every stage-1 run sees the same outages.
    facts_api.ensure_running(restart=True)
    run_script("01_intro/cat_facts.py")
    run_script("01_intro/cat_dog_facts.py")

    result = StageResult(stage=1, ran="cat_facts.py, cat_dog_facts.py")
    rows = []
    for flow_name in ("fetch", "animal-facts"):
        flow_run = runs.latest_flow_run(flow_name)
        if flow_run is None:
            raise StageFailed(f"No run of flow {flow_name!r} reached the server at {config.current().api_url}.")
        result.states[flow_name] = runs.state_name(flow_run)
        rows += runs.task_attempts(flow_run.id)
    retried = sum(r.retried for r in rows)
    console.step("Task runs and their attempts (each failed attempt was a 503 from the facts API)")
    console.say(
        console.table(
            ["flow run", "task run", "attempts", "final state"],
            [[r.flow_run, r.task_run, str(r.attempts), r.state] for r in rows],
        )
    )
    result.key_figure = f"{retried} failed attempts retried, {len(rows)} task runs completed"
    console.ok(f"{retried} failed attempts were retried and recovered.")
    console.say(f"Compare the runs in the UI: {config.current().ui_page('/runs')}")
    return result
