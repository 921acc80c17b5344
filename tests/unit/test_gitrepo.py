"""make stage-3 warns that the git deployment misses uncommitted edits: only those it would miss."""

from __future__ import annotations

import subprocess

from coursekit.services import gitrepo


def git(*args: str, cwd) -> None:
    subprocess.run(
        ["git", "-c", "user.name=t", "-c", "user.email=t@t", *args], cwd=cwd, check=True, capture_output=True
    )


def test_edits_to_exercises_are_not_uncommitted_flow_changes(tmp_path):
    for path in ("02_workflow/orchestrate.py", "02_workflow/exercises/ex1_task_name.py", "coursekit/runs.py"):
        (tmp_path / path).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / path).write_text("# committed\n")
    git("init", "-q", cwd=tmp_path)
    git("add", "-A", cwd=tmp_path)
    git("commit", "-qm", "start", cwd=tmp_path)

    (tmp_path / "02_workflow/exercises/ex1_task_name.py").write_text("# the learner's answer\n")
    assert gitrepo.uncommitted_flow_changes(tmp_path) == []
    (tmp_path / "02_workflow/orchestrate.py").write_text("# an edit the git deployment would not see\n")
    assert gitrepo.uncommitted_flow_changes(tmp_path) == ["02_workflow/orchestrate.py"]
