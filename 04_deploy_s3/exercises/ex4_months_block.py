"""Exercise 4: a block type of your own, for settings that change without a code change.

The lesson's blocks are prefect-aws' types (AwsCredentials, S3Bucket). Any pydantic-style class that
subclasses Prefect's Block is a block type too: saved under a name, shown in the UI under Blocks, and
loaded by name wherever a flow runs. Here the months a training run uses become such a setting.

Make TaxiMonths a block type with two text fields, `train_month` and `val_month`; make `save_months` save
one under BLOCK_NAME (replacing an older one); and make the flow `months_from_block` load it by name and
return its two months. The check saves months, runs your flow, changes the saved months through the server
and runs the flow again: the same code must return the new months. Check with `make check-4`.
"""

from __future__ import annotations

from prefect import flow
from prefect.blocks.core import Block

BLOCK_NAME = "ex4-months"


class TaxiMonths(Block):
    """The months a taxi training run trains and validates on."""

    # TODO: two text fields, train_month and val_month.


def save_months(train_month: str, val_month: str) -> None:
    # TODO: save a TaxiMonths with these months under BLOCK_NAME, replacing the one saved before.
    raise NotImplementedError("save_months saves no block yet")


@flow(name="ex4-months-from-block")
def months_from_block() -> tuple[str, str]:
    # TODO: load the block saved under BLOCK_NAME and return its (train_month, val_month).
    raise NotImplementedError("months_from_block loads no block yet")
