"""Loading exercise files and reporting per exercise, as rustlings does.

Each exercise test is marked `@pytest.mark.exercise("01_intro", "ex1_task_name")` and takes the
`exercise` fixture. Under `make test` it runs twice: against the reference solution (must pass) and
against the starter as committed (must fail: strict xfail), which proves that the test can fail.
Under `make check-N` it runs once, against the learner's own file, and the summary names each
exercise, with the hints it has earned so far (coursekit/exercises.py keeps the count).
"""

from __future__ import annotations

import importlib.util
import subprocess
import sys
import tempfile
from collections import defaultdict
from pathlib import Path
from types import ModuleType

import pytest

from coursekit import course
from coursekit import exercises as course_exercises
from coursekit.config import REPO_ROOT

_results: dict[tuple[str, str], list[str]] = defaultdict(list)
_reasons: dict[tuple[str, str], str] = {}


def targets(config: pytest.Config) -> list:
    if config.getoption("--exercises") == "learner":
        return [pytest.param("learner", id="yours")]
    return [
        pytest.param("solution", id="solution"),
        pytest.param(
            "starter",
            id="starter",
            marks=pytest.mark.xfail(strict=True, reason="an untouched starter must fail this test"),
        ),
    ]


def load(stage: str, name: str, *, target: str) -> ModuleType:
    relative = f"{stage}/exercises/{name}.py"
    if target == "solution":
        path = REPO_ROOT / "solutions" / stage / f"{name}.py"
    elif target == "starter":
        path = _committed_copy(relative)
    else:
        path = REPO_ROOT / relative
    module_name = f"exercise_{stage}_{name}_{target}"
    spec = importlib.util.spec_from_file_location(module_name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module
    spec.loader.exec_module(module)
    return module


def _committed_copy(relative: str) -> Path:
    """The starter as committed, so `make test` still holds after a learner has solved the exercise."""
    shown = subprocess.run(
        ["git", "show", f"HEAD:{relative}"], cwd=REPO_ROOT, capture_output=True, text=True, check=False
    )
    if shown.returncode != 0:  # not a git checkout (or not committed yet): the file as it is
        return REPO_ROOT / relative
    copy = Path(tempfile.mkdtemp(prefix="starter-")) / Path(relative).name
    copy.write_text(shown.stdout)
    return copy


@pytest.hookimpl(hookwrapper=True)
def starters_fail_in_the_test(item: pytest.Item, call: pytest.CallInfo):
    """A starter must fail in the test's body. If a fixture fails first, the strict xfail would still pass
    and hide a broken check, so that is reported as an error."""
    outcome = yield
    report = outcome.get_result()
    if call.when == "setup" and getattr(report, "wasxfail", None) and "[starter]" in item.nodeid:
        report.outcome = "failed"
        del report.wasxfail


def record_report(report: pytest.TestReport) -> None:
    exercise = dict(report.user_properties).get("exercise")
    # A learner's file that does not even import fails in setup: that counts as failing too.
    if exercise is not None and (report.when == "call" or report.failed):
        _results[exercise].append(report.outcome)
        crash = getattr(report.longrepr, "reprcrash", None)
        if report.failed and crash is not None:
            _reasons.setdefault(exercise, crash.message.splitlines()[0])


def print_summary(terminalreporter, exitstatus: int, config: pytest.Config) -> None:
    if config.getoption("--exercises") != "learner" or not _results:
        return
    write = terminalreporter.write_line
    # pytest's own last line counts tests ("5 passed"), and an exercise may have several: this summary counts
    # exercises instead, and pytest's line is left out.
    terminalreporter.summary_stats = lambda: None
    done = total = 0
    for stage in sorted({stage for stage, _ in _results}):
        write("")
        write(f"{stage} exercises")
        entries = course_exercises.of_stage(course.by_folder(stage))
        total += len(entries)
        width = max(len(entry.name) for entry in entries)
        for entry in entries:
            outcomes = _results.get((stage, entry.name))
            if not outcomes:
                if course_exercises.is_done(entry):
                    done += 1
                    write(f"  ✓ {entry.name:<{width}} done (checked before, file unchanged)")
                elif not config.getoption("--only-exercise"):
                    write(f"  ? {entry.name:<{width}} not checked (no test ran)")
                continue
            passed = all(o == "passed" for o in outcomes)
            hints = course_exercises.record_check(entry, passed)
            if passed:
                done += 1
                write(f"  ✓ {entry.name:<{width}} {entry.goal}")
                write(f"      done: compare with the reference, {entry.solution.relative_to(REPO_ROOT)}")
                continue
            write(f"  ✗ {entry.name:<{width}} {entry.goal}")
            if (stage, entry.name) in _reasons:
                write(f"      why:  {_reasons[stage, entry.name]}")
            for level, hint in enumerate(hints, start=1):
                write(f"      hint {level}: {hint}")
            if len(hints) < len(entry.hints):
                write(f"      (another hint after the next failed check, or now: make hint N={entry.ref})")
    write("")
    write(f"{done} of {total} exercises done (make progress shows them all)")
