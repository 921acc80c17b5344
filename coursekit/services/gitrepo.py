"""The local bare git repository that lesson 3's git pull step clones from: GitHub without GitHub."""

from __future__ import annotations

import subprocess
from pathlib import Path

from coursekit import config, console


def _git(*args: str, cwd: Path = config.REPO_ROOT) -> str:
    return subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, check=True).stdout.strip()


def publish_head() -> str | None:
    """Push the repository's last commit to the bare repository as `main`; its sha, or None without git."""
    try:
        sha = _git("rev-parse", "HEAD")
    except (FileNotFoundError, subprocess.CalledProcessError):
        console.warn("This folder is not a git checkout with a commit: skipping the git pull-step deployment.")
        return None
    bare = Path(config.current().state_dir / "git" / "course.git")
    if not bare.exists():
        bare.parent.mkdir(parents=True, exist_ok=True)
        _git("init", "--quiet", "--bare", str(bare))
        _git("symbolic-ref", "HEAD", "refs/heads/main", cwd=bare)  # a clone checks out main, whatever git's default
    _git("push", "--quiet", "--force", str(bare), "HEAD:refs/heads/main")
    if uncommitted_flow_changes():
        console.warn(
            "You have uncommitted changes in 02_workflow/ or coursekit/: the git deployment runs your last "
            "commit, as a worker cloning from GitHub would. Commit them to see them in that run."
        )
    return sha


def uncommitted_flow_changes(root: Path = config.REPO_ROOT) -> list[str]:
    """The changed files the git deployment would miss: lesson 2's flow and the package, not exercises."""
    status = _git("status", "--porcelain", "--", "02_workflow", "coursekit", ":(exclude)*/exercises/*", cwd=root)
    return [line.split(maxsplit=1)[1] for line in status.splitlines()]  # "XY path", its first space stripped
