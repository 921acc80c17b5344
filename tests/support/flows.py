"""Test-only flows for the worker reliability tests: one that takes a while, one that is quick."""

from __future__ import annotations

import time

from prefect import flow, task
from prefect.artifacts import create_markdown_artifact


@flow
def sleepy(seconds: float = 60) -> float:
    time.sleep(seconds)
    return seconds


@flow
def quick(seconds: float = 1) -> float:
    time.sleep(seconds)
    return seconds


@flow(log_prints=True)
def steady(steps: int = 8, pause: float = 2) -> int:
    """Eight small tasks, each with a log line and an artifact: what a server outage must not lose."""
    for step in range(steps):
        one_step(step, pause)
    return steps


@task
def one_step(step: int, pause: float) -> int:
    print(f"step {step} begins")
    time.sleep(pause)
    create_markdown_artifact(f"step {step} done", key=f"steady-step-{step}")
    print(f"step {step} done")
    return step
