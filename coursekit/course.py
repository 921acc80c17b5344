"""The course's stages, in one table: what the command line, the stage runners and the tests all read.

A stage is a numbered lesson folder with its `make stage-N` and `make check-N`. Adding a lesson means a
row here, a folder, and a runner in coursekit/cli/stages/ (CONTRIBUTING.md has the checklist).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from coursekit.config import REPO_ROOT


@dataclass(frozen=True)
class Stage:
    number: int
    folder: str  # the lesson folder, relative to the top of the repository
    teaches: str  # one line, as `make help` and the README's stage map say it

    @property
    def path(self) -> Path:
        return REPO_ROOT / self.folder

    @property
    def exercise_tests(self) -> Path:
        """The tests that `make check-N` runs against the learner's files (and `make test` against the solutions)."""
        return REPO_ROOT / "tests" / "exercises" / f"test_stage{self.number}.py"


STAGES: tuple[Stage, ...] = (
    Stage(1, "01_intro", "tasks, flows, subflows, retries against a flaky API"),
    Stage(2, "02_workflow", "the taxi training flow: caching, artifacts, parameters"),
    Stage(3, "03_deploy_local", "prefect.yaml, work pools, a process worker, deployments, schedules"),
    Stage(4, "04_deploy_s3", "blocks, data, model and code in S3, a run started by an event"),
    Stage(5, "05_cloud", "email hooks and an automation, workers sharing a pool, a Dask sweep, Prefect Cloud"),
)
NUMBERS = tuple(stage.number for stage in STAGES)
FOLDERS = tuple(stage.folder for stage in STAGES)


class NoSuchStage(ValueError):
    pass


def by_folder(folder: str) -> Stage:
    return next(candidate for candidate in STAGES if candidate.folder == folder)


def stage(number: int) -> Stage:
    for candidate in STAGES:
        if candidate.number == number:
            return candidate
    raise NoSuchStage(f"There is no stage {number}; the stages are {', '.join(map(str, NUMBERS))}.")
