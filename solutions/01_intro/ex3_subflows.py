"""Exercise 3: compose two flows as subflows of a parent flow.

`animal_facts` should run `cat_fact_flow` and `dog_fact_flow` as its subflows and return both facts,
cat first. In the UI the parent run then shows two nested flow runs. Check with `make check-1`.
"""

from __future__ import annotations

from prefect import flow


@flow
def cat_fact_flow() -> str:
    return "A cat's nose print is unique, much like a human fingerprint."


@flow
def dog_fact_flow() -> str:
    return "Dogs have three eyelids."


@flow
def animal_facts() -> list[str]:
    # Calling a flow inside a flow makes it a subflow: its own run, nested under this one.
    return [cat_fact_flow(), dog_fact_flow()]


if __name__ == "__main__":
    print(animal_facts())
