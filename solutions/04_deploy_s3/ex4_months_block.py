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

    train_month: str
    val_month: str


def save_months(train_month: str, val_month: str) -> None:
    TaxiMonths(train_month=train_month, val_month=val_month).save(BLOCK_NAME, overwrite=True)


@flow(name="ex4-months-from-block")
def months_from_block() -> tuple[str, str]:
    months = TaxiMonths.load(BLOCK_NAME)  # read from the server at each run, not when the code was written
    return months.train_month, months.val_month
