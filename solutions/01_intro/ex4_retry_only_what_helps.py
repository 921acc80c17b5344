"""Exercise 4: retry what a retry can fix, and nothing else.

The lesson's task retried every failure. Here the API answers either 503 (busy: the next attempt may
work) or 404 (this fact does not exist: every attempt will get the same answer). Retrying a 404 three
times only makes the learner wait, and the API busier. Make the task retry a 503 and fail at once on a
404. Check with `make check-1`.
"""

from __future__ import annotations

import requests
from prefect import flow, task
from prefect.runtime import task_run


def answer(status: int) -> requests.Response:
    """A reply from the facts API with this HTTP status (no network needed)."""
    reply = requests.Response()
    reply.status_code, reply.url = status, "http://127.0.0.1:8765/cat/fact"
    reply._content = b'{"fact": "Cats sleep 12 to 16 hours a day."}'
    return reply


def worth_retrying(task, task_run, state) -> bool:
    """Prefect asks before each retry. A 4xx answer will not change on the next attempt; a 5xx may."""
    try:
        state.result()
    except requests.HTTPError as error:
        return error.response is None or error.response.status_code >= 500
    except Exception:  # noqa: BLE001 (a dropped connection, a timeout: worth another try)
        return True
    return True


@task(retries=3, retry_delay_seconds=0, retry_condition_fn=worth_retrying)
def fetch_fact(statuses: list[int]) -> str:
    reply = answer(statuses[min(task_run.run_count, len(statuses)) - 1])  # attempt N gets the Nth status
    reply.raise_for_status()
    return reply.json()["fact"]


@flow
def fact_or_nothing(statuses: list[int]) -> str:
    return fetch_fact(statuses)


if __name__ == "__main__":
    print(fact_or_nothing([503, 200]))  # busy once, then a fact
    print(fact_or_nothing([404]))  # no such fact: should fail after one attempt
