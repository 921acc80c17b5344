"""Lesson 1b: flows that call flows. A parent flow runs two subflows, each fetching one fact.

A flow called from inside another flow becomes a *subflow*: it gets its own flow run, states and
logs, nested under the parent's run in the UI. Use subflows to group steps that belong together
(here: everything about cats, everything about dogs) and to reuse a whole flow in a bigger one.

    make stage-1   or   make facts && python 01_intro/cat_dog_facts.py
"""

from __future__ import annotations

import os
import sys

import requests
from prefect import flow, task

FACTS_API = os.environ.get("COURSE_FACTS_URL", "http://127.0.0.1:8765")  # see cat_facts.py


@task(retries=3, retry_delay_seconds=1, retry_jitter_factor=0.5)
def fetch_cat_fact() -> str:
    response = requests.get(f"{FACTS_API}/cat/fact", timeout=5)
    response.raise_for_status()
    return response.json()["fact"]


@task(retries=3, retry_delay_seconds=1, retry_jitter_factor=0.5)
def fetch_dog_fact() -> str:
    response = requests.get(f"{FACTS_API}/dog/fact", timeout=5)
    response.raise_for_status()
    return response.json()["fact"]


@flow(log_prints=True)
def cat_fact_flow() -> str:
    fact = fetch_cat_fact()
    print(f"Cat fact: {fact}")
    return fact


@flow(log_prints=True)
def dog_fact_flow() -> str:
    fact = fetch_dog_fact()
    print(f"Dog fact: {fact}")
    return fact


@flow(name="animal-facts", log_prints=True)
def animal_facts() -> tuple[str, str]:
    return cat_fact_flow(), dog_fact_flow()


if __name__ == "__main__":
    try:
        animal_facts()
    except requests.ConnectionError:
        sys.exit(f"✗ Nothing answers at {FACTS_API}: start the course's facts API with `make facts`.")
    except requests.RequestException as error:
        sys.exit(f"✗ A subflow got no fact after 4 attempts: {error}")

# What just happened: one flow run `animal-facts` with two child flow runs. In the UI, open the parent
# run: its graph shows the two subflows, each with its own retried task run.
