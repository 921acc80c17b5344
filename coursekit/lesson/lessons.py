"""Load one lesson file from another: `lesson_module("02_workflow/orchestrate.py")`.

Later lessons reuse the lesson-2 pipeline instead of copying it, but the numbered folders are not
packages (`import 02_workflow` is a syntax error), so a lesson file is imported by its path. Every
lesson, exercise, test and benchmark that needs another lesson's code comes through here, so each
file is loaded once per process, under one name: the same functions, the same error classes (for
`except` and `pytest.raises`), the same flow object.

The lesson-2 pipeline's steps are tasks. Called from another flow, they run as that flow's task runs
(05_cloud/score_week.py); inside a task, or with no flow at all, call `.fn`, the plain function
under the @task (05_cloud/sweep.py, the exercises, the tests).

Why importlib and not Prefect's `load_flow_from_entrypoint`: Prefect 3.8 executes an entrypoint's
file while holding a lock (a plain, non-reentrant `threading.Lock` around its `sys.path` edits). A
worker loads 05_cloud/score_week.py that way; had that file called `load_flow_from_entrypoint` as it
loads, the second call would wait for the first to release the lock, for ever. `importlib` takes no
such lock, so a lesson may load another one at import time or when its flow runs, under a worker or
in a plain `python` process alike.

The module is registered in `sys.modules` under a name of its own (`lesson_02_workflow_orchestrate`)
because pickle finds a class or function through its module's name: Prefect's results and
cloudpickle need that (05_cloud/sweep.py sends the module to Dask workers by value).
"""

from __future__ import annotations

import hashlib
import importlib.util
import re
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

from prefect import Flow

from coursekit.config import REPO_ROOT

TRAINING = "02_workflow/orchestrate.py"


def lesson_module(relative_path: str, root: Path | None = None) -> ModuleType:
    """The lesson file at `relative_path` (from the top of the course), imported once per process.

    `root` is the top of the course the file belongs to, by default this repository. Code that a worker
    pulled from a bucket into a temporary folder passes that folder (Path(__file__).parents[1]), so it
    uses the lesson-2 file that came with it.
    """
    path = ((root or REPO_ROOT) / relative_path).resolve()
    name = "lesson_" + re.sub(r"\W", "_", relative_path.removesuffix(".py"))
    if root is not None and path != (REPO_ROOT / relative_path).resolve():
        name += "_" + hashlib.sha1(str(path).encode()).hexdigest()[:8]  # another copy: another module
    if name in sys.modules:
        return sys.modules[name]
    if not path.is_file():
        raise FileNotFoundError(f"No lesson file {path}: run from a complete copy of the course.")
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None  # a .py path always has a spec and a loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # before it runs, as `import` does: its own classes can look it up
    # Its folder first on sys.path while it runs, as for `python FILE` and for Prefect's entrypoints: a lesson
    # file imports the lesson's other files by name (02_workflow/orchestrate.py: `import course_model`).
    sys.path.insert(0, str(path.parent))
    try:
        spec.loader.exec_module(module)
    except BaseException:
        del sys.modules[name]  # a file that fails to load is not half-registered for the next try
        raise
    finally:
        sys.path.remove(str(path.parent))
    return module


def training_flow(root: Path | None = None) -> Flow[..., Any]:
    """The lesson-2 training flow (`taxi-training`). Called inside another flow, it runs as a subflow."""
    flow: Flow[..., Any] = lesson_module(TRAINING, root).main_flow
    return flow
