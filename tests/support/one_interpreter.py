"""README commands in one Python interpreter.

`prefect ARGS` goes to Prefect's own CLI entry point and `python PATH ARGS` runs PATH as `__main__`, each
with its own argv, from the top of the repository: the code that typing the command runs, without the
seconds a new interpreter spends importing Prefect for each one. Two checks that run nothing: whether
`prefect` argument lists parse in the installed CLI, and whether Python names exist.

    python -m tests.support.one_interpreter REQUEST.json RESULT.json

REQUEST is {"run": [command, ...]}, {"parse": [[arg, ...], ...]} or {"names": ["module:attr.attr", ...]}.
For "run", each command's output goes to stdout between marker lines (see `sections`).
"""

from __future__ import annotations

import importlib
import json
import os
import runpy
import shlex
import sys
import traceback
from pathlib import Path

MARKER = "#####-readme-command"


def run(command: str) -> int:
    """Run one command line (`prefect ...` or `python PATH ...`); return its exit code."""
    argv = shlex.split(command)
    saved_argv, saved_path = sys.argv, list(sys.path)
    try:
        if argv[0] == "prefect":
            from prefect.cli import app

            sys.argv = argv
            app()
        elif argv[0] == "python" and len(argv) > 1 and argv[1].endswith(".py"):
            sys.argv = argv[1:]
            sys.path.insert(0, str(Path(argv[1]).resolve().parent))
            runpy.run_path(argv[1], run_name="__main__")
        else:
            raise ValueError(f"not a prefect command or a python script: {command}")
        return 0
    except SystemExit as exit_:
        if exit_.code is None or isinstance(exit_.code, int):
            return exit_.code or 0
        print(exit_.code, file=sys.stderr)
        return 1
    except Exception:
        traceback.print_exc()
        return 1
    finally:
        sys.argv, sys.path[:] = saved_argv, saved_path
        sys.stdout.flush()
        sys.stderr.flush()


def parse(args: list[str]) -> str:
    """ "ok" when the installed Prefect CLI accepts these arguments, else its error, e.g. `Unknown command`."""
    from prefect.cli._app import _app

    try:
        _app.parse_args(args, exit_on_error=False, print_error=False)
    except Exception as error:
        return f"{type(error).__name__}: {str(error).splitlines()[0]}"
    return "ok"


def name_exists(name: str) -> str:
    """ "ok" when `module:attr.attr` imports, else why not (Prefect names what replaced a removed object)."""
    module_name, _, attributes = name.partition(":")
    try:
        found = importlib.import_module(module_name)
        for attribute in filter(None, attributes.split(".")):
            found = getattr(found, attribute)
    except Exception as error:
        return f"{type(error).__name__}: {error}"
    return "ok"


def sections(output: str) -> list[tuple[int, str]]:
    """(exit code, output) of each command of a "run" request, in order, from the interpreter's output."""
    found, current = [], []
    for line in output.splitlines():
        if line.startswith(f"{MARKER} start"):
            current = []
        elif line.startswith(f"{MARKER} exit "):
            found.append((int(line.rsplit(" ", 1)[1]), "\n".join(current)))
        else:
            current.append(line)
    return found


def main(request_file: str, result_file: str) -> None:
    request = json.loads(Path(request_file).read_text())
    result: dict = {}
    if "run" in request:
        os.chdir(Path(__file__).resolve().parents[2])  # the top of the repository, where the READMEs run them
        for command in request["run"]:
            print(f"{MARKER} start {command}", flush=True)
            code = run(command)
            print(f"\n{MARKER} exit {code}", flush=True)
            result.setdefault("codes", []).append(code)
    if "parse" in request:
        result["parse"] = [parse(args) for args in request["parse"]]
    if "names" in request:
        result["names"] = {name: name_exists(name) for name in request["names"]}
    Path(result_file).write_text(json.dumps(result))


if __name__ == "__main__":
    main(*sys.argv[1:])
