"""The names the course videos type (Prefect 2.10, discdiver/prefect-mlops-zoomcamp), and this course's.

A learner following the videos types `prefect deployment run main-flow/taxi_local_data`, and Prefect
answers "Deployment not found", which says nothing about where it went. `eval "$(make -s env)"` defines
a small `prefect` shell function (SHELL_GUARD) that checks a command for these names before Prefect
runs: a command without one goes to Prefect unchanged; one with an old name gets one line with the
course's command instead, and nothing runs. docs/course-map.md is the same map, for reading.

Standard library only: the check runs before every such command, and must cost nothing.
"""

from __future__ import annotations

import shlex
import sys

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


def shell_guard(python: str) -> str:
    """The `prefect` shell function: a `case` on the words (no process unless one matches)."""
    patterns = "|".join(f'*" {old} "*' for old, _, _ in VIDEO_NAMES)
    return (
        "prefect() {\n"
        f'  case " $* " in {patterns}) {shlex.quote(python)} -m coursekit.course_names prefect "$@"; return $?;; esac\n'
        '  command prefect "$@"\n'
        "}"
    )


def main(argv: list[str]) -> int:
    found = corrected(argv)
    if found is None:
        return 0
    command, why = found
    print(f"✗ {why}. Run: {shlex.join(command)}   (docs/course-map.md maps every name)", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
