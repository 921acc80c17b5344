"""What lesson 5's Dask sweep needs from a cluster that is not the lesson: a quick check that a
scheduler answers, and lesson code that reaches the workers."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path
from types import ModuleType

import cloudpickle
from distributed.comm import connect
from prefect.utilities.asyncutils import run_coro_as_sync


def check_scheduler(address: str) -> None:
    """Raise ConnectionError, saying what to do, unless a Dask scheduler answers at `address`.

    Dask on its own retries a refused connection for 30 s and waits for ever on a port that is not a
    scheduler's; one handshake with a deadline tells in seconds.
    """
    try:
        run_coro_as_sync(asyncio.wait_for(_handshake(address), timeout=6))
    except Exception as err:  # noqa: BLE001 (refused, no answer, a bad address or a stranger answering)
        why = "something answers there, but not a Dask scheduler" if isinstance(err, asyncio.TimeoutError) else err
        raise ConnectionError(
            f"Could not reach the Dask scheduler at {address} ({why}): start it with `dask scheduler` "
            f"and `dask worker {address}`, or leave --address out for a local cluster."
        ) from None


async def _handshake(address: str) -> None:
    await (await connect(address, timeout=3)).close()


def send_code_by_value(*modules: ModuleType) -> None:
    """Make the functions and classes of these modules travel to Dask workers as code.

    Dask workers are other processes, maybe on other machines. A task's function normally travels by
    name ("module.function") and the worker imports the module; a lesson file has no importable name
    (05_cloud is no package; a lesson loaded by coursekit.lesson.lessons lives only in this process),
    so cloudpickle sends its code instead.
    """
    for module in modules:
        cloudpickle.register_pickle_by_value(module)


def lesson_modules_of(module: ModuleType) -> list[ModuleType]:
    """The lesson files `module` imported by name from its own folder (orchestrate.py: course_model, experiment)."""
    folder = Path(module.__file__ or "").resolve().parent
    return [
        m
        for m in list(sys.modules.values())
        if m is not module and (file := getattr(m, "__file__", None)) and Path(file).resolve().parent == folder
    ]
