"""The learner's exercises: each stage's goals and hints, and how far the learner has come.

`0N_*/exercises/exercises.yaml` is the one place for an exercise's goal and its two hints. The hints
are handed out as they are needed, as rustlings does: none at first; the first after a failed check
(or when asked: `make hint N=2-3`); the second after another failed check, or a second ask.

`.course/progress.json` records, per exercise, the last check's outcome, how often it failed, how
many hints were shown, and the hash of the learner's file when it passed: an exercise is done when
its last check passed and the file has not changed since. `make check-N` writes it (the summary in
tests/support/exercises.py), `make progress` and `make hint` read it.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

import yaml

from coursekit import config, course
from coursekit.files import atomic_file


@dataclass(frozen=True)
class Exercise:
    stage: course.Stage
    number: int  # 1-based, in the order of exercises.yaml
    name: str
    goal: str
    hints: tuple[str, ...]

    @property
    def key(self) -> str:
        return f"{self.stage.folder}/{self.name}"

    @property
    def file(self) -> Path:
        return self.stage.path / "exercises" / f"{self.name}.py"

    @property
    def solution(self) -> Path:
        """The reference solution, kept out of the lesson folder: `make check-N` names it once the exercise passes."""
        return config.REPO_ROOT / "solutions" / self.stage.folder / f"{self.name}.py"

    @property
    def ref(self) -> str:
        return f"{self.stage.number}-{self.number}"


class NoSuchExercise(ValueError):
    pass


def of_stage(stage: course.Stage) -> list[Exercise]:
    listed = stage.path / "exercises" / "exercises.yaml"
    if not listed.is_file():
        return []
    entries = yaml.safe_load(listed.read_text())
    return [
        Exercise(stage, number, entry["name"], entry["goal"], tuple(entry["hints"]))
        for number, entry in enumerate(entries, start=1)
    ]


def every() -> list[Exercise]:
    return [exercise for stage in course.STAGES for exercise in of_stage(stage)]


def find(ref: str) -> Exercise:
    """`2-3` is stage 2's third exercise; `02_workflow/ex3_artifact` and `ex3_artifact` of stage 2 work too."""
    for exercise in every():
        if ref in (exercise.ref, exercise.key):
            return exercise
    refs = ", ".join(exercise.ref for exercise in every())
    raise NoSuchExercise(f"No exercise {ref!r}. Name one as STAGE-NUMBER: {refs}")


def progress_file() -> Path:
    return config.current().state_dir / "progress.json"


def _load() -> dict[str, dict]:
    try:
        return json.loads(progress_file().read_text())
    except (OSError, ValueError):
        return {}


def _save(progress: dict[str, dict]) -> None:
    with atomic_file(progress_file()) as part:
        part.write_text(json.dumps(progress, indent=2, sort_keys=True))


def _digest(path: Path) -> str | None:
    return hashlib.sha256(path.read_bytes()).hexdigest() if path.is_file() else None


def record_check(exercise: Exercise, passed: bool) -> list[str]:
    """Note a check's outcome; return the hints to show now (none when it passed)."""
    progress = _load()
    entry = progress.setdefault(exercise.key, {"failures": 0, "hints_shown": 0})
    entry["passed"] = passed
    entry["digest"] = _digest(exercise.file) if passed else None
    if not passed:
        entry["failures"] += 1
        entry["hints_shown"] = max(entry["hints_shown"], min(entry["failures"], len(exercise.hints)))
    _save(progress)
    return [] if passed else list(exercise.hints[: entry["hints_shown"]])


def ask_hint(exercise: Exercise) -> list[str]:
    """One more hint than was shown before (the first, then both); the hints to show."""
    progress = _load()
    entry = progress.setdefault(exercise.key, {"failures": 0, "hints_shown": 0, "passed": False})
    entry["hints_shown"] = min(entry["hints_shown"] + 1, len(exercise.hints))
    _save(progress)
    return list(exercise.hints[: entry["hints_shown"]])


def is_done(exercise: Exercise) -> bool:
    """Its last check passed, and the learner's file is the one that passed."""
    entry = _load().get(exercise.key, {})
    return bool(entry.get("passed")) and entry.get("digest") == _digest(exercise.file)


def bar(done: int, total: int, width: int = 20) -> str:
    filled = round(width * done / total) if total else 0
    return "[" + "#" * filled + "-" * (width - filled) + "]"


def progress_lines() -> list[str]:
    """`make progress`: each stage's exercises as done (✓) or not (·), and a bar per stage and in all."""
    lines, done_all, total_all = [], 0, 0
    for stage in course.STAGES:
        listed = of_stage(stage)
        if not listed:
            continue
        done = [is_done(exercise) for exercise in listed]
        done_all, total_all = done_all + sum(done), total_all + len(listed)
        lines.append(f"{stage.folder:<16} {bar(sum(done), len(listed))} {sum(done)}/{len(listed)}")
        lines += [
            f"  {'✓' if ok else '·'} {exercise.ref}  {exercise.name}" for exercise, ok in zip(listed, done, strict=True)
        ]
    lines.append(f"{'all':<16} {bar(done_all, total_all)} {done_all}/{total_all}")
    return lines
