"""What `make stage-N` and `make tour` run: the lesson scripts, exactly as a learner would type them,
then a summary. Each stage prints every command before it runs it, so the learner can repeat any step
by hand. One module per stage; common.py has what they share."""

from __future__ import annotations

import contextlib
import json
import time
from collections.abc import Callable
from dataclasses import asdict

from coursekit import config, console, course
from coursekit.cli.stages import stage5
from coursekit.cli.stages.common import Interrupted, StageFailed, StageResult, send_what_prefect_holds, stop_on_ctrl_c
from coursekit.cli.stages.stage1 import stage_1
from coursekit.cli.stages.stage2 import stage_2
from coursekit.cli.stages.stage3 import stage_3
from coursekit.cli.stages.stage4 import stage_4
from coursekit.cli.stages.stage5 import stage_5
from coursekit.services import server, workers

__all__ = [
    "STAGES",
    "Interrupted",
    "StageFailed",
    "StageResult",
    "run_stage",
    "send_what_prefect_holds",
    "stop_on_ctrl_c",
    "tour",
]

# The runner of each stage in coursekit.course's table (a test checks that every stage has one).
STAGES: dict[int, Callable[[], StageResult]] = {1: stage_1, 2: stage_2, 3: stage_3, 4: stage_4, 5: stage_5}


def run_stage(number: int) -> StageResult:
    try:
        course.stage(number)
    except course.NoSuchStage as exc:
        raise StageFailed(str(exc)) from None
    started = time.monotonic()
    result = STAGES[number]()
    result.seconds = round(time.monotonic() - started, 1)
    summary_dir = config.current().state_dir / "summary"
    summary_dir.mkdir(parents=True, exist_ok=True)
    (summary_dir / f"stage-{number}.json").write_text(json.dumps(asdict(result), indent=2))
    return result


def tour() -> list[StageResult]:
    """Every stage in order, then one table: what ran, how it ended, its key figure, how long it took."""
    started = time.monotonic()
    results = []
    server.ensure_running()
    with contextlib.ExitStack() as early:
        # The workers of stages 3-5, started now: each spends seconds importing Prefect, which then overlaps
        # the first two lessons instead of delaying the later ones. The stages find them running. The one on
        # course-pool stays after the tour, as after make stage-5: it sends the emails of runs that end later.
        workers.ensure_pool("course-pool")
        workers.start_workers("course-pool", count=1, wait=False)
        workers.ensure_pool(stage5.SCALE_POOL)
        early.enter_context(workers.running(stage5.SCALE_POOL, stage5.SCALE_WORKERS, limit=1, wait=False))
        for number in course.NUMBERS:
            console.step(f"Stage {number}")
            try:
                results.append(run_stage(number))
            except (KeyboardInterrupt, Interrupted):
                raise Interrupted(number) from None  # leaving the block stops the workers started above
    total = round(time.monotonic() - started, 1)
    console.step("Tour summary")
    console.say(
        console.table(
            ["stage", "what ran", "final states", "key figure", "time"],
            [
                [str(r.stage), r.ran, ", ".join(sorted(set(r.states.values()))), r.key_figure, f"{r.seconds:.0f} s"]
                for r in results
            ]
            + [["all", "the five stages, the server's start included", "", "", f"{total:.0f} s"]],
        )
    )
    summary = config.current().state_dir / "summary" / "tour.json"
    summary.write_text(json.dumps({"seconds": total, "stages": [asdict(r) for r in results]}, indent=2))
    console.say(
        f"\nEvery run is in the UI: {config.current().ui_page('/runs')}  (make stop ends the course's processes)"
    )
    return results
