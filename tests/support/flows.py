"""Test-only flows for the worker reliability tests: one that takes a while, one that is quick."""

from __future__ import annotations

import time

from prefect import flow


@flow
def sleepy(seconds: float = 60) -> float:
    time.sleep(seconds)
    return seconds


@flow
def quick(seconds: float = 1) -> float:
    time.sleep(seconds)
    return seconds
