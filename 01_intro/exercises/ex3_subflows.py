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
    # TODO: run both flows above as subflows and return [cat fact, dog fact].
    return []


if __name__ == "__main__":
    print(animal_facts())
