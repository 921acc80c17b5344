"""Two checks on a `prefect` command typed in the course's shell, before Prefect runs it.

`eval "$(make -s env)"` defines a small `prefect` shell function (`shell_guard`) that sends two kinds of
command here first; every other command goes to Prefect unchanged, and costs nothing.

1. The names the course videos type (Prefect 2.10, discdiver/prefect-mlops-zoomcamp). A learner
   following them types `prefect deployment run main-flow/taxi_local_data`, and Prefect answers
   "Deployment not found", which says nothing about where it went. A command with one of those names
   gets one line with the course's command instead, and nothing runs. docs/course-map.md is the same
   map, for reading.
2. `prefect deployment run` when no worker polls the deployment's work pool: the run would wait as
   Late for ever (and `--watch` with it). One line says so and how to start a worker; the run is
   still created, as asked.
3. `prefect automation create --from-file FILE` when an automation of that name exists: Prefect would
   add a second one (after which `prefect automation delete NAME` refuses: the name is ambiguous).
   The guard says so and runs Prefect's `prefect automation update --id ID --from-file FILE` instead,
   so the command can be run again after each edit of the file.

Standard library only (urllib for the server's REST API): the check must not cost a Prefect import.
"""

from __future__ import annotations

import base64
import json
import os
import shlex
import subprocess
import sys
import urllib.parse
import urllib.request

# (what the videos type, what it is here, why), most specific first: the first match wins.
VIDEO_NAMES: list[tuple[str, str, str]] = [
    ("main-flow/taxi_local_data", "taxi-training/taxi_local_data", "lesson 4's deployment of the training flow"),
    ("main-flow-s3/taxi_s3_data", "taxi-training-s3/taxi_s3_data", "lesson 4's deployment that reads S3"),
    ("main-flow-s3", "taxi-training-s3", "the flow that reads its months from S3 (lesson 4)"),
    ("main-flow", "taxi-training", "the training flow: @flow(name='taxi-training') on the same main_flow"),
    ("zoompool", "course-pool", "the course's process work pool"),
    ("prefect-aws", "prefect_aws", "-m takes the Python module, prefect_aws (the package is prefect-aws)"),
    ("prefect-email", "prefect_email", "-m takes the Python module, prefect_email (the package is prefect-email)"),
]


def corrected(argv: list[str]) -> tuple[list[str], str] | None:
    """The command with the first video name replaced by the course's, and why; None if it has none."""
    for old, new, why in VIDEO_NAMES:
        if old in argv:
            command = [new if word == old else word for word in argv]
            return command, f'"{old}" is what the course videos type; here: {why}'
    return None


HANDLED = 100  # the exit code that tells the shell function the command ran here, in another form


def _api(path: str, body: dict | None = None) -> dict | list:
    """GET (or POST `body` to) the server's REST API (PREFECT_API_URL), with the auth string if it has one."""
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(os.environ["PREFECT_API_URL"].rstrip("/") + path, data=data)
    if data is not None:
        request.add_header("Content-Type", "application/json")
    if auth := os.environ.get("PREFECT_API_AUTH_STRING"):
        request.add_header("Authorization", "Basic " + base64.b64encode(auth.encode()).decode())
    with urllib.request.urlopen(request, timeout=3) as reply:
        return json.load(reply)


def no_worker_warning(argv: list[str]) -> str | None:
    """For `deployment run FLOW/DEPLOYMENT ...`: a line if no worker polls its pool; None if one does
    (or if anything cannot be read: then Prefect itself reports the problem)."""
    words = [word for word in argv[2:] if not word.startswith("-")]
    if argv[:2] != ["deployment", "run"] or not words or words[0].count("/") != 1:
        return None
    try:
        name = words[0]
        deployment = _api("/deployments/name/" + "/".join(urllib.parse.quote(part) for part in name.split("/")))
        assert isinstance(deployment, dict)
        pool = deployment.get("work_pool_name")
        pool_info = _api(f"/work_pools/{urllib.parse.quote(pool)}") if pool else {}
        status = pool_info.get("status") if isinstance(pool_info, dict) else None
    except (OSError, ValueError, KeyError):
        return None
    if pool is None or status == "READY":
        return None
    if status == "PAUSED":
        return f"! Work pool {pool!r} is paused: the run waits until `prefect work-pool resume {pool}`."
    return (
        f"! No worker polls work pool {pool!r}: this run of {name} will wait as Late until one does. "
        f"Start one in the background with `make worker POOL={pool}` (or `prefect worker start --pool {pool}`)."
    )


def replacing_automation(argv: list[str]) -> tuple[str, list[str]] | None:
    """For `automation create --from-file FILE` whose automation's name exists: the name, the update command."""
    if argv[:2] != ["automation", "create"]:
        return None
    options = dict(zip(argv[2::2], argv[3::2], strict=False))
    path = options.get("--from-file") or options.get("-f")
    try:
        import yaml  # the course's .venv has it; only this command pays for the import

        with open(path or "") as file:
            name = yaml.safe_load(file)["name"]
        found = _api("/automations/filter", {"automations": {"name": {"any_": [name]}}, "sort": "UPDATED_DESC"})
    except (OSError, ValueError, KeyError, TypeError, ImportError):
        return None  # no such file, no name, several automations in one file: Prefect's own command says
    if not found or not isinstance(found, list):
        return None
    return name, ["automation", "update", "--id", found[0]["id"], "--from-file", str(path)]


def shell_guard(python: str) -> str:
    """The `prefect` shell function: a `case` on the words (no process unless one matches)."""
    patterns = "|".join(f'*" {old} "*' for old, _, _ in VIDEO_NAMES) + '|*"deployment run "*|*"automation create "*'
    check = f'{shlex.quote(python)} -m coursekit.before_prefect "$@"'
    return (
        "prefect() {\n"
        f'  case " $* " in {patterns}) {check}; set -- $? "$@"; [ "$1" = {HANDLED} ] && return 0; '
        '[ "$1" != 0 ] && return "$1"; shift;; esac\n'
        '  command prefect "$@"\n'
        "}"
    )


def main(argv: list[str]) -> int:
    """0: let Prefect run the command (perhaps after a warning); 2: it uses a video's name, do not."""
    found = corrected(argv)
    if found is not None:
        command, why = found
        print(f"✗ {why}. Run: prefect {shlex.join(command)}   (docs/course-map.md maps every name)", file=sys.stderr)
        return 2
    if warning := no_worker_warning(argv):
        print(warning, file=sys.stderr)
    if replacing := replacing_automation(argv):
        name, update = replacing
        print(
            f"! An automation named {name!r} exists already: replacing it rather than adding a second one "
            f"(prefect {shlex.join(update)}).",
            file=sys.stderr,
        )
        done = subprocess.run([os.path.join(os.path.dirname(sys.executable), "prefect"), *update])
        return HANDLED if done.returncode == 0 else done.returncode
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
