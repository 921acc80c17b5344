"""A bounded CPU burner: run a command on a machine that is busy with other work.

    python -m coursekit.maintainer.burn PROCESSES SECONDS COMMAND...
    python -m coursekit.maintainer.burn 2 900 make stage-5

PROCESSES Python processes spin at normal priority (one per core loads the whole machine, as another job on a
shared laptop does) while COMMAND runs; they stop when it ends, and each stops by itself after SECONDS, so a
burner never outlives a killed parent by long. The exit code is COMMAND's. tests/e2e/test_tour.py runs stage 5
under it; the figures of three loaded `make stage-5` runs are in docs/figures.md.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
from collections.abc import Iterator

SPIN = "import time\nend = time.monotonic() + {seconds}\nwhile time.monotonic() < end:\n    pass\n"


@contextlib.contextmanager
def burning(processes: int, seconds: float) -> Iterator[list[subprocess.Popen]]:
    """`processes` spinning processes, each ending after `seconds` at the latest, ended on leaving."""
    spinners = [
        subprocess.Popen([sys.executable, "-c", SPIN.format(seconds=float(seconds))], stdin=subprocess.DEVNULL)
        for _ in range(processes)
    ]
    try:
        yield spinners
    finally:
        for spinner in spinners:
            spinner.kill()
        for spinner in spinners:
            spinner.wait()


def main(argv: list[str]) -> int:
    try:
        processes, seconds, command = int(argv[0]), float(argv[1]), argv[2:]
    except (IndexError, ValueError):
        print("✗ Usage: python -m coursekit.maintainer.burn PROCESSES SECONDS COMMAND...", file=sys.stderr)
        return 2
    if not command or processes < 1 or seconds <= 0:
        print("✗ Name a command, at least one process and a positive number of seconds.", file=sys.stderr)
        return 2
    print(f"Burning {processes} of {os.cpu_count()} cores for up to {seconds:.0f} s while: {' '.join(command)}")
    with burning(processes, seconds):
        return subprocess.call(command)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
