"""One voice for everything the course prints, so long steps read the same in every stage."""

from __future__ import annotations

import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager


def say(message: str) -> None:
    print(message, flush=True)


def step(message: str) -> None:
    say(f"\n▶ {message}")


def ok(message: str) -> None:
    say(f"✓ {message}")


def warn(message: str) -> None:
    say(f"! {message}")


def fail(message: str) -> None:
    print(f"✗ {message}", file=sys.stderr, flush=True)


class Waiting:
    """Prints a dot a second while a caller polls (the seconds instead, every ten), then how long it took:

    … Waiting for 2 runs to finish (taxi-default, taxi-from-git) .........10s..... Completed in 15.2 s
    """

    def __init__(self, message: str) -> None:
        self.started = time.monotonic()
        self._dots = 0
        print(f"… {message} ", end="", flush=True)

    def tick(self) -> None:
        while self._dots < int(self.elapsed):  # one mark per second gone, however often tick is called
            self._dots += 1
            print(f"{self._dots}s" if self._dots % 10 == 0 else ".", end="", flush=True)

    @property
    def elapsed(self) -> float:
        return time.monotonic() - self.started

    def done(self, message: str = "ready") -> None:
        print(f" {message} in {self.elapsed:.1f} s", flush=True)


@contextmanager
def waiting(message: str) -> Iterator[Waiting]:
    w = Waiting(message)
    try:
        yield w
    except BaseException:
        print(flush=True)
        raise


def table(headers: list[str], rows: list[list[str]]) -> str:
    widths = [max(len(str(c)) for c in col) for col in zip(headers, *rows, strict=True)]
    line = lambda cells: "  ".join(str(c).ljust(w) for c, w in zip(cells, widths, strict=True)).rstrip()  # noqa: E731
    return "\n".join([line(headers), line(["-" * w for w in widths]), *(line(r) for r in rows)])
