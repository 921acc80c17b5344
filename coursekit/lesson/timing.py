"""A stopwatch for the steps of a pipeline, for the time-per-step table in lesson 2's report.

`clock.lap("train")` after a step books the time since the previous lap (or since the start) to that
step. Laps go between the lines of the pipeline and wrap none of them, so the flow's body stays line
for line that of the plain script (diff 02_workflow/orchestrate_pre_prefect.py 02_workflow/orchestrate.py).
"""

from __future__ import annotations

import time


class Stopwatch:
    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}
        self._last = time.perf_counter()

    def lap(self, step: str) -> None:
        now = time.perf_counter()
        self.seconds[step] = self.seconds.get(step, 0.0) + now - self._last
        self._last = now

    @property
    def total(self) -> float:
        return sum(self.seconds.values())
