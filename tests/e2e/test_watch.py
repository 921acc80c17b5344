"""`make watch`, driven as a learner drives it: a failed check, a save that solves the exercise, the move to
the next one, Ctrl-C.

It runs in a copy of the course (the files git knows, the same .venv, the exercises as committed), so the test
can edit an exercise file while other tests read the real ones; it uses this session's server and state folder.
"""

from __future__ import annotations

import json
import os
import queue
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from coursekit import config
from coursekit.config import REPO_ROOT

pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("prefect_server")]


def course_copy(folder: Path) -> Path:
    listed = subprocess.run(
        ["git", "ls-files", "-co", "--exclude-standard"], cwd=REPO_ROOT, capture_output=True, text=True, check=True
    ).stdout.split("\n")
    for relative in filter(None, listed):
        source = REPO_ROOT / relative
        if source.is_file():
            (folder / relative).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, folder / relative)
    # The exercises as committed: the test starts from untouched starters, whatever a learner has solved here.
    for starter in REPO_ROOT.glob("0*_*/exercises/ex*.py"):
        relative = starter.relative_to(REPO_ROOT).as_posix()
        shown = subprocess.run(["git", "show", f"HEAD:{relative}"], cwd=REPO_ROOT, capture_output=True, text=True)
        if shown.returncode == 0:
            (folder / relative).write_text(shown.stdout)
    (folder / ".venv").symlink_to(REPO_ROOT / ".venv")
    return folder


class Lines:
    """The watcher's output, read line by line in a thread, so the test can wait for a line with a timeout."""

    def __init__(self, process: subprocess.Popen) -> None:
        self.seen: list[str] = []
        self._queue: queue.Queue[str] = queue.Queue()
        threading.Thread(target=lambda: [self._queue.put(line) for line in process.stdout], daemon=True).start()

    def wait_for(self, text: str, timeout: float = 180) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                line = self._queue.get(timeout=1)
            except queue.Empty:
                continue
            self.seen.append(line.rstrip())
            if text in line:
                return line
        raise AssertionError(f"make watch never printed {text!r} in {timeout} s; it printed:\n" + "\n".join(self.seen))


def test_watch_checks_the_exercise_on_save_moves_on_when_it_passes_and_stops_on_ctrl_c(tmp_path):
    course = course_copy(tmp_path / "course")
    progress = config.current().state_dir / "progress.json"
    progress.unlink(missing_ok=True)
    watcher = subprocess.Popen(
        [sys.executable, "-m", "coursekit", "watch"],
        cwd=course,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    lines = Lines(watcher)
    try:
        lines.wait_for("Exercise 1-1: 01_intro/exercises/ex1_task_name.py")
        lines.wait_for("✗ ex1_task_name")  # the starter fails its check ...
        lines.wait_for("hint 1:")  # ... which earns the first hint
        lines.wait_for("Edit 01_intro/exercises/ex1_task_name.py and save it")

        # The learner saves a solved file: the watcher checks it again without being asked.
        solved = (REPO_ROOT / "solutions" / "01_intro" / "ex1_task_name.py").read_text()
        # Saved as many editors save, a new file renamed over the old one, and after the watcher is in place
        # (3 s), so only its event can start the check. A save during the check is the watcher's first look.
        exercise_file = course / "01_intro" / "exercises" / "ex1_task_name.py"
        time.sleep(3)
        exercise_file.with_suffix(".py.swp").write_text(solved)
        exercise_file.with_suffix(".py.swp").replace(exercise_file)
        lines.wait_for("✓ ex1_task_name")
        lines.wait_for("1-1 ex1_task_name passes: on to the next one.")
        lines.wait_for("Exercise 1-2: 01_intro/exercises/ex2_retries.py")
        lines.wait_for("Edit 01_intro/exercises/ex2_retries.py and save it")

        watcher.send_signal(signal.SIGINT)
        assert watcher.wait(timeout=30) == 0, "\n".join(lines.seen)
    finally:
        if watcher.poll() is None:
            watcher.kill()
    lines.wait_for("Stopped watching. `make watch` goes on from the first exercise not done", timeout=5)
    assert not any("Traceback" in line for line in lines.seen), "\n".join(lines.seen)
    recorded = json.loads(progress.read_text())
    shown = subprocess.run(
        [sys.executable, "-m", "coursekit", "progress"], cwd=course, capture_output=True, text=True, timeout=60
    )
    progress.unlink()
    stage_1 = [line.strip() for line in shown.stdout.splitlines() if "ex1_task_name" in line or "ex2_retries" in line]
    assert [line[0] for line in stage_1[:2]] == ["✓", "·"], shown.stdout
    assert recorded["01_intro/ex1_task_name"]["passed"] is True, recorded
    assert recorded["01_intro/ex2_retries"]["passed"] is False, recorded
