"""`prefect ARGS` and `python PATH ARGS` run inside this process, as typing them would run them.

The stage runners (and the README test) have imported Prefect, pandas and scikit-learn already; a new
interpreter would spend seconds importing them again for every command. `prefect` goes to Prefect's own
CLI entry point; a script runs as `__main__` with its own argv and its folder first on sys.path. Both run
from the top of the repository, and the exit code is the one the command would have exited with.
"""

from __future__ import annotations

import os
import runpy
import sys
import traceback
from collections.abc import Callable
from pathlib import Path

from coursekit import config, course


def run(argv: list[str]) -> int:
    """Run `["prefect", ...]` or `["python", "PATH.py", ...]` in this process; return its exit code."""
    if argv[0] == "prefect":
        from prefect.cli import app

        return _in_process(app, argv)
    if argv[0] == "python" and len(argv) > 1 and argv[1].endswith(".py"):
        path = argv[1]
        return _in_process(lambda: runpy.run_path(path, run_name="__main__"), argv[1:], Path(path).parent)
    raise ValueError(f"Not a prefect command or a python script: {' '.join(argv)}")


def _in_process(main: Callable[[], object], argv: list[str], script_dir: Path | None = None) -> int:
    """Run `main` as a command would run: this argv, from the repository root; return its exit code.

    The modules of the script's folder and of the lesson folders are forgotten afterwards, as a new
    interpreter would not have them: two lessons' modules of the same name never meet in sys.modules.
    """
    saved_argv, saved_path, saved_cwd, saved_columns = sys.argv, list(sys.path), os.getcwd(), os.environ.get("COLUMNS")
    modules_before = set(sys.modules)
    sys.argv = argv
    if script_dir is not None:
        sys.path.insert(0, str(config.REPO_ROOT / script_dir))
    # Wide enough that Prefect's tables (block ls, deploy) are not cut to 80 columns when piped.
    os.environ["COLUMNS"] = saved_columns or "140"
    os.chdir(config.REPO_ROOT)
    try:
        main()
        return 0
    except SystemExit as exit_:
        if exit_.code is None or isinstance(exit_.code, int):
            return exit_.code or 0
        print(exit_.code, file=sys.stderr, flush=True)  # sys.exit("message") prints it and exits 1
        return 1
    except Exception:
        traceback.print_exc()
        return 1
    finally:
        sys.stdout.flush()
        sys.argv, sys.path[:] = saved_argv, saved_path
        os.chdir(saved_cwd)
        if saved_columns is None:
            os.environ.pop("COLUMNS", None)
        folders = [str(config.REPO_ROOT / folder) + os.sep for folder in course.FOLDERS]
        if script_dir is not None:
            folders.append(str((config.REPO_ROOT / script_dir).resolve()) + os.sep)
        for name in set(sys.modules) - modules_before:
            origin = getattr(sys.modules[name], "__file__", None) or ""
            if origin.startswith(tuple(folders)):
                del sys.modules[name]
