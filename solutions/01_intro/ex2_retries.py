"""Exercise 2: retries turn a flaky task into a flow that completes.

`fetch_fact` fails on its first two attempts (a simulated outage), so the flow fails. Add retries
with a delay so that a later attempt succeeds and the flow completes. Check with `make check-1`.
"""

from __future__ import annotations

from prefect import flow, task
from prefect.runtime import task_run


# Up to three retries, one second apart: attempt 3 succeeds.
@task(retries=3, retry_delay_seconds=1)
def fetch_fact() -> str:
    if task_run.run_count < 3:  # attempts 1 and 2 fail, attempt 3 succeeds
        raise ConnectionError(f"simulated outage on attempt {task_run.run_count}")
    return "Cats can rotate their ears 180 degrees."


@flow
def resilient_fact() -> str:
    return fetch_fact()


if __name__ == "__main__":
    print(resilient_fact())
