"""Lesson 1a: a task, a flow, and retries against an API that fails now and then.

A *task* is one unit of work that Prefect tracks, retries and caches; a *flow* is the function that
calls tasks. Here the task fetches a cat fact from an API that answers 503 to about half of the
requests, and `retries` turns that flakiness into a run that still completes.

    make stage-1                      # starts the server and the facts API, then runs this file
    make facts                        # or by hand: start the local facts API, then
    python 01_intro/cat_facts.py      # once `eval "$(make -s env)"` points your shell at the course
    CAT_FACTS_URL=https://catfact.ninja/fact python 01_intro/cat_facts.py   # a real public API
"""

from __future__ import annotations

import os
import sys

import requests
from prefect import flow, task

# The course's flaky local API (`make facts` starts it; `make env` exports its address), or any API
# that answers {"fact": "..."}.
FACTS_API = os.environ.get("COURSE_FACTS_URL", "http://127.0.0.1:8765")
CAT_FACTS_URL = os.environ.get("CAT_FACTS_URL", f"{FACTS_API}/cat/fact")


# Three retries, one second apart on average; jitter draws each wait between 0.63 and 1.5 s, so that many
# clients retrying at once do not hit the API in lockstep.
@task(retries=3, retry_delay_seconds=1, retry_jitter_factor=0.5)
def fetch_cat_fact(url: str) -> str:
    response = requests.get(url, timeout=5)  # a refused or dropped connection raises here,
    response.raise_for_status()  # and a 503 here: either way the task run fails, and Prefect retries it
    return response.json()["fact"]


# log_prints=True sends print() to the run's logs, so the fact shows in the UI, not just here.
@flow(log_prints=True)
def fetch(url: str = CAT_FACTS_URL) -> str:
    fact = fetch_cat_fact(url)
    print(f"Cat fact: {fact}")
    return fact


if __name__ == "__main__":
    try:
        fetch()
    except requests.ConnectionError:  # every attempt found nothing listening
        sys.exit(f"✗ Nothing answers at {CAT_FACTS_URL}: start the course's facts API with `make facts`.")
    except requests.RequestException as error:  # every attempt failed; the UI has each one's traceback
        sys.exit(f"✗ No cat fact after 4 attempts: {error}")

# What just happened: the flow run `fetch` called the task `fetch_cat_fact`. Each 503 made the task
# run go to AwaitingRetry, then back to Running; the flow waited and got the fact from a later attempt.
# In the UI (Runs -> this flow run) the task run shows its attempts, and the logs show each failure.
