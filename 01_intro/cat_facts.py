"""Lesson 1a: a task, a flow, and retries against an API that fails now and then.

A *task* is one unit of work that Prefect tracks, retries and caches; a *flow* is the function that
calls tasks. Here the task fetches a cat fact from an API that answers 503 to about half of the
requests, and `retries` turns that flakiness into a run that still completes.

    make stage-1                      # runs this file against the course's Prefect server
    python 01_intro/cat_facts.py      # the same, once `eval "$(make -s env)"` points your shell there
    CAT_FACTS_URL=https://catfact.ninja/fact python 01_intro/cat_facts.py   # a real public API
"""

from __future__ import annotations

from prefect import flow, task

from coursekit.lesson import run
from coursekit.services.facts_api import fact_url, get_fact


# Three retries, one second apart, each delay stretched by up to 50% at random ("jitter") so that
# many clients retrying at once do not hit the API in lockstep.
@task(retries=3, retry_delay_seconds=1, retry_jitter_factor=0.5)
def fetch_cat_fact(url: str) -> str:
    return get_fact(url)  # raises on a 5xx or a dropped connection, which makes Prefect retry


# log_prints=True sends print() to the run's logs, so the fact shows in the UI, not just here.
@flow(log_prints=True)
def fetch(url: str | None = None) -> str:
    fact = fetch_cat_fact(url or fact_url("cat"))
    print(f"Cat fact: {fact}")
    return fact


if __name__ == "__main__":
    run(fetch)

# What just happened: the flow run `fetch` called the task `fetch_cat_fact`. Each 503 made the task
# run go to AwaitingRetry, then back to Running; the flow waited and got the fact from a later attempt.
# In the UI (Runs -> this flow run) the task run shows its attempts, and the logs show each failure.
