"""README commands in one Python interpreter.

Each command runs through coursekit.cli.commands, as in the stage runners: `prefect ARGS` goes to Prefect's
own CLI entry point and `python PATH ARGS` runs PATH as `__main__`, each with its own argv, from the top
of the repository, without the seconds a new interpreter spends importing Prefect for each one. Two
checks that run nothing: whether `prefect` argument lists parse in the installed CLI, and whether Python
names exist.

    python -m tests.support.one_interpreter REQUEST.json RESULT.json

REQUEST is {"run": [command, ...]}, {"parse": [[arg, ...], ...]} or {"names": ["module:attr.attr", ...]}.
For "run", each command's output goes to stdout between marker lines (see `sections`).
"""

from __future__ import annotations

import importlib
import json
import os
import shlex
import sys
from pathlib import Path

MARKER = "#####-readme-command"


def run(command: str) -> int:
    """Run one command line (`prefect ...` or `python PATH ...`) as the stage runners do; its exit code."""
    from coursekit.cli import commands

    try:
        return commands.run(shlex.split(command))
    finally:
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
